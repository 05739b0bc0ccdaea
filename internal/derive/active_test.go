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
func TestActiveUsersCreditsIndependentOfArrival(t *testing.T) {
	var campaigns []string
	for i := 0; i < 12; i++ {
		campaigns = append(campaigns, fmt.Sprintf("c%02d", i))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	counters := []struct {
		counter domain.Counter
		class   domain.InteractionClass
	}{{domain.CounterSent, domain.ClassSend}, {domain.CounterImpression, domain.ClassView}, {domain.CounterClick, domain.ClassClick},
		{domain.CounterHeldOutCampaign, domain.ClassHeldOut}}
	var events []domain.Event
	for u := 0; u < 3; u++ {
		user := fmt.Sprintf("active%d", u)
		for i := 0; i < 80; i++ {
			c := counters[rng.IntN(len(counters))]
			events = append(events, push(fmt.Sprintf("%s-i%d", user, i), user, campaigns[rng.IntN(len(campaigns))],
				time.Duration(rng.IntN(10*24*60))*time.Minute, c.counter, c.class))
		}
		for i := 0; i < 25; i++ {
			events = append(events, purchase(fmt.Sprintf("%s-g%d", user, i), user, time.Duration(rng.IntN(10*24*60))*time.Minute))
		}
	}
	orders := map[string][]domain.Event{"time": slices.Clone(events), "reverse": slices.Clone(events), "random": slices.Clone(events)}
	slices.SortStableFunc(orders["time"], func(a, b domain.Event) int { return int(a.TimeMS - b.TimeMS) })
	slices.SortStableFunc(orders["reverse"], func(a, b domain.Event) int { return int(b.TimeMS - a.TimeMS) })
	rng.Shuffle(len(orders["random"]), func(i, j int) { orders["random"][i], orders["random"][j] = orders["random"][j], orders["random"][i] })
	for _, name := range []string{"time", "reverse", "random"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			e := open(t, dir, true)
			for _, c := range campaigns {
				e.putGoals(t, c)
			}
			for batch := range slices.Chunk(orders[name], 7) {
				e.commit(t, batch...)
			}
			e.sync(t)
			got := e.conversionsOf(t, campaigns)
			e.close(t)

			e = open(t, dir, false)
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
