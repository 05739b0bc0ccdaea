package e2e

// Worked examples of the SPEC (§5.16, §5.17, §6.3, §6.4, §6.5) reproduced literally against the real server,
// driven only through the public client. Every expected value below is typed from the SPEC text; nothing is computed
// by the code under test or by the reference model.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// ---------------------------------------------------------------------------------------------------------------
// SPEC literals, copied verbatim from the SPEC's code blocks. The responses are printed in the keys of §1.3/§5.8;
// liveSpecJSON reads them through §13.1's table, as §13.1 says.

// §5.16 request.
const spec516Request = `
{"request_id":"daily-2025-03-01","campaign_ids":["65f1c0a2b3c4d5e6f7a8b9c0"],
 "start_date":"2025-03-01","end_date":"2025-03-02","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}
`

// §5.16 response.
const spec516Response = `
{"response_id": "daily-2025-03-01", "total_campaigns": 1, "current_page": 1, "total_pages": 1,
 "data": {"65f1c0a2b3c4d5e6f7a8b9c0": [{"platforms": {"android": {"locales": {
  "all_locales": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":124,"sent":120,"failed":4,"impression":109,"click":25,"ctr":22.94,"delivery_rate":90.83,"sent_rate":96.77,"failure_rate":3.23},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":12,"total":12,"unique":11,"revenue":1040,"average_order_value":86.67,"average_revenue_per_user":94.55,"cvr":10.09,"uplift":61.47,"gcg_uplift":0}},
      "delivery_funnel": {"sent":120,"impressions":109,"reachable_users_in_segment":150,"after_fc":140},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":3,"rejected_by_sending_service":1}},
    "variation_1": {
      "performance_stats": {"attempted":63,"sent":60,"failed":3,"impression":54,"click":12,"ctr":22.22,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":8,"total":8,"unique":7,"revenue":750,"average_order_value":93.75,"average_revenue_per_user":107.14,"cvr":12.96,"uplift":107.41,"gcg_uplift":0}},
      "delivery_funnel": {"sent":60,"impressions":54},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2,"rejected_by_sending_service":1}},
    "variation_2": {
      "performance_stats": {"attempted":61,"sent":60,"failed":1,"impression":55,"click":13,"ctr":23.64,"delivery_rate":91.67,"sent_rate":98.36,"failure_rate":1.64},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":4,"total":4,"unique":4,"revenue":290,"average_order_value":72.5,"average_revenue_per_user":72.5,"cvr":7.27,"uplift":16.36,"gcg_uplift":0}},
      "delivery_funnel": {"sent":60,"impressions":55},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":80,"average_order_value":80,"average_revenue_per_user":80,"cvr":6.25,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":16}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":3}}}},
  "en": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":80,"sent":78,"failed":2,"impression":71,"click":16,"ctr":22.54,"delivery_rate":91.03,"sent_rate":97.5,"failure_rate":2.5},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":9,"total":9,"unique":8,"revenue":840,"average_order_value":93.33,"average_revenue_per_user":105,"cvr":11.27,"uplift":80.28,"gcg_uplift":0}},
      "delivery_funnel": {"sent":78,"impressions":71},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2}},
    "variation_1": {
      "performance_stats": {"attempted":42,"sent":40,"failed":2,"impression":36,"click":9,"ctr":25,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":6,"total":6,"unique":5,"revenue":600,"average_order_value":100,"average_revenue_per_user":120,"cvr":13.89,"uplift":122.22,"gcg_uplift":0}},
      "delivery_funnel": {"sent":40,"impressions":36},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2}},
    "variation_2": {
      "performance_stats": {"attempted":38,"sent":38,"failed":0,"impression":35,"click":7,"ctr":20,"delivery_rate":92.11,"sent_rate":100,"failure_rate":0},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":3,"total":3,"unique":3,"revenue":240,"average_order_value":80,"average_revenue_per_user":80,"cvr":8.57,"uplift":37.14,"gcg_uplift":0}},
      "delivery_funnel": {"sent":38,"impressions":35},
      "failure_breakdown": {}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":80,"average_order_value":80,"average_revenue_per_user":80,"cvr":10,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":10}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":2}}}},
  "fr": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":44,"sent":42,"failed":2,"impression":38,"click":9,"ctr":23.68,"delivery_rate":90.48,"sent_rate":95.45,"failure_rate":4.55},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":3,"total":3,"unique":3,"revenue":200,"average_order_value":66.67,"average_revenue_per_user":66.67,"cvr":7.89,"uplift":26.32,"gcg_uplift":0}},
      "delivery_funnel": {"sent":42,"impressions":38},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1,"rejected_by_sending_service":1}},
    "variation_1": {
      "performance_stats": {"attempted":21,"sent":20,"failed":1,"impression":18,"click":3,"ctr":16.67,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":2,"total":2,"unique":2,"revenue":150,"average_order_value":75,"average_revenue_per_user":75,"cvr":11.11,"uplift":77.78,"gcg_uplift":0}},
      "delivery_funnel": {"sent":20,"impressions":18},
      "failure_breakdown": {"rejected_by_sending_service":1}},
    "variation_2": {
      "performance_stats": {"attempted":23,"sent":22,"failed":1,"impression":20,"click":6,"ctr":30,"delivery_rate":90.91,"sent_rate":95.65,"failure_rate":4.35},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":50,"average_order_value":50,"average_revenue_per_user":50,"cvr":5,"uplift":-20,"gcg_uplift":0}},
      "delivery_funnel": {"sent":22,"impressions":20},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":6}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":1}}}}}}}}]}}
`

// §5.17 request.
const spec517Request = `
{"request_id":"email-check-7","campaign_ids":["6763f09a1f53871780a63623"],"start_date":"2025-03-01",
 "end_date":"2025-03-10","attribution_type":"click_through","metric_type":"UNIQUE"}
`

// §5.17 response.
const spec517Response = `
{"response_id": "email-check-7", "total_campaigns": 1, "current_page": 1, "total_pages": 1,
 "data": {"6763f09a1f53871780a63623": [{"platforms": {"EMAIL": {"locales": {
  "all_locales": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":1000,"sent":950,"failed":50,"delivered":920,"opened":400,"click":60,"unsubscribe":4,"complaint":1,"hard_bounce":10,"soft_bounce":20,"bounced":30,"ctr":6.52,"open_rate":43.48,"delivery_rate":96.84,"ctor":15,"unsub_rate":0.43,"bounce_rate":3.16,"complaints_rate":0.11,"sent_rate":95,"failure_rate":5},
      "conversion_goal_stats": {"Order Placed":{"goal_name":"Order Placed","conversions":20,"total":25,"unique":20,"revenue":3000.5,"average_order_value":120.02,"average_revenue_per_user":150.03,"cvr":33.33,"uplift":0,"gcg_uplift":1566.67}},
      "delivery_funnel": {"sent":950,"delivered":920,"user_with_email":1100,"after_fc":1000},
      "failure_breakdown": {"hard_bounce_dropped_reason":30,"unknown":20}},
    "global_control_group": {
      "conversion_goal_stats": {"Order Placed":{"goal_name":"Order Placed","conversions":1,"total":1,"unique":1,"revenue":99,"average_order_value":99,"average_revenue_per_user":99,"cvr":2,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":50}}}}}}}}]}}
`

// ---------------------------------------------------------------------------------------------------------------
// Server, workspace and request helpers

const specExamplesAdminToken = "spec-examples-admin-token-0123456789"

// startSpecServer starts the real server in-process with a temporary data directory.
func startSpecServer(t *testing.T) *client.Client {
	t.Helper()
	return startSpecServerWaiting(t, 30*time.Second) // numbers, not timing, are checked here: never read derived data early on a loaded machine
}

// startSpecServerWaiting starts the server with the given --derive-wait.
func startSpecServerWaiting(t *testing.T, deriveWait time.Duration) *client.Client {
	t.Helper()
	cfg := config.Default()
	cfg.DeriveWait = deriveWait
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = specExamplesAdminToken
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
	return client.New(srv.URL())
}

// specWS is one workspace (timezone UTC, generous Stats rate limit) on a started server.
type specWS struct {
	t                      *testing.T
	c                      *client.Client
	id, dataKey, reportKey string
}

func newSpecWS(t *testing.T, c *client.Client) *specWS {
	t.Helper()
	ws, err := c.CreateWorkspace(t.Context(), specExamplesAdminToken, client.CreateWorkspaceRequest{
		Name: "spec examples", Timezone: "UTC", RateLimitPerMinute: 10000})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	return &specWS{t: t, c: c, id: ws.WorkspaceID, dataKey: ws.DataKey, reportKey: ws.ReportKey}
}

// put writes a campaign (§3.12) and checks the status.
func (w *specWS) put(cid string, body map[string]any, wantStatus int) {
	w.t.Helper()
	status, _, err := w.c.PutCampaign(w.t.Context(), w.id, w.dataKey, cid, body)
	if err != nil {
		w.t.Fatalf("PUT %s: %v", cid, err)
	}
	if status != wantStatus {
		w.t.Errorf("PUT %s: status %d, want %d", cid, status, wantStatus)
	}
}

// ingest posts one Streams batch and requires every event to be accepted.
func (w *specWS) ingest(events []map[string]any) {
	w.t.Helper()
	list := make([]any, len(events))
	for i, e := range events {
		list[i] = e
	}
	res, err := w.c.IngestEvents(w.t.Context(), w.id, w.dataKey, list)
	if err != nil {
		w.t.Fatalf("ingest: %v", err)
	}
	if res.Accepted != len(events) || res.Duplicates != 0 || res.Rejected != 0 {
		w.t.Fatalf("ingest of %d events: accepted/duplicates/rejected = %d/%d/%d, errors %+v", len(events),
			res.Accepted, res.Duplicates, res.Rejected, res.Errors)
	}
}

// ingestExportFile posts events as an hourly export file: NDJSON lines of export-wrapped events (§3.2 shape b).
func (w *specWS) ingestExportFile(events []map[string]any, exportDay, exportHour string) {
	w.t.Helper()
	var buf bytes.Buffer
	for i, e := range events {
		line, err := json.Marshal(map[string]any{"app_name": "Shop", "export_hour": exportHour,
			"export_doc_id": fmt.Sprintf("doc-%d", i), "db_name": "shop", "export_day": exportDay, "event": e})
		if err != nil {
			w.t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	res, err := w.c.IngestStreams(w.t.Context(), w.id, w.dataKey, client.ContentTypeNDJSON, buf.Bytes(), false)
	if err != nil {
		w.t.Fatalf("ingest export file: %v", err)
	}
	if res.Accepted != len(events) || res.Duplicates != 0 || res.Rejected != 0 {
		w.t.Fatalf("ingest export file of %d events: accepted/duplicates/rejected = %d/%d/%d, errors %+v",
			len(events), res.Accepted, res.Duplicates, res.Rejected, res.Errors)
	}
}

// track sends one Track Event action (§3.8) for customerID at the given UTC instant.
func (w *specWS) track(customerID, action string, at time.Time, attrs map[string]any) {
	w.t.Helper()
	act := map[string]any{"action": action, "current_time": at.UTC().Format(time.RFC3339), "platform": "Android"}
	if attrs != nil {
		act["attributes"] = attrs
	}
	body, err := json.Marshal(map[string]any{"type": "event", "customer_id": customerID, "actions": []any{act}})
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.c.TrackEvent(w.t.Context(), w.id, w.dataKey, body, "")
	if err != nil {
		w.t.Fatalf("track %s %s at %s: %v", customerID, action, at.Format(time.RFC3339), err)
	}
	if res.Status != "success" {
		w.t.Fatalf("track %s %s: status %q", customerID, action, res.Status)
	}
}

// funnel posts one delivery-funnel entry (§3.13).
func (w *specWS) funnel(cid string, entry client.FunnelEntry) {
	w.t.Helper()
	n, err := w.c.PostFunnel(w.t.Context(), w.id, w.dataKey, cid, entry)
	if err != nil {
		w.t.Fatalf("funnel post to %s: %v", cid, err)
	}
	if n != 1 {
		w.t.Errorf("funnel post to %s: accepted %d, want 1", cid, n)
	}
}

// rawStats sends a Stats request body verbatim and returns the 200 body.
func (w *specWS) rawStats(body string) []byte {
	w.t.Helper()
	resp, data, err := w.c.Do(w.t.Context(), http.MethodPost, client.StatsPath, client.StatsHeader(w.id, w.reportKey),
		[]byte(body))
	if err != nil {
		w.t.Fatalf("stats: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("stats: HTTP %d: %s", resp.StatusCode, data)
	}
	return data
}

// stats calls the Stats API through the typed client.
func (w *specWS) stats(req client.StatsRequest) *client.StatsResponse {
	w.t.Helper()
	resp, err := w.c.CampaignStats(w.t.Context(), w.id, w.reportKey, req)
	if err != nil {
		w.t.Fatalf("stats %+v: %v", req, err)
	}
	return resp
}

// settle waits out the visibility bound of §3.6 (an acknowledged event is visible within 1 second).
func settle() { time.Sleep(1100 * time.Millisecond) }

// eventMaker builds Streams events with unique event_uuids.
type eventMaker struct {
	prefix string
	n      int
}

// ev returns a Streams event; code or name may be "". attrs is copied.
func (m *eventMaker) ev(code, name, uid string, at time.Time, attrs map[string]any) map[string]any {
	m.n++
	a := make(map[string]any, len(attrs))
	for k, v := range attrs {
		a[k] = v
	}
	ev := map[string]any{"event_uuid": fmt.Sprintf("%s-%05d", m.prefix, m.n), "event_time": at.Unix(),
		"event_type": "CAMPAIGN_EVENT", "event_source": "MOENGAGE", "uid": uid, "event_attributes": a}
	if code != "" {
		ev["event_code"] = code
	}
	if name != "" {
		ev["event_name"] = name
	}
	return ev
}

func withAttrs(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic JSON comparison

// decodeSpecJSON parses JSON keeping numbers as json.Number.
func decodeSpecJSON(t *testing.T, what string, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, data)
	}
	return v
}

// jsonDiff lists every difference between two decoded JSON trees as "path: want W, got G". Objects must have the
// same keys (key order is not compared); numbers are compared by exact decimal value. Numbers of equal value but a
// different spelling are reported separately in spelled.
func jsonDiff(path string, want, got any, diffs, spelled *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an object, got %s", path, shortJSON(got)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := path + "." + k
			if strings.ContainsAny(k, ". []") || k == "" {
				p = fmt.Sprintf("%s[%q]", path, k)
			}
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got (missing)", p, shortJSON(wv)))
			case !wok:
				*diffs = append(*diffs, fmt.Sprintf("%s: want (absent), got %s", p, shortJSON(gv)))
			default:
				jsonDiff(p, wv, gv, diffs, spelled)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an array, got %s", path, shortJSON(got)))
			return
		}
		if len(w) != len(g) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %d elements, got %d: %s", path, len(w), len(g), shortJSON(g)))
			return
		}
		for i := range w {
			jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs, spelled)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, w, shortJSON(got)))
			return
		}
		wr, ok1 := new(big.Rat).SetString(string(w))
		gr, ok2 := new(big.Rat).SetString(string(g))
		switch {
		case !ok1 || !ok2 || wr.Cmp(gr) != 0:
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, w, g))
		case string(w) != string(g):
			*spelled = append(*spelled, fmt.Sprintf("%s: want %s, got %s (same value)", path, w, g))
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, shortJSON(want), shortJSON(got)))
		}
	}
}

func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// liveSpecJSON reads a SPEC response literal through §13.1 (specToLive) and returns it as JSON, numbers unchanged.
func liveSpecJSON(t *testing.T, literal string) []byte {
	t.Helper()
	b, err := json.Marshal(specToLive(decodeSpecJSON(t, "SPEC literal", []byte(literal))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertSameJSON fails the test with every differing path when got is not semantically equal to want.
func assertSameJSON(t *testing.T, what string, want, got []byte) {
	t.Helper()
	var diffs, spelled []string
	jsonDiff("$", decodeSpecJSON(t, what+" (want)", want), decodeSpecJSON(t, what+" (got)", got), &diffs, &spelled)
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences (path: want, got):\n  %s\nfull response: %s", what, len(diffs),
			strings.Join(diffs, "\n  "), got)
	}
	if len(spelled) > 0 {
		t.Errorf("%s: numbers not in the shortest form of §1.6:\n  %s", what, strings.Join(spelled, "\n  "))
	}
}

// ---------------------------------------------------------------------------------------------------------------
// §5.16 — push campaign, 2 locales, 2 variations, control groups, VIEW_THROUGH, TOTAL

func TestSpec516PushLocalesVariationsControlGroups(t *testing.T) {
	c := startSpecServer(t)
	w := newSpecWS(t, c)
	const cid = "65f1c0a2b3c4d5e6f7a8b9c0"

	// The campaign with its goal: Purchase, revenue attribute amount, window 36 h.
	w.put(cid, map[string]any{
		"campaign_name": "Spring Sale", "channel": "PUSH", "campaign_delivery_type": "ONE_TIME",
		"campaign_start_time": "2025-03-01T06:00:00Z",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 36, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true,
				"revenue_attribute": "amount", "revenue_currency": "USD"}}},
		"control_group_details": map[string]any{"is_campaign_control_group_enabled": true,
			"campaign_control_group_percentage": 10, "is_global_control_group_enabled": true},
	}, http.StatusCreated)

	base := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	m := &eventMaker{prefix: "ex516"}
	attrs := func(loc, vr string) map[string]any {
		return map[string]any{"campaign_id": cid, "campaign_name": "Spring Sale", "campaign_type": "One Time",
			"campaign_channel": "Push", "locale_name": loc, "variation_id": vr}
	}
	type buy struct {
		user   int // index of the cell's sent user
		amount float64
	}
	// The SPEC's table. Every buyer is a user of the cell (one variation only); buyers are clickers except en/2
	// user 20 (impression only) and fr/1 user 19 (sent only): every send/view/click is an interaction (§6.1).
	cells := []struct {
		loc, vr                          string
		sent, failed, reason, imp, click int
		buys                             []buy
	}{
		{"en", "1", 40, 2, 201, 36, 9, []buy{{0, 100}, {0, 100}, {1, 100}, {2, 100}, {3, 100}, {4, 100}}}, // 6 (5 users, 600)
		{"en", "2", 38, 0, 0, 35, 7, []buy{{0, 80}, {1, 80}, {20, 80}}},                                   // 3 (3 users, 240)
		{"fr", "1", 20, 1, 501, 18, 3, []buy{{0, 75}, {19, 75}}},                                          // 2 (2 users, 150)
		{"fr", "2", 22, 1, 201, 20, 6, []buy{{0, 50}}},                                                    // 1 (1 user, 50)
	}
	var events []map[string]any
	user := func(loc, vr string, i int) string { return fmt.Sprintf("u516-%s-%s-%02d", loc, vr, i) }
	for ci, cell := range cells {
		for i := 0; i < cell.sent; i++ {
			u := user(cell.loc, cell.vr, i)
			at := base.Add(time.Duration(ci*50+i) * time.Minute)
			events = append(events, m.ev("", "Notification Sent Android", u, at, attrs(cell.loc, cell.vr)))
			if i < cell.imp {
				events = append(events, m.ev("NOTIFICATION_RECEIVED_MOE", "Notification Received Android", u,
					at.Add(time.Minute), attrs(cell.loc, cell.vr)))
			}
			if i < cell.click {
				events = append(events, m.ev("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", u,
					at.Add(2*time.Minute), attrs(cell.loc, cell.vr)))
			}
		}
		for i := 0; i < cell.failed; i++ {
			u := fmt.Sprintf("u516-%s-%s-failed-%02d", cell.loc, cell.vr, i)
			events = append(events, m.ev("", "Notification Failed Android", u,
				base.Add(time.Duration(ci*50+i)*time.Minute), withAttrs(attrs(cell.loc, cell.vr), "reason_code", cell.reason)))
		}
	}
	// Held out, one event per user: campaign group en 10, fr 6; global group en 2, fr 1. Half of each group through
	// a push failure with reason code 204 / 203, the rest through MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP
	// (platform android; control_group_type global for the global group).
	held := []struct {
		loc    string
		n      int
		global bool
	}{{"en", 10, false}, {"fr", 6, false}, {"en", 2, true}, {"fr", 1, true}}
	heldUser := func(loc string, global bool, i int) string {
		g := "ccg"
		if global {
			g = "gcg"
		}
		return fmt.Sprintf("u516-%s-%s-%02d", g, loc, i)
	}
	for hi, h := range held {
		for i := 0; i < h.n; i++ {
			vr := []string{"1", "2"}[i%2]
			u := heldUser(h.loc, h.global, i)
			at := base.Add(time.Hour + time.Duration(hi*20+i)*time.Minute)
			if i < (h.n+1)/2 {
				code := 204
				if h.global {
					code = 203
				}
				events = append(events, m.ev("", "Notification Failed Android", u, at,
					withAttrs(attrs(h.loc, vr), "reason_code", code)))
				continue
			}
			a := withAttrs(attrs(h.loc, vr), "platform", "android")
			if h.global {
				a["control_group_type"] = "global"
			}
			events = append(events, m.ev("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", u, at, a))
		}
	}
	w.ingest(events)

	// Purchases via Track Event, after every interaction of the buyer and within 36 h.
	k := 0
	for _, cell := range cells {
		for _, b := range cell.buys {
			w.track(user(cell.loc, cell.vr, b.user), "Purchase", time.Date(2025, 3, 1, 18, k, 0, 0, time.UTC),
				map[string]any{"amount": b.amount, "sku": "A-1"})
			k++
		}
	}
	// One campaign-control-group user (en) bought for 80.
	w.track(heldUser("en", false, 0), "Purchase", time.Date(2025, 3, 1, 19, 0, 0, 0, time.UTC), map[string]any{"amount": 80})
	// Purchases that credit nothing: a user without any interaction, a user whose only interaction (sent, en/1,
	// 06:39) is more than 36 h before the purchase, and a non-goal action of a clicker.
	w.track("u516-stranger", "Purchase", time.Date(2025, 3, 1, 19, 30, 0, 0, time.UTC), map[string]any{"amount": 999})
	w.track(user("en", "1", 39), "Purchase", time.Date(2025, 3, 2, 19, 0, 0, 0, time.UTC), map[string]any{"amount": 70})
	w.track(user("en", "1", 5), "AddToCart", time.Date(2025, 3, 1, 18, 30, 0, 0, time.UTC), map[string]any{"amount": 5})

	// Posted funnel entry: android, no locale, no variation.
	w.funnel(cid, client.FunnelEntry{Date: "2025-03-01", Platform: "android",
		Stages: map[string]int64{"reachable_users_in_segment": 150, "after_fc": 140}})

	settle()
	got := w.rawStats(spec516Request)
	// The SPEC's response read through §13.1: ANDROID, all_locale, and ALL_PLATFORMS equal to ANDROID.
	assertSameJSON(t, "§5.16 response", liveSpecJSON(t, spec516Response), got)
	checkLiveKeys(t, "§5.16 response", got)
}

// ---------------------------------------------------------------------------------------------------------------
// §5.17 — email campaign, UNIQUE, CLICK_THROUGH

func TestSpec517EmailUniqueClickThrough(t *testing.T) {
	c := startSpecServer(t)
	w := newSpecWS(t, c)
	const cid = "6763f09a1f53871780a63623"

	// Goal Order Placed, revenue attribute value; no window: the EMAIL default applies (§2.4).
	w.put(cid, map[string]any{
		"campaign_name": "March newsletter", "channel": "EMAIL", "campaign_delivery_type": "ONE_TIME",
		"conversion_goal_details": map[string]any{"goals": []any{
			map[string]any{"goal_name": "Order Placed", "goal_event_name": "Order Placed", "revenue_attribute": "value"}}},
		"control_group_details": map[string]any{"is_campaign_control_group_enabled": false,
			"is_global_control_group_enabled": true},
	}, http.StatusCreated)

	m := &eventMaker{prefix: "ex517"}
	a := map[string]any{"campaign_id": cid, "campaign_name": "March newsletter", "campaign_channel": "EMAIL",
		"moe_delivery_type": "One Time"}
	day := func(d, h, min int) time.Time { return time.Date(2025, 3, d, h, min, 0, 0, time.UTC) }
	user := func(i int) string { return fmt.Sprintf("u517-%03d", i) }
	var events []map[string]any
	emit := func(code, u string, at time.Time, attrs map[string]any, times int) {
		for k := 0; k < times; k++ {
			ev := m.ev(code, "", u, at.Add(time.Duration(k)*time.Minute), attrs)
			ev["email_id"] = u + "@example.com"
			events = append(events, ev)
		}
	}
	// Users 0..949 were sent (the first 30 twice: TOTAL would differ); 0..919 delivered; 920..929 hard and
	// 930..949 soft bounced; 0..399 opened (the first 100 twice); 0..59 clicked (the first 10 three times);
	// 0..3 unsubscribed; 4 complained.
	for i := 0; i < 950; i++ {
		u := user(i)
		at := day(1, 8, 0).Add(time.Duration(i) * time.Second)
		emit("MOE_EMAIL_SENT", u, at, a, map[bool]int{true: 2, false: 1}[i < 30])
		switch {
		case i < 920:
			emit("MOE_EMAIL_DELIVERED", u, at.Add(5*time.Minute), a, 1)
		case i < 930:
			emit("MOE_EMAIL_HARD_BOUNCE", u, at.Add(5*time.Minute), a, 1)
		default:
			emit("MOE_EMAIL_SOFT_BOUNCE", u, at.Add(5*time.Minute), a, map[bool]int{true: 2, false: 1}[i < 935])
		}
		if i < 400 {
			emit("MOE_EMAIL_OPEN", u, day(1, 12, 0).Add(time.Duration(i)*time.Second), a,
				map[bool]int{true: 2, false: 1}[i < 100])
		}
		if i < 60 {
			emit("MOE_EMAIL_CLICK", u, day(2, 9, 0).Add(time.Duration(i)*time.Second), a,
				map[bool]int{true: 3, false: 1}[i < 10])
		}
		if i < 4 {
			emit("MOE_EMAIL_UNSUBSCRIBE", u, day(2, 10, 0), a, 1)
		}
		if i == 4 {
			emit("MOE_EMAIL_SPAM", u, day(2, 10, 0), a, 1)
		}
	}
	// 50 dropped users (not among the sent ones): 30 with reason HARD_BOUNCE_DROPPED_REASON, 20 without reason.
	for i := 0; i < 50; i++ {
		var attrs map[string]any = a
		if i < 30 {
			attrs = withAttrs(a, "reason", "HARD_BOUNCE_DROPPED_REASON")
		}
		emit("MOE_EMAIL_DROP", fmt.Sprintf("u517-dropped-%02d", i), day(1, 8, 30), attrs, 1)
	}
	// Global control group of 50 users (a few with a repeated event), through both held-out codes.
	for i := 0; i < 50; i++ {
		code := "MOE_CAMPAIGN_CONTROL_GROUP"
		if i%2 == 1 {
			code = "MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP"
		}
		emit(code, fmt.Sprintf("u517-gcg-%02d", i), day(1, 8, 0), withAttrs(a, "control_group_type", "global"),
			map[bool]int{true: 2, false: 1}[i < 3])
	}
	w.ingest(events)

	// 25 credited orders by 20 clickers (users 0..19; 0..4 ordered twice), worth 3000.50 in total:
	// 24 × 120 + 120.50 (sent as a numeric string, §5.12).
	n := 0
	for i := 0; i < 20; i++ {
		times := map[bool]int{true: 2, false: 1}[i < 5]
		for k := 0; k < times; k++ {
			var value any = 120
			if n == 24 {
				value = "120.50"
			}
			w.track(user(i), "Order Placed", day(4, 10, n), map[string]any{"value": value})
			n++
		}
	}
	if n != 25 {
		t.Fatalf("built %d orders, want 25", n)
	}
	// The global control group: one user bought for 99.
	w.track("u517-gcg-00", "Order Placed", day(3, 15, 0), map[string]any{"value": 99})
	// Orders that are not CLICK_THROUGH credits: an opener who never clicked, and a clicker ordering before the click.
	w.track(user(100), "Order Placed", day(4, 11, 0), map[string]any{"value": 500})
	w.track(user(45), "Order Placed", day(1, 23, 0), map[string]any{"value": 400})

	w.funnel(cid, client.FunnelEntry{Date: "2025-03-05", Stages: map[string]int64{"user_with_email": 1100, "after_fc": 1000}})

	settle()
	got := w.rawStats(spec517Request)
	// The SPEC's response read through §13.1: ALL_PLATFORMS (for EMAIL), all_locale, open.
	assertSameJSON(t, "§5.17 response", liveSpecJSON(t, spec517Response), got)
	checkLiveKeys(t, "§5.17 response", got)
}

// ---------------------------------------------------------------------------------------------------------------
// §6 helpers

var specAttributionTypes = []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}

// goalCredits returns platform → `total` of goal in the (all_locale, variation) node of campaign cid, for the
// platforms (ALL_PLATFORMS included) where it is not 0.
func goalCredits(t *testing.T, resp *client.StatsResponse, cid, goal, variation string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	arr, ok := resp.Data[cid]
	if !ok {
		t.Errorf("campaign %s missing from the response data: %s", cid, resp.Raw)
		return out
	}
	if len(arr) != 1 {
		t.Errorf("data[%s] has %d elements, want 1", cid, len(arr))
		return out
	}
	for p, ps := range arr[0].Platforms {
		node, ok := ps.Locales[client.AllLocale].Variations[variation]
		if !ok {
			continue
		}
		if gs, ok := node.ConversionGoalStats[goal]; ok && gs.Total != 0 {
			out[p] = gs.Total
		}
	}
	return out
}

func fmtCredits(m map[string]int64) string {
	if len(m) == 0 {
		return "nobody"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// checkCredits compares goalCredits with a §6 table, given in the SPEC's platform keys (ios, android, EMAIL) and
// read through §13.1 (livePlatformCredits: IOS, ANDROID, ALL_PLATFORMS, plus ALL_PLATFORMS for device platforms).
func checkCredits(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	want = livePlatformCredits(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: credited %s, want %s", what, fmtCredits(got), fmtCredits(want))
	}
}

// ---------------------------------------------------------------------------------------------------------------
// §6.3 — push click and email open before a purchase

const (
	spec6A = "push_spring"  // PUSH, W = 36 h
	spec6B = "email_spring" // EMAIL, W = 240 h
)

func putSpec6Campaigns(w *specWS) {
	w.put(spec6A, map[string]any{"campaign_name": "Push spring", "channel": "PUSH",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 36, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase"}}}}, http.StatusCreated)
	w.put(spec6B, map[string]any{"campaign_name": "Email spring", "channel": "EMAIL",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 240, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase"}}}}, http.StatusCreated)
}

// spec63Interactions are u1's campaign events of §6.3, in time order.
func spec63Interactions() []map[string]any {
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	m := &eventMaker{prefix: "ex63"}
	a := map[string]any{"campaign_id": spec6A, "campaign_name": "Push spring", "campaign_channel": "Push"}
	b := map[string]any{"campaign_id": spec6B, "campaign_name": "Email spring", "campaign_channel": "EMAIL"}
	return []map[string]any{
		m.ev("MOE_EMAIL_SENT", "Email Sent", "u1", at(8, 0), b),
		m.ev("MOE_EMAIL_OPEN", "Email Opened", "u1", at(8, 10), b),
		m.ev("n_i_s", "Notification Sent iOS", "u1", at(9, 0), a),
		m.ev("NOTIFICATION_RECEIVED_IOS_MOE", "Notification Received iOS", "u1", at(9, 1), a),
		m.ev("NOTIFICATION_CLICKED_IOS_MOE", "Notification Clicked iOS", "u1", at(9, 20), a),
		m.ev("MOE_EMAIL_OPEN", "Email Opened", "u1", at(9, 40), b),
	}
}

func spec63Goals(w *specWS) {
	w.track("u1", "Purchase", time.Date(2025, 3, 1, 9, 45, 0, 0, time.UTC), map[string]any{"amount": 50}) // E1
	w.track("u1", "Purchase", time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC), map[string]any{"amount": 30}) // E2
}

// setupSpec63 builds §6.3 in w; goalsFirst sends the goal events before the interactions (and the interactions in
// reverse order).
func setupSpec63(w *specWS, goalsFirst bool) {
	putSpec6Campaigns(w)
	evs := spec63Interactions()
	if goalsFirst {
		spec63Goals(w)
		rev := make([]map[string]any, len(evs))
		for i, e := range evs {
			rev[len(evs)-1-i] = e
		}
		w.ingest(rev[:3])
		w.ingest(rev[3:])
		return
	}
	w.ingest(evs)
	spec63Goals(w)
}

type creditPair struct{ A, B map[string]int64 }

// The SPEC's §6.3 table: E1 lies on 2025-03-01, E2 on 2025-03-03.
var spec63E1 = map[string]creditPair{
	"VIEW_THROUGH":      {A: map[string]int64{"ios": 1}, B: map[string]int64{"EMAIL": 1}},
	"CLICK_THROUGH":     {A: map[string]int64{"ios": 1}},
	"IN_SESSION":        {A: map[string]int64{"ios": 1}},
	"TOTAL_CONVERSIONS": {A: map[string]int64{"ios": 1}},
	"CLICK_CONVERSIONS": {A: map[string]int64{"ios": 1}},
}

var spec63E2 = map[string]creditPair{
	"VIEW_THROUGH":      {B: map[string]int64{"EMAIL": 1}},
	"CLICK_THROUGH":     {},
	"IN_SESSION":        {},
	"TOTAL_CONVERSIONS": {B: map[string]int64{"EMAIL": 1}},
	"CLICK_CONVERSIONS": {},
}

type spec63Range struct{ name, start, end string }

var spec63Ranges = []spec63Range{
	{"E1 day", "2025-03-01", "2025-03-01"},
	{"E2 day", "2025-03-03", "2025-03-03"},
	{"both days", "2025-03-01", "2025-03-03"},
}

func spec63Want(at, rng string) creditPair {
	sum := func(x, y map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range x {
			out[k] += v
		}
		for k, v := range y {
			out[k] += v
		}
		return out
	}
	switch rng {
	case "E1 day":
		return spec63E1[at]
	case "E2 day":
		return spec63E2[at]
	}
	return creditPair{A: sum(spec63E1[at].A, spec63E2[at].A), B: sum(spec63E1[at].B, spec63E2[at].B)}
}

func spec6Request(id, at, start, end string) client.StatsRequest {
	return client.StatsRequest{RequestID: id, CampaignIDs: []string{spec6A, spec6B}, StartDate: start, EndDate: end,
		AttributionType: at, MetricType: "TOTAL"}
}

// checkSpec63Credits asserts the §6.3 table in w for every attribution type and range.
func checkSpec63Credits(t *testing.T, w *specWS, label string) {
	t.Helper()
	for _, at := range specAttributionTypes {
		for _, r := range spec63Ranges {
			resp := w.stats(spec6Request("ex63", at, r.start, r.end))
			want := spec63Want(at, r.name)
			what := fmt.Sprintf("%s %s %s..%s", label, at, r.start, r.end)
			checkLiveKeys(t, what, resp.Raw)
			checkCredits(t, what+" A ("+spec6A+")", goalCredits(t, resp, spec6A, "Purchase", "all_variations"), want.A)
			checkCredits(t, what+" B ("+spec6B+")", goalCredits(t, resp, spec6B, "Purchase", "all_variations"), want.B)
		}
	}
}

func TestSpec63PushClickAndEmailOpen(t *testing.T) {
	c := startSpecServer(t)
	inOrder := newSpecWS(t, c)
	setupSpec63(inOrder, false)
	goalsFirst := newSpecWS(t, c)
	setupSpec63(goalsFirst, true)
	settle()

	t.Run("interactions_first", func(t *testing.T) { checkSpec63Credits(t, inOrder, "interactions first:") })
	t.Run("goals_first", func(t *testing.T) { checkSpec63Credits(t, goalsFirst, "goals first:") })

	// Arrival order must not matter (§6.2): identical responses for every type and range.
	t.Run("arrival_order_identical", func(t *testing.T) {
		for _, at := range specAttributionTypes {
			for _, r := range spec63Ranges {
				for _, metric := range []string{"TOTAL", "UNIQUE"} {
					req := spec6Request("ex63-order", at, r.start, r.end)
					req.MetricType = metric
					a := inOrder.stats(req)
					b := goalsFirst.stats(req)
					assertSameJSON(t, fmt.Sprintf("goals-first vs interactions-first, %s %s %s..%s", at, metric,
						r.start, r.end), a.Raw, b.Raw)
				}
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------------------------
// §6.4 — control-group user

func TestSpec64ControlGroupUser(t *testing.T) {
	c := startSpecServer(t)
	w := newSpecWS(t, c)
	// Campaign A as in §6.3 (with §6.3's data, so that "attempted is unchanged" and "does not compete" mean
	// something).
	setupSpec63(w, false)
	settle()
	// §13.1: the §6.3 interactions of A are iOS; ALL_PLATFORMS holds the same numbers.
	before := map[string]map[string]client.VariationNode{}
	for _, at := range specAttributionTypes {
		resp := w.stats(spec6Request("ex64-before", at, "2025-03-01", "2025-03-01"))
		before[at] = map[string]client.VariationNode{}
		for _, p := range []string{client.PlatformIOS, client.AllPlatforms} {
			before[at][p] = resp.Data[spec6A][0].Platforms[p].Locales[client.AllLocale].Variations[client.AllVariations]
		}
	}

	m := &eventMaker{prefix: "ex64"}
	// No group attribute → campaign group; no platform attribute → unknown (UNKNOWN, §13.1).
	w.ingest([]map[string]any{m.ev("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", "u2",
		time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), map[string]any{"campaign_id": spec6A})})
	w.track("u2", "Purchase", time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC), map[string]any{"amount": 25})
	w.track("u2", "Purchase", time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC), map[string]any{"amount": 35})
	settle()

	for _, at := range specAttributionTypes {
		resp := w.stats(spec6Request("ex64", at, "2025-03-01", "2025-03-01"))
		checkLiveKeys(t, "§6.4 "+at, resp.Raw)
		what := "§6.4 " + at + " 2025-03-01"
		plats := resp.Data[spec6A][0].Platforms
		// The control-group node of §6.4 sits under UNKNOWN and, being the only held-out view, has the same numbers
		// in ALL_PLATFORMS.
		for _, p := range []string{client.PlatformUnknown, client.AllPlatforms} {
			ps, ok := plats[p]
			if !ok {
				t.Errorf("%s: A has no platform %q; platforms: %s", what, p, resp.Raw)
				continue
			}
			vars := ps.Locales[client.AllLocale].Variations
			ccg, ok := vars[client.CampaignControlGroup]
			if !ok {
				t.Errorf("%s: A.%s.all_locale has no campaign_control_group node: %s", what, p, resp.Raw)
			} else {
				gs := ccg.ConversionGoalStats["Purchase"]
				if gs.Total != 1 || gs.Unique != 1 || gs.Conversions != 1 || gs.CVR != 100 {
					t.Errorf("%s: %s campaign_control_group Purchase total/unique/conversions/cvr = %d/%d/%d/%v, want 1/1/1/100",
						what, p, gs.Total, gs.Unique, gs.Conversions, gs.CVR)
				}
				if want := map[string]int64{"user_removed_due_to_campaing_control_group": 1}; !reflect.DeepEqual(ccg.FailureBreakdown, want) {
					t.Errorf("%s: %s campaign_control_group failure_breakdown = %v, want %v", what, p, ccg.FailureBreakdown, want)
				}
				if ccg.HasPerformanceStats {
					t.Errorf("%s: %s campaign_control_group has performance_stats", what, p)
				}
			}
			if _, ok := vars[client.GlobalControlGroup]; ok {
				t.Errorf("%s: unexpected global_control_group node under %s", what, p)
			}
			// Not in all_variations (§5.8: all_variations is always present), and no attempt.
			av, ok := vars[client.AllVariations]
			if !ok {
				t.Errorf("%s: A.%s.all_locale has no all_variations node", what, p)
				continue
			}
			if p == client.PlatformUnknown {
				if gs := av.ConversionGoalStats["Purchase"]; gs.Total != 0 || gs.Unique != 0 {
					t.Errorf("%s: A.UNKNOWN all_variations Purchase total/unique = %d/%d, want 0/0", what, gs.Total, gs.Unique)
				}
				if av.PerformanceStats["attempted"] != 0 {
					t.Errorf("%s: A.UNKNOWN all_variations attempted = %v, want 0", what, av.PerformanceStats["attempted"])
				}
			}
		}
		// A's own numbers (attempted, the E1 credit) are unchanged, and the control-group credit takes no part in
		// the competition: the §6.3 E1 credits stay as they were.
		for _, p := range []string{client.PlatformIOS, client.AllPlatforms} {
			after := plats[p].Locales[client.AllLocale].Variations[client.AllVariations]
			if !reflect.DeepEqual(after.PerformanceStats, before[at][p].PerformanceStats) {
				t.Errorf("%s: A.%s performance_stats changed: %v, before %v", what, p, after.PerformanceStats,
					before[at][p].PerformanceStats)
			}
			if after.PerformanceStats["attempted"] != 1 {
				t.Errorf("%s: A.%s attempted = %v, want 1 (u1's n_i_s)", what, p, after.PerformanceStats["attempted"])
			}
		}
		want := spec63E1[at]
		checkCredits(t, what+" A all_variations", goalCredits(t, resp, spec6A, "Purchase", "all_variations"), want.A)
		checkCredits(t, what+" B all_variations", goalCredits(t, resp, spec6B, "Purchase", "all_variations"), want.B)
		checkCredits(t, what+" A campaign_control_group", goalCredits(t, resp, spec6A, "Purchase", "campaign_control_group"),
			map[string]int64{"unknown": 1})

		// The second purchase (49 h after) is outside W = 36 h: no control-group credit on 03-03, and still 1 over
		// both days.
		resp3 := w.stats(spec6Request("ex64-e2", at, "2025-03-03", "2025-03-03"))
		checkCredits(t, "§6.4 "+at+" 2025-03-03 A campaign_control_group",
			goalCredits(t, resp3, spec6A, "Purchase", "campaign_control_group"), nil)
		respAll := w.stats(spec6Request("ex64-all", at, "2025-03-01", "2025-03-03"))
		checkCredits(t, "§6.4 "+at+" 2025-03-01..03 A campaign_control_group",
			goalCredits(t, respAll, spec6A, "Purchase", "campaign_control_group"), map[string]int64{"unknown": 1})
	}
}

// ---------------------------------------------------------------------------------------------------------------
// §6.5 — late-arriving interaction

func TestSpec65LateArrivingInteraction(t *testing.T) {
	c := startSpecServer(t)
	w := newSpecWS(t, c)
	const a, d = "push_spring", "email_d"
	w.put(a, map[string]any{"campaign_name": "Push A", "channel": "PUSH",
		"conversion_goal_details": map[string]any{"goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase"}}}}, http.StatusCreated)
	w.put(d, map[string]any{"campaign_name": "Email D", "channel": "EMAIL",
		"conversion_goal_details": map[string]any{"goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase"}}}}, http.StatusCreated)
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	m := &eventMaker{prefix: "ex65"}

	// D's email open at 11:00 arrives at once; the purchase at 12:00 arrives at 12:01.
	w.ingest([]map[string]any{m.ev("MOE_EMAIL_OPEN", "Email Opened", "u3", at(11, 0),
		map[string]any{"campaign_id": d, "campaign_channel": "EMAIL"})})
	w.track("u3", "Purchase", at(12, 0), map[string]any{"amount": 40})
	settle()

	type row struct{ A, D map[string]int64 }
	check := func(label string, want map[string]row) {
		t.Helper()
		for _, typ := range []string{"VIEW_THROUGH", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"} {
			resp := w.stats(client.StatsRequest{RequestID: "ex65-" + label, CampaignIDs: []string{a, d},
				StartDate: "2025-03-01", EndDate: "2025-03-01", AttributionType: typ, MetricType: "TOTAL"})
			what := fmt.Sprintf("§6.5 call at %s, %s", label, typ)
			checkCredits(t, what+" A", goalCredits(t, resp, a, "Purchase", "all_variations"), want[typ].A)
			checkCredits(t, what+" D", goalCredits(t, resp, d, "Purchase", "all_variations"), want[typ].D)
		}
	}
	check("12:02", map[string]row{
		"VIEW_THROUGH":      {D: map[string]int64{"EMAIL": 1}},
		"TOTAL_CONVERSIONS": {D: map[string]int64{"EMAIL": 1}},
		"CLICK_CONVERSIONS": {},
	})

	// A's push click at 11:50 arrives at 13:00 in an hourly export file.
	w.ingestExportFile([]map[string]any{m.ev("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", "u3", at(11, 50),
		map[string]any{"campaign_id": a, "campaign_channel": "Push"})}, "2025-03-01", "11")
	settle()
	check("13:01", map[string]row{
		"VIEW_THROUGH":      {A: map[string]int64{"android": 1}, D: map[string]int64{"EMAIL": 1}},
		"TOTAL_CONVERSIONS": {A: map[string]int64{"android": 1}},
		"CLICK_CONVERSIONS": {A: map[string]int64{"android": 1}},
	})
}
