package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report is a stored report definition (SPEC §8.1) with its parsed definition.
type Report struct {
	ID          string
	WorkspaceID string
	Definition  Definition
	// NextRunAt is the next scheduled run; nil when none.
	NextRunAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// Deleted is true for a report deleted while one of its runs was RUNNING (seen only by Generator and
	// RunObserver).
	Deleted bool
	// LastRun is the newest run; set by Service.Get and Service.List only.
	LastRun *Run
}

// Run is one run of a report (SPEC §8.4). It is the store's record: Status is one of store.RunQueued,
// store.RunRunning, store.RunSuccessful, store.RunFailed; Trigger store.TriggerSchedule or store.TriggerManual;
// RangeStart/RangeEnd are the run's data range (YYYY-MM-DD, workspace timezone), fixed at creation; the generation
// date of the file name (SPEC §8.5) is CreatedAt's date in the workspace timezone.
type Run = store.ReportRun

// Generator produces a run's file; implemented by the generation code.
type Generator interface {
	Generate(ctx context.Context, ws domain.Workspace, rep Report, run Run) (Result, error)
}

// Snapshotter opens snapshots for the service (Options.Snapshots): it then opens one before it claims a run and
// generates the run with the Generator returned, so that the file reads nothing committed after the run's
// started_at (SPEC §8.4). release ends the snapshot; it is called once the run is generated, or at once when no run
// was queued.
type Snapshotter interface {
	Snapshot(ctx context.Context) (gen Generator, release func() error, err error)
}

// Result is the file a Generator published. A zero ExpiresAt means finished_at + the service's retention.
type Result struct {
	Filename  string
	Size      int64
	SHA256    string
	Rows      int64
	ExpiresAt time.Time
}

// RunObserver is told of finished runs (Options.Observer): RunFinished is called once after every run a worker ends
// (SUCCESSFUL or FAILED), with the finished run (webhooks, SPEC §8.11). When a Service has one and the report has a
// webhook_url, the run is finished with webhook_status "pending"; the observer records the outcome with
// store.Reports.SetRunWebhookStatus. It should not block for long. Runs failed by a report deletion are not
// reported.
type RunObserver interface {
	RunFinished(ctx context.Context, ws domain.Workspace, rep Report, run Run)
}

// Errors of the service; the HTTP layer maps them (SPEC §5.18). Validation errors are *InvalidError; unknown or
// deleted reports are domain.ErrNotFound.
var (
	// ErrNameConflict: another report of the workspace has the same file stem (409 name_conflict).
	ErrNameConflict = errors.New("report name already used")
	// ErrRunInProgress: the report has a QUEUED or RUNNING run (409 run_in_progress).
	ErrRunInProgress = errors.New("report run in progress")
	// ErrTooManyReports: the workspace holds store.MaxReportsPerWorkspace reports.
	ErrTooManyReports = store.ErrTooManyReports
	// ErrGenerationUnavailable is the error of runs executed without a Generator.
	ErrGenerationUnavailable = errors.New("report generation is not available")
)

// Store is what the service needs from persistence.
type Store interface {
	Workspace(ctx context.Context, id string) (domain.Workspace, error)
	store.Reports
}

// Metrics are the report metrics of SPEC §10.1.
type Metrics struct {
	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	queued   prometheus.Gauge
}

// NewMetrics creates campaignstats_report_runs_total{status}, campaignstats_report_run_duration_seconds and
// campaignstats_report_runs_queued and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_report_runs_total",
			Help: "Report runs finished by this node, by final status."}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "campaignstats_report_run_duration_seconds",
			Help: "Duration of report runs from start to finish.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 16)}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campaignstats_report_runs_queued",
			Help: "Report runs waiting for a worker (all nodes)."}),
	}
	for _, status := range []string{store.RunSuccessful, store.RunFailed} { // listed at 0 before the first run
		m.runs.WithLabelValues(status)
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.duration, m.queued)
	}
	return m
}

// Options configure a Service.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default: discard
	// Generator produces files; nil makes every run fail with ErrGenerationUnavailable's text.
	Generator Generator
	// Snapshots, when set, opens the snapshot each run is generated from (its Generator replaces Generator for
	// that run); nil generates with Generator as it is.
	Snapshots Snapshotter
	// Observer, when set, is told of every finished run (webhooks).
	Observer RunObserver
	// Metrics; nil creates unregistered ones.
	Metrics *Metrics
	// Retention is used for a Result without ExpiresAt (default 168h, --report-retention).
	Retention time.Duration
	// Owner names this process's claims (store.ReportRun.ClaimedBy); default a random id.
	Owner string
	// PollInterval is how often idle workers look for runs queued by other nodes (default 2s); runs created
	// through this Service wake them at once.
	PollInterval time.Duration
	// LeaseDuration is how long a worker's claim holds a run without being renewed (default DefaultLeaseDuration):
	// when a node stops renewing (a crash, a stall), another node takes the run over once the lease expired.
	LeaseDuration time.Duration
	// LeaseRenewInterval is how often a worker renews the lease of the run it generates (default
	// DefaultLeaseRenewInterval, at most a third of LeaseDuration).
	LeaseRenewInterval time.Duration
}

// Defaults of the leases of running runs (Options.LeaseDuration, Options.LeaseRenewInterval).
const (
	DefaultLeaseDuration      = 30 * time.Second
	DefaultLeaseRenewInterval = 10 * time.Second
)

// Service manages report definitions, schedules and runs (SPEC §8.1–§8.4).
type Service struct {
	st        Store
	now       func() time.Time
	logger    *slog.Logger
	gen       Generator
	snapshots Snapshotter
	observer  RunObserver
	metrics   *Metrics
	retention time.Duration
	owner     string
	poll      time.Duration
	wake      chan struct{}
	// lease is how long a claim holds a run; renewEvery how often a running run's lease is renewed.
	lease      time.Duration
	renewEvery time.Duration
}

// NewService builds a service over st.
func NewService(st Store, o Options) *Service {
	s := &Service{st: st, now: o.Now, logger: o.Logger, gen: o.Generator, snapshots: o.Snapshots, observer: o.Observer, metrics: o.Metrics, retention: o.Retention,
		owner: o.Owner, poll: o.PollInterval, wake: make(chan struct{}, 1), lease: o.LeaseDuration, renewEvery: o.LeaseRenewInterval}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if s.retention <= 0 {
		s.retention = 168 * time.Hour
	}
	if s.owner == "" {
		s.owner = "node-" + newID()
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.lease <= 0 {
		s.lease = DefaultLeaseDuration
	}
	if s.renewEvery <= 0 {
		s.renewEvery = DefaultLeaseRenewInterval
	}
	s.renewEvery = min(s.renewEvery, s.lease/3)
	return s
}

// newID returns 24 lowercase hex characters from a cryptographic source.
func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// stem is the lower-cased file stem used for uniqueness.
func stem(d Definition) string { return strings.ToLower(d.FileStem()) }

func fromRecord(r store.Report) (Report, error) {
	rep := Report{ID: r.ID, WorkspaceID: r.WorkspaceID, NextRunAt: r.NextRunAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Deleted: r.Deleted}
	if err := json.Unmarshal(r.Definition, &rep.Definition); err != nil {
		return rep, fmt.Errorf("report %s: stored definition: %w", r.ID, err)
	}
	return rep, nil
}

func toRecord(r Report) (store.Report, error) {
	def, err := json.Marshal(r.Definition)
	if err != nil {
		return store.Report{}, fmt.Errorf("encode definition: %w", err)
	}
	return store.Report{ID: r.ID, WorkspaceID: r.WorkspaceID, Name: r.Definition.Name, Stem: stem(r.Definition), Definition: def,
		NextRunAt: r.NextRunAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func mapWriteErr(err error) error {
	switch {
	case errors.Is(err, domain.ErrConflict):
		return ErrNameConflict
	case errors.Is(err, store.ErrTooManyReports):
		return ErrTooManyReports
	}
	return err
}

// Create stores a new report of ws (def from ParseDefinition) and computes its first scheduled run.
func (s *Service) Create(ctx context.Context, ws domain.Workspace, def Definition) (Report, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	rep := Report{ID: newID(), WorkspaceID: ws.ID, Definition: def, NextRunAt: def.Schedule.FirstRunAt(now, ws.Location()),
		CreatedAt: now, UpdatedAt: now}
	rec, err := toRecord(rep)
	if err != nil {
		return Report{}, err
	}
	if err := s.st.CreateReport(ctx, rec); err != nil {
		return Report{}, mapWriteErr(err)
	}
	s.queueIfDue(ctx, rep.NextRunAt, now)
	return rep, nil
}

// queueIfDue queues the run of a schedule due at once (a `once` without `at`, or a past `once`: SPEC §8.3) before
// the write that set it returns, rather than at the scheduler's next tick. A failure is left to that tick.
func (s *Service) queueIfDue(ctx context.Context, next *time.Time, now time.Time) {
	if next == nil || next.After(now) {
		return
	}
	if _, err := NewScheduler(s).Tick(context.WithoutCancel(ctx)); err != nil {
		s.logger.Warn("report scheduler", "error", err.Error())
	}
}

// Update replaces a report's definition; its schedule is recomputed from now.
func (s *Service) Update(ctx context.Context, ws domain.Workspace, id string, def Definition) (Report, error) {
	cur, err := s.get(ctx, ws.ID, id)
	if err != nil {
		return Report{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	rep := Report{ID: id, WorkspaceID: ws.ID, Definition: def, NextRunAt: def.Schedule.FirstRunAt(now, ws.Location()),
		CreatedAt: cur.CreatedAt, UpdatedAt: now}
	rec, err := toRecord(rep)
	if err != nil {
		return Report{}, err
	}
	if err := s.st.UpdateReport(ctx, rec); err != nil {
		return Report{}, mapWriteErr(err)
	}
	s.queueIfDue(ctx, rep.NextRunAt, now)
	return s.withLastRun(ctx, rep)
}

// Delete deletes a report: its QUEUED runs fail with "report deleted", a RUNNING run finishes, its files stay
// downloadable until they expire.
func (s *Service) Delete(ctx context.Context, ws domain.Workspace, id string) error {
	if err := s.st.DeleteReport(ctx, ws.ID, id, s.now().UTC()); err != nil {
		return err
	}
	s.refreshQueued(ctx)
	return nil
}

// get returns a non-deleted report without its last run.
func (s *Service) get(ctx context.Context, wsID, id string) (Report, error) {
	rec, err := s.st.Report(ctx, wsID, id)
	if err != nil {
		return Report{}, err
	}
	if rec.Deleted {
		return Report{}, fmt.Errorf("report %s: %w", id, domain.ErrNotFound)
	}
	return fromRecord(rec)
}

func (s *Service) withLastRun(ctx context.Context, rep Report) (Report, error) {
	runs, err := s.st.ListRuns(ctx, rep.WorkspaceID, rep.ID, 1)
	if err != nil {
		return Report{}, err
	}
	if len(runs) > 0 {
		rep.LastRun = &runs[0]
	}
	return rep, nil
}

// Get returns a report with its last run; domain.ErrNotFound when unknown or deleted.
func (s *Service) Get(ctx context.Context, ws domain.Workspace, id string) (Report, error) {
	rep, err := s.get(ctx, ws.ID, id)
	if err != nil {
		return Report{}, err
	}
	return s.withLastRun(ctx, rep)
}

// List returns the workspace's reports ordered by name, each with its last run.
func (s *Service) List(ctx context.Context, ws domain.Workspace) ([]Report, error) {
	recs, err := s.st.ListReports(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	latest, err := s.st.LatestRuns(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Report, 0, len(recs))
	for _, rec := range recs {
		rep, err := fromRecord(rec)
		if err != nil {
			return nil, err
		}
		if r, ok := latest[rep.ID]; ok {
			rep.LastRun = &r
		}
		out = append(out, rep)
	}
	return out, nil
}

// RunNow queues a manual run; ErrRunInProgress when one is QUEUED or RUNNING.
func (s *Service) RunNow(ctx context.Context, ws domain.Workspace, id string) (Run, error) {
	rep, err := s.get(ctx, ws.ID, id)
	if err != nil {
		return Run{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	start, end := rep.Definition.Range.Dates(now, ws.Location())
	run := Run{ID: newID(), ReportID: rep.ID, WorkspaceID: ws.ID, Status: store.RunQueued, Trigger: store.TriggerManual,
		CreatedAt: now, RangeStart: start, RangeEnd: end, WebhookStatus: store.WebhookNone}
	if err := s.st.CreateRun(ctx, run); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return Run{}, ErrRunInProgress
		}
		return Run{}, err
	}
	s.notify()
	s.refreshQueued(ctx)
	return run, nil
}

// Runs returns a report's runs newest first (limit 1–500, checked by the caller).
func (s *Service) Runs(ctx context.Context, ws domain.Workspace, id string, limit int) ([]Run, error) {
	if _, err := s.get(ctx, ws.ID, id); err != nil {
		return nil, err
	}
	return s.st.ListRuns(ctx, ws.ID, id, limit)
}

// RequeueInterrupted returns every RUNNING run to QUEUED; called once at start-up (SPEC §8.4: a run interrupted by
// shutdown returns to QUEUED at the next start). With a store shared by several nodes it must only run when no
// other node is generating.
func (s *Service) RequeueInterrupted(ctx context.Context) (int, error) {
	n, err := s.st.RequeueRuns(ctx, "")
	if err == nil && n > 0 {
		s.notify()
	}
	s.refreshQueued(ctx)
	return n, err
}

// notify wakes one idle worker.
func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) refreshQueued(ctx context.Context) {
	if n, err := s.st.CountQueuedRuns(context.WithoutCancel(ctx)); err == nil {
		s.metrics.queued.Set(float64(n))
	}
}

// ---- scheduling ----

// plan is the store.SchedulePlanner of the service: the run of a due occurrence and the next occurrence after now.
// Reports of disabled or unknown workspaces consume the occurrence without a run.
func (s *Service) plan(ctx context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
	rep, err := fromRecord(r)
	if err != nil {
		return store.SchedulePlan{}, err
	}
	ws, err := s.st.Workspace(ctx, r.WorkspaceID)
	if errors.Is(err, domain.ErrNotFound) {
		return store.SchedulePlan{}, nil
	}
	if err != nil {
		return store.SchedulePlan{}, err
	}
	loc := ws.Location()
	p := store.SchedulePlan{NextRunAt: rep.Definition.Schedule.NextRunAfter(now, loc)}
	if !ws.Active() {
		return p, nil
	}
	start, end := rep.Definition.Range.Dates(now, loc)
	p.Run = &Run{ID: newID(), ReportID: r.ID, WorkspaceID: r.WorkspaceID, Status: store.RunQueued, Trigger: store.TriggerSchedule,
		ScheduledFor: r.NextRunAt, CreatedAt: now.UTC().Truncate(time.Millisecond), RangeStart: start, RangeEnd: end,
		WebhookStatus: store.WebhookNone}
	return p, nil
}

// Scheduler turns due schedules into QUEUED runs (SPEC §8.3). Several schedulers (one per node) may share a store:
// each occurrence is claimed once.
type Scheduler struct{ svc *Service }

// NewScheduler returns the scheduler of the service (same store and clock).
func NewScheduler(svc *Service) *Scheduler { return &Scheduler{svc: svc} }

// Tick claims every due schedule at the service clock's now and returns the runs it queued. A missed backlog
// yields one run per report.
func (sc *Scheduler) Tick(ctx context.Context) ([]Run, error) {
	s := sc.svc
	runs, err := s.st.ClaimDueSchedules(ctx, s.now().UTC(), s.plan)
	if len(runs) > 0 {
		s.notify()
		for _, r := range runs {
			s.logger.Info("report run queued", "workspace_id", r.WorkspaceID, "report_id", r.ReportID, "run_id", r.ID,
				"trigger", r.Trigger)
		}
	}
	s.refreshQueued(ctx)
	return runs, err
}

// Run ticks at once (start-up catch-up) and then every interval until ctx ends.
func (sc *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := sc.Tick(ctx); err != nil && ctx.Err() == nil {
			sc.svc.logger.Warn("report scheduler", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
