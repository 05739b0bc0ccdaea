package report

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// The consistency test (SPEC §8.8): reports over 71 days for several channels, generated through the real DuckDB
// store, and every number of every row compared with Stats API results (stats.Engine.Stats, the code the HTTP
// handler calls) for the same campaign, node, metric type, attribution type and range:
//   - daily rows and aggregate ranges of at most 31 days: one Stats call;
//   - aggregate ranges over 30 days: TOTAL counts, conversions and revenue summed over Stats calls on consecutive
//     sub-ranges, rates recomputed from the sums with the SPEC §5.9 formulas, and the numbers that are distinct users
//     over the whole range (UNIQUE counts, converted users, cvr) compared with an engine range query;
//   - rows aggregating all platforms: the Stats API's ALL_PLATFORMS nodes (SPEC §13.1), summed over sub-ranges for
//     TOTAL; UNIQUE counts are also computed by the test from the events it ingested (distinct users across
//     platforms), and rates and cvr recomputed from them.

const (
	consStart = "2025-01-20"
	consEnd   = "2025-03-31" // 71 days, across the US DST change of 2025-03-09
)

// consCampaigns is the §5.5 order: campaign_start_time descending (conn_c's is inferred from its first event). The
// fixture checks it against a Stats call without campaign_ids.
var consCampaigns = []string{"push_p_2", "push_p_1", "conn_c", "push_a", "email_e", "push_p", "inapp_i", "sms_s"}

var consChannels = map[string]domain.Channel{"push_p_2": domain.ChannelPush, "push_p_1": domain.ChannelPush,
	"push_a": domain.ChannelPush, "email_e": domain.ChannelEmail, "push_p": domain.ChannelPush,
	"inapp_i": domain.ChannelInApp, "sms_s": domain.ChannelSMS, "conn_c": domain.ChannelConnectors}

var consUnits = map[string][]string{"push_p": {"push_p", "push_p_1", "push_p_2"}}

var consPrimary = map[string]string{"push_a": "Purchase", "push_p": "Purchase", "push_p_1": "Purchase", "push_p_2": "Purchase",
	"email_e": "Order", "sms_s": "Purchase"}

func consistencyFixture(t *testing.T) *fixture {
	f := newFixture(t, "America/New_York")
	purchase := `"conversion_goal_details":{"attribution_window_in_hours":36,"goals":[
		{"goal_name":"Signup","goal_event_name":"Signup"},
		{"goal_name":"Purchase","goal_event_name":"Purchase","revenue_attribute":"amount","is_primary_goal":true}]}`
	f.putCampaign(t, "push_a", `{"campaign_name":"Push A","channel":"PUSH","campaign_start_time":"2025-01-15T00:00:00Z",`+purchase+`}`)
	f.putCampaign(t, "push_p", `{"campaign_name":"Periodic","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"campaign_start_time":"2025-01-10T00:00:00Z",`+purchase+`}`)
	f.putCampaign(t, "push_p_1", `{"campaign_name":"Periodic 1","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"parent_campaign_id":"push_p","campaign_start_time":"2025-01-25T00:00:00Z"}`)
	f.putCampaign(t, "push_p_2", `{"campaign_name":"Periodic 2","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"parent_campaign_id":"push_p","campaign_start_time":"2025-02-15T00:00:00Z"}`)
	f.putCampaign(t, "email_e", `{"campaign_name":"Email, \"E\"","channel":"EMAIL","campaign_start_time":"2025-01-12T00:00:00Z",
		"conversion_goal_details":{"goals":[{"goal_name":"Order","goal_event_name":"Order","revenue_attribute":"value"}]}}`)
	f.putCampaign(t, "sms_s", `{"campaign_name":"SMS","channel":"SMS","campaign_start_time":"2025-01-05T00:00:00Z",
		"conversion_goal_details":{"attribution_window_in_hours":48,"goals":[{"goal_name":"Purchase","goal_event_name":"Purchase","revenue_attribute":"amount"}]}}`)
	f.putCampaign(t, "inapp_i", `{"campaign_name":"In-app","channel":"IN_APP","campaign_start_time":"2025-01-08T00:00:00Z"}`)
	f.putCampaign(t, "conn_c", `{"campaign_name":"Connector","channel":"CONNECTORS"}`)

	rng := rand.New(rand.NewPCG(7, 11))
	loc := f.ws.Location()
	const users = 300
	platformOf := func(u int) string {
		if u%3 == 0 {
			return "ios"
		}
		return "android"
	}
	multi := func(u int) bool { return u%10 == 7 } // uses both platforms; never buys, so buyers are single-platform
	localeOf := func(u int) string { return []string{"en", "fr", "de", "en", ""}[u%5] }
	variationOf := func(u int) string { return []string{"1", "2", "", "1"}[u%4] }
	user := func(u int) string { return fmt.Sprintf("u%03d", u) }
	var evs []refEvent
	var goals []map[string]any
	amounts := []float64{9.99, 20, 35.5, 12.25}
	buy := func(u int, name, attr string, at time.Time) {
		if multi(u) || rng.IntN(100) >= 25 {
			return
		}
		at = at.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
		goals = append(goals, f.goalEvent(name, user(u), at, map[string]any{attr: amounts[rng.IntN(len(amounts))]}))
	}
	start, _ := time.ParseInLocation(time.DateOnly, "2025-01-17", loc)
	end, _ := time.ParseInLocation(time.DateOnly, "2025-04-02", loc)
	for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
		at := func() time.Time { return day.Add(time.Duration(rng.IntN(24*60)) * time.Minute) }
		push := func(c, parent string, n int) {
			for range n {
				u := rng.IntN(250)
				p := platformOf(u)
				if multi(u) && rng.IntN(2) == 0 {
					p = map[string]string{"ios": "android", "android": "ios"}[p]
				}
				e := refEvent{campaign: c, parent: parent, channel: domain.ChannelPush, platform: p, locale: localeOf(u),
					variation: variationOf(u), user: user(u), at: at()}
				if rng.IntN(20) == 0 {
					e.kind = "failed"
					evs = append(evs, e)
					continue
				}
				e.kind = "sent"
				evs = append(evs, e)
				if rng.IntN(10) < 8 {
					e.kind, e.at = "impression", e.at.Add(time.Minute)
					evs = append(evs, e)
					buy(u, "Purchase", "amount", e.at)
					if rng.IntN(10) < 3 {
						e.kind, e.at = "click", e.at.Add(time.Minute)
						evs = append(evs, e)
					}
				}
			}
			// Control group: users 250–299 are held out.
			if rng.IntN(3) == 0 {
				u := 250 + rng.IntN(50)
				e := refEvent{campaign: c, parent: parent, channel: domain.ChannelPush, kind: "held", platform: "android",
					locale: localeOf(u), user: user(u), at: at()}
				evs = append(evs, e)
				if !multi(u) && rng.IntN(3) == 0 {
					goals = append(goals, f.goalEvent("Purchase", user(u), e.at.Add(2*time.Hour), map[string]any{"amount": 15}))
				}
			}
		}
		push("push_a", "", 6)
		if day.Before(time.Date(2025, 2, 25, 0, 0, 0, 0, loc)) {
			push("push_p_1", "push_p", 4)
		}
		if day.After(time.Date(2025, 2, 10, 0, 0, 0, 0, loc)) {
			push("push_p_2", "push_p", 4)
		}
		if day.Weekday() == time.Monday {
			push("push_p", "", 2) // the parent's own events
		}
		for range 5 {
			u := rng.IntN(250)
			e := refEvent{campaign: "email_e", channel: domain.ChannelEmail, locale: localeOf(u), user: user(u), at: at()}
			switch r := rng.IntN(100); {
			case r < 4:
				e.kind = "failed"
				evs = append(evs, e)
				continue
			case r < 7:
				e.kind = "hard_bounce"
				evs = append(evs, e)
			}
			e.kind = "sent"
			evs = append(evs, e)
			if rng.IntN(10) < 9 {
				e.kind, e.at = "delivered", e.at.Add(time.Minute)
				evs = append(evs, e)
				if rng.IntN(10) < 4 {
					e.kind, e.at = "opened", e.at.Add(time.Minute)
					evs = append(evs, e)
					buy(u, "Order", "value", e.at)
					if rng.IntN(10) < 3 {
						e.kind, e.at = "click", e.at.Add(time.Minute)
						evs = append(evs, e)
					}
					if rng.IntN(30) == 0 {
						e.kind = "unsubscribe"
						evs = append(evs, e)
					}
				}
			}
		}
		for range 3 {
			u := rng.IntN(250)
			e := refEvent{campaign: "sms_s", channel: domain.ChannelSMS, user: user(u), at: at(), kind: "sent"}
			evs = append(evs, e)
			if rng.IntN(10) == 0 {
				e.kind = "failed"
				evs = append(evs, e)
				continue
			}
			e.kind, e.at = "delivered", e.at.Add(time.Minute)
			evs = append(evs, e)
			buy(u, "Purchase", "amount", e.at)
			if rng.IntN(5) == 0 {
				e.kind = "click"
				evs = append(evs, e)
			}
		}
		for range 4 {
			u := rng.IntN(250)
			p := platformOf(u)
			if multi(u) && rng.IntN(2) == 0 {
				p = map[string]string{"ios": "android", "android": "ios"}[p]
			}
			e := refEvent{campaign: "inapp_i", channel: domain.ChannelInApp, kind: "impression", platform: p, locale: localeOf(u),
				variation: variationOf(u), user: user(u), at: at()}
			evs = append(evs, e)
			switch rng.IntN(4) {
			case 0:
				e.kind = "click"
				evs = append(evs, e)
			case 1:
				e.kind = "closed"
				evs = append(evs, e)
			}
		}
		if day.Day()%3 == 0 {
			evs = append(evs, refEvent{campaign: "conn_c", channel: domain.ChannelConnectors, kind: "sent", user: user(rng.IntN(250)), at: at()})
		}
	}
	f.ingest(t, append(f.campaignEvents(evs), goals...))
	s, _ := time.Parse(time.DateOnly, "2025-02-01")
	e, _ := time.Parse(time.DateOnly, "2025-03-03")
	res, err := f.eng.Stats(context.Background(), stats.Query{Workspace: f.ws, Start: s, End: e, Attribution: attribution.ViewThrough, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range res.Campaigns {
		order = append(order, c.ID)
	}
	if !slices.Equal(order, consCampaigns) {
		t.Fatalf("Stats selection order %v, want %v", order, consCampaigns)
	}
	return f
}

// ---- expected rows ----

// rowKey identifies a CSV row.
type rowKey struct{ campaign, date, platform, locale, variation string }

// expNode is what a row should hold: performance counts and rate texts, conversion texts.
type expNode struct {
	control bool
	counts  map[string]int64
	rates   map[string]string
	conv    map[string]string // column → text
}

// fromStats converts a Stats node.
func fromStats(v *stats.VariationResult, goal string) *expNode {
	n := &expNode{control: v.Control, counts: map[string]int64{}, rates: map[string]string{}, conv: zeroConv()}
	for _, f := range v.Performance {
		if f.IsRate {
			n.rates[f.Name] = f.Rate.String()
		} else {
			n.counts[f.Name] = f.Count
		}
	}
	for _, g := range v.Goals {
		if g.Name == goal {
			n.conv = map[string]string{ColConversions: fmt.Sprint(g.Conversions), ColConvertedUsers: fmt.Sprint(g.Unique),
				ColCVR: g.CVR.String(), ColRevenue: g.Revenue.String()}
		}
	}
	return n
}

func zeroConv() map[string]string {
	return map[string]string{ColConversions: "0", ColConvertedUsers: "0", ColCVR: "0", ColRevenue: "0"}
}

// rateFormulas are the performance rates of SPEC §5.9 (numerator, denominator), written from the SPEC.
var rateFormulas = map[domain.Channel][][3]string{
	domain.ChannelPush: {{"ctr", "click", "impression"}, {"delivery_rate", "impression", "sent"}, {"sent_rate", "sent", "attempted"},
		{"failure_rate", "failed", "attempted"}},
	domain.ChannelEmail: {{"ctr", "click", "delivered"}, {"open_rate", "open", "delivered"}, {"delivery_rate", "delivered", "sent"},
		{"ctor", "click", "open"}, {"unsub_rate", "unsubscribe", "delivered"}, {"bounce_rate", "bounced", "sent"},
		{"complaints_rate", "complaint", "delivered"}, {"sent_rate", "sent", "attempted"}, {"failure_rate", "failed", "attempted"}},
	domain.ChannelSMS: {{"ctr", "click", "delivered"}, {"delivery_rate", "delivered", "sent"}, {"sent_rate", "sent", "attempted"},
		{"failure_rate", "failed", "attempted"}},
	domain.ChannelInApp: {{"ctr", "click", "impression"}},
}

// recomputeRates sets the rate texts from the counts.
func (n *expNode) recomputeRates(ch domain.Channel) {
	for _, r := range rateFormulas[ch] {
		n.rates[r[0]] = stats.Ratio(n.counts[r[1]], n.counts[r[2]], 100).String()
	}
}

// addTotals adds b's counts, conversions and revenue to n (TOTAL sums over disjoint ranges or platforms); the
// distinct-user texts (converted users, cvr) are left to the caller.
func (n *expNode) addTotals(b *expNode) {
	for k, v := range b.counts {
		n.counts[k] += v
	}
	n.conv[ColConversions] = addInt(n.conv[ColConversions], b.conv[ColConversions])
	n.conv[ColConvertedUsers] = addInt(n.conv[ColConvertedUsers], b.conv[ColConvertedUsers])
	n.conv[ColRevenue] = addDecimal(n.conv[ColRevenue], b.conv[ColRevenue])
}

func addInt(a, b string) string {
	var x, y int64
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return fmt.Sprint(x + y)
}

// addDecimal adds two 2-decimal texts exactly.
func addDecimal(a, b string) string {
	return (parseDecimal(a) + parseDecimal(b)).String()
}

func parseDecimal(s string) stats.Decimal {
	whole, frac, _ := strings.Cut(s, ".")
	var w int64
	fmt.Sscan(whole, &w)
	for len(frac) < 2 {
		frac += "0"
	}
	var fr int64
	fmt.Sscan(frac, &fr)
	if strings.HasPrefix(s, "-") {
		return stats.Decimal(w*100 - fr)
	}
	return stats.Decimal(w*100 + fr)
}

func cloneNode(n *expNode) *expNode {
	c := &expNode{control: n.control, counts: map[string]int64{}, rates: map[string]string{}, conv: map[string]string{}}
	for k, v := range n.counts {
		c.counts[k] = v
	}
	for k, v := range n.rates {
		c.rates[k] = v
	}
	for k, v := range n.conv {
		c.conv[k] = v
	}
	return c
}

// expected holds the expected rows in order.
type expected struct {
	order []rowKey
	nodes map[rowKey]*expNode
}

func newExpected() *expected { return &expected{nodes: map[rowKey]*expNode{}} }

func (e *expected) put(k rowKey, n *expNode) {
	if _, ok := e.nodes[k]; !ok {
		e.order = append(e.order, k)
	}
	e.nodes[k] = n
}

// statsCall runs one Stats query for all consistency campaigns (at most 10, one page).
func statsCall(t *testing.T, f *fixture, start, end string, unique bool, attr attribution.Type) map[string]*stats.CampaignResult {
	t.Helper()
	s, _ := time.Parse(time.DateOnly, start)
	e, _ := time.Parse(time.DateOnly, end)
	if e.Sub(s) > 30*24*time.Hour {
		t.Fatalf("Stats range %s..%s longer than the API allows", start, end)
	}
	res, err := f.eng.Stats(context.Background(), stats.Query{Workspace: f.ws, CampaignIDs: consCampaigns, Start: s, End: e,
		Attribution: attr, Unique: unique, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*stats.CampaignResult{}
	for i := range res.Campaigns {
		if !res.Campaigns[i].Empty { // nothing in range: the zero node, and no report row (SPEC §8.7, §13.1)
			out[res.Campaigns[i].ID] = &res.Campaigns[i]
		}
	}
	return out
}

// engineRange runs the engine over any range for one campaign (the "engine range query" for distinct-user numbers
// over more than 30 days).
func engineRange(t *testing.T, f *fixture, id, start, end string, unique bool, attr attribution.Type) *stats.CampaignResult {
	t.Helper()
	view, err := f.eng.Catalog(context.Background(), f.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := time.Parse(time.DateOnly, start)
	e, _ := time.Parse(time.DateOnly, end)
	from, to := stats.Range(s, e, f.ws.Location())
	res, err := f.eng.Nodes(context.Background(), stats.NodesQuery{Workspace: f.ws, View: view, CampaignIDs: []string{id},
		FromMS: from, ToMS: to, FromDate: start, ToDate: end, Unique: unique, Attribution: attr})
	if err != nil {
		t.Fatal(err)
	}
	return &res[0]
}

// split restricts a Stats tree to the report's split dimensions: it calls fn for every node a row is made of.
func split(cr *stats.CampaignResult, splitLocale, splitVariation bool, fn func(platform, locale, variation string, v *stats.VariationResult)) {
	for _, p := range cr.Platforms {
		for _, l := range p.Locales {
			if !splitLocale && l.Key != domain.AllLocales {
				continue
			}
			for i := range l.Variations {
				v := &l.Variations[i]
				if !splitVariation && v.Key != domain.AllVariations {
					continue
				}
				fn(p.Key, l.Key, v.Key, v)
			}
		}
	}
}

// dates lists the dates of a range.
func dates(start, end string) []string {
	s, _ := time.Parse(time.DateOnly, start)
	e, _ := time.Parse(time.DateOnly, end)
	var out []string
	for d := s; !d.After(e); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

// subRanges cuts a range into consecutive pieces of at most 31 days.
func subRanges(start, end string) [][2]string {
	ds := dates(start, end)
	var out [][2]string
	for i := 0; i < len(ds); i += 31 {
		out = append(out, [2]string{ds[i], ds[min(i+30, len(ds)-1)]})
	}
	return out
}

// ---- reference distinct users (all platforms) ----

// refUnique counts distinct users per metric in one all-platform node of a campaign over [from, to).
func refUnique(f *fixture, campaign string, fromMS, toMS int64, locale, variation string) map[string]int64 {
	units := consUnits[campaign]
	if units == nil {
		units = []string{campaign}
	}
	sets := map[string]map[string]bool{}
	for _, e := range f.events {
		if !slices.Contains(units, e.campaign) || e.at.UnixMilli() < fromMS || e.at.UnixMilli() >= toMS {
			continue
		}
		if locale != domain.AllLocales && e.locale != locale {
			continue
		}
		switch variation {
		case domain.AllVariations:
			if e.kind == "held" {
				continue
			}
		case domain.CampaignControlGroup:
			if e.kind != "held" {
				continue
			}
		default:
			if e.kind == "held" || e.variation != strings.TrimPrefix(variation, "variation_") {
				continue
			}
		}
		for _, m := range e.metrics() {
			if sets[m] == nil {
				sets[m] = map[string]bool{}
			}
			sets[m][e.user] = true
		}
	}
	out := map[string]int64{}
	for m, s := range sets {
		out[m] = int64(len(s))
	}
	return out
}

// ---- comparison ----

// checkCSV compares a CSV's rows with the expectation: same rows in the same order, every cell equal.
func checkCSV(t *testing.T, label string, text string, sep rune, daily, splitPlatform, splitLocale, splitVariation bool,
	columns []string, exp *expected, channelCols func(domain.Channel) []string) int {
	t.Helper()
	header, recs := parseCSV(t, text, sep)
	idn := 5
	wantHeader := []string{ColCampaignID, ColParentID, ColCampaignName, ColChannel, ColDeliveryType}
	if daily {
		wantHeader = append(wantHeader, ColDate)
	}
	if splitPlatform {
		wantHeader = append(wantHeader, ColPlatform)
	}
	if splitLocale {
		wantHeader = append(wantHeader, ColLocale)
	}
	if splitVariation {
		wantHeader = append(wantHeader, ColVariation)
	}
	idn = len(wantHeader)
	wantHeader = append(wantHeader, columns...)
	if !slices.Equal(header, wantHeader) {
		t.Fatalf("%s: header %q, want %q", label, header, wantHeader)
	}
	var got []rowKey
	checked := 0
	for _, r := range recs {
		i := 5
		k := rowKey{campaign: r[0]}
		if daily {
			k.date, i = r[i], i+1
		}
		if splitPlatform {
			k.platform, i = r[i], i+1
		}
		if splitLocale {
			k.locale, i = r[i], i+1
		}
		if splitVariation {
			k.variation, i = r[i], i+1
		}
		got = append(got, k)
		n, ok := exp.nodes[k]
		if !ok {
			t.Errorf("%s: unexpected row %+v", label, k)
			continue
		}
		ch := consChannels[k.campaign]
		applies := map[string]bool{}
		for _, c := range channelCols(ch) {
			applies[c] = true
		}
		if r[3] != string(ch) {
			t.Errorf("%s %+v: channel %q", label, k, r[3])
		}
		for j, col := range columns {
			cell := r[idn+j]
			var want string
			switch {
			case !applies[col]:
				want = ""
			case isConversionColumn(col):
				want = n.conv[col]
			case n.control:
				want = ""
			default:
				field := MetricField(col)
				if v, ok := n.rates[field]; ok {
					want = v
				} else {
					want = fmt.Sprint(n.counts[field])
				}
			}
			if cell != want {
				t.Errorf("%s %+v %s = %q, want %q", label, k, col, cell, want)
			}
			checked++
		}
	}
	var want []rowKey
	for _, k := range exp.order {
		if consChannels[k.campaign] != "" {
			want = append(want, k)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d rows, want %d; first difference at %s", label, len(got), len(want), firstDiff(got, want))
	}
	return checked
}

func firstDiff(a, b []rowKey) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%d: got %+v, want %+v", i, a[i], b[i])
		}
	}
	return fmt.Sprint(min(len(a), len(b)))
}

// restrict keeps the expected rows of one channel (zip CSVs).
func (e *expected) restrict(ch domain.Channel) *expected {
	out := newExpected()
	for _, k := range e.order {
		if consChannels[k.campaign] == ch {
			out.put(k, e.nodes[k])
		}
	}
	return out
}

// byCampaignOrder reorders rows campaign-major in consCampaigns order, keeping the order within a campaign.
func (e *expected) byCampaignOrder() *expected {
	out := newExpected()
	for _, c := range consCampaigns {
		for _, k := range e.order {
			if k.campaign == c {
				out.put(k, e.nodes[k])
			}
		}
	}
	return out
}

// ---- the test ----

func TestReportNumbersMatchStats(t *testing.T) {
	if testing.Short() {
		t.Skip("consistency test skipped in -short mode")
	}
	f := consistencyFixture(t)
	loc := f.ws.Location()
	zipDef := func(name string) Definition {
		return Definition{Name: name, AttributionType: "VIEW_THROUGH", MetricType: "TOTAL", Separator: ",", Compression: "zip"}
	}
	total := 0

	// checkZip compares each channel CSV of a zip with its share of the expectation.
	checkZip := func(t *testing.T, def Definition, files []csvFile, exp *expected, daily, sp, sl, sv bool) {
		var channels []string
		for _, cf := range files {
			channels = append(channels, strings.TrimSuffix(strings.TrimPrefix(cf.name, def.FileStem()+"_"), ".csv"))
		}
		if want := []string{"PUSH", "EMAIL", "SMS", "IN_APP", "CONNECTORS"}; !slices.Equal(channels, want) {
			t.Fatalf("zip entries %v, want %v", channels, want)
		}
		for i, cf := range files {
			ch := domain.Channel(channels[i])
			total += checkCSV(t, cf.name, cf.text, rune(def.Separator[0]), daily, sp, sl, sv, DefaultColumns(ch), exp.restrict(ch),
				DefaultColumns)
		}
	}

	// Daily rows, both metric types, two attribution types, with every split and with fewer splits (the engine
	// then computes fewer node shapes): one Stats call per date.
	for _, c := range []struct {
		unique bool
		attr   attribution.Type
		sl, sv bool
	}{{false, attribution.ViewThrough, true, true}, {true, attribution.ClickThrough, true, true},
		{true, attribution.ViewThrough, false, false}, {false, attribution.ViewThrough, true, false}} {
		t.Run(fmt.Sprintf("daily_split_unique=%t_%s_locale=%t_variation=%t", c.unique, c.attr, c.sl, c.sv), func(t *testing.T) {
			def := zipDef("Daily All")
			def.Granularity, def.SplitBy = "daily", []string{"platform"}
			if c.sl {
				def.SplitBy = append(def.SplitBy, "locale")
			}
			if c.sv {
				def.SplitBy = append(def.SplitBy, "variation")
			}
			def.AttributionType = c.attr.String()
			if c.unique {
				def.MetricType = "UNIQUE"
			}
			out, files := f.generate(t, def, consStart, consEnd)
			exp := newExpected()
			for _, d := range dates(consStart, consEnd) {
				res := statsCall(t, f, d, d, c.unique, c.attr)
				for _, id := range consCampaigns {
					if cr := res[id]; cr != nil {
						split(cr, c.sl, c.sv, func(p, l, v string, n *stats.VariationResult) {
							if !c.sl {
								l = ""
							}
							if !c.sv {
								v = ""
							}
							exp.put(rowKey{id, d, p, l, v}, fromStats(n, consPrimary[id]))
						})
					}
				}
			}
			exp = exp.byCampaignOrder()
			if out.Rows != int64(len(exp.order)) || out.Rows < 300 {
				t.Errorf("rows %d, want %d (and a sizeable report)", out.Rows, len(exp.order))
			}
			checkZip(t, def, files, exp, true, true, c.sl, c.sv)
		})
	}

	// Aggregate over 31 days: one Stats call, UNIQUE.
	t.Run("aggregate_31_days_unique", func(t *testing.T) {
		def := zipDef("Month")
		def.Granularity, def.SplitBy, def.MetricType = "aggregate", []string{"variation", "platform", "locale"}, "UNIQUE"
		_, files := f.generate(t, def, "2025-02-01", "2025-03-03")
		res := statsCall(t, f, "2025-02-01", "2025-03-03", true, attribution.ViewThrough)
		exp := newExpected()
		for _, id := range consCampaigns {
			split(res[id], true, true, func(p, l, v string, n *stats.VariationResult) {
				exp.put(rowKey{id, "", p, l, v}, fromStats(n, consPrimary[id]))
			})
		}
		checkZip(t, def, files, exp, false, true, true, true)
	})

	// Aggregate over 71 days, TOTAL: sums of Stats calls over sub-ranges.
	t.Run("aggregate_71_days_total", func(t *testing.T) {
		def := zipDef("Quarter")
		def.Granularity, def.SplitBy = "aggregate", []string{"platform", "locale", "variation"}
		_, files := f.generate(t, def, consStart, consEnd)
		exp := newExpected()
		sums := map[rowKey]*expNode{}
		var keys []rowKey
		for _, r := range subRanges(consStart, consEnd) {
			res := statsCall(t, f, r[0], r[1], false, attribution.ViewThrough)
			for _, id := range consCampaigns {
				if res[id] == nil {
					continue
				}
				split(res[id], true, true, func(p, l, v string, n *stats.VariationResult) {
					k := rowKey{id, "", p, l, v}
					s := sums[k]
					if s == nil {
						s = &expNode{control: n.Control, counts: map[string]int64{}, rates: map[string]string{}, conv: zeroConv()}
						sums[k] = s
						keys = append(keys, k)
					}
					s.addTotals(fromStats(n, consPrimary[id]))
				})
			}
		}
		// Distinct-user numbers over the whole range come from an engine range query; the rest from the sums.
		for _, id := range consCampaigns {
			whole := engineRange(t, f, id, consStart, consEnd, false, attribution.ViewThrough)
			split(whole, true, true, func(p, l, v string, n *stats.VariationResult) {
				k := rowKey{id, "", p, l, v}
				s := sums[k]
				if s == nil {
					t.Fatalf("range node %+v missing from the sub-range Stats calls", k)
				}
				r := fromStats(n, consPrimary[id])
				s.conv[ColConvertedUsers] = r.conv[ColConvertedUsers]
				s.conv[ColCVR] = r.conv[ColCVR]
				s.recomputeRates(consChannels[id])
				if !n.Control && consChannels[id] == domain.ChannelPush && consPrimary[id] != "" {
					// VIEW_THROUGH cvr base for push is the node's impression count (SPEC §5.12).
					var unique int64
					fmt.Sscan(r.conv[ColConvertedUsers], &unique)
					if got := stats.Ratio(unique, s.counts["impression"], 100).String(); got != r.conv[ColCVR] {
						t.Errorf("%+v: cvr %s, recomputed from summed impressions %s", k, r.conv[ColCVR], got)
					}
				}
			})
		}
		// Rows in §8.7 order: per campaign, platform, then locale and variation order of the Stats trees.
		for _, id := range consCampaigns {
			whole := engineRange(t, f, id, consStart, consEnd, false, attribution.ViewThrough)
			split(whole, true, true, func(p, l, v string, _ *stats.VariationResult) {
				exp.put(rowKey{id, "", p, l, v}, sums[rowKey{id, "", p, l, v}])
			})
		}
		if len(exp.order) != len(keys) {
			t.Errorf("%d range nodes, %d nodes over the sub-ranges", len(exp.order), len(keys))
		}
		checkZip(t, def, files, exp, false, true, true, true)
	})

	// All-platform rows (no platform split), gzip with the union of columns.
	for _, c := range []struct {
		name       string
		daily      bool
		unique     bool
		start, end string
	}{
		{"all_platforms_aggregate_71_days_unique", false, true, consStart, consEnd},
		{"all_platforms_aggregate_71_days_total", false, false, consStart, consEnd},
		{"all_platforms_daily_unique", true, true, "2025-02-20", "2025-03-20"},
		{"all_platforms_daily_total", true, false, "2025-03-01", "2025-03-15"},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := Definition{Name: "All Platforms", Granularity: "aggregate", SplitBy: []string{"locale", "variation"},
				MetricType: "TOTAL", AttributionType: "VIEW_THROUGH", Separator: "|", Compression: "gzip"}
			if c.daily {
				def.Granularity = "daily"
			}
			if c.unique {
				def.MetricType = "UNIQUE"
			}
			_, files := f.generate(t, def, c.start, c.end)
			if len(files) != 1 || files[0].name != "All_Platforms.csv" {
				t.Fatalf("gzip member %v", files)
			}
			periods := [][2]string{{c.start, c.end}}
			if c.daily {
				periods = nil
				for _, d := range dates(c.start, c.end) {
					periods = append(periods, [2]string{d, d})
				}
			}
			exp := newExpected()
			for _, per := range periods {
				date := ""
				if c.daily {
					date = per[0]
				}
				// Per-platform trees: Stats over sub-ranges (TOTAL sums), and the engine over the whole period for
				// converted users of ranges over 30 days.
				type lv struct{ l, v string }
				sum := map[string]map[lv]*expNode{}
				order := map[string][]lv{}
				for _, r := range subRanges(per[0], per[1]) {
					res := statsCall(t, f, r[0], r[1], c.unique, attribution.ViewThrough)
					for _, id := range consCampaigns {
						if res[id] == nil {
							continue
						}
						if sum[id] == nil {
							sum[id] = map[lv]*expNode{}
						}
						split(res[id], true, true, func(p, l, v string, n *stats.VariationResult) {
							if p != domain.AllPlatforms {
								return // the rows are the Stats API's ALL_PLATFORMS nodes (SPEC §13.1)
							}
							k := lv{l, v}
							s := sum[id][k]
							if s == nil {
								s = &expNode{control: n.Control, counts: map[string]int64{}, rates: map[string]string{}, conv: zeroConv()}
								sum[id][k] = s
								order[id] = append(order[id], k)
							}
							s.addTotals(fromStats(n, consPrimary[id]))
						})
					}
				}
				fromMS, toMS := rangeMS(per[0], per[1], loc)
				for _, id := range consCampaigns {
					if len(order[id]) == 0 {
						continue
					}
					// all_locales first then ascending; all_variations, specific ascending, control groups.
					keys := order[id]
					slices.SortStableFunc(keys, func(a, b lv) int {
						if c := cmpLocale(a.l, b.l); c != 0 {
							return c
						}
						return cmpVariation(a.v, b.v)
					})
					keys = slices.Compact(keys)
					long := len(subRanges(per[0], per[1])) > 1
					var whole map[lv]*expNode
					if long {
						whole = map[lv]*expNode{}
						for _, pl := range engineRange(t, f, id, per[0], per[1], c.unique, attribution.ViewThrough).Platforms {
							if pl.Key != domain.AllPlatforms {
								continue
							}
							for _, l := range pl.Locales {
								for i := range l.Variations {
									v := &l.Variations[i]
									n := fromStats(v, consPrimary[id])
									k := lv{l.Key, v.Key}
									if whole[k] == nil {
										whole[k] = &expNode{counts: map[string]int64{}, conv: zeroConv()}
									}
									whole[k].conv[ColConvertedUsers] = addInt(whole[k].conv[ColConvertedUsers], n.conv[ColConvertedUsers])
								}
							}
						}
					}
					ch := consChannels[id]
					for _, k := range keys {
						n := cloneNode(sum[id][k])
						if long {
							n.conv[ColConvertedUsers] = whole[k].conv[ColConvertedUsers]
						}
						if c.unique {
							// Distinct users across platforms, from the events the test ingested.
							ref := refUnique(f, id, fromMS, toMS, k.l, k.v)
							for m := range n.counts {
								n.counts[m] = ref[m]
							}
							n.conv[ColConversions] = n.conv[ColConvertedUsers]
						}
						n.recomputeRates(ch)
						var unique int64
						fmt.Sscan(n.conv[ColConvertedUsers], &unique)
						var base int64
						switch {
						case consPrimary[id] == "":
						case n.control:
							base = refUnique(f, id, fromMS, toMS, k.l, k.v)["held"]
						case ch == domain.ChannelPush:
							base = n.counts["impression"]
						case ch == domain.ChannelEmail:
							base = refUnique(f, id, fromMS, toMS, k.l, k.v)["open"]
						case ch == domain.ChannelSMS:
							base = n.counts["delivered"]
						}
						n.conv[ColCVR] = stats.Ratio(unique, base, 100).String()
						exp.put(rowKey{id, date, "", k.l, k.v}, n)
					}
				}
			}
			exp = exp.byCampaignOrder()
			var chans []domain.Channel
			for _, ch := range reportChannels() {
				for _, id := range consCampaigns {
					if consChannels[id] == ch && !slices.Contains(chans, ch) {
						chans = append(chans, ch)
					}
				}
			}
			cols := unionColumns(def, chans)
			total += checkCSV(t, files[0].name, files[0].text, '|', c.daily, false, true, true, cols, exp, DefaultColumns)
		})
	}
	t.Logf("compared %d cells", total)
}

func rangeMS(start, end string, loc *time.Location) (int64, int64) {
	s, _ := time.Parse(time.DateOnly, start)
	e, _ := time.Parse(time.DateOnly, end)
	return stats.Range(s, e, loc)
}

func cmpLocale(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == domain.AllLocales:
		return -1
	case b == domain.AllLocales:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpVariation(a, b string) int {
	rank := func(v string) int {
		switch v {
		case domain.AllVariations:
			return 0
		case domain.CampaignControlGroup:
			return 2
		case domain.GlobalControlGroup:
			return 3
		}
		return 1
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}
