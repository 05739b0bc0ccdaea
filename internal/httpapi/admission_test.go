package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/workspace"
	"github.com/prometheus/client_golang/prometheus"
)

// gatedBody yields data up to gateAt bytes, then closes reached and blocks until release is closed.
type gatedBody struct {
	data    []byte
	off     int
	gateAt  int
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedBody(data []byte, gateAt int) *gatedBody {
	return &gatedBody{data: data, gateAt: gateAt, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if g.off >= g.gateAt {
		g.once.Do(func() { close(g.reached) })
		<-g.release
	}
	if g.off >= len(g.data) {
		return 0, io.EOF
	}
	end := len(g.data)
	if g.off < g.gateAt {
		end = g.gateAt
	}
	n := copy(p, g.data[g.off:end])
	g.off += n
	return n, nil
}

// serveGated starts a request whose body stops at gateAt bytes until the returned release func is called, and
// waits until the handler has read that far; the response arrives on the channel.
func (e *testEnv) serveGated(t *testing.T, path string, hdr map[string]string, body []byte, gateAt int) (func(), <-chan response) {
	t.Helper()
	g := newGatedBody(body, gateAt)
	req := httptest.NewRequest("POST", path, g)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	done := make(chan response, 1)
	go func() {
		rec := httptest.NewRecorder()
		e.api.Handler().ServeHTTP(rec, req)
		done <- response{rec.Code, rec.Header(), rec.Body.Bytes()}
	}()
	select {
	case <-g.reached:
	case r := <-done:
		t.Fatalf("gated request finished early: %d %s", r.status, r.body)
	}
	return func() { close(g.release) }, done
}

// streamsBody is a Streams batch of n SMS_SENT events of campaign, with ids prefixed by tag and each event padded
// to about pad bytes.
func streamsBody(campaign, tag string, n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event_code":"SMS_SENT","event_uuid":"%s-%d","event_time":"2025-03-10T08:00:00Z","uid":"u-%d","event_attributes":{"campaign_id":%q,"pad":%q}}`,
			tag, i, i, campaign, strings.Repeat("p", pad))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// sentCount returns the campaign's TOTAL sent count on 2025-03-10 from the Stats API.
func (e *testEnv) sentCount(t *testing.T, campaign string) int {
	t.Helper()
	ws := e.active
	q := fmt.Sprintf(`{"request_id":"c","campaign_ids":[%q],"start_date":"2025-03-10","end_date":"2025-03-10","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`, campaign)
	r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws), []byte(q))
	if r.status != 200 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var n int
	if i := strings.Index(string(r.body), `"sent":`); i >= 0 {
		fmt.Sscanf(string(r.body[i+len(`"sent":`):]), "%d", &n)
	}
	return n
}

func assertBusy(t *testing.T, r response) {
	t.Helper()
	assertJSON(t, r, 503, ingestErr("ServiceUnavailable", "server", "server is busy; retry later"))
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
}

// TestAdmissionRefusesOverTheRequestLimit: with every ingest slot taken, the next ingest request answers 503 with
// Retry-After and stores nothing (SPEC §12.13); once the slot is free the same request is accepted. Reads are not
// ingest and are not refused.
func TestAdmissionRefusesOverTheRequestLimit(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.MaxIngestRequests = 1 })
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	held := streamsBody("held", "h", 3, 10)
	release, heldDone := e.serveGated(t, "/v1/streams/"+ws.ID, hdr, held, len(held)/2)

	second := streamsBody("second", "s", 2, 10)
	assertBusy(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, second))
	assertBusy(t, e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event","customer_id":"c1","actions":[{"action":"Purchase","current_time":1741593600}]}`)))
	if n := e.sentCount(t, "second"); n != 0 {
		t.Fatalf("a refused request stored %d events", n)
	}

	release()
	if r := <-heldDone; r.status != 200 {
		t.Fatalf("held request: %d %s", r.status, r.body)
	}
	if r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, second); r.status != 200 {
		t.Fatalf("after the slot was freed: %d %s", r.status, r.body)
	}
	if a, b := e.sentCount(t, "held"), e.sentCount(t, "second"); a != 3 || b != 2 {
		t.Fatalf("sent counts held=%d second=%d, want 3 and 2", a, b)
	}
	m := e.do(t, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(m.body), "campaignstats_ingest_busy_total 2\n") {
		t.Fatalf("busy counter: %s", grepLines(string(m.body), "ingest_busy"))
	}
}

// TestAdmissionRefusesOverTheByteLimit: the decompressed bytes held by requests in flight are bounded; a request
// that would pass the bound answers 503 and stores nothing, and a refused Track request with an Idempotency-Key
// is not remembered, so its retry is processed.
func TestAdmissionRefusesOverTheByteLimit(t *testing.T) {
	const budget = 64 << 10
	e := newTestEnv(t, func(c *config.Config) {
		c.MaxStreamBody, c.MaxTrackBody, c.MaxIngestInflight = budget, budget, budget
	})
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	held := streamsBody("held", "h", 40, 1300) // about 58 KiB: within the body limit
	if len(held) > budget || len(held) < budget-8<<10 {
		t.Fatalf("held body is %d bytes", len(held))
	}
	release, heldDone := e.serveGated(t, "/v1/streams/"+ws.ID, hdr, held, len(held)-100)

	// About 12 KiB once decompressed — over what is left — and far less compressed: the bytes counted are the
	// decompressed ones.
	second := streamsBody("second", "s", 8, 1300)
	gzHdr := map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "application/json", "Content-Encoding": "gzip"}
	assertBusy(t, e.do(t, "POST", "/v1/streams/"+ws.ID, gzHdr, gz(second)))
	track := map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "application/json", "Idempotency-Key": "order-1"}
	purchase := []byte(`{"type":"event","customer_id":"c1","actions":[{"action":"Purchase","attributes":{"note":"` + strings.Repeat("n", 10<<10) + `"},"current_time":1741593600}]}`)
	assertBusy(t, e.do(t, "POST", "/v1/event/"+ws.ID, track, purchase))
	// A small request still fits.
	if r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, streamsBody("small", "m", 1, 10)); r.status != 200 {
		t.Fatalf("small request beside the held one: %d %s", r.status, r.body)
	}

	release()
	if r := <-heldDone; r.status != 200 {
		t.Fatalf("held request: %d %s", r.status, r.body)
	}
	if r := e.do(t, "POST", "/v1/streams/"+ws.ID, gzHdr, gz(second)); r.status != 200 {
		t.Fatalf("after the bytes were returned: %d %s", r.status, r.body)
	}
	assertJSON(t, e.do(t, "POST", "/v1/event/"+ws.ID, track, purchase), 200,
		`{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"$RID"}`)
	if a, b := e.sentCount(t, "held"), e.sentCount(t, "second"); a != 40 || b != 8 {
		t.Fatalf("sent counts held=%d second=%d, want 40 and 8", a, b)
	}
	m := e.do(t, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(m.body), `campaignstats_ingest_events_total{endpoint="track",result="accepted"} 1`+"\n") {
		t.Fatalf("track events accepted: %s", grepLines(string(m.body), "ingest_events_total"))
	}
}

// TestCampaignLimit: a workspace's catalog holds at most --max-campaigns campaigns. Events of a new campaign past
// the limit are rejected one by one (and quarantined), an explicit PUT of a new campaign is a 400; known campaigns
// keep working, parents count, and other workspaces are not affected.
func TestCampaignLimit(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.MaxCampaigns = 3 })
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	event := func(uuid, campaign, parent string) string {
		p := ""
		if parent != "" {
			p = fmt.Sprintf(`,"parent_campaign_id":%q`, parent)
		}
		return fmt.Sprintf(`{"event_code":"SMS_SENT","event_uuid":%q,"event_time":"2025-03-10T08:00:00Z","uid":"u1","event_attributes":{"campaign_id":%q%s}}`, uuid, campaign, p)
	}
	body := `{"events":[` + strings.Join([]string{event("e1", "a", ""), event("e2", "b", "p"), event("e3", "c", ""), event("e4", "a", ""), event("e5", "p", "")}, ",") + `]}`
	const msg = "the workspace already has the maximum of 3 campaigns"
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(body)), 200,
		`{"status":"success","accepted":4,"duplicates":0,"rejected":1,"errors":[{"index":2,"event_uuid":"e3","message":"`+msg+`"}]}`)
	put := func(id string) response {
		return e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/"+id, hdr, []byte(`{"campaign_name":"N"}`))
	}
	assertJSON(t, put("d"), 400, ingestErr("InvalidParams", "campaign_id", msg))
	if r := put("a"); r.status != 200 {
		t.Fatalf("PUT of a known campaign: %d %s", r.status, r.body)
	}
	q := e.do(t, "GET", "/admin/v1/workspaces/"+ws.ID+"/quarantine?reason="+url.QueryEscape(msg), map[string]string{"Authorization": "Bearer " + adminToken}, nil)
	if q.status != 200 || !strings.Contains(string(q.body), `"event_uuid":"e3"`) {
		t.Fatalf("quarantine: %d %s", q.status, q.body)
	}
	if n := e.sentCount(t, "a"); n != 2 {
		t.Fatalf("campaign a sent = %d, want 2", n)
	}
	// The limit is per workspace: a second workspace starts empty.
	other, err := e.api.Workspaces.Create(context.Background(), workspace.CreateRequest{Name: "other", WorkspaceID: "eeeeeeeeeeeeeeeeeeeeeeee"})
	if err != nil {
		t.Fatal(err)
	}
	hdr2 := map[string]string{"Authorization": basic(other.ID, other.DataKey), "Content-Type": "application/json"}
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+other.ID, hdr2, []byte(`{"events":[`+event("e3", "c", "")+`]}`)), 200,
		`{"status":"success","accepted":1,"duplicates":0,"rejected":0,"errors":[]}`)
}

// TestAbandonedRequestIsNotAServerFault: a request whose client went away fails with context.Canceled; that is
// logged at INFO and not counted as a store error, while a real failure is logged at ERROR and counted.
func TestAbandonedRequestIsNotAServerFault(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	s := New(Deps{Config: config.Default(), Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: reg})
	storeErrors := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "campaignstats_store_errors_total" {
				n := 0
				for _, m := range mf.GetMetric() {
					n += int(m.GetCounter().GetValue())
				}
				return n
			}
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("POST", "/core-services/v1/campaign-stats", nil).WithContext(ctx)
	s.logError(r, fmt.Errorf("stats: node query: %w", context.Canceled))
	if strings.Contains(logs.String(), `"level":"ERROR"`) || storeErrors() != 0 {
		t.Fatalf("an abandoned request was logged as a fault: %s", logs.String())
	}
	s.logError(httptest.NewRequest("POST", "/core-services/v1/campaign-stats", nil), errors.New("stats: disk full"))
	if !strings.Contains(logs.String(), `"level":"ERROR"`) || storeErrors() != 1 {
		t.Fatalf("a store failure was not logged at ERROR and counted: %s", logs.String())
	}
}
