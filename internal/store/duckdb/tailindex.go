package duckdb

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// tailIndex keeps in memory what UNIQUE node queries read from the log's tail: per workspace and campaign, the
// campaign events newer than facts_watermark that count (counter ≠ 0), with their time, user, cell, channels,
// counter and failure key. A query then reads its campaigns' entries instead of scanning the tail for them and
// reading its grouped rows back (on a 10M store with a 411K-event tail, about 7 of the 13 ms the tail added to the
// largest campaign's query).
//
// Appends add their entries after their commit and before they return; a compaction drops the entries it moved into
// facts once its swap has committed; a query takes its campaigns' entries, then opens its snapshot and skips the
// entries up to the snapshot's facts_watermark. A drop follows the commit, so the entries a query takes hold every
// event newer than any watermark its snapshot can see, and every append acknowledged before it started; mu guards
// the maps only and is never held across a database call. Maintenance loads the index at its first step (appends
// wait); until then, queries read the tail from the log.
type tailIndex struct {
	mu       sync.RWMutex
	loaded   bool
	disabled bool                              // more distinct failure keys than an entry can refer to: queries read the log
	entries  map[string]map[string][]tailEntry // workspace → campaign → entries in seq order
	failures []string                          // failure keys by index (tailEntry.fk)
	fkIndex  map[string]uint16
}

// tailEntry is one counted campaign event of the log's tail. It holds no pointers, so the collector does not scan
// the index.
type tailEntry struct {
	seq, ts  int64
	hi, lo   uint64
	cell     int32
	channels uint16
	counter  uint8
	fk       uint16 // index in tailIndex.failures; 0 is the empty key
}

// tailEvent is an appended event as the index records it.
type tailEvent struct {
	seq      int64
	ws       string
	campaign string
	ts       int64
	user     domain.UserID
	cell     int32
	channels uint16
	counter  uint8
	fk       string
}

// counted reports whether a campaign event with this counter is in the index (the tail's UNIQUE rows).
func counted(counter uint8) bool { return counter != 0 }

// failureKeyOf returns the failure key a UNIQUE query counts for an event: its key for failed sends and deliveries.
func failureKeyOf(counter uint8, key string) string {
	if c := domain.Counter(counter); c == domain.CounterFailedSend || c == domain.CounterFailedDelivery {
		return key
	}
	return ""
}

// addLocked records events (in seq order); the caller holds mu.
func (t *tailIndex) addLocked(evs []tailEvent) {
	if t.entries == nil {
		t.entries = map[string]map[string][]tailEntry{}
		t.failures, t.fkIndex = []string{""}, map[string]uint16{"": 0}
	}
	for i := range evs {
		e := &evs[i]
		fk, ok := t.fkIndex[e.fk]
		if !ok {
			if len(t.failures) == 1<<16 {
				t.loaded, t.disabled, t.entries = false, true, nil
				return
			}
			fk = uint16(len(t.failures))
			t.failures = append(t.failures, e.fk)
			t.fkIndex[e.fk] = fk
		}
		byCampaign := t.entries[e.ws]
		if byCampaign == nil {
			byCampaign = map[string][]tailEntry{}
			t.entries[e.ws] = byCampaign
		}
		byCampaign[e.campaign] = append(byCampaign[e.campaign], tailEntry{seq: e.seq, ts: e.ts, hi: e.user.Hi, lo: e.user.Lo,
			cell: e.cell, channels: e.channels, counter: e.counter, fk: fk})
	}
}

// add records appended events, once committed, if the index is loaded.
func (t *tailIndex) add(evs []tailEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loaded {
		t.addLocked(evs)
	}
}

// dropThrough forgets the entries up to seq (moved into facts). Slices are copied, not shifted: a query may still
// read the old ones.
func (t *tailIndex) dropThrough(seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ws, byCampaign := range t.entries {
		for c, list := range byCampaign {
			i, _ := slices.BinarySearchFunc(list, seq+1, func(e tailEntry, s int64) int { return int(min(max(e.seq-s, -1), 1)) })
			if i == len(list) {
				delete(byCampaign, c)
			} else if i > 0 {
				byCampaign[c] = slices.Clone(list[i:])
			}
		}
		if len(byCampaign) == 0 {
			delete(t.entries, ws)
		}
	}
}

// load reads the log's tail (events newer than facts_watermark) into the index. The caller holds writeMu and
// compactMu, so that no append or compaction runs meanwhile.
func (t *tailIndex) load(ctx context.Context, q queryer) error {
	rows, err := q.QueryContext(ctx, `SELECT seq, ws, campaign_id, ts, user_hi, user_lo, cell, channels, counter,
		coalesce(failure_key, '') FROM events WHERE seq > (SELECT seq FROM facts_watermark WHERE id = 1) AND is_campaign AND counter <> 0 ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("load the tail index: %w", err)
	}
	defer rows.Close()
	var evs []tailEvent
	for rows.Next() {
		var e tailEvent
		if err := rows.Scan(&e.seq, &e.ws, &e.campaign, &e.ts, &e.user.Hi, &e.user.Lo, &e.cell, &e.channels, &e.counter, &e.fk); err != nil {
			return fmt.Errorf("load the tail index: %w", err)
		}
		e.fk = failureKeyOf(e.counter, e.fk)
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load the tail index: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries, t.failures, t.fkIndex = nil, nil, nil
	t.loaded = !t.disabled
	t.addLocked(evs)
	return nil
}

// needsLoad reports whether maintenance should load the index.
func (t *tailIndex) needsLoad() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return !t.loaded && !t.disabled
}

// active reports whether the index is loaded (queries read it, appends add to it).
func (t *tailIndex) active() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.loaded
}

// span returns the entries with seq in (after, through], per workspace and campaign, and the failure keys their fk
// refers to; ok is false when the index is not loaded. The slices share the index's arrays, whose entries never
// change (appends go past their ends, drops copy), so they are read without the lock, as queries read them.
func (t *tailIndex) span(after, through int64) (entries map[string]map[string][]tailEntry, failures []string, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.loaded {
		return nil, nil, false
	}
	bySeq := func(e tailEntry, s int64) int { return int(min(max(e.seq-s, -1), 1)) }
	entries = make(map[string]map[string][]tailEntry, len(t.entries))
	for ws, byCampaign := range t.entries {
		for c, list := range byCampaign {
			from, _ := slices.BinarySearchFunc(list, after+1, bySeq)
			to, _ := slices.BinarySearchFunc(list, through+1, bySeq)
			if from == to {
				continue
			}
			if entries[ws] == nil {
				entries[ws] = map[string][]tailEntry{}
			}
			entries[ws][c] = list[from:to:to]
		}
	}
	return entries, t.failures, true
}
