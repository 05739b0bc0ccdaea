package domain

import "testing"

func TestIsAllLocalesKey(t *testing.T) {
	for s, want := range map[string]bool{"all_locale": true, "all_locales": true, "ALL_LOCALE": false, " all_locale": false,
		"all_locales_": false, "": false, "en": false} {
		if got := IsAllLocalesKey(s); got != want {
			t.Errorf("IsAllLocalesKey(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestEffectiveGoals: the window in force is the explicit one (own or inherited), else the effective channel's
// maximum (SPEC §2.4, §3.12.1); the stored details are never modified.
func TestEffectiveGoals(t *testing.T) {
	ch := func(c Channel) *Channel { return &c }
	hours := func(h int) *int { return &h }
	parent := "P"
	own := &GoalDetails{Goals: []Goal{{Name: "G", EventName: "G"}}}
	cs := []Campaign{
		{ID: "P", Explicit: CampaignFields{Channel: ch(ChannelEmail), Goals: own}},
		{ID: "K", Explicit: CampaignFields{Channel: ch(ChannelPush), ParentID: &parent}},
		{ID: "W", Explicit: CampaignFields{Channel: ch(ChannelSMS), Goals: &GoalDetails{AttributionWindowHours: hours(5)}}},
		{ID: "N", Explicit: CampaignFields{Channel: ch(ChannelSMS)}},
	}
	v := NewCatalogView(cs)
	for id, want := range map[string]int{"P": 240, "K": 36, "W": 5} {
		g := v.EffectiveGoals(id)
		if g == nil || g.AttributionWindowHours == nil || *g.AttributionWindowHours != want || g.Goals == nil {
			t.Errorf("EffectiveGoals(%s) = %+v, want window %d", id, g, want)
		}
	}
	if g := v.EffectiveGoals("N"); g != nil {
		t.Errorf("no goal details: %+v", g)
	}
	if own.AttributionWindowHours != nil || v.Goals("K").AttributionWindowHours != nil {
		t.Errorf("stored goal details modified: %+v", own)
	}
}
