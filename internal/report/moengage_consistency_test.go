package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// The moengage-layout consistency test (SPEC §13.2, §8.8): files of the consistency fixture in the moengage
// layout, read back by header name, and every numeric cell compared with the Stats API's number (stats.Engine.Stats)
// for the same campaign, platform, locale, variation, range or date, attribution type and the column's own metric
// type. The column table and the row rules below are written from SPEC §13.2, independently of the layout code.

// specMoeColumns is SPEC §13.2's metric column table: base name → Stats field and metric type (true = UNIQUE).
var specMoeColumns = map[domain.Channel]map[string]struct {
	field  string
	unique bool
}{
	domain.ChannelPush: {"Attempted": {"attempted", false}, "Sent": {"sent", false}, "Sent Rate": {"sent_rate", false},
		"Failed": {"failed", false}, "Failure Rate": {"failure_rate", false}, "Impressions": {"impression", false},
		"Unique Impressions": {"impression", true}, "Impression Rate": {"delivery_rate", false}, "Clicks": {"click", false},
		"Unique Clicks": {"click", true}, "CTR": {"ctr", false}},
	domain.ChannelInApp: {"Impressions": {"impression", false}, "Unique Impressions": {"impression", true},
		"Clicks": {"click", false}, "Unique Clicks": {"click", true}, "Closed Clicks": {"closed_click", false}, "CTR": {"ctr", false}},
	domain.ChannelEmail: {"Attempted": {"attempted", false}, "Total Sent": {"sent", false}, "Sent": {"sent", true},
		"Total Delivered": {"delivered", false}, "Delivered": {"delivered", true}, "Delivery Rate": {"delivery_rate", false},
		"Total Open": {"open", false}, "Unique Opens": {"open", true}, "Open Rate": {"open_rate", true},
		"Total Clicks": {"click", false}, "Unique Clicks": {"click", true}, "CTR": {"ctr", true}, "CTOR": {"ctor", true},
		"Hard Bounces": {"hard_bounce", false}, "Soft Bounces": {"soft_bounce", false}, "Bounces": {"bounced", false},
		"Bounce Rate": {"bounce_rate", false}, "Unsubscribes": {"unsubscribe", false}, "Unsubscribe Rate": {"unsub_rate", false},
		"Complaints": {"complaint", false}, "Complaints Rate": {"complaints_rate", false}, "Failed": {"failed", false},
		"Failure Rate": {"failure_rate", false}},
	domain.ChannelSMS: {"Attempted": {"attempted", false}, "Total Sent": {"sent", false}, "Sent": {"sent", true},
		"Total Delivered": {"delivered", false}, "Delivered": {"delivered", true}, "Delivery Rate": {"delivery_rate", false},
		"Total Clicks": {"click", false}, "Unique Clicks": {"click", true}, "CTR": {"ctr", false}, "Failed": {"failed", false},
		"Failure Rate": {"failure_rate", false}},
	domain.ChannelConnectors: {"Total Sent": {"sent", false}, "Sent": {"sent", true}},
}

// specMoePrefixes are the platform prefixes of device channels and their Stats platform keys.
var specMoePrefixes = map[string]string{"Android": "ANDROID", "Ios": "IOS", "Web": "WEB", "All Platform": "ALL_PLATFORMS"}

// consGoalOrder is each fixture campaign's goals in column order: primary first (consistencyFixture's catalog).
var consGoalOrder = map[string][]string{"push_a": {"Purchase", "Signup"}, "push_p": {"Purchase", "Signup"},
	"push_p_1": {"Purchase", "Signup"}, "push_p_2": {"Purchase", "Signup"}, "email_e": {"Order"}, "sms_s": {"Purchase"}}

var consParents = map[string]string{"push_p_1": "push_p", "push_p_2": "push_p"}

var specChannelLabels = map[domain.Channel]string{domain.ChannelPush: "Push", domain.ChannelEmail: "Email",
	domain.ChannelSMS: "SMS", domain.ChannelInApp: "In-App", domain.ChannelConnectors: "Connectors"}

// moeCellSpec is what a header names: a metric of a platform node or the k-th goal's field of one.
type moeCellSpec struct {
	goal     int // 0 for metric columns
	field    string
	unique   bool
	platform string
	name     bool // Goal k Name
}

// parseMoeHeader reads one column name of a channel's rows; ok is false for identity columns.
func parseMoeHeader(t *testing.T, ch domain.Channel, attr, name string) (moeCellSpec, bool) {
	device := ch == domain.ChannelPush || ch == domain.ChannelInApp
	if rest, ok := strings.CutPrefix(name, "Goal "); ok {
		num, rest, _ := strings.Cut(rest, " ")
		k, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("column %q", name)
		}
		if rest == "Name" {
			return moeCellSpec{goal: k, name: true}, true
		}
		rest, ok := strings.CutPrefix(rest, attr+" ")
		if !ok {
			t.Fatalf("column %q does not name the attribution type %q", name, attr)
		}
		platform := domain.AllPlatforms
		if device {
			found := false
			for prefix, key := range specMoePrefixes {
				if r, ok := strings.CutSuffix(rest, " "+prefix); ok && !strings.HasSuffix(r, " All") {
					rest, platform, found = r, key, true
					break
				}
			}
			if !found {
				t.Fatalf("device goal column %q without a platform suffix", name)
			}
		}
		fields := map[string]string{"Converted Users": "unique", "Conversion Events": "total", "CVR": "cvr",
			"Total Revenue": "revenue", "Average Order Value": "average_order_value", "Control Group Uplift": "uplift"}
		field, ok := fields[rest]
		if !ok {
			t.Fatalf("goal column %q", name)
		}
		return moeCellSpec{goal: k, field: field, unique: field == "cvr", platform: platform}, true
	}
	platform := domain.AllPlatforms
	base := name
	if device {
		for prefix, key := range specMoePrefixes {
			if b, ok := strings.CutPrefix(name, prefix+" "); ok {
				base, platform = b, key
				break
			}
		}
	}
	col, ok := specMoeColumns[ch][base]
	if !ok {
		return moeCellSpec{}, false
	}
	if device && base == name {
		t.Fatalf("device metric column %q without a platform prefix", name)
	}
	return moeCellSpec{field: col.field, unique: col.unique, platform: platform}, true
}

// statsNode finds a node in a Stats tree; nil when it does not exist.
func statsNode(cr *stats.CampaignResult, platform, locale, variation string) *stats.VariationResult {
	if cr == nil {
		return nil
	}
	for _, p := range cr.Platforms {
		if p.Key != platform {
			continue
		}
		for _, l := range p.Locales {
			if l.Key != locale {
				continue
			}
			for i := range l.Variations {
				if l.Variations[i].Key == variation {
					return &l.Variations[i]
				}
			}
		}
	}
	return nil
}

// statsValue is a node's value of a field as the Stats JSON writes it ("0" when the node does not exist).
func statsValue(n *stats.VariationResult, spec moeCellSpec, goal string) string {
	if n == nil {
		return "0"
	}
	if spec.goal == 0 {
		for _, f := range n.Performance {
			if f.Name == spec.field {
				if f.IsRate {
					return f.Rate.String()
				}
				return fmt.Sprint(f.Count)
			}
		}
		return "0"
	}
	for _, g := range n.Goals {
		if g.Name != goal {
			continue
		}
		switch spec.field {
		case "unique":
			return fmt.Sprint(g.Unique)
		case "total":
			return fmt.Sprint(g.Total)
		case "cvr":
			return g.CVR.String()
		case "revenue":
			return g.Revenue.String()
		case "average_order_value":
			return g.AverageOrderValue.String()
		case "uplift":
			return g.Uplift.String()
		}
	}
	return "0"
}

// specRows lists the rows SPEC §13.2 gives one campaign on one range or date: (locale, variation key) pairs in
// order. With a locale split, all_locale first and then the locales ascending; per locale, the specific
// variations (variation_n by n, then others) of the ALL_PLATFORMS node set, or all_variations alone.
func specRows(cr *stats.CampaignResult, splitLocale bool) [][2]string {
	var all *stats.PlatformResult
	for i := range cr.Platforms {
		if cr.Platforms[i].Key == domain.AllPlatforms {
			all = &cr.Platforms[i]
		}
	}
	var out [][2]string
	if all == nil {
		return [][2]string{{domain.AllLocales, domain.AllVariations}}
	}
	locales := []string{domain.AllLocales}
	if splitLocale {
		var rest []string
		for _, l := range all.Locales {
			if l.Key != domain.AllLocales {
				rest = append(rest, l.Key)
			}
		}
		slices.Sort(rest)
		locales = append(locales, rest...)
	}
	for _, loc := range locales {
		var vs []string
		for _, l := range all.Locales {
			if l.Key != loc {
				continue
			}
			for _, v := range l.Variations {
				switch v.Key {
				case domain.AllVariations, domain.CampaignControlGroup, domain.GlobalControlGroup:
				default:
					vs = append(vs, v.Key)
				}
			}
		}
		slices.SortFunc(vs, func(a, b string) int {
			na, ea := strconv.Atoi(strings.TrimPrefix(a, "variation_"))
			nb, eb := strconv.Atoi(strings.TrimPrefix(b, "variation_"))
			if ea == nil && eb == nil {
				return na - nb
			}
			if (ea == nil) != (eb == nil) {
				if ea == nil {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		if len(vs) == 0 {
			vs = []string{domain.AllVariations}
		}
		for _, v := range vs {
			out = append(out, [2]string{loc, v})
		}
	}
	return out
}

// checkMoeCSV compares one moengage CSV of channel ch with the Stats results per period key ("" for the range or
// a date): total and unique map campaign → tree. It returns the number of numeric cells compared.
func checkMoeCSV(t *testing.T, label, text string, ch domain.Channel, attr attribution.Type, daily, splitLocale bool,
	periods []string, total, unique map[string]map[string]*stats.CampaignResult) int {
	t.Helper()
	header, recs := parseCSV(t, text, ',')
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("%s: no column %q in %q", label, name, header)
		}
		return i
	}
	attrLabel := map[attribution.Type]string{attribution.ViewThrough: "View Through", attribution.ClickThrough: "Click Through",
		attribution.InSession: "In-Session", attribution.TotalConversions: "Total Conversions", attribution.ClickConversions: "Click Conversions"}[attr]
	specs := map[int]moeCellSpec{}
	for i, name := range header {
		if s, ok := parseMoeHeader(t, ch, attrLabel, name); ok {
			specs[i] = s
		}
	}
	if len(specs) == 0 {
		t.Fatalf("%s: no metric or goal column in %q", label, header)
	}
	idCol, nameCol, numCol, chCol, parentCol := col("Campaign ID"), col("Campaign Version Name"), col("Variation"),
		col("Campaign Channel"), col("Parent Campaign ID")
	dateCol, localeCol := -1, -1
	if daily {
		dateCol = col("Date")
	}
	if splitLocale {
		localeCol = col("Locale")
	}
	// The expected row keys, in order: campaigns in §5.5 order, then date, locale and variation.
	type rowKey struct{ campaign, date, locale, variation string }
	var want []rowKey
	for _, id := range consCampaigns {
		if consChannels[id] != ch {
			continue
		}
		for _, per := range periods {
			cr := total[per][id]
			if cr == nil {
				continue
			}
			for _, lv := range specRows(cr, splitLocale) {
				want = append(want, rowKey{id, per, lv[0], lv[1]})
			}
		}
	}
	var got []rowKey
	checked := 0
	for _, r := range recs {
		k := rowKey{campaign: r[idCol], locale: domain.AllLocales}
		if daily {
			k.date = r[dateCol]
		}
		if splitLocale {
			k.locale = r[localeCol]
		}
		if r[chCol] != specChannelLabels[ch] || r[parentCol] != consParents[k.campaign] {
			t.Errorf("%s %+v: channel %q, parent %q", label, k, r[chCol], r[parentCol])
		}
		// "Version n" / "n" is variation_n, or all_variations for a campaign without specific variations there.
		if r[nameCol] != "Version "+r[numCol] {
			t.Errorf("%s %+v: version name %q for variation %q", label, k, r[nameCol], r[numCol])
		}
		k.variation = "variation_" + r[numCol]
		if rows := specRows(total[k.date][k.campaign], splitLocale); !slices.Contains(rows, [2]string{k.locale, k.variation}) &&
			slices.Contains(rows, [2]string{k.locale, domain.AllVariations}) && r[numCol] == "1" {
			k.variation = domain.AllVariations
		}
		got = append(got, k)
		goals := consGoalOrder[k.campaign]
		for i, s := range specs {
			cell := r[i]
			var w string
			switch {
			case s.goal > len(goals):
				w = ""
			case s.name:
				w = goals[s.goal-1]
			default:
				tree := total
				if s.unique {
					tree = unique
				}
				goal := ""
				if s.goal > 0 {
					goal = goals[s.goal-1]
				}
				w = statsValue(statsNode(tree[k.date][k.campaign], s.platform, k.locale, k.variation), s, goal)
				checked++
			}
			if cell != w {
				t.Errorf("%s %+v %s = %q, want %q", label, k, header[i], cell, w)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: rows %v, want %v", label, got, want)
	}
	return checked
}

func TestMoEngageLayoutMatchesStats(t *testing.T) {
	if testing.Short() {
		t.Skip("consistency test skipped in -short mode")
	}
	f := consistencyFixture(t)
	total := 0
	for _, c := range []struct {
		name        string
		daily       bool
		splitLocale bool
		attr        attribution.Type
		start, end  string
	}{
		{"aggregate_view_through", false, false, attribution.ViewThrough, "2025-02-01", "2025-03-03"},
		{"aggregate_locales_click_through", false, true, attribution.ClickThrough, "2025-03-01", "2025-03-31"},
		{"daily_total_conversions", true, false, attribution.TotalConversions, "2025-02-20", "2025-03-20"},
		{"daily_locales_view_through", true, true, attribution.ViewThrough, "2025-03-05", "2025-03-12"},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := Definition{Name: "MoE", Layout: LayoutMoEngage, Granularity: "aggregate", MetricType: "TOTAL",
				AttributionType: c.attr.String(), Separator: ",", Compression: "zip"}
			if c.daily {
				def.Granularity = "daily"
			}
			if c.splitLocale {
				def.SplitBy = []string{"locale"}
			}
			out, files := f.generate(t, def, c.start, c.end)
			periods := []string{""}
			if c.daily {
				periods = dates(c.start, c.end)
			}
			totals := map[string]map[string]*stats.CampaignResult{}
			uniques := map[string]map[string]*stats.CampaignResult{}
			for _, per := range periods {
				s, e := c.start, c.end
				if per != "" {
					s, e = per, per
				}
				totals[per] = statsCall(t, f, s, e, false, c.attr)
				uniques[per] = statsCall(t, f, s, e, true, c.attr)
			}
			var channels []string
			for i, cf := range files {
				// Entries are <stem>_<CHANNEL>_<YYYYMMDD>.csv with the file date (2025-04-01 in New York).
				ch, ok := strings.CutSuffix(strings.TrimPrefix(cf.name, "MoE_"), "_20250401.csv")
				if !ok {
					t.Fatalf("zip entry %q", cf.name)
				}
				channels = append(channels, ch)
				total += checkMoeCSV(t, files[i].name, cf.text, domain.Channel(ch), c.attr, c.daily, c.splitLocale, periods, totals, uniques)
			}
			if want := []string{"PUSH", "EMAIL", "SMS", "IN_APP", "CONNECTORS"}; !slices.Equal(channels, want) {
				t.Errorf("zip entries %v, want %v", channels, want)
			}
			if out.Rows < 8 {
				t.Errorf("only %d rows", out.Rows)
			}
		})
	}
	t.Logf("compared %d cells", total)
}
