package report

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// ProcessNext claims the oldest claimable run (QUEUED, or RUNNING under a lease that expired), generates it and
// finishes it; ok is false when no run was claimable. The claim is leased for the service's lease duration and
// renewed while the run is generated. When ctx ends while the Generator fails (shutdown), the run returns to QUEUED
// instead of failing.
func (s *Service) ProcessNext(ctx context.Context) (ok bool, err error) {
	// The snapshot opens before the claim sets started_at: whatever is received after started_at commits after
	// the snapshot and stays out of the file (SPEC §8.4).
	gen, release := s.gen, func() error { return nil }
	if s.snapshots != nil {
		if gen, release, err = s.snapshots.Snapshot(ctx); err != nil {
			return false, err
		}
	}
	defer func() {
		if rerr := release(); rerr != nil {
			s.logger.Warn("report snapshot release failed", "error", rerr.Error())
		}
	}()
	at := s.now().UTC().Truncate(time.Millisecond)
	run, ok, err := s.st.ClaimRun(ctx, store.RunClaim{Owner: s.owner, Token: newID(), At: at, LeaseUntil: at.Add(s.lease)})
	if err != nil || !ok {
		return false, err
	}
	s.notify() // another idle worker may take the next queued run
	s.refreshQueued(ctx)
	s.execute(ctx, run, gen)
	return true, nil
}

// errLeaseLost ends the generation of a run that another node took over (its lease expired before it was renewed).
var errLeaseLost = errors.New("report run taken over by another worker: its lease expired")

// execute runs a claimed run to its end with gen, renewing its lease meanwhile. A run whose claim is lost (another
// node took it over after its lease expired) is abandoned: generation is cancelled and the run left to its new
// holder.
func (s *Service) execute(ctx context.Context, run Run, gen Generator) {
	bg := context.WithoutCancel(ctx)
	log := s.logger.With("workspace_id", run.WorkspaceID, "report_id", run.ReportID, "run_id", run.ID)
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	stopRenewing := s.renewLease(bg, run, cancelRun)
	defer stopRenewing()
	var ws domain.Workspace
	var rep Report
	var res Result
	genErr := func() error {
		var err error
		if ws, err = s.st.Workspace(bg, run.WorkspaceID); err != nil {
			return fmt.Errorf("load workspace: %w", err)
		}
		rec, err := s.st.Report(bg, run.WorkspaceID, run.ReportID)
		if err != nil {
			return fmt.Errorf("load report: %w", err)
		}
		if rep, err = fromRecord(rec); err != nil {
			return err
		}
		if !ws.Active() {
			return errors.New("workspace disabled")
		}
		if gen == nil {
			return ErrGenerationUnavailable
		}
		res, err = s.generate(runCtx, gen, ws, rep, run)
		if err == nil && res.Filename == "" {
			err = errors.New("report generator returned no file")
		}
		return err
	}()
	stopRenewing()
	if errors.Is(context.Cause(runCtx), errLeaseLost) {
		log.Warn("report run abandoned: another worker took it over after its lease expired")
		return
	}
	if genErr != nil && ctx.Err() != nil {
		// Shutting down: the run goes back to the queue for the next start (SPEC §8.4, §10.3).
		if err := s.st.RequeueRun(bg, run.ID, run.ClaimToken); err != nil {
			log.Error("report run re-queue failed", "error", err.Error())
		} else {
			log.Info("report run re-queued (shutdown)")
		}
		s.refreshQueued(bg)
		return
	}
	finished := s.now().UTC().Truncate(time.Millisecond)
	out := store.RunOutcome{RunID: run.ID, ClaimToken: run.ClaimToken, FinishedAt: finished, WebhookStatus: store.WebhookNone}
	if s.observer != nil && rep.Definition.WebhookURL != "" {
		out.WebhookStatus = store.WebhookPending
	}
	if genErr != nil {
		out.Status, out.Error = store.RunFailed, genErr.Error()
	} else {
		out.Status, out.Filename, out.Size, out.SHA256, out.Rows, out.ExpiresAt = store.RunSuccessful, res.Filename, res.Size, res.SHA256, res.Rows, res.ExpiresAt
		if out.ExpiresAt.IsZero() {
			out.ExpiresAt = finished.Add(s.retention)
		}
	}
	done, err := s.st.FinishRun(bg, out)
	if err != nil {
		log.Error("report run finish failed", "error", err.Error())
		return
	}
	s.metrics.runs.WithLabelValues(done.Status).Inc()
	if done.StartedAt != nil {
		s.metrics.duration.Observe(finished.Sub(*done.StartedAt).Seconds())
	}
	if genErr != nil {
		log.Warn("report run failed", "error", genErr.Error())
	} else {
		log.Info("report run finished", "filename", done.Filename, "rows", done.Rows, "size", done.Size)
	}
	if s.observer != nil {
		s.observer.RunFinished(bg, ws, rep, done)
	}
}

// renewLease renews the run's lease every renewEvery until the returned stop is called (stop may be called more
// than once). When the store answers that the run is no longer held by this claim, it calls cancel with
// errLeaseLost and stops.
func (s *Service) renewLease(ctx context.Context, run Run, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(s.renewEvery)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
			}
			err := s.st.RenewRun(ctx, run.ID, run.ClaimToken, s.now().UTC().Add(s.lease))
			switch {
			case errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound):
				cancel(errLeaseLost)
				return
			case err != nil:
				// Transient: the lease holds until it expires, and the next tick tries again.
				s.logger.Warn("report run lease renewal failed", "run_id", run.ID, "error", err.Error())
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// generate calls the Generator, turning a panic into an error.
func (s *Service) generate(ctx context.Context, gen Generator, ws domain.Workspace, rep Report, run Run) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("report generator panic", "run_id", run.ID, "panic", fmt.Sprint(p))
			res, err = Result{}, errors.New("internal error while generating the report")
		}
	}()
	return gen.Generate(ctx, ws, rep, run)
}

// Workers is the pool of report workers of one node (--report-workers).
type Workers struct {
	svc    *Service
	n      int
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewWorkers returns a pool of n workers (at least 1) over the service.
func NewWorkers(svc *Service, n int) *Workers { return &Workers{svc: svc, n: max(n, 1)} }

// Start starts the workers; they run until Stop.
func (w *Workers) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	for i := 0; i < w.n; i++ {
		w.wg.Add(1)
		go w.loop(ctx)
	}
}

func (w *Workers) loop(ctx context.Context) {
	defer w.wg.Done()
	s := w.svc
	for ctx.Err() == nil {
		did, err := s.ProcessNext(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("report worker: claim failed", "error", err.Error())
		}
		if did {
			continue
		}
		timer := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Stop cancels the runs in progress, which return to QUEUED, and waits for the workers until ctx ends; runs still
// held then are re-queued directly.
func (w *Workers) Stop(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n, err := w.svc.st.RequeueRuns(context.WithoutCancel(ctx), w.svc.owner)
		if err != nil {
			return fmt.Errorf("re-queue the runs still running at shutdown: %w", err)
		}
		w.svc.logger.Info("report runs still running when the shutdown's time ran out were re-queued", "runs", n)
		return nil
	}
}
