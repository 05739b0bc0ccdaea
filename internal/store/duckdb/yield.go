package duckdb

import (
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
const (
	queriesQuiet = 2 * time.Second
	yieldWait    = time.Minute
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
