package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// runReports runs the report and run tests (SPEC §8).
func runReports(t *testing.T, newStore func(t *testing.T) store.MetaStore) {
	t.Run("Reports", func(t *testing.T) { testReports(t, newStore(t)) })
	t.Run("ReportLimit", func(t *testing.T) { testReportLimit(t, newStore(t)) })
	t.Run("RunLifecycle", func(t *testing.T) { testRunLifecycle(t, newStore(t)) })
	t.Run("DeleteReportFailsQueuedRuns", func(t *testing.T) { testDeleteReportRuns(t, newStore(t)) })
	t.Run("ClaimDueSchedules", func(t *testing.T) { testClaimDueSchedules(t, newStore(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newStore(t)) })
	t.Run("RunLeases", func(t *testing.T) { testRunLeases(t, newStore(t)) })
	t.Run("RunRetention", func(t *testing.T) { testRunRetention(t, newStore(t)) })
}

const rws = "aaaaaaaaaaaaaaaaaaaaaaaa"

func tp(t time.Time) *time.Time { return &t }

func rep(id, name string, created time.Time) store.Report {
	return store.Report{ID: id, WorkspaceID: rws, Name: name, Stem: strings.ToLower(strings.ReplaceAll(name, " ", "_")),
		Definition: []byte(`{"name":` + fmt.Sprintf("%q", name) + `}`), CreatedAt: created, UpdatedAt: created}
}

func queued(id, reportID string, created time.Time) store.ReportRun {
	return store.ReportRun{ID: id, ReportID: reportID, WorkspaceID: rws, Trigger: store.TriggerManual, CreatedAt: created,
		RangeStart: "2025-03-01", RangeEnd: "2025-03-07"}
}

func testReports(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	a := rep("r1", "Weekly Push", t0)
	a.NextRunAt = tp(t0.Add(time.Hour))
	b := rep("r2", "alpha", t0.Add(time.Second))
	for _, r := range []store.Report{a, b} {
		if err := s.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Report(ctx, rws, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("report round trip (-want +got):\n%s", diff)
	}
	if _, err := s.Report(ctx, "bbbbbbbbbbbbbbbbbbbbbbbb", "r1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("report of another workspace: %v", err)
	}
	// The stem is unique ignoring case (callers pass it lower-cased).
	clash := rep("r3", "WEEKLY_PUSH", t0)
	if err := s.CreateReport(ctx, clash); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stem clash: %v, want ErrConflict", err)
	}
	other := clash
	other.ID, other.WorkspaceID = "r3-other", "bbbbbbbbbbbbbbbbbbbbbbbb"
	if err := s.CreateReport(ctx, other); err != nil {
		t.Fatalf("same stem in another workspace: %v", err)
	}
	list, err := s.ListReports(ctx, rws)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "r2" || list[1].ID != "r1" {
		t.Fatalf("list ordered by name: %+v", list)
	}
	// Update: renaming onto another report's stem is a conflict; keeping one's own stem is not.
	upd := a
	upd.Name, upd.Stem = "Alpha", "alpha"
	if err := s.UpdateReport(ctx, upd); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("update onto taken stem: %v", err)
	}
	upd = a
	upd.Name, upd.Definition, upd.NextRunAt, upd.UpdatedAt = "Weekly push", []byte(`{"v":2}`), nil, t0.Add(time.Minute)
	upd.Stem = "weekly_push"
	if err := s.UpdateReport(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Report(ctx, rws, "r1")
	if diff := cmp.Diff(upd, got); diff != "" {
		t.Fatalf("update (-want +got):\n%s", diff)
	}
	if err := s.UpdateReport(ctx, rep("nope", "x", t0)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	// Delete frees the name; the record stays readable with Deleted set.
	if err := s.DeleteReport(ctx, rws, "r1", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteReport(ctx, rws, "r1", t0.Add(2*time.Minute)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	got, err = s.Report(ctx, rws, "r1")
	if err != nil || !got.Deleted || got.NextRunAt != nil {
		t.Fatalf("deleted report: %+v %v", got, err)
	}
	if err := s.UpdateReport(ctx, upd); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update deleted: %v", err)
	}
	if err := s.CreateReport(ctx, clash); err != nil {
		t.Fatalf("reuse of a deleted report's name: %v", err)
	}
	list, _ = s.ListReports(ctx, rws)
	if len(list) != 2 || list[0].ID != "r2" || list[1].ID != "r3" {
		t.Fatalf("list after delete: %+v", list)
	}
}

func testReportLimit(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < store.MaxReportsPerWorkspace; i++ {
		if err := s.CreateReport(ctx, rep(fmt.Sprintf("r%03d", i), fmt.Sprintf("R%03d", i), t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateReport(ctx, rep("extra", "Extra", t0)); !errors.Is(err, store.ErrTooManyReports) {
		t.Fatalf("report %d: %v, want ErrTooManyReports", store.MaxReportsPerWorkspace+1, err)
	}
	if err := s.DeleteReport(ctx, rws, "r000", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReport(ctx, rep("extra", "Extra", t0)); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

func claim(t *testing.T, s store.MetaStore, owner, token string, at time.Time) (store.ReportRun, bool) {
	t.Helper()
	r, ok, err := s.ClaimRun(context.Background(), store.RunClaim{Owner: owner, Token: token, At: at})
	if err != nil {
		t.Fatal(err)
	}
	return r, ok
}

func testRunLifecycle(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateReport(ctx, rep("r1", "Daily", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReport(ctx, rep("r2", "Other", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, queued("x", "unknown", t0)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("run of unknown report: %v", err)
	}
	if _, ok := claim(t, s, "n1", "tok0", t0); ok {
		t.Fatal("claimed a run from an empty queue")
	}
	run1 := queued("run1", "r1", t0)
	if err := s.CreateRun(ctx, run1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, queued("run1b", "r1", t0.Add(time.Second))); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second manual run while QUEUED: %v, want ErrConflict", err)
	}
	if err := s.CreateRun(ctx, queued("run2", "r2", t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountQueuedRuns(ctx); err != nil || n != 2 {
		t.Fatalf("queued = %d, %v; want 2", n, err)
	}
	got, err := s.ReportRun(ctx, "run1")
	if err != nil {
		t.Fatal(err)
	}
	want := run1
	want.Status, want.WebhookStatus = store.RunQueued, store.WebhookNone
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("queued run (-want +got):\n%s", diff)
	}
	// The oldest queued run is claimed first.
	c1, ok := claim(t, s, "n1", "tok1", t0.Add(time.Minute))
	if !ok || c1.ID != "run1" || c1.Status != store.RunRunning || c1.StartedAt == nil || !c1.StartedAt.Equal(t0.Add(time.Minute)) ||
		c1.ClaimedBy != "n1" || c1.ClaimToken != "tok1" {
		t.Fatalf("first claim: %+v", c1)
	}
	if err := s.CreateRun(ctx, queued("run1c", "r1", t0.Add(2*time.Second))); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("manual run while RUNNING: %v, want ErrConflict", err)
	}
	// A wrong token cannot finish the run.
	if _, err := s.FinishRun(ctx, store.RunOutcome{RunID: "run1", ClaimToken: "other", Status: store.RunFailed, FinishedAt: t0}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("finish with a wrong token: %v", err)
	}
	if _, err := s.FinishRun(ctx, store.RunOutcome{RunID: "nope", ClaimToken: "tok1", Status: store.RunFailed, FinishedAt: t0}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("finish an unknown run: %v", err)
	}
	fin := t0.Add(2 * time.Minute)
	out := store.RunOutcome{RunID: "run1", ClaimToken: "tok1", Status: store.RunSuccessful, FinishedAt: fin,
		Filename: "Daily_20250301.zip", Size: 42, SHA256: strings.Repeat("ab", 32), Rows: 7, ExpiresAt: fin.Add(168 * time.Hour),
		WebhookStatus: store.WebhookPending}
	done1, err := s.FinishRun(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	want = c1
	want.Status, want.FinishedAt, want.Filename, want.Size, want.SHA256, want.Rows, want.ExpiresAt = store.RunSuccessful, tp(fin),
		out.Filename, 42, out.SHA256, 7, tp(out.ExpiresAt)
	want.WebhookStatus, want.ClaimedBy, want.ClaimToken = store.WebhookPending, "", ""
	if diff := cmp.Diff(want, done1); diff != "" {
		t.Fatalf("finished run (-want +got):\n%s", diff)
	}
	if err := s.SetRunWebhookStatus(ctx, "run1", store.WebhookDelivered); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RunByFilename(ctx, rws, "Daily_20250301.zip"); got.ID != "run1" || got.WebhookStatus != store.WebhookDelivered {
		t.Fatalf("run by filename: %+v", got)
	}
	// A later successful run with the same file name supersedes the earlier one.
	c2, ok := claim(t, s, "n1", "tok2", t0.Add(3*time.Minute))
	if !ok || c2.ID != "run2" {
		t.Fatalf("second claim: %+v", c2)
	}
	if err := s.CreateRun(ctx, queued("run3", "r1", t0.Add(4*time.Minute))); err != nil {
		t.Fatal(err)
	}
	c3, _ := claim(t, s, "n2", "tok3", t0.Add(5*time.Minute))
	out3 := out
	out3.RunID, out3.ClaimToken, out3.FinishedAt = "run3", "tok3", t0.Add(6*time.Minute)
	if _, err := s.FinishRun(ctx, out3); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReportRun(ctx, "run1"); !got.Superseded {
		t.Fatal("earlier run with the same filename not superseded")
	}
	if got, _ := s.RunByFilename(ctx, rws, "Daily_20250301.zip"); got.ID != c3.ID || got.Superseded {
		t.Fatalf("run by filename after supersede: %+v", got)
	}
	if _, err := s.RunByFilename(ctx, "bbbbbbbbbbbbbbbbbbbbbbbb", "Daily_20250301.zip"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("filename of another workspace: %v", err)
	}
	// A failed run keeps its error and produces no file.
	done2, err := s.FinishRun(ctx, store.RunOutcome{RunID: "run2", ClaimToken: "tok2", Status: store.RunFailed,
		FinishedAt: t0.Add(7 * time.Minute), Error: "storage write failure", Filename: "ignored"})
	if err != nil || done2.Status != store.RunFailed || done2.Error != "storage write failure" || done2.Filename != "" || done2.ExpiresAt != nil {
		t.Fatalf("failed run: %+v %v", done2, err)
	}
	runs, err := s.ListRuns(ctx, rws, "r1", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != "run3" || runs[1].ID != "run1" {
		t.Fatalf("runs newest first: %+v", runs)
	}
	if runs, _ := s.ListRuns(ctx, rws, "r1", 1); len(runs) != 1 || runs[0].ID != "run3" {
		t.Fatalf("runs limit 1: %+v", runs)
	}
	latest, err := s.LatestRuns(ctx, rws)
	if err != nil || len(latest) != 2 || latest["r1"].ID != "run3" || latest["r2"].ID != "run2" {
		t.Fatalf("latest runs: %+v %v", latest, err)
	}
	// Re-queue: by token (graceful shutdown) and by owner / all (start-up).
	for i, id := range []string{"q1", "q2", "q3"} {
		rid := "r1"
		if i > 0 {
			if err := s.CreateReport(ctx, rep("rq"+id, "Q "+id, t0)); err != nil {
				t.Fatal(err)
			}
			rid = "rq" + id
		}
		if err := s.CreateRun(ctx, queued(id, rid, t0.Add(time.Hour+time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	q1, _ := claim(t, s, "n1", "t-q1", t0.Add(2*time.Hour))
	q2, _ := claim(t, s, "n2", "t-q2", t0.Add(2*time.Hour))
	q3, _ := claim(t, s, "n2", "t-q3", t0.Add(2*time.Hour))
	if q1.ID != "q1" || q2.ID != "q2" || q3.ID != "q3" {
		t.Fatalf("claim order: %s %s %s", q1.ID, q2.ID, q3.ID)
	}
	if err := s.RequeueRun(ctx, "q1", "wrong"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReportRun(ctx, "q1"); got.Status != store.RunRunning {
		t.Fatalf("requeue with a wrong token changed the run: %+v", got)
	}
	if err := s.RequeueRun(ctx, "q1", "t-q1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReportRun(ctx, "q1"); got.Status != store.RunQueued || got.StartedAt != nil || got.ClaimToken != "" {
		t.Fatalf("requeued run: %+v", got)
	}
	if n, err := s.RequeueRuns(ctx, "n1"); err != nil || n != 0 {
		t.Fatalf("requeue owner n1: %d %v", n, err)
	}
	if n, err := s.RequeueRuns(ctx, "n2"); err != nil || n != 2 {
		t.Fatalf("requeue owner n2: %d %v", n, err)
	}
	c, _ := claim(t, s, "n3", "t-again", t0.Add(3*time.Hour))
	if c.ID != "q1" {
		t.Fatalf("re-queued runs keep their place: claimed %s", c.ID)
	}
	if n, err := s.RequeueRuns(ctx, ""); err != nil || n != 1 {
		t.Fatalf("requeue all: %d %v", n, err)
	}
	// The stale token of the re-queued claim cannot finish it.
	if _, err := s.FinishRun(ctx, store.RunOutcome{RunID: "q1", ClaimToken: "t-again", Status: store.RunFailed, FinishedAt: t0}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("finish after requeue: %v", err)
	}
	if n, _ := s.CountQueuedRuns(ctx); n != 3 {
		t.Fatalf("queued after requeue = %d, want 3", n)
	}
}

func testDeleteReportRuns(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	for _, id := range []string{"r1", "r2"} {
		if err := s.CreateReport(ctx, rep(id, "Report "+id, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRun(ctx, queued("running", "r1", t0)); err != nil {
		t.Fatal(err)
	}
	running, _ := claim(t, s, "n", "tok", t0.Add(time.Second))
	// A schedule may queue a run while another runs.
	_, err := s.ClaimDueSchedules(ctx, t0, func(context.Context, store.Report, time.Time) (store.SchedulePlan, error) {
		return store.SchedulePlan{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, queued("other", "r2", t0)); err != nil {
		t.Fatal(err)
	}
	// Queue a second run of r1 through a schedule claim.
	r1, _ := s.Report(ctx, rws, "r1")
	r1.NextRunAt, r1.UpdatedAt = tp(t0), t0
	r1.Stem = "report_r1"
	if err := s.UpdateReport(ctx, r1); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ClaimDueSchedules(ctx, t0.Add(time.Minute), func(_ context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
		q := queued("sched", r.ID, now)
		return store.SchedulePlan{Run: &q}, nil
	})
	if err != nil || len(runs) != 1 {
		t.Fatalf("schedule claim: %+v %v", runs, err)
	}
	at := t0.Add(time.Hour)
	if err := s.DeleteReport(ctx, rws, "r1", at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ReportRun(ctx, "sched")
	if got.Status != store.RunFailed || got.Error != "report deleted" || got.FinishedAt == nil || !got.FinishedAt.Equal(at) {
		t.Fatalf("queued run of a deleted report: %+v", got)
	}
	if got, _ := s.ReportRun(ctx, "running"); got.Status != store.RunRunning {
		t.Fatalf("running run of a deleted report: %+v", got)
	}
	if got, _ := s.ReportRun(ctx, "other"); got.Status != store.RunQueued {
		t.Fatalf("another report's run: %+v", got)
	}
	// The running run still finishes; no run can be requested for the deleted report.
	if _, err := s.FinishRun(ctx, store.RunOutcome{RunID: running.ID, ClaimToken: "tok", Status: store.RunSuccessful, FinishedAt: at,
		Filename: "Report_r1_20250301.zip", ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, queued("late", "r1", at)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("run of a deleted report: %v", err)
	}
	if r, err := s.RunByFilename(ctx, rws, "Report_r1_20250301.zip"); err != nil || r.ID != "running" {
		t.Fatalf("file of a deleted report stays downloadable: %+v %v", r, err)
	}
}

func testClaimDueSchedules(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	due := rep("due", "Due", t0)
	due.NextRunAt = tp(t0.Add(-72 * time.Hour)) // three missed daily occurrences
	later := rep("later", "Later", t0)
	later.NextRunAt = tp(t0.Add(time.Hour))
	manual := rep("manual", "Manual", t0)
	gone := rep("gone", "Gone", t0)
	gone.NextRunAt = tp(t0.Add(-time.Hour))
	skip := rep("skip", "Skip", t0)
	skip.NextRunAt = tp(t0.Add(-time.Minute))
	bad := rep("bad", "Bad", t0)
	bad.NextRunAt = tp(t0.Add(-time.Minute))
	for _, r := range []store.Report{due, later, manual, gone, skip, bad} {
		if err := s.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteReport(ctx, rws, "gone", t0); err != nil {
		t.Fatal(err)
	}
	var asked []string
	plan := func(_ context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
		asked = append(asked, r.ID)
		next := now.Add(24 * time.Hour)
		switch r.ID {
		case "skip":
			return store.SchedulePlan{NextRunAt: &next}, nil
		case "bad":
			return store.SchedulePlan{}, errors.New("broken definition")
		}
		run := queued("run-"+r.ID, "", now)
		run.ReportID, run.WorkspaceID = "ignored", "ignored" // the store fills these from the report
		return store.SchedulePlan{NextRunAt: &next, Run: &run}, nil
	}
	runs, err := s.ClaimDueSchedules(ctx, t0, plan)
	if err == nil || !strings.Contains(err.Error(), "broken definition") {
		t.Fatalf("planner error not reported: %v", err)
	}
	if diff := cmp.Diff([]string{"due", "bad", "skip"}, asked); diff != "" {
		t.Fatalf("reports asked (-want +got):\n%s", diff)
	}
	if len(runs) != 1 {
		t.Fatalf("a backlog yields one run: %+v", runs)
	}
	got, _ := s.ReportRun(ctx, "run-due")
	want := store.ReportRun{ID: "run-due", ReportID: "due", WorkspaceID: rws, Status: store.RunQueued, Trigger: store.TriggerSchedule,
		ScheduledFor: due.NextRunAt, CreatedAt: t0, RangeStart: "2025-03-01", RangeEnd: "2025-03-07", WebhookStatus: store.WebhookNone}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("scheduled run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, runs[0]); diff != "" {
		t.Fatalf("returned run (-want +got):\n%s", diff)
	}
	for id, wantNext := range map[string]*time.Time{"due": tp(t0.Add(24 * time.Hour)), "skip": tp(t0.Add(24 * time.Hour)),
		"bad": bad.NextRunAt, "later": later.NextRunAt, "manual": nil} {
		r, _ := s.Report(ctx, rws, id)
		if (wantNext == nil) != (r.NextRunAt == nil) || (wantNext != nil && !wantNext.Equal(*r.NextRunAt)) {
			t.Fatalf("%s next_run_at = %v, want %v", id, r.NextRunAt, wantNext)
		}
	}
	if runs, _ := s.ListRuns(ctx, rws, "skip", 10); len(runs) != 0 {
		t.Fatalf("skipped occurrence created a run: %+v", runs)
	}
	// Claiming again at the same instant finds nothing new (only the broken report is still due).
	asked = nil
	runs, _ = s.ClaimDueSchedules(ctx, t0, plan)
	if len(runs) != 0 || len(asked) != 1 || asked[0] != "bad" {
		t.Fatalf("second claim: runs %+v asked %v", runs, asked)
	}
	// A once schedule ends with a nil next run.
	once := func(_ context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
		run := queued("run2-"+r.ID, r.ID, now)
		return store.SchedulePlan{Run: &run}, nil
	}
	if err := s.DeleteReport(ctx, rws, "bad", t0); err != nil {
		t.Fatal(err)
	}
	runs, err = s.ClaimDueSchedules(ctx, t0.Add(2*time.Hour), once)
	if err != nil || len(runs) != 1 || runs[0].ReportID != "later" {
		t.Fatalf("later claim: %+v %v", runs, err)
	}
	if r, _ := s.Report(ctx, rws, "later"); r.NextRunAt != nil {
		t.Fatalf("next_run_at after a final occurrence: %v", r.NextRunAt)
	}
}

// testConcurrentClaims checks that concurrent claimers never claim one occurrence or one run twice.
func testConcurrentClaims(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	const reports = 5
	for i := 0; i < reports; i++ {
		r := rep(fmt.Sprintf("r%d", i), fmt.Sprintf("R%d", i), t0)
		r.NextRunAt = tp(t0.Add(-time.Minute))
		if err := s.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seq := 0
	plan := func(_ context.Context, r store.Report, now time.Time) (store.SchedulePlan, error) {
		mu.Lock()
		seq++
		id := fmt.Sprintf("run-%s-%d", r.ID, seq)
		mu.Unlock()
		run := queued(id, r.ID, now)
		next := now.Add(time.Hour)
		return store.SchedulePlan{NextRunAt: &next, Run: &run}, nil
	}
	const claimers = 8
	var wg sync.WaitGroup
	total := make([]int, claimers)
	errs := make([]error, claimers)
	for i := 0; i < claimers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runs, err := s.ClaimDueSchedules(ctx, t0, plan)
			total[i], errs[i] = len(runs), err
		}(i)
	}
	wg.Wait()
	sum := 0
	for i := range total {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		sum += total[i]
	}
	if n, _ := s.CountQueuedRuns(ctx); sum != reports || n != reports {
		t.Fatalf("concurrent schedule claims created %d runs (%d queued), want %d", sum, n, reports)
	}
	// Every queued run is claimed once; then, their leases expired, every run is taken over once.
	for round, at := range []time.Time{t0, t0.Add(2 * time.Minute)} {
		claimed := make([][]store.ReportRun, claimers)
		for i := 0; i < claimers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for {
					r, ok, err := s.ClaimRun(ctx, store.RunClaim{Owner: fmt.Sprint("w", i), Token: fmt.Sprintf("t%d-%d-%d", round, i, len(claimed[i])),
						At: at, LeaseUntil: at.Add(time.Minute)})
					if err != nil {
						errs[i] = err
						return
					}
					if !ok {
						return
					}
					claimed[i] = append(claimed[i], r)
				}
			}(i)
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range claimed {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for _, r := range claimed[i] {
				if seen[r.ID] {
					t.Fatalf("round %d: run %s claimed twice", round, r.ID)
				}
				seen[r.ID] = true
				if got, _ := s.ReportRun(ctx, r.ID); got.ClaimToken != r.ClaimToken || got.Status != store.RunRunning {
					t.Fatalf("round %d: run %s holds %+v, want the token %s", round, r.ID, got, r.ClaimToken)
				}
			}
		}
		if len(seen) != reports {
			t.Fatalf("round %d: claimed %d runs, want %d", round, len(seen), reports)
		}
	}
}

// testRunLeases checks the leases of RUNNING runs: a run whose lease has not expired is not claimable, renewing
// extends the lease, an expired lease lets another owner take the run over with a new token (oldest run first), and
// the old token then can neither renew nor finish the run. A claim without a lease never expires.
func testRunLeases(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	for _, id := range []string{"r1", "r2", "r3"} {
		if err := s.CreateReport(ctx, rep(id, "Report "+id, t0)); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"old", "new"} {
		if err := s.CreateRun(ctx, queued(id, fmt.Sprint("r", i+1), t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	leased := func(owner, token string, at, until time.Time) (store.ReportRun, bool) {
		t.Helper()
		r, ok, err := s.ClaimRun(ctx, store.RunClaim{Owner: owner, Token: token, At: at, LeaseUntil: until})
		if err != nil {
			t.Fatal(err)
		}
		return r, ok
	}
	wantConflict := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("%s: %v, want ErrConflict", what, err)
		}
	}
	start := t0.Add(time.Minute)
	c1, ok := leased("n1", "tok1", start, start.Add(30*time.Second))
	if !ok || c1.ID != "old" || c1.Status != store.RunRunning || c1.ClaimedBy != "n1" || c1.ClaimToken != "tok1" || c1.StartedAt == nil ||
		!c1.StartedAt.Equal(start) {
		t.Fatalf("leased claim: %+v %t", c1, ok)
	}
	// A live lease keeps the run: the next claim takes the queued run, then nothing is claimable.
	if c2, ok := leased("n2", "tok2", start.Add(20*time.Second), start.Add(50*time.Second)); !ok || c2.ID != "new" {
		t.Fatalf("claim beside a live lease: %+v %t", c2, ok)
	}
	if r, ok := leased("n3", "tok3", start.Add(30*time.Second), time.Time{}); ok {
		t.Fatalf("claimed %+v at the instant its lease ends", r)
	}
	// Renewing extends the lease.
	if err := s.RenewRun(ctx, "old", "tok1", start.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if r, ok := leased("n3", "tok3", start.Add(45*time.Second), time.Time{}); ok {
		t.Fatalf("claimed a renewed run: %+v", r)
	}
	wantConflict("renew with a wrong token", s.RenewRun(ctx, "old", "wrong", start.Add(time.Hour)))
	if err := s.RenewRun(ctx, "nope", "tok1", start.Add(time.Hour)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("renew an unknown run: %v, want ErrNotFound", err)
	}
	// Both leases expired: the oldest run is taken over first, with the new owner's token and start time.
	later := start.Add(2 * time.Minute)
	taken, ok := leased("n3", "tok3", later, later.Add(time.Minute))
	if !ok || taken.ID != "old" || taken.Status != store.RunRunning || taken.ClaimedBy != "n3" || taken.ClaimToken != "tok3" ||
		taken.StartedAt == nil || !taken.StartedAt.Equal(later) {
		t.Fatalf("take-over of an expired lease: %+v %t", taken, ok)
	}
	// The old holder's token stops working.
	wantConflict("renew with a taken-over token", s.RenewRun(ctx, "old", "tok1", later.Add(time.Hour)))
	_, err := s.FinishRun(ctx, store.RunOutcome{RunID: "old", ClaimToken: "tok1", Status: store.RunFailed, FinishedAt: later, Error: "late"})
	wantConflict("finish with a taken-over token", err)
	if r, ok := leased("n4", "tok4", later, time.Time{}); !ok || r.ID != "new" {
		t.Fatalf("take-over of the second expired lease: %+v %t", r, ok)
	}
	if r, ok := leased("n5", "tok5", later, later.Add(time.Minute)); ok {
		t.Fatalf("claimed %+v with no expired lease", r)
	}
	done, err := s.FinishRun(ctx, store.RunOutcome{RunID: "old", ClaimToken: "tok3", Status: store.RunSuccessful, FinishedAt: later.Add(time.Second),
		Filename: "Report_r1_20250301.zip", ExpiresAt: later.Add(time.Hour)})
	if err != nil || done.Status != store.RunSuccessful || done.ClaimToken != "" || done.ClaimedBy != "" {
		t.Fatalf("finish by the new holder: %+v %v", done, err)
	}
	wantConflict("renew a finished run", s.RenewRun(ctx, "old", "tok3", later.Add(time.Hour)))
	// "new" was claimed without a lease: it is never taken over.
	if r, ok := leased("n5", "tok5", later.Add(1000*time.Hour), time.Time{}); ok {
		t.Fatalf("claimed a run held without a lease: %+v", r)
	}
	// Renewing to zero removes the expiry; re-queuing drops the lease with the claim.
	if err := s.CreateRun(ctx, queued("third", "r3", later)); err != nil {
		t.Fatal(err)
	}
	if r, ok := leased("n6", "tok6", later, later.Add(time.Second)); !ok || r.ID != "third" {
		t.Fatalf("claim: %+v %t", r, ok)
	}
	if err := s.RenewRun(ctx, "third", "tok6", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r, ok := leased("n7", "tok7", later.Add(time.Hour), time.Time{}); ok {
		t.Fatalf("claimed a run renewed without expiry: %+v", r)
	}
	if err := s.RequeueRun(ctx, "third", "tok6"); err != nil {
		t.Fatal(err)
	}
	wantConflict("renew a re-queued run", s.RenewRun(ctx, "third", "tok6", later.Add(time.Hour)))
	if r, ok := leased("n7", "tok7", later.Add(time.Hour), time.Time{}); !ok || r.ID != "third" {
		t.Fatalf("claim after re-queue: %+v %t", r, ok)
	}
	if r, ok := leased("n8", "tok8", later.Add(1000*time.Hour), time.Time{}); ok {
		t.Fatalf("a re-queued run kept its old lease: %+v", r)
	}
}

func testRunRetention(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	for _, id := range []string{"r1", "r2", "r3"} {
		if err := s.CreateReport(ctx, rep(id, "Report "+id, t0)); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(reportID, runID string, status string, finished, expires time.Time) {
		t.Helper()
		filename := runID + "_20250301.zip"
		if strings.HasPrefix(runID, "sup") {
			filename = "Report_r2_20250301.zip"
		}
		if err := s.CreateRun(ctx, queued(runID, reportID, finished)); err != nil {
			t.Fatal(err)
		}
		if _, ok := claim(t, s, "n", "tok-"+runID, finished); !ok {
			t.Fatal("nothing to claim")
		}
		if _, err := s.FinishRun(ctx, store.RunOutcome{RunID: runID, ClaimToken: "tok-" + runID, Status: status, FinishedAt: finished,
			Filename: filename, ExpiresAt: expires, Error: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	week := 168 * time.Hour
	finish("r1", "old", store.RunSuccessful, t0, t0.Add(week))
	finish("r2", "new", store.RunSuccessful, t0.Add(24*time.Hour), t0.Add(24*time.Hour+week))
	finish("r3", "failed", store.RunFailed, t0, time.Time{})
	// Two runs of one file name: the superseded one's expiry does not delete the file the later run published.
	finish("r2", "sup-early", store.RunSuccessful, t0, t0.Add(week))
	finish("r2", "sup-late", store.RunSuccessful, t0.Add(time.Hour), t0.Add(time.Hour+week))
	if err := s.DeleteReport(ctx, rws, "r1", t0); err != nil {
		t.Fatal(err)
	}
	exp, err := s.ExpiredRuns(ctx, t0.Add(week), 10)
	if err != nil || len(exp) != 1 || exp[0].ID != "old" {
		t.Fatalf("expired runs at expiry: %+v %v", exp, err)
	}
	if err := s.MarkRunFileDeleted(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if exp, _ := s.ExpiredRuns(ctx, t0.Add(week), 10); len(exp) != 0 {
		t.Fatalf("expired runs after deletion: %+v", exp)
	}
	// Metadata stays for 90 days after expiry so that downloads answer "expired".
	if r, err := s.RunByFilename(ctx, rws, "old_20250301.zip"); err != nil || !r.FileDeleted {
		t.Fatalf("expired run metadata: %+v %v", r, err)
	}
	exp, _ = s.ExpiredRuns(ctx, t0.Add(time.Hour+week), 10)
	if len(exp) != 1 || exp[0].ID != "sup-late" {
		t.Fatalf("expired runs after the later run of a name expired: %+v", exp)
	}
	n, err := s.PurgeRuns(ctx, t0.Add(week+time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("purge: %d %v, want 3 (two expired runs and the failed run)", n, err)
	}
	if _, err := s.RunByFilename(ctx, rws, "old_20250301.zip"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("purged run: %v", err)
	}
	if _, err := s.Report(ctx, rws, "r1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted report without runs not purged: %v", err)
	}
	if _, err := s.Report(ctx, rws, "r3"); err != nil {
		t.Fatalf("live report purged: %v", err)
	}
	if _, err := s.RunByFilename(ctx, rws, "new_20250301.zip"); err != nil {
		t.Fatalf("unexpired run purged: %v", err)
	}
}
