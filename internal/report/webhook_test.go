package report

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// receiver is an httptest webhook endpoint answering with a scripted status per attempt.
type receiver struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	script   []int // status per attempt; the last one repeats; 0 = hang until the client gives up
	srv      *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, req)
		r.bodies = append(r.bodies, body)
		status := r.script[min(n, len(r.script)-1)]
		r.mu.Unlock()
		switch status {
		case 0:
			<-req.Context().Done()
		case http.StatusFound:
			http.Redirect(w, req, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// fakeClock advances by one second per reading; sleeps are recorded and advance it too.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// testSender is a sender on clock. Its timeout of 2 s is what a scripted hang waits out; loopback attempts that
// answer take milliseconds, but under the race detector on a loaded machine they may take more than a fraction of
// a second.
func testSender(clock *fakeClock, allowPrivate bool) *WebhookSender {
	return NewWebhookSender(WebhookConfig{Timeout: 2 * time.Second, AllowPrivate: allowPrivate, UserAgent: "campaignstats/1.2.3",
		Sleep: clock.Sleep, Now: clock.Now, NewDeliveryID: func() string { return "11111111-2222-4333-8444-555555555555" }})
}

func specRun() (domain.Workspace, Report, Run) {
	ws := domain.Workspace{ID: "65f0a1b2c3d4e5f6a7b8c9d0", ReportKey: "0123456789abcdef0123456789abcdef01234567"}
	rep := Report{ID: "66a1e0c2d3e4f5a6b7c8d9e1", Definition: Definition{Name: "Weekly Push Report"}}
	created := time.Date(2025, 3, 10, 6, 0, 0, 0, time.UTC)
	finished := time.Date(2025, 3, 10, 6, 0, 4, 0, time.UTC)
	expires := time.Date(2025, 3, 17, 6, 0, 4, 0, time.UTC)
	run := Run{ID: "66a1f0c2d3e4f5a6b7c8d9e0", ReportID: rep.ID, WorkspaceID: ws.ID, Status: store.RunSuccessful,
		CreatedAt: created, FinishedAt: &finished, ExpiresAt: &expires, Filename: "Weekly_Push_Report_20250310.zip",
		Size: 48213, SHA256: "9f2c", Rows: 1342}
	return ws, rep, run
}

func TestWebhookPayload(t *testing.T) {
	ws, rep, run := specRun()
	got, _ := json.Marshal(NewWebhookPayload(ws, rep, run))
	// SPEC §8.11's example, members in the same order.
	want := `{"event":"report.run.finished","workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","report_id":"66a1e0c2d3e4f5a6b7c8d9e1",` +
		`"report_name":"Weekly Push Report","run_id":"66a1f0c2d3e4f5a6b7c8d9e0","status":"SUCCESSFUL",` +
		`"filename":"Weekly_Push_Report_20250310.zip","size":48213,"sha256":"9f2c","rows":1342,` +
		`"created_at":"2025-03-10T06:00:00Z","finished_at":"2025-03-10T06:00:04Z","expires_at":"2025-03-17T06:00:04Z",` +
		`"error":null,"download_path":"/campaign_reports/rest_api/65f0a1b2c3d4e5f6a7b8c9d0/Weekly_Push_Report_20250310.zip"}`
	if string(got) != want {
		t.Fatalf("payload\n got %s\nwant %s", got, want)
	}
	run.Status, run.Error, run.Filename, run.Size, run.SHA256, run.Rows, run.ExpiresAt = store.RunFailed, "storage write failure", "", 0, "", 0, nil
	got, _ = json.Marshal(NewWebhookPayload(ws, rep, run))
	want = `{"event":"report.run.finished","workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","report_id":"66a1e0c2d3e4f5a6b7c8d9e1",` +
		`"report_name":"Weekly Push Report","run_id":"66a1f0c2d3e4f5a6b7c8d9e0","status":"FAILED","filename":null,"size":null,` +
		`"sha256":null,"rows":null,"created_at":"2025-03-10T06:00:00Z","finished_at":"2025-03-10T06:00:04Z","expires_at":null,` +
		`"error":"storage write failure","download_path":null}`
	if string(got) != want {
		t.Fatalf("failed payload\n got %s\nwant %s", got, want)
	}
}

func TestWebhookDeliveredFirstTime(t *testing.T) {
	rcv := newReceiver(t, 204)
	clock := &fakeClock{now: time.Unix(1741586404, 0)}
	ws, rep, run := specRun()
	body, _ := json.Marshal(NewWebhookPayload(ws, rep, run))
	out := testSender(clock, true).Deliver(context.Background(), rcv.srv.URL+"/hook?x=1", ws.ReportKey, body)
	if !out.Delivered || out.Attempts != 1 || out.StatusCode != 204 || out.Err != nil {
		t.Fatalf("outcome %+v", out)
	}
	req := rcv.requests[0]
	ts := req.Header.Get("X-Campaignstats-Timestamp")
	for k, v := range map[string]string{"Content-Type": "application/json", "User-Agent": "campaignstats/1.2.3",
		"X-Campaignstats-Event": "report.run.finished", "X-Campaignstats-Delivery": "11111111-2222-4333-8444-555555555555",
		"X-Campaignstats-Timestamp": "1741586405"} {
		if got := req.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// A receiver verifies: HMAC-SHA256 keyed with report_key over "<timestamp>.<raw body>", lowercase hex.
	m := hmac.New(sha256.New, []byte(ws.ReportKey))
	m.Write([]byte(ts + "." + string(rcv.bodies[0])))
	if got, want := req.Header.Get("X-Campaignstats-Signature"), "v1="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if string(rcv.bodies[0]) != string(body) || req.Method != "POST" || req.URL.RawQuery != "x=1" {
		t.Errorf("request %s %s %s", req.Method, req.URL, rcv.bodies[0])
	}
}

func TestWebhookRetries(t *testing.T) {
	// 500, a redirect (not followed), a hang past the timeout, then 200.
	rcv := newReceiver(t, 500, http.StatusFound, 0, 200)
	clock := &fakeClock{now: time.Unix(1741586404, 0)}
	out := testSender(clock, true).Deliver(context.Background(), rcv.srv.URL, "key", []byte(`{"a":1}`))
	if !out.Delivered || out.Attempts != 4 || out.StatusCode != 200 {
		t.Fatalf("outcome %+v", out)
	}
	if want := []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}; !equalDurations(clock.sleeps, want) {
		t.Fatalf("sleeps %v, want %v", clock.sleeps, want)
	}
	if rcv.count() != 4 {
		t.Fatalf("%d requests (a redirect must not be followed)", rcv.count())
	}
	seen := map[string]bool{}
	for i, req := range rcv.requests {
		if req.URL.Path != "/" {
			t.Errorf("attempt %d went to %s", i, req.URL.Path)
		}
		if req.Header.Get("X-Campaignstats-Delivery") != rcv.requests[0].Header.Get("X-Campaignstats-Delivery") {
			t.Errorf("attempt %d has another delivery id", i)
		}
		ts := req.Header.Get("X-Campaignstats-Timestamp")
		if seen[ts] {
			t.Errorf("attempt %d reuses timestamp %s", i, ts)
		}
		seen[ts] = true
		n, _ := strconv.ParseInt(ts, 10, 64)
		if req.Header.Get("X-Campaignstats-Signature") != WebhookSignature("key", n, []byte(`{"a":1}`)) {
			t.Errorf("attempt %d not re-signed", i)
		}
	}

	// Always failing: one attempt and three retries, then failed.
	rcv = newReceiver(t, 503)
	clock = &fakeClock{now: time.Unix(1741586404, 0)}
	out = testSender(clock, true).Deliver(context.Background(), rcv.srv.URL, "key", []byte(`{}`))
	if out.Delivered || out.Attempts != 4 || out.StatusCode != 503 || out.Err == nil || rcv.count() != 4 || len(clock.sleeps) != 3 {
		t.Fatalf("outcome %+v, %d requests, sleeps %v", out, rcv.count(), clock.sleeps)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWebhookSSRFGuard(t *testing.T) {
	rcv := newReceiver(t, 200)
	clock := &fakeClock{now: time.Unix(1741586404, 0)}
	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":")+1:]
	for _, target := range []string{rcv.srv.URL, "http://localhost:" + port, "http://[::1]:" + port, "http://0.0.0.0:" + port} {
		out := testSender(clock, false).Deliver(context.Background(), target, "key", []byte(`{}`))
		if out.Delivered || out.Attempts != 1 || !errors.Is(out.Err, ErrWebhookAddressRefused) {
			t.Errorf("%s: outcome %+v", target, out)
		}
	}
	if rcv.count() != 0 || len(clock.sleeps) != 0 {
		t.Fatalf("guard let %d requests through, slept %v", rcv.count(), clock.sleeps)
	}
	for _, target := range []string{"ftp://example.com/x", "http://user:pw@example.com/", "not a url", "/relative"} {
		if out := testSender(clock, false).Deliver(context.Background(), target, "key", nil); out.Delivered || out.Attempts != 0 {
			t.Errorf("%s: outcome %+v", target, out)
		}
	}
	for addr, public := range map[string]bool{
		"127.0.0.1": false, "127.8.9.10": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false,
		"192.168.1.1": false, "169.254.169.254": false, "0.0.0.0": false, "0.1.2.3": false, "224.0.0.1": false,
		"255.255.255.255": false, "::1": false, "::": false, "fc00::1": false, "fd12::1": false, "fe80::1": false,
		"ff02::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:169.254.1.1": false,
		"8.8.8.8": true, "172.32.0.1": true, "1.1.1.1": true, "2001:4860:4860::8888": true, "::ffff:8.8.8.8": true,
	} {
		if got := PublicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddress(%s) = %t, want %t", addr, got, public)
		}
	}
}

// statusRecorder records SetRunWebhookStatus calls.
type statusRecorder struct {
	mu     sync.Mutex
	status map[string]string
}

func (s *statusRecorder) SetRunWebhookStatus(_ context.Context, runID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[runID] = status
	return nil
}

func TestWebhookNotifier(t *testing.T) {
	ok := newReceiver(t, 200)
	bad := newReceiver(t, 500)
	clock := &fakeClock{now: time.Unix(1741586404, 0)}
	rec := &statusRecorder{status: map[string]string{}}
	reg := prometheus.NewRegistry()
	n := NewWebhookNotifier(testSender(clock, true), rec, nil, reg)
	defer n.Close()
	ws, rep, run := specRun()
	var obs RunObserver = n
	rep.Definition.WebhookURL = ok.srv.URL
	obs.RunFinished(context.Background(), ws, rep, run)
	run2 := run
	run2.ID = "run-2"
	rep.Definition.WebhookURL = bad.srv.URL
	obs.RunFinished(context.Background(), ws, rep, run2)
	run3 := run
	run3.ID = "run-3"
	rep.Definition.WebhookURL = ""
	obs.RunFinished(context.Background(), ws, rep, run3)
	n.Wait()
	if rec.status["66a1f0c2d3e4f5a6b7c8d9e0"] != store.WebhookDelivered || rec.status["run-2"] != store.WebhookFailed || len(rec.status) != 2 {
		t.Fatalf("statuses %v", rec.status)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "campaignstats_webhook_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if counts["delivered"] != 1 || counts["failed"] != 1 {
		t.Fatalf("delivery metrics %v", counts)
	}
}
