package e2e

// Faults of a cluster and what its nodes share: a ClickHouse shard down during ingest, a node killed while it holds
// a report run, rate limits counted across nodes in Redis, and Redis down.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// childNodeEnv, when set, makes the test binary run one campaignstats node instead of the tests: the value is the
// node's config.Config as JSON. Its report runs never finish (stalledGenerator), so whatever run it claims stays
// RUNNING until the process ends.
const childNodeEnv = "CAMPAIGNSTATS_E2E_NODE"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childNodeEnv); spec != "" {
		os.Exit(runChildNode(spec))
	}
	os.Exit(m.Run())
}

// runChildNode serves as one node with the configuration spec until SIGTERM or SIGINT; it returns the exit code.
func runChildNode(spec string) int {
	var cfg config.Config
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", childNodeEnv, err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv, err := app.Start(ctx, cfg, logger, time.Now,
		app.WithReportGenerator(func(app.ReportDeps) (report.Generator, error) { return stalledGenerator{}, nil }))
	if err != nil {
		logger.Error("start", "error", err.Error())
		return 1
	}
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Close(closeCtx); err != nil {
		logger.Error("close", "error", err.Error())
		return 1
	}
	return 0
}

// stalledGenerator claims runs and never finishes them: Generate returns only when its context ends.
type stalledGenerator struct{}

func (stalledGenerator) Generate(ctx context.Context, _ domain.Workspace, _ report.Report, _ report.Run) (report.Result, error) {
	<-ctx.Done()
	return report.Result{}, ctx.Err()
}

// startChildNode starts a node with cfg in a separate process (this test binary, see TestMain) and waits until it
// is ready. The test's cleanup stops it if it is still running.
func startChildNode(t *testing.T, cfg config.Config) *testserver.Process {
	t.Helper()
	spec, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childNodeEnv+"="+string(spec))
	p := testserver.StartCmd(t, filepath.Join(t.TempDir(), "node.log"), cmd)
	url := "http://" + cfg.Addr + "/readyz"
	p.WaitReady(t, 90*time.Second, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	return p
}

// clusterWorkspace creates a workspace (timezone UTC) through the admin API.
func clusterWorkspace(t *testing.T, c *client.Client, adminToken string, rateLimit int) *client.Workspace {
	t.Helper()
	ws, err := c.CreateWorkspace(t.Context(), adminToken, client.CreateWorkspaceRequest{
		Name: "cluster faults", Timezone: "UTC", RateLimitPerMinute: rateLimit})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	if ws.RateLimitPerMinute != rateLimit {
		t.Fatalf("rate_limit_per_minute %d, want %d", ws.RateLimitPerMinute, rateLimit)
	}
	return ws
}

// emailEvent is a Streams event of EMAIL campaign cid (SPEC §3.2) at a UTC instant.
type emailEvent struct {
	UUID, Code, UID, Campaign string
	At                        time.Time
}

func (e emailEvent) wire() map[string]any {
	return map[string]any{"event_uuid": e.UUID, "event_code": e.Code, "event_time": e.At.UnixMilli(), "uid": e.UID,
		"email_id": e.UID + "@example.com", "event_attributes": map[string]any{"campaign_id": e.Campaign,
			"campaign_name": "Fault newsletter", "campaign_channel": "EMAIL", "moe_delivery_type": "One Time"}}
}

func wireEvents(events []emailEvent) []any {
	out := make([]any, len(events))
	for i, e := range events {
		out[i] = e.wire()
	}
	return out
}

// shardOfUID is the ClickHouse shard (of shards) holding the events of Streams user uid, computed from the design's
// placement rule: the user key is "uid:" + uid (SPEC §2.8), its UserID the first 128 bits of its SHA-256, and the
// shard the first 64 of them (big-endian) modulo the number of shards.
func shardOfUID(uid string, shards int) int {
	sum := sha256.Sum256([]byte("uid:" + uid))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(shards))
}

// wantIngest checks a Streams 200 body.
func wantIngest(t *testing.T, what string, res *client.StreamsResult, err error, accepted, duplicates int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res.Status != "success" || res.Accepted != accepted || res.Duplicates != duplicates || res.Rejected != 0 || len(res.Errors) != 0 {
		t.Fatalf("%s: status %q accepted/duplicates/rejected = %d/%d/%d errors %+v; want success %d/%d/0", what,
			res.Status, res.Accepted, res.Duplicates, res.Rejected, res.Errors, accepted, duplicates)
	}
}

// TestClusterShardDown: one node on 2 ClickHouse shards. With the second shard killed, a Streams batch whose users
// live on both shards answers 503 with SPEC §3.11's ServiceUnavailable body (nothing acknowledged that is not
// stored); once the shard is back, the same batch is accepted in full, a later batch repeating acknowledged events
// gets exactly those as duplicates, and the Stats counters (TOTAL and UNIQUE) equal those of the distinct events
// sent: nothing lost, nothing counted twice.
func TestClusterShardDown(t *testing.T) {
	cl := startCluster(t, 1)
	c := client.New(cl.Nodes[0].URL())
	ctx := t.Context()
	ws := clusterWorkspace(t, c, cl.Config.AdminToken, 10000)
	const cid = "fault-email-1"
	status, _, err := c.PutCampaign(ctx, ws.WorkspaceID, ws.DataKey, cid, map[string]any{
		"campaign_name": "Fault newsletter", "channel": "EMAIL", "campaign_delivery_type": "ONE_TIME"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("PUT campaign: status %d, %v; want 201", status, err)
	}

	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	ev := func(code string, user int) emailEvent {
		n++
		return emailEvent{UUID: fmt.Sprintf("fault-%04d", n), Code: code, UID: fmt.Sprintf("fault-user-%02d", user),
			Campaign: cid, At: base.Add(time.Duration(n) * time.Minute)}
	}
	// Batch 1: users 0..9 sent, 0..3 clicked. Batch 2 (sent while a shard is down): users 5..16 sent, 5..12
	// clicked. Batch 3: users 17..19 sent, and two events of each earlier batch again (same event_uuid).
	var batch1, batch2, batch3 []emailEvent
	for u := 0; u < 10; u++ {
		batch1 = append(batch1, ev("MOE_EMAIL_SENT", u))
	}
	for u := 0; u < 4; u++ {
		batch1 = append(batch1, ev("MOE_EMAIL_CLICK", u))
	}
	for u := 5; u < 17; u++ {
		batch2 = append(batch2, ev("MOE_EMAIL_SENT", u))
	}
	for u := 5; u < 13; u++ {
		batch2 = append(batch2, ev("MOE_EMAIL_CLICK", u))
	}
	for u := 17; u < 20; u++ {
		batch3 = append(batch3, ev("MOE_EMAIL_SENT", u))
	}
	batch3 = append(batch3, batch1[0], batch1[11], batch2[3], batch2[15])
	const repeated = 4
	// The batches must put users on both shards, or the killed shard would not be written.
	for name, batch := range map[string][]emailEvent{"batch 1": batch1, "batch 2": batch2} {
		onShard := [2]int{}
		for _, e := range batch {
			onShard[shardOfUID(e.UID, 2)]++
		}
		if onShard[0] == 0 || onShard[1] == 0 {
			t.Fatalf("%s: events per shard %v; want both shards", name, onShard)
		}
	}

	res, err := c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(batch1))
	wantIngest(t, "batch 1", res, err, len(batch1), 0)

	// A client's retry repeats acknowledged events: the batch sent while the shard is down holds one (its dedup
	// check reads both shards).
	batch2 = append(batch2, batch1[2])
	cl.ClickHouse.Servers[1].Kill()
	_, err = c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(batch2))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("batch 2 with shard 1 down: %v; want HTTP 503", err)
	}
	if apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("batch 2 with shard 1 down: HTTP %d %s; want 503", apiErr.Status, apiErr.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(apiErr.Body, &body); err != nil {
		t.Fatalf("503 body %s: %v", apiErr.Body, err)
	}
	detail, _ := body["error"].(map[string]any)
	requestID, _ := detail["request_id"].(string)
	want := map[string]any{"status": "fail", "error": map[string]any{"type": "ServiceUnavailable", "attribute": "server",
		"message": "The service is unavailable; retry later", "request_id": requestID}}
	if requestID == "" || canonicalJSON(body) != canonicalJSON(want) {
		t.Fatalf("503 body %s; want the §3.11 ServiceUnavailable envelope %s with a request_id", apiErr.Body, canonicalJSON(want))
	}
	if h := apiErr.Header.Get("X-Request-Id"); h != "" && h != requestID {
		t.Errorf("X-Request-Id %q differs from the body's request_id %q", h, requestID)
	}

	// Stats cannot read the stopped shard either: 503 unavailable (SPEC §5.18), not a 500.
	_, err = c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "shard-down",
		CampaignIDs: []string{cid}, StartDate: "2025-03-01", EndDate: "2025-03-01", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("stats with shard 1 down: %v; want HTTP 503", err)
	}

	cl.ClickHouse.Servers[1].Start()
	res, err = c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(batch2))
	wantIngest(t, "batch 2 again, shard 1 back", res, err, len(batch2)-1, 1)
	res, err = c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(batch3))
	wantIngest(t, "batch 3", res, err, len(batch3)-repeated, repeated)

	// The expected counters, from the distinct events sent.
	total := map[string]int{}
	users := map[string]map[string]bool{}
	seen := map[string]bool{}
	for _, e := range append(append(append([]emailEvent{}, batch1...), batch2...), batch3...) {
		if seen[e.UUID] {
			continue
		}
		seen[e.UUID] = true
		counter := map[string]string{"MOE_EMAIL_SENT": "sent", "MOE_EMAIL_CLICK": "click"}[e.Code]
		total[counter]++
		if users[counter] == nil {
			users[counter] = map[string]bool{}
		}
		users[counter][e.UID] = true
	}
	if total["sent"] != 25 || len(users["sent"]) != 20 || total["click"] != 12 || len(users["click"]) != 12 {
		t.Fatalf("expected counters miscounted: %v %d %d", total, len(users["sent"]), len(users["click"]))
	}
	for _, metric := range []string{"TOTAL", "UNIQUE"} {
		resp, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "shard-down-" + metric,
			CampaignIDs: []string{cid}, StartDate: "2025-03-01", EndDate: "2025-03-01", AttributionType: "VIEW_THROUGH",
			MetricType: metric})
		if err != nil {
			t.Fatalf("stats %s: %v", metric, err)
		}
		if len(resp.Data[cid]) != 1 {
			t.Fatalf("stats %s: data %s", metric, resp.Raw)
		}
		node, ok := resp.Data[cid][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
		if !ok {
			t.Fatalf("stats %s: no overall node in %s", metric, resp.Raw)
		}
		for _, counter := range []string{"sent", "click"} {
			want := total[counter]
			if metric == "UNIQUE" {
				want = len(users[counter])
			}
			if got := node.PerformanceStats[counter]; got != float64(want) {
				t.Errorf("stats %s: %s = %v, want %d", metric, counter, got, want)
			}
		}
	}
}

// TestClusterReportTakeover: a node in its own process claims a report run and is killed with SIGKILL while it
// holds it (no graceful re-queue). Another node — running while the first one still renewed the lease, without
// taking the run — takes the run over once the lease expired, finishes it SUCCESSFUL, and serves the file from the
// shared S3 report storage through the download API.
func TestClusterReportTakeover(t *testing.T) {
	cl := startClusterStores(t)
	endpoint, accessKey, secretKey := testserver.S3(t)
	// Short enough for a quick test, long enough that a loaded machine does not miss a renewal (every lease/3).
	const lease = 6 * time.Second
	cfg := cl.Config
	cfg.ReportStorage = "s3://campaignstats-reports/cluster"
	cfg.S3Endpoint = "http://" + endpoint
	cfg.S3AccessKey, cfg.S3SecretKey = accessKey, secretKey
	cfg.ReportLease = lease
	cfg.ReportWorkers = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	childCfg := cfg
	childCfg.Addr = testserver.Addr(testserver.FreePort(t))
	childCfg.DataDir = t.TempDir()
	child := startChildNode(t, childCfg)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(child.Log); err == nil {
				t.Logf("killed node's log:\n%s", tailString(string(b), 6000))
			}
		}
	})
	cc := client.New("http://" + childCfg.Addr)
	ctx := t.Context()

	ws := clusterWorkspace(t, cc, cfg.AdminToken, 10000)
	const cid = "takeover-email-1"
	var events []emailEvent
	for u := 0; u < 6; u++ {
		events = append(events, emailEvent{UUID: fmt.Sprintf("takeover-%02d", u), Code: "MOE_EMAIL_SENT",
			UID: fmt.Sprintf("takeover-user-%02d", u), Campaign: cid, At: time.Date(2025, 3, 1, 9, u, 0, 0, time.UTC)})
	}
	res, err := cc.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(events))
	wantIngest(t, "ingest", res, err, len(events), 0)
	rep, err := cc.CreateReport(ctx, ws.WorkspaceID, ws.ReportKey, client.ReportDefinition{Name: "Takeover Report",
		Range: client.ReportRange{StartDate: "2025-03-01", EndDate: "2025-03-01"}, Compression: "zip"})
	if err != nil {
		t.Fatalf("create report: %v", err)
	}
	run, err := cc.RunReport(ctx, ws.WorkspaceID, ws.ReportKey, rep.ReportID)
	if err != nil {
		t.Fatalf("run report: %v", err)
	}
	runState := func(c *client.Client) client.ReportRun {
		t.Helper()
		runs, err := c.ReportRuns(ctx, ws.WorkspaceID, ws.ReportKey, rep.ReportID, 10)
		if err != nil {
			t.Fatalf("runs: %v", err)
		}
		if len(runs) != 1 || runs[0].RunID != run.RunID {
			t.Fatalf("runs %+v; want the one run %s", runs, run.RunID)
		}
		return runs[0]
	}
	deadline := time.Now().Add(30 * time.Second)
	for runState(cc).Status != client.RunRunning {
		if time.Now().After(deadline) {
			t.Fatalf("the run was not claimed by the separate node: %+v", runState(cc))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A second node with the normal generator: while the first one renews the lease, the run stays its own.
	node := cl.startNode(t, cfg)
	nc := client.New(node.URL())
	for until := time.Now().Add(2 * lease); time.Now().Before(until); time.Sleep(200 * time.Millisecond) {
		if r := runState(nc); r.Status != client.RunRunning {
			t.Fatalf("the run left RUNNING while its node renewed the lease: %+v", r)
		}
	}

	child.Kill()
	killed := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	done, err := nc.WaitReportRun(waitCtx, ws.WorkspaceID, ws.ReportKey, rep.ReportID, run.RunID, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("waiting for the take-over: %v", err)
	}
	wantName := "Takeover_Report_" + strings.ReplaceAll(run.CreatedAt[:10], "-", "") + ".zip"
	if done.Status != client.RunSuccessful || done.Error != nil || done.Filename == nil || *done.Filename != wantName ||
		done.Size == nil || done.SHA256 == nil || done.Rows == nil || *done.Rows != 1 {
		t.Fatalf("run after the take-over: %s; want SUCCESSFUL, %s, 1 row", done.Raw, wantName)
	}
	if r := runState(nc); r.Status != client.RunSuccessful {
		t.Fatalf("run listed as %s after it finished", r.Status)
	}
	t.Logf("run %s finished by the second node %s after the first was killed", run.RunID, time.Since(killed).Round(time.Millisecond))

	var file bytes.Buffer
	info, err := nc.DownloadReport(ctx, ws.WorkspaceID, ws.ReportKey, wantName, &file, nil)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if info.Size != *done.Size || info.SHA256 != *done.SHA256 {
		t.Fatalf("downloaded %d bytes with SHA-256 %s; the run says %d, %s", info.Size, info.SHA256, *done.Size, *done.SHA256)
	}
	zr, err := zip.NewReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		t.Fatalf("report archive: %v", err)
	}
	wantEntry := "Takeover_Report_EMAIL_" + strings.ReplaceAll(run.CreatedAt[:10], "-", "") + ".csv"
	if len(zr.File) != 1 || zr.File[0].Name != wantEntry {
		t.Fatalf("archive entries %v; want [%s]", zipNames(zr), wantEntry)
	}
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	csv, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Campaign ID,") || !strings.HasPrefix(lines[1], cid+",") {
		t.Fatalf("CSV:\n%s\nwant a header and one row of %s", csv, cid)
	}
}

// canonicalJSON is v as compact JSON, with object keys sorted (for comparing decoded bodies).
func canonicalJSON(v any) string { return string(mustJSON(v)) }

func zipNames(zr *zip.Reader) []string {
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// limitedAnswer is one answer of a rate-limited endpoint with its RateLimit-* headers.
type limitedAnswer struct {
	status                  int
	limit, remaining, reset int
	retryAfter              string
	body                    []byte
	sent, received          time.Time
}

// statsOnce sends one Stats request (SPEC §5.3) for an empty day and reads the RateLimit-* headers.
func statsOnce(t *testing.T, c *client.Client, ws *client.Workspace) limitedAnswer {
	t.Helper()
	body, err := json.Marshal(client.StatsRequest{RequestID: "rate-limit", StartDate: "2025-03-01", EndDate: "2025-03-01",
		AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	resp, data, err := c.Do(t.Context(), http.MethodPost, client.StatsPath, client.StatsHeader(ws.WorkspaceID, ws.ReportKey), body)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return limitedAnswer{status: resp.StatusCode, limit: headerInt(t, resp, "RateLimit-Limit"),
		remaining: headerInt(t, resp, "RateLimit-Remaining"), reset: headerInt(t, resp, "RateLimit-Reset"),
		retryAfter: resp.Header.Get("Retry-After"), body: data, sent: sent, received: time.Now()}
}

func headerInt(t *testing.T, resp *http.Response, name string) int {
	t.Helper()
	v := resp.Header.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("HTTP %d: header %s = %q, want an integer", resp.StatusCode, name, v)
	}
	return n
}

// checkRefusal checks a 429 of SPEC §5.4: Remaining 0, Retry-After = max(Reset, 1), and the body naming the limit
// and the delay.
func checkRefusal(t *testing.T, what string, a limitedAnswer, limit int) {
	t.Helper()
	retry := max(a.reset, 1)
	if a.status != http.StatusTooManyRequests || a.limit != limit || a.remaining != 0 || a.retryAfter != strconv.Itoa(retry) {
		t.Fatalf("%s: HTTP %d Limit %d Remaining %d Reset %d Retry-After %q; want 429, %d, 0, Retry-After %d", what,
			a.status, a.limit, a.remaining, a.reset, a.retryAfter, limit, retry)
	}
	want := map[string]any{"title": "Too Many Requests", "code": "rate_limited", "description": fmt.Sprintf(
		"Rate limit of %d requests per minute exceeded for this workspace. Retry after %d seconds.", limit, retry)}
	var got map[string]any
	if err := json.Unmarshal(a.body, &got); err != nil || canonicalJSON(got) != canonicalJSON(want) {
		t.Fatalf("%s: 429 body %s; want %s", what, a.body, canonicalJSON(want))
	}
}

// metricValue reads an unlabelled sample of name from a node's /metrics.
func metricValue(t *testing.T, srv *app.Server, name string) float64 {
	t.Helper()
	resp, data, err := client.New(srv.URL()).Do(t.Context(), http.MethodGet, "/metrics", nil, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %v %v", resp, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics: %q", line)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return math.NaN()
}

// TestClusterRateLimits: two nodes share rate limits through Redis (SPEC §5.4: per workspace and endpoint family,
// rolling 60 s). Then Redis stops: both nodes keep answering, each counting on its own, and count the failures in
// campaignstats_ratelimit_backend_errors_total; once Redis is back the count is shared again.
func TestClusterRateLimits(t *testing.T) {
	cl := startCluster(t, 2)
	nodes := []*client.Client{client.New(cl.Nodes[0].URL()), client.New(cl.Nodes[1].URL())}

	t.Run("shared", func(t *testing.T) {
		const limit, requests = 100, 150
		ws := clusterWorkspace(t, nodes[0], cl.Config.AdminToken, limit)
		answers := make([]limitedAnswer, requests)
		for i := range answers {
			answers[i] = statsOnce(t, nodes[i%2], ws)
		}
		first := answers[0]
		if last := answers[requests-1]; last.received.Sub(first.sent) > 50*time.Second {
			t.Fatalf("%d requests took %s: the window of the first one may have passed", requests, last.received.Sub(first.sent))
		}
		ok, refused := 0, 0
		for i, a := range answers {
			what := fmt.Sprintf("request %d (node %d)", i, i%2)
			// Reset: whole seconds, rounded up, until the first request (the oldest admitted) leaves the window,
			// bounded by the instants around the two requests.
			lo := int(math.Ceil((first.sent.Add(time.Minute).Sub(a.received)).Seconds()))
			hi := int(math.Ceil((first.received.Add(time.Minute).Sub(a.sent)).Seconds()))
			if a.reset < lo || a.reset > hi {
				t.Errorf("%s: RateLimit-Reset %d, want %d..%d", what, a.reset, lo, hi)
			}
			if i < limit {
				ok++
				if a.status != http.StatusOK || a.limit != limit || a.remaining != limit-1-i {
					t.Fatalf("%s: HTTP %d Limit %d Remaining %d; want 200, %d, %d (%s)", what, a.status, a.limit,
						a.remaining, limit, limit-1-i, a.body)
				}
				continue
			}
			refused++
			checkRefusal(t, what, a, limit)
		}
		if ok != limit || refused != requests-limit {
			t.Fatalf("%d admitted, %d refused", ok, refused)
		}
		// Another family of the same workspace has its own count (SPEC §5.4): the reports API.
		resp, body, err := nodes[1].Do(t.Context(), http.MethodGet, client.ReportsPrefix+"/"+ws.WorkspaceID,
			client.StatsHeader(ws.WorkspaceID, ws.ReportKey), nil)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Remaining") != strconv.Itoa(limit-1) {
			t.Fatalf("reports family after the stats limit: %v %v %s", resp, err, body)
		}
	})

	t.Run("redis_down", func(t *testing.T) {
		const limit = 5
		ws := clusterWorkspace(t, nodes[0], cl.Config.AdminToken, limit)
		before := [2]float64{metricValue(t, cl.Nodes[0], "campaignstats_ratelimit_backend_errors_total"),
			metricValue(t, cl.Nodes[1], "campaignstats_ratelimit_backend_errors_total")}
		cl.Redis.Stop()
		start := time.Now()
		// Each node admits limit requests on its own: Remaining counts down per node.
		for i := 0; i < 2*limit; i++ {
			a := statsOnce(t, nodes[i%2], ws)
			if a.status != http.StatusOK || a.limit != limit || a.remaining != limit-1-i/2 {
				t.Fatalf("Redis down, request %d (node %d): HTTP %d Limit %d Remaining %d; want 200, %d, %d (%s)", i, i%2,
					a.status, a.limit, a.remaining, limit, limit-1-i/2, a.body)
			}
		}
		for i := 0; i < 2; i++ {
			checkRefusal(t, fmt.Sprintf("Redis down, node %d past its own limit", i), statsOnce(t, nodes[i], ws), limit)
		}
		for i, n := range cl.Nodes {
			if got := metricValue(t, n, "campaignstats_ratelimit_backend_errors_total"); got <= before[i] {
				t.Errorf("node %d: campaignstats_ratelimit_backend_errors_total %v, want more than %v", i, got, before[i])
			}
		}

		cl.Redis = testserver.RestartRedis(t, cl.Redis)
		// Both nodes' own counts are spent, so an admission now comes from Redis (empty after the restart): node 0's
		// first one leaves limit-1, node 1's first one limit-2 — the count is shared again.
		untilShared := func(i, wantRemaining int) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				a := statsOnce(t, nodes[i], ws)
				if a.status == http.StatusOK {
					if a.remaining != wantRemaining {
						t.Fatalf("Redis back, node %d: Remaining %d, want %d", i, a.remaining, wantRemaining)
					}
					return
				}
				checkRefusal(t, fmt.Sprintf("Redis back, node %d counting on its own", i), a, limit)
				if time.Now().After(deadline) {
					t.Fatalf("node %d does not use Redis again", i)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		untilShared(0, limit-1)
		untilShared(1, limit-2)
		for i, want := range []int{limit - 3, limit - 4, limit - 5} {
			if a := statsOnce(t, nodes[i%2], ws); a.status != http.StatusOK || a.remaining != want {
				t.Fatalf("Redis back, request %d: HTTP %d Remaining %d; want 200, %d", i, a.status, a.remaining, want)
			}
		}
		for i := 0; i < 2; i++ {
			checkRefusal(t, fmt.Sprintf("Redis back, node %d past the shared limit", i), statsOnce(t, nodes[i], ws), limit)
		}
		if time.Since(start) > 50*time.Second {
			t.Fatalf("the outage steps took %s: the nodes' own windows may have passed", time.Since(start))
		}
	})
}
