package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"sync"
)

// userNumbers keeps the numbers of user_ids in memory, per workspace, by user hash (24 bytes and a directory slot
// per user; hashes only, like the intake's set of event hashes): a UNIQUE query maps the users of the log's tail
// to their numbers with it instead of joining the tail to user_ids, which probes every user (about 20 ms at a
// million users, whatever the tail's size). It is loaded by maintenance (load, under compactMu) rather than at
// start-up, so that opening the store does not take longer with more users; until then, and while a compaction
// renumbers every user (a store written before the user sets existed), queries join user_ids.
//
// Numbers only ever get added (a compaction numbers its tail's new users before the swap that adds their sets),
// so a query that reads the table after taking its database snapshot finds every number that snapshot's sets use.
type userNumbers struct {
	mu     sync.RWMutex
	tables map[string]*numberTable // nil: not loaded
}

// numberTable is an immutable table of user numbers sorted by user hash, with a directory of where each value of
// the hashes' top bits starts: a lookup reads a directory slot and, mostly, one row.
type numberTable struct {
	rows  []numberedUser
	shift uint
	dir   []uint32 // dir[b] is the first row whose hi>>shift is b or more; len(dir) = 1<<(64-shift) + 1
}

// numberedUser is one row of user_ids.
type numberedUser struct {
	hi, lo uint64
	uid    uint32
}

// newNumberTable indexes users, sorted by (hi, lo); it keeps the slice.
func newNumberTable(users []numberedUser) *numberTable {
	n := len(users)
	// About one user per directory slot.
	width := min(max(bits.Len(uint(n)), 4), 28)
	t := &numberTable{rows: users, shift: uint(64 - width), dir: make([]uint32, 1<<width+1)}
	row := 0
	for b := range t.dir {
		for row < n && users[row].hi>>t.shift < uint64(b) {
			row++
		}
		t.dir[b] = uint32(row)
	}
	return t
}

// find returns the number of user (hi, lo) (none in a nil table: a workspace without numbered users).
func (t *numberTable) find(hi, lo uint64) (uint32, bool) {
	if t == nil {
		return 0, false
	}
	b := hi >> t.shift
	for _, u := range t.rows[t.dir[b]:t.dir[b+1]] {
		if u.hi == hi && u.lo == lo {
			return u.uid, true
		}
	}
	return 0, false
}

// table returns workspace ws's numbers (nil for a workspace without numbered users), and whether they are loaded.
func (n *userNumbers) table(ws string) (*numberTable, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.tables[ws], n.tables != nil
}

// loaded reports whether the numbers are in memory.
func (n *userNumbers) loaded() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.tables != nil
}

// forget drops the numbers (queries join user_ids until the next load).
func (n *userNumbers) forget() {
	n.mu.Lock()
	n.tables = nil
	n.mu.Unlock()
}

// load reads user_ids whole. The caller holds compactMu, so no compaction numbers users meanwhile.
func (n *userNumbers) load(ctx context.Context, q queryer) error {
	rows, err := q.QueryContext(ctx, `SELECT ws, user_hi, user_lo, uid FROM user_ids ORDER BY ws, user_hi, user_lo`)
	if err != nil {
		return fmt.Errorf("user numbers: %w", err)
	}
	defer rows.Close()
	tables := map[string]*numberTable{}
	byWS, err := readNumbered(rows)
	if err != nil {
		return fmt.Errorf("user numbers: %w", err)
	}
	for ws, users := range byWS {
		tables[ws] = newNumberTable(users)
	}
	n.mu.Lock()
	n.tables = tables
	n.mu.Unlock()
	return nil
}

// add adds newly numbered users (ws, user_hi, user_lo, uid rows in that order) to loaded numbers; numbers not
// loaded stay so.
func (n *userNumbers) add(rows *sql.Rows) error {
	byWS, err := readNumbered(rows)
	if err != nil {
		return fmt.Errorf("user numbers: %w", err)
	}
	n.addUsers(byWS)
	return nil
}

// addUsers adds newly numbered users, per workspace sorted by (hi, lo), to loaded numbers; numbers not loaded stay
// so.
func (n *userNumbers) addUsers(byWS map[string][]numberedUser) {
	if !n.loaded() {
		return
	}
	merged := map[string]*numberTable{}
	for ws, users := range byWS {
		old, _ := n.table(ws)
		var stored []numberedUser
		if old != nil {
			stored = old.rows
		}
		merged[ws] = newNumberTable(mergeNumbered(stored, users))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tables == nil {
		return
	}
	tables := make(map[string]*numberTable, len(n.tables)+len(merged))
	for ws, t := range n.tables {
		tables[ws] = t
	}
	for ws, t := range merged {
		tables[ws] = t
	}
	n.tables = tables
}

// readNumbered reads (ws, user_hi, user_lo, uid) rows, grouped by workspace in their order.
func readNumbered(rows *sql.Rows) (map[string][]numberedUser, error) {
	byWS := map[string][]numberedUser{}
	var ws string
	var u numberedUser
	for rows.Next() {
		if err := rows.Scan(&ws, &u.hi, &u.lo, &u.uid); err != nil {
			return nil, err
		}
		byWS[ws] = append(byWS[ws], u)
	}
	return byWS, rows.Err()
}

// mergeNumbered merges two lists of users sorted by (hi, lo) into a new one.
func mergeNumbered(a, b []numberedUser) []numberedUser {
	out := make([]numberedUser, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if cmp.Or(cmp.Compare(a[0].hi, b[0].hi), cmp.Compare(a[0].lo, b[0].lo)) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
