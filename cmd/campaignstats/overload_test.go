package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// TestOverloadBoundsMemory sends 200 concurrent Streams requests of the maximum size (16 MiB of NDJSON once
// decompressed, gzip-compressed, distinct event_uuids in every request) to a server with the default admission
// limits (SPEC §12.13), then one more request once they are answered. Every response must be a 200 or the 503 of
// §12.13 with Retry-After; the request after the burst must be a 200 (admission gave back what the burst took);
// the server's peak RSS (VmHWM) must stay within 1 GiB; and the events stored must be exactly those the 200s
// accepted. When the peak is over the bound, the failure shows what the process held at its largest sample.
func TestOverloadBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and sends 200 bodies of 16 MiB")
	}
	const (
		requests = 200
		maxBody  = 16 << 20 // --max-stream-body default
		peakRSS  = 1 << 20  // KiB: 1 GiB
		campaign = "overload"
	)
	ctx := context.Background()
	p := startServerProcess(t, t.TempDir())
	c, ws := p.newWorkspace(t, "overload")
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var sb strings.Builder
	for i := 0; ; i++ {
		line := fmt.Sprintf(`{"event_code":"MOE_EMAIL_SENT","event_uuid":"%s-%07d","event_time":%d,"uid":"user-%d","email_id":"user-%d@example.com","event_attributes":{"campaign_id":"%s","campaign_channel":"EMAIL","locale_name":"en","variation_id":"%d"}}`+"\n",
			gzipPlaceholder, i, day.Unix()+int64(i%86400), i%20000, i%20000, campaign, i%3)
		if sb.Len()+len(line) > maxBody {
			break
		}
		sb.WriteString(line)
	}
	tpl, err := newGzipTemplate([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	sb = strings.Builder{}
	perRequest := len(tpl.marks)
	t.Logf("each request: %d events, %d bytes decompressed, %d bytes compressed", perRequest, len(tpl.plain), tpl.compressedLen())

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: requests}, Timeout: 5 * time.Minute}
	post := func(id string) overloadOutcome {
		req, err := http.NewRequest(http.MethodPost, p.Base+"/v1/streams/"+ws.WorkspaceID, tpl.body(id))
		if err != nil {
			return overloadOutcome{err: err}
		}
		req.ContentLength = tpl.compressedLen()
		req.SetBasicAuth(ws.WorkspaceID, ws.DataKey)
		req.Header.Set("Content-Type", client.ContentTypeNDJSON)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := hc.Do(req)
		if err != nil {
			return overloadOutcome{err: err}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return overloadOutcome{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
			requestID: resp.Header.Get("X-Request-Id"), body: body, err: err}
	}

	outcomes := make([]overloadOutcome, requests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for r := range requests {
		wg.Go(func() {
			<-start
			outcomes[r] = post(fmt.Sprintf("%08d", r))
		})
	}
	sampler := startMemorySampler(p, 500*time.Millisecond)
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	peak := sampler.stop()
	hwm := p.Status("VmHWM")

	var ok, busy, cut int
	var accepted int64
	for r, o := range outcomes {
		n, isOK := o.check(t, fmt.Sprintf("request %d", r), perRequest)
		accepted += n
		switch {
		case isOK:
			ok++
		case o.status == http.StatusServiceUnavailable:
			busy++
		case o.cut():
			cut++
		}
	}
	// A request refused before its body was read can lose its 503 on the way: the server closes the connection
	// with body bytes still unread, and the client, still sending, may get a reset before it reads the answer.
	// The server's request log accounts for those: it must show exactly the 200s seen, and a 503 for every other
	// request.
	logged := streamsStatuses(t, p, requests)
	if logged[http.StatusOK] != ok || logged[http.StatusServiceUnavailable] != busy+cut || len(logged) > 2 {
		t.Errorf("the server logged statuses %v; the client saw %d 200s, %d 503s and %d connections cut while sending", logged, ok, busy, cut)
	}
	t.Logf("%d concurrent requests in %v: %d answered 200 (%d events), %d answered 503 (and %d more logged as 503 by the server, their connection cut while the client was still sending); server peak RSS %d MiB; largest sample: %s",
		requests, took.Round(time.Millisecond), ok, accepted, busy, cut, hwm>>10, peak)
	if hwm == 0 {
		t.Fatal("cannot read the server's VmHWM")
	}
	if hwm > peakRSS {
		t.Errorf("server peak RSS %d MiB; want at most %d MiB (largest sample: %s)", hwm>>10, peakRSS>>10, peak)
	}
	// Once the burst is answered, the admission limits are free again.
	after := post("after000")
	if n, isOK := after.check(t, "request after the burst", perRequest); !isOK {
		t.Errorf("request after the burst: HTTP %d; want 200", after.status)
	} else {
		accepted += n
	}

	// The store holds exactly the events of the 200s: MOE_EMAIL_SENT feeds the campaign's `sent` (TOTAL).
	got := waitForCount(t, func() (int64, error) { return sentTotal(ctx, c, ws, campaign, day) }, accepted)
	if got != accepted {
		t.Errorf("stored sent = %d; the 200s accepted %d events", got, accepted)
	}
	if errs := p.ErrorLogs(); len(errs) > 0 {
		t.Errorf("server logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// overloadOutcome is the answer to one request of TestOverloadBoundsMemory.
type overloadOutcome struct {
	status     int
	retryAfter string
	requestID  string
	body       []byte
	err        error
}

// cut reports whether the connection broke while the request was being sent (the server had answered and closed).
func (o overloadOutcome) cut() bool {
	return o.status == 0 && (errors.Is(o.err, syscall.EPIPE) || errors.Is(o.err, syscall.ECONNRESET))
}

// check reports a response that is neither a 200 accepting every event nor the 503 of SPEC §12.13, and returns
// the events accepted and whether it was a 200. A connection cut while sending is left to the caller.
func (o overloadOutcome) check(t *testing.T, what string, events int) (int64, bool) {
	t.Helper()
	switch {
	case o.cut():
	case o.err != nil:
		t.Errorf("%s: %v", what, o.err)
	case o.status == http.StatusOK:
		var res client.StreamsResult
		if err := json.Unmarshal(o.body, &res); err != nil {
			t.Errorf("%s: 200 body %q: %v", what, o.body, err)
			return 0, true
		}
		if res.Accepted != events || res.Duplicates != 0 || res.Rejected != 0 {
			t.Errorf("%s: 200 with accepted %d, duplicates %d, rejected %d; want %d accepted", what, res.Accepted, res.Duplicates, res.Rejected, events)
		}
		return int64(res.Accepted), true
	case o.status == http.StatusServiceUnavailable:
		if o.retryAfter == "" {
			t.Errorf("%s: 503 without Retry-After", what)
		}
		var got map[string]any
		if err := json.Unmarshal(o.body, &got); err != nil {
			t.Errorf("%s: 503 body %q: %v", what, o.body, err)
			break
		}
		want := map[string]any{"status": "fail", "error": map[string]any{"type": "ServiceUnavailable", "attribute": "server",
			"message": "server is busy; retry later", "request_id": o.requestID}}
		if o.requestID == "" || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: 503 body %s (X-Request-Id %q); want %v", what, o.body, o.requestID, want)
		}
	default:
		t.Errorf("%s: HTTP %d %s", what, o.status, o.body)
	}
	return 0, false
}

// streamsStatuses waits until the server has logged n Streams requests and counts them by status.
func streamsStatuses(t *testing.T, p *serverProcess, n int) map[int]int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		counts, total := map[int]int{}, 0
		for _, l := range p.Logs() {
			var line struct {
				Msg    string `json:"msg"`
				Route  string `json:"route"`
				Status int    `json:"status"`
			}
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request" && line.Route == "/v1/streams/{workspace_id}" {
				counts[line.Status]++
				total++
			}
		}
		if total >= n || time.Now().After(deadline) {
			if total != n {
				t.Errorf("the server logged %d Streams requests; want %d", total, n)
			}
			return counts
		}
	}
}

// memorySampler samples a server process's memory and keeps the sample with the largest RSS.
type memorySampler struct {
	done chan struct{}
	peak chan memorySample
}

func startMemorySampler(p *serverProcess, every time.Duration) *memorySampler {
	s := &memorySampler{done: make(chan struct{}), peak: make(chan memorySample)}
	go func() {
		var peak memorySample
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-tick.C:
			}
			if p.Status("VmRSS")>>10 <= peak.rss {
				continue
			}
			if m := sampleMemory(p); m.goSys > 0 || peak.goSys == 0 {
				peak = m // a busy server may not answer /metrics in time; a full sample is preferred
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the sample with the largest RSS.
func (s *memorySampler) stop() memorySample {
	close(s.done)
	return <-s.peak
}
