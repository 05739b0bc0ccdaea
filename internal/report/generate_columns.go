package report

import (
	"strings"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// Report columns (SPEC §8.7).

// Identity column names, in order; Date, Platform, Locale and Variation appear only when applicable.
const (
	ColCampaignID   = "Campaign ID"
	ColParentID     = "Parent Campaign ID"
	ColCampaignName = "Campaign Name"
	ColChannel      = "Channel"
	ColDeliveryType = "Delivery Type"
	ColDate         = "Date"
	ColPlatform     = "Platform"
	ColLocale       = "Locale"
	ColVariation    = "Variation"
)

// Conversion column names (SPEC §8.7): the effective primary goal's conversions, unique, cvr and revenue; the same
// names, in the same order, as conversionColumns.
const (
	ColConversions    = "Conversions"
	ColConvertedUsers = "Converted Users"
	ColCVR            = "CVR"
	ColRevenue        = "Revenue"
)

// MetricColumns returns a channel's metric columns in the order of SPEC §8.7 (nil for UNKNOWN), from the table
// definition validation uses. Each is the Stats performance_stats field in Title Case (ctr and ctor upper-case);
// MetricField maps it back.
func MetricColumns(ch domain.Channel) []string { return append([]string(nil), metricColumns[ch]...) }

// DefaultColumns returns a channel's default metric and conversion columns: every metric column, then the four
// conversion columns (AllowedColumns, in its order).
func DefaultColumns(ch domain.Channel) []string {
	return append(MetricColumns(ch), conversionColumns...)
}

// MetricField returns the Stats performance_stats field of a metric column: "Delivery Rate" → "delivery_rate".
// The email column "Opened" keeps its §8.7 name and holds the `open` counter (SPEC §13.1).
func MetricField(column string) string {
	if column == "Opened" {
		return domain.MetricOpened
	}
	return strings.ReplaceAll(strings.ToLower(column), " ", "_")
}

// isConversionColumn reports whether name is one of the four conversion columns.
func isConversionColumn(name string) bool {
	switch name {
	case ColConversions, ColConvertedUsers, ColCVR, ColRevenue:
		return true
	}
	return false
}

// canonicalColumn returns the §8.7 spelling of a metric or conversion column of ch matched ignoring case and
// surrounding space; ok is false when ch has no such column.
func canonicalColumn(ch domain.Channel, name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, c := range DefaultColumns(ch) {
		if strings.EqualFold(c, name) {
			return c, true
		}
	}
	return "", false
}

// channelColumns returns the metric and conversion columns of ch for a definition: its custom `columns` entry
// (unknown names dropped, duplicates collapsed) or the defaults.
func channelColumns(def Definition, ch domain.Channel) []string {
	var custom []string
	for k, v := range def.Columns {
		if c, ok := domain.ParseChannel(k); ok && c == ch {
			custom = v
			break
		}
	}
	if len(custom) == 0 {
		return DefaultColumns(ch)
	}
	seen := map[string]bool{}
	var out []string
	for _, name := range custom {
		if c, ok := canonicalColumn(ch, name); ok && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return DefaultColumns(ch)
	}
	return out
}

// unionColumns is the gzip layout (SPEC §8.6): the metric columns of the included channels in channel order,
// first appearance winning, then the conversion columns any of them uses, in their default order.
func unionColumns(def Definition, channels []domain.Channel) []string {
	seen := map[string]bool{}
	conv := map[string]bool{}
	var out []string
	for _, ch := range channels {
		for _, c := range channelColumns(def, ch) {
			if isConversionColumn(c) {
				conv[c] = true
				continue
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	for _, c := range conversionColumns {
		if conv[c] {
			out = append(out, c)
		}
	}
	return out
}

// metricCell returns a node's value of a metric column as the Stats JSON writes it; ok is false when the node has
// no such field.
func metricCell(v *stats.VariationResult, column string) (string, bool) {
	return performanceField(v, MetricField(column))
}

// performanceField returns a node's performance_stats field as the Stats JSON writes it; ok is false when the node
// has no such field.
func performanceField(v *stats.VariationResult, field string) (string, bool) {
	for _, f := range v.Performance {
		if f.Name == field {
			if f.IsRate {
				return f.Rate.String(), true
			}
			return formatInt(f.Count), true
		}
	}
	return "", false
}

// conversionCell returns a goal's value of a conversion column (SPEC §8.7, §12.8).
func conversionCell(g *stats.GoalResult, column string) string {
	if g == nil {
		return "0"
	}
	switch column {
	case ColConversions:
		return formatInt(g.Conversions)
	case ColConvertedUsers:
		return formatInt(g.Unique)
	case ColCVR:
		return g.CVR.String()
	case ColRevenue:
		return g.Revenue.String()
	}
	return ""
}
