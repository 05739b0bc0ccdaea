package derive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// conversionsOf returns every conversion row of campaigns cs under every attribution type, as text.
func (e *env) conversionsOf(t *testing.T, cs []string) []string {
	t.Helper()
	var targets []store.AggregateTarget
	for _, c := range cs {
		targets = append(targets, store.AggregateTarget{ID: c, Units: []store.AggregateUnit{{ID: c, Channel: domain.ChannelPush}}})
	}
	var out []string
	for typ := attribution.ViewThrough; typ <= attribution.ClickConversions; typ++ {
		rows, err := e.st.Conversions(context.Background(), store.ConversionQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62,
			Type: typ, Targets: targets, Days: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%v %+v", typ, r))
		}
	}
	return out
}

// TestActiveUsersCreditsIndependentOfArrival gives a few users long histories (dozens of interactions with many
// campaigns and many goal events within each other's windows, as an active user has) and commits them in small
// batches in three arrival orders: every order must end with the credits that evaluating every goal event afresh
// against the complete history gives (a full recomputation of the workspace, Worker.rebuild).
//
// The "ties" histories put events on a coarse grid of instants, so that interactions of one campaign share
// instants (attribution's same-instant order decides), with held-out views of both control groups and campaigns
// whose windows differ (2 h to the channel's 36 h): a new interaction re-evaluates only the stored goal events it
// can be chosen for, and this is where a wrong reach would show.
func TestActiveUsersCreditsIndependentOfArrival(t *testing.T) {
	for _, h := range []struct {
		name                    string
		instant                 time.Duration // grid of event times
		span                    int           // number of grid steps the events spread over
		windows                 []int         // campaign windows in hours, cycled (0: the channel's maximum)
		campaigns, interactions int
	}{
		{"minutes", time.Minute, 10 * 24 * 60, []int{0}, 12, 80},
		{"ties", 2 * time.Hour, 3 * 12, []int{0, 2, 6, 0, 12}, 6, 150},
	} {
		t.Run(h.name, func(t *testing.T) {
			var campaigns []string
			for i := 0; i < h.campaigns; i++ {
				campaigns = append(campaigns, fmt.Sprintf("c%02d", i))
			}
			rng := rand.New(rand.NewPCG(7, 8))
			counters := []struct {
				counter domain.Counter
				class   domain.InteractionClass
			}{{domain.CounterSent, domain.ClassSend}, {domain.CounterImpression, domain.ClassView}, {domain.CounterClick, domain.ClassClick},
				{domain.CounterHeldOutCampaign, domain.ClassHeldOut}, {domain.CounterHeldOutGlobal, domain.ClassHeldOut}}
			var events []domain.Event
			for u := 0; u < 3; u++ {
				user := fmt.Sprintf("active%d", u)
				for i := 0; i < h.interactions; i++ {
					c := counters[rng.IntN(len(counters))]
					e := push(fmt.Sprintf("%s-i%d", user, i), user, campaigns[rng.IntN(len(campaigns))],
						time.Duration(rng.IntN(h.span))*h.instant, c.counter, c.class)
					// Dimensions tell apart the credits of interactions of one campaign at one instant.
					e.Locale, e.Variation = []string{"en", "fr"}[rng.IntN(2)], []string{"1", "2"}[rng.IntN(2)]
					events = append(events, e)
				}
				for i := 0; i < 25; i++ {
					events = append(events, purchase(fmt.Sprintf("%s-g%d", user, i), user, time.Duration(rng.IntN(h.span))*h.instant))
				}
			}
			creditsIndependentOfArrival(t, campaigns, h.windows, events, rng)
		})
	}
}

// creditsIndependentOfArrival commits events in small batches in three arrival orders and compares each order's
// credits with a full recomputation.
func creditsIndependentOfArrival(t *testing.T, campaigns []string, windows []int, events []domain.Event, rng *rand.Rand) {
	orders := map[string][]domain.Event{"time": slices.Clone(events), "reverse": slices.Clone(events), "random": slices.Clone(events)}
	slices.SortStableFunc(orders["time"], func(a, b domain.Event) int { return int(a.TimeMS - b.TimeMS) })
	slices.SortStableFunc(orders["reverse"], func(a, b domain.Event) int { return int(b.TimeMS - a.TimeMS) })
	rng.Shuffle(len(orders["random"]), func(i, j int) { orders["random"][i], orders["random"][j] = orders["random"][j], orders["random"][i] })
	for _, name := range []string{"time", "reverse", "random"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			e := open(t, dir, true)
			for i, c := range campaigns {
				if w := windows[i%len(windows)]; w > 0 {
					e.putGoals(t, c, w)
				} else {
					e.putGoals(t, c)
				}
			}
			for batch := range slices.Chunk(orders[name], 7) {
				e.commit(t, batch...)
			}
			e.sync(t)
			got := e.conversionsOf(t, campaigns)
			e = e.restart(t, false, nil)
			defer e.close(t)
			st, err := e.w.state(ctx, "w")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.w.rebuild(ctx, "w", st); err != nil {
				t.Fatal(err)
			}
			want := e.conversionsOf(t, campaigns)
			if len(want) == 0 {
				t.Fatal("the histories credited nothing")
			}
			if !slices.Equal(got, want) {
				t.Fatalf("credits after arrival in %s order differ from a full recomputation\ngot  %d rows %q\nwant %d rows %q", name, len(got), got, len(want), want)
			}
		})
	}
}
