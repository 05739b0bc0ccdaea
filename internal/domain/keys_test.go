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

// TestEffectiveGoalsPrimary: when no goal is marked primary the first one is, in the effective details only
// (SPEC §2.4); a marked goal stays the only primary one.
func TestEffectiveGoalsPrimary(t *testing.T) {
	unmarked := &GoalDetails{Goals: []Goal{{Name: "A", EventName: "A"}, {Name: "B", EventName: "B"}}}
	marked := &GoalDetails{Goals: []Goal{{Name: "A", EventName: "A"}, {Name: "B", EventName: "B", IsPrimary: true}}}
	v := NewCatalogView([]Campaign{{ID: "U", Explicit: CampaignFields{Goals: unmarked}}, {ID: "M", Explicit: CampaignFields{Goals: marked}}})
	primaries := func(g *GoalDetails) []bool {
		var out []bool
		for _, goal := range g.Goals {
			out = append(out, goal.IsPrimary)
		}
		return out
	}
	if got := primaries(v.EffectiveGoals("U")); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("no goal marked: primary flags %v, want [true false]", got)
	}
	if got := primaries(v.EffectiveGoals("M")); len(got) != 2 || got[0] || !got[1] {
		t.Errorf("second goal marked: primary flags %v, want [false true]", got)
	}
	if unmarked.Goals[0].IsPrimary {
		t.Error("the stored goals were modified")
	}
}
