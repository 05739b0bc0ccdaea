package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"net/http"
)

func TestCampaignStatsRequestAndSpecExample(t *testing.T) {
	example, err := os.ReadFile("testdata/stats_example_5_16.json")
	if err != nil {
		t.Fatal(err)
	}
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) { writeJSON(w, 200, string(example)) })
	limit := 5
	resp, err := c.CampaignStats(context.Background(), testWS, testRepKey, StatsRequest{
		RequestID: "daily-2025-03-01", CampaignIDs: []string{"65f1c0a2b3c4d5e6f7a8b9c0"},
		StartDate: "2025-03-01", EndDate: "2025-03-02", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL", Limit: &limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	wantReq(t, r, "POST", "/core-services/v1/campaign-stats")
	wantBasic(t, r.Header, testWS, testRepKey)
	wantHeader(t, r.Header, "MOE-APPKEY", testWS)
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantJSONEqual(t, r.Body, `{"request_id":"daily-2025-03-01","campaign_ids":["65f1c0a2b3c4d5e6f7a8b9c0"],
		"start_date":"2025-03-01","end_date":"2025-03-02","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL","limit":5}`)

	if resp.ResponseID != "daily-2025-03-01" || resp.TotalCampaigns != 1 || resp.CurrentPage != 1 || resp.TotalPages != 1 {
		t.Errorf("head = %+v", resp)
	}
	if !bytes.Equal(resp.Raw, example) {
		t.Error("Raw differs from the body")
	}
	if !reflect.DeepEqual(resp.DataOrder, []string{"65f1c0a2b3c4d5e6f7a8b9c0"}) {
		t.Errorf("DataOrder = %v", resp.DataOrder)
	}
	// SPEC §5.16 read through §13.1: ANDROID, all_locale, and ALL_PLATFORMS equal to ANDROID (one platform).
	cs := resp.Data["65f1c0a2b3c4d5e6f7a8b9c0"][0]
	if len(cs.Platforms) != 2 || !reflect.DeepEqual(cs.Platforms[AllPlatforms], cs.Platforms[PlatformAndroid]) {
		t.Errorf("platforms = %v", cs.Platforms)
	}
	vars := cs.Platforms[PlatformAndroid].Locales[AllLocale].Variations
	all := vars[AllVariations]
	if n, ok := cs.Node(AllPlatforms, AllLocale, AllVariations); !ok || !reflect.DeepEqual(n, all) {
		t.Errorf("Node(ALL_PLATFORMS, all_locale, all_variations) = %+v, %v", n, ok)
	}
	if _, ok := cs.Node(PlatformIOS, AllLocale, AllVariations); ok {
		t.Error("Node found an IOS node")
	}
	if !all.HasPerformanceStats || all.PerformanceStats["ctr"] != 22.94 || all.PerformanceStats["attempted"] != 124 {
		t.Errorf("all_variations performance = %v", all.PerformanceStats)
	}
	g := all.ConversionGoalStats["Purchase"]
	want := GoalStats{GoalName: "Purchase", Conversions: 12, Total: 12, Unique: 11, Revenue: 1040, AverageOrderValue: 86.67,
		AverageRevenuePerUser: 94.55, CVR: 10.09, Uplift: 61.47, GCGUplift: 0}
	if g != want {
		t.Errorf("goal = %+v, want %+v", g, want)
	}
	if all.DeliveryFunnel["reachable_users_in_segment"] != 150 || all.FailureBreakdown["rejected_by_sending_service"] != 1 {
		t.Errorf("funnel/failures = %v %v", all.DeliveryFunnel, all.FailureBreakdown)
	}
	ccg := vars[CampaignControlGroup]
	if ccg.HasPerformanceStats || ccg.PerformanceStats != nil {
		t.Errorf("control group has performance_stats: %v", ccg.PerformanceStats)
	}
	if ccg.FailureBreakdown["user_removed_due_to_campaing_control_group"] != 16 || ccg.DeliveryFunnel == nil || len(ccg.DeliveryFunnel) != 0 {
		t.Errorf("control group node = %+v", ccg)
	}
	if v, _ := cs.Node(PlatformAndroid, "fr", "variation_2"); v.ConversionGoalStats["Purchase"].Uplift != -20 {
		t.Errorf("fr/variation_2 uplift = %v", v.ConversionGoalStats["Purchase"].Uplift)
	}

	// Round trip through MarshalJSON gives the same JSON value.
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	wantJSONEqual(t, b, string(example))
}

// TestStatsEmailExampleLiveKeys decodes SPEC §5.17 in the keys of §13.1: ALL_PLATFORMS is the only platform of an
// EMAIL campaign, and the open counter is "open".
func TestStatsEmailExampleLiveKeys(t *testing.T) {
	example, err := os.ReadFile("testdata/stats_example_5_17.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp StatsResponse
	if err := json.Unmarshal(example, &resp); err != nil {
		t.Fatal(err)
	}
	cs := resp.Data["6763f09a1f53871780a63623"][0]
	if len(cs.Platforms) != 1 {
		t.Errorf("platforms = %v", cs.Platforms)
	}
	all, ok := cs.Node(AllPlatforms, AllLocale, AllVariations)
	if !ok {
		t.Fatal("no ALL_PLATFORMS/all_locale/all_variations node")
	}
	ps := all.PerformanceStats
	if _, old := ps["opened"]; old || ps["open"] != 400 || ps["open_rate"] != 43.48 || ps["ctor"] != 15 || ps["bounced"] != 30 {
		t.Errorf("performance_stats = %v", ps)
	}
	if g := all.ConversionGoalStats["Order Placed"]; g.Unique != 20 || g.Total != 25 || g.GCGUplift != 1566.67 {
		t.Errorf("Order Placed = %+v", g)
	}
	if gcg, ok := cs.Node(AllPlatforms, AllLocale, GlobalControlGroup); !ok || gcg.HasPerformanceStats ||
		gcg.FailureBreakdown["user_removed_due_to_global_control_group"] != 50 {
		t.Errorf("global_control_group = %+v %v", gcg, ok)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	wantJSONEqual(t, b, string(example))
}

// TestStatsZeroNode decodes the §13.1 answer for a selected campaign with nothing in range.
func TestStatsZeroNode(t *testing.T) {
	const body = `{"response_id":"z","total_campaigns":1,"current_page":1,"total_pages":1,"data":{"c":[{"platforms":{
		"ALL_PLATFORMS":{"locales":{"all_locale":{"variations":{"all_variations":{
		"performance_stats":{"sent":0},"conversion_goal_stats":{"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,
		"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
		"delivery_funnel":{"sent":0},"failure_breakdown":{}}}}}}}}]}}`
	var r StatsResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	n, ok := r.Data["c"][0].Node(AllPlatforms, AllLocale, AllVariations)
	if !ok || !n.HasPerformanceStats || n.PerformanceStats["sent"] != 0 || n.ConversionGoalStats["Purchase"].GoalName != "Purchase" ||
		n.FailureBreakdown == nil || len(n.FailureBreakdown) != 0 {
		t.Errorf("zero node = %+v %v", n, ok)
	}
}

func TestStatsDataOrderAndNodeRoundTrip(t *testing.T) {
	const body = `{"response_id":"r","total_campaigns":3,"current_page":1,"total_pages":1,"data":{
		"zeta":[{"platforms":{}}],
		"alpha":[{"platforms":{"ALL_PLATFORMS":{"locales":{"all_locale":{"variations":{"all_variations":{"performance_stats":{},"conversion_goal_stats":{},"delivery_funnel":{},"failure_breakdown":{}}}}}}}}],
		"mid":[{"platforms":{}}]}}`
	var r StatsResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.DataOrder, []string{"zeta", "alpha", "mid"}) {
		t.Errorf("DataOrder = %v", r.DataOrder)
	}
	n, _ := r.Data["alpha"][0].Node(AllPlatforms, AllLocale, AllVariations)
	if !n.HasPerformanceStats || n.PerformanceStats == nil || len(n.PerformanceStats) != 0 {
		t.Errorf("empty performance_stats not kept: %+v", n)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"data":{"zeta":`) || strings.Index(string(b), `"alpha"`) > strings.Index(string(b), `"mid"`) {
		t.Errorf("marshal order: %s", b)
	}
	if !strings.Contains(string(b), `"performance_stats":{}`) {
		t.Errorf("empty performance_stats dropped on marshal: %s", b)
	}
	wantJSONEqual(t, b, body)

	// A control-group node never grows a performance_stats key.
	cg, _ := json.Marshal(VariationNode{DeliveryFunnel: map[string]int64{}})
	if strings.Contains(string(cg), "performance_stats") {
		t.Errorf("control-group node marshal = %s", cg)
	}

	// Empty data object.
	var e StatsResponse
	if err := json.Unmarshal([]byte(`{"response_id":"x","total_campaigns":0,"current_page":1,"total_pages":0,"data":{}}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Data == nil || len(e.Data) != 0 || len(e.DataOrder) != 0 {
		t.Errorf("empty data = %#v %#v", e.Data, e.DataOrder)
	}
	// Malformed data.
	if err := json.Unmarshal([]byte(`{"data":[1]}`), &e); err == nil {
		t.Error("data array accepted")
	}
}

// pagedStats serves a list of campaign ids with the pagination rules of SPEC §5.6; the ids are deliberately not in
// sorted order.
func pagedStats(t *testing.T, ids []string) (*Client, *[]recorded) {
	return newServer(t, func(w http.ResponseWriter, r *recorded) {
		var req StatsRequest
		if err := json.Unmarshal(r.Body, &req); err != nil {
			t.Errorf("bad request body %s", r.Body)
		}
		offset, limit := 0, 10
		if req.Offset != nil {
			offset = *req.Offset
		}
		if req.Limit != nil {
			limit = *req.Limit
		}
		total := len(ids)
		pages := (total + limit - 1) / limit
		var parts []string
		for i := offset; i < offset+limit && i < total; i++ {
			parts = append(parts, fmt.Sprintf(`%q:[{"platforms":{"ALL_PLATFORMS":{"locales":{"all_locale":{"variations":{"all_variations":{"performance_stats":{"sent":%d,"attempted":%d},"conversion_goal_stats":{},"delivery_funnel":{},"failure_breakdown":{}}}}}}}}]`, ids[i], i, i))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"response_id":%q,"total_campaigns":%d,"current_page":%d,"total_pages":%d,"data":{%s}}`,
			req.RequestID, total, offset/limit+1, pages, strings.Join(parts, ",")))
	})
}

func TestCampaignStatsAllPages(t *testing.T) {
	var ids []string
	for i := 0; i < 23; i++ {
		ids = append(ids, fmt.Sprintf("c%02d", 22-i))
	}
	c, reqs := pagedStats(t, ids)
	resp, err := c.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{
		RequestID: "all", StartDate: "2025-03-01", EndDate: "2025-03-02", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if err != nil {
		t.Fatal(err)
	}
	if len(*reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(*reqs))
	}
	for i, r := range *reqs {
		var req map[string]any
		_ = json.Unmarshal(r.Body, &req)
		if req["offset"] != float64(i*10) || req["limit"] != float64(10) || req["request_id"] != "all" {
			t.Errorf("page %d request = %v", i, req)
		}
		wantHeader(t, r.Header, "MOE-APPKEY", testWS)
	}
	if !reflect.DeepEqual(resp.DataOrder, ids) {
		t.Errorf("DataOrder = %v", resp.DataOrder)
	}
	if len(resp.Data) != 23 || resp.TotalCampaigns != 23 || resp.TotalPages != 3 || resp.CurrentPage != 3 || resp.ResponseID != "all" {
		t.Errorf("merged head = %d %d %d %d %q", len(resp.Data), resp.TotalCampaigns, resp.TotalPages, resp.CurrentPage, resp.ResponseID)
	}
	// Raw keeps campaign order and the server's key order inside each campaign ("sent" before "attempted").
	var again StatsResponse
	if err := json.Unmarshal(resp.Raw, &again); err != nil {
		t.Fatalf("merged Raw: %v", err)
	}
	if !reflect.DeepEqual(again.DataOrder, ids) || !strings.Contains(string(resp.Raw), `{"sent":5,"attempted":5}`) {
		t.Errorf("merged Raw = %s", resp.Raw)
	}
}

func TestCampaignStatsAllPagesOffsetLimitAndEmpty(t *testing.T) {
	var ids []string
	for i := 0; i < 23; i++ {
		ids = append(ids, fmt.Sprintf("id%d", i))
	}
	c, reqs := pagedStats(t, ids)
	off, lim := 6, 4
	resp, err := c.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "p", Offset: &off, Limit: &lim})
	if err != nil {
		t.Fatal(err)
	}
	// offsets 6, 10, 14, 18, 22 → pages 2..6
	if len(*reqs) != 5 || len(resp.DataOrder) != 17 || resp.DataOrder[0] != "id6" || resp.DataOrder[16] != "id22" {
		t.Errorf("requests=%d order=%v", len(*reqs), resp.DataOrder)
	}

	// Nothing active: one call, data {}.
	c2, reqs2 := pagedStats(t, nil)
	resp, err = c2.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if len(*reqs2) != 1 || resp.Data == nil || len(resp.Data) != 0 || !strings.Contains(string(resp.Raw), `"data":{}`) {
		t.Errorf("empty: requests=%d raw=%s", len(*reqs2), resp.Raw)
	}

	// Offset beyond the end: data {} stops the loop even though current_page > total_pages.
	c3, reqs3 := pagedStats(t, ids)
	off = 30
	if _, err := c3.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "x", Offset: &off}); err != nil {
		t.Fatal(err)
	}
	if len(*reqs3) != 1 {
		t.Errorf("requests = %d", len(*reqs3))
	}
}

func TestCampaignStatsAllPagesStopsOnEmptyData(t *testing.T) {
	// A server that claims more pages than it has: an empty page ends the walk.
	calls := 0
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) {
		calls++
		if calls == 1 {
			writeJSON(w, 200, `{"response_id":"r","total_campaigns":99,"current_page":1,"total_pages":10,"data":{"a":[{"platforms":{}}]}}`)
			return
		}
		writeJSON(w, 200, `{"response_id":"r","total_campaigns":99,"current_page":2,"total_pages":10,"data":{}}`)
	})
	resp, err := c.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || !reflect.DeepEqual(resp.DataOrder, []string{"a"}) {
		t.Errorf("calls=%d order=%v", calls, resp.DataOrder)
	}
}

func TestCampaignStatsAllPagesError(t *testing.T) {
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) {
		writeJSON(w, 400, `{"title":"Invalid Field Value","description":"limit - must be an integer between 1 and 10","code":"invalid_field_value"}`)
	})
	lim := 0
	_, err := c.CampaignStatsAllPages(context.Background(), testWS, testRepKey, StatsRequest{RequestID: "r", Limit: &lim})
	apiErr, ok := err.(*APIError)
	if !ok || apiErr.Code() != "invalid_field_value" {
		t.Fatalf("err = %v", err)
	}
}
