package derive

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// TestGoalTimesNeverSkipsAGoalEvent checks the sketch against the exact latest goal time of every user: a lookup is
// never skipped for a user with a goal event at or after the interaction, and with room to spare most lookups that
// would find nothing are skipped.
func TestGoalTimesNeverSkipsAGoalEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{64 << 10, 8 << 20} { // crowded and roomy
		g := newGoalTimes(size)
		latest := map[domain.UserID]int64{}
		users := make([]domain.UserID, 20_000)
		for i := range users {
			users[i] = domain.HashUser(string(rune('a'+i%26)) + string(rune(i)))
		}
		times := []int64{-5_000, 0, 1, 59_999, 60_000, 60_001, math.MaxInt64, math.MinInt64}
		randTime := func() int64 {
			if rng.IntN(10) == 0 {
				return times[rng.IntN(len(times))]
			}
			return 1_700_000_000_000 + rng.Int64N(90*86_400_000)
		}
		for _, u := range users[:10_000] { // the other half has no goal event
			for range rng.IntN(4) + 1 {
				ms := randTime()
				g.add("w", u, ms)
				if old, ok := latest[u]; !ok || ms > old {
					latest[u] = ms
				}
			}
		}
		var skippable, skipped int
		for range 200_000 {
			u := users[rng.IntN(len(users))]
			ms := randTime()
			l, ok := latest[u]
			may := g.mayHaveFrom("w", u, ms)
			if ok && l >= ms && !may {
				t.Fatalf("size %d: user with a goal event at %d skipped for an interaction at %d", size, l, ms)
			}
			if !ok || l < ms {
				skippable++
				if !may {
					skipped++
				}
			}
		}
		share := float64(skipped) / float64(skippable)
		t.Logf("size %d: %.1f%% of the lookups that find nothing skipped", size, 100*share)
		if size == 8<<20 && share < 0.9 {
			t.Errorf("size %d: only %.1f%% of the lookups that find nothing skipped", size, 100*share)
		}
	}
}
