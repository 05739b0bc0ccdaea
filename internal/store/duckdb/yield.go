package duckdb

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Maintenance yields to node queries. On a small machine a compaction, a rewrite or a merge takes the cores for
// seconds, and a Stats call running beside it takes about twice as long. Work that appends cannot wait for — a
// compaction or credit move due by the tail's size — runs at once; work that only makes queries a little cheaper
// or the files smaller — a rewrite of facts or of the credit chunks, and what a pause in appends makes due (the
// compaction of a short tail, dropping void credits, merging user set rows, the checkpoint) — waits until no node
// query has run for queriesQuiet, or until it has waited yieldWait whatever the queries.
//
// Work that has started yields too: a compaction, a rewrite or a move run by Maintain pauses between its statements
// (never inside a transaction) while node queries run, for at most stepYield in all, so that a Stats call that
// arrives meanwhile shares the cores with one statement at most (up to about a second) rather than with the
// whole step.
const (
	queriesQuiet = 2 * time.Second
	yieldWait    = time.Minute
	stepYield    = 15 * time.Second
	yieldPoll    = 50 * time.Millisecond
)

// queryPause follows the store's node queries for maintenance: each one notes its start (reader.countRead), on
// the store's clock.
type queryPause struct {
	now  func() time.Time
	last atomic.Int64 // Unix nanoseconds of the latest node query's start (0: none yet)
}

// note records that a node query starts now.
func (p *queryPause) note() { p.last.Store(p.now().UnixNano()) }

// busy reports whether a node query started within queriesQuiet before at.
func (p *queryPause) busy(at time.Time) bool {
	last := p.last.Load()
	return last != 0 && at.Sub(time.Unix(0, last)) < queriesQuiet
}

// deferral is one kind of work that yields to node queries: since when it has been waiting (zero: it is not).
type deferral struct {
	mu    sync.Mutex
	since time.Time
}

// wait reports whether work due at now waits, given whether node queries are busy: it does while they are, for at
// most yieldWait from the first time it was put off (until clear, work of the kind then runs whatever the queries).
func (d *deferral) wait(now time.Time, busy bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !busy {
		d.since = time.Time{}
		return false
	}
	if d.since.IsZero() {
		d.since = now
	}
	return now.Sub(d.since) < yieldWait
}

// clear records that no work of the kind is due: the next wait starts afresh.
func (d *deferral) clear() {
	d.mu.Lock()
	d.since = time.Time{}
	d.mu.Unlock()
}

// maintenanceStep is one run of a maintenance step: the times of its phases, for its log line, and, when it
// yields, what is left of its allowance to pause for node queries. Its methods do nothing on a nil step.
type maintenanceStep struct {
	now     func() time.Time
	last    time.Time
	phases  []string
	queries *queryPause                          // nil: the step does not pause
	sleep   func(context.Context, time.Duration) // the store's
	left    time.Duration
	until   func() bool // when set and true, the step pauses no more
}

// newStep starts a maintenance step that pauses for node queries when yield is set.
func (s *Store) newStep(yield bool) *maintenanceStep {
	st := &maintenanceStep{now: s.now, last: s.now(), sleep: s.sleep}
	if yield {
		st.queries, st.left = &s.queries, s.stepYield
	}
	return st
}

// pause waits while node queries run, polling every yieldPoll, for at most what is left of the step's allowance,
// and not once until reports true.
func (st *maintenanceStep) pause(ctx context.Context) {
	for st != nil && st.queries != nil && st.left > 0 && ctx.Err() == nil && st.queries.busy(st.now()) && (st.until == nil || !st.until()) {
		d := min(st.left, yieldPoll)
		st.sleep(ctx, d)
		st.left -= d
	}
}

// mark ends the phase called name.
func (st *maintenanceStep) mark(name string) {
	if st == nil {
		return
	}
	at := st.now()
	st.phases = append(st.phases, fmt.Sprintf("%s=%d", name, at.Sub(st.last).Milliseconds()))
	st.last = at
}

// String lists the phases as name=milliseconds, in order.
func (st *maintenanceStep) String() string {
	if st == nil {
		return ""
	}
	return strings.Join(st.phases, " ")
}

// sleepFor waits for d or until ctx is done.
func sleepFor(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
