// Package derive keeps what is derived from the event log up to date, off the append path: catalog inference
// (SPEC §3.14) and conversion credits (SPEC §6). A Worker follows the log's watermark: it reads the events appended
// since its progress, applies their catalog offers (store.Catalog.UpdateCampaigns, atomic against explicit PUTs),
// indexes what attribution needs per user (userIndex), re-evaluates the goal events the new events can change, and
// stores their credits together with the new progress (store.Credits.ApplyCredits). Results depend only on the
// stored data, never on arrival order: every goal event is evaluated from scratch with attribution.Catalog.Evaluate.
//
// Readers that must see derived data as fresh as the events acknowledged before them (a Stats call right after an
// ingest 200) call Wait.
package derive

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sync/errgroup"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Config configures Open.
type Config struct {
	Meta   store.MetaStore
	Events store.EventStore
	// Dir holds the per-user index.
	Dir string
	// CacheBytes bounds the per-user index's memory (block cache; memtables take about half as much again).
	CacheBytes int64
	// BatchSize is the number of log events read per step (0: DefaultBatchSize).
	BatchSize int
	// PollInterval is how often the worker looks at the log without being woken (0: DefaultPollInterval).
	PollInterval time.Duration
	// GoalTimesBytes sizes the filter of the users' goal event times (0: DefaultGoalTimesBytes).
	GoalTimesBytes int
	// Lanes is how many groups of users a step looks up and evaluates concurrently (0: GOMAXPROCS).
	Lanes int
	// Now is the clock the worker measures its rate with (nil: time.Now).
	Now func() time.Time
	// MaxQueued bounds the events handed over by Offer and not yet processed (0: DefaultMaxQueued); beyond it the
	// worker reads them back from the log.
	MaxQueued int
	Logger    *slog.Logger
	// Shared says the stores are shared with other nodes, one of which (the leader) runs a worker at a time. The
	// index and the signatures it records may then be older than the stored credits (another leader moved them
	// on), and catalog changes made through other nodes are announced to no one. So Run first recomputes every
	// credit of every workspace, and every round re-reads the catalogs of the workspaces it knows (a catalog
	// change is reflected within PollInterval plus its recomputation).
	Shared bool
}

// rateWeight is the weight of the latest step in the worker's moving average rate.
const rateWeight = 0.25

// Defaults of Config.
const (
	DefaultBatchSize      = 50_000
	DefaultPollInterval   = 200 * time.Millisecond
	DefaultCacheBytes     = 32 << 20
	DefaultGoalTimesBytes = 8 << 20
	DefaultMaxQueued      = 100_000
)

// Worker maintains the derived data. Run does the work; the other methods are safe for concurrent use.
type Worker struct {
	meta   store.MetaStore
	events store.EventStore
	index  *userIndex
	batch  int
	poll   time.Duration
	log    *slog.Logger

	wake chan struct{}
	// goalTimes filters index lookups (Run's goroutine only).
	goalTimes *goalTimes
	// queue holds events handed over by Offer, in Seq order, so that the worker need not read them back.
	queueMu   sync.Mutex
	queue     [][]store.StoredEvent // batches as offered, each in Seq order and contiguous with the next
	queued    int
	maxQueued int
	shared    bool
	lanes     int
	now       func() time.Time

	mu       sync.Mutex
	progress store.Seq
	// catalogAsked counts catalog changes announced with CatalogChanged; catalogDone the ones handled.
	catalogAsked, catalogDone uint64
	dirty                     map[string]bool
	changed                   chan struct{} // closed and replaced whenever progress or catalogDone moves
	err                       error         // the last step's error, cleared by a successful step
	rate                      float64       // events per second of recent steps (moving average; 0 before one)

	// retryThrough is the last event a failed step read (Run's goroutine only): see forgetAfterFailure.
	retryThrough store.Seq
	// states holds each workspace's attribution state (Run's goroutine only).
	states map[string]*wsState
}

// wsState is what attribution of one workspace's goal events needs from its catalog.
type wsState struct {
	view  *domain.CatalogView
	cat   *attribution.Catalog
	names map[string]bool // goal event names
	// sigs digests, per campaign, everything that changes its credits (effective channel, parent, goals and
	// window). A change of one of them, or of the goal event names, means every credit of the workspace is
	// recomputed; a new campaign does not (its events are evaluated as they arrive).
	sigs map[string]string
	// inputs holds what each signature digests (nil for signatures read from the index).
	inputs map[string]sigInput
}

// Open opens the worker's index and reads its progress. Call Run to start it.
func Open(ctx context.Context, cfg Config) (*Worker, error) {
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	x, err := openIndex(cfg.Dir, cfg.CacheBytes)
	if err != nil {
		return nil, err
	}
	w := &Worker{meta: cfg.Meta, events: cfg.Events, index: x, batch: cfg.BatchSize, poll: cfg.PollInterval, log: cfg.Logger,
		wake: make(chan struct{}, 1), dirty: map[string]bool{}, changed: make(chan struct{}), states: map[string]*wsState{},
		maxQueued: cfg.MaxQueued, shared: cfg.Shared}
	if cfg.GoalTimesBytes <= 0 {
		cfg.GoalTimesBytes = DefaultGoalTimesBytes
	}
	w.goalTimes = newGoalTimes(cfg.GoalTimesBytes)
	if w.maxQueued <= 0 {
		w.maxQueued = DefaultMaxQueued
	}
	if w.batch <= 0 {
		w.batch = DefaultBatchSize
	}
	if w.lanes = cfg.Lanes; w.lanes <= 0 {
		w.lanes = runtime.GOMAXPROCS(0)
	}
	if w.now = cfg.Now; w.now == nil {
		w.now = time.Now
	}
	if w.poll <= 0 {
		w.poll = DefaultPollInterval
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.progress, err = cfg.Events.Progress(ctx); err != nil {
		x.close()
		return nil, fmt.Errorf("derive: %w", err)
	}
	return w, nil
}

// Close closes the index. Run must have returned.
func (w *Worker) Close() error { return w.index.close() }

// Wake tells the worker that the log has grown.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Offer hands over events just appended to the log (with their Seqs), so that the worker need not read them back;
// it also wakes the worker. Events beyond the queue's bound are dropped: the worker then reads them from the log.
func (w *Worker) Offer(evs []store.StoredEvent) {
	w.queueMu.Lock()
	if n := len(w.queue); len(evs) > 0 && w.queued+len(evs) <= w.maxQueued {
		if n > 0 {
			last := w.queue[n-1]
			if last[len(last)-1].Seq+1 != evs[0].Seq {
				w.queue, w.queued = nil, 0 // a gap: what is queued is read back from the log instead
			}
		}
		w.queue = append(w.queue, evs)
		w.queued += len(evs)
	}
	w.queueMu.Unlock()
	w.Wake()
}

// next returns the events after `after`: from the queue when it holds them, else read from the log.
func (w *Worker) next(ctx context.Context, after store.Seq) ([]store.StoredEvent, error) {
	if after < w.retryThrough {
		return w.readLog(ctx, after)
	}
	w.queueMu.Lock()
	for len(w.queue) > 0 {
		first := w.queue[0]
		i := 0
		for i < len(first) && first[i].Seq <= after {
			i++
		}
		w.queued -= i
		if i < len(first) {
			w.queue[0] = first[i:]
			break
		}
		w.queue[0] = nil // the backing array must not keep a processed batch reachable
		w.queue = w.queue[1:]
	}
	if len(w.queue) > 0 && w.queue[0][0].Seq == after+1 {
		// One step takes every queued batch up to the step size: a step's cost is mostly fixed (a catalog
		// transaction, a credits transaction), so small requests arriving faster than steps must not mean one
		// step each.
		var out []store.StoredEvent
		if first := w.queue[0]; len(first) > w.batch {
			out, w.queue[0] = first[:w.batch:w.batch], first[w.batch:]
		} else {
			k, total := 1, len(first)
			for k < len(w.queue) && total+len(w.queue[k]) <= w.batch {
				total += len(w.queue[k])
				k++
			}
			out = first
			if k > 1 {
				out = make([]store.StoredEvent, 0, total)
				for _, b := range w.queue[:k] {
					out = append(out, b...)
				}
			}
			clear(w.queue[:k]) // the backing array must not keep processed batches reachable
			w.queue = w.queue[k:]
		}
		w.queued -= len(out)
		w.queueMu.Unlock()
		return out, nil
	}
	w.queueMu.Unlock()
	// Nothing queued: read the log, unless it holds nothing after the progress (each wake — a catalog write, say —
	// queried it for nothing).
	if wm, err := w.events.Watermark(ctx); err == nil && wm <= after {
		return nil, nil
	}
	return w.readLog(ctx, after)
}

func (w *Worker) readLog(ctx context.Context, after store.Seq) ([]store.StoredEvent, error) {
	evs, err := w.events.ReadEvents(ctx, after, w.batch)
	if err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	return evs, nil
}

// CatalogChanged tells the worker that explicit catalog values of the workspace changed, which may change every
// credit of the workspace.
func (w *Worker) CatalogChanged(ws string) {
	w.mu.Lock()
	w.catalogAsked++
	w.dirty[ws] = true
	w.mu.Unlock()
	w.Wake()
}

// Rate returns how many events per second the worker processes while it has work: a moving average over its
// recent steps (0 before the first).
func (w *Worker) Rate() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rate
}

// Progress returns the log Seq the derived data reflects.
func (w *Worker) Progress() store.Seq {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.progress
}

// Wait returns when the derived data reflects every event up to seq and every catalog change announced before the
// call, or with ctx's error. It does not wait for a worker that is failing: it returns that failure.
func (w *Worker) Wait(ctx context.Context, seq store.Seq) error {
	w.mu.Lock()
	gen := w.catalogAsked
	for {
		if w.progress >= seq && w.catalogDone >= gen {
			w.mu.Unlock()
			return nil
		}
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
		w.mu.Lock()
	}
}

// WaitProgress returns when the worker has processed the log through seq, when ctx ends, or when the worker has
// failed; unlike Wait it does not wait for catalog changes, and it reports nothing: it paces writers
// (backpressure), it does not guard reads.
func (w *Worker) WaitProgress(ctx context.Context, seq store.Seq) {
	w.mu.Lock()
	for w.progress < seq && w.err == nil {
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
}

// signal wakes the waiters; the caller holds mu.
func (w *Worker) signal() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// Run does the work until ctx ends: it catches the index up with the log, then follows the log and catalog changes.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.loadFilter(); err != nil {
		w.fail(err)
		return err
	}
	if err := w.catchUpIndex(ctx); err != nil {
		w.fail(err)
		return err
	}
	if w.shared {
		if err := w.rebuildAll(ctx); err != nil {
			w.fail(err)
			return err
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-timer.C:
		}
		if err := w.runOnce(ctx); err != nil && ctx.Err() == nil {
			w.fail(err)
			w.log.Error("derived data upkeep failed; retrying", "err", err)
		}
		timer.Reset(w.poll)
	}
}

// fail records a step's failure for waiters.
func (w *Worker) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.signal()
	w.mu.Unlock()
}

// runOnce handles catalog changes, then reads the log until it is caught up.
func (w *Worker) runOnce(ctx context.Context) error {
	w.mu.Lock()
	gen := w.catalogAsked
	dirty := w.dirty
	w.dirty = map[string]bool{}
	w.mu.Unlock()
	if w.shared {
		for ws := range w.states {
			dirty[ws] = true // changes made through other nodes are announced to no one
		}
	}
	for ws := range dirty {
		if err := w.refreshCatalog(ctx, ws); err != nil {
			w.mu.Lock()
			for ws := range dirty {
				w.dirty[ws] = true // retried on the next round
			}
			w.mu.Unlock()
			return err
		}
	}
	w.mu.Lock()
	w.catalogDone = max(w.catalogDone, gen)
	w.err = nil
	w.signal()
	w.mu.Unlock()
	for ctx.Err() == nil {
		n, err := w.step(ctx)
		if err != nil {
			return err
		}
		if n < w.batch {
			return nil
		}
	}
	return nil
}

// rebuildAll recomputes every credit of every workspace under its current catalog (a new leader of shared
// stores: see Config.Shared).
func (w *Worker) rebuildAll(ctx context.Context) error {
	wss, err := w.meta.ListWorkspaces(ctx, "")
	if err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	for _, ws := range wss {
		cs, err := w.meta.Campaigns(ctx, ws.ID)
		if err != nil {
			return fmt.Errorf("derive: %w", err)
		}
		st := newState(cs)
		if err := w.rebuild(ctx, ws.ID, st); err != nil {
			return err
		}
		w.states[ws.ID] = st
	}
	return nil
}

// loadFilter fills the sketch of the users' latest goal event times from the index.
func (w *Worker) loadFilter() error {
	it, err := w.index.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindGoal}, UpperBound: []byte{kindGoal + 1}})
	if err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if ws, u, ms, ok := parseEntryKey(it.Key()); ok {
			w.goalTimes.add(ws, u, ms)
		}
	}
	return it.Error()
}

// index adds an event to the index batch and, for a goal event, its time to the sketch.
func (w *Worker) index1(b *pebble.Batch, e *store.StoredEvent, st *wsState) error {
	goal, err := w.index.put(b, e, func(n string) bool { return st.names[n] })
	if goal {
		w.goalTimes.add(e.WorkspaceID, e.User, e.TimeMS)
	}
	return err
}

// catchUpIndex indexes the log events between the index's progress and the derived data's progress (a new or
// lagging index, e.g. after an upgrade that introduced it); their credits are already stored.
func (w *Worker) catchUpIndex(ctx context.Context) error {
	through, err := w.index.through()
	if err != nil {
		return err
	}
	for through < w.progress {
		evs, err := w.events.ReadEvents(ctx, through, w.batch)
		if err != nil {
			return fmt.Errorf("derive: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		b := w.index.db.NewBatch()
		for i := range evs {
			e := &evs[i]
			if e.Seq > w.progress {
				break
			}
			st, err := w.state(ctx, e.WorkspaceID)
			if err != nil {
				b.Close()
				return err
			}
			if err := w.index1(b, e, st); err != nil {
				b.Close()
				return err
			}
			through = e.Seq
		}
		if err := w.index.commit(b, through); err != nil {
			return err
		}
	}
	return nil
}

// state returns a workspace's attribution state, loading it (and the signatures its credits were computed for)
// on first use.
func (w *Worker) state(ctx context.Context, ws string) (*wsState, error) {
	if st, ok := w.states[ws]; ok {
		return st, nil
	}
	cs, err := w.meta.Campaigns(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	st := newState(cs)
	stored, err := w.storedSignatures(ws)
	if err != nil {
		return nil, err
	}
	if stored != nil && needsRebuild(stored, st) {
		// The catalog changed since the credits were computed (a change whose upkeep was interrupted).
		if err := w.rebuild(ctx, ws, st); err != nil {
			return nil, err
		}
	} else if stored == nil && len(st.names) > 0 {
		if err := w.saveSignatures(ws, st); err != nil {
			return nil, err
		}
	}
	w.states[ws] = st
	return st, nil
}

func newState(cs []domain.Campaign) *wsState { return nextState(cs, nil) }

// nextState returns the state of catalog cs; a campaign whose effective channel, parent and goal details are
// those it had in prev keeps its signature from prev. Goal details are never modified once stored (a catalog write
// replaces the record), so the same pointer means the same goals. Digesting every campaign's goals again made each
// catalog write cost the worker a JSON encoding and a SHA-256 per campaign of the workspace.
func nextState(cs []domain.Campaign, prev *wsState) *wsState {
	view := domain.NewCatalogView(cs)
	cat := attribution.NewCatalog(view)
	all := view.All()
	st := &wsState{view: view, cat: cat, names: cat.GoalNames(), sigs: make(map[string]string, len(all)),
		inputs: make(map[string]sigInput, len(all))}
	for _, c := range all {
		in := sigInput{channel: view.Channel(c.ID), parent: view.Parent(c.ID), goals: view.Goals(c.ID)}
		st.inputs[c.ID] = in
		if prev != nil {
			if old, ok := prev.inputs[c.ID]; ok && old == in {
				st.sigs[c.ID] = prev.sigs[c.ID]
				continue
			}
		}
		goals, _ := json.Marshal(in.goals)
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s", in.channel, in.parent, goals))
		st.sigs[c.ID] = hex.EncodeToString(sum[:]) // text: the signatures are stored as JSON, which mangles raw bytes
	}
	return st
}

// sigInput is what a campaign's signature digests.
type sigInput struct {
	channel domain.Channel
	parent  string
	goals   *domain.GoalDetails
}

// storedSigs is what the index records about a workspace's credits.
type storedSigs struct {
	Names []string          `json:"names"`
	Sigs  map[string]string `json:"sigs"`
}

func sigsKey(ws string) []byte { return append([]byte("\x00sigs\x00"), ws...) }

// storedSignatures returns the state the workspace's credits were last computed for (nil when none).
func (w *Worker) storedSignatures(ws string) (*wsState, error) {
	v, closer, err := w.index.db.Get(sigsKey(ws))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	defer closer.Close()
	var s storedSigs
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("derive: stored signatures of %s: %w", ws, err)
	}
	st := &wsState{names: map[string]bool{}, sigs: s.Sigs}
	for _, n := range s.Names {
		st.names[n] = true
	}
	return st, nil
}

// saveSignatures records the state the workspace's credits are now computed for.
func (w *Worker) saveSignatures(ws string, st *wsState) error {
	v, err := json.Marshal(storedSigs{Names: slices.Sorted(maps.Keys(st.names)), Sigs: st.sigs})
	if err != nil {
		return err
	}
	if err := w.index.db.Set(sigsKey(ws), v, pebble.NoSync); err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	return nil
}

// needsRebuild reports whether credits computed for old are stale under next: the goal event names changed, or
// a campaign that old knew changed or disappeared. New campaigns do not need one.
func needsRebuild(old, next *wsState) bool {
	if !maps.Equal(old.names, next.names) {
		return true
	}
	for id, sig := range old.sigs {
		if next.sigs[id] != sig {
			return true
		}
	}
	return false
}

// refreshCatalog re-reads a workspace's catalog after an explicit change and recomputes its credits when the
// change affects them.
func (w *Worker) refreshCatalog(ctx context.Context, ws string) error {
	cs, err := w.meta.Campaigns(ctx, ws)
	if err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	return w.install(ctx, ws, nextState(cs, w.states[ws]))
}

// install makes next the workspace's state, recomputing its credits when needed.
func (w *Worker) install(ctx context.Context, ws string, next *wsState) error {
	old, err := w.state(ctx, ws)
	if err != nil {
		return err
	}
	if needsRebuild(old, next) {
		if err := w.rebuild(ctx, ws, next); err != nil {
			return err
		}
	} else if len(next.sigs) != len(old.sigs) {
		if err := w.saveSignatures(ws, next); err != nil {
			return err
		}
	}
	w.states[ws] = next
	return nil
}

// rebuild recomputes every credit of a workspace under st: it indexes the stored user events whose names are now
// goal event names, then evaluates every indexed goal event.
func (w *Worker) rebuild(ctx context.Context, ws string, st *wsState) error {
	names := slices.Sorted(maps.Keys(st.names))
	err := w.events.UserEventsNamed(ctx, ws, names, func(evs []store.StoredEvent) error {
		b := w.index.db.NewBatch()
		defer b.Close()
		for i := range evs {
			if err := w.index1(b, &evs[i], st); err != nil {
				return err
			}
		}
		return b.Commit(pebble.NoSync)
	})
	if err != nil {
		return fmt.Errorf("derive: rebuild %s: %w", ws, err)
	}
	const chunk = 20_000
	u := store.CreditUpdate{Rebuild: []string{ws}}
	pending := 0
	c, err := w.index.cursor(w.index.db)
	if err != nil {
		return err
	}
	defer c.close()
	err = w.index.eachGoal(ws, func(user domain.UserID, g goalEvent) error { // in key order, as c reads best
		cs, err := evaluate(c, ws, st, user, g)
		if err != nil {
			return err
		}
		u.Credits = append(u.Credits, cs...)
		if pending++; pending == chunk {
			if err := w.events.ApplyCredits(ctx, u); err != nil {
				return err
			}
			u, pending = store.CreditUpdate{}, 0
		}
		return nil
	})
	if err == nil && (pending > 0 || len(u.Rebuild) > 0) {
		err = w.events.ApplyCredits(ctx, u)
	}
	if err != nil {
		return fmt.Errorf("derive: rebuild %s: %w", ws, err)
	}
	return w.saveSignatures(ws, st)
}

// evaluate computes the credits of one goal event from the user's interactions in its window, read through c.
func evaluate(c *cursor, ws string, st *wsState, user domain.UserID, g goalEvent) ([]store.Credit, error) {
	list, err := attributable(c, ws, st, user, g)
	if err != nil {
		return nil, err
	}
	return credit(ws, st, user, g, list), nil
}

// attributable returns the user's interactions in the goal event's longest window that can explain it, read
// through c.
func attributable(c *cursor, ws string, st *wsState, user domain.UserID, g goalEvent) ([]attribution.Interaction, error) {
	maxW := st.cat.MaxWindowMS()
	if maxW == 0 {
		return nil, nil
	}
	return attributableBetween(c, ws, st, user, g.timeMS-maxW, g.timeMS)
}

// attributableBetween returns the user's interactions with from ≤ time ≤ to that can explain a goal event, in time
// order, read through c.
func attributableBetween(c *cursor, ws string, st *wsState, user domain.UserID, from, to int64) ([]attribution.Interaction, error) {
	ins, err := c.interactions(ws, user, from, to)
	if err != nil {
		return nil, err
	}
	var list []attribution.Interaction
	for _, in := range ins {
		ch := st.view.Channel(in.unit)
		if !in.channels.Has(ch) {
			continue // does not feed a counter of its unit's channel (SPEC §6.1)
		}
		a := attribution.Interaction{Unit: in.unit, UUID: in.uuid, TimeMS: in.timeMS, Class: in.class, Locale: in.locale,
			Variation: in.variation, Platform: domain.ResolvePlatform(ch, in.platform, in.pdef)}
		switch in.counter {
		case domain.CounterHeldOutCampaign:
			a.Group = attribution.CampaignControl
		case domain.CounterHeldOutGlobal:
			a.Group = attribution.GlobalControl
		}
		list = append(list, a)
	}
	return list, nil
}

// credit evaluates a goal event against its user's interactions.
func credit(ws string, st *wsState, user domain.UserID, g goalEvent, list []attribution.Interaction) []store.Credit {
	out, _, _ := creditSources(ws, st, user, g, list, nil)
	return out
}

// creditSources is credit that also returns, per credit, the position in list of the interaction it was given for,
// and the unit of the total-conversions credits without the interactions marked in added (when not nil; see
// attribution.Catalog.EvaluateSources).
func creditSources(ws string, st *wsState, user domain.UserID, g goalEvent, list []attribution.Interaction, added []bool) ([]store.Credit, []int, string) {
	ge := attribution.GoalEvent{UUID: g.uuid, TimeMS: g.timeMS}
	for _, n := range []string{g.name, g.code} {
		if n != "" {
			ge.Names = append(ge.Names, n)
		}
	}
	if len(g.attributes) > 0 {
		ge.Attributes = json.RawMessage(g.attributes)
	}
	cs, sources, winnerBefore := st.cat.EvaluateSources(ge, list, added)
	var out []store.Credit
	for _, c := range cs {
		out = append(out, store.Credit{WorkspaceID: ws, User: user, Credit: c})
	}
	return out, sources, winnerBefore
}

// step processes the next batch of log events and returns how many it read.
func (w *Worker) step(ctx context.Context) (n int, err error) {
	w.mu.Lock()
	after := w.progress
	w.mu.Unlock()
	start := w.now()
	evs, err := w.next(ctx, after)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	defer func() {
		if err != nil {
			w.forgetAfterFailure(evs[len(evs)-1].Seq)
		}
	}()
	last := evs[len(evs)-1].Seq
	byWS := map[string][]*store.StoredEvent{}
	var order []string
	for i := range evs {
		e := &evs[i]
		if byWS[e.WorkspaceID] == nil {
			order = append(order, e.WorkspaceID)
			byWS[e.WorkspaceID] = make([]*store.StoredEvent, 0, len(evs))
		}
		byWS[e.WorkspaceID] = append(byWS[e.WorkspaceID], e)
	}
	// The batch's events are indexed first, then the goal events they can change are looked up and evaluated
	// against the index, several users at a time. Indexing ahead of the credits is safe: a step that fails
	// before storing them is done again from the same progress over at least the same events (forgetAfterFailure),
	// and indexing an event twice writes the same entry.
	b := w.index.db.NewBatch()
	defer b.Close()
	u := store.CreditUpdate{Progress: last}
	var rebuilds, incrementals []string
	next := map[string]*wsState{}
	for _, ws := range order {
		list := byWS[ws]
		old, err := w.state(ctx, ws)
		if err != nil {
			return 0, err
		}
		st, err := w.infer(ctx, ws, list, old)
		if err != nil {
			return 0, err
		}
		next[ws] = st
		for _, e := range list {
			if err := w.index1(b, e, st); err != nil {
				return 0, err
			}
		}
		if st != old && needsRebuild(old, st) {
			// Inference changed a campaign's channel or parent: every credit of the workspace is recomputed
			// once the batch is indexed.
			rebuilds = append(rebuilds, ws)
		} else {
			incrementals = append(incrementals, ws)
		}
	}
	if err := w.index.commit(b, last); err != nil {
		return 0, err
	}
	for _, ws := range incrementals {
		if err := w.incremental(ws, next[ws], byWS[ws], &u); err != nil {
			return 0, err
		}
	}
	for _, ws := range rebuilds {
		if err := w.rebuild(ctx, ws, next[ws]); err != nil {
			return 0, err
		}
	}
	if err := w.events.ApplyCredits(ctx, u); err != nil {
		return 0, fmt.Errorf("derive: %w", err)
	}
	for ws, st := range next {
		if old := w.states[ws]; old != nil && len(old.sigs) != len(st.sigs) && !slices.Contains(rebuilds, ws) {
			if err := w.saveSignatures(ws, st); err != nil {
				return 0, err
			}
		}
		w.states[ws] = st
	}
	w.mu.Lock()
	w.progress = last
	w.err = nil
	if took := w.now().Sub(start).Seconds(); took > 0 {
		r := float64(len(evs)) / took
		if w.rate == 0 {
			w.rate = r
		} else {
			w.rate += rateWeight * (r - w.rate)
		}
	}
	w.signal()
	w.mu.Unlock()
	return len(evs), nil
}

// forgetAfterFailure makes the step after a failed one start as after a restart. The failed step may have indexed
// its events (through last) and stored inferred catalog values before failing, so its retry must cover at least
// the same events, else the events indexed ahead would count as stored and the credits they change would never be
// replaced: until the progress reaches last, next reads the log, whose first events after the progress are the
// failed step's (the queue may hold fewer by then). And the workspaces' states are reloaded from the catalog and
// compared with the signatures their credits were computed for, which starts the rebuild a catalog change inferred
// by the failed step needs.
func (w *Worker) forgetAfterFailure(last store.Seq) {
	w.retryThrough = max(w.retryThrough, last)
	clear(w.states)
}

// infer applies the catalog offers of a workspace's new campaign events (SPEC §3.14) and returns the state under
// the resulting catalog (old itself when nothing changed).
func (w *Worker) infer(ctx context.Context, ws string, list []*store.StoredEvent, old *wsState) (*wsState, error) {
	n := 0
	for _, e := range list {
		if e.Campaign && e.CampaignID != "" {
			n++
		}
	}
	events := make([]domain.Event, 0, n)
	var now int64
	for _, e := range list {
		if e.Campaign && e.CampaignID != "" {
			events = append(events, e.Event)
			now = max(now, e.ReceivedAtMS)
		}
	}
	if len(events) == 0 {
		return old, nil
	}
	var catalog []domain.Campaign
	changedAny := false
	err := w.meta.UpdateCampaigns(ctx, ws, func(current []domain.Campaign) ([]domain.Campaign, error) {
		byID := make(map[string]int, len(current))
		for i, c := range current {
			byID[c.ID] = i
		}
		cs := map[string]*domain.Campaign{}
		for _, e := range events {
			for _, id := range []string{e.CampaignID, e.ParentCampaignID} {
				if i, ok := byID[id]; ok && cs[id] == nil {
					c := current[i]
					c.Inferred.Platforms = slices.Clone(c.Inferred.Platforms)
					cs[id] = &c
				}
			}
		}
		changed := domain.InferCampaigns(cs, events, time.UnixMilli(now).UTC())
		if len(changed) == 0 {
			return nil, nil
		}
		changedAny = true
		out := make([]domain.Campaign, 0, len(changed))
		catalog = slices.Clone(current)
		for _, id := range changed {
			out = append(out, *cs[id])
			if i, ok := byID[id]; ok {
				catalog[i] = *cs[id]
			} else {
				catalog = append(catalog, *cs[id])
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, fmt.Errorf("derive: infer %s: %w", ws, err)
	}
	if !changedAny {
		return old, nil
	}
	return nextState(catalog, old), nil
}

// incremental adds to u the credits of every goal event a workspace's new events (already indexed) can change:
// the new goal events, and the goal events of a user with a new interaction at s in [s, s + longest window].
//
// Only credits that change are rewritten. A new goal event has none stored (credits and progress are stored
// together, so no event after the progress has any). A stored goal event's credits are those of its evaluation
// against the interactions before this batch (every one was re-evaluated when an interaction in its window
// arrived, and a catalog change that alters credits recomputes them all), so it is replaced only when the
// batch's interactions change its evaluation; replacing credits is a write of its own (a void, see the store).
//
// Users are independent: they are split into w.lanes groups, looked up and evaluated concurrently (the index
// serves concurrent reads), and the results are gathered in group order.
func (w *Worker) incremental(ws string, st *wsState, list []*store.StoredEvent, u *store.CreditUpdate) error {
	if len(st.names) == 0 {
		return nil
	}
	isGoal := func(n string) bool { return st.names[n] }
	lanes := make([]lane, w.lanes)
	laneOf := func(user domain.UserID) *lane { return &lanes[user.Lo%uint64(len(lanes))] }
	windows := false
	for _, e := range list {
		switch {
		case !e.Campaign && ((e.Name != "" && isGoal(e.Name)) || (e.Code != "" && isGoal(e.Code))):
			l := laneOf(e.User)
			l.fresh = append(l.fresh, e)
		case e.Campaign && e.Class != domain.ClassNone:
			// The interaction can only be credited for goal events within its own unit's window, and only when it
			// feeds a counter of its unit's channel (the filter attributableBetween applies).
			unitW, ok := st.cat.WindowMS(e.CampaignID)
			if !ok || !e.Channels.Has(st.view.Channel(e.CampaignID)) {
				continue
			}
			end := e.TimeMS + unitW
			if end < e.TimeMS {
				end = math.MaxInt64
			}
			if !w.goalTimes.mayHaveIn(ws, e.User, e.TimeMS, end) {
				continue
			}
			l := laneOf(e.User)
			if l.windows == nil {
				l.windows = map[domain.UserID][]window{}
			}
			l.windows[e.User] = append(l.windows[e.User], window{e.TimeMS, end})
			windows = true
		}
	}
	var batchUUIDs map[string]bool // the batch's interactions, for stored goal events found through windows
	if windows {
		batchUUIDs = make(map[string]bool, len(list))
		for _, e := range list {
			if e.Campaign {
				batchUUIDs[e.UUID] = true
			}
		}
	}
	var g errgroup.Group
	for i := range lanes {
		if l := &lanes[i]; len(l.fresh) > 0 || len(l.windows) > 0 {
			g.Go(func() error { return l.evaluate(w.index, ws, st, batchUUIDs) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i := range lanes {
		u.Replace = append(u.Replace, lanes[i].replace...)
		u.Credits = append(u.Credits, lanes[i].credits...)
	}
	return nil
}

// window is a range of goal event times a new interaction can change, bounds included.
type window struct{ from, to int64 }

// lane is the work of incremental for one group of users, and its results.
type lane struct {
	fresh   []*store.StoredEvent       // new goal events
	windows map[domain.UserID][]window // new interactions' windows, per user
	replace []store.GoalRef
	credits []store.Credit
}

// evaluate looks up and evaluates the lane's goal events, reading the index x. Users are looked up in key order,
// through one cursor.
func (l *lane) evaluate(x *userIndex, ws string, st *wsState, batchUUIDs map[string]bool) (err error) {
	c, err := x.cursor(x.db)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.close(); err == nil {
			err = cerr
		}
	}()
	byKey := func(a, b domain.UserID) int {
		if a == b {
			return 0
		}
		if a.Less(b) {
			return -1
		}
		return 1
	}
	type ref struct {
		user domain.UserID
		uuid string
	}
	type job struct {
		goal  goalEvent
		fresh bool // a goal event of this batch
	}
	todo := map[ref]job{}
	var order []ref
	add := func(user domain.UserID, g goalEvent, fresh bool) {
		k := ref{user, g.uuid}
		if _, ok := todo[k]; !ok {
			todo[k] = job{g, fresh}
			order = append(order, k)
		}
	}
	for _, e := range l.fresh {
		add(e.User, goalEvent{uuid: e.UUID, timeMS: e.TimeMS, code: e.Code, name: e.Name, attributes: e.Attributes}, true)
	}
	for _, user := range slices.SortedFunc(maps.Keys(l.windows), byKey) {
		wins := l.windows[user]
		slices.SortFunc(wins, func(a, b window) int { return cmp.Compare(a.from, b.from) })
		// Merge overlapping windows, then read the user's goal events once per merged window.
		var merged []window
		for _, win := range wins {
			if n := len(merged); n > 0 && win.from <= merged[n-1].to {
				merged[n-1].to = max(merged[n-1].to, win.to)
				continue
			}
			merged = append(merged, win)
		}
		for _, win := range merged {
			gs, err := c.goals(ws, user, win.from, win.to)
			if err != nil {
				return err
			}
			for _, g := range gs {
				add(user, g, false)
			}
		}
	}
	// A user's goal events whose windows overlap are evaluated against one read of the user's interactions: an
	// active user has many goal events within reach of a batch's interactions, and reading the window of each
	// would read and decode the same interactions again for every one.
	type result struct {
		credits []store.Credit
		units   []string // for a stored goal event: the units whose credits are replaced by credits
	}
	results := make([]result, len(order))
	byUser := map[domain.UserID][]int{} // positions in order
	var users []domain.UserID
	for i, k := range order {
		if byUser[k.user] == nil {
			users = append(users, k.user)
		}
		byUser[k.user] = append(byUser[k.user], i)
	}
	slices.SortFunc(users, byKey)
	maxW := st.cat.MaxWindowMS()
	timeOf := func(i int) int64 { return todo[order[i]].goal.timeMS }
	for _, user := range users {
		pos := byUser[user]
		slices.SortFunc(pos, func(a, b int) int { return cmp.Compare(timeOf(a), timeOf(b)) })
		for start := 0; start < len(pos); {
			end := start + 1
			for end < len(pos) && timeOf(pos[end])-maxW <= timeOf(pos[end-1]) {
				end++
			}
			var all []attribution.Interaction
			if maxW > 0 {
				var err error
				if all, err = attributableBetween(c, ws, st, user, timeOf(pos[start])-maxW, timeOf(pos[end-1])); err != nil {
					return err
				}
			}
			var reach []window // the goal event times the batch's interactions can be a source for
			var added []bool   // parallel to all: the batch's interactions
			if slices.ContainsFunc(pos[start:end], func(i int) bool { return !todo[order[i]].fresh }) {
				reach = sourceReach(st.cat, all, batchUUIDs)
				added = make([]bool, len(all))
				for x := range all {
					added[x] = batchUUIDs[all[x].UUID]
				}
			}
			for _, i := range pos[start:end] {
				j, t := todo[order[i]], timeOf(i)
				if !j.fresh && !slices.ContainsFunc(reach, func(r window) bool { return r.from <= t && t <= r.to }) {
					continue // no interaction of the batch can be a source of its credits: they stay as stored
				}
				lo := sort.Search(len(all), func(x int) bool { return all[x].TimeMS >= t-maxW })
				hi := sort.Search(len(all), func(x int) bool { return all[x].TimeMS > t })
				ins := all[lo:hi:hi]
				if j.fresh {
					results[i].credits, _, _ = creditSources(ws, st, user, j.goal, ins, nil)
					continue
				}
				// A credit is given for one interaction chosen by a strict order, so the batch's interactions
				// change the stored credits only when some credit is now given for one of them: the credits of
				// that credit's unit, and the total-conversions credits of the unit they were given to before (the
				// one credit chosen across units), as attribution.Catalog.EvaluateSources sets out.
				cs, sources, winnerBefore := creditSources(ws, st, user, j.goal, ins, added[lo:hi])
				changed := map[string]bool{}
				for k, x := range sources {
					if added[lo+x] {
						changed[cs[k].Unit] = true
					}
				}
				if len(changed) == 0 {
					continue // the batch's interactions change nothing
				}
				if winnerBefore != "" && !slices.ContainsFunc(cs, func(c store.Credit) bool {
					return c.Type == attribution.TotalConversions && c.Unit == winnerBefore
				}) {
					changed[winnerBefore] = true // the total-conversions credit moved to another unit
				}
				for _, c := range cs {
					if changed[c.Unit] {
						results[i].credits = append(results[i].credits, c)
					}
				}
				results[i].units = slices.Sorted(maps.Keys(changed))
			}
			start = end
		}
	}
	for i, k := range order {
		for _, unit := range results[i].units {
			l.replace = append(l.replace, store.GoalRef{WorkspaceID: ws, UUID: k.uuid, Unit: unit})
		}
		l.credits = append(l.credits, results[i].credits...)
	}
	return nil
}

// sourceReach returns, for each of the batch's interactions in all (a user's attributable interactions in time
// order), the range of goal event times it can be the source of a credit for. A credit is given for the interaction
// a strict order chooses among its unit's interactions in the goal event's window (most recent; most recent click;
// greatest depth, then latest; most recent held-out view of a control group), so an interaction x at s cannot be
// chosen for a goal event at t when another interaction y of its unit with s ≤ y ≤ t beats it in every one of those
// orders: y is more recent than x and at least as deep (for a held-out view: a more recent one of the same group).
// x's reach is therefore [s, min(s + its unit's window, the first such y) − 1 ms], or up to the window's end when
// there is no such y. Time ties follow attribution's same-instant order.
func sourceReach(cat *attribution.Catalog, all []attribution.Interaction, batchUUIDs map[string]bool) []window {
	var out []window
	for xi := range all {
		x := &all[xi]
		if !batchUUIDs[x.UUID] {
			continue
		}
		unitW, ok := cat.WindowMS(x.Unit)
		if !ok || x.Class == domain.ClassNone || (x.Class == domain.ClassHeldOut && x.Group == attribution.Regular) {
			continue // never credited
		}
		reach := window{x.TimeMS, x.TimeMS + unitW}
		first := sort.Search(len(all), func(i int) bool { return all[i].TimeMS >= x.TimeMS })
		for yi := first; yi < len(all) && all[yi].TimeMS <= reach.to; yi++ {
			if y := &all[yi]; yi != xi && y.Unit == x.Unit && beatsAlways(y, x) {
				reach.to = y.TimeMS - 1
				break
			}
		}
		if reach.to >= reach.from {
			out = append(out, reach)
		}
	}
	return out
}

// beatsAlways reports whether y, of the same unit and no earlier than x, beats x in every order attribution chooses
// a credit's interaction by (attribution.MoreRecent at least as deep, or a more recent held-out view of the same
// control group).
func beatsAlways(y, x *attribution.Interaction) bool {
	if x.Class == domain.ClassHeldOut {
		return y.Class == domain.ClassHeldOut && y.Group == x.Group && attribution.MoreRecent(y, x)
	}
	return y.Class != domain.ClassHeldOut && y.Class >= x.Class && attribution.MoreRecent(y, x)
}
