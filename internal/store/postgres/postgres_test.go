package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/storetest"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// open opens a store on dsn, closed when t ends.
func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunMeta(t, func(t *testing.T) store.MetaStore { return open(t, testserver.Postgres(t)) })
}

// TestMigrate checks that processes opening one database at once both succeed (they take turns migrating), that
// migrating again changes nothing, and that Ping then answers.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				errs[i] = Migrate(ctx, dsn)
				return
			}
			s, err := Open(ctx, dsn, time.Now)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	s := open(t, dsn)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if list, _ := migrations(); n != len(list) {
		t.Fatalf("schema_migrations holds %d versions, want %d", n, len(list))
	}
}

// TestTwoNodes runs the contract's cross-process guarantees on two stores with a pool each, as two nodes sharing a
// database would: concurrent schedule claims yield one run per occurrence, concurrent run claims (of queued runs,
// then of runs whose lease expired) claim each run once, and concurrent catalog read-modify-writes lose nothing.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	nodes := []*Store{open(t, dsn), open(t, dsn)}
	const (
		reports          = 12
		workersPerNode   = 4
		catalogPerWorker = 5
	)
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	const ws = "aaaaaaaaaaaaaaaaaaaaaaaa"
	for i := 0; i < reports; i++ {
		next := t0.Add(-time.Duration(i) * time.Minute)
		r := store.Report{ID: fmt.Sprintf("r%02d", i), WorkspaceID: ws, Name: fmt.Sprintf("R%02d", i), Stem: fmt.Sprintf("r%02d", i),
			Definition: []byte(`{}`), NextRunAt: &next, CreatedAt: t0, UpdatedAt: t0}
		if err := nodes[i%2].CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// race runs fn on every worker of both nodes at once and returns the first error.
	race := func(fn func(node *Store, worker int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 2*workersPerNode)
		for n, node := range nodes {
			for w := 0; w < workersPerNode; w++ {
				wg.Add(1)
				go func(node *Store, worker int) {
					defer wg.Done()
					if err := fn(node, worker); err != nil {
						errs <- err
					}
				}(node, n*workersPerNode+w)
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	planned := map[string]int{}
	plan := func(_ context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
		mu.Lock()
		planned[r.ID]++
		id := fmt.Sprintf("run-%s-%d", r.ID, planned[r.ID])
		mu.Unlock()
		next := now.Add(time.Hour)
		return store.SchedulePlan{NextRunAt: &next, Run: &store.ReportRun{ID: id, CreatedAt: now, RangeStart: "2025-03-01", RangeEnd: "2025-03-01"}}, nil
	}
	race(func(node *Store, _ int) error {
		_, err := node.ClaimDueSchedules(ctx, t0, plan)
		return err
	})
	for id, n := range planned {
		if n != 1 {
			t.Fatalf("report %s: occurrence planned %d times", id, n)
		}
	}
	if n, err := nodes[0].CountQueuedRuns(ctx); err != nil || n != reports || len(planned) != reports {
		t.Fatalf("after racing schedule claims: %d queued (%v), %d reports planned; want %d", n, err, len(planned), reports)
	}

	for round, at := range []time.Time{t0, t0.Add(2 * time.Minute)} {
		var claimedMu sync.Mutex
		claimed := map[string]string{}
		race(func(node *Store, worker int) error {
			for i := 0; ; i++ {
				token := fmt.Sprintf("round%d-worker%d-%d", round, worker, i)
				r, ok, err := node.ClaimRun(ctx, store.RunClaim{Owner: fmt.Sprint("worker", worker), Token: token, At: at, LeaseUntil: at.Add(time.Minute)})
				if err != nil || !ok {
					return err
				}
				claimedMu.Lock()
				prev, twice := claimed[r.ID]
				claimed[r.ID] = token
				claimedMu.Unlock()
				if twice {
					return fmt.Errorf("round %d: run %s claimed by %s and %s", round, r.ID, prev, token)
				}
			}
		})
		if len(claimed) != reports {
			t.Fatalf("round %d: %d runs claimed, want %d", round, len(claimed), reports)
		}
		for id, token := range claimed {
			if r, err := nodes[round%2].ReportRun(ctx, id); err != nil || r.ClaimToken != token {
				t.Fatalf("round %d: run %s holds %+v (%v), want token %s", round, id, r, err, token)
			}
		}
	}

	race(func(node *Store, worker int) error {
		for i := 0; i < catalogPerWorker; i++ {
			err := node.UpdateCampaigns(ctx, ws, func(cur []domain.Campaign) ([]domain.Campaign, error) {
				c := domain.Campaign{ID: "c1", HasExplicit: true, CreatedAt: t0, UpdatedAt: t0}
				var tags []string
				for _, old := range cur {
					if old.ID == "c1" && old.Explicit.Tags != nil {
						c, tags = old, append(tags, *old.Explicit.Tags...)
					}
				}
				tags = append(tags, fmt.Sprintf("w%d-%d", worker, i))
				c.Explicit.Tags = &tags
				return []domain.Campaign{c}, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	cs, err := nodes[1].Campaigns(ctx, ws)
	want := 2 * workersPerNode * catalogPerWorker
	if err != nil || len(cs) != 1 || cs[0].Explicit.Tags == nil || len(*cs[0].Explicit.Tags) != want {
		t.Fatalf("after %d racing catalog updates: %+v %v", want, cs, err)
	}
}
