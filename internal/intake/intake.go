// Package intake is the write path between the HTTP API and the stores: it deduplicates events (SPEC §3.6),
// commits concurrent requests together (group commit: one durable append serves many requests), stores quarantine
// records and idempotent responses, and writes the catalog's explicit values and funnel posts. Validation and
// decoding happen before (internal/ingest, internal/catalog); catalog inference and conversion credits are derived
// after, from the event log (internal/derive).
package intake

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Config configures New.
type Config struct {
	Meta   store.MetaStore
	Events store.EventStore
	Logger *slog.Logger
	// OnAppend, when set, is called after every durable append with the events appended (with their Seqs) and
	// the log's watermark; it hands them to the upkeep of derived data. It must not keep events beyond its own
	// bound of memory.
	OnAppend func(events []store.StoredEvent, watermark store.Seq)
	// OnCatalog, when set, is called after an explicit catalog write of a workspace (goals, windows, channels and
	// parents change credits).
	OnCatalog func(workspaceID string)
	// MaxCampaigns bounds the campaigns of each workspace's catalog (0: no limit); see AdmitCampaigns.
	MaxCampaigns int
	// Throttle, when set, is called after a request is committed, before Commit returns, with the log's watermark:
	// it delays the acknowledgement while the upkeep of derived data is too far behind, so that ingest cannot
	// outrun it (backpressure).
	Throttle func(ctx context.Context, watermark store.Seq)
	// Exclusive, when set, runs every append — deduplication and the append itself — while no other writer of the
	// event log appends (several nodes sharing one event store). Under it the dedup index first catches up with
	// the events the other writers appended, read back from the log, so a uuid stored through any node is a
	// duplicate on every node.
	Exclusive func(ctx context.Context, fn func(ctx context.Context) error) error
}

// catchUpBatch is how many log events the dedup index reads at a time when it catches up with other writers.
const catchUpBatch = 50_000

// Service is the write path. It is safe for concurrent use.
type Service struct {
	meta      store.MetaStore
	events    store.EventStore
	log       *slog.Logger
	onAppend  func([]store.StoredEvent, store.Seq)
	onCatalog func(string)
	quota     *campaignQuota // nil: no campaign limit
	throttle  func(context.Context, store.Seq)
	exclusive func(context.Context, func(context.Context) error) error

	inflight inflightKeys // Idempotency-Keys whose first request runs on this node

	// lead is held (a token in it) by the one committer at a time: it holds the dedup index and the log order. It
	// is a channel rather than a mutex so that a request waiting for it also waits for its own group's commit, and
	// returns as soon as that is done instead of queueing behind the next group's.
	lead    chan struct{}
	queueMu sync.Mutex
	queue   []*pending
	uuids   *uuidSet
	// seen is the log Seq through which every stored event's hash is in uuids.
	seen store.Seq
	// watermark is the log's watermark after the latest append acknowledged by this node.
	watermarkMu sync.Mutex
	watermark   store.Seq
}

// New returns the service, its dedup index seeded with every stored event (8 bytes per event).
func New(ctx context.Context, cfg Config) (*Service, error) {
	s := &Service{meta: cfg.Meta, events: cfg.Events, log: cfg.Logger, onAppend: cfg.OnAppend, onCatalog: cfg.OnCatalog,
		throttle: cfg.Throttle, exclusive: cfg.Exclusive, lead: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxCampaigns > 0 {
		s.quota = &campaignQuota{meta: cfg.Meta, max: cfg.MaxCampaigns, known: map[string]map[string]struct{}{}}
	}
	// The watermark is read first: events appended meanwhile by another writer are read again when the index
	// catches up, which adds nothing twice that matters (a hash present twice is still just present).
	wm, err := cfg.Events.Watermark(ctx)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	s.watermark, s.seen = wm, wm
	s.uuids = newUUIDSet()
	if err := cfg.Events.UUIDHashes(ctx, func(hs []uint64) error {
		s.uuids.load(hs)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("intake: load the dedup index: %w", err)
	}
	s.uuids.finishLoad()
	return s, nil
}

// Watermark returns the event log's watermark after the latest append this service acknowledged: every event
// acknowledged before the call has a Seq at most this.
func (s *Service) Watermark() store.Seq {
	s.watermarkMu.Lock()
	defer s.watermarkMu.Unlock()
	return s.watermark
}

// Request is what one ingest request commits.
type Request struct {
	WorkspaceID string
	ReceivedAt  time.Time
	// Events are the validated events in input order. An event whose uuid is already stored in the workspace, or
	// appears earlier in the request (or in a request committed before it), is a duplicate: it is not stored and
	// changes nothing (the first stored copy wins).
	Events []domain.Event
	// Quarantine records are stored with the events.
	Quarantine []store.QuarantineRecord
}

// Result says, per Request.Events element, whether it was a duplicate.
type Result struct {
	Duplicate []bool
}

// Accepted is the number of events stored.
func (r Result) Accepted() int {
	n := 0
	for _, d := range r.Duplicate {
		if !d {
			n++
		}
	}
	return n
}

// pending is one request waiting in the group-commit queue.
type pending struct {
	req  Request
	res  Result
	err  error
	done chan struct{}
}

// maxGroupEvents bounds the events committed together.
const maxGroupEvents = 250_000

// Commit stores a request durably: when it returns without error, its new events and quarantine records survive a
// crash. Concurrent calls are committed together: whoever takes the writer lock commits every queued request in
// queue order with one append, so one sync serves many requests. If a group fails, its requests are retried one by
// one, so one bad request fails alone.
func (s *Service) Commit(ctx context.Context, req Request) (Result, error) {
	res, err := s.commit(ctx, req)
	if err == nil && s.throttle != nil && len(req.Events) > 0 {
		s.throttle(ctx, s.Watermark())
	}
	return res, err
}

// commit is Commit without the throttle.
func (s *Service) commit(ctx context.Context, req Request) (Result, error) {
	p := &pending{req: req, done: make(chan struct{})}
	s.queueMu.Lock()
	s.queue = append(s.queue, p)
	s.queueMu.Unlock()
	for {
		select {
		case <-p.done:
			return p.res, p.err
		case s.lead <- struct{}{}:
		}
		select {
		case <-p.done: // committed by the group that held the lead
			<-s.lead
			return p.res, p.err
		default:
		}
		s.queueMu.Lock()
		n, events := 0, 0
		for n < len(s.queue) && (n == 0 || events+len(s.queue[n].req.Events) <= maxGroupEvents) {
			events += len(s.queue[n].req.Events)
			n++
		}
		group := append([]*pending(nil), s.queue[:n]...)
		clear(s.queue[:n]) // the backing array must not keep committed requests (and their events) reachable
		s.queue = s.queue[n:]
		s.queueMu.Unlock()
		ctx := context.WithoutCancel(ctx) // the group commits for every member, whoever leads it
		if err := s.commitGroup(ctx, group); err != nil && len(group) > 1 {
			for _, g := range group {
				g.err = s.commitGroup(ctx, []*pending{g})
			}
		} else if err != nil {
			group[0].err = err
		}
		for _, g := range group {
			if g.err != nil {
				g.res = Result{}
			}
			close(g.done)
		}
		<-s.lead
	}
}

// commitGroup deduplicates and stores the requests of a group, under the Exclusive lock when there is one; the
// caller holds the lead.
func (s *Service) commitGroup(ctx context.Context, group []*pending) error {
	if s.exclusive == nil {
		return s.appendGroup(ctx, group)
	}
	return s.exclusive(ctx, func(ctx context.Context) error {
		if err := s.catchUp(ctx); err != nil {
			return err
		}
		return s.appendGroup(ctx, group)
	})
}

// catchUp adds the hashes of the events other writers appended since s.seen to the dedup index; the caller holds
// the Exclusive lock.
func (s *Service) catchUp(ctx context.Context) error {
	for {
		evs, err := s.events.ReadEvents(ctx, s.seen, catchUpBatch)
		if err != nil {
			return fmt.Errorf("intake: catch up with other writers: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		hashes := make([]uint64, len(evs))
		for i := range evs {
			hashes[i] = store.UUIDHash(evs[i].WorkspaceID, evs[i].UUID)
		}
		s.uuids.add(hashes)
		s.seen = evs[len(evs)-1].Seq
		if len(evs) < catchUpBatch {
			return nil
		}
	}
}

// appendGroup deduplicates and stores the requests of a group.
func (s *Service) appendGroup(ctx context.Context, group []*pending) error {
	type ref struct{ g, i int }
	hashes := map[ref]uint64{}
	seen := map[string]bool{}
	candidates := map[string][]string{} // workspace → uuids whose hash is already known
	for gi, p := range group {
		r := &p.req
		p.res = Result{Duplicate: make([]bool, len(r.Events))}
		for i := range r.Events {
			u := r.Events[i].UUID
			key := r.WorkspaceID + "\x00" + u
			if seen[key] {
				p.res.Duplicate[i] = true
				continue
			}
			seen[key] = true
			h := store.UUIDHash(r.WorkspaceID, u)
			hashes[ref{gi, i}] = h
			if s.uuids.has(h) {
				candidates[r.WorkspaceID] = append(candidates[r.WorkspaceID], u)
			}
		}
	}
	stored := map[string]bool{}
	for ws, uuids := range candidates {
		found, err := s.events.StoredUUIDs(ctx, ws, uuids)
		if err != nil {
			return fmt.Errorf("intake: dedup: %w", err)
		}
		for u := range found {
			stored[ws+"\x00"+u] = true
		}
	}
	var batches []store.EventBatch
	var quarantine []store.QuarantineRecord
	var newHashes []uint64
	for gi, p := range group {
		r := &p.req
		b := store.EventBatch{WorkspaceID: r.WorkspaceID, ReceivedAt: r.ReceivedAt, Events: make([]domain.Event, 0, len(r.Events))}
		for i := range r.Events {
			if p.res.Duplicate[i] {
				continue
			}
			if stored[r.WorkspaceID+"\x00"+r.Events[i].UUID] {
				p.res.Duplicate[i] = true
				continue
			}
			e := r.Events[i]
			if e.User.IsZero() {
				e.User = domain.HashUser(e.UserKey)
			}
			b.Events = append(b.Events, e)
			newHashes = append(newHashes, hashes[ref{gi, i}])
		}
		if len(b.Events) > 0 {
			batches = append(batches, b)
		}
		quarantine = append(quarantine, r.Quarantine...)
	}
	if len(batches) > 0 {
		wm, err := s.events.Append(ctx, batches)
		if err != nil {
			return fmt.Errorf("intake: append: %w", err)
		}
		s.uuids.add(newHashes)
		s.seen = wm
		s.watermarkMu.Lock()
		s.watermark = max(s.watermark, wm)
		s.watermarkMu.Unlock()
		if s.onAppend != nil {
			total := 0
			for _, b := range batches {
				total += len(b.Events)
			}
			stored := make([]store.StoredEvent, 0, total)
			seq := wm - store.Seq(total)
			for _, b := range batches {
				for _, e := range b.Events {
					seq++
					stored = append(stored, store.StoredEvent{WorkspaceID: b.WorkspaceID, Seq: seq, ReceivedAtMS: b.ReceivedAt.UnixMilli(), Event: e})
				}
			}
			s.onAppend(stored, wm)
		}
	}
	if len(quarantine) > 0 {
		if err := s.meta.AddQuarantine(ctx, quarantine); err != nil {
			return fmt.Errorf("intake: quarantine: %w", err)
		}
	}
	return nil
}

// UpdateCatalog writes explicit catalog values (SPEC §3.12) with update, a read-modify-write over the workspace's
// catalog that is atomic against every other catalog write, inference from events included.
func (s *Service) UpdateCatalog(ctx context.Context, ws string, update func([]domain.Campaign) ([]domain.Campaign, error)) error {
	if err := s.meta.UpdateCampaigns(ctx, ws, update); err != nil {
		return err
	}
	if s.onCatalog != nil {
		s.onCatalog(ws)
	}
	return nil
}

// PutFunnel sets posted funnel stages (SPEC §3.13).
func (s *Service) PutFunnel(ctx context.Context, ws string, entries []store.FunnelEntry) error {
	return s.meta.PutFunnel(ctx, ws, entries)
}
