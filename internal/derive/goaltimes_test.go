package derive

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// TestGoalTimesNeverSkipsAGoalEvent checks the filter against the exact goal times of every user: a lookup is
// never skipped for a user with a goal event in the interaction's window, and with room to spare nearly every
// lookup that would find nothing is skipped — also for users with goal events outside the window.
func TestGoalTimesNeverSkipsAGoalEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const day = 86_400_000
	for _, size := range []int{64 << 10, 8 << 20} { // crowded and roomy
		g := newGoalTimes(size)
		goals := map[domain.UserID][]int64{}
		users := make([]domain.UserID, 20_000)
		for i := range users {
			users[i] = domain.HashUser(string(rune('a'+i%26)) + string(rune(i)))
		}
		edges := []int64{-5_000, -goalTimeBucketMS, -goalTimeBucketMS - 1, 0, 1, goalTimeBucketMS - 1, goalTimeBucketMS,
			math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
		randTime := func() int64 {
			if rng.IntN(10) == 0 {
				return edges[rng.IntN(len(edges))]
			}
			return 1_700_000_000_000 + rng.Int64N(90*day)
		}
		for _, u := range users[:10_000] { // the other half has no goal event
			for range rng.IntN(4) + 1 {
				ms := randTime()
				g.add("w", u, ms)
				goals[u] = append(goals[u], ms)
			}
		}
		windows := []int64{0, 1, 3_600_000, day, 36 * 3_600_000, 7 * day, 30 * day}
		var skippable, skipped int
		for range 300_000 {
			u := users[rng.IntN(len(users))]
			from := randTime()
			if rng.IntN(4) == 0 && len(goals[u]) > 0 { // near one of its goal events, on either side
				from = goals[u][rng.IntN(len(goals[u]))] + rng.Int64N(2*day) - day
			}
			to := from + windows[rng.IntN(len(windows))]
			if to < from {
				to = math.MaxInt64
			}
			found := slices.ContainsFunc(goals[u], func(ms int64) bool { return from <= ms && ms <= to })
			may := g.mayHaveIn("w", u, from, to)
			if found && !may {
				t.Fatalf("size %d: user with a goal event in [%d, %d] skipped (its goal times %v)", size, from, to, goals[u])
			}
			if !found {
				skippable++
				if !may {
					skipped++
				}
			}
		}
		share := float64(skipped) / float64(skippable)
		t.Logf("size %d: %.2f%% of the lookups that find nothing skipped", size, 100*share)
		if size == 8<<20 && share < 0.97 {
			t.Errorf("size %d: only %.2f%% of the lookups that find nothing skipped", size, 100*share)
		}
	}
}
