package embedded

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

// TestStartupDoesNotGrowWithUsers checks that opening a store does not take longer with more users: the same
// number of events, from 100 users in one store and from as many users as events in the other, and each store
// opened three times; the fastest opening of each is compared as a ratio, measured in one run (user numbers and the
// tail index are loaded by maintenance after Open, and nothing Open reads is kept per user).
func TestStartupDoesNotGrowWithUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("fills two stores")
	}
	if raceDetector {
		t.Skip("compares timings of Go code and DuckDB's; run without -race (as .ci/run does)")
	}
	const events = 400_000
	ctx := context.Background()
	fill := func(users int) string {
		dir := t.TempDir()
		s, err := Open(ctx, Options{DataDir: dir, DuckDB: duckdb.Options{MemoryLimit: "512MB", Threads: 2}})
		if err != nil {
			t.Fatal(err)
		}
		for chunk := 0; chunk < events; chunk += 10_000 {
			evs := make([]domain.Event, 0, 10_000)
			for i := chunk; i < chunk+10_000; i++ {
				campaign := "c" + strconv.Itoa(i%20)
				if i%5 == 4 {
					campaign = ""
				}
				evs = append(evs, userEvent("e-"+strconv.Itoa(i), "uid:user-"+strconv.Itoa(i%users),
					end.UnixMilli()-int64(i%(30*24))*3600_000, campaign))
			}
			if _, err := s.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// The users numbered and their sets built, as maintenance leaves a store.
		if err := s.Store.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	fastestOpen := func(dir string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			s, err := Open(ctx, Options{DataDir: dir, DuckDB: duckdb.Options{MemoryLimit: "512MB", Threads: 2}})
			if err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return best
	}
	few, many := fill(100), fill(events)
	// Alternated, so that a slower moment of a shared machine falls on both.
	fewTook, manyTook := fastestOpen(few), fastestOpen(many)
	fewTook, manyTook = min(fewTook, fastestOpen(few)), min(manyTook, fastestOpen(many))
	ratio := manyTook.Seconds() / fewTook.Seconds()
	t.Logf("open with %d events from 100 users: %v; from %d users: %v (ratio %.2f)", events, fewTook, events, manyTook, ratio)
	if ratio > 2 {
		t.Errorf("opening a store of %d users took %.2f times as long as one of 100 users with as many events (limit 2)", events, ratio)
	}
}
