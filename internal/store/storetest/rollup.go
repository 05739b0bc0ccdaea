package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// testAggregateRandom compares Aggregate, TOTAL and UNIQUE, with and without days, over random events against
// a count written here from the definitions: TOTAL of a metric at a node is the number of the node's events with
// one of its counters, UNIQUE the number of distinct users with at least one; a node is a (platform, locale,
// variation) where each is a key or "all". Users move between platforms, locales and variations, appear under
// two units of one target and fail with several keys, so that every node shape unions users from several finest
// nodes.
func testAggregateRandom(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	counters := []domain.Counter{domain.CounterSent, domain.CounterSent, domain.CounterDelivered, domain.CounterImpression,
		domain.CounterClick, domain.CounterFailedSend, domain.CounterFailedDelivery, domain.CounterOpened, domain.CounterHeldOutCampaign}
	platforms := []string{"", "ios", "android", "web"}
	locales := []string{"", "en", "fr"}
	variations := []string{"", "variation_1", "variation_2"}
	failures := []string{"Timeout", "Invalid token"}
	units := []string{"P", "C", "Q"}
	var events []domain.Event
	for i := range 600 {
		user := rng.IntN(40)
		e := ev(fmt.Sprintf("r%d", i), time.Duration(rng.IntN(72*60))*time.Minute, fmt.Sprintf("u%d", user), units[rng.IntN(len(units))],
			counters[rng.IntN(len(counters))])
		// Most users keep one platform, locale and variation; some move.
		pick := func(n int) int {
			if rng.IntN(4) == 0 {
				return rng.IntN(n)
			}
			return user % n
		}
		e.Platform, e.Locale, e.Variation = platforms[pick(len(platforms))], locales[pick(len(locales))], variations[pick(len(variations))]
		if e.Platform == "" && rng.IntN(2) == 0 {
			e.PlatformDefault = domain.DefaultUnknown
		}
		if e.Counter == domain.CounterFailedSend || e.Counter == domain.CounterFailedDelivery {
			e.FailureKey = failures[rng.IntN(len(failures))]
		}
		if rng.IntN(10) == 0 {
			e.Channels = domain.ChannelSetOf(domain.ChannelEmail) // not a push unit's event
		}
		events = append(events, e)
	}
	for i := 0; i < len(events); i += 150 {
		appendEvents(t, s, "w", events[i:i+150]...)
	}
	targets := []store.AggregateTarget{target("P", domain.ChannelPush, "P", "C"), target("Q", domain.ChannelPush, "Q")}
	unitsOf := map[string]int{"P": 0, "C": 0, "Q": 1}

	reference := func(unique bool, from, to int64, days *time.Location) map[string]int64 {
		totals := map[string]int64{}
		users := map[string]map[domain.UserID]bool{}
		for _, e := range events {
			if e.TimeMS < from || e.TimeMS >= to || !e.Channels.Has(domain.ChannelPush) || e.Counter == domain.CounterNone {
				continue
			}
			var day int32
			if days != nil {
				at := time.UnixMilli(e.TimeMS).In(days)
				day = store.DayNumber(at.Date())
			}
			var metrics []string
			for _, m := range domain.CounterMetricSets() {
				if m.Counters&(1<<uint(e.Counter)) != 0 {
					metrics = append(metrics, m.Name)
				}
			}
			if (e.Counter == domain.CounterFailedSend || e.Counter == domain.CounterFailedDelivery) && e.FailureKey != "" {
				metrics = append(metrics, domain.FailurePrefix+e.FailureKey)
			}
			p := domain.ResolvePlatform(domain.ChannelPush, e.Platform, e.PlatformDefault)
			for _, np := range []string{"*", p} {
				for _, nl := range []string{"*", e.Locale} {
					for _, nv := range []string{"*", e.Variation} {
						for _, m := range metrics {
							key := fmt.Sprintf("%s/%d/%s/%s/%s/%s", targets[unitsOf[e.CampaignID]].ID, day, np, nl, nv, m)
							totals[key]++
							if users[key] == nil {
								users[key] = map[domain.UserID]bool{}
							}
							users[key][domain.HashUser(e.UserKey)] = true
						}
					}
				}
			}
		}
		if !unique {
			return totals
		}
		out := map[string]int64{}
		for k, u := range users {
			out[k] = int64(len(u))
		}
		return out
	}
	got := func(q store.AggregateQuery) map[string]int64 {
		rows, err := s.Aggregate(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			if r.Value == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%d/%s/%s", r.Target, r.Day, nodeKeys(r.NodeRef), r.Metric)
			if _, dup := out[key]; dup {
				t.Fatalf("two rows for %s", key)
			}
			out[key] = r.Value
		}
		return out
	}
	ranges := [][2]time.Duration{{-24 * time.Hour, 96 * time.Hour}, {13 * time.Hour, 40 * time.Hour}}
	for _, unique := range []bool{false, true} {
		for _, rg := range ranges {
			for _, days := range []*time.Location{nil, time.UTC, time.FixedZone("+05:30", 330*60)} {
				from, to := t0.Add(rg[0]).UnixMilli(), t0.Add(rg[1]).UnixMilli()
				want := reference(unique, from, to, days)
				have := got(store.AggregateQuery{WorkspaceID: "w", FromMS: from, ToMS: to, Unique: unique, Targets: targets, Days: days})
				name := fmt.Sprintf("unique=%v range=%v days=%v", unique, rg, days)
				for k, v := range want {
					if have[k] != v {
						t.Errorf("%s: %s = %d, want %d", name, k, have[k], v)
					}
				}
				for k, v := range have {
					if _, ok := want[k]; !ok {
						t.Errorf("%s: unexpected %s = %d", name, k, v)
					}
				}
			}
		}
	}
}

// testConversionsRandom compares Conversions over random credits with a count written here from SPEC §12.1: at
// every node, each credited goal event counts once (Total, with its revenue) and each user once (Unique), per
// group and goal; control-group credits sit at their group's variation key. Goal events are credited to several
// units of one target and in several finest nodes, and users convert several times, so that every node shape
// unions goal events and users from several finest nodes.
func testConversionsRandom(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 13))
	targets := []store.AggregateTarget{target("P", domain.ChannelPush, "P", "C"), target("Q", domain.ChannelPush, "Q")}
	targetOf := map[string]string{"P": "P", "C": "P", "Q": "Q"}
	var credits []store.Credit
	for g := range 250 {
		uuid, user := fmt.Sprintf("g%d", g), fmt.Sprintf("u%d", rng.IntN(30))
		at := t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		goal := []string{"Purchase", "Signup"}[rng.IntN(2)]
		revenue := int64(rng.IntN(5)) * 1_500_000
		for range 1 + rng.IntN(3) { // the same goal event credited to several units and nodes
			c := credit("w", uuid, user, at, []string{"P", "C", "Q"}[rng.IntN(3)], attribution.ViewThrough, attribution.Regular,
				[]string{"android", "ios", "web"}[rng.IntN(3)], revenue)
			c.Goal, c.Locale, c.Variation = goal, []string{"", "en", "fr"}[rng.IntN(3)], []string{"", "variation_1", "variation_2"}[rng.IntN(3)]
			switch rng.IntN(6) {
			case 0:
				c.Type, c.Group, c.Variation = attribution.None, attribution.CampaignControl, ""
			case 1:
				c.Type = attribution.ClickThrough // not asked for
			}
			credits = append(credits, c)
		}
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: credits}); err != nil {
		t.Fatal(err)
	}
	type sums struct {
		goals map[string]int64 // uuid → revenue
		users map[domain.UserID]bool
	}
	for _, rg := range [][2]time.Duration{{-24 * time.Hour, 96 * time.Hour}, {13 * time.Hour, 40 * time.Hour}} {
		for _, days := range []*time.Location{nil, time.FixedZone("+05:30", 330*60)} {
			from, to := t0.Add(rg[0]).UnixMilli(), t0.Add(rg[1]).UnixMilli()
			want := map[string]*sums{}
			for _, c := range credits {
				if c.TimeMS < from || c.TimeMS >= to || (c.Type != attribution.ViewThrough && c.Type != attribution.None) {
					continue
				}
				var day int32
				if days != nil {
					day = store.DayNumber(time.UnixMilli(c.TimeMS).In(days).Date())
				}
				v := c.Variation
				if c.Group != attribution.Regular {
					v = c.Group.String()
				}
				for _, np := range []string{"*", c.Platform} {
					for _, nl := range []string{"*", c.Locale} {
						for _, nv := range []string{"*", v} {
							key := fmt.Sprintf("%s/%d/%s/%s/%s/%d/%s", targetOf[c.Unit], day, np, nl, nv, c.Group, c.Goal)
							if want[key] == nil {
								want[key] = &sums{goals: map[string]int64{}, users: map[domain.UserID]bool{}}
							}
							want[key].goals[c.GoalUUID] = c.RevenueMicros
							want[key].users[c.User] = true
						}
					}
				}
			}
			rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: "w", FromMS: from, ToMS: to, Type: attribution.ViewThrough,
				Targets: targets, Days: days})
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("range=%v days=%v", rg, days)
			got := map[string]bool{}
			for _, r := range rows {
				key := fmt.Sprintf("%s/%d/%s/%d/%s", r.Target, r.Day, nodeKeys(r.NodeRef), r.Group, r.Goal)
				if got[key] {
					t.Fatalf("%s: two rows for %s", name, key)
				}
				got[key] = true
				w := want[key]
				if w == nil {
					t.Errorf("%s: unexpected %s %+v", name, key, r)
					continue
				}
				var revenue int64
				for _, rv := range w.goals {
					revenue += rv
				}
				if r.Total != int64(len(w.goals)) || r.Unique != int64(len(w.users)) || r.RevenueMicros != revenue {
					t.Errorf("%s: %s = total %d unique %d revenue %d, want %d %d %d", name, key, r.Total, r.Unique, r.RevenueMicros,
						len(w.goals), len(w.users), revenue)
				}
			}
			for key := range want {
				if !got[key] {
					t.Errorf("%s: missing %s", name, key)
				}
			}
		}
	}
}

// nodeKeys is "platform/locale/variation" of a node, "*" for an aggregate key.
func nodeKeys(n store.NodeRef) string {
	key := func(all bool, k string) string {
		if all {
			return "*"
		}
		return k
	}
	return key(n.AllPlatforms, n.Platform) + "/" + key(n.AllLocales, n.Locale) + "/" + key(n.AllVariations, n.Variation)
}
