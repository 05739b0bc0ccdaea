package domain

import (
	"encoding/json"
	"sort"
	"time"
)

// Campaign statuses (SPEC §2.2).
var campaignStatuses = []string{"SCHEDULED", "ACTIVE", "PAUSED", "SENT", "STOPPED", "RETIRED", "ARCHIVED"}

// CampaignStatuses returns the statuses of SPEC §2.2.
func CampaignStatuses() []string { return append([]string(nil), campaignStatuses...) }

// Goal is one conversion goal (SPEC §2.4, §3.12.1).
type Goal struct {
	Name             string      `json:"goal_name"`
	EventName        string      `json:"goal_event_name"`
	Filter           *GoalFilter `json:"goal_event_attribute"`
	IsPrimary        bool        `json:"is_primary_goal"`
	RevenueAttribute string      `json:"revenue_attribute,omitempty"`
	RevenueCurrency  string      `json:"revenue_currency,omitempty"`
}

// GoalFilter is a goal's attribute filter (SPEC §3.12.3).
type GoalFilter struct {
	Name            string          `json:"name"`
	Condition       string          `json:"condition"`
	Value           json.RawMessage `json:"value"`
	Value1          json.RawMessage `json:"value1"`
	Negate          bool            `json:"negate"`
	IsCaseSensitive bool            `json:"is_case_sensitive"`
	DataType        string          `json:"data_type,omitempty"`
}

// GoalDetails is a campaign's conversion_goal_details (SPEC §2.4).
type GoalDetails struct {
	AttributionWindowHours *int   `json:"attribution_window_in_hours"`
	Goals                  []Goal `json:"goals"`
}

// ControlGroupDetails is a campaign's control_group_details (SPEC §2.5).
type ControlGroupDetails struct {
	CampaignEnabled bool    `json:"is_campaign_control_group_enabled"`
	Percentage      float64 `json:"campaign_control_group_percentage"`
	GlobalEnabled   bool    `json:"is_global_control_group_enabled"`
}

// CampaignFields are the explicit details written by PUT (SPEC §3.12). A nil field is absent.
type CampaignFields struct {
	Name         *string              `json:"campaign_name,omitempty"`
	Channel      *Channel             `json:"channel,omitempty"`
	DeliveryType *DeliveryType        `json:"campaign_delivery_type,omitempty"`
	ParentID     *string              `json:"parent_campaign_id,omitempty"`
	Status       *string              `json:"campaign_status,omitempty"`
	Tags         *[]string            `json:"campaign_tags,omitempty"`
	Team         *string              `json:"campaign_team,omitempty"`
	CreatedBy    *string              `json:"created_by,omitempty"`
	Platform     *[]string            `json:"platform,omitempty"`
	StartTimeMS  *int64               `json:"campaign_start_time,omitempty"`
	Goals        *GoalDetails         `json:"conversion_goal_details,omitempty"`
	ControlGroup *ControlGroupDetails `json:"control_group_details,omitempty"`
}

// ExplicitFieldNames lists the SPEC field names that are set, in §2.2 order.
func (f CampaignFields) ExplicitFieldNames() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(f.Name != nil, "campaign_name")
	add(f.Channel != nil, "channel")
	add(f.DeliveryType != nil, "campaign_delivery_type")
	add(f.ParentID != nil, "parent_campaign_id")
	add(f.Status != nil, "campaign_status")
	add(f.Tags != nil, "campaign_tags")
	add(f.Team != nil, "campaign_team")
	add(f.CreatedBy != nil, "created_by")
	add(f.Platform != nil, "platform")
	add(f.StartTimeMS != nil, "campaign_start_time")
	add(f.Goals != nil, "conversion_goal_details")
	add(f.ControlGroup != nil, "control_group_details")
	return out
}

// Latest is a value inferred from the latest event that yields one: greatest event time, ties broken by greatest
// event_uuid in byte order (SPEC §3.14).
type Latest struct {
	Value  string `json:"v,omitempty"`
	TimeMS int64  `json:"t,omitempty"`
	UUID   string `json:"u,omitempty"`
}

// Offer replaces the value when (t, uuid) is later than the held one; it reports whether it did.
func (l *Latest) Offer(value string, t int64, uuid string) bool {
	if value == "" {
		return false
	}
	if l.UUID != "" && (t < l.TimeMS || (t == l.TimeMS && uuid <= l.UUID)) {
		return false
	}
	*l = Latest{Value: value, TimeMS: t, UUID: uuid}
	return true
}

// CampaignInferred holds the values inferred from a campaign's events (SPEC §3.14).
type CampaignInferred struct {
	Name         Latest   `json:"name"`
	Channel      Latest   `json:"channel"`
	DeliveryType Latest   `json:"delivery_type"`
	Parent       Latest   `json:"parent"`
	Tags         Latest   `json:"tags"` // JSON array text
	StartTimeMS  int64    `json:"start_ms,omitempty"`
	FirstSendMS  int64    `json:"first_send_ms,omitempty"`
	Platforms    []string `json:"platforms,omitempty"`
	HasEvents    bool     `json:"has_events,omitempty"`
}

// Campaign is one catalog entry with its explicit and inferred values (SPEC §2.2).
type Campaign struct {
	ID          string
	Explicit    CampaignFields
	HasExplicit bool
	Inferred    CampaignInferred
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ownName, ownChannel and ownDeliveryType are the campaign's explicit value, else the value inferred from its own
// events; CatalogView falls back to the children's events for parent placeholders (SPEC §3.14).
func (c *Campaign) ownName() Latest {
	if c.Explicit.Name != nil {
		return Latest{Value: *c.Explicit.Name}
	}
	return c.Inferred.Name
}

func (c *Campaign) ownChannel() Latest {
	if c.Explicit.Channel != nil {
		return Latest{Value: string(*c.Explicit.Channel)}
	}
	return c.Inferred.Channel
}

func (c *Campaign) ownDeliveryType() Latest {
	if c.Explicit.DeliveryType != nil {
		return Latest{Value: string(*c.Explicit.DeliveryType)}
	}
	return c.Inferred.DeliveryType
}

// DeclaredParent is the effective parent_campaign_id before the one-level rule; "" when none.
func (c *Campaign) DeclaredParent() string {
	p := c.Inferred.Parent.Value
	if c.Explicit.ParentID != nil {
		p = *c.Explicit.ParentID
	}
	if p == c.ID {
		return ""
	}
	return p
}

// Status is the effective campaign_status; ACTIVE when never written.
func (c *Campaign) Status() string {
	if c.Explicit.Status != nil {
		return *c.Explicit.Status
	}
	return "ACTIVE"
}

// Tags is the effective campaign_tags (never nil).
func (c *Campaign) Tags() []string {
	if c.Explicit.Tags != nil {
		return append([]string{}, *c.Explicit.Tags...)
	}
	var tags []string
	if c.Inferred.Tags.Value != "" {
		_ = json.Unmarshal([]byte(c.Inferred.Tags.Value), &tags)
	}
	if tags == nil {
		tags = []string{}
	}
	return tags
}

// Team is the effective campaign_team.
func (c *Campaign) Team() string {
	if c.Explicit.Team != nil {
		return *c.Explicit.Team
	}
	return ""
}

// CreatedBy is the effective created_by.
func (c *Campaign) CreatedBy() string {
	if c.Explicit.CreatedBy != nil {
		return *c.Explicit.CreatedBy
	}
	return ""
}

// Platform is the effective platform list (upper-case, sorted; never nil).
func (c *Campaign) Platform() []string {
	if c.Explicit.Platform != nil {
		return append([]string{}, *c.Explicit.Platform...)
	}
	out := []string{}
	for _, p := range c.Inferred.Platforms {
		switch p {
		case PlatformAndroid, PlatformIOS, PlatformWeb:
			out = append(out, upper(p))
		}
	}
	sort.Strings(out)
	return out
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 32
		}
	}
	return string(b)
}

// StartTimeMS is the effective campaign_start_time; ok is false when unknown.
func (c *Campaign) StartTimeMS() (int64, bool) {
	if c.Explicit.StartTimeMS != nil {
		return *c.Explicit.StartTimeMS, true
	}
	return c.Inferred.StartTimeMS, c.Inferred.StartTimeMS != 0
}
