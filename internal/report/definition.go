// Package report implements report definitions, schedules, runs and files (SPEC §8).
package report

// Definition is a validated report definition (SPEC §8.2) in its stored form. Optional fields hold their
// defaults after validation.
type Definition struct {
	Name            string          `json:"name"`
	Campaigns       *CampaignFilter `json:"campaigns"`
	Range           Range           `json:"range"`
	Granularity     string          `json:"granularity"`      // "aggregate" or "daily"
	SplitBy         []string        `json:"split_by"`         // subset of platform, locale, variation
	MetricType      string          `json:"metric_type"`      // "TOTAL" or "UNIQUE"
	AttributionType string          `json:"attribution_type"` // SPEC §5.3 names, upper case
	// Layout is LayoutMoEngage or LayoutRows (SPEC §13.2); "" (definitions stored before layouts existed) means
	// LayoutRows — see EffectiveLayout.
	Layout      string              `json:"layout"`
	Columns     map[string][]string `json:"columns,omitempty"`
	Separator   string              `json:"separator"`
	Compression string              `json:"compression"` // "zip" or "gzip"
	Schedule    *Schedule           `json:"schedule"`
	WebhookURL  string              `json:"webhook_url,omitempty"`
	// CSVFormulaGuard, when true, writes text cells that a spreadsheet would read as a formula (starting with
	// =, +, -, @, tab or carriage return) with a leading single quote. Off by default: files stay byte-compatible
	// with MoEngage's exports, and a stored report's body lists it only when on (SPEC §8.2 lists a report's fields).
	CSVFormulaGuard bool `json:"csv_formula_guard,omitempty"`
}

// Report file layouts (SPEC §13.2).
const (
	// LayoutMoEngage is MoEngage's wide export: one row per campaign and variation, platform-prefixed metric
	// columns with a fixed metric type each, goal columns. The default for new definitions.
	LayoutMoEngage = "moengage"
	// LayoutRows is one row per Stats node of the split dimensions (SPEC §8.6, §8.7).
	LayoutRows = "rows"
)

// EffectiveLayout is the definition's layout; definitions stored without one keep LayoutRows (SPEC §13.2).
func (d Definition) EffectiveLayout() string {
	if d.Layout == "" {
		return LayoutRows
	}
	return d.Layout
}

// CampaignFilter selects campaigns (SPEC §8.2 `campaigns`); every given filter must hold.
type CampaignFilter struct {
	IDs             []string `json:"ids"`
	Channels        []string `json:"channels"`
	Tags            []string `json:"tags"`
	DeliveryTypes   []string `json:"delivery_types"`
	IncludeChildren bool     `json:"include_children"`
}

// Range is either fixed dates or the last n complete days before the generation date.
type Range struct {
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	LastDays  int    `json:"last_days,omitempty"`
}

// Schedule says when a report runs (SPEC §8.3), in the workspace timezone.
type Schedule struct {
	Type       string   `json:"type"` // once, daily, weekly, monthly
	At         string   `json:"at,omitempty"`
	Date       string   `json:"date,omitempty"`
	Weekdays   []string `json:"weekdays,omitempty"`
	DayOfMonth int      `json:"day_of_month,omitempty"`
}

// FileStem is the report name with spaces replaced by underscores (SPEC §8.5).
func (d Definition) FileStem() string {
	b := []byte(d.Name)
	for i, c := range b {
		if c == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}
