package e2e

// A client written the way public third-party code is written against MoEngage's live Campaign Stats and report
// download APIs (SPEC §1.2, §13): plain net/http and encoding/json, no campaignstats package. It pages through every
// campaign, walks straight to data[cid][0].platforms.ALL_PLATFORMS.locales.all_locale.variations.all_variations and
// reads the numbers there (§13.1). Every number is compared with the independent reference model, and every response
// body is scanned for keys of the published (pre-§13) format.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// liveWorkload is the data the live client reads: every channel with goals and control groups, parents and
// children (of the same and of different channels), Track Event and Bulk Import conversions, delivered in the
// shuffled arrival order.
var liveWorkload = workloadOptions{Seed: 1312, Timezone: "Europe/Berlin", FirstDay: "2025-02-20", Days: 35, Users: 150,
	Orders: []int{2}}

const liveAdminToken = "live-client-admin-token-0123456789"

// ---------------------------------------------------------------------------------------------------------------
// The third-party client: plain HTTP, the MoEngage wire format of §13.1

// liveClient sends requests the way a MoEngage integration does.
type liveClient struct {
	base string
	hc   *http.Client
}

// do sends one request and returns the status, headers and body. A transport error fails the test.
func (lc *liveClient) do(t *testing.T, method, path string, header http.Header, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, lc.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := lc.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, data
}

func liveBasic(user, password string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	h.Set("Content-Type", "application/json")
	return h
}

// liveStatsRequest is the Campaign Stats request body (§5.3) as integrations send it.
type liveStatsRequest struct {
	RequestID       string   `json:"request_id"`
	CampaignIDs     []string `json:"campaign_ids,omitempty"`
	StartDate       string   `json:"start_date"`
	EndDate         string   `json:"end_date"`
	AttributionType string   `json:"attribution_type"`
	MetricType      string   `json:"metric_type"`
	Offset          int      `json:"offset"`
	Limit           int      `json:"limit"`
}

// liveStatsResponse is the live response shape (§5.8 with §13.1's keys), decoded as an integration does.
type liveStatsResponse struct {
	ResponseID     string `json:"response_id"`
	TotalCampaigns int    `json:"total_campaigns"`
	CurrentPage    int    `json:"current_page"`
	TotalPages     int    `json:"total_pages"`
	Data           map[string][]struct {
		Platforms map[string]struct {
			Locales map[string]struct {
				Variations map[string]liveNode `json:"variations"`
			} `json:"locales"`
		} `json:"platforms"`
	} `json:"data"`
}

// liveNode is one variation node. Numbers are read as json.Number so that nothing is rounded on the way.
type liveNode struct {
	PerformanceStats    map[string]json.Number `json:"performance_stats"`
	ConversionGoalStats map[string]liveGoal    `json:"conversion_goal_stats"`
	DeliveryFunnel      map[string]json.Number `json:"delivery_funnel"`
	FailureBreakdown    map[string]json.Number `json:"failure_breakdown"`
}

type liveGoal struct {
	GoalName              string      `json:"goal_name"`
	Conversions           json.Number `json:"conversions"`
	Total                 json.Number `json:"total"`
	Unique                json.Number `json:"unique"`
	Revenue               json.Number `json:"revenue"`
	AverageOrderValue     json.Number `json:"average_order_value"`
	AverageRevenuePerUser json.Number `json:"average_revenue_per_user"`
	CVR                   json.Number `json:"cvr"`
	Uplift                json.Number `json:"uplift"`
	GCGUplift             json.Number `json:"gcg_uplift"`
}

// overall walks straight to the path live clients read (§13.1); ok is false when any step is missing.
func (r *liveStatsResponse) overall(cid string) (liveNode, bool) {
	arr := r.Data[cid]
	if len(arr) != 1 {
		return liveNode{}, false
	}
	n, ok := arr[0].Platforms["ALL_PLATFORMS"].Locales["all_locale"].Variations["all_variations"]
	return n, ok
}

// stats posts one Campaign Stats request (§5.1 headers) and returns the decoded 200 body and the raw bytes.
func (lc *liveClient) stats(t *testing.T, appID, reportKey string, req liveStatsRequest) (*liveStatsResponse, []byte) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	h := liveBasic(appID, reportKey)
	h.Set("MOE-APPKEY", appID)
	status, _, raw := lc.do(t, http.MethodPost, "/core-services/v1/campaign-stats", h, body)
	if status != http.StatusOK {
		t.Fatalf("campaign-stats %s: HTTP %d: %s", body, status, raw)
	}
	var out liveStatsResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("campaign-stats %s: %v", body, err)
	}
	return &out, raw
}

// liveReportSignature is the Signature of a report download (§8.9): hex SHA-256 of APP_ID|FILENAME|SECRET_KEY.
func liveReportSignature(appID, filename, secretKey string) string {
	sum := sha256.Sum256([]byte(appID + "|" + filename + "|" + secretKey))
	return hex.EncodeToString(sum[:])
}

// downloadReport fetches a report file by name the way live integrations do (§8.9, §13.3): GET
// /campaign_reports/rest_api/{APP_ID}/{FILENAME} with the Signature header computed over the name exactly as
// requested, whatever its form (`<stem>_<YYYYMMDD>.zip`, `.gz`, or without extension). It returns the status,
// headers and body; the caller checks them.
func (lc *liveClient) downloadReport(t *testing.T, appID, secretKey, filename string) (int, http.Header, []byte) {
	t.Helper()
	h := http.Header{}
	h.Set("Signature", liveReportSignature(appID, filename, secretKey))
	return lc.do(t, http.MethodGet, "/campaign_reports/rest_api/"+url.PathEscape(appID)+"/"+url.PathEscape(filename), h, nil)
}

// runReport creates a report definition (§8.2; def is the JSON body), runs it once and waits for the run to
// succeed; it returns the run's file name.
func (lc *liveClient) runReport(t *testing.T, appID, reportKey string, def map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(def)
	h := liveBasic(appID, reportKey)
	prefix := "/v1/reports/" + url.PathEscape(appID)
	status, _, raw := lc.do(t, http.MethodPost, prefix, h, body)
	if status != http.StatusCreated {
		t.Fatalf("create report: HTTP %d: %s", status, raw)
	}
	var rep struct {
		ReportID string `json:"report_id"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil || rep.ReportID == "" {
		t.Fatalf("create report: %v %s", err, raw)
	}
	if status, _, raw = lc.do(t, http.MethodPost, prefix+"/"+rep.ReportID+"/run", h, nil); status != http.StatusAccepted {
		t.Fatalf("run report: HTTP %d: %s", status, raw)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		status, _, raw = lc.do(t, http.MethodGet, prefix+"/"+rep.ReportID+"/runs?limit=1", h, nil)
		if status != http.StatusOK {
			t.Fatalf("list runs: HTTP %d: %s", status, raw)
		}
		var runs struct {
			Runs []struct {
				Status   string  `json:"status"`
				Filename *string `json:"filename"`
				Error    *string `json:"error"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(raw, &runs); err != nil || len(runs.Runs) == 0 {
			t.Fatalf("list runs: %v %s", err, raw)
		}
		switch r := runs.Runs[0]; r.Status {
		case "SUCCESSFUL":
			if r.Filename == nil {
				t.Fatalf("successful run without filename: %s", raw)
			}
			return *r.Filename
		case "FAILED":
			t.Fatalf("report run failed: %s", raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("report run did not finish: %s", raw)
	return ""
}

// liveWorkspace is a workspace's id and keys.
type liveWorkspace struct {
	ID        string `json:"workspace_id"`
	DataKey   string `json:"data_key"`
	ReportKey string `json:"report_key"`
}

// startLiveServer starts the real server in-process (temporary data directory, a free port) and returns a live
// client for it.
func startLiveServer(t *testing.T) *liveClient {
	t.Helper()
	cfg := config.Default()
	cfg.DeriveWait = 30 * time.Second // numbers, not timing, are checked here: never read derived data early on a loaded machine
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = liveAdminToken
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return &liveClient{base: srv.URL(), hc: &http.Client{Timeout: 2 * time.Minute}}
}

// createWorkspace creates a workspace through the admin API (§9.1; setup, not part of the MoEngage surface) with a
// Stats rate limit high enough that the test never waits (§5.4).
func (lc *liveClient) createWorkspace(t *testing.T, name, timezone string) liveWorkspace {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+liveAdminToken)
	h.Set("Content-Type", "application/json")
	body, _ := json.Marshal(map[string]any{"name": name, "timezone": timezone, "rate_limit_per_minute": 100000})
	status, _, raw := lc.do(t, http.MethodPost, "/admin/v1/workspaces", h, body)
	if status != http.StatusCreated {
		t.Fatalf("create workspace: HTTP %d: %s", status, raw)
	}
	var ws liveWorkspace
	if err := json.Unmarshal(raw, &ws); err != nil || ws.ID == "" {
		t.Fatalf("create workspace: %v %s", err, raw)
	}
	return ws
}

// ---------------------------------------------------------------------------------------------------------------
// The end-to-end test

// TestLiveClient loads a workload into the real server through the public HTTP APIs, then reads it back the way a
// live integration does: every campaign page by page (offset/limit 10, no campaign_ids) until current_page >=
// total_pages, for every attribution type and both metric types, reading the overall node
// ALL_PLATFORMS/all_locale/all_variations of each campaign. Every number there (performance_stats, every goal's
// conversion_goal_stats, delivery_funnel, failure_breakdown) must equal the reference model's, and no response may
// carry a key of the published format.
func TestLiveClient(t *testing.T) {
	t.Parallel()
	lc := startLiveServer(t)
	ws := lc.createWorkspace(t, "live client", liveWorkload.Timezone)

	w := generateWorkload(liveWorkload)
	model, err := newRefModel(liveWorkload.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	liveLoad(t, lc, ws.ID, ws.DataKey, w.Orders[liveWorkload.Orders[0]], model)
	time.Sleep(1100 * time.Millisecond) // §3.6: visible within 1 second
	t.Logf("loaded the workload in %v", time.Since(started))

	cv := model.catalog()
	keys := &keyChecker{t: t}
	defer keys.summary()
	// Every attribution type under both metric types over the first 31 days (the longest range, §5.3), and two of
	// them over the last days of the data.
	type pull struct{ start, end, attribution, metric string }
	var pulls []pull
	for _, at := range allAttributionTypes {
		for _, metric := range []string{"TOTAL", "UNIQUE"} {
			pulls = append(pulls, pull{addDays(w.FirstDay, -1), addDays(w.FirstDay, 29), at, metric})
		}
	}
	pulls = append(pulls, pull{addDays(w.FirstDay, 5), addDays(w.FirstDay, 35), "VIEW_THROUGH", "UNIQUE"},
		pull{addDays(w.FirstDay, 5), addDays(w.FirstDay, 35), "TOTAL_CONVERSIONS", "TOTAL"})
	compared, requests := 0, 0
	channels := map[string]bool{}
	for _, pl := range pulls {
		req := liveStatsRequest{RequestID: fmt.Sprintf("live-%s-%s-%s", pl.start, pl.attribution, pl.metric),
			StartDate: pl.start, EndDate: pl.end, AttributionType: pl.attribution, MetricType: pl.metric, Limit: 10}
		visited, total := 0, -1
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatalf("%s: more than 20 pages", req.RequestID)
			}
			resp, raw := lc.stats(t, ws.ID, ws.ReportKey, req)
			requests++
			keys.check(req.RequestID, raw)
			if total < 0 {
				total = resp.TotalCampaigns
			}
			want := model.Stats(StatsRequest{RequestID: req.RequestID, StartDate: req.StartDate, EndDate: req.EndDate,
				AttributionType: req.AttributionType, MetricType: req.MetricType, Offset: &req.Offset, Limit: &req.Limit})
			if resp.TotalCampaigns != want.TotalCampaigns || resp.TotalPages != want.TotalPages ||
				resp.CurrentPage != want.CurrentPage || resp.ResponseID != req.RequestID {
				t.Errorf("%s offset %d: response_id %q total_campaigns %d current_page %d total_pages %d, want %d %d %d",
					req.RequestID, req.Offset, resp.ResponseID, resp.TotalCampaigns, resp.CurrentPage, resp.TotalPages,
					want.TotalCampaigns, want.CurrentPage, want.TotalPages)
			}
			got := dataKeys(raw)
			if strings.Join(got, ",") != strings.Join(want.Order, ",") {
				t.Errorf("%s offset %d: campaigns %v, want %v", req.RequestID, req.Offset, got, want.Order)
			}
			for _, cid := range got {
				visited++
				if _, ok := want.Data[cid]; !ok {
					continue
				}
				node, ok := resp.overall(cid)
				if !ok {
					t.Errorf("%s: data[%s][0].platforms.ALL_PLATFORMS.locales.all_locale.variations.all_variations is missing",
						req.RequestID, cid)
					continue
				}
				ref := want.Data[cid].Platforms[allPlatforms][allLocale][allVariations]
				for _, d := range compareLiveNode(node, ref) {
					t.Errorf("%s: %s: %s", req.RequestID, cid, d)
				}
				compared++
				channels[cv.channel[cid]] = true
			}
			if resp.CurrentPage >= resp.TotalPages || len(resp.Data) == 0 {
				break
			}
			req.Offset += req.Limit
		}
		if visited != total {
			t.Errorf("%s: visited %d campaigns, total_campaigns %d", req.RequestID, visited, total)
		}
	}
	for _, ch := range []string{chPush, chEmail, chSMS, chWhatsApp, chInApp, chOnSite, chCards, chConnectors, chFacebook,
		chGoogleAds} {
		if !channels[ch] {
			t.Errorf("no campaign of channel %s read", ch)
		}
	}

	// Campaigns listed by id with nothing in range still have the path (§13.1: the zero node).
	for i := 0; i < len(w.KnownIDs); i += 10 {
		req := liveStatsRequest{RequestID: "live-listed", CampaignIDs: w.KnownIDs[i:min(i+10, len(w.KnownIDs))],
			StartDate: "2030-01-01", EndDate: "2030-01-31", AttributionType: "VIEW_THROUGH", MetricType: "UNIQUE", Limit: 10}
		resp, raw := lc.stats(t, ws.ID, ws.ReportKey, req)
		requests++
		keys.check(req.RequestID, raw)
		want := model.Stats(StatsRequest{RequestID: req.RequestID, CampaignIDs: req.CampaignIDs, StartDate: req.StartDate,
			EndDate: req.EndDate, AttributionType: req.AttributionType, MetricType: req.MetricType})
		for _, cid := range want.Order {
			node, ok := resp.overall(cid)
			if !ok {
				t.Errorf("%s: %s has no ALL_PLATFORMS/all_locale/all_variations node: %s", req.RequestID, cid, raw)
				continue
			}
			if !isZeroCampaign(want.Data[cid]) {
				t.Errorf("reference: %s has data in 2030", cid)
			}
			for _, d := range compareLiveNode(node, want.Data[cid].Platforms[allPlatforms][allLocale][allVariations]) {
				t.Errorf("%s: %s: %s", req.RequestID, cid, d)
			}
			if n := len(resp.Data[cid][0].Platforms); n != 1 {
				t.Errorf("%s: %s has %d platform keys, want only ALL_PLATFORMS", req.RequestID, cid, n)
			}
			compared++
		}
	}
	t.Logf("%d Stats requests, %d overall nodes compared with the reference", requests, compared)

	t.Run("rows_layout_report_download", func(t *testing.T) {
		liveRowsReport(t, lc, ws.ID, ws.ReportKey, w, model)
	})
	t.Run("moengage_layout_report_download", func(t *testing.T) {
		liveMoEngageReport(t, lc, ws.ID, ws.ReportKey, w, model)
	})
}

// liveMoEngageReport does what live report readers do (§13.2, §13.3): it defines a report without naming a
// layout (so MoEngage's wide export), downloads the file by its name without extension with the Signature computed
// over that name, opens the zip entry whose name contains PUSH, and reads `Campaign Version Name` and the
// all-platform columns by header name. Every value read equals the reference for that campaign and variation under
// the column's own metric type.
func liveMoEngageReport(t *testing.T, lc *liveClient, appID, reportKey string, w *workload, m *refModel) {
	t.Helper()
	start, end := addDays(w.FirstDay, -1), addDays(w.FirstDay, 35)
	name := lc.runReport(t, appID, reportKey, map[string]any{"name": "Live wide",
		"range": map[string]any{"start_date": start, "end_date": end}, "attribution_type": "VIEW_THROUGH"})
	stem := strings.TrimSuffix(name, ".zip")
	if stem == name || !strings.HasPrefix(stem, "Live_wide_") {
		t.Fatalf("report file %q: want Live_wide_<YYYYMMDD>.zip", name)
	}
	status, header, body := lc.downloadReport(t, appID, reportKey, stem)
	if status != http.StatusOK {
		t.Fatalf("download %s: HTTP %d: %s", stem, status, body)
	}
	if got := header.Get("Content-Disposition"); got != `attachment; filename="`+name+`"` {
		t.Errorf("download %s: Content-Disposition %q, want the stored name %s", stem, got, name)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("%s: %v", stem, err)
	}
	var push *zip.File
	for _, f := range zr.File {
		if strings.Contains(f.Name, "PUSH") {
			push = f
		}
	}
	date := stem[len(stem)-9:] // _<YYYYMMDD>
	if push == nil || push.Name != strings.TrimSuffix(stem, date)+"_PUSH"+date+".csv" {
		t.Fatalf("%s: no <stem>_PUSH_<YYYYMMDD>.csv entry among %d entries", stem, len(zr.File))
	}
	rc, err := push.Open()
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(rc).ReadAll()
	rc.Close()
	if err != nil || len(records) < 2 {
		t.Fatalf("%s: %v, %d records", push.Name, err, len(records))
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[h] = i
	}
	columns := []struct {
		name, field string
		unique      bool
	}{{"All Platform Sent", "sent", false}, {"All Platform Impressions", "impression", false},
		{"All Platform Unique Clicks", "click", true}, {"Android Sent", "sent", false}, {"Ios Unique Impressions", "impression", true}}
	for _, need := range []string{"Campaign ID", "Campaign Version Name", "Variation"} {
		if _, ok := col[need]; !ok {
			t.Fatalf("%s: no %q column in %v", push.Name, need, records[0])
		}
	}
	for _, c := range columns {
		if _, ok := col[c.name]; !ok {
			t.Fatalf("%s: no %q column in %v", push.Name, c.name, records[0])
		}
	}
	req := StatsRequest{RequestID: "wide", StartDate: start, EndDate: end, AttributionType: "VIEW_THROUGH", Limit: ptrInt(1000)}
	req.MetricType = "TOTAL"
	total := m.Stats(req)
	req.MetricType = "UNIQUE"
	unique := m.Stats(req)
	checked := 0
	for _, rec := range records[1:] {
		cid, version := rec[col["Campaign ID"]], rec[col["Campaign Version Name"]]
		// "Version n" / "n" is variation_n; any other variation key fills both cells (§13.2).
		n, numbered := strings.CutPrefix(version, "Version ")
		variation := "variation_" + n
		if !numbered {
			variation = version
		}
		if rec[col["Variation"]] != n {
			t.Errorf("%s: campaign %s: Campaign Version Name %q, Variation %q", push.Name, cid, version, rec[col["Variation"]])
			continue
		}
		if _, ok := total.Data[cid]; !ok {
			t.Errorf("%s: campaign %s is not selected by the reference", push.Name, cid)
			continue
		}
		if total.Data[cid].Platforms[allPlatforms][allLocale][variation] == nil && n == "1" {
			variation = allVariations // a campaign without variations has one Version 1 row of all_variations
		}
		for _, c := range columns {
			ref := total
			if c.unique {
				ref = unique
			}
			platform := allPlatforms
			if p, _, ok := strings.Cut(c.name, " "); ok && p != "All" {
				platform = strings.ToUpper(p)
			}
			want := 0.0
			if node := ref.Data[cid].Platforms[platform][allLocale][variation]; node != nil {
				want = node.Perf[c.field]
			}
			if v, err := strconv.ParseFloat(rec[col[c.name]], 64); err != nil || v != want {
				t.Errorf("%s: campaign %s %s %s = %q, want %v", push.Name, cid, version, c.name, rec[col[c.name]], want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Errorf("%s: no value compared", push.Name)
	}
	t.Logf("%s: %d rows, %d values compared with the reference", push.Name, len(records)-1, checked)
}

// keyChecker runs liveKeyProblems over many bodies and reports the first few with problems, then a count.
type keyChecker struct {
	t   *testing.T
	bad int
}

func (k *keyChecker) check(what string, raw []byte) {
	k.t.Helper()
	if len(liveKeyProblems(raw)) == 0 {
		return
	}
	if k.bad++; k.bad <= 3 {
		checkLiveKeys(k.t, what, raw)
	}
}

func (k *keyChecker) summary() {
	if k.bad > 3 {
		k.t.Errorf("… %d response bodies with keys not in the live format (first 3 shown)", k.bad)
	}
}

// dataKeys returns the keys of the `data` object in the order received.
func dataKeys(raw []byte) []string {
	var head struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &head) != nil || len(head.Data) == 0 || head.Data[0] != '{' {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(head.Data))
	dec.Token()
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			break
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	return out
}

// compareLiveNode compares every number of a node read by the live client with the reference's node.
func compareLiveNode(got liveNode, want *expNode) []string {
	var out []string
	num := func(what string, g json.Number, w float64) {
		v, err := strconv.ParseFloat(string(g), 64)
		if err != nil || v != w {
			out = append(out, fmt.Sprintf("%s = %q, want %v", what, g, w))
		}
	}
	set := func(what string, g map[string]json.Number, w map[string]float64) {
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s missing (want %v)", what, k, wv))
				continue
			}
			num(what+"."+k, gv, wv)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s = %s unexpected", what, k, gv))
			}
		}
	}
	if want == nil {
		return []string{"the reference has no such node"}
	}
	set("performance_stats", got.PerformanceStats, want.Perf)
	ints := func(m map[string]int64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range m {
			out[k] = float64(v)
		}
		return out
	}
	set("delivery_funnel", got.DeliveryFunnel, ints(want.Funnel))
	set("failure_breakdown", got.FailureBreakdown, ints(want.Failures))
	for name, wg := range want.Goals {
		gg, ok := got.ConversionGoalStats[name]
		if !ok {
			out = append(out, fmt.Sprintf("conversion_goal_stats[%q] missing", name))
			continue
		}
		p := fmt.Sprintf("conversion_goal_stats[%q].", name)
		if gg.GoalName != name {
			out = append(out, p+"goal_name = "+gg.GoalName)
		}
		num(p+"total", gg.Total, float64(wg.Total))
		num(p+"unique", gg.Unique, float64(wg.Unique))
		num(p+"conversions", gg.Conversions, float64(wg.Conversions))
		num(p+"revenue", gg.Revenue, wg.Revenue)
		num(p+"average_order_value", gg.AverageOrderValue, wg.AOV)
		num(p+"average_revenue_per_user", gg.AverageRevenuePerUser, wg.ARPU)
		num(p+"cvr", gg.CVR, wg.CVR)
		num(p+"uplift", gg.Uplift, wg.Uplift)
		num(p+"gcg_uplift", gg.GCGUplift, wg.GCGUplift)
	}
	for name := range got.ConversionGoalStats {
		if want.Goals[name] == nil {
			out = append(out, fmt.Sprintf("conversion_goal_stats[%q] unexpected", name))
		}
	}
	return out
}

// liveLoad replays a workload's operations through the public ingest, catalog and funnel APIs (plain HTTP) and
// into the reference model, and checks each answer against the model.
func liveLoad(t *testing.T, lc *liveClient, appID, dataKey string, ops []workloadOp, m *refModel) {
	t.Helper()
	h := liveBasic(appID, dataKey)
	first := map[string]int{} // endpoint|Idempotency-Key → the first status
	for i, op := range ops {
		switch op.Kind {
		case opIngest:
			want := m.Ingest(op.Events, time.Now())
			body, _ := json.Marshal(map[string]any{"events": op.Events})
			status, _, raw := lc.do(t, http.MethodPost, "/v1/streams/"+url.PathEscape(appID), h, body)
			var res struct {
				Accepted, Duplicates, Rejected int
			}
			if status != http.StatusOK || json.Unmarshal(raw, &res) != nil {
				t.Fatalf("op %d: streams: HTTP %d: %s", i, status, raw)
			}
			if res.Accepted != want.Accepted || res.Duplicates != want.Duplicates || res.Rejected != want.Rejected {
				t.Errorf("op %d: accepted/duplicates/rejected %d/%d/%d, want %d/%d/%d", i, res.Accepted, res.Duplicates,
					res.Rejected, want.Accepted, want.Duplicates, want.Rejected)
			}
		case opPut:
			want := m.PutCampaign(op.Campaign, op.Put)
			body, _ := json.Marshal(op.Put)
			status, _, raw := lc.do(t, http.MethodPut, "/v1/campaigns/"+url.PathEscape(appID)+"/"+url.PathEscape(op.Campaign), h, body)
			if status != want {
				t.Errorf("op %d: PUT %s: HTTP %d, want %d: %s", i, op.Campaign, status, want, raw)
			}
		case opFunnel:
			want, _ := m.PostFunnel(op.Campaign, op.Funnel)
			body, _ := json.Marshal(op.Funnel)
			status, _, raw := lc.do(t, http.MethodPost, "/v1/campaigns/"+url.PathEscape(appID)+"/"+url.PathEscape(op.Campaign)+"/funnel", h, body)
			if status != want {
				t.Errorf("op %d: funnel %s: HTTP %d, want %d: %s", i, op.Campaign, status, want, raw)
			}
		case opTrack:
			want, _, replay := m.TrackRequest(op.Endpoint, op.Key, op.Body, time.Now())
			th := h.Clone()
			if op.Key != "" {
				th.Set("Idempotency-Key", op.Key)
			}
			status, _, raw := lc.do(t, http.MethodPost, "/v1/"+op.Endpoint+"/"+url.PathEscape(appID), th, op.Body)
			if replay {
				want = first[op.Endpoint+"|"+op.Key]
			} else if op.Key != "" {
				first[op.Endpoint+"|"+op.Key] = status
			}
			if status != want {
				t.Errorf("op %d: %s: HTTP %d, want %d: %s", i, op.Endpoint, status, want, raw)
			}
		}
	}
}

// liveRowsReport runs a `rows`-layout report (§8.6, §8.7 with §13.1's keys) over the whole workload, downloads it by
// name with the Signature header, and compares its all-platform, all-locale rows with the reference. The layout is
// named explicitly: new definitions default to the `moengage` layout (§13.2).
func liveRowsReport(t *testing.T, lc *liveClient, appID, reportKey string, w *workload, m *refModel) {
	t.Helper()
	start, end := addDays(w.FirstDay, -1), addDays(w.FirstDay, 35)
	name := lc.runReport(t, appID, reportKey, map[string]any{"name": "Live rows", "layout": "rows",
		"range": map[string]any{"start_date": start, "end_date": end}, "split_by": []string{"platform", "locale"},
		"metric_type": "TOTAL", "attribution_type": "VIEW_THROUGH", "compression": "zip"})
	status, header, body := lc.downloadReport(t, appID, reportKey, name)
	if status != http.StatusOK {
		t.Fatalf("download %s: HTTP %d: %s", name, status, body)
	}
	sum := sha256.Sum256(body)
	if got := strings.Trim(header.Get("ETag"), `"`); got != hex.EncodeToString(sum[:]) {
		t.Errorf("download %s: ETag %s, body SHA-256 %x", name, got, sum)
	}
	if got := header.Get("Content-Disposition"); got != `attachment; filename="`+name+`"` {
		t.Errorf("download %s: Content-Disposition %q", name, got)
	}
	if status, _, _ := lc.downloadReport(t, appID, reportKey+"x", name); status != http.StatusUnauthorized {
		t.Errorf("download with a wrong signature: HTTP %d, want 401", status)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := m.Stats(StatsRequest{RequestID: "report", CampaignIDs: nil, StartDate: start, EndDate: end,
		AttributionType: "VIEW_THROUGH", MetricType: "TOTAL", Limit: ptrInt(1000)})
	rows, checked := 0, 0
	firstPlatform := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(rc).ReadAll()
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if len(records) == 0 {
			continue
		}
		col := map[string]int{}
		for i, h := range records[0] {
			col[h] = i
		}
		for _, need := range []string{"Campaign ID", "Platform", "Locale"} {
			if _, ok := col[need]; !ok {
				t.Fatalf("%s: no %s column in %v", f.Name, need, records[0])
			}
		}
		for _, rec := range records[1:] {
			rows++
			cid, p, l := rec[col["Campaign ID"]], rec[col["Platform"]], rec[col["Locale"]]
			if _, ok := firstPlatform[cid]; !ok {
				firstPlatform[cid] = p
			}
			if !livePlatformKeys[p] {
				t.Errorf("%s: campaign %s: Platform %q is not a §13.1 key", f.Name, cid, p)
			}
			if l == legacyAllLocales {
				t.Errorf("%s: campaign %s: Locale %q is the published aggregate key", f.Name, cid, l)
			}
			if p != allPlatforms || l != allLocale {
				continue
			}
			ref := want.Data[cid].Platforms[allPlatforms][allLocale][allVariations]
			if ref == nil {
				t.Errorf("%s: campaign %s is not selected by the reference", f.Name, cid)
				continue
			}
			for h, i := range col {
				field, ok := rowsColumnField(h)
				if !ok {
					continue
				}
				v, err := strconv.ParseFloat(rec[i], 64)
				if wv, has := ref.Perf[field]; !has || err != nil || v != wv {
					t.Errorf("%s: campaign %s ALL_PLATFORMS/all_locale %s = %q, want %v", f.Name, cid, h, rec[i], ref.Perf[field])
				}
			}
			checked++
		}
	}
	for cid, p := range firstPlatform {
		if p != allPlatforms {
			t.Errorf("%s: the first row of campaign %s has Platform %s, want ALL_PLATFORMS (§13.1)", name, cid, p)
		}
	}
	if checked < len(want.Order)/2 {
		t.Errorf("%s: %d rows, %d all-platform rows compared for %d campaigns", name, rows, checked, len(want.Order))
	}
	t.Logf("%s: %d rows, %d all-platform rows compared with the reference", name, rows, checked)
}

// rowsColumnField maps a metric column of the rows layout (§8.7: Stats fields in Title Case, `ctr`/`ctor` upper
// case) to its Stats field; the column Opened holds the `open` counter (§13.1).
func rowsColumnField(h string) (string, bool) {
	switch h {
	case "Opened":
		return "open", true
	case "CTR", "CTOR":
		return strings.ToLower(h), true
	}
	f := strings.ToLower(strings.ReplaceAll(h, " ", "_"))
	for _, pf := range perfFields {
		for _, c := range pf.counts {
			if c == f {
				return f, true
			}
		}
		for _, r := range pf.rates {
			if r[0] == f {
				return f, true
			}
		}
	}
	return "", false
}

// TestLiveLegacyAggregateLocaleInput: §2.6 treats an event locale equal to `all_locales` as absent, and §13 does
// not supersede §2.6 (it changes emitted keys only; the aggregate is now written `all_locale`). An SMS campaign with
// one event carrying locale_name "all_locales" and one carrying "all_locale" therefore has the single locale key
// all_locale, with sent = 2; `all_locales` must never appear as a key (§13.1).
func TestLiveLegacyAggregateLocaleInput(t *testing.T) {
	t.Parallel()
	lc := startLiveServer(t)
	ws := lc.createWorkspace(t, "legacy locale", "UTC")
	body := `{"events":[
		{"event_uuid":"l1","event_code":"SMS_SENT","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"c1","locale_name":"all_locales"}},
		{"event_uuid":"l2","event_code":"SMS_SENT","event_time":1740819600,"uid":"u2","event_attributes":{"campaign_id":"c1","locale_name":"all_locale"}}]}`
	if status, _, raw := lc.do(t, http.MethodPost, "/v1/streams/"+ws.ID, liveBasic(ws.ID, ws.DataKey), []byte(body)); status != http.StatusOK ||
		!strings.Contains(string(raw), `"accepted":2`) {
		t.Fatalf("ingest: HTTP %d: %s", status, raw)
	}
	time.Sleep(1100 * time.Millisecond)
	resp, got := lc.stats(t, ws.ID, ws.ReportKey, liveStatsRequest{RequestID: "legacy", CampaignIDs: []string{"c1"},
		StartDate: "2025-03-01", EndDate: "2025-03-01", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL", Limit: 10})
	locales := resp.Data["c1"][0].Platforms[allPlatforms].Locales
	if len(locales) != 1 {
		keys := make([]string, 0, len(locales))
		for k := range locales {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("locale keys %v, want only all_locale (§2.6: a locale equal to all_locales is absent): %s", keys, got)
	}
	if n, ok := resp.overall("c1"); !ok || n.PerformanceStats["sent"] != "2" {
		t.Errorf("ALL_PLATFORMS/all_locale/all_variations sent = %v, want 2", n.PerformanceStats["sent"])
	}
	checkLiveKeys(t, "legacy locale", got)
}
