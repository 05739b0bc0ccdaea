package attribution

import (
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// SPEC §6.3: push click and email open before a purchase.
func TestSpecExample1(t *testing.T) {
	cat := catalogOf(
		camp("push_spring", domain.ChannelPush, "", goals(36, purchase())),
		camp("email_spring", domain.ChannelEmail, "", goals(240, purchase())),
	)
	const A, B = "push_spring", "email_spring"
	ints := []Interaction{
		{Unit: B, UUID: "i1", TimeMS: at(t, "2025-03-01T08:00:00Z"), Class: domain.ClassSend, Platform: "EMAIL", Variation: "variation_1"},
		{Unit: B, UUID: "i2", TimeMS: at(t, "2025-03-01T08:10:00Z"), Class: domain.ClassView, Platform: "EMAIL", Variation: "variation_1"},
		{Unit: A, UUID: "i3", TimeMS: at(t, "2025-03-01T09:00:00Z"), Class: domain.ClassSend, Platform: "ios", Locale: "en", Variation: "variation_1"},
		{Unit: A, UUID: "i4", TimeMS: at(t, "2025-03-01T09:01:00Z"), Class: domain.ClassView, Platform: "ios", Locale: "en", Variation: "variation_1"},
		{Unit: A, UUID: "i5", TimeMS: at(t, "2025-03-01T09:20:00Z"), Class: domain.ClassClick, Platform: "ios", Locale: "fr", Variation: "variation_2"},
		{Unit: B, UUID: "i6", TimeMS: at(t, "2025-03-01T09:40:00Z"), Class: domain.ClassView, Platform: "EMAIL", Locale: "de", Variation: "variation_3"},
	}
	e1 := purchaseEvent("E1", at(t, "2025-03-01T09:45:00Z"), "50")
	e2 := purchaseEvent("E2", at(t, "2025-03-03T12:00:00Z"), "30")

	a := func(typ Type) Credit {
		return Credit{GoalUUID: "E1", TimeMS: e1.TimeMS, Unit: A, Goal: "Purchase", Type: typ, Platform: "ios", Locale: "fr",
			Variation: "variation_2", RevenueMicros: 50_000_000}
	}
	assertCredits(t, "E1", cat.Evaluate(e1, ints), []Credit{
		{GoalUUID: "E1", TimeMS: e1.TimeMS, Unit: B, Goal: "Purchase", Type: ViewThrough, Platform: "EMAIL", Locale: "de",
			Variation: "variation_3", RevenueMicros: 50_000_000},
		a(ViewThrough), a(ClickThrough), a(InSession), a(TotalConversions), a(ClickConversions),
	})

	b := func(typ Type) Credit {
		return Credit{GoalUUID: "E2", TimeMS: e2.TimeMS, Unit: B, Goal: "Purchase", Type: typ, Platform: "EMAIL", Locale: "de",
			Variation: "variation_3", RevenueMicros: 30_000_000}
	}
	got2 := cat.Evaluate(e2, ints)
	assertCredits(t, "E2", got2, []Credit{b(ViewThrough), b(TotalConversions)})

	// Per type, as in the SPEC table.
	who := func(cs []Credit, typ Type) []string {
		var out []string
		for _, c := range cs {
			if c.Type.Counts(typ) {
				out = append(out, c.Unit+"/"+c.Platform)
			}
		}
		return out
	}
	got1 := cat.Evaluate(e1, ints)
	for _, tc := range []struct {
		typ    Type
		e1, e2 string
	}{
		{ViewThrough, "[email_spring/EMAIL push_spring/ios]", "[email_spring/EMAIL]"},
		{ClickThrough, "[push_spring/ios]", "[]"},
		{InSession, "[push_spring/ios]", "[]"},
		{TotalConversions, "[push_spring/ios]", "[email_spring/EMAIL]"},
		{ClickConversions, "[push_spring/ios]", "[]"},
	} {
		if g := fmtList(who(got1, tc.typ)); g != tc.e1 {
			t.Errorf("E1 %v: got %s want %s", tc.typ, g, tc.e1)
		}
		if g := fmtList(who(got2, tc.typ)); g != tc.e2 {
			t.Errorf("E2 %v: got %s want %s", tc.typ, g, tc.e2)
		}
	}

	// A's last qualifying instant is 03-02 21:20 (click at 09:20 + 36 h), inclusive.
	last := purchaseEvent("E3", at(t, "2025-03-02T21:20:00Z"), "1")
	if g := fmtList(who(cat.Evaluate(last, ints), ClickThrough)); g != "[push_spring/ios]" {
		t.Errorf("at A's last qualifying instant: CLICK_THROUGH %s", g)
	}
	last.TimeMS++
	if g := fmtList(who(cat.Evaluate(last, ints), ClickThrough)); g != "[]" {
		t.Errorf("1 ms after A's last qualifying instant: CLICK_THROUGH %s", g)
	}
}

func fmtList(l []string) string {
	s := "["
	for i, x := range l {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}

// SPEC §6.4: control-group user.
func TestSpecExample2(t *testing.T) {
	cat := catalogOf(
		camp("push_spring", domain.ChannelPush, "", goals(36, purchase())),
		camp("email_spring", domain.ChannelEmail, "", goals(240, purchase())),
	)
	ints := []Interaction{
		{Unit: "push_spring", UUID: "h1", TimeMS: at(t, "2025-03-01T09:00:00Z"), Class: domain.ClassHeldOut, Group: CampaignControl,
			Platform: domain.PlatformUnknown, Variation: "ignored"},
	}
	p1 := purchaseEvent("P1", at(t, "2025-03-01T20:00:00Z"), "20")
	got := cat.Evaluate(p1, ints)
	assertCredits(t, "first purchase", got, []Credit{{GoalUUID: "P1", TimeMS: p1.TimeMS, Unit: "push_spring", Goal: "Purchase",
		Type: None, Group: CampaignControl, Platform: "unknown", RevenueMicros: 20_000_000}})
	for typ := ViewThrough; typ <= ClickConversions; typ++ {
		n := 0
		for _, c := range got {
			if c.Type.Counts(typ) {
				n++
				if c.Group != CampaignControl || c.Variation != "" {
					t.Errorf("%v: credit outside the control group: %+v", typ, c)
				}
			}
		}
		if n != 1 {
			t.Errorf("%v: %d credits, want 1", typ, n)
		}
	}
	p2 := purchaseEvent("P2", at(t, "2025-03-03T10:00:00Z"), "20")
	assertCredits(t, "second purchase (49 h later)", cat.Evaluate(p2, ints), nil)

	// The held-out view does not compete: a regular open of another campaign still wins TOTAL_CONVERSIONS, and the
	// control-group credit stays.
	ints = append(ints, Interaction{Unit: "email_spring", UUID: "o1", TimeMS: at(t, "2025-03-01T08:00:00Z"), Class: domain.ClassView, Platform: "EMAIL"})
	got = cat.Evaluate(p1, ints)
	e := func(typ Type) Credit {
		return Credit{GoalUUID: "P1", TimeMS: p1.TimeMS, Unit: "email_spring", Goal: "Purchase", Type: typ, Platform: "EMAIL", RevenueMicros: 20_000_000}
	}
	assertCredits(t, "with another campaign's open", got, []Credit{e(ViewThrough), e(TotalConversions),
		{GoalUUID: "P1", TimeMS: p1.TimeMS, Unit: "push_spring", Goal: "Purchase", Type: None, Group: CampaignControl, Platform: "unknown", RevenueMicros: 20_000_000}})
}

// SPEC §6.5: late-arriving interaction.
func TestSpecExample3(t *testing.T) {
	cat := catalogOf(
		camp("A", domain.ChannelPush, "", goals(0, purchase())),
		camp("D", domain.ChannelEmail, "", goals(0, purchase())),
	)
	open := Interaction{Unit: "D", UUID: "d1", TimeMS: at(t, "2025-03-01T11:00:00Z"), Class: domain.ClassView, Platform: "EMAIL"}
	click := Interaction{Unit: "A", UUID: "a1", TimeMS: at(t, "2025-03-01T11:50:00Z"), Class: domain.ClassClick, Platform: "android"}
	e := purchaseEvent("E", at(t, "2025-03-01T12:00:00Z"), `"12.5"`)
	cr := func(unit, platform string, typ Type) Credit {
		return Credit{GoalUUID: "E", TimeMS: e.TimeMS, Unit: unit, Goal: "Purchase", Type: typ, Platform: platform, RevenueMicros: 12_500_000}
	}
	assertCredits(t, "12:02 (before the click arrives)", cat.Evaluate(e, []Interaction{open}),
		[]Credit{cr("D", "EMAIL", ViewThrough), cr("D", "EMAIL", TotalConversions)})
	assertCredits(t, "13:01 (after the click arrives)", cat.Evaluate(e, []Interaction{open, click}), []Credit{
		cr("A", "android", ViewThrough), cr("A", "android", ClickThrough), cr("A", "android", InSession),
		cr("A", "android", TotalConversions), cr("A", "android", ClickConversions),
		cr("D", "EMAIL", ViewThrough),
	})
}
