package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

func parseTime(raw json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, errors.New("bad")
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UnixMilli(), err
}

func TestParsePutRules(t *testing.T) {
	for _, tc := range []struct{ body, attr, msg string }{
		{`{"campaign_id":"other"}`, "campaign_id", "campaign_id does not match the path"},
		{`{"channel":"fax"}`, "channel", "channel must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS"},
		{`{"campaign_delivery_type":"GENERAL"}`, "campaign_delivery_type", ""},
		{`{"parent_campaign_id":"c1"}`, "parent_campaign_id", ""},
		{`{"parent_campaign_id":"bad id"}`, "parent_campaign_id", "parent_campaign_id is invalid"},
		{`{"campaign_status":"live"}`, "campaign_status", ""},
		{`{"campaign_tags":["a",""]}`, "campaign_tags[1]", ""},
		{`{"platform":["TV"]}`, "platform", ""},
		{`{"campaign_start_time":"tomorrow"}`, "campaign_start_time", ""},
		{`{"conversion_goal_details":{"goals":[{"goal_name":"A","goal_event_name":"x"},{"goal_name":"A","goal_event_name":"y"}]}}`, "conversion_goal_details.goals[1].goal_name", ""},
		{`{"conversion_goal_details":{"goals":[{"goal_name":"A","goal_event_name":"x","is_primary_goal":true},{"goal_name":"B","goal_event_name":"y","is_primary_goal":true}]}}`, "conversion_goal_details.goals[1].is_primary_goal", ""},
		{`{"conversion_goal_details":{"goals":[{"goal_name":"A","goal_event_name":"x","goal_event_attribute":{"name":"a","condition":"near"}}]}}`, "conversion_goal_details.goals[0].goal_event_attribute.condition", ""},
		{`{"control_group_details":{"campaign_control_group_percentage":101}}`, "control_group_details.campaign_control_group_percentage", ""},
		// Integers are read exactly: this one only rounds to 36.
		{`{"conversion_goal_details":{"attribution_window_in_hours":36.0000000000000001}}`, "conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be an integer"},
		{`{"conversion_goal_details":{"attribution_window_in_hours":1e400}}`, "conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be an integer"},
	} {
		_, err := ParsePut([]byte(tc.body), "c1", parseTime)
		if err == nil || err.Attribute != tc.attr || (tc.msg != "" && err.Message != tc.msg) {
			t.Errorf("%s: got %v, want attribute %q %q", tc.body, err, tc.attr, tc.msg)
		}
	}
	f, err := ParsePut([]byte(`{"campaign_name":"Spring","channel":"web push","campaign_status":"paused","campaign_start_time":"2025-03-01T09:00:00Z"}`), "c1", parseTime)
	if err != nil || *f.Channel != domain.ChannelPush || *f.Status != "PAUSED" || *f.StartTimeMS != 1740819600000 {
		t.Fatalf("valid body: %+v %v", f, err)
	}
}

func TestApplyHierarchyRules(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	parent := "P"
	child := domain.Campaign{ID: "C", Explicit: domain.CampaignFields{ParentID: &parent}}
	view := domain.NewCatalogView([]domain.Campaign{{ID: "P"}, child, {ID: "X"}})
	// X cannot take C (a child) as its parent.
	c := "C"
	if _, _, err := Apply(view, "X", domain.CampaignFields{ParentID: &c}, now); err == nil || err.Message != "parent_campaign_id refers to a child campaign" {
		t.Fatalf("child as parent: %v", err)
	}
	// P has children and cannot get a parent.
	x := "X"
	if _, _, err := Apply(view, "P", domain.CampaignFields{ParentID: &x}, now); err == nil || err.Message != "campaign has child campaigns and cannot have a parent" {
		t.Fatalf("parent with children: %v", err)
	}
	// An unknown parent is registered as a placeholder; a new campaign is created (201).
	np := "NEW"
	recs, created, err := Apply(view, "Y", domain.CampaignFields{ParentID: &np}, now)
	if err != nil || !created || len(recs) != 2 || recs[1].ID != "NEW" {
		t.Fatalf("placeholder: %+v %v %v", recs, created, err)
	}
	// The window is checked against the effective channel.
	w := 100
	email := domain.ChannelEmail
	if _, _, err := Apply(view, "Z", domain.CampaignFields{Channel: &email, Goals: &domain.GoalDetails{AttributionWindowHours: &w}}, now); err != nil {
		t.Fatalf("100 h is valid for EMAIL: %v", err)
	}
	push := domain.ChannelPush
	if _, _, err := Apply(view, "Z", domain.CampaignFields{Channel: &push, Goals: &domain.GoalDetails{AttributionWindowHours: &w}}, now); err == nil ||
		err.Message != "attribution_window_in_hours must be between 1 and 36 for PUSH" {
		t.Fatalf("100 h for PUSH: %v", err)
	}
}

// TestPutDetachesFromInferredParent: parent_campaign_id null or "" is an explicit "no parent" (SPEC §3.12.1, "string
// or null"), which wins over the parent the campaign's events name (§2.2) and registers no placeholder; an absent
// member falls back to the inferred parent.
func TestPutDetachesFromInferredParent(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	child := domain.Campaign{ID: "C", Inferred: domain.CampaignInferred{Parent: domain.Latest{Value: "P"}}}
	view := domain.NewCatalogView([]domain.Campaign{{ID: "P"}, child})
	if view.Parent("C") != "P" {
		t.Fatalf("inferred parent: %q", view.Parent("C"))
	}
	for _, body := range []string{`{"parent_campaign_id":null}`, `{"parent_campaign_id":""}`} {
		f, err := ParsePut([]byte(body), "C", parseTime)
		if err != nil || f.ParentID == nil || *f.ParentID != "" {
			t.Fatalf("%s: %+v %v", body, f, err)
		}
		recs, created, ferr := Apply(view, "C", f, now)
		if ferr != nil || created || len(recs) != 1 || recs[0].DeclaredParent() != "" || !slices.Contains(recs[0].Explicit.ExplicitFieldNames(), "parent_campaign_id") {
			t.Fatalf("%s: %+v %v %v", body, recs, created, ferr)
		}
		if v := domain.NewCatalogView([]domain.Campaign{{ID: "P"}, recs[0]}); v.Parent("C") != "" || len(v.Children("P")) != 0 {
			t.Fatalf("%s: still a child of %q", body, v.Parent("C"))
		}
	}
	f, err := ParsePut([]byte(`{"campaign_name":"n"}`), "C", parseTime)
	if err != nil || f.ParentID != nil {
		t.Fatalf("absent parent: %+v %v", f, err)
	}
	if recs, _, _ := Apply(view, "C", f, now); recs[0].DeclaredParent() != "P" {
		t.Fatalf("absent parent falls back to the inferred one: %q", recs[0].DeclaredParent())
	}
}

// TestApplyWindowAgainstChannelAfterPut: a PUT replaces every explicit detail, so a window is checked against the
// channel the campaign has once written — the body's, else the one its events give — not a channel an earlier PUT
// stored (SPEC §3.12, §3.12.1). The same body then gets the same answer whatever was stored before.
func TestApplyWindowAgainstChannelAfterPut(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	email, push := domain.ChannelEmail, domain.ChannelPush
	w := 240
	body := domain.CampaignFields{Goals: &domain.GoalDetails{AttributionWindowHours: &w}}
	for _, stored := range []*domain.Channel{nil, &email} {
		label := "none"
		if stored != nil {
			label = string(*stored)
		}
		view := domain.NewCatalogView([]domain.Campaign{{ID: "pc1", HasExplicit: stored != nil, Explicit: domain.CampaignFields{Channel: stored},
			Inferred: domain.CampaignInferred{Channel: domain.Latest{Value: string(push), TimeMS: 1, UUID: "e1"}}}})
		if _, _, err := Apply(view, "pc1", body, now); err == nil || err.Message != "attribution_window_in_hours must be between 1 and 36 for PUSH" {
			t.Errorf("stored channel %s: 240 h without a channel in the body: %v", label, err)
		}
		if _, _, err := Apply(view, "pc1", domain.CampaignFields{Channel: &email, Goals: body.Goals}, now); err != nil {
			t.Errorf("stored channel %s: 240 h with EMAIL in the body: %v", label, err)
		}
	}
}
