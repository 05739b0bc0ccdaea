package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestStatsDaily covers POST /v1/stats/{workspace_id}/daily: every date of the range holds exactly the data of a
// single-date Stats call for the page's campaigns (the zero node on dates without data), paging follows a Stats call
// over the whole range, and one call counts once in the `stats` rate-limit family.
func TestStatsDaily(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.putCampaign(t, ws, "push_a", `{"channel":"PUSH","campaign_start_time":"2025-03-01T00:00:00Z",
		"conversion_goal_details":{"goals":[{"goal_name":"Buy","goal_event_name":"Buy"}]}}`)
	e.putCampaign(t, ws, "mail_b", `{"channel":"EMAIL","campaign_start_time":"2025-02-01T00:00:00Z"}`)
	var events []string
	for i, ev := range []struct{ code, at, id string }{
		{"NOTIFICATION_RECEIVED_MOE", "2025-03-02T10:00:00Z", "push_a"},
		{"NOTIFICATION_CLICKED_IOS_MOE", "2025-03-02T11:00:00Z", "push_a"},
		{"NOTIFICATION_RECEIVED_IOS_MOE", "2025-03-04T09:00:00Z", "push_a"},
		{"MOE_EMAIL_SENT", "2025-03-03T08:00:00Z", "mail_b"},
		{"MOE_EMAIL_OPEN", "2025-03-03T08:30:00Z", "mail_b"},
	} {
		events = append(events, campaignEvent(fmt.Sprintf("e%d", i), ev.code, ev.at, ev.id, ""))
	}
	events = append(events, `{"event_name":"Buy","event_uuid":"g1","event_time":"2025-03-02T12:00:00Z","uid":"u-e1"}`)
	e.postEvents(t, ws, events...)

	type day struct {
		Date string          `json:"date"`
		Data json.RawMessage `json:"data"`
	}
	var daily struct {
		ResponseID     string `json:"response_id"`
		StartDate      string `json:"start_date"`
		EndDate        string `json:"end_date"`
		Days           []day  `json:"days"`
		TotalCampaigns int    `json:"total_campaigns"`
		CurrentPage    int    `json:"current_page"`
		TotalPages     int    `json:"total_pages"`
	}
	for _, c := range []struct {
		metric string
		limit  int
		offset int
		page   []string
	}{{"TOTAL", 10, 0, []string{"push_a", "mail_b"}}, {"UNIQUE", 1, 1, []string{"mail_b"}}} {
		body := fmt.Sprintf(`{"request_id":"d-1","start_date":"2025-03-01","end_date":"2025-03-05","attribution_type":"view_through",
			"metric_type":%q,"limit":%d,"offset":%d}`, c.metric, c.limit, c.offset)
		r := e.do(t, "POST", "/v1/stats/"+ws.ID+"/daily", statsHeaders(ws), []byte(body))
		if r.status != 200 {
			t.Fatalf("daily: %d %s", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &daily); err != nil {
			t.Fatal(err)
		}
		if daily.ResponseID != "d-1" || daily.StartDate != "2025-03-01" || daily.EndDate != "2025-03-05" || len(daily.Days) != 5 ||
			daily.TotalCampaigns != 2 || daily.CurrentPage != c.offset/c.limit+1 || daily.TotalPages != (2+c.limit-1)/c.limit {
			t.Fatalf("daily %s: %s", c.metric, r.body)
		}
		ids, _ := json.Marshal(c.page)
		for i, d := range daily.Days {
			date := time.Date(2025, 3, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			single := e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws), []byte(fmt.Sprintf(
				`{"request_id":"s","campaign_ids":%s,"start_date":%q,"end_date":%q,"attribution_type":"VIEW_THROUGH","metric_type":%q}`,
				ids, date, date, c.metric)))
			var s struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(single.body, &s); err != nil || single.status != 200 {
				t.Fatalf("stats %s: %d %s", date, single.status, single.body)
			}
			if d.Date != date || string(d.Data) != string(s.Data) {
				t.Errorf("%s %s:\ndaily  %s\nsingle %s", c.metric, date, d.Data, s.Data)
			}
		}
	}
	// The credited purchase of 2025-03-02 and the zero node of 2025-03-01 are there.
	r := e.do(t, "POST", "/v1/stats/"+ws.ID+"/daily", statsHeaders(ws), []byte(`{"request_id":"d","campaign_ids":["push_a"],
		"start_date":"2025-03-01","end_date":"2025-03-02","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`))
	if !strings.Contains(string(r.body), `{"date":"2025-03-01","data":{"push_a":[{"platforms":{"ALL_PLATFORMS":{"locales":{"all_locale":{"variations":{"all_variations":{"performance_stats":{"attempted":0,`) ||
		!strings.Contains(string(r.body), `"conversion_goal_stats":{"Buy":{"goal_name":"Buy","conversions":1,"total":1,"unique":1,`) {
		t.Errorf("daily body: %s", r.body)
	}
	// Another workspace's path with these credentials is refused; the body is not read.
	mismatch := e.do(t, "POST", "/v1/stats/"+e.disabled.ID+"/daily", statsHeaders(ws), []byte(`{}`))
	assertJSON(t, mismatch, 403, `{"title":"Forbidden Request","description":null,"code":"workspace_mismatch"}`)
	if mismatch.header.Get("RateLimit-Remaining") == "" { // an authenticated, active workspace's request counts (SPEC §5.4)
		t.Errorf("workspace_mismatch without RateLimit headers: %v", mismatch.header)
	}
	// One daily call is one request of the stats family, whatever the number of dates.
	r = e.do(t, "POST", "/v1/stats/"+ws.ID+"/daily", statsHeaders(ws), []byte(`{}`))
	before := r.header.Get("RateLimit-Remaining")
	r = e.do(t, "POST", "/core-services/v1/campaign-stats", statsHeaders(ws), []byte(`{}`))
	if r.status != 400 || before == "" || r.header.Get("RateLimit-Remaining") == before {
		t.Errorf("stats family shared: remaining %q then %q", before, r.header.Get("RateLimit-Remaining"))
	}
	assertJSON(t, e.do(t, "POST", "/v1/stats/"+ws.ID+"/daily", statsHeaders(ws), []byte(`{"request_id":"x"}`)), 400,
		apiErr(400, "Invalid Field Value", "start_date - is required", "missing_field"))
}
