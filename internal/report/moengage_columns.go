package report

import (
	"strconv"
	"strings"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// The columns of the moengage layout (SPEC §13.2).

// moeMetric is one metric column of the §13.2 table: its base name, the Stats performance_stats field it holds,
// and whether the value is the UNIQUE one (else TOTAL).
type moeMetric struct {
	name   string
	field  string
	unique bool
}

// moeGoalsColumn is the pseudo column name that places the goal block in a `columns` list.
const moeGoalsColumn = "Goals"

// moePlatforms are the platform prefixes of device channels, in column order, with their Stats platform keys.
var moePlatforms = []struct{ prefix, key string }{
	{"Android", "ANDROID"}, {"Ios", "IOS"}, {"Web", "WEB"}, {"All Platform", domain.AllPlatforms},
}

func moeT(name, field string) moeMetric { return moeMetric{name, field, false} }
func moeU(name, field string) moeMetric { return moeMetric{name, field, true} }

// moeMetrics is the §13.2 metric column table per channel, in default order.
var moeMetrics = func() map[domain.Channel][]moeMetric {
	sms := []moeMetric{moeT("Attempted", "attempted"), moeT("Total Sent", "sent"), moeU("Sent", "sent"),
		moeT("Total Delivered", "delivered"), moeU("Delivered", "delivered"), moeT("Delivery Rate", "delivery_rate"),
		moeT("Total Clicks", "click"), moeU("Unique Clicks", "click"), moeT("CTR", "ctr"), moeT("Failed", "failed"),
		moeT("Failure Rate", "failure_rate")}
	whatsapp := append(append(append([]moeMetric{}, sms[:6]...),
		moeT("Total Read", "read"), moeU("Read", "read"), moeT("Read Rate", "read_rate")), sms[6:]...)
	inApp := []moeMetric{moeT("Impressions", "impression"), moeU("Unique Impressions", "impression"), moeT("Clicks", "click"),
		moeU("Unique Clicks", "click"), moeT("Closed Clicks", "closed_click"), moeT("CTR", "ctr")}
	synced := []moeMetric{moeT("Successfully Synced", "successfully_synced")}
	return map[domain.Channel][]moeMetric{
		domain.ChannelPush: {moeT("Attempted", "attempted"), moeT("Sent", "sent"), moeT("Sent Rate", "sent_rate"),
			moeT("Failed", "failed"), moeT("Failure Rate", "failure_rate"), moeT("Impressions", "impression"),
			moeU("Unique Impressions", "impression"), moeT("Impression Rate", "delivery_rate"), moeT("Clicks", "click"),
			moeU("Unique Clicks", "click"), moeT("CTR", "ctr")},
		domain.ChannelInApp:  inApp,
		domain.ChannelOnSite: inApp,
		domain.ChannelCards: {moeT("Sent", "sent"), moeT("Delivered", "delivered"), moeT("Delivery Rate", "delivery_rate"),
			moeT("Impressions", "impression"), moeU("Unique Impressions", "impression"), moeT("Clicks", "click"),
			moeU("Unique Clicks", "click"), moeT("CTR", "ctr")},
		domain.ChannelEmail: {moeT("Attempted", "attempted"), moeT("Total Sent", "sent"), moeU("Sent", "sent"),
			moeT("Total Delivered", "delivered"), moeU("Delivered", "delivered"), moeT("Delivery Rate", "delivery_rate"),
			moeT("Total Open", "open"), moeU("Unique Opens", "open"), moeU("Open Rate", "open_rate"),
			moeT("Total Clicks", "click"), moeU("Unique Clicks", "click"), moeU("CTR", "ctr"), moeU("CTOR", "ctor"),
			moeT("Hard Bounces", "hard_bounce"), moeT("Soft Bounces", "soft_bounce"), moeT("Bounces", "bounced"),
			moeT("Bounce Rate", "bounce_rate"), moeT("Unsubscribes", "unsubscribe"), moeT("Unsubscribe Rate", "unsub_rate"),
			moeT("Complaints", "complaint"), moeT("Complaints Rate", "complaints_rate"), moeT("Failed", "failed"),
			moeT("Failure Rate", "failure_rate")},
		domain.ChannelSMS:        sms,
		domain.ChannelWhatsApp:   whatsapp,
		domain.ChannelConnectors: {moeT("Total Sent", "sent"), moeU("Sent", "sent")},
		domain.ChannelFacebook:   synced,
		domain.ChannelGoogleAds:  synced,
	}
}()

// MoEngageColumnNames returns what a definition's `columns` may list for channel ch in the moengage layout: the
// base metric names of the §13.2 table in default order, then "Goals". Nil for an unknown channel.
func MoEngageColumnNames(ch domain.Channel) []string {
	ms, ok := moeMetrics[ch]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(ms)+1)
	for _, m := range ms {
		out = append(out, m.name)
	}
	return append(out, moeGoalsColumn)
}

// moeColumnName matches a `columns` entry of the moengage layout ignoring case and returns its canonical
// spelling: a base metric name of the §13.2 table or "Goals". A column name of the rows layout (SPEC §8.7, such as
// the §8.2 example's "Impression") is accepted too and means the moengage column with the same Stats field (the
// TOTAL one when there are two): "Impression" → "Impressions"; its four conversion columns mean "Goals". ok is
// false for anything else.
func moeColumnName(ch domain.Channel, name string) (string, bool) {
	if c, ok := oneOf(name, MoEngageColumnNames(ch)); ok {
		return c, true
	}
	c, ok := oneOf(name, AllowedColumns(ch))
	if !ok {
		return "", false
	}
	if isConversionColumn(c) {
		return moeGoalsColumn, true
	}
	field := MetricField(c)
	for _, unique := range []bool{false, true} {
		for _, m := range moeMetrics[ch] {
			if m.field == field && m.unique == unique {
				return m.name, true
			}
		}
	}
	return "", false
}

// isDeviceChannel reports whether a channel's moengage columns repeat per platform prefix (SPEC §13.2).
func isDeviceChannel(ch domain.Channel) bool {
	switch ch {
	case domain.ChannelPush, domain.ChannelInApp, domain.ChannelOnSite, domain.ChannelCards:
		return true
	}
	return false
}

// moeAttributionLabel is the attribution type as goal column names write it.
func moeAttributionLabel(t attribution.Type) string {
	switch t {
	case attribution.ClickThrough:
		return "Click Through"
	case attribution.InSession:
		return "In-Session"
	case attribution.TotalConversions:
		return "Total Conversions"
	case attribution.ClickConversions:
		return "Click Conversions"
	}
	return "View Through"
}

// cellKind says what a moengage column holds.
type cellKind uint8

const (
	cellMetric   cellKind = iota // a performance_stats field of one platform node
	cellGoalName                 // the name of the campaign's k-th goal
	cellGoal                     // a conversion_goal_stats field of the k-th goal in one platform node
)

// moeCell is what one column holds for the rows of one channel.
type moeCell struct {
	kind     cellKind
	field    string // performance_stats or conversion_goal_stats field
	unique   bool   // read the UNIQUE node (else TOTAL)
	platform string // Stats platform key
	goal     int    // 1-based goal number
}

// moeColumn is a named column with its cell per channel (channels it does not apply to have none).
type moeColumn struct {
	name  string
	cells map[domain.Channel]moeCell
}

// namedCell is a column name and its cell for one channel.
type namedCell struct {
	name string
	cell moeCell
}

// moeMetricSelection returns a channel's selected metric columns (the definition's `columns` entry, or all) and
// the position of the goal block among them (-1 for none).
func moeMetricSelection(def Definition, ch domain.Channel) ([]moeMetric, int) {
	all := moeMetrics[ch]
	var custom []string
	for k, v := range def.Columns {
		if c, ok := domain.ParseChannel(k); ok && c == ch {
			custom = v
			break
		}
	}
	if len(custom) == 0 {
		return all, len(all)
	}
	var out []moeMetric
	goals := -1
	seen := map[string]bool{}
	for _, name := range custom {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, moeGoalsColumn) {
			if goals < 0 {
				goals = len(out)
			}
			continue
		}
		for _, m := range all {
			if strings.EqualFold(m.name, name) && !seen[m.name] {
				seen[m.name] = true
				out = append(out, m)
			}
		}
	}
	return out, goals
}

// moeMetricCells expands metric columns for a channel: metric-major over the platform prefixes for device
// channels, unprefixed (the ALL_PLATFORMS node) otherwise.
func moeMetricCells(ch domain.Channel, ms []moeMetric) []namedCell {
	var out []namedCell
	for _, m := range ms {
		if !isDeviceChannel(ch) {
			out = append(out, namedCell{m.name, moeCell{kind: cellMetric, field: m.field, unique: m.unique, platform: domain.AllPlatforms}})
			continue
		}
		for _, p := range moePlatforms {
			out = append(out, namedCell{p.prefix + " " + m.name, moeCell{kind: cellMetric, field: m.field, unique: m.unique, platform: p.key}})
		}
	}
	return out
}

// moeGoalFields are the goal columns of each goal number, in order: column name suffix and Stats field. CVR is
// read from the UNIQUE node, the others from the TOTAL node (SPEC §13.2).
var moeGoalFields = []struct{ name, field string }{
	{"Converted Users", "unique"}, {"Conversion Events", "total"}, {"CVR", "cvr"}, {"Total Revenue", "revenue"},
	{"Average Order Value", "average_order_value"}, {"Control Group Uplift", "uplift"},
}

// moeGoalCells is the goal block for goals 1…n: device channels repeat each goal field per platform, the prefix
// at the end of the name.
func moeGoalCells(device bool, n int, attr string) []namedCell {
	var out []namedCell
	for k := 1; k <= n; k++ {
		base := "Goal " + strconv.Itoa(k)
		out = append(out, namedCell{base + " Name", moeCell{kind: cellGoalName, goal: k}})
		for _, f := range moeGoalFields {
			name := base + " " + attr + " " + f.name
			cell := moeCell{kind: cellGoal, field: f.field, unique: f.field == "cvr", goal: k, platform: domain.AllPlatforms}
			if !device {
				out = append(out, namedCell{name, cell})
				continue
			}
			for _, p := range moePlatforms {
				cell.platform = p.key
				out = append(out, namedCell{name + " " + p.prefix, cell})
			}
		}
	}
	return out
}

// moeColumns builds the columns of one CSV holding the given channels (one for a zip entry; every included one for
// gzip, SPEC §13.2): for a single channel its metric columns with the goal block where `columns` puts it; for
// several, the metric columns of each channel in order (a name already present is not repeated), then the goal
// block of device channels, then that of the other channels. goals is the number of goal columns (G).
func moeColumns(def Definition, channels []domain.Channel, goals int, attr string) []moeColumn {
	var out []moeColumn
	index := map[string]int{}
	add := func(ch domain.Channel, cells []namedCell) {
		for _, c := range cells {
			i, ok := index[c.name]
			if !ok {
				i = len(out)
				index[c.name] = i
				out = append(out, moeColumn{name: c.name, cells: map[domain.Channel]moeCell{}})
			}
			out[i].cells[ch] = c.cell
		}
	}
	if len(channels) == 1 {
		ch := channels[0]
		ms, at := moeMetricSelection(def, ch)
		cells := moeMetricCells(ch, ms)
		if at >= 0 {
			split := len(moeMetricCells(ch, ms[:at]))
			goalsBlock := moeGoalCells(isDeviceChannel(ch), goals, attr)
			cells = append(cells[:split], append(goalsBlock, cells[split:]...)...)
		}
		add(ch, cells)
		return out
	}
	if len(channels) == 0 {
		// A gzip file of a run without rows: its goal columns still run k = 1 … G, G at least 1 (no platform
		// prefixes: no device channel is included).
		add(domain.ChannelUnknown, moeGoalCells(false, goals, attr))
		return out
	}
	var wantGoals []domain.Channel
	for _, ch := range channels {
		ms, at := moeMetricSelection(def, ch)
		add(ch, moeMetricCells(ch, ms))
		if at >= 0 {
			wantGoals = append(wantGoals, ch)
		}
	}
	for _, device := range []bool{true, false} {
		for _, ch := range wantGoals {
			if isDeviceChannel(ch) == device {
				add(ch, moeGoalCells(device, goals, attr))
			}
		}
	}
	return out
}
