package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// cliGenerator fails for reports named "Broken", else publishes the SPEC §8.5 name without a file.
type cliGenerator struct{}

func (cliGenerator) Generate(_ context.Context, ws domain.Workspace, rep report.Report, run report.Run) (report.Result, error) {
	if rep.Definition.Name == "Broken" {
		return report.Result{}, errors.New("storage write failure")
	}
	return report.Result{Filename: rep.Definition.FileStem() + "_" + run.CreatedAt.In(ws.Location()).Format("20060102") + ".zip",
		Size: 10, SHA256: strings.Repeat("0", 64), Rows: 1}, nil
}

// TestReportCLI drives `campaignstats report` against the real server (app.Start) with a stand-in generator.
func TestReportCLI(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now,
		app.WithReportGenerator(func(app.ReportDeps) (report.Generator, error) { return cliGenerator{}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	ws, err := srv.Workspaces().Create(t.Context(), workspace.CreateRequest{Name: "cli", Timezone: "Asia/Kolkata"})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CAMPAIGNSTATS_SERVER": srv.URL(), "CAMPAIGNSTATS_WORKSPACE": ws.ID, "CAMPAIGNSTATS_REPORT_KEY": ws.ReportKey}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := runReport(t.Context(), args, func(k string) string { return env[k] }, &out, &errb)
		return code, out.String(), errb.String()
	}
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	code, out, stderr := cli("create", file("r.json", `{"name":"Weekly Push Report","range":{"last_days":7},"schedule":{"type":"daily","at":"06:00"}}`))
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep["name"] != "Weekly Push Report" || rep["next_run_at"] == nil {
		t.Fatalf("create output: %s", out)
	}
	id := rep["report_id"].(string)

	// API errors print the body and exit 1.
	code, _, stderr = cli("create", file("dup.json", `{"name":"weekly push report","range":{"last_days":7}}`))
	if code != 1 || !strings.Contains(stderr, `"code":"name_conflict"`) {
		t.Fatalf("duplicate create: %d %s", code, stderr)
	}
	code, _, stderr = cli("create", file("bad.json", `{"name":"X","range":{"last_days":0}}`))
	if code != 1 || !strings.Contains(stderr, "range.last_days - must be an integer between 1 and 90") {
		t.Fatalf("invalid create: %d %s", code, stderr)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{}, {"frobnicate"}, {"get"}, {"get", "a", "b"}, {"create", filepath.Join(dir, "missing.json")},
		{"create", file("notjson.json", "{")}, {"runs", id, "--limit", "0"}} {
		if code, _, _ := cli(args...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
	var noKey bytes.Buffer
	if code := runReport(t.Context(), []string{"list"}, func(k string) string {
		if k == "CAMPAIGNSTATS_REPORT_KEY" {
			return ""
		}
		return env[k]
	}, &bytes.Buffer{}, &noKey); code != 2 || !strings.Contains(noKey.String(), "--report-key") {
		t.Fatalf("missing key: %d %s", code, noKey.String())
	}

	code, out, _ = cli("list")
	var list struct {
		Reports []map[string]any `json:"reports"`
	}
	if json.Unmarshal([]byte(out), &list); code != 0 || len(list.Reports) != 1 || list.Reports[0]["report_id"] != id {
		t.Fatalf("list: %d %s", code, out)
	}
	code, out, _ = cli("update", id, file("u.json", `{"name":"Weekly Push Report","range":{"last_days":3}}`), "--server", srv.URL())
	if code != 0 || !strings.Contains(out, `"last_days": 3`) || !strings.Contains(out, `"next_run_at": null`) {
		t.Fatalf("update: %d %s", code, out)
	}
	code, out, _ = cli("get", id)
	if code != 0 || !strings.Contains(out, `"report_id": "`+id+`"`) {
		t.Fatalf("get: %d %s", code, out)
	}

	// run --wait polls until the workers finish the run.
	code, out, stderr = cli("run", id, "--wait", "--poll", "20ms")
	var run map[string]any
	if json.Unmarshal([]byte(out), &run); code != 0 || run["status"] != "SUCCESSFUL" || !strings.HasPrefix(run["filename"].(string), "Weekly_Push_Report_") {
		t.Fatalf("run --wait: %d %s %s", code, out, stderr)
	}
	code, out, _ = cli("runs", id, "--limit", "5")
	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	if json.Unmarshal([]byte(out), &runs); code != 0 || len(runs.Runs) != 1 || runs.Runs[0]["run_id"] != run["run_id"] {
		t.Fatalf("runs: %d %s", code, out)
	}
	// A failed run exits 1 with --wait.
	if code, out, _ = cli("create", file("broken.json", `{"name":"Broken","range":{"last_days":1}}`)); code != 0 {
		t.Fatalf("create Broken: %d", code)
	}
	json.Unmarshal([]byte(out), &rep)
	code, out, _ = cli("run", rep["report_id"].(string), "--wait", "--poll", "20ms")
	if code != 1 || !strings.Contains(out, `"error": "storage write failure"`) {
		t.Fatalf("failed run: %d %s", code, out)
	}

	code, _, _ = cli("delete", id)
	if code != 0 {
		t.Fatalf("delete: %d", code)
	}
	code, _, stderr = cli("get", id)
	if code != 1 || !strings.Contains(stderr, `"code":"not_found"`) {
		t.Fatalf("get after delete: %d %s", code, stderr)
	}
}
