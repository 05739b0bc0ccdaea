package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const specExample = `{
  "name": "Weekly Push Report",
  "campaigns": {"ids": [], "channels": ["PUSH", "EMAIL"], "tags": ["sale"], "delivery_types": [], "include_children": true},
  "range": {"last_days": 7},
  "granularity": "daily",
  "split_by": ["platform", "variation"],
  "metric_type": "TOTAL",
  "attribution_type": "VIEW_THROUGH",
  "columns": {"PUSH": ["Sent", "Impression", "Click", "CTR"]},
  "separator": ",",
  "compression": "zip",
  "schedule": {"type": "weekly", "at": "06:00", "weekdays": ["MON"]},
  "webhook_url": "https://hooks.example.com/campaignstats"
}`

func TestParseDefinitionSpecExample(t *testing.T) {
	d, err := ParseDefinition([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	want := Definition{
		Name: "Weekly Push Report",
		Campaigns: &CampaignFilter{IDs: []string{}, Channels: []string{"PUSH", "EMAIL"}, Tags: []string{"sale"},
			DeliveryTypes: []string{}, IncludeChildren: true},
		Range: Range{LastDays: 7}, Granularity: "daily", SplitBy: []string{"platform", "variation"}, MetricType: "TOTAL",
		// The §8.2 example names no layout, so it gets the moengage layout (SPEC §13.2), where its §8.7 column names
		// mean the moengage columns of the same Stats fields.
		AttributionType: "VIEW_THROUGH", Layout: LayoutMoEngage, Columns: map[string][]string{"PUSH": {"Sent", "Impressions", "Clicks", "CTR"}},
		Separator: ",", Compression: "zip", Schedule: &Schedule{Type: "weekly", At: "06:00", Weekdays: []string{"MON"}},
		WebhookURL: "https://hooks.example.com/campaignstats",
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("definition (-want +got):\n%s", diff)
	}
	if d.FileStem() != "Weekly_Push_Report" {
		t.Fatalf("stem %q", d.FileStem())
	}
}

func TestParseDefinitionDefaultsAndNormalisation(t *testing.T) {
	d, err := ParseDefinition([]byte(`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-03-31"},
		"campaigns":{"channels":["web push","e-mail","PUSH"],"delivery_types":["event trigger"],"tags":["Sale","sale"],"ids":["a","b","a"]},
		"split_by":["variation","platform","variation"],"metric_type":"unique","attribution_type":"click_through","layout":"rows",
		"columns":{"email":["sent","CTOR","Revenue"]},"compression":"gzip","granularity":"daily",
		"schedule":{"type":"weekly","at":"23:59","weekdays":["sun","mon","SUN"]},"webhook_url":null,"unknown":1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Definition{
		Name: "R",
		Campaigns: &CampaignFilter{IDs: []string{"a", "b"}, Channels: []string{"PUSH", "EMAIL"}, Tags: []string{"Sale"},
			DeliveryTypes: []string{"EVENT_TRIGGERED"}, IncludeChildren: true},
		Range: Range{StartDate: "2025-01-01", EndDate: "2025-03-31"}, Granularity: "daily", SplitBy: []string{"platform", "variation"},
		MetricType: "UNIQUE", AttributionType: "CLICK_THROUGH", Layout: LayoutRows, Columns: map[string][]string{"EMAIL": {"Sent", "CTOR", "Revenue"}},
		Separator: ",", Compression: "gzip", Schedule: &Schedule{Type: "weekly", At: "23:59", Weekdays: []string{"MON", "SUN"}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("definition (-want +got):\n%s", diff)
	}
	d, err = ParseDefinition([]byte(`{"name":"Minimal","range":{"last_days":90}}`))
	if err != nil {
		t.Fatal(err)
	}
	want = Definition{Name: "Minimal", Range: Range{LastDays: 90}, Granularity: "aggregate", SplitBy: []string{}, MetricType: "TOTAL",
		AttributionType: "VIEW_THROUGH", Layout: LayoutMoEngage, Separator: ",", Compression: "zip",
		Campaigns: &CampaignFilter{IDs: []string{}, Channels: []string{}, Tags: []string{}, DeliveryTypes: []string{}, IncludeChildren: true}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}
	// The stored form round-trips.
	raw, _ := json.Marshal(d)
	var back Definition
	if err := json.Unmarshal(raw, &back); err != nil || !cmp.Equal(d, back) {
		t.Fatalf("round trip: %s %v", raw, err)
	}
}

func TestParseDefinitionErrors(t *testing.T) {
	base := func(extra string) string {
		return `{"name":"R","range":{"last_days":7}` + extra + `}`
	}
	cases := []struct {
		body string
		code string
		desc string
	}{
		{`[1]`, "malformed_json", "request body - could not be parsed as a JSON object"},
		{`{"name":"R"`, "malformed_json", "request body - could not be parsed as a JSON object"},
		{`{"name":"R"} {}`, "malformed_json", "request body - could not be parsed as a JSON object"},
		{"{\"name\":\"\xff\"}", "malformed_json", "request body - could not be parsed as a JSON object"},
		{`{}`, "missing_field", "name - is required"},
		{`{"name":null}`, "missing_field", "name - is required"},
		{`{"name":5}`, "invalid_type", "name - must be a string"},
		{`{"name":""}`, "invalid_field_value", "name - must start with a letter and contain only letters, digits, spaces, '_' and '-'"},
		{`{"name":"1st report"}`, "invalid_field_value", "name - must start with a letter and contain only letters, digits, spaces, '_' and '-'"},
		{`{"name":"Bad/Name"}`, "invalid_field_value", "name - must start with a letter and contain only letters, digits, spaces, '_' and '-'"},
		{`{"name":"` + strings.Repeat("a", 128) + `"}`, "invalid_field_value", "name - must be fewer than 128 characters"},
		{`{"name":"R","campaigns":[]}`, "invalid_type", "campaigns - must be an object"},
		{`{"name":"R","campaigns":{"ids":"c1"}}`, "invalid_type", "campaigns.ids - must be an array of strings"},
		{`{"name":"R","campaigns":{"ids":["c1",""]}}`, "invalid_field_value", "campaigns.ids - every element must be a non-empty string"},
		{`{"name":"R","campaigns":{"ids":[` + manyIDs(1001) + `]}}`, "invalid_field_value", "campaigns.ids - must contain at most 1000 campaign IDs"},
		{`{"name":"R","campaigns":{"channels":["PUSH","TELEGRAM"]}}`, "invalid_field_value", "campaigns.channels - every element must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS"},
		{`{"name":"R","campaigns":{"tags":[1]}}`, "invalid_field_value", "campaigns.tags - every element must be a non-empty string"},
		{`{"name":"R","campaigns":{"delivery_types":["GENERAL"]}}`, "invalid_field_value", "campaigns.delivery_types - every element must be one of ONE_TIME, PERIODIC, EVENT_TRIGGERED, BUSINESS_EVENT_TRIGGERED, DEVICE_TRIGGERED, LOCATION_TRIGGERED, BROADCAST_LIVE_ACTIVITY, API_TRIGGERED"},
		{`{"name":"R","campaigns":{"include_children":"yes"}}`, "invalid_type", "campaigns.include_children - must be a boolean"},
		{`{"name":"R"}`, "missing_field", "range - is required"},
		{`{"name":"R","range":"last week"}`, "invalid_type", "range - must be an object"},
		{`{"name":"R","range":{}}`, "invalid_field_value", "range - must contain either start_date and end_date or last_days"},
		{`{"name":"R","range":{"last_days":7,"start_date":"2025-01-01"}}`, "invalid_field_value", "range - must contain either start_date and end_date or last_days"},
		{`{"name":"R","range":{"last_days":"7"}}`, "invalid_type", "range.last_days - must be an integer"},
		{`{"name":"R","range":{"last_days":0}}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
		{`{"name":"R","range":{"last_days":91}}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
		{`{"name":"R","range":{"last_days":90.0000000000000001}}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
		{`{"name":"R","range":{"last_days":1e400}}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
		{`{"name":"R","range":{"last_days":1.5}}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
		{`{"name":"R","range":{"end_date":"2025-01-01"}}`, "missing_field", "range.start_date - is required"},
		{`{"name":"R","range":{"start_date":"2025-01-01"}}`, "missing_field", "range.end_date - is required"},
		{`{"name":"R","range":{"start_date":20250101,"end_date":"2025-01-01"}}`, "invalid_type", "range.start_date - must be a string"},
		{`{"name":"R","range":{"start_date":"2025-02-30","end_date":"2025-03-01"}}`, "invalid_field_value", "range.start_date - must be a date in YYYY-MM-DD format"},
		{`{"name":"R","range":{"start_date":"2025-03-01","end_date":"2025-02-28"}}`, "invalid_field_value", "range.end_date - must not be before range.start_date"},
		{`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-04-01"}}`, "invalid_field_value", "range.end_date - must be at most 89 days after range.start_date (90 days inclusive)"},
		{base(`,"granularity":"weekly"`), "invalid_field_value", "granularity - must be one of aggregate, daily"},
		{base(`,"granularity":1`), "invalid_type", "granularity - must be a string"},
		// Only metric_type, attribution_type and weekdays are case-insensitive (SPEC §8.2); the other enums are exact.
		{base(`,"granularity":"DAILY"`), "invalid_field_value", "granularity - must be one of aggregate, daily"},
		{base(`,"granularity":" daily"`), "invalid_field_value", "granularity - must be one of aggregate, daily"},
		{base(`,"split_by":["Platform"]`), "invalid_field_value", "split_by - every element must be one of platform, locale, variation"},
		{base(`,"layout":"Rows"`), "invalid_field_value", "layout - must be one of moengage, rows"},
		{base(`,"compression":"GZIP"`), "invalid_field_value", "compression - must be one of zip, gzip"},
		{base(`,"schedule":{"type":"Daily","at":"06:00"}`), "invalid_field_value", "schedule.type - must be one of once, daily, weekly, monthly"},
		{base(`,"split_by":"platform"`), "invalid_type", "split_by - must be an array of strings"},
		{base(`,"split_by":["platform","country"]`), "invalid_field_value", "split_by - every element must be one of platform, locale, variation"},
		{base(`,"metric_type":"SUM"`), "invalid_field_value", "metric_type - must be one of TOTAL, UNIQUE"},
		{base(`,"attribution_type":"LAST_TOUCH"`), "invalid_field_value", "attribution_type - must be one of VIEW_THROUGH, CLICK_THROUGH, IN_SESSION, TOTAL_CONVERSIONS, CLICK_CONVERSIONS"},
		{base(`,"columns":["Sent"]`), "invalid_type", "columns - must be an object"},
		{base(`,"columns":{"FAX":["Sent"]}`), "invalid_field_value", `columns - "FAX" is not a channel (one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS)`},
		{base(`,"columns":{"PUSH":"Sent"}`), "invalid_type", "columns.PUSH - must be an array of strings"},
		{base(`,"columns":{"PUSH":[]}`), "invalid_field_value", "columns.PUSH - must not be empty"},
		{base(`,"layout":"rows","columns":{"IN_APP":["Sent"]}`), "invalid_field_value", `columns.IN_APP - unknown column "Sent" for IN_APP (allowed: Impression, Click, Closed Click, CTR, Conversions, Converted Users, CVR, Revenue)`},
		{base(`,"columns":{"IN_APP":["Sent"]}`), "invalid_field_value", `columns.IN_APP - unknown column "Sent" for IN_APP (allowed: Impressions, Unique Impressions, Clicks, Unique Clicks, Closed Clicks, CTR, Goals)`},
		{base(`,"columns":{"EMAIL":["Sent Rate"]}`), "invalid_field_value", `columns.EMAIL - unknown column "Sent Rate" for EMAIL (allowed: Attempted, Total Sent, Sent, Total Delivered, Delivered, Delivery Rate, Total Open, Unique Opens, Open Rate, Total Clicks, Unique Clicks, CTR, CTOR, Hard Bounces, Soft Bounces, Bounces, Bounce Rate, Unsubscribes, Unsubscribe Rate, Complaints, Complaints Rate, Failed, Failure Rate, Goals)`},
		{base(`,"layout":"wide"`), "invalid_field_value", "layout - must be one of moengage, rows"},
		{base(`,"layout":1`), "invalid_type", "layout - must be a string"},
		{base(`,"columns":{"PUSH":["Sent"],"push":["Click"]}`), "invalid_field_value", "columns - channel PUSH is listed more than once"},
		{base(`,"separator":"\t"`), "invalid_field_value", "separator - must be one of , | ; :"},
		{base(`,"separator":44`), "invalid_type", "separator - must be a string"},
		{base(`,"compression":"tar"`), "invalid_field_value", "compression - must be one of zip, gzip"},
		{base(`,"schedule":"daily"`), "invalid_type", "schedule - must be an object"},
		{base(`,"schedule":{}`), "missing_field", "schedule.type - is required"},
		{base(`,"schedule":{"type":"hourly","at":"06:00"}`), "invalid_field_value", "schedule.type - must be one of once, daily, weekly, monthly"},
		{base(`,"schedule":{"type":"daily"}`), "missing_field", "schedule.at - is required"},
		{base(`,"schedule":{"type":"daily","at":"6:00"}`), "invalid_field_value", "schedule.at - must be a time in HH:MM 24-hour format"},
		{base(`,"schedule":{"type":"daily","at":"24:00"}`), "invalid_field_value", "schedule.at - must be a time in HH:MM 24-hour format"},
		{base(`,"schedule":{"type":"daily","at":600}`), "invalid_type", "schedule.at - must be a string"},
		{base(`,"schedule":{"type":"daily","at":"06:00","date":"2025-03-01"}`), "invalid_field_value", "schedule.date - is only allowed for once schedules"},
		{base(`,"schedule":{"type":"once","date":"03/01/2025"}`), "invalid_field_value", "schedule.date - must be a date in YYYY-MM-DD format"},
		{base(`,"schedule":{"type":"weekly","at":"06:00"}`), "missing_field", "schedule.weekdays - is required"},
		{base(`,"schedule":{"type":"weekly","at":"06:00","weekdays":[]}`), "invalid_field_value", "schedule.weekdays - must not be empty"},
		{base(`,"schedule":{"type":"weekly","at":"06:00","weekdays":["MONDAY"]}`), "invalid_field_value", "schedule.weekdays - every element must be one of MON, TUE, WED, THU, FRI, SAT, SUN"},
		{base(`,"schedule":{"type":"daily","at":"06:00","weekdays":["MON"]}`), "invalid_field_value", "schedule.weekdays - is only allowed for weekly schedules"},
		{base(`,"schedule":{"type":"monthly","at":"06:00"}`), "missing_field", "schedule.day_of_month - is required"},
		{base(`,"schedule":{"type":"monthly","at":"06:00","day_of_month":32}`), "invalid_field_value", "schedule.day_of_month - must be an integer between 1 and 31"},
		{base(`,"schedule":{"type":"monthly","at":"06:00","day_of_month":"1"}`), "invalid_type", "schedule.day_of_month - must be an integer"},
		{base(`,"schedule":{"type":"weekly","at":"06:00","weekdays":["MON"],"day_of_month":1}`), "invalid_field_value", "schedule.day_of_month - is only allowed for monthly schedules"},
		{base(`,"webhook_url":"ftp://example.com/x"`), "invalid_field_value", "webhook_url - must be an absolute http or https URL without user info"},
		{base(`,"webhook_url":"/relative"`), "invalid_field_value", "webhook_url - must be an absolute http or https URL without user info"},
		{base(`,"webhook_url":"https://user:pw@example.com/"`), "invalid_field_value", "webhook_url - must be an absolute http or https URL without user info"},
		{base(`,"webhook_url":"https://example.com/` + strings.Repeat("a", 2048) + `"`), "invalid_field_value", "webhook_url - must be at most 2048 characters"},
		{base(`,"webhook_url":true`), "invalid_type", "webhook_url - must be a string"},
		{base(`,"csv_formula_guard":"true"`), "invalid_type", "csv_formula_guard - must be a boolean"},
		{base(`,"csv_formula_guard":1`), "invalid_type", "csv_formula_guard - must be a boolean"},
		{base(`,"csv_formula_guard":{}`), "invalid_type", "csv_formula_guard - must be a boolean"},
		{base(`,"webhook_url":7,"csv_formula_guard":"x"`), "invalid_type", "webhook_url - must be a string"},
		// The first violation in table order wins.
		{`{"name":"R","range":{"last_days":0},"granularity":"x"}`, "invalid_field_value", "range.last_days - must be an integer between 1 and 90"},
	}
	for _, c := range cases {
		_, err := ParseDefinition([]byte(c.body))
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: got %v, want %s", c.body, err, c.desc)
		}
		if ie.Code != c.code || ie.Description != c.desc {
			t.Errorf("%.80s:\n got  %s (%s)\n want %s (%s)", c.body, ie.Description, ie.Code, c.desc, c.code)
		}
	}
	// Accepted edge values.
	for _, body := range []string{
		`{"name":"` + strings.Repeat("a", 127) + `","range":{"last_days":1}}`,
		`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-03-31"}}`, // 90 days inclusive
		`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-01-01"}}`,
		`{"name":"R","range":{"last_days":90.0}}`,
		base(`,"schedule":{"type":"once"}`),
		base(`,"schedule":{"type":"monthly","at":"00:00","day_of_month":31}`),
		base(`,"separator":"|"`),
		base(`,"webhook_url":"http://127.0.0.1:9000/hook"`),
		base(`,"campaigns":{"ids":[` + manyIDs(1000) + `]}`),
	} {
		if _, err := ParseDefinition([]byte(body)); err != nil {
			t.Errorf("%.80s: %v", body, err)
		}
	}
}

func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = `"c` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + itoa(i) + `"`
	}
	return strings.Join(ids, ",")
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestParseDefinitionCSVFormulaGuard: csv_formula_guard is an optional boolean, false when absent or null, stored
// and returned with the definition when true (absent when false: SPEC §8.2's fields only).
func TestParseDefinitionCSVFormulaGuard(t *testing.T) {
	for body, want := range map[string]bool{
		`{"name":"R","range":{"last_days":7}}`:                           false,
		`{"name":"R","range":{"last_days":7},"csv_formula_guard":null}`:  false,
		`{"name":"R","range":{"last_days":7},"csv_formula_guard":false}`: false,
		`{"name":"R","range":{"last_days":7},"csv_formula_guard":true}`:  true,
	} {
		d, err := ParseDefinition([]byte(body))
		if err != nil || d.CSVFormulaGuard != want {
			t.Errorf("%s: guard %v, err %v; want %v", body, d.CSVFormulaGuard, err, want)
			continue
		}
		stored, _ := json.Marshal(d)
		var back Definition
		if err := json.Unmarshal(stored, &back); err != nil || back.CSVFormulaGuard != want ||
			strings.Contains(string(stored), `"csv_formula_guard":true`) != want || strings.Contains(string(stored), `"csv_formula_guard":false`) {
			t.Errorf("%s: stored as %s", body, stored)
		}
	}
}
