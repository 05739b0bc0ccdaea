package report

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

// testClock is an injected clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	st    *duckdb.Store
	ws    domain.Workspace
	clock *testClock
}

func newTestEnv(t *testing.T, zone string, start time.Time) *testEnv {
	t.Helper()
	clock := &testClock{t: start}
	st, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "db.duckdb"), duckdb.Options{MemoryLimit: "1GB", Threads: 2}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws := domain.Workspace{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Name: "shop", Timezone: zone, Status: domain.WorkspaceActive,
		RateLimitPerMinute: 100, CreatedAt: start, ReportKey: "rk", DataKey: "dk"}
	if err := st.CreateWorkspace(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return &testEnv{st: st, ws: ws, clock: clock}
}

// service returns a Service generating with gen; a *fakeGenerator also observes its runs.
func (e *testEnv) service(gen Generator, reg prometheus.Registerer) *Service {
	o := Options{Now: e.clock.Now, Generator: gen, Metrics: NewMetrics(reg), Retention: 168 * time.Hour,
		PollInterval: 10 * time.Millisecond}
	if fake, ok := gen.(*fakeGenerator); ok {
		o.Observer = fake
	}
	return NewService(e.st, o)
}

func mustDef(t *testing.T, body string) Definition {
	t.Helper()
	d, err := ParseDefinition([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fakeGenerator records calls and produces the SPEC §8.5 file name.
type fakeGenerator struct {
	mu       sync.Mutex
	calls    []Run
	err      error
	block    bool // wait for ctx to end, then fail with its error
	started  chan struct{}
	finished []Run
}

func (g *fakeGenerator) Generate(ctx context.Context, ws domain.Workspace, rep Report, run Run) (Result, error) {
	g.mu.Lock()
	g.calls = append(g.calls, run)
	g.mu.Unlock()
	if g.block {
		if g.started != nil {
			g.started <- struct{}{}
		}
		<-ctx.Done()
		return Result{}, ctx.Err()
	}
	if g.err != nil {
		return Result{}, g.err
	}
	ext := ".zip"
	if rep.Definition.Compression == "gzip" {
		ext = ".gz"
	}
	name := rep.Definition.FileStem() + "_" + run.CreatedAt.In(ws.Location()).Format("20060102") + ext
	return Result{Filename: name, Size: 100, SHA256: "00ff", Rows: 3}, nil
}

func (g *fakeGenerator) RunFinished(ctx context.Context, ws domain.Workspace, rep Report, run Run) {
	g.mu.Lock()
	g.finished = append(g.finished, run)
	g.mu.Unlock()
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestScheduledDailyReport: a daily report fires at its workspace-local time, once per occurrence, with the
// relative range of the generation date, and a missed backlog is caught up with one run.
func TestScheduledDailyReport(t *testing.T) {
	ctx := context.Background()
	// 2025-03-10 05:00 in Asia/Kolkata (UTC+05:30).
	e := newTestEnv(t, "Asia/Kolkata", utc("2025-03-09T23:30:00Z"))
	svc := e.service(nil, nil)
	rep, err := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Daily Push","range":{"last_days":7},"schedule":{"type":"daily","at":"06:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.NextRunAt == nil || !rep.NextRunAt.Equal(utc("2025-03-10T00:30:00Z")) {
		t.Fatalf("next_run_at = %v, want 06:00 IST", rep.NextRunAt)
	}
	sched := NewScheduler(svc)
	e.clock.Set(utc("2025-03-10T00:29:59Z"))
	if runs, err := sched.Tick(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("tick before time: %+v %v", runs, err)
	}
	e.clock.Set(utc("2025-03-10T00:30:00Z"))
	runs, err := sched.Tick(ctx)
	if err != nil || len(runs) != 1 {
		t.Fatalf("tick at time: %+v %v", runs, err)
	}
	r := runs[0]
	if r.Trigger != store.TriggerSchedule || r.Status != store.RunQueued || r.ScheduledFor == nil ||
		!r.ScheduledFor.Equal(utc("2025-03-10T00:30:00Z")) || r.RangeStart != "2025-03-03" || r.RangeEnd != "2025-03-09" {
		t.Fatalf("scheduled run: %+v", r)
	}
	if runs, _ := sched.Tick(ctx); len(runs) != 0 {
		t.Fatalf("second tick at the same time queued %d runs", len(runs))
	}
	got, _ := svc.Get(ctx, e.ws, rep.ID)
	if got.NextRunAt == nil || !got.NextRunAt.Equal(utc("2025-03-11T00:30:00Z")) || got.LastRun == nil || got.LastRun.ID != r.ID {
		t.Fatalf("after the run: next %v last %+v", got.NextRunAt, got.LastRun)
	}
	// Three days down: one catch-up run at start-up, then the normal schedule.
	e.clock.Set(utc("2025-03-13T08:00:00Z"))
	runs, _ = sched.Tick(ctx)
	if len(runs) != 1 || !runs[0].ScheduledFor.Equal(utc("2025-03-11T00:30:00Z")) || runs[0].RangeEnd != "2025-03-12" {
		t.Fatalf("catch-up: %+v", runs)
	}
	got, _ = svc.Get(ctx, e.ws, rep.ID)
	if !got.NextRunAt.Equal(utc("2025-03-14T00:30:00Z")) {
		t.Fatalf("next after catch-up: %v", got.NextRunAt)
	}
}

// TestTwoSchedulersOneRun: two nodes' schedulers sharing one store queue one run per occurrence.
func TestTwoSchedulersOneRun(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "America/New_York", utc("2025-03-10T12:00:00Z"))
	a, b := e.service(nil, nil), e.service(nil, nil)
	rep, err := a.Create(ctx, e.ws, mustDef(t, `{"name":"Shared","range":{"last_days":1},"schedule":{"type":"daily","at":"09:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(utc("2025-03-10T13:00:00Z")) // 09:00 EDT
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for _, sc := range []*Scheduler{NewScheduler(a), NewScheduler(b), NewScheduler(a), NewScheduler(b)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				runs, err := sc.Tick(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += len(runs)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	runs, _ := b.Runs(ctx, e.ws, rep.ID, 50)
	if total != 1 || len(runs) != 1 {
		t.Fatalf("schedulers queued %d runs (%d stored), want 1", total, len(runs))
	}
}

func TestRunLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	reg := prometheus.NewRegistry()
	gen := &fakeGenerator{}
	svc := e.service(gen, reg)
	rep, err := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Weekly Push Report","range":{"last_days":7},"webhook_url":"https://hooks.example.com/x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.NextRunAt != nil {
		t.Fatalf("manual-only report has next_run_at %v", rep.NextRunAt)
	}
	run, err := svc.RunNow(ctx, e.ws, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunQueued || run.Trigger != store.TriggerManual || run.ScheduledFor != nil || run.RangeStart != "2025-03-03" {
		t.Fatalf("manual run: %+v", run)
	}
	if _, err := svc.RunNow(ctx, e.ws, rep.ID); !errors.Is(err, ErrRunInProgress) {
		t.Fatalf("second run: %v, want ErrRunInProgress", err)
	}
	if m := gather(t, reg); m["campaignstats_report_runs_queued"] != 1 {
		t.Fatalf("queued gauge: %v", m)
	}
	e.clock.Advance(time.Second)
	if ok, err := svc.ProcessNext(ctx); !ok || err != nil {
		t.Fatalf("process: %v %v", ok, err)
	}
	runs, _ := svc.Runs(ctx, e.ws, rep.ID, 50)
	done := runs[0]
	if done.Status != store.RunSuccessful || done.Filename != "Weekly_Push_Report_20250310.zip" || done.Rows != 3 ||
		done.ExpiresAt == nil || !done.ExpiresAt.Equal(utc("2025-03-17T06:00:01Z")) || done.WebhookStatus != store.WebhookPending {
		t.Fatalf("finished run: %+v", done)
	}
	if len(gen.finished) != 1 || gen.finished[0].ID != run.ID || gen.finished[0].Status != store.RunSuccessful {
		t.Fatalf("observer: %+v", gen.finished)
	}
	// A second run the same day replaces the file; the first is superseded.
	e.clock.Advance(time.Hour)
	run2, err := svc.RunNow(ctx, e.ws, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := svc.ProcessNext(ctx); !ok {
		t.Fatal("nothing processed")
	}
	runs, _ = svc.Runs(ctx, e.ws, rep.ID, 50)
	if len(runs) != 2 || runs[0].ID != run2.ID || runs[0].Superseded || !runs[1].Superseded {
		t.Fatalf("supersede: %+v", runs)
	}
	// A generator error fails the run with its text.
	gen.err = errors.New("storage write failure")
	if _, err := svc.RunNow(ctx, e.ws, rep.ID); err != nil {
		t.Fatal(err)
	}
	svc.ProcessNext(ctx)
	runs, _ = svc.Runs(ctx, e.ws, rep.ID, 1)
	if runs[0].Status != store.RunFailed || runs[0].Error != "storage write failure" || runs[0].Filename != "" {
		t.Fatalf("failed run: %+v", runs[0])
	}
	m := gather(t, reg)
	if m["campaignstats_report_runs_total{status=SUCCESSFUL}"] != 2 || m["campaignstats_report_runs_total{status=FAILED}"] != 1 ||
		m["campaignstats_report_run_duration_seconds_count"] != 3 || m["campaignstats_report_runs_queued"] != 0 {
		t.Fatalf("metrics: %v", m)
	}
	if ok, _ := svc.ProcessNext(ctx); ok {
		t.Fatal("processed a run from an empty queue")
	}
}

func TestNoGenerator(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	svc := e.service(nil, nil)
	rep, _ := svc.Create(ctx, e.ws, mustDef(t, `{"name":"R","range":{"last_days":7}}`))
	if _, err := svc.RunNow(ctx, e.ws, rep.ID); err != nil {
		t.Fatal(err)
	}
	svc.ProcessNext(ctx)
	runs, _ := svc.Runs(ctx, e.ws, rep.ID, 1)
	if runs[0].Status != store.RunFailed || runs[0].Error != "report generation is not available" || runs[0].StartedAt == nil || runs[0].FinishedAt == nil {
		t.Fatalf("run without generator: %+v", runs[0])
	}
}

// TestShutdownRequeues: a run interrupted by a graceful shutdown, or by a crash, is QUEUED again at the next start.
func TestShutdownRequeues(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	gen := &fakeGenerator{block: true, started: make(chan struct{}, 1)}
	svc := e.service(gen, nil)
	rep, _ := svc.Create(ctx, e.ws, mustDef(t, `{"name":"R","range":{"last_days":7}}`))
	run, _ := svc.RunNow(ctx, e.ws, rep.ID)
	w := NewWorkers(svc, 2)
	w.Start()
	select {
	case <-gen.started:
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not pick up the run")
	}
	if got, _ := e.st.ReportRun(ctx, run.ID); got.Status != store.RunRunning {
		t.Fatalf("running: %+v", got)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.ReportRun(ctx, run.ID)
	if got.Status != store.RunQueued || got.StartedAt != nil || got.Error != "" {
		t.Fatalf("after graceful stop: %+v", got)
	}
	// A crash: the run stays RUNNING in the store until the next start re-queues it.
	crashed := e.service(nil, nil)
	if r, ok, err := e.st.ClaimRun(ctx, store.RunClaim{Owner: "dead-node", Token: "t", At: e.clock.Now()}); !ok || err != nil || r.ID != run.ID {
		t.Fatalf("claim: %+v %v %v", r, ok, err)
	}
	n, err := crashed.RequeueInterrupted(ctx)
	if err != nil || n != 1 {
		t.Fatalf("requeue at start: %d %v", n, err)
	}
	gen2 := &fakeGenerator{}
	next := e.service(gen2, nil)
	if ok, _ := next.ProcessNext(ctx); !ok {
		t.Fatal("re-queued run not processed")
	}
	if got, _ := e.st.ReportRun(ctx, run.ID); got.Status != store.RunSuccessful {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestWorkersProcessQueuedRuns(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	gen := &fakeGenerator{}
	svc := e.service(gen, nil)
	w := NewWorkers(svc, 2)
	w.Start()
	defer w.Stop(ctx)
	var ids []string
	for i := 0; i < 4; i++ {
		rep, err := svc.Create(ctx, e.ws, mustDef(t, fmt.Sprintf(`{"name":"R%d","range":{"last_days":7}}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		run, err := svc.RunNow(ctx, e.ws, rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			r, _ := e.st.ReportRun(ctx, id)
			if r.Status == store.RunSuccessful {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s not finished: %+v", id, r)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestDeleteAndConflicts(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	svc := e.service(&fakeGenerator{}, nil)
	rep, err := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Weekly Push","range":{"last_days":7},"schedule":{"type":"daily","at":"07:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, e.ws, mustDef(t, `{"name":"weekly_push","range":{"last_days":7}}`)); !errors.Is(err, ErrNameConflict) {
		t.Fatalf("stem clash: %v", err)
	}
	other, _ := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Other","range":{"last_days":7}}`))
	if _, err := svc.Update(ctx, e.ws, other.ID, mustDef(t, `{"name":"WEEKLY PUSH","range":{"last_days":7}}`)); !errors.Is(err, ErrNameConflict) {
		t.Fatalf("update onto a taken stem: %v", err)
	}
	// Update recomputes the schedule.
	e.clock.Advance(time.Minute)
	upd, err := svc.Update(ctx, e.ws, rep.ID, mustDef(t, `{"name":"Weekly Push","range":{"last_days":3},"schedule":{"type":"daily","at":"05:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !upd.NextRunAt.Equal(utc("2025-03-11T05:00:00Z")) || !upd.CreatedAt.Equal(rep.CreatedAt) || !upd.UpdatedAt.After(rep.UpdatedAt) {
		t.Fatalf("update: %+v", upd)
	}
	run, err := svc.RunNow(ctx, e.ws, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, e.ws, rep.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.ReportRun(ctx, run.ID)
	if got.Status != store.RunFailed || got.Error != "report deleted" {
		t.Fatalf("queued run after delete: %+v", got)
	}
	for _, err := range []error{
		svc.Delete(ctx, e.ws, rep.ID),
		func() error { _, err := svc.Get(ctx, e.ws, rep.ID); return err }(),
		func() error { _, err := svc.RunNow(ctx, e.ws, rep.ID); return err }(),
		func() error { _, err := svc.Runs(ctx, e.ws, rep.ID, 5); return err }(),
		func() error { _, err := svc.Update(ctx, e.ws, rep.ID, upd.Definition); return err }(),
	} {
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("deleted report: %v, want ErrNotFound", err)
		}
	}
	// The name is free again; the scheduler ignores the deleted report.
	if _, err := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Weekly Push","range":{"last_days":7}}`)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(48 * time.Hour)
	if runs, _ := NewScheduler(svc).Tick(ctx); len(runs) != 0 {
		t.Fatalf("deleted report scheduled: %+v", runs)
	}
	list, _ := svc.List(ctx, e.ws)
	if len(list) != 2 || list[0].Definition.Name != "Other" || list[1].Definition.Name != "Weekly Push" {
		t.Fatalf("list: %+v", list)
	}
}

// TestDisabledWorkspaceSchedule: occurrences of a disabled workspace pass without runs.
func TestDisabledWorkspaceSchedule(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	svc := e.service(nil, nil)
	rep, _ := svc.Create(ctx, e.ws, mustDef(t, `{"name":"R","range":{"last_days":7},"schedule":{"type":"daily","at":"07:00"}}`))
	ws := e.ws
	ws.Status = domain.WorkspaceDisabled
	if err := e.st.UpdateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(utc("2025-03-10T07:00:00Z"))
	if runs, err := NewScheduler(svc).Tick(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("disabled workspace: %+v %v", runs, err)
	}
	r, _ := e.st.Report(ctx, ws.ID, rep.ID)
	if !r.NextRunAt.Equal(utc("2025-03-11T07:00:00Z")) {
		t.Fatalf("occurrence not consumed: %v", r.NextRunAt)
	}
}

// TestOnceSchedule: a once report runs once, then has no next run.
func TestOnceSchedule(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "UTC", utc("2025-03-10T06:00:00Z"))
	svc := e.service(nil, nil)
	rep, _ := svc.Create(ctx, e.ws, mustDef(t, `{"name":"Once","range":{"start_date":"2025-01-01","end_date":"2025-01-31"},"schedule":{"type":"once"}}`))
	if !rep.NextRunAt.Equal(utc("2025-03-10T06:00:00Z")) {
		t.Fatalf("once without at: %v", rep.NextRunAt)
	}
	// Queued by the create itself, before any tick of the scheduler.
	runs, _ := svc.Runs(ctx, e.ws, rep.ID, 10)
	if len(runs) != 1 || runs[0].Status != "QUEUED" || runs[0].Trigger != "schedule" || runs[0].RangeStart != "2025-01-01" || runs[0].RangeEnd != "2025-01-31" {
		t.Fatalf("once run right after the create: %+v", runs)
	}
	if runs, _ := NewScheduler(svc).Tick(ctx); len(runs) != 0 {
		t.Fatalf("the tick after the create queued again: %+v", runs)
	}
	got, _ := svc.Get(ctx, e.ws, rep.ID)
	if got.NextRunAt != nil {
		t.Fatalf("once next_run_at after running: %v", got.NextRunAt)
	}
	e.clock.Advance(24 * time.Hour)
	if runs, _ := NewScheduler(svc).Tick(ctx); len(runs) != 0 {
		t.Fatalf("once ran twice: %+v", runs)
	}
}
