package domain

import (
	"math/rand/v2"
	"testing"
)

// TestLatestIsOrderIndependent: the latest value wins whatever the order values are offered in (SPEC §3.14).
func TestLatestIsOrderIndependent(t *testing.T) {
	offers := []Latest{{"a", 10, "u1"}, {"b", 30, "u0"}, {"c", 30, "u2"}, {"d", 20, "u9"}, {"", 99, "zz"}}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 50; i++ {
		rng.Shuffle(len(offers), func(i, j int) { offers[i], offers[j] = offers[j], offers[i] })
		var l Latest
		for _, o := range offers {
			l.Offer(o.Value, o.TimeMS, o.UUID)
		}
		if l.Value != "c" {
			t.Fatalf("order %v: got %q, want c (time 30, greatest uuid)", offers, l.Value)
		}
	}
}

func TestParseChannelTable(t *testing.T) {
	for in, want := range map[string]Channel{"web push": ChannelPush, "e-mail": ChannelEmail, "SMS_RCS": ChannelSMS, "inapp": ChannelInApp,
		"Web Personalization": ChannelOnSite, "card": ChannelCards, "webhook": ChannelConnectors, "facebook audience": ChannelFacebook,
		"Google Ads": ChannelGoogleAds, "WhatsApp": ChannelWhatsApp} {
		if got, ok := ParseChannel(in); !ok || got != want {
			t.Errorf("ParseChannel(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := ParseChannel("fax"); ok {
		t.Error("fax must not normalise")
	}
	for in, want := range map[string]DeliveryType{"One Time": DeliveryOneTime, "active": DeliveryEventTriggered, "event-trigger": DeliveryEventTriggered,
		"business_event_trigger": DeliveryBusinessEvent, "onetime": DeliveryOneTime, "Periodic": DeliveryPeriodic} {
		if got, ok := ParseDeliveryType(in); !ok || got != want {
			t.Errorf("ParseDeliveryType(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := ParseDeliveryType("GENERAL"); ok {
		t.Error("GENERAL must not normalise")
	}
}

// TestCatalogViewOneLevel: a parent's own parent is ignored; a parent placeholder takes its values from its
// current children (SPEC §2.3, §3.14).
func TestCatalogViewOneLevel(t *testing.T) {
	gp, p := "GP", "P"
	cs := []Campaign{
		{ID: "GP"},
		{ID: "P", Explicit: CampaignFields{ParentID: &gp}},
		{ID: "C", Explicit: CampaignFields{ParentID: &p}, Inferred: CampaignInferred{Name: Latest{"Child", 5, "x"}, Channel: Latest{"SMS", 5, "x"}}},
	}
	v := NewCatalogView(cs)
	if v.Parent("C") != "P" || v.Parent("P") != "" || len(v.Children("GP")) != 0 {
		t.Fatalf("hierarchy: parent(C)=%q parent(P)=%q children(GP)=%v", v.Parent("C"), v.Parent("P"), v.Children("GP"))
	}
	if v.Name("P") != "Child" || v.Channel("P") != ChannelSMS || v.DeliveryType("P") != DeliveryOneTime {
		t.Fatalf("placeholder values: %q %q %q", v.Name("P"), v.Channel("P"), v.DeliveryType("P"))
	}
	if got := v.Units("P"); len(got) != 2 || got[0] != "P" || got[1] != "C" {
		t.Fatalf("units of P: %v", got)
	}
}

// TestPlaceholderFromChildrenEvents: a parent placeholder's name, channel and delivery type follow its children's
// events, not values PUT on a child (SPEC §3.14: the same rules over its children's events).
func TestPlaceholderFromChildrenEvents(t *testing.T) {
	p, name, email, periodic := "P", "Put name", ChannelEmail, DeliveryPeriodic
	cs := []Campaign{
		{ID: "P"},
		// K1's events say "Kid"/SMS at 5; its PUT says otherwise. K2 has a later event name and nothing else.
		{ID: "K1", HasExplicit: true, Explicit: CampaignFields{ParentID: &p, Name: &name, Channel: &email, DeliveryType: &periodic},
			Inferred: CampaignInferred{Name: Latest{"Kid", 5, "a"}, Channel: Latest{"SMS", 5, "a"}}},
		{ID: "K2", Explicit: CampaignFields{ParentID: &p}, Inferred: CampaignInferred{Name: Latest{"Kid2", 7, "b"}}},
		{ID: "Q"},
		{ID: "K3", HasExplicit: true, Explicit: CampaignFields{ParentID: func() *string { q := "Q"; return &q }(), Name: &name, Channel: &email}},
	}
	v := NewCatalogView(cs)
	if v.Name("P") != "Kid2" || v.Channel("P") != ChannelSMS || v.DeliveryType("P") != DeliveryOneTime {
		t.Errorf("placeholder P: %q %q %q, want Kid2 SMS ONE_TIME", v.Name("P"), v.Channel("P"), v.DeliveryType("P"))
	}
	if v.Name("K1") != name || v.Channel("K1") != ChannelEmail {
		t.Errorf("a child's own values: %q %q", v.Name("K1"), v.Channel("K1"))
	}
	if v.Name("Q") != "" || v.Channel("Q") != ChannelUnknown {
		t.Errorf("placeholder whose child has no events: %q %q, want \"\" UNKNOWN", v.Name("Q"), v.Channel("Q"))
	}
}
