package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// heldBody is a request body whose last byte is held back until release is closed. Sent with
// Expect: 100-continue, its first Read proves that the handler is running: Go's server answers 100 Continue only
// when the handler starts reading the body.
type heldBody struct {
	data    []byte
	off     int
	reading chan struct{} // closed by the first Read
	release <-chan struct{}
	once    sync.Once
}

func (b *heldBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	if b.off == len(b.data) {
		return 0, io.EOF
	}
	end := len(b.data) - 1
	if b.off == end {
		<-b.release
		end = len(b.data)
	}
	n := copy(p, b.data[b.off:end])
	b.off += n
	return n, nil
}

// heldRequest is one request sent with a heldBody, and its outcome.
type heldRequest struct {
	name   string
	req    *http.Request
	body   *heldBody
	status int
	resp   []byte
	err    error
}

func newHeldRequest(t *testing.T, name, url string, header http.Header, body []byte, release <-chan struct{}) *heldRequest {
	t.Helper()
	b := &heldBody{data: body, reading: make(chan struct{}), release: release}
	req, err := http.NewRequest(http.MethodPost, url, b)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header = header.Clone()
	req.Header.Set("Expect", "100-continue")
	return &heldRequest{name: name, req: req, body: b}
}

// TestShutdownDrainsInFlightRequests sends SIGTERM to a server (one DuckDB thread, 512MB DuckDB memory) while 12
// Stats calls and 5 ingest requests (4 Streams batches, 1 Track Event with an Idempotency-Key) are inside their
// handlers, and lets them finish after the listener has closed. SPEC §10.3: every in-flight request completes
// (with 200 and the same Stats numbers as before the signal), the process exits with status 0, and after a restart
// the acknowledged ingest is there.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	dataDir := t.TempDir()
	flags := []string{"--duckdb-threads", "1", "--duckdb-memory-limit", "512MB"}
	p := startServerProcess(t, dataDir, flags...)
	c, ws := p.newWorkspace(t, "shutdown")
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

	// Load: 5 email campaigns, 7500 users each; sent and delivered for every user, opens and clicks for some.
	campaigns := []string{"sd-0", "sd-1", "sd-2", "sd-3", "sd-4"}
	var lines []string
	for ci, camp := range campaigns {
		for u := range 7500 {
			codes := []string{"MOE_EMAIL_SENT", "MOE_EMAIL_DELIVERED"}
			if u%2 == 0 {
				codes = append(codes, "MOE_EMAIL_OPEN")
			}
			if u%4 == 0 {
				codes = append(codes, "MOE_EMAIL_CLICK")
			}
			for k, code := range codes {
				lines = append(lines, fmt.Sprintf(`{"event_code":%q,"event_uuid":"load-%d-%d-%d","event_time":%d,"uid":"user-%d","event_attributes":{"campaign_id":%q,"campaign_channel":"EMAIL","locale_name":"%s","variation_id":"%d"}}`,
					code, ci, u, k, day.Unix()+int64(u*7+k*60), u, camp, []string{"en", "fr"}[u%2], u%3))
			}
		}
	}
	for _, body := range ndjsonBodies(lines, 8<<20) {
		res, err := c.IngestStreams(ctx, ws.WorkspaceID, ws.DataKey, client.ContentTypeNDJSON, body, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rejected != 0 {
			t.Fatalf("load rejected events: %+v", res.Errors[:min(3, len(res.Errors))])
		}
	}
	if got := waitForCount(t, func() (int64, error) { return sentTotal(ctx, c, ws, "sd-4", day) }, 7500); got != 7500 {
		t.Fatalf("sd-4 sent = %d after the load; want 7500", got)
	}

	// The Stats requests, and their answers before the signal.
	var statsReqs []client.StatsRequest
	for i := range 12 {
		statsReqs = append(statsReqs, client.StatsRequest{RequestID: fmt.Sprintf("sd-%d", i), CampaignIDs: campaigns,
			StartDate: day.Format(time.DateOnly), EndDate: day.AddDate(0, 0, 1).Format(time.DateOnly),
			AttributionType: []string{"VIEW_THROUGH", "CLICK_THROUGH", "TOTAL_CONVERSIONS"}[i%3],
			MetricType:      []string{"TOTAL", "UNIQUE"}[i%2]})
	}
	baseline := map[string]map[string][]client.CampaignStats{}
	for _, r := range statsReqs[:6] { // the 12 repeat 6 distinct requests
		res, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, r)
		if err != nil {
			t.Fatal(err)
		}
		baseline[r.AttributionType+"/"+r.MetricType] = res.Data
	}

	// The in-flight requests: their handlers start, then wait for the last byte of their bodies.
	release := make(chan struct{})
	var held []*heldRequest
	for i, r := range statsReqs {
		body, _ := json.Marshal(r)
		held = append(held, newHeldRequest(t, fmt.Sprintf("stats %d", i), p.Base+client.StatsPath,
			client.StatsHeader(ws.WorkspaceID, ws.ReportKey), body, release))
	}
	const newCampaign, perBatch = "sd-new", 5000
	ingestHeader := http.Header{}
	ingestHeader.Set("Content-Type", client.ContentTypeNDJSON)
	for b := range 4 {
		var sb strings.Builder
		for i := range perBatch {
			fmt.Fprintf(&sb, `{"event_code":"MOE_EMAIL_SENT","event_uuid":"inflight-%d-%d","event_time":%d,"uid":"new-%d","event_attributes":{"campaign_id":%q,"campaign_channel":"EMAIL"}}`+"\n",
				b, i, day.Unix()+int64(i), i, newCampaign)
		}
		req := newHeldRequest(t, fmt.Sprintf("streams %d", b), p.Base+"/v1/streams/"+ws.WorkspaceID, ingestHeader, []byte(sb.String()), release)
		req.req.SetBasicAuth(ws.WorkspaceID, ws.DataKey)
		held = append(held, req)
	}
	trackHeader := http.Header{}
	trackHeader.Set("Content-Type", client.ContentTypeJSON)
	trackHeader.Set("Idempotency-Key", "sd-track-1")
	trackBody := fmt.Appendf(nil, `{"type":"event","customer_id":"user-1","actions":[{"action":"Purchase","current_time":%d}]}`, day.Unix()+3600)
	track := newHeldRequest(t, "track", p.Base+"/v1/event/"+ws.WorkspaceID, trackHeader, trackBody, release)
	track.req.SetBasicAuth(ws.WorkspaceID, ws.DataKey)
	held = append(held, track)

	hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Minute, DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for _, h := range held {
		wg.Go(func() {
			resp, err := hc.Do(h.req)
			if err != nil {
				h.err = err
				return
			}
			defer resp.Body.Close()
			h.status = resp.StatusCode
			h.resp, h.err = io.ReadAll(resp.Body)
		})
	}
	for _, h := range held {
		select {
		case <-h.body.reading:
		case <-time.After(time.Minute):
			t.Fatalf("%s: the handler did not start reading its body", h.name)
		}
	}

	// SIGTERM; the requests are released once the server has closed its listener.
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(p.Base, "http://")
	for deadline := time.Now().Add(30 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 30 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exit: %v; want status 0", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the server did not exit within 2 minutes of SIGTERM")
	}

	var trackResult client.TrackResult
	for _, h := range held {
		switch {
		case h.err != nil:
			t.Errorf("%s: %v", h.name, h.err)
		case h.status != http.StatusOK:
			t.Errorf("%s: HTTP %d %s; want 200", h.name, h.status, h.resp)
		case strings.HasPrefix(h.name, "stats"):
			var res client.StatsResponse
			if err := json.Unmarshal(h.resp, &res); err != nil {
				t.Errorf("%s: %v", h.name, err)
				continue
			}
			i := 0
			fmt.Sscanf(h.name, "stats %d", &i)
			want := baseline[statsReqs[i].AttributionType+"/"+statsReqs[i].MetricType]
			if !reflect.DeepEqual(res.Data, want) {
				t.Errorf("%s: data differs from the answer before SIGTERM:\n%s", h.name, h.resp)
			}
		case strings.HasPrefix(h.name, "streams"):
			var res client.StreamsResult
			if err := json.Unmarshal(h.resp, &res); err != nil || res.Accepted != perBatch {
				t.Errorf("%s: %s; want %d accepted", h.name, h.resp, perBatch)
			}
		case h.name == "track":
			if err := json.Unmarshal(h.resp, &trackResult); err != nil || trackResult.RequestID == "" {
				t.Errorf("%s: %s", h.name, h.resp)
			}
		}
	}
	logs := p.Logs()
	if errs := p.ErrorLogs(); len(errs) > 0 {
		t.Errorf("server logged errors:\n%s", strings.Join(errs, "\n"))
	}
	if !bytes.Contains([]byte(strings.Join(logs, "\n")), []byte(`"msg":"stopped"`)) {
		t.Errorf("no \"stopped\" log line; log tail:\n%s", strings.Join(logs[max(0, len(logs)-10):], "\n"))
	}
	if t.Failed() {
		return
	}

	// After a restart the acknowledged ingest is there: the 4 batches, and the Track request's stored response.
	p = startServerProcess(t, dataDir, flags...)
	c = client.New(p.Base)
	if got := waitForCount(t, func() (int64, error) { return sentTotal(ctx, c, ws, newCampaign, day) }, 4*perBatch); got != 4*perBatch {
		t.Errorf("after restart %s sent = %d; want %d", newCampaign, got, 4*perBatch)
	}
	again, err := c.TrackEvent(ctx, ws.WorkspaceID, ws.DataKey, trackBody, "sd-track-1")
	if err != nil {
		t.Fatal(err)
	}
	if again.RequestID != trackResult.RequestID {
		t.Errorf("Track retry after restart answered request_id %q; the acknowledged request had %q", again.RequestID, trackResult.RequestID)
	}
	for _, r := range statsReqs[:6] {
		res, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, r)
		if err != nil {
			t.Fatal(err)
		}
		if want := baseline[r.AttributionType+"/"+r.MetricType]; !reflect.DeepEqual(res.Data, want) {
			t.Errorf("after restart %s/%s differs from before:\n%s", r.AttributionType, r.MetricType, res.Raw)
		}
	}
}

// TestShutdownTimeoutBoundsTheDrain: a request still in flight when --shutdown-timeout runs out does not make the
// shutdown fail (SPEC §10.3): its connection is closed and the process exits with status 0.
func TestShutdownTimeoutBoundsTheDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	p := startServerProcess(t, t.TempDir(), "--shutdown-timeout", "1s")
	_, ws := p.newWorkspace(t, "drain")
	release := make(chan struct{})
	defer close(release) // the body's last byte is never sent while the server runs
	body := []byte(`{"request_id":"r","campaign_ids":["x"],"start_date":"2025-03-01","end_date":"2025-03-02","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`)
	h := newHeldRequest(t, "stats", p.Base+client.StatsPath, client.StatsHeader(ws.WorkspaceID, ws.ReportKey), body, release)
	hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute, DisableKeepAlives: true}}
	go func() {
		if resp, err := hc.Do(h.req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-h.body.reading:
	case <-time.After(time.Minute):
		t.Fatal("the handler did not start reading its body")
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exit: %v; want status 0\n%s", err, strings.Join(p.Logs(), "\n"))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the server did not exit within 2 minutes of SIGTERM")
	}
	if errs := p.ErrorLogs(); len(errs) > 0 {
		t.Errorf("ERROR log lines: %s", strings.Join(errs, "\n"))
	}
}
