// Package catalog validates and applies campaign catalog writes (SPEC §3.12).
package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// FieldError is a validation failure: Attribute is the JSON path, Message the text.
type FieldError struct {
	Attribute string
	Message   string
}

func (e *FieldError) Error() string { return e.Attribute + ": " + e.Message }

func fieldErr(attr, format string, args ...any) *FieldError {
	return &FieldError{Attribute: attr, Message: fmt.Sprintf(format, args...)}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// ValidID reports whether s is a valid campaign id (SPEC §2.2).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// TimeParser parses §3.7 time values into Unix milliseconds.
type TimeParser func(raw json.RawMessage) (int64, error)

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func str(raw json.RawMessage, attr string, maxLen int) (string, *FieldError) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(attr, "%s must be a string", attr)
	}
	if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
		return "", fieldErr(attr, "%s must be at most %d characters", attr, maxLen)
	}
	return s, nil
}

// ParsePut validates a PUT body (SPEC §3.12.1) for campaign pathID, apart from the rules that need the catalog.
func ParsePut(body []byte, pathID string, parseTime TimeParser) (domain.CampaignFields, *FieldError) {
	var f domain.CampaignFields
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return f, fieldErr("body", "body should be a JSON object")
	}
	if raw := m["campaign_id"]; !isNull(raw) {
		s, e := str(raw, "campaign_id", 0)
		if e != nil {
			return f, e
		}
		if s != pathID {
			return f, fieldErr("campaign_id", "campaign_id does not match the path")
		}
	}
	if raw := m["campaign_name"]; !isNull(raw) {
		s, e := str(raw, "campaign_name", 256)
		if e != nil {
			return f, e
		}
		f.Name = &s
	}
	if raw := m["channel"]; !isNull(raw) {
		s, _ := str(raw, "channel", 0)
		ch, ok := domain.ParseChannel(s)
		if !ok {
			return f, fieldErr("channel", "channel must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")
		}
		f.Channel = &ch
	}
	if raw := m["campaign_delivery_type"]; !isNull(raw) {
		s, e := str(raw, "campaign_delivery_type", 0)
		if e != nil {
			return f, e
		}
		dt, ok := domain.ParseDeliveryType(s)
		if !ok {
			return f, fieldErr("campaign_delivery_type", "campaign_delivery_type must be one of ONE_TIME, PERIODIC, EVENT_TRIGGERED, BUSINESS_EVENT_TRIGGERED, DEVICE_TRIGGERED, LOCATION_TRIGGERED, BROADCAST_LIVE_ACTIVITY, API_TRIGGERED")
		}
		f.DeliveryType = &dt
	}
	// parent_campaign_id is "string or null" (SPEC §3.12.1): null or "" is an explicit "no parent", which detaches a
	// child from the parent its events name; only an absent member falls back to the inferred parent.
	if raw, ok := m["parent_campaign_id"]; ok {
		s := ""
		if !isNull(raw) {
			var e *FieldError
			if s, e = str(raw, "parent_campaign_id", 0); e != nil {
				return f, e
			}
		}
		if s != "" {
			if !ValidID(s) {
				return f, fieldErr("parent_campaign_id", "parent_campaign_id is invalid")
			}
			if s == pathID {
				return f, fieldErr("parent_campaign_id", "parent_campaign_id must differ from campaign_id")
			}
		}
		f.ParentID = &s
	}
	if raw := m["campaign_status"]; !isNull(raw) {
		s, e := str(raw, "campaign_status", 0)
		if e != nil {
			return f, e
		}
		up := strings.ToUpper(strings.TrimSpace(s))
		ok := false
		for _, st := range domain.CampaignStatuses() {
			ok = ok || st == up
		}
		if !ok {
			return f, fieldErr("campaign_status", "campaign_status must be one of %s", strings.Join(domain.CampaignStatuses(), ", "))
		}
		f.Status = &up
	}
	if raw := m["campaign_tags"]; !isNull(raw) {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			return f, fieldErr("campaign_tags", "campaign_tags must be an array of strings")
		}
		if len(tags) > 50 {
			return f, fieldErr("campaign_tags", "campaign_tags must have at most 50 items")
		}
		for i, t := range tags {
			if n := utf8.RuneCountInString(t); n < 1 || n > 128 {
				return f, fieldErr(fmt.Sprintf("campaign_tags[%d]", i), "campaign_tags items must be 1 to 128 characters")
			}
		}
		if tags == nil {
			tags = []string{}
		}
		f.Tags = &tags
	}
	for _, k := range []struct {
		name string
		dst  **string
	}{{"campaign_team", &f.Team}, {"created_by", &f.CreatedBy}} {
		if raw := m[k.name]; !isNull(raw) {
			s, e := str(raw, k.name, 256)
			if e != nil {
				return f, e
			}
			*k.dst = &s
		}
	}
	if raw := m["platform"]; !isNull(raw) {
		var ps []string
		if err := json.Unmarshal(raw, &ps); err != nil {
			return f, fieldErr("platform", "platform must be an array of ANDROID, IOS, WEB")
		}
		out := []string{}
		for _, p := range ps {
			up := strings.ToUpper(strings.TrimSpace(p))
			if up != "ANDROID" && up != "IOS" && up != "WEB" {
				return f, fieldErr("platform", "platform must be an array of ANDROID, IOS, WEB")
			}
			out = append(out, up)
		}
		f.Platform = &out
	}
	if raw := m["campaign_start_time"]; !isNull(raw) {
		ms, err := parseTime(raw)
		if err != nil {
			return f, fieldErr("campaign_start_time", "campaign_start_time is not a valid epoch or ISO-8601 time")
		}
		f.StartTimeMS = &ms
	}
	if raw := m["conversion_goal_details"]; !isNull(raw) {
		g, e := parseGoals(raw)
		if e != nil {
			return f, e
		}
		f.Goals = g
	}
	if raw := m["control_group_details"]; !isNull(raw) {
		cg, e := parseControlGroup(raw)
		if e != nil {
			return f, e
		}
		f.ControlGroup = cg
	}
	return f, nil
}

func parseGoals(raw json.RawMessage) (*domain.GoalDetails, *FieldError) {
	const base = "conversion_goal_details"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fieldErr(base, "conversion_goal_details must be an object")
	}
	g := &domain.GoalDetails{Goals: []domain.Goal{}}
	if w := m["attribution_window_in_hours"]; !isNull(w) {
		// Exactly: 36.0000000000000001 is a fraction, not 36. The range is checked against the effective channel.
		v, _, ok := jsonscan.Integer(w, math.MinInt64, math.MaxInt64)
		if !ok {
			return nil, fieldErr(base+".attribution_window_in_hours", "attribution_window_in_hours must be an integer")
		}
		n := int(v)
		g.AttributionWindowHours = &n
	}
	if gs := m["goals"]; !isNull(gs) {
		var items []json.RawMessage
		if err := json.Unmarshal(gs, &items); err != nil {
			return nil, fieldErr(base+".goals", "goals must be an array")
		}
		if len(items) > 10 {
			return nil, fieldErr(base+".goals", "goals must have at most 10 items")
		}
		names := map[string]bool{}
		primaries := 0
		for i, it := range items {
			attr := fmt.Sprintf("%s.goals[%d]", base, i)
			var gm map[string]json.RawMessage
			if err := json.Unmarshal(it, &gm); err != nil || gm == nil {
				return nil, fieldErr(attr, "goals items must be objects")
			}
			var goal domain.Goal
			if isNull(gm["goal_name"]) {
				return nil, fieldErr(attr+".goal_name", "goal_name is required")
			}
			s, e := str(gm["goal_name"], attr+".goal_name", 128)
			if e != nil {
				return nil, e
			}
			if s == "" {
				return nil, fieldErr(attr+".goal_name", "goal_name is required")
			}
			if names[s] {
				return nil, fieldErr(attr+".goal_name", "goal_name must be unique in the campaign")
			}
			names[s] = true
			goal.Name = s
			if isNull(gm["goal_event_name"]) {
				return nil, fieldErr(attr+".goal_event_name", "goal_event_name is required")
			}
			if s, e = str(gm["goal_event_name"], attr+".goal_event_name", 256); e != nil {
				return nil, e
			}
			if s == "" {
				return nil, fieldErr(attr+".goal_event_name", "goal_event_name is required")
			}
			goal.EventName = s
			if p := gm["is_primary_goal"]; !isNull(p) {
				if err := json.Unmarshal(p, &goal.IsPrimary); err != nil {
					return nil, fieldErr(attr+".is_primary_goal", "is_primary_goal must be a boolean")
				}
				if goal.IsPrimary {
					primaries++
				}
				if primaries > 1 {
					return nil, fieldErr(attr+".is_primary_goal", "at most one goal can be primary")
				}
			}
			for _, k := range []struct {
				name string
				dst  *string
			}{{"revenue_attribute", &goal.RevenueAttribute}, {"revenue_currency", &goal.RevenueCurrency}} {
				if r := gm[k.name]; !isNull(r) {
					if *k.dst, e = str(r, attr+"."+k.name, 0); e != nil {
						return nil, e
					}
				}
			}
			if fr := gm["goal_event_attribute"]; !isNull(fr) {
				filter, e := parseFilter(fr, attr+".goal_event_attribute")
				if e != nil {
					return nil, e
				}
				goal.Filter = filter
			}
			g.Goals = append(g.Goals, goal)
		}
	}
	return g, nil
}

// Conditions lists the goal filter conditions and their aliases (SPEC §3.12.3) mapped to canonical names.
func Conditions() map[string]string {
	return map[string]string{
		"is": "is", "equals": "is", "eq": "is", "contains": "contains", "starts_with": "starts_with",
		"ends_with": "ends_with", "in": "in", "exists": "exists", "greater_than": "greater_than", "gt": "greater_than",
		"greater_than_or_equal": "greater_than_or_equal", "gte": "greater_than_or_equal", "less_than": "less_than",
		"lt": "less_than", "less_than_or_equal": "less_than_or_equal", "lte": "less_than_or_equal", "between": "between",
	}
}

func parseFilter(raw json.RawMessage, attr string) (*domain.GoalFilter, *FieldError) {
	var f domain.GoalFilter
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fieldErr(attr, "goal_event_attribute must be an object")
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fieldErr(attr, "goal_event_attribute is invalid")
	}
	if f.Name == "" {
		return nil, fieldErr(attr+".name", "name is required")
	}
	cond, ok := Conditions()[strings.ToLower(strings.TrimSpace(f.Condition))]
	if !ok {
		return nil, fieldErr(attr+".condition", "condition %q is not supported", f.Condition)
	}
	f.Condition = cond
	return &f, nil
}

func parseControlGroup(raw json.RawMessage) (*domain.ControlGroupDetails, *FieldError) {
	const base = "control_group_details"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fieldErr(base, "control_group_details must be an object")
	}
	cg := &domain.ControlGroupDetails{}
	for _, k := range []struct {
		name string
		dst  *bool
	}{{"is_campaign_control_group_enabled", &cg.CampaignEnabled}, {"is_global_control_group_enabled", &cg.GlobalEnabled}} {
		if r := m[k.name]; !isNull(r) {
			if err := json.Unmarshal(r, k.dst); err != nil {
				return nil, fieldErr(base+"."+k.name, "%s must be a boolean", k.name)
			}
		}
	}
	if r := m["campaign_control_group_percentage"]; !isNull(r) {
		if err := json.Unmarshal(r, &cg.Percentage); err != nil || cg.Percentage < 0 || cg.Percentage > 100 {
			return nil, fieldErr(base+".campaign_control_group_percentage", "campaign_control_group_percentage must be a number between 0 and 100")
		}
	}
	return cg, nil
}

// Apply checks the rules of a PUT that need the catalog and returns the records to write: the campaign itself and,
// when its parent is unknown, an empty placeholder parent. created is true when the campaign did not exist. The
// records' times are now to the millisecond, as stores keep them, so that a response shows what a later read does.
func Apply(view *domain.CatalogView, id string, f domain.CampaignFields, now time.Time) (records []domain.Campaign, created bool, ferr *FieldError) {
	now = now.Truncate(time.Millisecond)
	cur, exists := view.Get(id)
	var c domain.Campaign
	if exists {
		c = *cur
	} else {
		c = domain.Campaign{ID: id, CreatedAt: now}
	}
	c.Explicit, c.HasExplicit, c.UpdatedAt = f, true, now
	if p := c.DeclaredParent(); p != "" {
		if len(view.Children(id)) > 0 {
			return nil, false, fieldErr("parent_campaign_id", "campaign has child campaigns and cannot have a parent")
		}
		if pc, ok := view.Get(p); ok && view.Parent(p) != "" {
			_ = pc
			return nil, false, fieldErr("parent_campaign_id", "parent_campaign_id refers to a child campaign")
		}
	}
	if f.Goals != nil && f.Goals.AttributionWindowHours != nil {
		// The channel the campaign has once written: the PUT replaces every explicit detail (SPEC §3.12).
		ch := view.ChannelOf(&c)
		maxW := ch.MaxAttributionWindowHours()
		if w := *f.Goals.AttributionWindowHours; w < 1 || w > maxW {
			return nil, false, fieldErr("conversion_goal_details.attribution_window_in_hours",
				"attribution_window_in_hours must be between 1 and %d for %s", maxW, ch)
		}
	}
	records = append(records, c)
	if f.ParentID != nil && *f.ParentID != "" {
		if _, ok := view.Get(*f.ParentID); !ok {
			records = append(records, domain.Campaign{ID: *f.ParentID, CreatedAt: now, UpdatedAt: now})
		}
	}
	return records, !exists, nil
}
