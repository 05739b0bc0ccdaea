package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// reportEnv is the test server with a report service over the same store and clock.
type reportEnv struct {
	*testEnv
	svc *report.Service
	ny  domain.Workspace // a second active workspace in America/New_York
}

// fileGenerator is a Generator that "publishes" the SPEC §8.5 file name without writing anything.
type fileGenerator struct{}

func (fileGenerator) Generate(_ context.Context, ws domain.Workspace, rep report.Report, run report.Run) (report.Result, error) {
	name := rep.Definition.FileStem() + "_" + run.CreatedAt.In(ws.Location()).Format("20060102") + ".zip"
	return report.Result{Filename: name, Size: 48213, SHA256: strings.Repeat("9f", 32), Rows: 1342}, nil
}

func newReportEnv(t *testing.T, gen report.Generator, mutate ...func(*config.Config)) *reportEnv {
	t.Helper()
	e := newTestEnv(t, mutate...)
	svc := report.NewService(e.sys.Store, report.Options{Now: e.clock, Generator: gen, Retention: 168 * time.Hour})
	d := e.api.Deps
	d.Reports, d.Registry = svc, prometheus.NewRegistry()
	e.api = New(d)
	e.srv.Close()
	e.srv = httptest.NewServer(e.api.Handler())
	ny, err := e.api.Workspaces.Create(context.Background(), workspace.CreateRequest{Name: "ny", WorkspaceID: "eeeeeeeeeeeeeeeeeeeeeeee", Timezone: "America/New_York"})
	if err != nil {
		t.Fatal(err)
	}
	return &reportEnv{testEnv: e, svc: svc, ny: ny}
}

func reportAuth(ws domain.Workspace) map[string]string {
	return map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "Content-Type": "application/json"}
}

func reportErrBody(title, description, code string) string {
	b, _ := json.Marshal(map[string]any{"title": title, "description": description, "code": code})
	return string(b)
}

// TestReportsAuth covers SPEC §8.1 authentication: §5.2 rows 1, 3, 5, 6 in order, then workspace_mismatch; MOE-APPKEY
// is neither required nor compared.
func TestReportsAuth(t *testing.T) {
	e := newReportEnv(t, nil)
	ws, dis := e.active, e.disabled
	path := "/v1/reports/" + ws.ID
	authErr := func(d, code string) string { return reportErrBody("Authentication required", d, code) }
	cases := []struct {
		name   string
		path   string
		header map[string]string
		status int
		want   string
	}{
		{"no auth header", path, map[string]string{"MOE-APPKEY": ws.ID}, 401, authErr("Authentication Header Required", "auth_header_required")},
		{"not basic", path, map[string]string{"Authorization": "Bearer x"}, 401, authErr("No identity information found.", "auth_header_invalid")},
		{"bad base64", path, map[string]string{"Authorization": "Basic %%%"}, 401, authErr("No identity information found.", "auth_header_invalid")},
		{"no colon", path, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(ws.ID))}, 401, authErr("No identity information found.", "auth_header_invalid")},
		{"unknown workspace", "/v1/reports/ffffffffffffffffffffffff", map[string]string{"Authorization": basic("ffffffffffffffffffffffff", "x")}, 401, authErr("Invalid identity information found.", "invalid_credentials")},
		{"wrong key", path, map[string]string{"Authorization": basic(ws.ID, "nope")}, 401, authErr("Invalid identity information found.", "invalid_credentials")},
		{"data key is not a report key", path, map[string]string{"Authorization": basic(ws.ID, ws.DataKey)}, 401, authErr("Invalid identity information found.", "invalid_credentials")},
		{"wrong key beats path mismatch", "/v1/reports/" + dis.ID, map[string]string{"Authorization": basic(ws.ID, "nope")}, 401, authErr("Invalid identity information found.", "invalid_credentials")},
		{"disabled", "/v1/reports/" + dis.ID, reportAuth(dis), 403, `{"title":"Forbidden Request","description":null,"code":"workspace_disabled"}`},
		{"disabled beats path mismatch", path, reportAuth(dis), 403, `{"title":"Forbidden Request","description":null,"code":"workspace_disabled"}`},
		{"path mismatch", "/v1/reports/" + dis.ID, reportAuth(ws), 403, `{"title":"Forbidden Request","description":null,"code":"workspace_mismatch"}`},
		{"path mismatch on a report", "/v1/reports/" + e.ny.ID + "/abc/runs", reportAuth(ws), 403, `{"title":"Forbidden Request","description":null,"code":"workspace_mismatch"}`},
		{"no MOE-APPKEY needed", path, reportAuth(ws), 200, `{"reports":[]}`},
		{"MOE-APPKEY ignored", path, map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": "other"}, 200, `{"reports":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "GET", c.path, c.header, nil)
			assertJSON(t, r, c.status, c.want)
			// The workspace is authenticated and active from the path mismatch on: its requests count (SPEC §5.4).
			if (c.status == 200 || strings.Contains(c.want, "workspace_mismatch")) && r.header.Get("RateLimit-Limit") != "100" {
				t.Fatalf("RateLimit headers missing: %v", r.header)
			}
		})
	}
	// Unknown paths and methods answer in the API error shape.
	assertJSON(t, e.do(t, "GET", path+"/abc/other", reportAuth(ws), nil), 404, reportErrBody("Not Found", "No such endpoint.", "not_found"))
	assertJSON(t, e.do(t, "PATCH", path, reportAuth(ws), nil), 405, reportErrBody("Method Not Allowed", "Method not allowed.", "method_not_allowed"))
	assertJSON(t, e.do(t, "GET", path+"/abc/run", reportAuth(ws), nil), 405, reportErrBody("Method Not Allowed", "Method not allowed.", "method_not_allowed"))
}

func TestReportsRateLimit(t *testing.T) {
	e := newReportEnv(t, nil, func(c *config.Config) { c.DefaultRateLimit = 2 })
	ws := e.active
	path := "/v1/reports/" + ws.ID
	for i := 0; i < 2; i++ {
		r := e.do(t, "POST", path, reportAuth(ws), []byte(`{}`)) // invalid bodies count too
		if r.status != 400 || r.header.Get("RateLimit-Remaining") != fmt.Sprint(1-i) {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
	r := e.do(t, "GET", path, reportAuth(ws), nil)
	assertJSON(t, r, 429, reportErrBody("Too Many Requests", "Rate limit of 2 requests per minute exceeded for this workspace. Retry after 60 seconds.", "rate_limited"))
	if r.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// The family is separate from stats.
	r = e.do(t, "POST", "/core-services/v1/campaign-stats", map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": ws.ID}, []byte(`{}`))
	if r.status != 400 {
		t.Fatalf("stats family: %d %s", r.status, r.body)
	}
}

func TestReportsCRUD(t *testing.T) {
	e := newReportEnv(t, nil)
	ws := e.ny // America/New_York; the clock is 2025-03-10T12:00:00Z (08:00 EDT)
	path := "/v1/reports/" + ws.ID
	hdr := reportAuth(ws)
	body := `{
	  "name": "Weekly Push Report",
	  "campaigns": {"ids": [], "channels": ["PUSH", "EMAIL"], "tags": ["sale"], "delivery_types": [], "include_children": true},
	  "range": {"last_days": 7},
	  "granularity": "daily",
	  "split_by": ["platform", "variation"],
	  "metric_type": "TOTAL",
	  "attribution_type": "VIEW_THROUGH",
	  "columns": {"PUSH": ["Sent", "Impression", "Click", "CTR"]},
	  "separator": ",",
	  "compression": "zip",
	  "schedule": {"type": "weekly", "at": "06:00", "weekdays": ["MON"]},
	  "webhook_url": "https://hooks.example.com/campaignstats"
	}`
	r := e.do(t, "POST", path, hdr, []byte(body))
	var created struct {
		ReportID string `json:"report_id"`
	}
	json.Unmarshal(r.body, &created)
	id := created.ReportID
	if len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("report_id %q", id)
	}
	stored := func(extra string) string {
		return `{"report_id":"` + id + `","name":"Weekly Push Report",
		  "campaigns":{"ids":[],"channels":["PUSH","EMAIL"],"tags":["sale"],"delivery_types":[],"include_children":true},
		  "range":{"last_days":7},"granularity":"daily","split_by":["platform","variation"],"metric_type":"TOTAL",
		  "attribution_type":"VIEW_THROUGH","layout":"moengage","columns":{"PUSH":["Sent","Impressions","Clicks","CTR"]},"separator":",",
		  "compression":"zip","schedule":{"type":"weekly","at":"06:00","weekdays":["MON"]},
		  "webhook_url":"https://hooks.example.com/campaignstats","created_at":"2025-03-10T12:00:00Z",
		  "updated_at":"2025-03-10T12:00:00Z","next_run_at":"2025-03-17T10:00:00Z"` + extra + `}`
	}
	assertJSON(t, r, 201, stored(`,"last_run":null`))
	assertJSON(t, e.do(t, "GET", path+"/"+id, hdr, nil), 200, stored(`,"last_run":null`))

	// Name conflicts ignore case and treat spaces as underscores; other workspaces are independent.
	assertJSON(t, e.do(t, "POST", path, hdr, []byte(`{"name":"weekly_push_REPORT","range":{"last_days":1}}`)), 409,
		reportErrBody("Conflict", "name - a report with the file name stem weekly_push_REPORT already exists", "name_conflict"))
	if r := e.do(t, "POST", "/v1/reports/"+e.active.ID, reportAuth(e.active), []byte(`{"name":"Weekly Push Report","range":{"last_days":1}}`)); r.status != 201 {
		t.Fatalf("same name in another workspace: %d %s", r.status, r.body)
	}
	r = e.do(t, "POST", path, hdr, []byte(`{"name":"Alpha","range":{"start_date":"2025-01-01","end_date":"2025-01-31"}}`))
	var alpha map[string]any
	json.Unmarshal(r.body, &alpha)
	alphaID := alpha["report_id"].(string)
	assertJSON(t, r, 201, `{"report_id":"`+alphaID+`","name":"Alpha","campaigns":{"ids":[],"channels":[],"tags":[],"delivery_types":[],"include_children":true},"range":{"start_date":"2025-01-01","end_date":"2025-01-31"},
		"granularity":"aggregate","split_by":[],"metric_type":"TOTAL","attribution_type":"VIEW_THROUGH","layout":"moengage","separator":",",
		"compression":"zip","schedule":null,"created_at":"2025-03-10T12:00:00Z","updated_at":"2025-03-10T12:00:00Z",
		"next_run_at":null,"last_run":null}`)

	// List ordered by name.
	var list struct {
		Reports []map[string]any `json:"reports"`
	}
	r = e.do(t, "GET", path, hdr, nil)
	json.Unmarshal(r.body, &list)
	if r.status != 200 || len(list.Reports) != 2 || list.Reports[0]["name"] != "Alpha" || list.Reports[1]["name"] != "Weekly Push Report" {
		t.Fatalf("list: %d %s", r.status, r.body)
	}

	// PUT replaces the definition and recomputes the schedule.
	e.advance(time.Hour)
	r = e.do(t, "PUT", path+"/"+id, hdr, []byte(`{"name":"Weekly Push Report","range":{"last_days":7},"schedule":{"type":"daily","at":"08:30"}}`))
	assertJSON(t, r, 200, `{"report_id":"`+id+`","name":"Weekly Push Report","campaigns":{"ids":[],"channels":[],"tags":[],"delivery_types":[],"include_children":true},"range":{"last_days":7},
		"granularity":"aggregate","split_by":[],"metric_type":"TOTAL","attribution_type":"VIEW_THROUGH","layout":"moengage","separator":",",
		"compression":"zip","schedule":{"type":"daily","at":"08:30"},"created_at":"2025-03-10T12:00:00Z",
		"updated_at":"2025-03-10T13:00:00Z","next_run_at":"2025-03-11T12:30:00Z","last_run":null}`)
	assertJSON(t, e.do(t, "PUT", path+"/"+alphaID, hdr, []byte(`{"name":"Weekly Push Report","range":{"last_days":7}}`)), 409,
		reportErrBody("Conflict", "name - a report with the file name stem Weekly_Push_Report already exists", "name_conflict"))
	assertJSON(t, e.do(t, "PUT", path+"/"+alphaID, hdr, []byte(`{"name":"Alpha","range":{"last_days":0}}`)), 400,
		reportErrBody("Invalid Field Value", "range.last_days - must be an integer between 1 and 90", "invalid_field_value"))
	notFoundBody := reportErrBody("Not Found", "Report not found.", "not_found")
	assertJSON(t, e.do(t, "PUT", path+"/nope", hdr, []byte(`{"name":"Alpha","range":{"last_days":1}}`)), 404, notFoundBody)
	assertJSON(t, e.do(t, "GET", path+"/nope", hdr, nil), 404, notFoundBody)
	// A report of another workspace is not found through this one.
	assertJSON(t, e.do(t, "GET", "/v1/reports/"+e.active.ID+"/"+id, reportAuth(e.active), nil), 404, notFoundBody)

	// DELETE answers 204 without a body; the report is gone and its name is free.
	r = e.do(t, "DELETE", path+"/"+id, hdr, nil)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		assertJSON(t, e.do(t, m, path+"/"+id, hdr, nil), 404, notFoundBody)
	}
	assertJSON(t, e.do(t, "POST", path+"/"+id+"/run", hdr, nil), 404, notFoundBody)
	assertJSON(t, e.do(t, "GET", path+"/"+id+"/runs", hdr, nil), 404, notFoundBody)
	if r := e.do(t, "POST", path, hdr, []byte(`{"name":"Weekly Push Report","range":{"last_days":1}}`)); r.status != 201 {
		t.Fatalf("reuse the name of a deleted report: %d %s", r.status, r.body)
	}
}

func TestReportsValidation(t *testing.T) {
	e := newReportEnv(t, nil)
	ws := e.active
	path := "/v1/reports/" + ws.ID
	inv := func(code, d string) string { return reportErrBody("Invalid Field Value", d, code) }
	cases := []struct {
		body string
		want string
	}{
		{`not json`, inv("malformed_json", "request body - could not be parsed as a JSON object")},
		{`{"range":{"last_days":1}}`, inv("missing_field", "name - is required")},
		{`{"name":7}`, inv("invalid_type", "name - must be a string")},
		{`{"name":"R"}`, inv("missing_field", "range - is required")},
		{`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-04-01"}}`, inv("invalid_field_value", "range.end_date - must be at most 89 days after range.start_date (90 days inclusive)")},
		{`{"name":"R","range":{"last_days":7},"campaigns":{"channels":["FAX"]}}`, inv("invalid_field_value", "campaigns.channels - every element must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		{`{"name":"R","range":{"last_days":7},"schedule":{"type":"weekly","at":"06:00"}}`, inv("missing_field", "schedule.weekdays - is required")},
		{`{"name":"R","range":{"last_days":7},"webhook_url":"https://u:p@example.com"}`, inv("invalid_field_value", "webhook_url - must be an absolute http or https URL without user info")},
		{`{"name":"R","range":{"last_days":7},"csv_formula_guard":"yes"}`, inv("invalid_type", "csv_formula_guard - must be a boolean")},
	}
	for _, c := range cases {
		assertJSON(t, e.do(t, "POST", path, reportAuth(ws), []byte(c.body)), 400, c.want)
	}
	// csv_formula_guard is stored and returned.
	r := e.do(t, "POST", path, reportAuth(ws), []byte(`{"name":"Guarded","range":{"last_days":7},"csv_formula_guard":true}`))
	var rep struct {
		ReportID string `json:"report_id"`
		Guard    *bool  `json:"csv_formula_guard"`
	}
	if json.Unmarshal(r.body, &rep); r.status != 201 || rep.Guard == nil || !*rep.Guard {
		t.Fatalf("create with csv_formula_guard: %d %s", r.status, r.body)
	}
	rep.Guard = nil
	if got := e.do(t, "GET", path+"/"+rep.ReportID, reportAuth(ws), nil); json.Unmarshal(got.body, &rep) != nil || rep.Guard == nil || !*rep.Guard {
		t.Fatalf("get: %s", got.body)
	}
	if r := e.do(t, "DELETE", path+"/"+rep.ReportID, reportAuth(ws), nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	big := []byte(`{"name":"R","range":{"last_days":7},"pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	assertJSON(t, e.do(t, "POST", path, reportAuth(ws), big), 413, reportErrBody("Payload Too Large", "Request body exceeds 1 MiB.", "payload_too_large"))
	// The report limit.
	for i := 0; i < store.MaxReportsPerWorkspace; i++ {
		if _, err := e.svc.Create(context.Background(), ws, report.Definition{Name: fmt.Sprintf("R%d", i), Range: report.Range{LastDays: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	assertJSON(t, e.do(t, "POST", path, reportAuth(ws), []byte(`{"name":"One More","range":{"last_days":7}}`)), 400,
		inv("invalid_field_value", "request body - a workspace holds at most 200 report definitions; delete one first"))
}

func TestReportRuns(t *testing.T) {
	e := newReportEnv(t, fileGenerator{})
	ctx := context.Background()
	ws := e.active
	path := "/v1/reports/" + ws.ID
	hdr := reportAuth(ws)
	r := e.do(t, "POST", path, hdr, []byte(`{"name":"Weekly Push Report","range":{"last_days":7}}`))
	var rep struct {
		ReportID string `json:"report_id"`
	}
	json.Unmarshal(r.body, &rep)
	runPath := path + "/" + rep.ReportID
	r = e.do(t, "POST", runPath+"/run", hdr, []byte(`ignored`))
	var run struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal(r.body, &run)
	queued := `{"run_id":"` + run.RunID + `","report_id":"` + rep.ReportID + `","status":"QUEUED","trigger":"manual",
		"scheduled_for":null,"created_at":"2025-03-10T12:00:00Z","started_at":null,"finished_at":null,
		"range":{"start_date":"2025-03-03","end_date":"2025-03-09"},"filename":null,"size":null,"sha256":null,"rows":null,
		"expires_at":null,"superseded":false,"error":null,"webhook_status":"none"}`
	assertJSON(t, r, 202, queued)
	assertJSON(t, e.do(t, "POST", runPath+"/run", hdr, nil), 409, reportErrBody("Conflict", "A run of this report is already queued or running.", "run_in_progress"))
	assertJSON(t, e.do(t, "GET", runPath+"/runs", hdr, nil), 200, `{"runs":[`+queued+`]}`)
	assertJSON(t, e.do(t, "GET", runPath, hdr, nil), 200, `{"report_id":"`+rep.ReportID+`","name":"Weekly Push Report","campaigns":{"ids":[],"channels":[],"tags":[],"delivery_types":[],"include_children":true},
		"range":{"last_days":7},"granularity":"aggregate","split_by":[],"metric_type":"TOTAL","attribution_type":"VIEW_THROUGH",
		"layout":"moengage","separator":",","compression":"zip","schedule":null,"created_at":"2025-03-10T12:00:00Z","updated_at":"2025-03-10T12:00:00Z",
		"next_run_at":null,"last_run":`+queued+`}`)

	// A worker runs it.
	e.advance(time.Second)
	if ok, err := e.svc.ProcessNext(ctx); !ok || err != nil {
		t.Fatalf("process: %v %v", ok, err)
	}
	done := `{"run_id":"` + run.RunID + `","report_id":"` + rep.ReportID + `","status":"SUCCESSFUL","trigger":"manual",
		"scheduled_for":null,"created_at":"2025-03-10T12:00:00Z","started_at":"2025-03-10T12:00:01Z","finished_at":"2025-03-10T12:00:01Z",
		"range":{"start_date":"2025-03-03","end_date":"2025-03-09"},"filename":"Weekly_Push_Report_20250310.zip","size":48213,
		"sha256":"` + strings.Repeat("9f", 32) + `","rows":1342,"expires_at":"2025-03-17T12:00:01Z","superseded":%s,"error":null,"webhook_status":"none"}`
	assertJSON(t, e.do(t, "GET", runPath+"/runs", hdr, nil), 200, `{"runs":[`+fmt.Sprintf(done, "false")+`]}`)

	// A second run: newest first, the earlier file superseded; limit.
	e.advance(time.Minute)
	r = e.do(t, "POST", runPath+"/run", hdr, nil)
	json.Unmarshal(r.body, &run)
	e.svc.ProcessNext(ctx)
	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	json.Unmarshal(e.do(t, "GET", runPath+"/runs", hdr, nil).body, &runs)
	if len(runs.Runs) != 2 || runs.Runs[0]["run_id"] != run.RunID || runs.Runs[0]["superseded"] != false || runs.Runs[1]["superseded"] != true {
		t.Fatalf("runs: %+v", runs.Runs)
	}
	json.Unmarshal(e.do(t, "GET", runPath+"/runs?limit=1", hdr, nil).body, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0]["run_id"] != run.RunID {
		t.Fatalf("limit=1: %+v", runs.Runs)
	}
	for q, want := range map[string]string{
		"abc": reportErrBody("Invalid Field Value", "limit - must be an integer", "invalid_type"),
		"0":   reportErrBody("Invalid Field Value", "limit - must be an integer between 1 and 500", "invalid_field_value"),
		"501": reportErrBody("Invalid Field Value", "limit - must be an integer between 1 and 500", "invalid_field_value"),
		"1.5": reportErrBody("Invalid Field Value", "limit - must be an integer between 1 and 500", "invalid_field_value"),
	} {
		assertJSON(t, e.do(t, "GET", runPath+"/runs?limit="+q, hdr, nil), 400, want)
	}
	if r := e.do(t, "GET", runPath+"/runs?limit=500", hdr, nil); r.status != 200 {
		t.Fatalf("limit=500: %d", r.status)
	}
}

// TestReportDeleteFailsQueuedRun: DELETE turns a QUEUED run FAILED with "report deleted".
func TestReportDeleteFailsQueuedRun(t *testing.T) {
	e := newReportEnv(t, nil)
	ws := e.active
	path := "/v1/reports/" + ws.ID
	hdr := reportAuth(ws)
	r := e.do(t, "POST", path, hdr, []byte(`{"name":"R","range":{"last_days":7}}`))
	var rep struct {
		ReportID string `json:"report_id"`
	}
	json.Unmarshal(r.body, &rep)
	r = e.do(t, "POST", path+"/"+rep.ReportID+"/run", hdr, nil)
	var run struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal(r.body, &run)
	e.advance(time.Second)
	if r := e.do(t, "DELETE", path+"/"+rep.ReportID, hdr, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	got, err := e.sys.Store.ReportRun(context.Background(), run.RunID)
	if err != nil || got.Status != store.RunFailed || got.Error != "report deleted" || got.FinishedAt == nil {
		t.Fatalf("queued run after delete: %+v %v", got, err)
	}
	if ok, _ := e.svc.ProcessNext(context.Background()); ok {
		t.Fatal("a failed run was processed")
	}
}
