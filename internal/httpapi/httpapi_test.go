package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/api"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/embedded"
	"github.com/campaignstats/campaignstats/internal/ratelimit"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

const adminToken = "test-admin-token-0123456789"

// testEnv is a real server (real store, real HTTP) with an active and a disabled workspace.
type testEnv struct {
	sys      *embedded.System
	srv      *httptest.Server
	api      *Server
	active   domain.Workspace
	disabled domain.Workspace
	mu       sync.Mutex
	now      time.Time
}

func (e *testEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func newTestEnv(t *testing.T, mutate ...func(*config.Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	e := &testEnv{now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	cfg := config.Default()
	cfg.AdminToken = adminToken
	for _, m := range mutate {
		m(&cfg)
	}
	sys, err := embedded.Open(ctx, embedded.Options{DataDir: t.TempDir(), DuckDB: duckdb.Options{MemoryLimit: "1GB", Threads: 2}, Now: e.clock,
		FreshnessWait: 30 * time.Second, MaxCampaigns: cfg.MaxCampaigns})
	if err != nil {
		t.Fatal(err)
	}
	st := sys.Store
	e.sys = sys
	svc := workspace.New(st, e.clock, cfg.DefaultRateLimit)
	api := New(Deps{Config: cfg, Store: st, Intake: sys.Intake, Fresh: sys.FreshCatalog, Engine: sys.Engine, Workspaces: svc, Limiter: InProcess(ratelimit.New(e.clock)),
		Logger: slog.New(slog.DiscardHandler), Now: e.clock, Registry: prometheus.NewRegistry(), OpenAPI: api.Spec()})
	e.api = api
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(func() { e.srv.Close(); sys.Close() })
	if e.active, err = svc.Create(ctx, workspace.CreateRequest{Name: "active", WorkspaceID: "aaaaaaaaaaaaaaaaaaaaaaaa"}); err != nil {
		t.Fatal(err)
	}
	if e.disabled, err = svc.Create(ctx, workspace.CreateRequest{Name: "disabled", WorkspaceID: "dddddddddddddddddddddddd"}); err != nil {
		t.Fatal(err)
	}
	if _, err = svc.SetActive(ctx, e.disabled.ID, false); err != nil {
		t.Fatal(err)
	}
	return e
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(t *testing.T, method, path string, header map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

// assertJSON compares a response body with want, where "$RID" in want stands for the response's X-Request-Id.
func assertJSON(t *testing.T, r response, wantStatus int, want string) {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", r.status, wantStatus, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	want = strings.ReplaceAll(want, "$RID", r.header.Get("X-Request-Id"))
	var got, exp any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body is not JSON: %s", r.body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Fatalf("body (-want +got):\n%s", diff)
	}
}

func ingestErr(typ, attr, msg string) string {
	b, _ := json.Marshal(map[string]any{"status": "fail", "error": map[string]string{"type": typ, "attribute": attr, "message": msg, "request_id": "$RID"}})
	return string(b)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestIngestErrorTable covers every Streams, catalog and funnel row of SPEC §3.11, authentication rows in order.
func TestIngestErrorTable(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.MaxStreamBody = 2048 })
	ws, dis := e.active, e.disabled
	good := basic(ws.ID, ws.DataKey)
	jsonCT := map[string]string{"Authorization": good, "Content-Type": "application/json"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	streams := "/v1/streams/" + ws.ID
	events := []byte(`{"events":[]}`)
	big := []byte(`{"events":[` + strings.Repeat(`{"x":1},`, 400) + `{"x":1}]}`)
	cases := []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   []byte
		status int
		want   string
	}{
		{"no auth header", "POST", streams, with(jsonCT, "Authorization", ""), events, 401, ingestErr("Authentication required", "Authorization", "Authentication Header Required")},
		{"not basic", "POST", streams, with(jsonCT, "Authorization", "Bearer abc"), events, 401, ingestErr("Authentication required", "Authorization", "No identity information found")},
		{"bad base64", "POST", streams, with(jsonCT, "Authorization", "Basic %%%"), events, 401, ingestErr("Authentication required", "Authorization", "No identity information found")},
		{"no colon", "POST", streams, with(jsonCT, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("abc"))), events, 401, ingestErr("Authentication required", "Authorization", "No identity information found")},
		{"unknown workspace", "POST", streams, with(jsonCT, "Authorization", basic("ffffffffffffffffffffffff", "x")), events, 401, ingestErr("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")},
		{"path mismatch", "POST", "/v1/streams/" + dis.ID, jsonCT, events, 409, ingestErr("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
		{"wrong key", "POST", streams, with(jsonCT, "Authorization", basic(ws.ID, "nope")), events, 401, ingestErr("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		{"report key is not a data key", "POST", streams, with(jsonCT, "Authorization", basic(ws.ID, ws.ReportKey)), events, 401, ingestErr("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		{"disabled", "POST", "/v1/streams/" + dis.ID, with(jsonCT, "Authorization", basic(dis.ID, dis.DataKey)), events, 403, ingestErr("Account Suspended", "APP_ID", "Workspace is disabled")},
		{"no content type", "POST", streams, with(jsonCT, "Content-Type", ""), events, 415, ingestErr("MediaTypeError", "Content-Type", "Content type is not supported")},
		{"text content type", "POST", streams, with(jsonCT, "Content-Type", "text/plain"), events, 415, ingestErr("MediaTypeError", "Content-Type", "Content type is not supported")},
		{"brotli", "POST", streams, with(jsonCT, "Content-Encoding", "br"), events, 415, ingestErr("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
		{"too large", "POST", streams, jsonCT, big, 413, ingestErr("PayloadTooLarge", "body", "Payload size exceeds 2 KB")},
		{"too large gzip", "POST", streams, with(jsonCT, "Content-Encoding", "gzip"), gz(big), 413, ingestErr("PayloadTooLarge", "body", "Payload size exceeds 2 KB")},
		{"empty", "POST", streams, jsonCT, nil, 400, ingestErr("Empty request body", "body", "Request body is empty")},
		{"whitespace", "POST", streams, jsonCT, []byte(" \n\t "), 400, ingestErr("Empty request body", "body", "Request body is empty")},
		{"corrupt gzip", "POST", streams, with(jsonCT, "Content-Encoding", "gzip"), []byte("not gzip at all"), 400, ingestErr("Malformed JSON", "body", "Could not decompress the gzip request body")},
		{"bad json", "POST", streams, jsonCT, []byte(`{"events":[`), 400, ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")},
		{"not an object", "POST", streams, jsonCT, []byte(`[1,2]`), 400, ingestErr("InvalidParams", "body", "body should be a JSON object")},
		{"events not array", "POST", streams, jsonCT, []byte(`{"events":{}}`), 400, ingestErr("InvalidParams", "events", "events should be an array")},
		{"method", "GET", streams, jsonCT, nil, 405, ingestErr("MethodNotAllowed", "method", "Method not allowed")},
		{"unknown path", "POST", "/v1/nothing/here", jsonCT, events, 404, ingestErr("NotFound", "path", "No such endpoint")},
		{"catalog get unknown", "GET", "/v1/campaigns/" + ws.ID + "/nope", jsonCT, nil, 404, ingestErr("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		{"funnel unknown campaign", "POST", "/v1/campaigns/" + ws.ID + "/nope/funnel", jsonCT, []byte(`{"date":"2025-03-01","stages":{"a":1}}`), 404, ingestErr("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		{"catalog bad channel", "PUT", "/v1/campaigns/" + ws.ID + "/c1", jsonCT, []byte(`{"channel":"FAX"}`), 400, ingestErr("InvalidParams", "channel", "channel must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		{"catalog id mismatch", "PUT", "/v1/campaigns/" + ws.ID + "/c1", jsonCT, []byte(`{"campaign_id":"c2"}`), 400, ingestErr("InvalidParams", "campaign_id", "campaign_id does not match the path")},
		{"catalog window", "PUT", "/v1/campaigns/" + ws.ID + "/c1", jsonCT, []byte(`{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":40,"goals":[]}}`), 400,
			ingestErr("InvalidParams", "conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be between 1 and 36 for PUSH")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertJSON(t, e.do(t, c.method, c.path, c.header, c.body), c.status, c.want)
		})
	}
	// Content-Type parameters are ignored (SPEC §3.2), malformed ones too.
	for _, ct := range []string{"application/json; charset=utf-8", "application/json; charset", "application/json;charset=utf-8;foo", "Application/JSON; x=\"y"} {
		if r := e.do(t, "POST", streams, with(jsonCT, "Content-Type", ct), events); r.status != 200 {
			t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
		}
	}
}

// TestOverLimitBodyWithBudgetOfTheLimit: with --max-ingest-inflight equal to the body limit, a body one byte over
// the limit, plain or gzip, is a 413 (SPEC §3.2, §12.10), not a 503 for the budget the extra byte did not fit in.
func TestOverLimitBodyWithBudgetOfTheLimit(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.MaxStreamBody, c.MaxIngestInflight, c.MaxTrackBody = 64<<10, 64<<10, 8<<10 })
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	body := []byte(`{"events":[]}` + strings.Repeat(" ", 64<<10+1-len(`{"events":[]}`)))
	want := ingestErr("PayloadTooLarge", "body", "Payload size exceeds 64 KB")
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, body), 413, want)
	gzipped := map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "application/json", "Content-Encoding": "gzip"}
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, gzipped, gz(body)), 413, want)
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, body[:64<<10]), 200, `{"status":"success","accepted":0,"duplicates":0,"rejected":0,"errors":[]}`)
}

// TestStreamsResponseAndQuarantine checks the §3.4 body, per-event rejections in input order and their quarantine.
func TestStreamsResponseAndQuarantine(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/x-ndjson"}
	body := strings.Join([]string{
		`{"event_code":"MOE_EMAIL_SENT","event_uuid":"a1","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"c1"}}`,
		``,
		`{"event_code":"MOE_EMAIL_SENT","event_uuid":"a1","event_time":1740819600,"uid":"u2","event_attributes":{"campaign_id":"c1"}}`,
		`not json`,
		`{"event":{"event_code":"MOE_EMAIL_OPEN","event_uuid":"a2","event_time":946684799,"uid":"u1","event_attributes":{"campaign_id":"c1"}}}`,
		`{"event_code":"MOE_EMAIL_OPEN","event_uuid":"a3","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"c1"}}`,
	}, "\r\n")
	r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(body))
	assertJSON(t, r, 200, `{"status":"success","accepted":2,"duplicates":1,"rejected":2,"errors":[
		{"index":3,"event_uuid":"","message":"line is not valid JSON"},
		{"index":4,"event_uuid":"a2","message":"event_time is before 2000-01-01"}]}`)
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	list := e.do(t, "GET", "/admin/v1/workspaces/"+ws.ID+"/quarantine", admin, nil)
	var page struct {
		Items []struct {
			QuarantineID string `json:"quarantine_id"`
			Index        int    `json:"index"`
			Reason       string `json:"reason"`
			RequestID    string `json:"request_id"`
		} `json:"items"`
	}
	json.Unmarshal(list.body, &page)
	if len(page.Items) != 2 || page.Items[0].RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("quarantine list: %s", list.body)
	}
	var rec map[string]any
	for _, it := range page.Items {
		if it.Index == 4 {
			got := e.do(t, "GET", "/admin/v1/workspaces/"+ws.ID+"/quarantine/"+it.QuarantineID, admin, nil)
			json.Unmarshal(got.body, &rec)
		}
	}
	want := `{"event":{"event_code":"MOE_EMAIL_OPEN","event_uuid":"a2","event_time":946684799,"uid":"u1","event_attributes":{"campaign_id":"c1"}}}`
	if rec["payload"] != want || rec["reason"] != "event_time is before 2000-01-01" || rec["endpoint"] != "streams" {
		t.Fatalf("quarantine record: %v", rec)
	}
	// A quarantined event never reserves its uuid: the corrected event is accepted.
	fixed := strings.Replace(want, "946684799", "1740819600", 1)
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(fixed)), 200, `{"status":"success","accepted":1,"duplicates":0,"rejected":0,"errors":[]}`)
}

func statsHeaders(ws domain.Workspace) map[string]string {
	return map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": ws.ID, "Content-Type": "application/json"}
}

func apiErr(status int, title, description, code string) string {
	d := any(description)
	if description == "<null>" {
		d = nil
	}
	b, _ := json.Marshal(map[string]any{"title": title, "description": d, "code": code})
	return string(b)
}

// TestStatsAuthErrors covers SPEC §5.2 rows in order.
func TestStatsAuthErrors(t *testing.T) {
	e := newTestEnv(t)
	ws, dis := e.active, e.disabled
	body := []byte(`{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`)
	const path = "/core-services/v1/campaign-stats"
	cases := []struct {
		name   string
		header map[string]string
		status int
		want   string
	}{
		{"no authorization, no appkey", map[string]string{}, 401, apiErr(401, "Authentication required", "Authentication Header Required", "auth_header_required")},
		{"no appkey", map[string]string{"Authorization": "Bearer x"}, 401, apiErr(401, "Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
		{"empty appkey", map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": "  "}, 401, apiErr(401, "Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
		{"not basic", map[string]string{"Authorization": "Bearer x", "MOE-APPKEY": ws.ID}, 401, apiErr(401, "Authentication required", "No identity information found.", "auth_header_invalid")},
		{"appkey mismatch", map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": dis.ID}, 401, apiErr(401, "Authentication required", "MOE-APPKEY does not match the workspace in Authentication Header", "appkey_mismatch")},
		{"unknown workspace", map[string]string{"Authorization": basic("ffffffffffffffffffffffff", "k"), "MOE-APPKEY": "ffffffffffffffffffffffff"}, 401, apiErr(401, "Authentication required", "Invalid identity information found.", "invalid_credentials")},
		{"data key is not a report key", map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "MOE-APPKEY": ws.ID}, 401, apiErr(401, "Authentication required", "Invalid identity information found.", "invalid_credentials")},
		{"disabled", map[string]string{"Authorization": basic(dis.ID, dis.ReportKey), "MOE-APPKEY": " " + dis.ID + " "}, 403, apiErr(403, "Forbidden Request", "<null>", "workspace_disabled")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", path, c.header, body)
			assertJSON(t, r, c.status, c.want)
			if r.header.Get("RateLimit-Limit") != "" {
				t.Fatalf("rate-limit headers before authentication")
			}
		})
	}
}

// TestStatsValidation covers every row of SPEC §5.3 in table order.
func TestStatsValidation(t *testing.T) {
	e := newTestEnv(t)
	valid := map[string]any{"request_id": "r", "start_date": "2025-03-01", "end_date": "2025-03-31", "attribution_type": "view_through", "metric_type": "unique"}
	body := func(kv ...any) []byte {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	bad := func(code, d string) string { return apiErr(400, "Invalid Field Value", d, code) }
	eleven := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"not json", []byte(`{`), bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{"not object", []byte(`[]`), bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{"request_id absent", body("request_id", "<absent>"), bad("missing_field", "request_id - is required")},
		{"request_id null", body("request_id", nil), bad("missing_field", "request_id - is required")},
		{"request_id number", body("request_id", 5), bad("invalid_type", "request_id - must be a string")},
		{"request_id blank", body("request_id", "  "), bad("invalid_field_value", "request_id - must not be empty")},
		{"request_id long", body("request_id", strings.Repeat("x", 257)), bad("invalid_field_value", "request_id - must be at most 256 characters")},
		{"campaign_ids string", body("campaign_ids", "c1"), bad("invalid_type", "campaign_ids - must be an array of strings")},
		{"campaign_ids element", body("campaign_ids", []any{"c1", 2}), bad("invalid_field_value", "campaign_ids - every element must be a non-empty string")},
		{"campaign_ids empty element", body("campaign_ids", []any{""}), bad("invalid_field_value", "campaign_ids - every element must be a non-empty string")},
		{"campaign_ids eleven", body("campaign_ids", eleven), bad("invalid_field_value", "campaign_ids - must contain at most 10 campaign IDs")},
		{"start absent", body("start_date", "<absent>"), bad("missing_field", "start_date - is required")},
		{"start number", body("start_date", 20250301), bad("invalid_type", "start_date - must be a string")},
		{"start format", body("start_date", "2025-3-1"), bad("invalid_field_value", "start_date - must be a date in YYYY-MM-DD format")},
		{"start calendar", body("start_date", "2025-02-30"), bad("invalid_field_value", "start_date - must be a date in YYYY-MM-DD format")},
		{"end absent", body("end_date", "<absent>"), bad("missing_field", "end_date - is required")},
		{"end number", body("end_date", 1), bad("invalid_type", "end_date - must be a string")},
		{"end format", body("end_date", "2025/03/02"), bad("invalid_field_value", "end_date - must be a date in YYYY-MM-DD format")},
		{"attribution absent", body("attribution_type", "<absent>"), bad("missing_field", "attribution_type - is required")},
		{"attribution type", body("attribution_type", 1), bad("invalid_type", "attribution_type - must be a string")},
		{"attribution value", body("attribution_type", "LAST_CLICK"), bad("invalid_field_value", "attribution_type - must be one of VIEW_THROUGH, CLICK_THROUGH, IN_SESSION, TOTAL_CONVERSIONS, CLICK_CONVERSIONS")},
		{"metric absent", body("metric_type", "<absent>"), bad("missing_field", "metric_type - is required")},
		{"metric type", body("metric_type", true), bad("invalid_type", "metric_type - must be a string")},
		{"metric value", body("metric_type", "SUM"), bad("invalid_field_value", "metric_type - must be one of TOTAL, UNIQUE")},
		{"offset string", body("offset", "10"), bad("invalid_type", "offset - must be an integer")},
		{"offset fraction", body("offset", 1.5), bad("invalid_field_value", "offset - must be an integer greater than or equal to 0")},
		{"offset negative", body("offset", -1), bad("invalid_field_value", "offset - must be an integer greater than or equal to 0")},
		{"limit string", body("limit", "5"), bad("invalid_type", "limit - must be an integer")},
		{"limit zero", body("limit", 0), bad("invalid_field_value", "limit - must be an integer between 1 and 10")},
		{"limit eleven", body("limit", 11), bad("invalid_field_value", "limit - must be an integer between 1 and 10")},
		{"end before start", body("end_date", "2025-02-28"), bad("invalid_field_value", "end_date - must not be before start_date")},
		{"span 31", body("end_date", "2025-04-01"), bad("invalid_field_value", "end_date - must be at most 30 days after start_date")},
		{"order: request_id before dates", body("request_id", "<absent>", "start_date", "x"), bad("missing_field", "request_id - is required")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertJSON(t, e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), c.body), 400, c.want)
		})
	}
	t.Run("accepted edge values", func(t *testing.T) {
		r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active),
			body("offset", 10.0, "limit", 10.0, "campaign_ids", append(eleven[:10:10], "a"), "end_date", "2025-03-31"))
		assertJSON(t, r, 200, `{"response_id":"r","total_campaigns":0,"current_page":2,"total_pages":0,"data":{}}`)
	})
	t.Run("too large", func(t *testing.T) {
		r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), body("pad", strings.Repeat("x", 1<<20)))
		assertJSON(t, r, 413, apiErr(413, "Payload Too Large", "Request body exceeds 1 MiB.", "payload_too_large"))
	})
}

// TestStatsRateLimit checks the rolling window, headers and the 429 body of SPEC §5.4.
func TestStatsRateLimit(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	_ = ctx
	limit := 3
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	r := e.do(t, "PATCH", "/admin/v1/workspaces/"+e.active.ID, adm, []byte(`{"rate_limit_per_minute":3}`))
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	for i := 0; i < limit; i++ {
		// Invalid bodies count too.
		r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), []byte(`{}`))
		if r.status != 400 || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != string(rune('0'+limit-1-i)) {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
		e.advance(10 * time.Second)
	}
	r = e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), []byte(`{}`))
	assertJSON(t, r, 429, apiErr(429, "Too Many Requests", "Rate limit of 3 requests per minute exceeded for this workspace. Retry after 30 seconds.", "rate_limited"))
	if r.header.Get("Retry-After") != "30" || r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Reset") != "30" {
		t.Fatalf("429 headers: %v", r.header)
	}
	e.advance(30 * time.Second)
	if r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), []byte(`{}`)); r.status != 400 {
		t.Fatalf("after the window: %d", r.status)
	}
}

// failingLimiter is a RateLimiter that can never decide.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, int) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("limiter backend unreachable")
}

// TestRateLimiterFailure checks that a request whose rate limit cannot be decided is answered 503 without being run.
func TestRateLimiterFailure(t *testing.T) {
	e := newTestEnv(t)
	e.api.Limiter = failingLimiter{}
	r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(e.active), []byte(`{}`))
	assertJSON(t, r, 503, apiErr(503, "Service Unavailable", "The service is unavailable; retry later.", "unavailable"))
	if r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("RateLimit headers without a decision: %v", r.header)
	}
}

// TestAdminAPI covers the workspace administration endpoints of SPEC §9.1.
func TestAdminAPI(t *testing.T) {
	e := newTestEnv(t)
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	assertJSON(t, e.do(t, "GET", "/admin/v1/workspaces", nil, nil), 401, apiErr(401, "Unauthorized", "Missing or invalid admin bearer token.", "admin_token_invalid"))
	assertJSON(t, e.do(t, "GET", "/admin/v1/workspaces", map[string]string{"Authorization": "Bearer wrong"}, nil), 401,
		apiErr(401, "Unauthorized", "Missing or invalid admin bearer token.", "admin_token_invalid"))
	assertJSON(t, e.do(t, "GET", "/admin/v1/workspaces", map[string]string{"Authorization": "Basic " + adminToken}, nil), 401,
		apiErr(401, "Unauthorized", "Missing or invalid admin bearer token.", "admin_token_invalid"))
	if r := e.do(t, "GET", "/admin/v1/workspaces", map[string]string{"Authorization": "bearer " + adminToken}, nil); r.status != 200 {
		t.Fatalf("the bearer scheme in lower case: %d %s", r.status, r.body) // auth schemes are case-insensitive
	}
	r := e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"Shop","timezone":"Asia/Kolkata","workspace_id":"0123456789abcdef01234567","rate_limit_per_minute":50}`))
	var created map[string]any
	json.Unmarshal(r.body, &created)
	if r.status != 201 || created["workspace_id"] != "0123456789abcdef01234567" || created["timezone"] != "Asia/Kolkata" ||
		len(created["report_key"].(string)) != 40 || len(created["data_key"].(string)) != 40 || created["rate_limit_per_minute"] != 50.0 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	assertJSON(t, e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"Shop","workspace_id":"0123456789abcdef01234567"}`)), 409,
		apiErr(409, "Conflict", "workspace_id - already exists", "already_exists"))
	for _, bad := range []string{`{"name":""}`, `{"name":"x","timezone":"Mars/Base"}`, `{"name":"x","timezone":"Local"}`, `{"name":"x","workspace_id":"XYZ"}`, `{"name":"x","rate_limit_per_minute":0}`} {
		if r := e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(bad)); r.status != 400 {
			t.Fatalf("%s: %d %s", bad, r.status, r.body)
		}
	}
	// Given as "", a timezone or an id is invalid; null means absent (the default zone, a generated id).
	assertJSON(t, e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"x","timezone":""}`)), 400,
		apiErr(400, "Invalid Field Value", "timezone - must be an IANA time zone name", "invalid_field_value"))
	assertJSON(t, e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"x","workspace_id":""}`)), 400,
		apiErr(400, "Invalid Field Value", "workspace_id - must be 24 lowercase hex characters", "invalid_field_value"))
	if r := e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"x","timezone":null,"workspace_id":null}`)); r.status != 201 ||
		!strings.Contains(string(r.body), `"timezone":"UTC"`) {
		t.Fatalf("null timezone and id: %d %s", r.status, r.body)
	}
	got := e.do(t, "GET", "/admin/v1/workspaces/0123456789abcdef01234567", adm, nil)
	if strings.Contains(string(got.body), "report_key") {
		t.Fatalf("keys must not be shown by get: %s", got.body)
	}
	r = e.do(t, "POST", "/admin/v1/workspaces/0123456789abcdef01234567/rotate-keys", adm, []byte(`{"keys":["data_key"]}`))
	var rotated map[string]any
	json.Unmarshal(r.body, &rotated)
	if rotated["report_key"] != created["report_key"] || rotated["data_key"] == created["data_key"] {
		t.Fatalf("rotate data key only: %s", r.body)
	}
	ingestHdr := map[string]string{"Authorization": basic("0123456789abcdef01234567", created["data_key"].(string)), "Content-Type": "application/json"}
	if r := e.do(t, "POST", "/v1/streams/0123456789abcdef01234567", ingestHdr, []byte(`{"events":[]}`)); r.status != 401 {
		t.Fatalf("old data key must stop working: %d", r.status)
	}
	r = e.do(t, "POST", "/admin/v1/workspaces/0123456789abcdef01234567/disable", adm, nil)
	if !strings.Contains(string(r.body), `"status":"disabled"`) || strings.Contains(string(r.body), `"disabled_at":null`) {
		t.Fatalf("disable: %s", r.body)
	}
	r = e.do(t, "POST", "/admin/v1/workspaces/0123456789abcdef01234567/enable", adm, nil)
	if !strings.Contains(string(r.body), `"status":"active"`) || !strings.Contains(string(r.body), `"disabled_at":null`) {
		t.Fatalf("enable: %s", r.body)
	}
	list := e.do(t, "GET", "/admin/v1/workspaces?status=disabled", adm, nil)
	if !strings.Contains(string(list.body), e.disabled.ID) || strings.Contains(string(list.body), e.active.ID) {
		t.Fatalf("list by status: %s", list.body)
	}
	assertJSON(t, e.do(t, "GET", "/admin/v1/workspaces/ffffffffffffffffffffffff", adm, nil), 404, apiErr(404, "Not Found", "Not found.", "not_found"))
}

// TestAdminDisabledWithoutToken: without CAMPAIGNSTATS_ADMIN_TOKEN every admin path is 404 (SPEC §9.1).
func TestAdminDisabledWithoutToken(t *testing.T) {
	e := newTestEnv(t, func(c *config.Config) { c.AdminToken = "" })
	r := e.do(t, "GET", "/admin/v1/workspaces", map[string]string{"Authorization": "Bearer " + adminToken}, nil)
	if r.status != 404 || !strings.Contains(string(r.body), `"code":"not_found"`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestRequestIDAndHealth checks X-Request-Id reuse and generation (SPEC §1.6) and the health endpoints.
func TestRequestIDAndHealth(t *testing.T) {
	e := newTestEnv(t)
	r := e.do(t, "GET", "/healthz", map[string]string{"X-Request-Id": "abc.DEF_1-2"}, nil)
	assertJSON(t, r, 200, `{"status":"ok"}`)
	if r.header.Get("X-Request-Id") != "abc.DEF_1-2" {
		t.Fatalf("request id not reused: %q", r.header.Get("X-Request-Id"))
	}
	r = e.do(t, "GET", "/readyz", map[string]string{"X-Request-Id": "bad id!"}, nil)
	assertJSON(t, r, 200, `{"status":"ready"}`)
	if id := r.header.Get("X-Request-Id"); len(id) != 16 || strings.Trim(id, idAlphabet) != "" {
		t.Fatalf("generated request id %q", id)
	}
	r = e.do(t, "GET", "/metrics", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), "campaignstats_http_requests_total") {
		t.Fatalf("metrics: %d", r.status)
	}
}

// TestServedOpenAPIIsTheRepositoryFile checks that GET /openapi.yaml answers api/openapi.yaml byte for byte
// (SPEC §10.1: the document is also kept in the repository).
func TestServedOpenAPIIsTheRepositoryFile(t *testing.T) {
	e := newTestEnv(t)
	file, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/openapi.yaml", nil, nil)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Fatalf("Content-Type %q", ct)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if !bytes.Equal(r.body, file) {
		t.Fatalf("served document (%d bytes) differs from api/openapi.yaml (%d bytes)", len(r.body), len(file))
	}
}

// TestInvalidUTF8IsMalformed checks SPEC §12.6 on both error shapes.
func TestInvalidUTF8IsMalformed(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	bad := []byte("{\"request_id\":\"r\xff\",\"start_date\":\"2025-03-01\",\"end_date\":\"2025-03-01\",\"attribution_type\":\"VIEW_THROUGH\",\"metric_type\":\"TOTAL\"}")
	assertJSON(t, e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws), bad), 400,
		apiErr(400, "Invalid Field Value", "request body - could not be parsed as a JSON object", "malformed_json"))
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	ev := []byte("{\"events\":[{\"event_code\":\"MOE_EMAIL_SENT\",\"event_uuid\":\"a\xc3\",\"event_time\":1740819600,\"uid\":\"u\",\"event_attributes\":{\"campaign_id\":\"c\"}}]}")
	assertJSON(t, e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, ev), 400,
		ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."))
	assertJSON(t, e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/c1", hdr, []byte("{\"campaign_name\":\"\xff\"}")), 400,
		ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."))
}

// TestAcknowledgedEventIsVisibleAtOnce: an event acknowledged with 200 shows in the very next Stats call
// (SPEC §3.6 allows up to 1 s; the embedded store makes it immediate).
func TestAcknowledgedEventIsVisibleAtOnce(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	query := []byte(`{"request_id":"v","campaign_ids":["vis"],"start_date":"2025-03-10","end_date":"2025-03-10","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`)
	for i := 1; i <= 5; i++ {
		body := fmt.Sprintf(`{"events":[{"event_code":"SMS_SENT","event_uuid":"v%d","event_time":"2025-03-10T08:00:00Z","uid":"u%d","event_attributes":{"campaign_id":"vis"}}]}`, i, i)
		if r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(body)); r.status != 200 {
			t.Fatalf("ingest: %d %s", r.status, r.body)
		}
		r := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws), query)
		want := fmt.Sprintf(`"performance_stats":{"attempted":%d,"sent":%d,`, i, i)
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("after %d acknowledged events the next Stats call shows %s", i, r.body)
		}
	}
}
