package httpapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// levelRecorder is a slog.Handler that remembers every record's level and message.
type levelRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *levelRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelRecorder) WithGroup(string) slog.Handler            { return h }
func (h *levelRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	return nil
}

// errors returns the messages of the records at ERROR level or above.
func (h *levelRecorder) errors() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r.Level >= slog.LevelError {
			msg := r.Message
			r.Attrs(func(a slog.Attr) bool {
				msg += " " + a.String()
				return true
			})
			out = append(out, msg)
		}
	}
	return out
}

// storeErrorCount sums campaignstats_store_errors_total over its labels.
func (e *testEnv) storeErrorCount(t *testing.T) float64 {
	t.Helper()
	families, err := e.api.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "campaignstats_store_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

// TestMalformedIdentifiers covers SPEC §12.14: identifiers with invalid UTF-8 or control characters in a path,
// header or query answer the endpoint's 4xx for an unknown or invalid value; they never reach the store, never log
// at ERROR level and never count as store errors, and the server keeps serving.
func TestMalformedIdentifiers(t *testing.T) {
	e := newReportEnv(t, nil)
	rec := &levelRecorder{}
	d := e.api.Deps
	d.Logger, d.Registry = slog.New(rec), prometheus.NewRegistry()
	e.api = New(d)
	e.srv.Close()
	e.srv = httptest.NewServer(e.api.Handler())
	ws := e.active
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	// Basic usernames that are not workspace ids: invalid UTF-8, control characters, a NUL inside a valid id,
	// upper-case hex (SPEC §2.1 ids are lower-case), and a too-long id.
	badUsers := map[string]string{
		"invalid UTF-8":      "\xff\xfe",
		"invalid UTF-8 tail": ws.ID[:23] + "\xff",
		"NUL":                ws.ID[:12] + "\x00" + ws.ID[13:],
		"control":            "\x01\x02\x7f",
		"newline":            ws.ID + "\n",
		"upper-case":         strings.ToUpper(ws.ID),
		"long":               strings.Repeat("a", 4096),
	}
	// Path segments (percent-encoded) that are not ids.
	badSegments := map[string]string{
		"invalid UTF-8": "%FF%FE",
		"NUL":           "aaaaaaaaaaaa%00aaaaaaaaaaa",
		"control":       "%01%1B%7F",
		"C1 control":    "%C2%85",
	}

	type tc struct {
		name   string
		method string
		path   string
		header map[string]string
		body   string
		status int
		want   string
	}
	var cases []tc

	ingestPaths := map[string]string{
		"streams":  "/v1/streams/",
		"track":    "/v1/event/",
		"bulk":     "/v1/transition/",
		"customer": "/v1/customer/",
		"device":   "/v1/device/",
	}
	invalidAppID := ingestErr("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")
	invalidCreds := apiErr(401, "Authentication required", "Invalid identity information found.", "invalid_credentials")
	for uname, user := range badUsers {
		for ename, p := range ingestPaths {
			cases = append(cases, tc{"ingest " + ename + " username " + uname, "POST", p + ws.ID,
				with(jsonCT, "Authorization", basic(user, ws.DataKey)), `{}`, 401, invalidAppID})
		}
		cases = append(cases,
			tc{"catalog GET username " + uname, "GET", "/v1/campaigns/" + ws.ID + "/c1",
				with(jsonCT, "Authorization", basic(user, ws.DataKey)), ``, 401, invalidAppID},
			tc{"catalog PUT username " + uname, "PUT", "/v1/campaigns/" + ws.ID + "/c1",
				with(jsonCT, "Authorization", basic(user, ws.DataKey)), `{}`, 401, invalidAppID},
			tc{"funnel username " + uname, "POST", "/v1/campaigns/" + ws.ID + "/c1/funnel",
				with(jsonCT, "Authorization", basic(user, ws.DataKey)), `[]`, 401, invalidAppID},
			tc{"reports username " + uname, "GET", "/v1/reports/" + ws.ID,
				with(jsonCT, "Authorization", basic(user, ws.ReportKey)), ``, 401, invalidCreds},
		)
		// The Stats-shaped APIs also need MOE-APPKEY equal to the username (SPEC §5.2). A header value cannot carry
		// control characters, so those usernames meet a well-formed MOE-APPKEY and fail its comparison instead.
		appKey, want := user, invalidCreds
		if strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			appKey, want = ws.ID, apiErr(401, "Authentication required", "MOE-APPKEY does not match the workspace in Authentication Header", "appkey_mismatch")
		}
		for pname, p := range map[string]string{
			"stats":       "/core-services/v1/campaign-stats",
			"stats daily": "/v1/stats/" + ws.ID + "/daily",
			"meta":        "/core-services/v1/campaigns/meta",
			"executions":  "/core-services/v1/campaigns/c1/executions",
		} {
			cases = append(cases, tc{pname + " username " + uname, "POST", p,
				with(jsonCT, "Authorization", basic(user, ws.ReportKey), "MOE-APPKEY", appKey), `{}`, 401, want})
		}
	}

	const file = "Weekly_20250310.zip"
	downloadAppID := dlErr("APP_ID", "Invalid APP ID.")
	downloadFile := dlErr("FILENAME", "Invalid report file name or file name format.")
	reportNotFound := apiErr(404, "Not Found", "Report not found.", "not_found")
	adminNotFound := apiErr(404, "Not Found", "Not found.", "not_found")
	rep := reportAuth(ws)
	for sname, seg := range badSegments {
		cases = append(cases,
			tc{"download APP_ID " + sname, "GET", "/campaign_reports/rest_api/" + seg + "/" + file, nil, ``, 400, downloadAppID},
			tc{"download HEAD APP_ID " + sname, "HEAD", "/campaign_reports/rest_api/" + seg + "/" + file, nil, ``, 400, ``},
			tc{"download FILENAME " + sname, "GET", "/campaign_reports/rest_api/" + ws.ID + "/" + seg + "_20250310.zip", nil, ``, 400, downloadFile},
			tc{"report GET " + sname, "GET", "/v1/reports/" + ws.ID + "/" + seg, rep, ``, 404, reportNotFound},
			tc{"report PUT " + sname, "PUT", "/v1/reports/" + ws.ID + "/" + seg, rep,
				`{"name":"Weekly","range":{"last_days":7}}`, 404, reportNotFound},
			tc{"report DELETE " + sname, "DELETE", "/v1/reports/" + ws.ID + "/" + seg, rep, ``, 404, reportNotFound},
			tc{"report run " + sname, "POST", "/v1/reports/" + ws.ID + "/" + seg + "/run", rep, ``, 404, reportNotFound},
			tc{"report runs " + sname, "GET", "/v1/reports/" + ws.ID + "/" + seg + "/runs", rep, ``, 404, reportNotFound},
			tc{"admin GET workspace " + sname, "GET", "/admin/v1/workspaces/" + seg, adm, ``, 404, adminNotFound},
			tc{"admin PATCH workspace " + sname, "PATCH", "/admin/v1/workspaces/" + seg, adm, `{"name":"x"}`, 404, adminNotFound},
			tc{"admin disable " + sname, "POST", "/admin/v1/workspaces/" + seg + "/disable", adm, ``, 404, adminNotFound},
			tc{"admin enable " + sname, "POST", "/admin/v1/workspaces/" + seg + "/enable", adm, ``, 404, adminNotFound},
			tc{"admin rotate " + sname, "POST", "/admin/v1/workspaces/" + seg + "/rotate-keys", adm, ``, 404, adminNotFound},
			tc{"admin quarantine list " + sname, "GET", "/admin/v1/workspaces/" + seg + "/quarantine", adm, ``, 404, adminNotFound},
			tc{"admin quarantine purge " + sname, "DELETE", "/admin/v1/workspaces/" + seg + "/quarantine?before=2025-01-01T00:00:00Z", adm, ``, 404, adminNotFound},
			tc{"admin quarantine item workspace " + sname, "GET", "/admin/v1/workspaces/" + seg + "/quarantine/0123456789abcdef01234567", adm, ``, 404, adminNotFound},
			tc{"admin quarantine GET id " + sname, "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine/" + seg, adm, ``, 404, adminNotFound},
			tc{"admin quarantine DELETE id " + sname, "DELETE", "/admin/v1/workspaces/" + ws.ID + "/quarantine/" + seg, adm, ``, 404, adminNotFound},
			tc{"admin quarantine reason " + sname, "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine?reason=" + seg, adm, ``, 400,
				apiErr(400, "Invalid Field Value", "reason - must be UTF-8 text without control characters", "invalid_field_value")},
			tc{"admin quarantine cursor " + sname, "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine?cursor=1:" + seg, adm, ``, 400,
				apiErr(400, "Invalid Field Value", "cursor - is not valid", "invalid_field_value")},
			tc{"admin quarantine since " + sname, "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine?since=" + seg, adm, ``, 400,
				apiErr(400, "Invalid Field Value", "since - must be an RFC 3339 time", "invalid_field_value")},
			tc{"admin quarantine until " + sname, "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine?until=" + seg, adm, ``, 400,
				apiErr(400, "Invalid Field Value", "until - must be an RFC 3339 time", "invalid_field_value")},
			tc{"admin quarantine before " + sname, "DELETE", "/admin/v1/workspaces/" + ws.ID + "/quarantine?before=" + seg, adm, ``, 400,
				apiErr(400, "Invalid Field Value", "before - must be an RFC 3339 time", "invalid_field_value")},
		)
	}
	// Well-formed ids that are unknown, for comparison: the same answers.
	cases = append(cases,
		tc{"admin unknown quarantine id", "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine/0123456789abcdef01234567", adm, ``, 404, adminNotFound},
		tc{"report unknown id", "GET", "/v1/reports/" + ws.ID + "/0123456789abcdef01234567", rep, ``, 404, reportNotFound},
		tc{"admin quarantine upper-case id", "GET", "/admin/v1/workspaces/" + ws.ID + "/quarantine/0123456789ABCDEF01234567", adm, ``, 404, adminNotFound},
	)

	before := e.storeErrorCount(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.header, []byte(c.body))
			if c.method == "HEAD" {
				if r.status != c.status {
					t.Fatalf("status %d, want %d", r.status, c.status)
				}
				return
			}
			assertJSON(t, r, c.status, c.want)
		})
	}
	if errs := rec.errors(); len(errs) > 0 {
		t.Errorf("%d ERROR log lines, e.g. %q", len(errs), errs[0])
	}
	if after := e.storeErrorCount(t); after != before {
		t.Errorf("campaignstats_store_errors_total moved from %v to %v", before, after)
	}
	// The server still serves: a well-formed Stats call and an ingest call succeed.
	stats := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws),
		[]byte(`{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`))
	if stats.status != 200 {
		t.Fatalf("stats after malformed requests: %d %s", stats.status, stats.body)
	}
	ing := e.do(t, "POST", "/v1/streams/"+ws.ID, with(jsonCT, "Authorization", basic(ws.ID, ws.DataKey)), []byte(`{"events":[]}`))
	if ing.status != 200 {
		t.Fatalf("ingest after malformed requests: %d %s", ing.status, ing.body)
	}
}
