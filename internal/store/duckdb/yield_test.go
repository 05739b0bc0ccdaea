package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// TestMaintenanceWaitsForReads: a maintenance step waits while a read query runs and goes on once it has ended;
// it does not wait on a quiet store, and its wait ends with its context.
func TestMaintenanceWaitsForReads(t *testing.T) {
	ctx := context.Background()
	a := &readActivity{}
	if !a.quiet() {
		t.Fatal("a store that has never been read is not quiet")
	}
	end := a.begin()
	done := make(chan struct{})
	go func() {
		a.yield(ctx)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("maintenance went on while a read query was running")
	case <-time.After(maxYield / 10):
	}
	end()
	select {
	case <-done:
	case <-time.After(maxYield):
		t.Fatal("maintenance still waits after the read ended")
	}
	// Cancelled: the wait ends at once even while a read runs.
	end = a.begin()
	defer end()
	c, cancel := context.WithCancel(ctx)
	cancel()
	stopped := make(chan struct{})
	go func() {
		a.yield(c)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(maxYield / 2):
		t.Fatal("a cancelled maintenance step kept waiting")
	}
	var none *readActivity // snapshots track nothing
	none.begin()()
	none.yield(ctx)
}

// TestReadsAreTracked: the store's node queries count as reads while they run, and no longer once they return.
func TestReadsAreTracked(t *testing.T) {
	s := open(t, "")
	defer s.Close()
	seen := false
	s.reader.onQuery = func(string, []any) { seen = !s.reads.quiet() }
	q := store.AggregateQuery{WorkspaceID: "k", FromMS: 0, ToMS: 86_400_000, Unique: true,
		Targets: []store.AggregateTarget{{ID: "T", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}}}}
	if _, err := s.Aggregate(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Fatal("a UNIQUE node query ran while the store looked quiet to maintenance")
	}
	time.Sleep(2 * readQuietGap)
	if !s.reads.quiet() {
		t.Fatal("the store still looks busy after its reads ended")
	}
}
