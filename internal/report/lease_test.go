package report

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/store"
)

// leaseSpy passes RenewRun to the store and reports each renewal's new expiry; paused, it renews nothing (as a node
// that stalls) and says nothing.
type leaseSpy struct {
	Store
	paused  atomic.Bool
	renewed chan time.Time
}

func (s *leaseSpy) RenewRun(ctx context.Context, runID, token string, until time.Time) error {
	if s.paused.Load() {
		return nil
	}
	err := s.Store.RenewRun(ctx, runID, token, until)
	if err == nil {
		select {
		case s.renewed <- until:
		default:
		}
	}
	return err
}

// waitRenewal waits for a renewal that extends the lease to at least until.
func (s *leaseSpy) waitRenewal(t *testing.T, until time.Time) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-s.renewed:
			if !got.Before(until) {
				return
			}
		case <-deadline:
			t.Fatalf("no lease renewal up to %s", until)
		}
	}
}

// TestRunLease: a worker renews the lease of the run it generates, so the run is not claimable while it works;
// once it stops renewing and the lease expires, another worker takes the run over and finishes it, and the first
// worker, told by the store that its claim is gone, abandons the run without touching it.
func TestRunLease(t *testing.T) {
	ctx := context.Background()
	start := utc("2025-03-10T06:00:00Z")
	e := newTestEnv(t, "UTC", start)
	spy := &leaseSpy{Store: e.st, renewed: make(chan time.Time, 1)}
	const lease = 30 * time.Second
	opts := Options{Now: e.clock.Now, Retention: 168 * time.Hour, PollInterval: 10 * time.Millisecond, LeaseDuration: lease,
		LeaseRenewInterval: 5 * time.Millisecond}
	gen := &fakeGenerator{block: true, started: make(chan struct{}, 1)}
	opts.Generator, opts.Observer, opts.Owner = gen, gen, "node-a"
	nodeA := NewService(spy, opts)
	rep, err := nodeA.Create(ctx, e.ws, mustDef(t, `{"name":"R","range":{"last_days":7}}`))
	if err != nil {
		t.Fatal(err)
	}
	run, err := nodeA.RunNow(ctx, e.ws, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	processed := make(chan error, 1)
	go func() {
		_, err := nodeA.ProcessNext(ctx)
		processed <- err
	}()
	select {
	case <-gen.started:
	case <-time.After(10 * time.Second):
		t.Fatal("node a did not start the run")
	}
	opts.Generator, opts.Owner = &fakeGenerator{}, "node-b"
	nodeB := NewService(e.st, opts)

	// Renewed: past the first lease's end, the run is still held.
	e.clock.Advance(20 * time.Second)
	spy.waitRenewal(t, start.Add(20*time.Second+lease))
	e.clock.Advance(20 * time.Second)
	if ok, err := nodeB.ProcessNext(ctx); ok || err != nil {
		t.Fatalf("a renewed run was taken over: %t %v", ok, err)
	}

	// Node a stalls; its lease expires and node b takes the run over.
	spy.paused.Store(true)
	e.clock.Advance(2 * lease)
	if ok, err := nodeB.ProcessNext(ctx); !ok || err != nil {
		t.Fatalf("take-over of an expired lease: %t %v", ok, err)
	}
	got, _ := e.st.ReportRun(ctx, run.ID)
	if got.Status != store.RunSuccessful {
		t.Fatalf("run finished by node b: %+v", got)
	}
	// Node a learns at its next renewal that the run is gone and abandons it.
	spy.paused.Store(false)
	select {
	case err := <-processed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node a kept generating a run it lost")
	}
	if after, _ := e.st.ReportRun(ctx, run.ID); after.Status != store.RunSuccessful || after.FinishedAt == nil ||
		!after.FinishedAt.Equal(*got.FinishedAt) || after.Filename != got.Filename {
		t.Fatalf("node a touched the run it lost: %+v, was %+v", after, got)
	}
}
