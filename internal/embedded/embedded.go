// Package embedded assembles the single-node data path as `campaignstats serve` runs it by default: the embedded
// DuckDB store (both halves of the storage contract), the intake write path, the worker that derives inferred
// catalog values and credits from the event log, and the metric engine reading them with read-your-writes
// freshness. The service and the tests that need the real data path open it the same way.
package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/campaignstats/campaignstats/internal/derive"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

// File names inside the data directory.
const (
	// DBFile is the embedded database.
	DBFile = "campaignstats.duckdb"
	// AttributionDir holds the per-user attribution index of the derivation worker.
	AttributionDir = "attribution"
)

// MaxDeriveLag is the most (events) the derivation worker may fall behind the acknowledged log before ingest
// acknowledgements wait for it, whatever its rate (deriveLagBound); it is the worker's in-memory queue
// (derive.DefaultMaxQueued).
const MaxDeriveLag = derive.DefaultMaxQueued

// deriveLagTime is how much of the worker's time the backpressure lets it fall behind: the events it processes in
// that time at its measured rate (Worker.Rate), within [MinDeriveLag, MaxDeriveLag]. Half the freshness wait, so
// that a read after a burst finds derived data caught up within it (SPEC §3.6) even when ingest outruns the worker.
const deriveLagTime = 500 * time.Millisecond

// MinDeriveLag is the least lag the backpressure allows: steps of fewer events cost more per event.
const MinDeriveLag = 10_000

// deriveLagBound returns how far behind the acknowledged log a worker processing rate events per second may be
// before acknowledgements wait for it.
func deriveLagBound(rate float64) store.Seq {
	if rate <= 0 {
		return MaxDeriveLag
	}
	return store.Seq(min(max(rate*deriveLagTime.Seconds(), MinDeriveLag), MaxDeriveLag))
}

// maxThrottle bounds how long one acknowledgement waits for the worker (a failing worker must not stop ingest: the
// events are durable either way).
const maxThrottle = 10 * time.Second

// DefaultFreshnessWait bounds how long a read waits for derived data (inferred catalog values, credits) to reflect
// the events acknowledged before it (SPEC §3.6: within 1 second).
const DefaultFreshnessWait = time.Second

// Options configure Open.
type Options struct {
	// DataDir holds the embedded database file (when Meta and Events are not given) and the attribution index.
	DataDir string
	DuckDB  duckdb.Options
	Logger  *slog.Logger
	Now     func() time.Time
	// AttributionCacheBytes bounds the attribution index's memory (0: derive.DefaultCacheBytes).
	AttributionCacheBytes int64
	// FreshnessWait bounds how long reads wait for derived data (0: DefaultFreshnessWait).
	FreshnessWait time.Duration
	// MaxCampaigns bounds the campaigns of each workspace's catalog (0: no limit; intake.Config.MaxCampaigns).
	MaxCampaigns int

	// Meta and Events, when both set, are external stores (they are closed with the System); otherwise the
	// embedded DuckDB store in DataDir holds both halves.
	Meta   store.MetaStore
	Events store.EventStore
	// Cluster, when set, coordinates this node with the other nodes sharing Meta and Events.
	Cluster Coordinator

	// holdWorker, when set, delays the worker's start until it is closed (tests of the freshness wait).
	holdWorker chan struct{}
	// deriveLag replaces MaxDeriveLag when positive (tests of the backpressure).
	deriveLag store.Seq
}

// Coordinator coordinates the nodes that share one set of stores (cluster.Coordinator).
type Coordinator interface {
	// Exclusive runs fn while no other node appends to the event log.
	Exclusive(ctx context.Context, fn func(ctx context.Context) error) error
	// Lead runs lead whenever this node is the leader, with a context that ends when it no longer is, until ctx
	// ends.
	Lead(ctx context.Context, lead func(ctx context.Context))
}

// System is the running data path.
type System struct {
	// Store is the embedded store; nil when the stores are external.
	Store  *duckdb.Store
	Meta   store.MetaStore
	Events store.EventStore
	Intake *intake.Service
	// Worker keeps derived data; nil in a cluster, where the leader's worker does (see Options.Cluster).
	Worker *derive.Worker
	Engine *stats.Engine
	// Fresh waits, at most Options.FreshnessWait, until derived data reflects every event acknowledged before the
	// call and every catalog change announced before it (credits included).
	Fresh func(ctx context.Context) error
	// FreshCatalog waits, at most Options.FreshnessWait, until the catalog values inferred from events reflect
	// every event acknowledged before the call. Unlike Fresh it does not wait for the credits of earlier catalog
	// changes, which catalog reads and writes do not show: a catalog write waited for the worker's handling of
	// the one before, whose cost grows with the catalog.
	FreshCatalog func(ctx context.Context) error

	stop context.CancelFunc
	done chan struct{}
}

// Open opens the stores (unless given), the worker and the intake, and starts the worker (in a cluster: starts
// competing for the leader's role, which runs it).
func Open(ctx context.Context, o Options) (*System, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FreshnessWait <= 0 {
		o.FreshnessWait = DefaultFreshnessWait
	}
	lag := store.Seq(MaxDeriveLag)
	if o.deriveLag > 0 {
		lag = o.deriveLag
	}
	s := &System{Meta: o.Meta, Events: o.Events, done: make(chan struct{})}
	if s.Meta == nil || s.Events == nil {
		dopts := o.DuckDB
		dopts.Logger = cmp.Or(dopts.Logger, o.Logger)
		st, err := duckdb.Open(ctx, filepath.Join(o.DataDir, DBFile), dopts, o.Now)
		if err != nil {
			return nil, err
		}
		s.Store, s.Meta, s.Events = st, st, st
	}
	workerConfig := derive.Config{Meta: s.Meta, Events: s.Events, Dir: filepath.Join(o.DataDir, AttributionDir),
		CacheBytes: o.AttributionCacheBytes, Logger: o.Logger, Shared: o.Cluster != nil, Now: o.Now}
	icfg := intake.Config{Meta: s.Meta, Events: s.Events, Logger: o.Logger, MaxCampaigns: o.MaxCampaigns}
	if o.Cluster == nil {
		w, err := derive.Open(ctx, workerConfig)
		if err != nil {
			s.closeStores()
			return nil, err
		}
		s.Worker = w
		icfg.OnAppend = func(evs []store.StoredEvent, _ store.Seq) { w.Offer(evs) }
		icfg.OnCatalog = w.CatalogChanged
		icfg.Throttle = func(ctx context.Context, wm store.Seq) {
			// Backpressure: an acknowledgement waits while the worker is further behind than it catches up in
			// deriveLagTime (at most MaxDeriveLag events, its in-memory queue), so that conversions stay within
			// reach of the freshness wait.
			bound := lag
			if o.deriveLag <= 0 {
				bound = deriveLagBound(w.Rate())
			}
			if wm <= bound {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, maxThrottle)
			defer cancel()
			w.WaitProgress(ctx, wm-bound)
		}
	} else {
		icfg.Exclusive = o.Cluster.Exclusive
		icfg.Throttle = func(ctx context.Context, wm store.Seq) {
			if wm <= lag {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, maxThrottle)
			defer cancel()
			waitStoredProgress(ctx, s.Events, wm-lag)
		}
	}
	in, err := intake.New(ctx, icfg)
	if err != nil {
		if s.Worker != nil {
			s.Worker.Close()
		}
		s.closeStores()
		return nil, err
	}
	s.Intake = in
	if s.Worker != nil {
		s.Fresh = Freshness(s.Worker, in, o.FreshnessWait)
		s.FreshCatalog = catalogFreshness(s.Worker, in, o.FreshnessWait)
	} else {
		s.Fresh = sharedFreshness(s.Events, o.FreshnessWait)
		s.FreshCatalog = s.Fresh // the leader's stored progress covers both
	}
	var opts []stats.Option
	if s.Store != nil {
		opts = append(opts, stats.WithSnapshots(s.Store))
	}
	s.Engine = stats.New(storeReader{s.Meta, s.Events}, append(opts, stats.WithFreshness(s.Fresh))...)
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		if s.Store != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.maintain(bg, o.Logger)
			}()
		}
		if o.holdWorker != nil {
			select {
			case <-o.holdWorker:
			case <-bg.Done():
			}
		}
		if s.Worker != nil {
			s.Worker.Run(bg)
		} else {
			o.Cluster.Lead(bg, func(ctx context.Context) { lead(ctx, workerConfig, o.Logger) })
		}
		wg.Wait()
	}()
	return s, nil
}

// lead runs a derivation worker while this node is the cluster's leader.
func lead(ctx context.Context, cfg derive.Config, log *slog.Logger) {
	w, err := derive.Open(ctx, cfg)
	if err != nil {
		log.Error("derived data upkeep: open the worker", "error", err.Error())
		<-ctx.Done() // give the role up only with the lock; retrying here would loop on the same error
		return
	}
	defer w.Close()
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("derived data upkeep stopped", "error", err.Error())
		<-ctx.Done()
	}
}

// storeReader is the metric engine's view of the two halves.
type storeReader struct {
	store.MetaStore
	store.EventStore
}

// Campaigns resolves the ambiguity of the embedded store holding both halves.
func (r storeReader) Campaigns(ctx context.Context, ws string) ([]domain.Campaign, error) {
	return r.MetaStore.Campaigns(ctx, ws)
}

// progressPoll is how often a node that does not run the worker looks at the stored progress.
const progressPoll = 20 * time.Millisecond

// waitStoredProgress waits until the stored credit progress reaches seq, or ctx ends.
func waitStoredProgress(ctx context.Context, ev store.EventStore, seq store.Seq) {
	for {
		p, err := ev.Progress(ctx)
		if err == nil && p >= seq {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(progressPoll):
		}
	}
}

// sharedFreshness is the freshness wait of a cluster node: until the stored progress of the leader's worker
// reaches the log's watermark as of the call (events acknowledged by any node before it), at most limit.
func sharedFreshness(ev store.EventStore, limit time.Duration) func(context.Context) error {
	return boundedWait(limit, func(c context.Context) {
		if wm, err := ev.Watermark(c); err == nil { // else reads see the derived data as it is
			waitStoredProgress(c, ev, wm)
		}
	})
}

// boundedWait returns a freshness wait: wait, given at most limit. It fails only when the caller's own context
// ends: a wait that runs out reads the derived data as it is.
func boundedWait(limit time.Duration, wait func(context.Context)) func(context.Context) error {
	return func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		wait(c)
		return ctx.Err()
	}
}

// MaintainInterval is how often the store's compaction policy is looked at.
const MaintainInterval = time.Second

// maintain runs the store's compaction (reads that touch only the campaigns asked for) until ctx ends. A step that
// did something is followed by the next at once, so that once appends pause the steps they make due (compaction,
// merging, checkpoint) follow each other without waiting for the ticker.
func (s *System) maintain(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(MaintainInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for ctx.Err() == nil {
			did, err := s.Store.Maintain(ctx)
			if err != nil && ctx.Err() == nil { // the store logs each step it takes
				log.Warn("compaction failed", "error", err.Error())
			}
			if err != nil || !did {
				break
			}
		}
	}
}

// Freshness returns the wait of stats.WithFreshness: until the worker's derived data reflects every event the
// intake acknowledged before the call, at most limit. A worker that is behind by more than limit, or failing, does
// not fail reads: they see the derived data as it is (the worker logs its failures).
func Freshness(w *derive.Worker, in *intake.Service, limit time.Duration) func(context.Context) error {
	return boundedWait(limit, func(c context.Context) { w.Wait(c, in.Watermark()) })
}

// catalogFreshness returns System.FreshCatalog's wait: until the worker has processed every event the intake
// acknowledged before the call (its inference included), at most limit; like Freshness it never fails a read.
func catalogFreshness(w *derive.Worker, in *intake.Service, limit time.Duration) func(context.Context) error {
	return boundedWait(limit, func(c context.Context) { w.WaitProgress(c, in.Watermark()) })
}

// Sync waits, without a bound, until derived data reflects every acknowledged event (tests and tools).
func (s *System) Sync(ctx context.Context) error {
	if s.Worker == nil {
		wm, err := s.Events.Watermark(ctx)
		if err != nil {
			return err
		}
		waitStoredProgress(ctx, s.Events, wm)
		return ctx.Err()
	}
	return s.Worker.Wait(ctx, s.Intake.Watermark())
}

// Ingest commits events of one workspace through the intake and waits until derived data reflects them (tests
// and tools).
func (s *System) Ingest(ctx context.Context, ws string, receivedAt time.Time, events []domain.Event) (intake.Result, error) {
	res, err := s.Intake.Commit(ctx, intake.Request{WorkspaceID: ws, ReceivedAt: receivedAt, Events: events})
	if err != nil {
		return res, err
	}
	return res, s.Sync(ctx)
}

// PutCampaigns writes whole catalog records, as an explicit catalog write (tests and tools), and waits until
// derived data reflects them.
func (s *System) PutCampaigns(ctx context.Context, ws string, cs []domain.Campaign) error {
	if err := s.Intake.UpdateCatalog(ctx, ws, func([]domain.Campaign) ([]domain.Campaign, error) { return cs, nil }); err != nil {
		return fmt.Errorf("put campaigns: %w", err)
	}
	return s.Sync(ctx)
}

// Close stops the worker and closes the index and the store.
func (s *System) Close() error {
	s.stop()
	<-s.done
	var err error
	if s.Worker != nil {
		err = s.Worker.Close()
	}
	return errors.Join(err, s.closeStores())
}

// closeStores closes the stores (once, when one backend holds both halves).
func (s *System) closeStores() error {
	if s.Store != nil {
		return s.Store.Close()
	}
	return errors.Join(s.Events.Close(), s.Meta.Close())
}
