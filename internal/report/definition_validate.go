package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// Validation error codes (SPEC §5.18).
const (
	CodeMalformedJSON = "malformed_json"
	CodeMissingField  = "missing_field"
	CodeInvalidType   = "invalid_type"
	CodeInvalidValue  = "invalid_field_value"
)

// InvalidError is a report definition that violates SPEC §8.2. Description is the client-facing text
// "<field> - <reason>"; Code is the SPEC §5.18 code. The HTTP layer answers 400 "Invalid Field Value" with both.
type InvalidError struct {
	Code        string
	Description string
}

func (e *InvalidError) Error() string { return e.Description }

func invalid(code, field, reason string) *InvalidError {
	return &InvalidError{Code: code, Description: field + " - " + reason}
}

func missing(field string) *InvalidError { return invalid(CodeMissingField, field, "is required") }

func wrongType(field, reason string) *InvalidError { return invalid(CodeInvalidType, field, reason) }

func badValue(field, reason string) *InvalidError { return invalid(CodeInvalidValue, field, reason) }

// Limits of SPEC §8.2.
const (
	maxNameLength     = 127 // "fewer than 128 characters"
	maxCampaignIDs    = 1000
	maxRangeDays      = 90
	maxWebhookURLSize = 2048
)

var (
	namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _-]*$`)
	datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	timePattern = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

var (
	attributionTypeNames = []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}
	splitDimensions      = []string{"platform", "locale", "variation"}
	separators           = []string{",", "|", ";", ":"}
	weekdayNames         = []string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}
	scheduleTypes        = []string{"once", "daily", "weekly", "monthly"}
)

// metricColumns are the metric columns of SPEC §8.7 per channel, in default order.
var metricColumns = map[domain.Channel][]string{
	domain.ChannelPush: {"Attempted", "Sent", "Failed", "Impression", "Click", "CTR", "Delivery Rate", "Sent Rate", "Failure Rate"},
	domain.ChannelEmail: {"Attempted", "Sent", "Failed", "Delivered", "Opened", "Click", "Unsubscribe", "Complaint", "Hard Bounce",
		"Soft Bounce", "Bounced", "CTR", "Open Rate", "Delivery Rate", "CTOR", "Unsub Rate", "Bounce Rate", "Complaints Rate",
		"Sent Rate", "Failure Rate"},
	domain.ChannelSMS: {"Attempted", "Sent", "Failed", "Delivered", "Click", "CTR", "Delivery Rate", "Sent Rate", "Failure Rate"},
	domain.ChannelWhatsApp: {"Attempted", "Sent", "Failed", "Delivered", "Read", "Click", "CTR", "Delivery Rate", "Read Rate",
		"Sent Rate", "Failure Rate"},
	domain.ChannelInApp:      {"Impression", "Click", "Closed Click", "CTR"},
	domain.ChannelOnSite:     {"Impression", "Click", "Closed Click", "CTR"},
	domain.ChannelCards:      {"Sent", "Delivered", "Impression", "Click", "CTR", "Delivery Rate"},
	domain.ChannelConnectors: {"Sent"},
	domain.ChannelFacebook:   {"Successfully Synced"},
	domain.ChannelGoogleAds:  {"Successfully Synced"},
}

// conversionColumns may be listed in `columns` for every channel (SPEC §8.7).
var conversionColumns = []string{"Conversions", "Converted Users", "CVR", "Revenue"}

// AllowedColumns returns the column names a definition's `columns` may list for channel c: the channel's metric
// columns of SPEC §8.7 in their default order, then the four conversion columns. Nil for an unknown channel.
func AllowedColumns(c domain.Channel) []string {
	if _, ok := metricColumns[c]; !ok {
		return nil
	}
	return DefaultColumns(c)
}

// object is a decoded JSON object whose members are checked one by one.
type object map[string]json.RawMessage

func (o object) present(name string) bool {
	raw, ok := o[name]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// decodeObject decodes raw as one JSON object; ok is false when it is not one (or has trailing data).
func decodeObject(raw []byte) (object, bool) {
	var o object
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&o); err != nil || o == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return o, true
}

// objectKeys returns the member names of a JSON object in document order.
func objectKeys(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

func (o object) str(field, name string) (string, *InvalidError) {
	var s string
	if err := json.Unmarshal(o[name], &s); err != nil {
		return "", wrongType(field, "must be a string")
	}
	return s, nil
}

// stringArray decodes an array member; elements that are not non-empty strings are reported with elemReason.
func stringArray(raw json.RawMessage, field, elemReason string) ([]string, *InvalidError) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, wrongType(field, "must be an array of strings")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil || strings.TrimSpace(s) == "" {
			return nil, badValue(field, elemReason)
		}
		out = append(out, s)
	}
	return out, nil
}

// integer decodes an integral JSON number (10.0 accepted, "10" not) within [lo, hi], exactly: 90.0000000000000001
// is a fraction, not 90.
func integer(raw json.RawMessage, field string, lo, hi int) (int, *InvalidError) {
	v, isNumber, ok := jsonscan.Integer(raw, int64(lo), int64(hi))
	if !isNumber {
		return 0, wrongType(field, "must be an integer")
	}
	if !ok {
		return 0, badValue(field, fmt.Sprintf("must be an integer between %d and %d", lo, hi))
	}
	return int(v), nil
}

// oneOf matches s against values ignoring case and returns the canonical spelling.
func oneOf(s string, values []string) (string, bool) {
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(s), v) {
			return v, true
		}
	}
	return "", false
}

// exactlyOneOf matches s against values exactly: the enums the SPEC does not call case-insensitive.
func exactlyOneOf(s string, values []string) (string, bool) {
	return s, slices.Contains(values, s)
}

// enumField validates an optional enum member, matched by match (oneOf: ignoring case; exactlyOneOf).
func (o object) enumField(name string, values []string, def string, match func(string, []string) (string, bool)) (string, *InvalidError) {
	if !o.present(name) {
		return def, nil
	}
	s, e := o.str(name, name)
	if e != nil {
		return "", e
	}
	v, ok := match(s, values)
	if !ok {
		return "", badValue(name, "must be one of "+strings.Join(values, ", "))
	}
	return v, nil
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && datePattern.MatchString(s)
}

func channelNames() string {
	var names []string
	for _, c := range domain.AllChannels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

func deliveryTypeNames() string {
	return strings.Join([]string{"ONE_TIME", "PERIODIC", "EVENT_TRIGGERED", "BUSINESS_EVENT_TRIGGERED", "DEVICE_TRIGGERED",
		"LOCATION_TRIGGERED", "BROADCAST_LIVE_ACTIVITY", "API_TRIGGERED"}, ", ")
}

// ParseDefinition validates a POST/PUT body of the report-definition API (SPEC §8.2) and returns the definition
// with defaults filled in and values in canonical spelling. Fields are checked in the order of the SPEC §8.2 table
// and validation stops at the first violation, returned as *InvalidError. Unknown members are ignored; null
// means absent.
func ParseDefinition(body []byte) (Definition, error) {
	var d Definition
	if !utf8.Valid(body) {
		return d, invalid(CodeMalformedJSON, "request body", "could not be parsed as a JSON object")
	}
	o, ok := decodeObject(body)
	if !ok {
		return d, invalid(CodeMalformedJSON, "request body", "could not be parsed as a JSON object")
	}
	steps := []func(object, *Definition) *InvalidError{
		parseName, parseCampaigns, parseRange, parseGranularity, parseSplitBy, parseMetricType, parseAttributionType,
		parseLayout, parseColumns, parseSeparator, parseCompression, parseSchedule, parseWebhookURL,
		parseCSVFormulaGuard,
	}
	for _, step := range steps {
		if e := step(o, &d); e != nil {
			return Definition{}, e
		}
	}
	return d, nil
}

func parseName(o object, d *Definition) *InvalidError {
	if !o.present("name") {
		return missing("name")
	}
	s, e := o.str("name", "name")
	if e != nil {
		return e
	}
	if utf8.RuneCountInString(s) > maxNameLength {
		return badValue("name", "must be fewer than 128 characters")
	}
	if !namePattern.MatchString(s) {
		return badValue("name", "must start with a letter and contain only letters, digits, spaces, '_' and '-'")
	}
	d.Name = s
	return nil
}

// parseCampaigns fills d.Campaigns; an absent filter is stored as the empty filter (every campaign, children
// included).
func parseCampaigns(o object, d *Definition) *InvalidError {
	f := &CampaignFilter{IDs: []string{}, Channels: []string{}, Tags: []string{}, DeliveryTypes: []string{}, IncludeChildren: true}
	if !o.present("campaigns") {
		d.Campaigns = f
		return nil
	}
	c, ok := decodeObject(o["campaigns"])
	if !ok {
		return wrongType("campaigns", "must be an object")
	}
	if c.present("ids") {
		ids, e := stringArray(c["ids"], "campaigns.ids", "every element must be a non-empty string")
		if e != nil {
			return e
		}
		f.IDs = dedupe(ids, func(s string) string { return s })
		if len(f.IDs) > maxCampaignIDs {
			return badValue("campaigns.ids", fmt.Sprintf("must contain at most %d campaign IDs", maxCampaignIDs))
		}
	}
	if c.present("channels") {
		reason := "every element must be one of " + channelNames()
		vals, e := stringArray(c["channels"], "campaigns.channels", reason)
		if e != nil {
			return e
		}
		for _, v := range vals {
			ch, ok := domain.ParseChannel(v)
			if !ok {
				return badValue("campaigns.channels", reason)
			}
			f.Channels = append(f.Channels, string(ch))
		}
		f.Channels = dedupe(f.Channels, func(s string) string { return s })
	}
	if c.present("tags") {
		tags, e := stringArray(c["tags"], "campaigns.tags", "every element must be a non-empty string")
		if e != nil {
			return e
		}
		f.Tags = dedupe(tags, strings.ToLower)
	}
	if c.present("delivery_types") {
		reason := "every element must be one of " + deliveryTypeNames()
		vals, e := stringArray(c["delivery_types"], "campaigns.delivery_types", reason)
		if e != nil {
			return e
		}
		for _, v := range vals {
			dt, ok := domain.ParseDeliveryType(v)
			if !ok {
				return badValue("campaigns.delivery_types", reason)
			}
			f.DeliveryTypes = append(f.DeliveryTypes, string(dt))
		}
		f.DeliveryTypes = dedupe(f.DeliveryTypes, func(s string) string { return s })
	}
	if c.present("include_children") {
		if err := json.Unmarshal(c["include_children"], &f.IncludeChildren); err != nil {
			return wrongType("campaigns.include_children", "must be a boolean")
		}
	}
	d.Campaigns = f
	return nil
}

// dedupe keeps the first occurrence of every key(v).
func dedupe(vals []string, key func(string) string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if k := key(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

func parseRange(o object, d *Definition) *InvalidError {
	if !o.present("range") {
		return missing("range")
	}
	r, ok := decodeObject(o["range"])
	if !ok {
		return wrongType("range", "must be an object")
	}
	hasLast := r.present("last_days")
	hasFixed := r.present("start_date") || r.present("end_date")
	if hasLast == hasFixed {
		return badValue("range", "must contain either start_date and end_date or last_days")
	}
	if hasLast {
		n, e := integer(r["last_days"], "range.last_days", 1, maxRangeDays)
		if e != nil {
			return e
		}
		d.Range = Range{LastDays: n}
		return nil
	}
	var dates [2]string
	for i, name := range []string{"start_date", "end_date"} {
		field := "range." + name
		if !r.present(name) {
			return missing(field)
		}
		s, e := r.str(field, name)
		if e != nil {
			return e
		}
		if !validDate(s) {
			return badValue(field, "must be a date in YYYY-MM-DD format")
		}
		dates[i] = s
	}
	start, _ := time.Parse(time.DateOnly, dates[0])
	end, _ := time.Parse(time.DateOnly, dates[1])
	if end.Before(start) {
		return badValue("range.end_date", "must not be before range.start_date")
	}
	if end.Sub(start) > (maxRangeDays-1)*24*time.Hour {
		return badValue("range.end_date", fmt.Sprintf("must be at most %d days after range.start_date (%d days inclusive)", maxRangeDays-1, maxRangeDays))
	}
	d.Range = Range{StartDate: dates[0], EndDate: dates[1]}
	return nil
}

func parseGranularity(o object, d *Definition) (e *InvalidError) {
	d.Granularity, e = o.enumField("granularity", []string{"aggregate", "daily"}, "aggregate", exactlyOneOf)
	return e
}

func parseSplitBy(o object, d *Definition) *InvalidError {
	d.SplitBy = []string{}
	if !o.present("split_by") {
		return nil
	}
	reason := "every element must be one of " + strings.Join(splitDimensions, ", ")
	vals, e := stringArray(o["split_by"], "split_by", reason)
	if e != nil {
		return e
	}
	chosen := map[string]bool{}
	for _, v := range vals {
		dim, ok := exactlyOneOf(v, splitDimensions)
		if !ok {
			return badValue("split_by", reason)
		}
		chosen[dim] = true
	}
	// Stored in the fixed order of the identity columns (SPEC §8.7), duplicates collapsed.
	for _, dim := range splitDimensions {
		if chosen[dim] {
			d.SplitBy = append(d.SplitBy, dim)
		}
	}
	return nil
}

func parseMetricType(o object, d *Definition) (e *InvalidError) {
	d.MetricType, e = o.enumField("metric_type", []string{"TOTAL", "UNIQUE"}, "TOTAL", oneOf)
	return e
}

func parseAttributionType(o object, d *Definition) (e *InvalidError) {
	d.AttributionType, e = o.enumField("attribution_type", attributionTypeNames, "VIEW_THROUGH", oneOf)
	return e
}

// parseLayout reads `layout` (SPEC §13.2): moengage (the default) or rows, case-insensitive.
func parseLayout(o object, d *Definition) (e *InvalidError) {
	d.Layout, e = o.enumField("layout", []string{LayoutMoEngage, LayoutRows}, LayoutMoEngage, exactlyOneOf)
	return e
}

// parseColumns reads `columns`: per channel, column names of the definition's layout (AllowedColumns,
// MoEngageColumnNames), matched ignoring case and stored in their canonical spelling.
func parseColumns(o object, d *Definition) *InvalidError {
	if !o.present("columns") {
		return nil
	}
	cols, ok := decodeObject(o["columns"])
	if !ok {
		return wrongType("columns", "must be an object")
	}
	d.Columns = map[string][]string{}
	for _, key := range objectKeys(o["columns"]) {
		ch, ok := domain.ParseChannel(key)
		if !ok {
			return badValue("columns", fmt.Sprintf("%q is not a channel (one of %s)", key, channelNames()))
		}
		field := "columns." + key
		if _, dup := d.Columns[string(ch)]; dup {
			return badValue("columns", fmt.Sprintf("channel %s is listed more than once", ch))
		}
		if !cols.present(key) {
			return wrongType(field, "must be an array of strings")
		}
		names, e := stringArray(cols[key], field, "every element must be a non-empty string")
		if e != nil {
			return e
		}
		if len(names) == 0 {
			return badValue(field, "must not be empty")
		}
		allowed := AllowedColumns(ch)
		column := func(n string) (string, bool) { return oneOf(n, allowed) }
		if d.Layout == LayoutMoEngage {
			allowed = MoEngageColumnNames(ch)
			column = func(n string) (string, bool) { return moeColumnName(ch, n) }
		}
		var out []string
		for _, n := range names {
			c, ok := column(n)
			if !ok {
				return badValue(field, fmt.Sprintf("unknown column %q for %s (allowed: %s)", n, ch, strings.Join(allowed, ", ")))
			}
			out = append(out, c)
		}
		d.Columns[string(ch)] = dedupe(out, func(s string) string { return s })
	}
	return nil
}

func parseSeparator(o object, d *Definition) *InvalidError {
	d.Separator = ","
	if !o.present("separator") {
		return nil
	}
	s, e := o.str("separator", "separator")
	if e != nil {
		return e
	}
	v, ok := oneOf(s, separators)
	if !ok || s != v {
		return badValue("separator", "must be one of , | ; :")
	}
	d.Separator = v
	return nil
}

func parseCompression(o object, d *Definition) (e *InvalidError) {
	d.Compression, e = o.enumField("compression", []string{"zip", "gzip"}, "zip", exactlyOneOf)
	return e
}

func parseSchedule(o object, d *Definition) *InvalidError {
	if !o.present("schedule") {
		return nil
	}
	so, ok := decodeObject(o["schedule"])
	if !ok {
		return wrongType("schedule", "must be an object")
	}
	s := &Schedule{}
	if !so.present("type") {
		return missing("schedule.type")
	}
	typ, e := so.str("schedule.type", "type")
	if e != nil {
		return e
	}
	if s.Type, ok = exactlyOneOf(typ, scheduleTypes); !ok {
		return badValue("schedule.type", "must be one of "+strings.Join(scheduleTypes, ", "))
	}
	if so.present("at") {
		at, e := so.str("schedule.at", "at")
		if e != nil {
			return e
		}
		if !timePattern.MatchString(at) {
			return badValue("schedule.at", "must be a time in HH:MM 24-hour format")
		}
		s.At = at
	} else if s.Type != "once" {
		return missing("schedule.at")
	}
	if so.present("date") {
		if s.Type != "once" {
			return badValue("schedule.date", "is only allowed for once schedules")
		}
		date, e := so.str("schedule.date", "date")
		if e != nil {
			return e
		}
		if !validDate(date) {
			return badValue("schedule.date", "must be a date in YYYY-MM-DD format")
		}
		s.Date = date
	}
	if so.present("weekdays") {
		if s.Type != "weekly" {
			return badValue("schedule.weekdays", "is only allowed for weekly schedules")
		}
		reason := "every element must be one of " + strings.Join(weekdayNames, ", ")
		vals, e := stringArray(so["weekdays"], "schedule.weekdays", reason)
		if e != nil {
			return e
		}
		if len(vals) == 0 {
			return badValue("schedule.weekdays", "must not be empty")
		}
		chosen := map[string]bool{}
		for _, v := range vals {
			day, ok := oneOf(v, weekdayNames)
			if !ok {
				return badValue("schedule.weekdays", reason)
			}
			chosen[day] = true
		}
		for _, day := range weekdayNames {
			if chosen[day] {
				s.Weekdays = append(s.Weekdays, day)
			}
		}
	} else if s.Type == "weekly" {
		return missing("schedule.weekdays")
	}
	if so.present("day_of_month") {
		if s.Type != "monthly" {
			return badValue("schedule.day_of_month", "is only allowed for monthly schedules")
		}
		n, e := integer(so["day_of_month"], "schedule.day_of_month", 1, 31)
		if e != nil {
			return e
		}
		s.DayOfMonth = n
	} else if s.Type == "monthly" {
		return missing("schedule.day_of_month")
	}
	d.Schedule = s
	return nil
}

func parseWebhookURL(o object, d *Definition) *InvalidError {
	if !o.present("webhook_url") {
		return nil
	}
	s, e := o.str("webhook_url", "webhook_url")
	if e != nil {
		return e
	}
	if len(s) > maxWebhookURLSize {
		return badValue("webhook_url", fmt.Sprintf("must be at most %d characters", maxWebhookURLSize))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Hostname() == "" {
		return badValue("webhook_url", "must be an absolute http or https URL without user info")
	}
	d.WebhookURL = s
	return nil
}

// parseCSVFormulaGuard reads the optional boolean csv_formula_guard (default false).
func parseCSVFormulaGuard(o object, d *Definition) *InvalidError {
	if !o.present("csv_formula_guard") {
		return nil
	}
	if err := json.Unmarshal(o["csv_formula_guard"], &d.CSVFormulaGuard); err != nil {
		return wrongType("csv_formula_guard", "must be a boolean")
	}
	return nil
}
