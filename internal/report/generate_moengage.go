package report

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// The moengage layout (SPEC §13.2): MoEngage's wide export. One row per campaign and variation (and date, and
// locale with a locale split); every metric column fixes its own metric type and, for device channels, its
// platform, so each row is read from two engine results — TOTAL and UNIQUE — of the same campaigns. Every cell is
// the Stats API's number for its node and metric type.
//
// Choices beyond the SPEC text: the zero row of a listed campaign without data has Locale all_locale; campaigns
// whose channel is UNKNOWN get identity and goal columns only (Campaign Channel "Unknown"); a daily file has no
// zero rows (as §8.7, daily rows exist only for dates with data); G, the number of goal columns, is counted per CSV.

// Identity columns of the moengage layout, in order; Date and Locale only when applicable.
const (
	moeColCampaignID   = "Campaign ID"
	moeColDate         = "Date"
	moeColVersionName  = "Campaign Version Name"
	moeColVariation    = "Variation"
	moeColLocale       = "Locale"
	moeColName         = "Campaign Name"
	moeColType         = "Campaign Type"
	moeColDeliveryType = "Campaign Delivery Type"
	moeColChannel      = "Campaign Channel"
	moeColStatus       = "Campaign Status"
	moeColSentTime     = "Campaign Sent Time"
	moeColParentID     = "Parent Campaign ID"
	moeColTags         = "Campaign Tags"
)

// moeCampaignType is the Campaign Type cell of a delivery type.
func moeCampaignType(d domain.DeliveryType) string {
	switch d {
	case domain.DeliveryEventTriggered, domain.DeliveryDeviceTriggered, domain.DeliveryLocationTriggered:
		return "Smart Trigger"
	case domain.DeliveryBusinessEvent:
		return "Business Event Triggered"
	case domain.DeliveryAPITriggered:
		return "API Triggered"
	}
	return "General"
}

// moeDeliveryTypeLabels are the Campaign Delivery Type cells.
var moeDeliveryTypeLabels = map[domain.DeliveryType]string{
	domain.DeliveryOneTime: "One time", domain.DeliveryPeriodic: "Periodic", domain.DeliveryEventTriggered: "Event triggered",
	domain.DeliveryBusinessEvent: "Business event triggered", domain.DeliveryDeviceTriggered: "Device triggered",
	domain.DeliveryLocationTriggered: "Location triggered", domain.DeliveryBroadcastLive: "Broadcast live activity",
	domain.DeliveryAPITriggered: "API triggered",
}

// moeChannelLabels are the Campaign Channel cells.
var moeChannelLabels = map[domain.Channel]string{
	domain.ChannelPush: "Push", domain.ChannelEmail: "Email", domain.ChannelSMS: "SMS", domain.ChannelWhatsApp: "WhatsApp",
	domain.ChannelInApp: "In-App", domain.ChannelOnSite: "On-Site", domain.ChannelCards: "Cards",
	domain.ChannelConnectors: "Connectors", domain.ChannelFacebook: "Facebook", domain.ChannelGoogleAds: "Google Ads",
	domain.ChannelUnknown: "Unknown",
}

// moeStatus writes a status with only its first letter upper-case ("SENT" → "Sent").
func moeStatus(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

// moeSentTime writes an instant in loc as YYYY-MM-DDTHH:MM:SS, with .ffffff only when the sub-second part is not 0.
func moeSentTime(ms int64, loc *time.Location) string {
	t := time.UnixMilli(ms).In(loc)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// effectiveGoals are a campaign's goal names in column order (SPEC §13.2): its effective goals with the primary
// goal first; for a parent without goals, those of its first child (in id order) that has goals.
func effectiveGoals(view *domain.CatalogView, id string) []string {
	order := func(g *domain.GoalDetails) []string {
		if g == nil || len(g.Goals) == 0 {
			return nil
		}
		primary := 0
		for i, goal := range g.Goals {
			if goal.IsPrimary {
				primary = i
				break
			}
		}
		out := []string{g.Goals[primary].Name}
		for i, goal := range g.Goals {
			if i != primary {
				out = append(out, goal.Name)
			}
		}
		return out
	}
	if goals := order(view.Goals(id)); goals != nil {
		return goals
	}
	for _, child := range view.Children(id) {
		if goals := order(view.Goals(child)); goals != nil {
			return goals
		}
	}
	return nil
}

// moeCSV writes one CSV of the moengage layout.
type moeCSV struct {
	p        *genPlan
	columns  []moeColumn
	identity []string
}

func newMoeCSV(p *genPlan, channels []domain.Channel, ids []string) *moeCSV {
	goals := 1
	for _, id := range ids {
		goals = max(goals, len(effectiveGoals(p.view, id)))
	}
	c := &moeCSV{p: p, columns: moeColumns(p.def, channels, goals, moeAttributionLabel(p.attr))}
	c.identity = []string{moeColCampaignID}
	if p.daily {
		c.identity = append(c.identity, moeColDate)
	}
	c.identity = append(c.identity, moeColVersionName, moeColVariation)
	if p.splitLocale {
		c.identity = append(c.identity, moeColLocale)
	}
	c.identity = append(c.identity, moeColName, moeColType, moeColDeliveryType, moeColChannel, moeColStatus, moeColSentTime,
		moeColParentID, moeColTags)
	return c
}

func (c *moeCSV) header() []byte {
	h := append([]string(nil), c.identity...)
	for _, col := range c.columns {
		h = append(h, col.name)
	}
	return c.p.enc.appendRecord(nil, h)
}

// moeNodes indexes one campaign's TOTAL and UNIQUE trees (one range or one date) by platform, locale, variation.
type moeNodes struct {
	total, unique map[[3]string]*stats.VariationResult
	// variations lists the variation keys per locale of the ALL_PLATFORMS node set.
	variations map[string][]string
	locales    []string
}

func indexNodes(total, unique []stats.PlatformResult) *moeNodes {
	n := &moeNodes{total: map[[3]string]*stats.VariationResult{}, unique: map[[3]string]*stats.VariationResult{},
		variations: map[string][]string{}}
	for _, side := range []struct {
		tree []stats.PlatformResult
		into map[[3]string]*stats.VariationResult
	}{{total, n.total}, {unique, n.unique}} {
		for pi := range side.tree {
			pl := &side.tree[pi]
			for li := range pl.Locales {
				loc := &pl.Locales[li]
				for vi := range loc.Variations {
					v := &loc.Variations[vi]
					side.into[[3]string{pl.Key, loc.Key, v.Key}] = v
					if pl.Key == domain.AllPlatforms {
						if !slices.Contains(n.locales, loc.Key) {
							n.locales = append(n.locales, loc.Key)
						}
						if !slices.Contains(n.variations[loc.Key], v.Key) {
							n.variations[loc.Key] = append(n.variations[loc.Key], v.Key)
						}
					}
				}
			}
		}
	}
	return n
}

// rowVariations applies the variation rule of SPEC §13.2 to one locale: the specific variation keys in order
// (variation_n by n, then other keys in byte order), or all_variations alone when there is none. Control groups
// never form rows.
func rowVariations(keys []string) []string {
	var specific []string
	for _, k := range keys {
		if k != domain.AllVariations && k != domain.CampaignControlGroup && k != domain.GlobalControlGroup {
			specific = append(specific, k)
		}
	}
	if len(specific) == 0 {
		return []string{domain.AllVariations}
	}
	slices.SortFunc(specific, func(a, b string) int {
		na, oka := variationNumber(a)
		nb, okb := variationNumber(b)
		switch {
		case oka && okb && na != nb:
			if na < nb {
				return -1
			}
			return 1
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return specific
}

// variationNumber returns n of a variation_n key.
func variationNumber(key string) (uint64, bool) {
	s, ok := strings.CutPrefix(key, "variation_")
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// versionCells are the Campaign Version Name and Variation cells of a variation key.
func versionCells(key string) (string, string) {
	if key == domain.AllVariations {
		return "Version 1", "1"
	}
	if n, ok := variationNumber(key); ok {
		s := strconv.FormatUint(n, 10)
		return "Version " + s, s
	}
	return key, key
}

// encodeRow appends one row: campaign id, date, locale and variation keys, and its nodes (nil: the zero row).
func (c *moeCSV) encodeRow(dst []byte, id, date, locale, variation string, nodes *moeNodes, goals []string) []byte {
	p := c.p
	ch := p.view.Channel(id)
	camp, _ := p.view.Get(id)
	cells := []string{id}
	if p.daily {
		cells = append(cells, date)
	}
	name, number := versionCells(variation)
	cells = append(cells, name, number)
	if p.splitLocale {
		cells = append(cells, locale)
	}
	dt := p.view.DeliveryType(id)
	status, sent, tags := "Active", "", ""
	if camp != nil {
		status = moeStatus(camp.Status())
		if ms, ok := camp.StartTimeMS(); ok {
			sent = moeSentTime(ms, p.loc)
		}
		tags = strings.Join(camp.Tags(), ";")
	}
	cells = append(cells, p.view.Name(id), moeCampaignType(dt), moeDeliveryTypeLabels[dt], moeChannelLabels[ch], status, sent,
		p.view.Parent(id), tags)
	cells = p.enc.texts(cells) // the identity cells; metric cells below are numbers, goal names text
	for _, col := range c.columns {
		cell, ok := col.cells[ch]
		if !ok {
			cells = append(cells, "")
			continue
		}
		v := moeValue(cell, nodes, locale, variation, goals)
		if cell.kind == cellGoalName {
			v = p.enc.text(v)
		}
		cells = append(cells, v)
	}
	return p.enc.appendRecord(dst, cells)
}

// moeValue is one cell's text: the Stats API's number for its node and metric type; "0" for a node that does not
// exist; "" for a goal number the campaign does not have.
func moeValue(cell moeCell, nodes *moeNodes, locale, variation string, goals []string) string {
	var goal string
	if cell.kind != cellMetric {
		if cell.goal > len(goals) {
			return ""
		}
		goal = goals[cell.goal-1]
		if cell.kind == cellGoalName {
			return goal
		}
	}
	var node *stats.VariationResult
	if nodes != nil {
		tree := nodes.total
		if cell.unique {
			tree = nodes.unique
		}
		node = tree[[3]string{cell.platform, locale, variation}]
	}
	if node == nil {
		return "0"
	}
	if cell.kind == cellMetric {
		if v, ok := performanceField(node, cell.field); ok {
			return v
		}
		return "0"
	}
	for i := range node.Goals {
		if g := &node.Goals[i]; g.Name == goal {
			return goalField(g, cell.field)
		}
	}
	return "0"
}

// goalField is a conversion_goal_stats field of a goal as the Stats JSON writes it.
func goalField(g *stats.GoalResult, field string) string {
	switch field {
	case "unique":
		return formatInt(g.Unique)
	case "total":
		return formatInt(g.Total)
	case "cvr":
		return g.CVR.String()
	case "revenue":
		return g.Revenue.String()
	case "average_order_value":
		return g.AverageOrderValue.String()
	case "uplift":
		return g.Uplift.String()
	}
	return ""
}

// rows encodes the rows of one campaign's trees on one date ("" for the range).
func (c *moeCSV) rows(dst [][]byte, buf []byte, id, date string, nodes *moeNodes, goals []string) ([][]byte, []byte) {
	locales := []string{domain.AllLocales}
	if c.p.splitLocale {
		locales = orderFirstLocale(nodes.locales)
	}
	for _, l := range locales {
		for _, v := range rowVariations(nodes.variations[l]) {
			start := len(buf)
			buf = c.encodeRow(buf, id, date, l, v, nodes, goals)
			dst = append(dst, buf[start:])
		}
	}
	return dst, buf
}

// orderFirstLocale puts all_locale first, the other locales ascending.
func orderFirstLocale(keys []string) []string {
	out := []string{domain.AllLocales}
	rest := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == domain.AllLocales })
	slices.Sort(rest)
	return append(out, rest...)
}

// writeRows computes the rows of ids, CampaignsPerQuery campaigns per pair of engine calls (TOTAL and UNIQUE).
func (c *moeCSV) writeRows(ctx context.Context, g *FileGenerator, ids []string, write func([]byte) error) (int64, error) {
	p := c.p
	var n int64
	var rows [][]byte
	var buf []byte
	emit := func() error {
		for _, r := range rows {
			if err := write(r); err != nil {
				return err
			}
			n++
		}
		rows, buf = rows[:0], buf[:0]
		return nil
	}
	for start := 0; start < len(ids); start += g.batch {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		chunk := ids[start:min(start+g.batch, len(ids))]
		tq, uq := p.nodesQuery(chunk), p.nodesQuery(chunk)
		tq.Unique, uq.Unique = false, true
		tq.Shapes.OnlyAllPlatforms, uq.Shapes.OnlyAllPlatforms = false, false
		tq.Shapes.OnlyAllVariations, uq.Shapes.OnlyAllVariations = false, false
		if p.daily {
			total, err := p.engine.NodesDaily(ctx, tq)
			if err != nil {
				return n, err
			}
			unique, err := p.engine.NodesDaily(ctx, uq)
			if err != nil {
				return n, err
			}
			for i := range total {
				goals := effectiveGoals(p.view, total[i].ID)
				uniqueDays := map[string][]stats.PlatformResult{}
				for _, d := range unique[i].Days {
					uniqueDays[d.Date] = d.Platforms
				}
				for _, d := range total[i].Days {
					rows, buf = c.rows(rows, buf, total[i].ID, d.Date, indexNodes(d.Platforms, uniqueDays[d.Date]), goals)
				}
				if err := emit(); err != nil {
					return n, err
				}
			}
			continue
		}
		total, err := p.engine.Nodes(ctx, tq)
		if err != nil {
			return n, err
		}
		unique, err := p.engine.Nodes(ctx, uq)
		if err != nil {
			return n, err
		}
		for i := range total {
			id := total[i].ID
			goals := effectiveGoals(p.view, id)
			if total[i].Empty {
				// A selected campaign without data in the range: one row of zeros (SPEC §13.2).
				start := len(buf)
				buf = c.encodeRow(buf, id, "", domain.AllLocales, domain.AllVariations, nil, goals)
				rows = append(rows, buf[start:])
			} else {
				rows, buf = c.rows(rows, buf, id, "", indexNodes(total[i].Platforms, unique[i].Platforms), goals)
			}
			if err := emit(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
