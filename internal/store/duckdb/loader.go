package duckdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Appends are acknowledged once their journal record is synced (journal.go); the loader moves them into the events
// table in the background, one transaction for everything queued since its last load, so the request path neither
// waits for DuckDB's append and commit nor for the writer lock that maintenance holds. Every read of the store waits
// until the events acknowledged before it began are in the table (awaitLog): a counter is visible to the next read
// after the acknowledgement, as when the append committed in place.

// maxQueuedEvents and maxQueuedBytes bound the events acknowledged but not yet in the table, held in memory for
// the loader (bytes as their journal records count them: the queue keeps the same strings, without user keys): an
// Append past either waits for the loader.
const (
	maxQueuedEvents = 128 << 10
	maxQueuedBytes  = 64 << 20
)

// loadRetry is how long the loader waits before trying a failed load again.
const loadRetry = time.Second

// loaderState is the loader's queue; guarded by Store.logMu.
type loaderState struct {
	// logged is the highest Seq acknowledged, loaded the highest in the events table.
	logged, loaded store.Seq
	queued         []store.EventBatch
	queuedEvents   int
	queuedBytes    int
	// loadErr is the last load's error, nil once a load succeeds: appends are refused and reads fail meanwhile.
	loadErr error
	// ackedAt is when the latest queued append was acknowledged.
	ackedAt time.Time
	// loadedCh is closed (and replaced) after every load attempt.
	loadedCh chan struct{}
}

// Append implements store.EventLog: the batches are durable once their journal record is synced, and in the
// events table once the loader has moved them (reads wait for that).
func (s *Store) Append(ctx context.Context, batches []store.EventBatch) (store.Seq, error) {
	// The queue keeps copies without the user keys (the table stores the UserID), so that what waits for the
	// loader does not grow with the keys' length.
	queued := make([]store.EventBatch, len(batches))
	n := 0
	for i, b := range batches {
		evs := slices.Clone(b.Events)
		for j := range evs {
			if evs[j].User.IsZero() {
				evs[j].User = domain.HashUser(evs[j].UserKey)
			}
			evs[j].UserKey = ""
		}
		queued[i] = store.EventBatch{WorkspaceID: b.WorkspaceID, ReceivedAt: b.ReceivedAt, Events: evs}
		n += len(evs)
	}
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	s.logMu.Lock()
	first, loaded := s.ls.logged+1, s.ls.loaded
	s.logMu.Unlock()
	if n == 0 {
		return first - 1, nil
	}
	s.record = encodeRecord(s.record[:0], first, queued)
	size := len(s.record)
	if cap(s.record) > 16<<20 {
		defer func() { s.record = nil }() // one large group must not keep its buffer for good
	}
	if err := s.waitRoom(ctx, n, size); err != nil {
		return 0, err
	}
	if s.journal != nil {
		if err := s.journal.append(first, s.record, loaded); err != nil {
			return 0, fmt.Errorf("append: %w", err)
		}
	}
	s.logMu.Lock()
	s.ls.queued = append(s.ls.queued, queued...)
	s.ls.queuedEvents += n
	s.ls.queuedBytes += size
	s.ls.logged += store.Seq(n)
	s.ls.ackedAt = s.now()
	wm := s.ls.logged
	s.logMu.Unlock()
	select {
	case s.loadWake <- struct{}{}:
	default:
	}
	return wm, nil
}

// waitRoom waits until the loader's queue has room for n more events of size bytes (or is empty); it fails while
// the loader's last load failed.
func (s *Store) waitRoom(ctx context.Context, n, size int) error {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	for s.ls.loadErr == nil && s.ls.queuedEvents > 0 && (s.ls.queuedEvents+n > maxQueuedEvents || s.ls.queuedBytes+size > maxQueuedBytes) {
		ch := s.ls.loadedCh
		s.logMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.logMu.Lock()
			return fmt.Errorf("append: %w", ctx.Err())
		}
		s.logMu.Lock()
	}
	if s.ls.loadErr != nil {
		return fmt.Errorf("append: the events table is not taking events: %w", s.ls.loadErr)
	}
	return nil
}

// awaitLog waits until every event acknowledged before the call is in the events table.
func (s *Store) awaitLog(ctx context.Context) error {
	s.logMu.Lock()
	target := s.ls.logged
	for s.ls.loaded < target {
		if s.ls.loadErr != nil {
			err := s.ls.loadErr
			s.logMu.Unlock()
			return fmt.Errorf("acknowledged events not yet readable: %w", err)
		}
		ch := s.ls.loadedCh
		s.logMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.logMu.Lock()
	}
	s.logMu.Unlock()
	return nil
}

// startLoader starts the loader over a queue that begins after Seq seq.
func (s *Store) startLoader(seq store.Seq) {
	s.ls = loaderState{logged: seq, loaded: seq, loadedCh: make(chan struct{})}
	s.loadWake, s.loaderStop, s.loaderDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.loadLoop()
}

// stopLoader loads what is queued (one attempt) and stops the loader.
func (s *Store) stopLoader() {
	close(s.loaderStop)
	<-s.loaderDone
}

// loadLoop moves queued batches into the events table until stopLoader; a failed load is tried again after
// loadRetry.
func (s *Store) loadLoop() {
	defer close(s.loaderDone)
	ctx := context.Background()
	stopping := false
	for {
		s.logMu.Lock()
		take, n, size, at := s.ls.queued, s.ls.queuedEvents, s.ls.queuedBytes, s.ls.ackedAt
		s.ls.queued, s.ls.queuedEvents, s.ls.queuedBytes = nil, 0, 0
		s.logMu.Unlock()
		if len(take) > 0 {
			seq, err := s.load(ctx, take, at)
			s.logMu.Lock()
			if err != nil {
				s.ls.loadErr = fmt.Errorf("load events: %w", err)
				s.ls.queued, s.ls.queuedEvents, s.ls.queuedBytes = append(take, s.ls.queued...), s.ls.queuedEvents+n, s.ls.queuedBytes+size
				s.log.Error("loading acknowledged events into the events table failed; retrying", "error", err.Error())
			} else {
				s.ls.loadErr, s.ls.loaded = nil, seq
			}
			close(s.ls.loadedCh)
			s.ls.loadedCh = make(chan struct{})
			failed := err != nil
			s.logMu.Unlock()
			if !failed {
				continue
			}
			if stopping {
				return
			}
			select {
			case <-time.After(loadRetry):
			case <-s.loaderStop:
				stopping = true
			}
			continue
		}
		if stopping {
			return
		}
		select {
		case <-s.loadWake:
		case <-s.loaderStop:
			stopping = true
		}
	}
}

// replayJournal loads the journal's records past the events table's watermark (a crash after their
// acknowledgement) and then empties the journal: every event in it is in the table.
func (s *Store) replayJournal(ctx context.Context, records []journalRecord) error {
	loaded := 0
	for _, r := range records {
		n := 0
		for _, b := range r.batches {
			n += len(b.Events)
		}
		last := r.first + store.Seq(n) - 1
		if last <= s.seq {
			continue
		}
		if r.first != s.seq+1 {
			return fmt.Errorf("journal: a record starts at Seq %d, the events table ends at %d", r.first, s.seq)
		}
		if _, err := s.load(ctx, r.batches, s.now()); err != nil {
			return fmt.Errorf("journal: load: %w", err)
		}
		loaded += n
	}
	if loaded > 0 {
		s.log.Info("loaded acknowledged events from the journal", "events", loaded, "watermark", int64(s.seq))
	}
	return s.journal.reset()
}
