package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/embedded"
	"github.com/campaignstats/campaignstats/internal/httpapi"
	"github.com/campaignstats/campaignstats/internal/ratelimit"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// TestReportDownloadCLI generates a real report (ingest over HTTP, report service, file generator, DuckDB store,
// directory blob store) and downloads it with `campaignstats report download`, which signs the request.
func TestReportDownloadCLI(t *testing.T) {
	ctx := t.Context()
	sys, err := embedded.Open(ctx, embedded.Options{DataDir: t.TempDir(), DuckDB: duckdb.Options{MemoryLimit: "1GB", Threads: 2},
		FreshnessWait: 30 * time.Second}) // the report reads the inferred campaign, however loaded the machine
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	st := sys.Store
	files, err := blob.OpenDir(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	wsSvc := workspace.New(st, time.Now, 100)
	eng := sys.Engine
	gen := report.NewFileGenerator(report.GeneratorConfig{Engine: eng, Files: files})
	svc := report.NewService(st, report.Options{Generator: gen, Snapshots: gen})
	api := httpapi.New(httpapi.Deps{Config: config.Default(), Store: st, Intake: sys.Intake, Fresh: sys.FreshCatalog, Engine: eng, Workspaces: wsSvc, Limiter: httpapi.InProcess(ratelimit.New(time.Now)),
		Logger: slog.New(slog.DiscardHandler), Now: time.Now, Registry: prometheus.NewRegistry(), Reports: svc, ReportFiles: files})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	ws, err := wsSvc.Create(ctx, workspace.CreateRequest{Name: "cli", Timezone: "Asia/Kolkata"})
	if err != nil {
		t.Fatal(err)
	}

	at := time.Now().Add(-48 * time.Hour).UnixMilli()
	var events []any
	for i, u := range []string{"a", "b", "c"} {
		events = append(events, map[string]any{"event_uuid": "e" + u, "event_name": "Notification Sent Android", "event_time": at + int64(i),
			"uid": u, "event_attributes": map[string]any{"campaign_id": "cli_push", "campaign_name": "CLI, push"}})
	}
	if _, err := client.New(srv.URL).IngestEvents(ctx, ws.ID, ws.DataKey, events); err != nil {
		t.Fatal(err)
	}
	def, err := report.ParseDefinition([]byte(`{"name":"CLI Report","range":{"last_days":7},"layout":"rows"}`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Create(ctx, ws, def)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunNow(ctx, ws, rep.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := svc.ProcessNext(ctx); !ok || err != nil {
		t.Fatalf("process: %t %v", ok, err)
	}
	runs, err := svc.Runs(ctx, ws, rep.ID, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != "SUCCESSFUL" {
		t.Fatalf("runs %+v %v", runs, err)
	}
	run := runs[0]

	env := map[string]string{"CAMPAIGNSTATS_SERVER": srv.URL, "CAMPAIGNSTATS_WORKSPACE": ws.ID, "CAMPAIGNSTATS_REPORT_KEY": ws.ReportKey}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := runReport(ctx, append([]string{"download"}, args...), func(k string) string { return env[k] }, &out, &errb)
		return code, out.String(), errb.String()
	}
	dir := t.TempDir()
	code, out, stderr := cli(run.Filename, "-o", dir)
	if code != 0 {
		t.Fatalf("download: %d %s", code, stderr)
	}
	path := filepath.Join(dir, run.Filename)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != run.SHA256 || int64(len(data)) != run.Size {
		t.Fatalf("downloaded file: sha %x size %d; run %s %d", sum, len(data), run.SHA256, run.Size)
	}
	if !strings.Contains(out, path) || !strings.Contains(out, run.SHA256) {
		t.Errorf("stdout %q", out)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "CLI_Report_PUSH.csv" {
		t.Fatalf("zip: %v %v", err, zr)
	}
	rc, _ := zr.File[0].Open()
	csv, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(csv), "\ncli_push,,\"CLI, push\",PUSH,ONE_TIME,3,3,0,0,0,0,0,100,0,0,0,0,0\n") {
		t.Errorf("CSV:\n%s", csv)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left extra files: %v", entries)
	}

	// -o - writes the bytes to stdout; -o FILE writes that file.
	if code, out, stderr = cli(run.Filename, "-o", "-"); code != 0 || out != string(data) {
		t.Fatalf("stdout download: %d %s", code, stderr)
	}
	named := filepath.Join(dir, "copy.zip")
	if code, _, stderr = cli("-o", named, run.Filename); code != 0 {
		t.Fatalf("named download: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(named); !bytes.Equal(b, data) {
		t.Fatal("named download differs")
	}

	// Refusals: exit 1 with the server's body; no file is left behind.
	env["CAMPAIGNSTATS_REPORT_KEY"] = strings.Repeat("0", 40)
	failed := filepath.Join(dir, "failed.zip")
	if code, _, stderr = cli(run.Filename, "-o", failed); code != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("wrong key: %d %q", code, stderr)
	}
	env["CAMPAIGNSTATS_REPORT_KEY"] = ws.ReportKey
	if code, _, stderr = cli("Other_20250101.zip", "-o", failed); code != 1 || !strings.Contains(stderr, "Report file not found.") {
		t.Fatalf("unknown file: %d %q", code, stderr)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Fatal("a failed download left a file")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left temporary files: %v", entries)
	}
	// Usage errors: exit 2.
	for _, args := range [][]string{{}, {"not-a-report.txt"}, {"a_20250101.zip", "b_20250101.zip"}} {
		if code, _, _ := cli(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	delete(env, "CAMPAIGNSTATS_WORKSPACE")
	if code, _, _ := cli(run.Filename); code != 2 {
		t.Errorf("missing workspace: exit %d", code)
	}

	// The client verifies the ETag and reports progress.
	env["CAMPAIGNSTATS_WORKSPACE"] = ws.ID
	var calls int
	var last [2]int64
	var buf bytes.Buffer
	info, err := client.New(srv.URL).DownloadReport(context.Background(), ws.ID, ws.ReportKey, run.Filename, &buf,
		&client.DownloadOptions{Progress: func(r, total int64) { calls++; last = [2]int64{r, total} }})
	if err != nil || info.SHA256 != run.SHA256 || info.ContentType != "application/zip" || calls == 0 || last != [2]int64{run.Size, run.Size} {
		t.Fatalf("client download: %+v %v calls %d last %v", info, err, calls, last)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	var b bytes.Buffer
	p := &downloadProgress{w: &b, name: "x.zip"}
	p.update(512, 1024)
	p.update(1024, 1024)
	p.finish()
	if !strings.Contains(b.String(), "\rx.zip   50%  512 B / 1.0 KiB") || !strings.Contains(b.String(), "100%") || !strings.HasSuffix(b.String(), "\n") {
		t.Errorf("progress %q", b.String())
	}
}
