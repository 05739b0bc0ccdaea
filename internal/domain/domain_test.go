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
