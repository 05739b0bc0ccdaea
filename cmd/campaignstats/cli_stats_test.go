package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeStats serves the Stats API over a fixed, unsorted list of campaign ids with SPEC §5.6 pagination, and
// records every request body.
type fakeStats struct {
	mu     sync.Mutex
	bodies []map[string]any
	srv    *httptest.Server
}

func newFakeStats(t *testing.T, ids []string) *fakeStats {
	f := &fakeStats{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(cliTestWS+":"+cliTestRepKey))
		if r.Method != "POST" || r.URL.Path != "/core-services/v1/campaign-stats" {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"title":"Not Found","description":"No such endpoint","code":"not_found"}`)
			return
		}
		if r.Header.Get("Authorization") != wantAuth || r.Header.Get("MOE-APPKEY") != cliTestWS {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"title":"Authentication required","description":"Invalid identity information found.","code":"invalid_credentials"}`)
			return
		}
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		f.bodies = append(f.bodies, body)
		if body["start_date"] == "2025-13-01" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"title":"Invalid Field Value","description":"start_date - must be a date in YYYY-MM-DD format","code":"invalid_field_value"}`)
			return
		}
		offset, limit := 0, 10
		if v, ok := body["offset"].(float64); ok {
			offset = int(v)
		}
		if v, ok := body["limit"].(float64); ok {
			limit = int(v)
		}
		sel := ids
		if cids, ok := body["campaign_ids"].([]any); ok {
			sel = nil
			for _, c := range cids {
				sel = append(sel, c.(string))
			}
		}
		var parts []string
		for i := offset; i < offset+limit && i < len(sel); i++ {
			parts = append(parts, fmt.Sprintf(`%q: [{"platforms": {"ALL_PLATFORMS": {"locales": {"all_locale": {"variations": {"all_variations": {"performance_stats": {"sent": %d, "attempted": %d}, "conversion_goal_stats": {}, "delivery_funnel": {}, "failure_breakdown": {}}}}}}}}]`, sel[i], i, i))
		}
		pages := (len(sel) + limit - 1) / limit
		fmt.Fprintf(w, `{"response_id": %q, "total_campaigns": %d, "current_page": %d, "total_pages": %d, "data": {%s}}`,
			body["request_id"], len(sel), offset/limit+1, pages, strings.Join(parts, ", "))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func runStatsT(t *testing.T, args []string, env map[string]string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runStats(context.Background(), args, cliEnv(env), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunStats_SinglePageRequestAndOutput(t *testing.T) {
	f := newFakeStats(t, []string{"z1", "a2"})
	code, stdout, stderr := runStatsT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--report-key", cliTestRepKey,
		"--start", "2025-03-01", "--end", "2025-03-02", "--campaign", "z1", "--campaign", "a2,b3"}, nil)
	if code != 0 {
		t.Fatalf("exit %d stderr %s", code, stderr)
	}
	body := f.bodies[0]
	if !strings.HasPrefix(body["request_id"].(string), "cli-") || len(body["request_id"].(string)) != 20 {
		t.Errorf("generated request_id = %v", body["request_id"])
	}
	delete(body, "request_id")
	want := map[string]any{"campaign_ids": []any{"z1", "a2", "b3"}, "start_date": "2025-03-01", "end_date": "2025-03-02",
		"attribution_type": "VIEW_THROUGH", "metric_type": "TOTAL"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("request body = %v, want %v", body, want)
	}
	// Pretty JSON, server key order kept: data in request order, "sent" before "attempted".
	if !strings.HasPrefix(stdout, "{\n  \"response_id\": \"cli-") || !strings.HasSuffix(stdout, "}\n") {
		t.Errorf("stdout not pretty JSON:\n%s", stdout)
	}
	if strings.Index(stdout, `"z1"`) > strings.Index(stdout, `"a2"`) || strings.Index(stdout, `"sent"`) > strings.Index(stdout, `"attempted"`) {
		t.Errorf("key order lost:\n%s", stdout)
	}
	if !json.Valid([]byte(stdout)) {
		t.Error("stdout is not JSON")
	}
}

func TestRunStats_AllPagesMergedAndEnv(t *testing.T) {
	var ids []string
	for i := 0; i < 23; i++ {
		ids = append(ids, fmt.Sprintf("camp-%02d", 22-i))
	}
	f := newFakeStats(t, ids)
	env := map[string]string{"CAMPAIGNSTATS_SERVER": f.srv.URL, "CAMPAIGNSTATS_WORKSPACE": cliTestWS, "CAMPAIGNSTATS_REPORT_KEY": cliTestRepKey}
	code, stdout, stderr := runStatsT(t, []string{"--start", "2025-03-01", "--end", "2025-03-31", "--all-pages", "--metric", "UNIQUE",
		"--attribution", "CLICK_THROUGH", "--request-id", "daily-1"}, env)
	if code != 0 {
		t.Fatalf("exit %d stderr %s", code, stderr)
	}
	if len(f.bodies) != 3 {
		t.Fatalf("%d requests, want 3", len(f.bodies))
	}
	for i, b := range f.bodies {
		if b["offset"] != float64(10*i) || b["limit"] != float64(10) || b["request_id"] != "daily-1" || b["metric_type"] != "UNIQUE" || b["attribution_type"] != "CLICK_THROUGH" {
			t.Errorf("page %d body %v", i, b)
		}
	}
	var out struct {
		ResponseID     string                     `json:"response_id"`
		TotalCampaigns int                        `json:"total_campaigns"`
		Data           map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("stdout: %v\n%s", err, stdout)
	}
	if out.ResponseID != "daily-1" || out.TotalCampaigns != 23 || len(out.Data) != 23 {
		t.Errorf("merged: %q %d %d", out.ResponseID, out.TotalCampaigns, len(out.Data))
	}
	// One data object, campaigns in server order.
	if strings.Count(stdout, `"data"`) != 1 {
		t.Error("more than one data object")
	}
	last := -1
	for _, id := range ids {
		i := strings.Index(stdout, `"`+id+`"`)
		if i < last {
			t.Fatalf("campaign %s out of order", id)
		}
		last = i
	}
}

func TestRunStats_OffsetLimitOnlyWhenSet(t *testing.T) {
	f := newFakeStats(t, []string{"a", "b", "c"})
	code, _, stderr := runStatsT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--report-key", cliTestRepKey,
		"--start", "2025-03-01", "--end", "2025-03-02", "--offset", "0", "--limit", "2"}, nil)
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if f.bodies[0]["offset"] != float64(0) || f.bodies[0]["limit"] != float64(2) {
		t.Errorf("body %v", f.bodies[0])
	}
	if _, ok := f.bodies[0]["campaign_ids"]; ok {
		t.Error("campaign_ids sent without --campaign")
	}
}

func TestRunStats_Errors(t *testing.T) {
	f := newFakeStats(t, nil)
	base := []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--report-key", cliTestRepKey}
	code, stdout, stderr := runStatsT(t, append(base, "--start", "2025-13-01", "--end", "2025-03-02"), nil)
	want := `{"title":"Invalid Field Value","description":"start_date - must be a date in YYYY-MM-DD format","code":"invalid_field_value"}` + "\n"
	if code != 1 || stderr != want || stdout != "" {
		t.Errorf("API error: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runStatsT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--report-key", "wrong", "--start", "2025-03-01", "--end", "2025-03-01"}, nil)
	if code != 1 || !strings.Contains(stderr, `"code":"invalid_credentials"`) {
		t.Errorf("auth error: exit %d stderr %q", code, stderr)
	}
	for i, args := range [][]string{
		append(append([]string{}, base...), "--end", "2025-03-02"),                         // no start
		{"--server", f.srv.URL, "--start", "2025-03-01", "--end", "2025-03-02"},            // no workspace/key
		append(append([]string{}, base...), "--start", "a", "--end", "b", "--offset", "x"), // bad int
		append(append([]string{}, base...), "--start", "a", "--end", "b", "extra"),         // stray argument
	} {
		if code, _, stderr := runStatsT(t, args, nil); code != 2 || stderr == "" {
			t.Errorf("usage case %d: exit %d stderr %q", i, code, stderr)
		}
	}
	if len(f.bodies) != 1 {
		t.Errorf("usage errors reached the server: %d bodies", len(f.bodies))
	}
	code, _, _ = runStatsT(t, []string{"--server", "http://127.0.0.1:1", "--workspace", cliTestWS, "--report-key", cliTestRepKey, "--start", "2025-03-01", "--end", "2025-03-01"}, nil)
	if code != 1 {
		t.Errorf("server down: exit %d", code)
	}
}
