package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// runDemo is `campaignstats demo`: a fresh workspace with deterministic synthetic traffic, loaded through the
// public ingest API, then the server keeps serving.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg := config.Default()
	cfg.DataDir = ""
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Register(fs)
	campaigns := fs.Int("campaigns", 20, "top-level campaigns")
	users := fs.Int("users", 5000, "distinct users")
	days := fs.Int("days", 14, "days of traffic ending today")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := config.ApplyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	cfg.AdminToken = getenv("CAMPAIGNSTATS_ADMIN_TOKEN")
	cfg.Version = version
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "campaignstats-demo-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitRuntime
		}
		cfg.DataDir = dir
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "campaignstats demo: %v\n", err)
		return exitUsage
	}
	logger := newLogger(cfg, stderr)
	setGoMemoryLimit(cfg, getenv)
	srv, err := app.Start(ctx, cfg, logger, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats demo: %v\n", err)
		return exitRuntime
	}
	ws, err := srv.Workspaces().Create(ctx, workspace.CreateRequest{Name: "Demo"})
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats demo: %v\n", err)
		srv.Close(context.Background())
		return exitRuntime
	}
	gen := demo.New(demo.Options{Campaigns: *campaigns, Users: *users, Days: *days, Seed: *seed, End: time.Now().UTC()})
	c := client.New(srv.LocalURL())
	if err := loadDemo(ctx, c, ws.ID, ws.DataKey, gen, stderr); err != nil {
		fmt.Fprintf(stderr, "campaignstats demo: %v\n", err)
		srv.Close(context.Background())
		return exitRuntime
	}
	download := demoReport(ctx, srv, ws, stderr)
	base := srv.LocalURL()
	start := time.Now().UTC().AddDate(0, 0, -min(*days, 30)).Format(time.DateOnly)
	today := time.Now().UTC().Format(time.DateOnly)
	fmt.Fprintf(stdout, `campaignstats demo is serving on %s (data in %s)

workspace_id: %s
report_key:   %s
data_key:     %s

Dashboard: %s/ui/ (sign in with the workspace_id and report_key above)

Stats for the most recent campaigns:
  curl -s -X POST %s/core-services/v1/campaign-stats \
    -u '%s:%s' -H 'MOE-APPKEY: %s' -H 'Content-Type: application/json' \
    -d '{"request_id":"demo-1","start_date":"%s","end_date":"%s","attribution_type":"VIEW_THROUGH","metric_type":"UNIQUE"}'

%s
Send one more event:
  curl -s -X POST %s/v1/streams/%s -u '%s:%s' -H 'Content-Type: application/json' \
    -d '{"events":[{"event_code":"MOE_EMAIL_OPEN","event_uuid":"demo-extra-1","event_time":%d,"uid":"u1","event_attributes":{"campaign_id":"demo_email_001"}}]}'

Press Ctrl-C to stop.
`, base, cfg.DataDir, ws.ID, ws.ReportKey, ws.DataKey, base,
		base, ws.ID, ws.ReportKey, ws.ID, start, today, download,
		base, ws.ID, ws.ID, ws.DataKey, time.Now().Unix())
	return serveUntilDone(ctx, srv, cfg, logger)
}

// loadDemo PUTs the demo catalog and sends its events as gzip NDJSON batches.
func loadDemo(ctx context.Context, c *client.Client, wsID, dataKey string, gen *demo.Generator, stderr io.Writer) error {
	for _, cp := range gen.Campaigns() {
		if _, _, err := c.PutCampaign(ctx, wsID, dataKey, cp.ID, cp.Body); err != nil {
			return fmt.Errorf("put campaign %s: %w", cp.ID, err)
		}
	}
	var batch bytes.Buffer
	total := 0
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		res, err := c.IngestStreams(ctx, wsID, dataKey, "application/x-ndjson", batch.Bytes(), true)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		if res.Rejected > 0 {
			return fmt.Errorf("ingest: %d demo events rejected, first: %+v", res.Rejected, res.Errors[0])
		}
		total += res.Accepted
		batch.Reset()
		return nil
	}
	err := gen.Generate(func(line []byte) error {
		batch.Write(line)
		if batch.Len() > 4<<20 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	fmt.Fprintf(stderr, "demo: loaded %d campaigns and %d events\n", len(gen.Campaigns()), total)
	return err
}

// demoReport defines a daily report over the last 7 days in MoEngage's wide layout, runs it once and returns the
// text of a signed download command for its file (empty when the run did not succeed).
func demoReport(ctx context.Context, srv *app.Server, ws domain.Workspace, stderr io.Writer) string {
	def, err := report.ParseDefinition([]byte(`{"name":"Demo Daily Report","range":{"last_days":7},"granularity":"daily",` +
		`"layout":"moengage","compression":"zip"}`))
	if err == nil {
		var rep report.Report
		if rep, err = srv.Reports().Create(ctx, ws, def); err == nil {
			var run report.Run
			if run, err = srv.Reports().RunNow(ctx, ws, rep.ID); err == nil {
				for i := 0; i < 600; i++ {
					runs, rerr := srv.Reports().Runs(ctx, ws, rep.ID, 1)
					if rerr == nil && len(runs) == 1 && runs[0].ID == run.ID && (runs[0].Status == store.RunSuccessful || runs[0].Status == store.RunFailed) {
						run = runs[0]
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if run.Status == store.RunSuccessful {
					sum := sha256.Sum256([]byte(ws.ID + "|" + run.Filename + "|" + ws.ReportKey))
					return fmt.Sprintf("Download the demo report (%s, MoEngage's wide layout, %d rows):\n  curl -s -o %s -H 'Signature: %s' %s/campaign_reports/rest_api/%s/%s\n",
						run.Filename, run.Rows, run.Filename, hex.EncodeToString(sum[:]), srv.LocalURL(), ws.ID, run.Filename)
				}
				err = fmt.Errorf("run ended %s", run.Status)
			}
		}
	}
	fmt.Fprintf(stderr, "demo: report not generated: %v\n", err)
	return ""
}
