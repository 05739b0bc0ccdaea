// Package embedded assembles the single-node data path as `campaignstats serve` runs it by default: the embedded
// DuckDB store (both halves of the storage contract), the intake write path, the worker that derives inferred
// catalog values and credits from the event log, and the metric engine reading them with read-your-writes
// freshness. The service and the tests that need the real data path open it the same way.
package embedded

import (
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

// MaxDeriveLag is how far (events) the derivation worker may fall behind the acknowledged log before ingest
// acknowledgements wait for it; it is the worker's in-memory queue (derive.DefaultMaxQueued).
const MaxDeriveLag = derive.DefaultMaxQueued

// maxThrottle bounds how long one acknowledgement waits for the worker (a failing worker must not stop ingest: the
// events are durable either way).
const maxThrottle = 10 * time.Second

// DefaultFreshnessWait bounds how long a read waits for derived data (inferred catalog values, credits) to reflect
// the events acknowledged before it (SPEC §3.6: within 1 second).
const DefaultFreshnessWait = time.Second

// Options configure Open.
type Options struct {
	// DataDir holds the database file and the attribution index.
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

	// holdWorker, when set, delays the worker's start until it is closed (tests of the freshness wait).
	holdWorker chan struct{}
	// deriveLag replaces MaxDeriveLag when positive (tests of the backpressure).
	deriveLag store.Seq
}

// System is the running single-node data path.
type System struct {
	Store  *duckdb.Store
	Intake *intake.Service
	Worker *derive.Worker
	Engine *stats.Engine
	// Fresh waits, at most Options.FreshnessWait, until derived data reflects every event acknowledged before the
	// call.
	Fresh func(ctx context.Context) error

	stop context.CancelFunc
	done chan struct{}
}

// Open opens the store, the worker and the intake, and starts the worker.
func Open(ctx context.Context, o Options) (*System, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := duckdb.Open(ctx, filepath.Join(o.DataDir, DBFile), o.DuckDB, o.Now)
	if err != nil {
		return nil, err
	}
	w, err := derive.Open(ctx, derive.Config{Meta: st, Events: st, Dir: filepath.Join(o.DataDir, AttributionDir),
		CacheBytes: o.AttributionCacheBytes, Logger: o.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	in, err := intake.New(ctx, intake.Config{Meta: st, Events: st, Logger: o.Logger, MaxCampaigns: o.MaxCampaigns,
		OnAppend: func(evs []store.StoredEvent, _ store.Seq) { w.Offer(evs) }, OnCatalog: w.CatalogChanged,
		Throttle: func(ctx context.Context, wm store.Seq) {
			// Backpressure: an acknowledgement waits while the worker is more than MaxDeriveLag events behind, so
			// that conversions stay within reach of the freshness wait and the worker within its in-memory queue.
			lag := store.Seq(MaxDeriveLag)
			if o.deriveLag > 0 {
				lag = o.deriveLag
			}
			if wm <= lag {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, maxThrottle)
			defer cancel()
			w.WaitProgress(ctx, wm-lag)
		}})
	if err != nil {
		w.Close()
		st.Close()
		return nil, err
	}
	s := &System{Store: st, Intake: in, Worker: w, done: make(chan struct{})}
	if o.FreshnessWait <= 0 {
		o.FreshnessWait = DefaultFreshnessWait
	}
	s.Fresh = Freshness(w, in, o.FreshnessWait)
	s.Engine = stats.New(st, stats.WithSnapshots(st), stats.WithFreshness(s.Fresh))
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.maintain(bg, o.Logger)
		}()
		if o.holdWorker != nil {
			select {
			case <-o.holdWorker:
			case <-bg.Done():
			}
		}
		w.Run(bg)
		wg.Wait()
	}()
	return s, nil
}

// MaintainInterval is how often the store's compaction policy is looked at.
const MaintainInterval = 2 * time.Second

// maintain runs the store's compaction (reads that touch only the campaigns asked for) until ctx ends.
func (s *System) maintain(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(MaintainInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		done, err := s.Store.Maintain(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("compaction failed", "error", err.Error())
		case done:
			log.Info("compacted the event log", "duration_ms", time.Since(start).Milliseconds())
		}
	}
}

// Freshness returns the wait of stats.WithFreshness: until the worker's derived data reflects every event the
// intake acknowledged before the call, at most limit. A worker that is behind by more than limit, or failing, does
// not fail reads: they see the derived data as it is (the worker logs its failures).
func Freshness(w *derive.Worker, in *intake.Service, limit time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		w.Wait(c, in.Watermark())
		return ctx.Err()
	}
}

// Sync waits, without a bound, until derived data reflects every acknowledged event (tests and tools).
func (s *System) Sync(ctx context.Context) error {
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
	return errors.Join(s.Worker.Close(), s.Store.Close())
}
