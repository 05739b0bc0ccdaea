package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testWS      = "65f0a1b2c3d4e5f6a7b8c9d0"
	testDataKey = "0123456789abcdef0123456789abcdef01234567"
	testRepKey  = "fedcba9876543210fedcba9876543210fedcba98"
	testToken   = "admin-token-0123456789"
)

// recorded is what the test server saw of one request.
type recorded struct {
	Method string
	Path   string // escaped path as sent
	Query  string
	Header http.Header
	Body   []byte
}

// newServer starts an httptest server that records each request and answers with respond.
func newServer(t *testing.T, respond func(w http.ResponseWriter, r *recorded)) (*Client, *[]recorded) {
	t.Helper()
	var reqs []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		reqs = append(reqs, rec)
		respond(w, &rec)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", WithUserAgent("test-agent/1")), &reqs
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "reqid0123456789A")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func wantBasic(t *testing.T, h http.Header, user, pass string) {
	t.Helper()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	if got := h.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}

func wantHeader(t *testing.T, h http.Header, name, want string) {
	t.Helper()
	if got := h.Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func wantReq(t *testing.T, r recorded, method, path string) {
	t.Helper()
	if r.Method != method || r.Path != path {
		t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, method, path)
	}
}

func wantJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body = %s, want %s", gb, wb)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

func TestIngestStreamsGzipNDJSON(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		writeJSON(w, 200, `{"status":"success","accepted":1,"duplicates":0,"rejected":1,"errors":[{"index":2,"event_uuid":"","message":"line is not valid JSON"}]}`)
	})
	body := []byte("{\"event_uuid\":\"a\"}\n\nnot json\n")
	res, err := c.IngestStreams(context.Background(), testWS, testDataKey, "application/x-ndjson", body, true)
	if err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	wantReq(t, r, "POST", "/v1/streams/"+testWS)
	wantBasic(t, r.Header, testWS, testDataKey)
	wantHeader(t, r.Header, "Content-Type", "application/x-ndjson")
	wantHeader(t, r.Header, "Content-Encoding", "gzip")
	wantHeader(t, r.Header, "User-Agent", "test-agent/1")
	if got := gunzip(t, r.Body); !bytes.Equal(got, body) {
		t.Errorf("decompressed body = %q, want %q", got, body)
	}
	want := StreamsResult{Status: "success", Accepted: 1, Rejected: 1, Errors: []StreamsError{{Index: 2, Message: "line is not valid JSON"}}}
	if res.Status != want.Status || res.Accepted != 1 || res.Rejected != 1 || len(res.Errors) != 1 || res.Errors[0] != want.Errors[0] {
		t.Errorf("result = %+v, want %+v", res, want)
	}
}

func TestIngestStreamsUncompressedDefaultContentType(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		writeJSON(w, 200, `{"status":"success","accepted":0,"duplicates":0,"rejected":0,"errors":[]}`)
	})
	if _, err := c.IngestStreams(context.Background(), testWS, testDataKey, "", []byte(`{"events":[]}`), false); err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantHeader(t, r.Header, "Content-Encoding", "")
	if string(r.Body) != `{"events":[]}` {
		t.Errorf("body = %q", r.Body)
	}
}

func TestIngestEventsEnvelope(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		writeJSON(w, 200, `{"status":"success","accepted":2,"duplicates":0,"rejected":0,"errors":[]}`)
	})
	ctx := context.Background()
	events := []any{
		map[string]any{"event_uuid": "u1", "event_code": "MOE_EMAIL_SENT", "event_time": 1740819600},
		json.RawMessage(`{"event_uuid":"u2","event_name":"Purchase","event_time":"2025-03-01T10:00:00Z","uid":"x"}`),
	}
	res, err := c.IngestEvents(ctx, testWS, testDataKey, events)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 {
		t.Errorf("accepted = %d", res.Accepted)
	}
	if _, err := c.IngestEvents(ctx, testWS, testDataKey, nil); err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	wantReq(t, r, "POST", "/v1/streams/"+testWS)
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantJSONEqual(t, r.Body, `{"events":[{"event_code":"MOE_EMAIL_SENT","event_time":1740819600,"event_uuid":"u1"},
		{"event_uuid":"u2","event_name":"Purchase","event_time":"2025-03-01T10:00:00Z","uid":"x"}]}`)
	if got := string((*reqs)[1].Body); got != `{"events":[]}` {
		t.Errorf("nil events body = %s", got)
	}
}

func TestAPIErrorIngestEnvelope(t *testing.T) {
	const body = `{"status":"fail","error":{"attribute":"SECRET_KEY","message":"Data API key mismatch for this workspace","type":"Authentication required","request_id":"abcDEF0123456789"}}`
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, body)
	})
	_, err := c.IngestStreams(context.Background(), testWS, "wrong", "application/json", []byte(`{"events":[]}`), false)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if apiErr.Status != 401 || string(apiErr.Body) != body {
		t.Errorf("APIError = %d %s", apiErr.Status, apiErr.Body)
	}
	if apiErr.RequestID != "abcDEF0123456789" {
		t.Errorf("RequestID from body = %q", apiErr.RequestID)
	}
	d := apiErr.IngestError()
	if d == nil || d.Attribute != "SECRET_KEY" || d.Type != "Authentication required" {
		t.Errorf("IngestError = %+v", d)
	}
	if apiErr.Message() != "Data API key mismatch for this workspace" {
		t.Errorf("Message = %q", apiErr.Message())
	}
	if apiErr.Code() != "" || apiErr.StatsError() != nil {
		t.Errorf("ingest envelope decoded as stats error")
	}
	if !strings.Contains(apiErr.Error(), "HTTP 401") || !strings.Contains(apiErr.Error(), "SECRET_KEY") {
		t.Errorf("Error() = %q", apiErr.Error())
	}
}

func TestAPIErrorStatsShapeAndRetryAfter(t *testing.T) {
	const body = `{"title":"Too Many Requests","description":"Rate limit of 100 requests per minute exceeded for this workspace. Retry after 12 seconds.","code":"rate_limited"}`
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) {
		w.Header().Set("Retry-After", "12")
		writeJSON(w, 429, body)
	})
	_, err := c.CampaignStats(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if apiErr.Code() != "rate_limited" || apiErr.RequestID != "reqid0123456789A" || apiErr.RetryAfter() != 12*time.Second {
		t.Errorf("code=%q reqid=%q retry=%v", apiErr.Code(), apiErr.RequestID, apiErr.RetryAfter())
	}
	if !strings.HasPrefix(apiErr.Message(), "Rate limit of 100") {
		t.Errorf("Message = %q", apiErr.Message())
	}
	if apiErr.Header.Get("Retry-After") != "12" {
		t.Errorf("Header not kept")
	}
}

func TestTrackEventAndBulkImport(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		writeJSON(w, 200, `{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"kXwpDESb0c1d2e3f"}`)
	})
	ctx := context.Background()
	track := []byte(`{"type":"event","customer_id":"u1","actions":[{"action":"Purchase"}]}`)
	res, err := c.TrackEvent(ctx, testWS, testDataKey, track, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "success" || res.RequestID != "kXwpDESb0c1d2e3f" || !strings.HasPrefix(res.Message, "Your request") {
		t.Errorf("TrackResult = %+v", res)
	}
	bulk := []byte(`{"type":"transition","elements":[]}`)
	if _, err := c.BulkImport(ctx, testWS, testDataKey, bulk, ""); err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	wantReq(t, r, "POST", "/v1/event/"+testWS)
	wantBasic(t, r.Header, testWS, testDataKey)
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantHeader(t, r.Header, "Idempotency-Key", "key-1")
	if !bytes.Equal(r.Body, track) {
		t.Errorf("track body = %s", r.Body)
	}
	r = (*reqs)[1]
	wantReq(t, r, "POST", "/v1/transition/"+testWS)
	if _, ok := r.Header["Idempotency-Key"]; ok {
		t.Errorf("Idempotency-Key sent for empty key")
	}
	if !bytes.Equal(r.Body, bulk) {
		t.Errorf("bulk body = %s", r.Body)
	}
}

func TestCatalogAndFunnel(t *testing.T) {
	const cid = "camp:1.a_b-c"
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		switch {
		case r.Method == "PUT" && len(r.Body) > 0 && strings.Contains(string(r.Body), "Spring"):
			writeJSON(w, 201, `{"campaign_id":"camp:1.a_b-c","campaign_name":"Spring"}`)
		case r.Method == "PUT":
			writeJSON(w, 200, `{"campaign_id":"camp:1.a_b-c"}`)
		case r.Method == "GET" && strings.HasSuffix(r.Path, "/unknown"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"status":"fail","error":{"attribute":"campaign_id","message":"campaign_id is not known in this workspace","type":"NotFound","request_id":"r1"}}`)
		case r.Method == "GET":
			writeJSON(w, 200, `{"campaign_id":"camp:1.a_b-c","children":0}`)
		default:
			writeJSON(w, 200, `{"status":"success","accepted":2,"request_id":"r2"}`)
		}
	})
	ctx := context.Background()
	status, camp, err := c.PutCampaign(ctx, testWS, testDataKey, cid, map[string]any{"campaign_name": "Spring", "channel": "PUSH"})
	if err != nil || status != 201 || string(camp) != `{"campaign_id":"camp:1.a_b-c","campaign_name":"Spring"}` {
		t.Fatalf("PutCampaign = %d %s %v", status, camp, err)
	}
	status, _, err = c.PutCampaign(ctx, testWS, testDataKey, cid, json.RawMessage(`{"channel":"EMAIL"}`))
	if err != nil || status != 200 {
		t.Fatalf("PutCampaign raw = %d %v", status, err)
	}
	got, err := c.GetCampaign(ctx, testWS, testDataKey, cid)
	if err != nil || string(got) != `{"campaign_id":"camp:1.a_b-c","children":0}` {
		t.Fatalf("GetCampaign = %s %v", got, err)
	}
	_, err = c.GetCampaign(ctx, testWS, testDataKey, "unknown")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.IngestError().Type != "NotFound" {
		t.Fatalf("GetCampaign unknown err = %v", err)
	}
	n, err := c.PostFunnel(ctx, testWS, testDataKey, cid, []FunnelEntry{
		{Date: "2025-03-01", Platform: "android", Stages: map[string]int64{"after_fc": 140}},
		{Date: "2025-03-02", Stages: map[string]int64{"after_fc": 1}},
	})
	if err != nil || n != 2 {
		t.Fatalf("PostFunnel = %d %v", n, err)
	}

	r := (*reqs)[0]
	wantReq(t, r, "PUT", "/v1/campaigns/"+testWS+"/"+cid)
	wantBasic(t, r.Header, testWS, testDataKey)
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantJSONEqual(t, r.Body, `{"campaign_name":"Spring","channel":"PUSH"}`)
	if string((*reqs)[1].Body) != `{"channel":"EMAIL"}` {
		t.Errorf("raw PUT body = %s", (*reqs)[1].Body)
	}
	wantReq(t, (*reqs)[2], "GET", "/v1/campaigns/"+testWS+"/"+cid)
	wantBasic(t, (*reqs)[2].Header, testWS, testDataKey)
	if len((*reqs)[2].Body) != 0 {
		t.Errorf("GET has a body")
	}
	r = (*reqs)[4]
	wantReq(t, r, "POST", "/v1/campaigns/"+testWS+"/"+cid+"/funnel")
	wantJSONEqual(t, r.Body, `[{"date":"2025-03-01","platform":"android","stages":{"after_fc":140}},{"date":"2025-03-02","stages":{"after_fc":1}}]`)
}

func TestDoRawRequest(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		w.Header().Set("X-Request-Id", "abc")
		w.WriteHeader(415)
		_, _ = io.WriteString(w, "raw body")
	})
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("User-Agent", "custom")
	ctx := ContextWithRequestID(context.Background(), "my-req-1")
	resp, body, err := c.Do(ctx, "POST", "/v1/streams/x?y=1", h, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 415 || string(body) != "raw body" || resp.Header.Get("X-Request-Id") != "abc" {
		t.Errorf("Do = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	r := (*reqs)[0]
	wantReq(t, r, "POST", "/v1/streams/x")
	if r.Query != "y=1" || string(r.Body) != "hello" {
		t.Errorf("query/body = %q %q", r.Query, r.Body)
	}
	wantHeader(t, r.Header, "Content-Type", "text/plain")
	wantHeader(t, r.Header, "User-Agent", "custom")
	wantHeader(t, r.Header, "X-Request-Id", "my-req-1")

	// nil body: no body at all.
	if _, _, err := c.Do(context.Background(), "GET", "/healthz", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len((*reqs)[1].Body) != 0 || (*reqs)[1].Header.Get("User-Agent") != "test-agent/1" {
		t.Errorf("GET: body %q UA %q", (*reqs)[1].Body, (*reqs)[1].Header.Get("User-Agent"))
	}
}

func TestDecodeErrorOn2xxGarbage(t *testing.T) {
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) { writeJSON(w, 200, "not json") })
	_, err := c.TrackEvent(context.Background(), testWS, testDataKey, []byte(`{}`), "")
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want decode error", err)
	}
}

func TestContextCancel(t *testing.T) {
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) { writeJSON(w, 200, `{}`) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetCampaign(ctx, testWS, testDataKey, "c1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWithHTTPClientIsUsed(t *testing.T) {
	var used bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"accepted":1}`) }))
	defer srv.Close()
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := New(srv.URL, WithHTTPClient(hc), WithHTTPClient(nil), WithUserAgent(""))
	if c.BaseURL() != srv.URL {
		t.Errorf("BaseURL = %q", c.BaseURL())
	}
	if n, err := c.PostFunnel(context.Background(), testWS, testDataKey, "c", FunnelEntry{Date: "2025-03-01", Stages: map[string]int64{"a": 1}}); err != nil || n != 1 {
		t.Fatalf("PostFunnel = %d %v", n, err)
	}
	if !used {
		t.Error("custom http.Client not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
