package app

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// blockingGenerator signals each start and waits for its context (a long run interrupted by shutdown).
type blockingGenerator struct{ started chan string }

func (g blockingGenerator) Generate(ctx context.Context, _ domain.Workspace, _ report.Report, run report.Run) (report.Result, error) {
	g.started <- run.ID
	<-ctx.Done()
	return report.Result{}, ctx.Err()
}

type okGenerator struct{}

func (okGenerator) Generate(_ context.Context, ws domain.Workspace, rep report.Report, run report.Run) (report.Result, error) {
	return report.Result{Filename: rep.Definition.FileStem() + "_" + run.CreatedAt.In(ws.Location()).Format("20060102") + ".zip", Size: 1}, nil
}

func waitRun(t *testing.T, srv *Server, ws domain.Workspace, reportID string, want func(report.Run) bool) report.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := srv.Reports().Runs(context.Background(), ws, reportID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 && want(runs[0]) {
			return runs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs: %+v", runs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReportRunsAcrossRestarts: Close re-queues a RUNNING run and the next start runs it; a schedule missed while
// the server was down is caught up with one run at start-up.
func TestReportRunsAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2025, 3, 10, 3, 0, 0, 0, time.UTC)}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	gen := blockingGenerator{started: make(chan string, 1)}
	srv, err := Start(ctx, cfg, logger, clk.now, WithReportGenerator(func(ReportDeps) (report.Generator, error) { return gen, nil }))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := srv.Workspaces().Create(ctx, workspace.CreateRequest{Name: "w", Timezone: "America/New_York"})
	if err != nil {
		t.Fatal(err)
	}
	manual, err := srv.Reports().Create(ctx, ws, report.Definition{Name: "Manual", Range: report.Range{LastDays: 7}, Compression: "zip"})
	if err != nil {
		t.Fatal(err)
	}
	daily, err := srv.Reports().Create(ctx, ws, report.Definition{Name: "Daily", Range: report.Range{LastDays: 1}, Compression: "zip",
		Schedule: &report.Schedule{Type: "daily", At: "06:00"}})
	if err != nil {
		t.Fatal(err)
	}
	if !daily.NextRunAt.Equal(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("next_run_at %v, want 06:00 EDT", daily.NextRunAt)
	}
	run, err := srv.Reports().RunNow(ctx, ws, manual.ID)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-gen.started:
		if id != run.ID {
			t.Fatalf("started %s, want %s", id, run.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not start")
	}
	closeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := srv.Close(closeCtx); err != nil {
		t.Fatal(err)
	}

	// Three days later: the interrupted run and one catch-up run of the daily schedule.
	clk.set(time.Date(2025, 3, 13, 12, 0, 0, 0, time.UTC))
	srv, err = Start(ctx, cfg, logger, clk.now, WithReportGenerator(func(ReportDeps) (report.Generator, error) { return okGenerator{}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(ctx)
	got := waitRun(t, srv, ws, manual.ID, func(r report.Run) bool { return r.Status == store.RunSuccessful })
	if got.ID != run.ID || got.Filename != "Manual_20250309.zip" {
		t.Fatalf("re-queued run: %+v", got)
	}
	got = waitRun(t, srv, ws, daily.ID, func(r report.Run) bool { return r.Status == store.RunSuccessful })
	runs, _ := srv.Reports().Runs(ctx, ws, daily.ID, 10)
	if len(runs) != 1 || got.Trigger != store.TriggerSchedule || !got.ScheduledFor.Equal(*daily.NextRunAt) ||
		got.RangeStart != "2025-03-12" || got.Filename != "Daily_20250313.zip" {
		t.Fatalf("catch-up runs: %+v", runs)
	}
	rep, _ := srv.Reports().Get(ctx, ws, daily.ID)
	if !rep.NextRunAt.Equal(time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("next_run_at after catch-up: %v", rep.NextRunAt)
	}
}
