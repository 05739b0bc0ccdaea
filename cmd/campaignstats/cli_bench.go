package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// benchResult is the machine-readable output of `campaignstats bench --json`.
type benchResult struct {
	Events             int                `json:"events"`
	Campaigns          int                `json:"campaigns"`
	Users              int                `json:"users"`
	Days               int                `json:"days"`
	IngestSeconds      float64            `json:"ingest_seconds"`
	IngestEventsPerSec float64            `json:"ingest_events_per_second"`
	IngestLatencyMS    map[string]float64 `json:"ingest_batch_latency_ms"`
	StatsLargestMS     map[string]float64 `json:"stats_largest_campaign_30d_unique_ms"`
	StatsTop10MS       map[string]float64 `json:"stats_top10_campaigns_30d_unique_ms"`
	// SettledSeconds is the time from the end of the ingest until the embedded store first reported nothing left
	// to settle and nothing left to derive (polled every half second); once the calls above are done and its
	// maintenance has been idle for 4 s, the same two query shapes are measured again (…SettledMS). Absent for a
	// server that does not report it.
	SettledSeconds        float64            `json:"settled_seconds_after_ingest,omitempty"`
	StatsLargestSettledMS map[string]float64 `json:"stats_largest_campaign_30d_unique_settled_ms,omitempty"`
	StatsTop10SettledMS   map[string]float64 `json:"stats_top10_campaigns_30d_unique_settled_ms,omitempty"`
	// StatsConversionMS is the largest campaign over 30 days, UNIQUE, under each attribution type.
	StatsConversionMS map[string]map[string]float64 `json:"stats_largest_campaign_30d_unique_by_attribution_ms"`
	VisibilityMS      map[string]float64            `json:"time_to_visibility_ms"`
	ServerPeakRSSMiB  float64                       `json:"server_peak_rss_mib,omitempty"`
	Report            *reportResult                 `json:"report,omitempty"`
	Naive             *naiveResult                  `json:"naive,omitempty"`
}

// naiveResult holds the latencies of the plain-SQL baseline.
type naiveResult struct {
	LoadSeconds float64            `json:"load_seconds"`
	LargestMS   map[string]float64 `json:"largest_campaign_30d_unique_ms"`
	Top10MS     map[string]float64 `json:"top10_campaigns_30d_unique_ms"`
	// ConversionMS is the naive view-through join: goal events × the user's earlier interactions with the
	// campaign within its window, per locale and variation, distinct events, users and revenue.
	ConversionMS map[string]float64 `json:"conversions_view_through_30d_ms"`
	// LoadPeakRSSMiB is the peak RSS of the process that loaded the raw events and ran the queries above.
	LoadPeakRSSMiB float64 `json:"load_peak_rss_mib,omitempty"`
	// ReportCopySeconds is a plain DuckDB COPY of the daily report's counters (per campaign, day and platform).
	ReportCopySeconds float64 `json:"report_copy_seconds,omitempty"`
	ReportCopyRows    int64   `json:"report_copy_rows,omitempty"`
	// ReportFullCopySeconds is a DuckDB COPY of the report's equivalent: every counter and the view-through
	// conversions (distinct goal events, users, revenue) per campaign, day and platform.
	ReportFullCopySeconds float64 `json:"report_full_copy_seconds,omitempty"`
	ReportFullCopyRows    int64   `json:"report_full_copy_rows,omitempty"`
	// ReportCopyPeakRSSMiB is the peak RSS of the process that ran the two COPY statements (DuckDB defaults).
	ReportCopyPeakRSSMiB float64 `json:"report_copy_peak_rss_mib,omitempty"`
}

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintln(w, string(b))
}

// naiveUnavailable says how to get a binary with the naive baseline, which the default build leaves out
// (naiveAvailable, cli_bench_naive.go).
const naiveUnavailable = "--naive needs a binary built with the naive DuckDB baseline: go build -tags benchnaive ./cmd/campaignstats (scripts/bench.sh does this)"

// runBench is `campaignstats bench`.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "server URL, or several nodes' URLs separated by commas (requests go to each in turn); empty: start an embedded server in a temporary directory")
	wsID := fs.String("workspace", "", "workspace id (with --server)")
	dataKey := fs.String("data-key", "", "data key (with --server)")
	reportKey := fs.String("report-key", "", "report key (with --server)")
	events := fs.Int("events", 1_000_000, "events to ingest")
	batch := fs.Int("batch", 1000, "events per request")
	concurrency := fs.Int("concurrency", 8, "concurrent ingest requests")
	campaigns := fs.Int("campaigns", 100, "top-level campaigns")
	users := fs.Int("users", 100_000, "distinct users")
	days := fs.Int("days", 60, "days of traffic")
	statsCalls := fs.Int("stats-calls", 200, "Stats calls per query shape")
	seed := fs.Uint64("seed", 1, "random seed")
	serverPID := fs.Int("server-pid", 0, "pid of the server process, to report its peak RSS")
	reportCampaigns := fs.Int("report-campaigns", 0, "also generate a daily report over the whole range for this many of the largest campaigns (0 = skip)")
	reportSplit := fs.String("report-split", "platform", "split_by of the report, comma-separated (platform, locale, variation; empty = none)")
	reportMetric := fs.String("report-metric", "TOTAL", "metric_type of the report (TOTAL or UNIQUE)")
	naive := fs.Bool("naive", false, "also answer the Stats query shapes with plain DuckDB SQL over the raw events (same data, same run)")
	dataDir := fs.String("data-dir", "", "data directory of the embedded server (default: a new temporary directory)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (client and embedded server) to this file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := config.ApplyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *naive && !naiveAvailable {
		fmt.Fprintf(stderr, "campaignstats bench: %s\n", naiveUnavailable)
		return exitUsage
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitRuntime
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, err)
			return exitRuntime
		}
		defer pprof.StopCPUProfile()
	}
	base := *server
	if base == "" {
		cfg := config.Default()
		cfg.Addr = "127.0.0.1:0"
		cfg.DataDir = *dataDir
		if cfg.DataDir == "" {
			dir, err := os.MkdirTemp("", "campaignstats-bench-")
			if err != nil {
				fmt.Fprintln(stderr, err)
				return exitRuntime
			}
			defer os.RemoveAll(dir)
			cfg.DataDir = dir
		}
		cfg.LogLevel = "warn"
		srv, err := app.Start(ctx, cfg, newLogger(cfg, stderr), time.Now)
		if err != nil {
			fmt.Fprintf(stderr, "campaignstats bench: %v\n", err)
			return exitRuntime
		}
		defer srv.Close(context.Background())
		ws, err := srv.Workspaces().Create(ctx, workspace.CreateRequest{Name: "bench", RateLimitPerMinute: ptr(100000)})
		if err != nil {
			fmt.Fprintf(stderr, "campaignstats bench: %v\n", err)
			return exitRuntime
		}
		base, *wsID, *dataKey, *reportKey = srv.LocalURL(), ws.ID, ws.DataKey, ws.ReportKey
		*serverPID = os.Getpid()
	} else if *wsID == "" || *dataKey == "" || *reportKey == "" {
		fmt.Fprintln(stderr, "campaignstats bench: --server needs --workspace, --data-key and --report-key")
		return exitUsage
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	gen := demo.New(demo.Options{Campaigns: *campaigns, Users: *users, Days: *days, Events: *events, Seed: *seed, End: end, Prefix: "bench"})
	nodes := strings.Split(base, ",")
	c := client.New(nodes[0], client.WithNodes(nodes...))
	b := &bencher{c: c, ws: *wsID, dataKey: *dataKey, reportKey: *reportKey, stderr: stderr}
	res := benchResult{Campaigns: *campaigns, Users: *users, Days: *days}

	var rawFile *os.File
	if *naive {
		f, err := os.CreateTemp("", "campaignstats-bench-*.ndjson")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitRuntime
		}
		defer os.Remove(f.Name())
		defer f.Close()
		rawFile = f
	}
	var raw io.Writer
	if rawFile != nil {
		raw = rawFile
	}
	if err := b.ingest(ctx, gen, *batch, *concurrency, raw, &res); err != nil {
		fmt.Fprintf(stderr, "campaignstats bench: %v\n", err)
		return exitRuntime
	}
	settled := b.watchSettled(ctx, time.Now())
	largest := gen.Largest(10)
	from := end.AddDate(0, 0, -30).Format(time.DateOnly)
	to := end.AddDate(0, 0, -1).Format(time.DateOnly)
	var err error
	if res.StatsLargestMS, err = b.statsLatency(ctx, largest[:1], from, to, "VIEW_THROUGH", *statsCalls); err == nil {
		res.StatsTop10MS, err = b.statsLatency(ctx, largest, from, to, "VIEW_THROUGH", *statsCalls)
	}
	res.StatsConversionMS = map[string]map[string]float64{}
	for _, at := range []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"} {
		if err != nil {
			break
		}
		res.StatsConversionMS[at], err = b.statsLatency(ctx, largest[:1], from, to, at, max(*statsCalls/4, 1))
	}
	// The same shapes once the store has settled and its maintenance is idle: the calls above start the moment the
	// ingest ends, beside the burst's compaction, credit move and merge of user sets.
	if err == nil {
		var ok bool
		if res.SettledSeconds, ok, err = settled(3*time.Minute, 4*time.Second); err == nil && ok {
			if res.StatsLargestSettledMS, err = b.statsLatency(ctx, largest[:1], from, to, "VIEW_THROUGH", *statsCalls); err == nil {
				res.StatsTop10SettledMS, err = b.statsLatency(ctx, largest, from, to, "VIEW_THROUGH", *statsCalls)
			}
		}
	}
	if err == nil {
		res.VisibilityMS, err = b.visibility(ctx, largest[0], 20)
	}
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats bench: %v\n", err)
		return exitRuntime
	}
	if *serverPID > 0 {
		res.ServerPeakRSSMiB = peakRSSMiB(*serverPID)
	}
	if *reportCampaigns > 0 {
		var split []string
		if *reportSplit != "" {
			split = strings.Split(*reportSplit, ",")
		}
		rr, err := b.report(ctx, gen.Largest(*reportCampaigns), split, *reportMetric, end.AddDate(0, 0, -min(*days, 90)), end.AddDate(0, 0, -1), *serverPID)
		if err != nil {
			fmt.Fprintf(stderr, "campaignstats bench: report: %v\n", err)
			return exitRuntime
		}
		res.Report = rr
	}
	if *naive {
		var reportIDs []string
		if *reportCampaigns > 0 {
			reportIDs = gen.Largest(*reportCampaigns)
		}
		n, err := runNaive(ctx, rawFile.Name(), largest, reportIDs, end, min(*days, 90), *statsCalls/10+1)
		if err != nil {
			fmt.Fprintf(stderr, "campaignstats bench: naive baseline: %v\n", err)
			return exitRuntime
		}
		res.Naive = n
	}
	if *asJSON {
		printJSON(stdout, res)
		return exitOK
	}
	printBench(stdout, res)
	return exitOK
}

func ptr[T any](v T) *T { return &v }

// reportResult is the report-generation measurement.
type reportResult struct {
	Campaigns     int     `json:"campaigns"`
	Days          int     `json:"days"`
	Rows          int64   `json:"rows"`
	SizeBytes     int64   `json:"size_bytes"`
	Seconds       float64 `json:"seconds"`
	ServerRSSMiB  float64 `json:"server_peak_rss_mib_after,omitempty"`
	ServerRSSBase float64 `json:"server_peak_rss_mib_before,omitempty"`
	// GenerationSeconds is the run's finished_at − started_at (the server's own generation time).
	GenerationSeconds float64 `json:"generation_seconds,omitempty"`
	// RunRSSMiB is the largest server RSS sampled every 20 ms while the run was in progress.
	RunRSSMiB float64 `json:"server_rss_mib_during_run,omitempty"`
}

// sampleRSS samples the RSS of pid every 20 ms until stop is called, which returns the largest sample in MiB.
func sampleRSS(pid int) (stop func() float64) {
	done := make(chan struct{})
	result := make(chan float64)
	go func() {
		var largest float64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			largest = max(largest, procStatusMiB(pid, "VmRSS:"))
			select {
			case <-done:
				result <- largest
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 { close(done); return <-result }
}

// report creates a daily report (split by split, of the metric type) over [from, to] for the campaigns, runs it
// and times the run.
func (b *bencher) report(ctx context.Context, ids, split []string, metric string, from, to time.Time, pid int) (*reportResult, error) {
	def := map[string]any{"name": fmt.Sprintf("Bench Daily %d", time.Now().UnixNano()), "campaigns": map[string]any{"ids": ids},
		"range":       map[string]any{"start_date": from.Format(time.DateOnly), "end_date": to.Format(time.DateOnly)},
		"granularity": "daily", "split_by": append([]string{}, split...), "metric_type": metric, "compression": "zip"}
	rep, err := b.c.CreateReport(ctx, b.ws, b.reportKey, def)
	if err != nil {
		return nil, err
	}
	res := &reportResult{Campaigns: len(ids), Days: int(to.Sub(from).Hours()/24) + 1}
	if pid > 0 {
		res.ServerRSSBase = peakRSSMiB(pid)
	}
	stopSampling := func() float64 { return 0 }
	if pid > 0 {
		stopSampling = sampleRSS(pid)
	}
	t0 := time.Now()
	run, err := b.c.RunReport(ctx, b.ws, b.reportKey, rep.ReportID)
	if err != nil {
		stopSampling()
		return nil, err
	}
	run, err = b.c.WaitReportRun(ctx, b.ws, b.reportKey, rep.ReportID, run.RunID, 50*time.Millisecond)
	res.RunRSSMiB = stopSampling()
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(t0).Seconds()
	if run.StartedAt != nil && run.FinishedAt != nil {
		started, err1 := time.Parse(time.RFC3339Nano, *run.StartedAt)
		finished, err2 := time.Parse(time.RFC3339Nano, *run.FinishedAt)
		if err1 == nil && err2 == nil {
			res.GenerationSeconds = finished.Sub(started).Seconds()
		}
	}
	if run.Status != "SUCCESSFUL" {
		return nil, fmt.Errorf("run %s: %v", run.Status, run.Error)
	}
	if run.Rows != nil {
		res.Rows = *run.Rows
	}
	if run.Size != nil {
		res.SizeBytes = *run.Size
	}
	if pid > 0 {
		res.ServerRSSMiB = peakRSSMiB(pid)
	}
	return res, nil
}

type bencher struct {
	c                      *client.Client
	ws, dataKey, reportKey string
	stderr                 io.Writer
}

// ingest sends the generated events in batches with concurrency workers.
func (b *bencher) ingest(ctx context.Context, gen *demo.Generator, batchSize, workers int, raw io.Writer, res *benchResult) error {
	for _, cp := range gen.Campaigns() {
		if _, _, err := b.c.PutCampaign(ctx, b.ws, b.dataKey, cp.ID, cp.Body); err != nil {
			return fmt.Errorf("put campaign: %w", err)
		}
	}
	batches := make(chan []byte, workers*2)
	var mu sync.Mutex
	var latencies []time.Duration
	accepted := 0
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range batches {
				t0 := time.Now()
				r, err := b.c.IngestStreams(ctx, b.ws, b.dataKey, "application/x-ndjson", body, false)
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					accepted += r.Accepted
					if r.Rejected > 0 && firstErr == nil {
						firstErr = fmt.Errorf("%d events rejected: %+v", r.Rejected, r.Errors[0])
					}
				}
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	var cur bytes.Buffer
	n, total := 0, 0
	genErr := gen.Generate(func(line []byte) error {
		if raw != nil {
			if _, err := raw.Write(line); err != nil {
				return err
			}
		}
		cur.Write(line)
		n++
		total++
		if n == batchSize {
			batches <- bytes.Clone(cur.Bytes())
			cur.Reset()
			n = 0
			if total%(batchSize*200) == 0 {
				fmt.Fprintf(b.stderr, "bench: %d events sent\n", total)
			}
		}
		return nil
	})
	if cur.Len() > 0 {
		batches <- bytes.Clone(cur.Bytes())
	}
	close(batches)
	wg.Wait()
	elapsed := time.Since(start)
	if genErr != nil {
		return genErr
	}
	if firstErr != nil {
		return firstErr
	}
	res.Events = accepted
	res.IngestSeconds = elapsed.Seconds()
	res.IngestEventsPerSec = float64(accepted) / elapsed.Seconds()
	res.IngestLatencyMS = percentiles(latencies)
	return nil
}

// statsLatency calls the Stats API calls times for the campaigns over [from, to], UNIQUE.
func (b *bencher) statsLatency(ctx context.Context, ids []string, from, to, attributionType string, calls int) (map[string]float64, error) {
	var lat []time.Duration
	for i := 0; i < calls; i++ {
		t0 := time.Now()
		_, err := b.c.CampaignStats(ctx, b.ws, b.reportKey, client.StatsRequest{RequestID: "bench-" + strconv.Itoa(i),
			CampaignIDs: ids, StartDate: from, EndDate: to, AttributionType: attributionType, MetricType: "UNIQUE"})
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	return percentiles(lat), nil
}

// storeGauges reads the embedded store's maintenance gauges and the derivation lag from the server's /metrics; ok
// is false for a server without them.
func (b *bencher) storeGauges(ctx context.Context) (unsettled, lag, running float64, ok bool, err error) {
	_, body, err := b.c.Do(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("metrics: %w", err)
	}
	gauge := func(name string) (float64, bool) {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		return v, err == nil
	}
	unsettled, ok = gauge("campaignstats_store_unsettled_events")
	lag, _ = gauge("campaignstats_derive_lag_events")
	running, _ = gauge("campaignstats_store_maintenance_running")
	return unsettled, lag, running, ok, nil
}

// watchSettled polls the server's gauges every half second from now on, until the embedded store reports no
// unsettled events and no events left to derive in three readings in a row (with several nodes, the requests go to
// each in turn), and returns the seconds from since to the first of them. The function it returns then waits, at
// most limit, until maintenance has also been idle for quiet (what waits for a pause in queries — the checkpoint,
// dropping void credits — starts once the calls before it have stopped); ok is false for a server without the
// store's gauges, or one that has not settled by then.
func (b *bencher) watchSettled(ctx context.Context, since time.Time) func(limit, quiet time.Duration) (seconds float64, ok bool, err error) {
	type outcome struct {
		seconds     float64
		ok          bool
		unsupported bool // the server has no such gauges (a ClickHouse node)
		err         error
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan outcome, 1)
	poll := func(need int, idle bool) outcome {
		zeros, first := 0, time.Time{}
		for {
			at := time.Now()
			unsettled, lag, running, ok, err := b.storeGauges(ctx)
			if err != nil || !ok {
				return outcome{err: err, unsupported: err == nil}
			}
			if unsettled != 0 || lag != 0 || (idle && running != 0) {
				zeros = 0
			} else if zeros++; zeros == 1 {
				first = at
			}
			if zeros == need {
				return outcome{seconds: first.Sub(since).Seconds(), ok: true}
			}
			select {
			case <-ctx.Done():
				return outcome{}
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	go func() { done <- poll(3, false) }()
	return func(limit, quiet time.Duration) (float64, bool, error) {
		defer cancel()
		timeout := time.After(limit)
		var settled outcome
		select {
		case settled = <-done:
		case <-timeout:
		}
		if settled.err != nil || !settled.ok {
			if settled.err == nil && !settled.unsupported {
				fmt.Fprintf(b.stderr, "bench: no settled store to measure within %v after the Stats calls\n", limit)
			}
			return 0, false, settled.err
		}
		go func() { done <- poll(int(quiet/(500*time.Millisecond)), true) }()
		select {
		case idle := <-done:
			return settled.seconds, idle.ok, idle.err
		case <-timeout:
			fmt.Fprintf(b.stderr, "bench: maintenance was not idle for %v within %v after the Stats calls\n", quiet, limit)
			return settled.seconds, false, nil
		}
	}
}

// visibility measures the time from an ingest 200 to the event showing in the Stats API.
func (b *bencher) visibility(ctx context.Context, campaign string, rounds int) (map[string]float64, error) {
	day := time.Now().UTC().Format(time.DateOnly)
	req := client.StatsRequest{RequestID: "vis", CampaignIDs: []string{campaign}, StartDate: day, EndDate: day,
		AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"}
	count := func() (int64, error) {
		r, err := b.c.CampaignStats(ctx, b.ws, b.reportKey, req)
		if err != nil {
			return 0, err
		}
		total := int64(0)
		for _, cs := range r.Data[campaign] {
			total += cs.Platforms["ALL_PLATFORMS"].Locales["all_locale"].Variations["all_variations"].FailureBreakdown["bench_visibility"]
		}
		return total, nil
	}
	var lat []time.Duration
	for i := 0; i < rounds; i++ {
		before, err := count()
		if err != nil {
			return nil, err
		}
		ev := fmt.Sprintf(`{"event_name":"Notification Failed Android","event_uuid":"vis-%d-%d","event_time":%d,"uid":"vis","event_attributes":{"campaign_id":%q,"reason":"bench visibility"}}`,
			time.Now().UnixNano(), i, time.Now().UnixMilli(), campaign)
		if _, err := b.c.IngestStreams(ctx, b.ws, b.dataKey, "application/x-ndjson", []byte(ev), false); err != nil {
			return nil, err
		}
		t0 := time.Now()
		for {
			n, err := count()
			if err != nil {
				return nil, err
			}
			if n > before {
				break
			}
			if time.Since(t0) > 10*time.Second {
				return nil, errors.New("event not visible after 10 s")
			}
		}
		lat = append(lat, time.Since(t0))
	}
	return percentiles(lat), nil
}

func percentiles(d []time.Duration) map[string]float64 {
	if len(d) == 0 {
		return nil
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(p float64) float64 {
		i := int(p*float64(len(d)) + 0.5)
		i = min(max(i-1, 0), len(d)-1)
		return float64(d[i].Microseconds()) / 1000
	}
	return map[string]float64{"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1)}
}

// peakRSSMiB reads VmHWM of a process (Linux).
func peakRSSMiB(pid int) float64 { return procStatusMiB(pid, "VmHWM:") }

// procStatusMiB reads one kB field of /proc/<pid>/status in MiB (0 when unavailable).
func procStatusMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func printBench(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "events ingested        %d (%d campaigns, %d users, %d days)\n", r.Events, r.Campaigns, r.Users, r.Days)
	fmt.Fprintf(w, "ingest throughput      %.0f events/s over %.1f s\n", r.IngestEventsPerSec, r.IngestSeconds)
	row := func(name string, m map[string]float64) {
		fmt.Fprintf(w, "%-22s p50 %8.1f ms  p95 %8.1f ms  p99 %8.1f ms  max %8.1f ms\n", name, m["p50"], m["p95"], m["p99"], m["max"])
	}
	row("ingest batch latency", r.IngestLatencyMS)
	row("stats largest 30d", r.StatsLargestMS)
	row("stats top-10 30d", r.StatsTop10MS)
	for _, at := range []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"} {
		if m, ok := r.StatsConversionMS[at]; ok {
			row("  "+strings.ToLower(at), m)
		}
	}
	if r.StatsLargestSettledMS != nil {
		fmt.Fprintf(w, "store settled          %.1f s after the ingest; the first two shapes again, once maintenance was idle after the calls above:\n", r.SettledSeconds)
		row("stats largest settled", r.StatsLargestSettledMS)
		row("stats top-10 settled", r.StatsTop10SettledMS)
	}
	row("time to visibility", r.VisibilityMS)
	if r.ServerPeakRSSMiB > 0 {
		fmt.Fprintf(w, "server peak RSS        %.0f MiB\n", r.ServerPeakRSSMiB)
	}
	if r.Report != nil {
		fmt.Fprintf(w, "daily report           %d campaigns × %d days: %.1f s (generation %.1f s), %d rows, %d bytes; server RSS during the run ≤ %.0f MiB, peak RSS %.0f → %.0f MiB\n",
			r.Report.Campaigns, r.Report.Days, r.Report.Seconds, r.Report.GenerationSeconds, r.Report.Rows, r.Report.SizeBytes,
			r.Report.RunRSSMiB, r.Report.ServerRSSBase, r.Report.ServerRSSMiB)
	}
	if r.Naive != nil {
		row("naive SQL largest", r.Naive.LargestMS)
		row("naive SQL top-10", r.Naive.Top10MS)
		row("naive SQL conversions", r.Naive.ConversionMS)
		if r.Naive.ReportCopySeconds > 0 {
			fmt.Fprintf(w, "naive COPY report      counters %.1f s (%d rows); counters + conversions %.1f s (%d rows); COPY process peak RSS %.0f MiB\n",
				r.Naive.ReportCopySeconds, r.Naive.ReportCopyRows, r.Naive.ReportFullCopySeconds, r.Naive.ReportFullCopyRows, r.Naive.ReportCopyPeakRSSMiB)
		}
		fmt.Fprintf(w, "naive/engine p50       largest %.1fx  top-10 %.1fx  conversions (view-through) %.1fx\n",
			r.Naive.LargestMS["p50"]/r.StatsLargestMS["p50"], r.Naive.Top10MS["p50"]/r.StatsTop10MS["p50"],
			r.Naive.ConversionMS["p50"]/r.StatsConversionMS["VIEW_THROUGH"]["p50"])
	}
}
