package duckdb

import (
	"context"
	"sync"
	"time"
)

// Maintenance gives way to reads. Compaction, credit moves and checkpoints use every core DuckDB has for seconds
// at a time; a Stats query that runs beside one of their statements takes twice as long or more. So each
// maintenance step (one statement, or one range of user sets) first waits until no read query has been running
// for readQuietGap, at most maxYield: back-to-back reads (a dashboard loading, a client's calls one after another)
// run on a quiet store, and maintenance still progresses under any read load.
const (
	// readQuietGap is how long after the last read query ends maintenance waits for another one to start.
	readQuietGap = 25 * time.Millisecond
	// maxYield bounds one step's wait, so that a store read without pause keeps being maintained.
	maxYield = 2 * time.Second
	// yieldPoll is how often a waiting step looks again.
	yieldPoll = 5 * time.Millisecond
)

// readActivity tracks the read queries in flight. It measures elapsed time on the process's monotonic clock: it
// schedules work, it does not date data. A nil *readActivity tracks nothing and never waits.
type readActivity struct {
	mu     sync.Mutex
	active int
	last   time.Time // when the last read query ended
}

// begin marks a read query as running; call the returned func when it ends.
func (a *readActivity) begin() func() {
	if a == nil {
		return func() {}
	}
	a.mu.Lock()
	a.active++
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		a.active--
		a.last = time.Now()
		a.mu.Unlock()
	}
}

// quiet reports whether no read query runs and none ended within readQuietGap.
func (a *readActivity) quiet() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active == 0 && time.Since(a.last) >= readQuietGap
}

// yield waits until reads are quiet, at most maxYield, or until ctx ends.
func (a *readActivity) yield(ctx context.Context) {
	if a == nil || a.quiet() {
		return
	}
	deadline := time.NewTimer(maxYield)
	defer deadline.Stop()
	tick := time.NewTicker(yieldPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
			if a.quiet() {
				return
			}
		}
	}
}
