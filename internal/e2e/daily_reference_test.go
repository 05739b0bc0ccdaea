package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// liveDailyResponse is the daily series extension's answer (POST /v1/stats/{workspace_id}/daily).
type liveDailyResponse struct {
	ResponseID     string `json:"response_id"`
	StartDate      string `json:"start_date"`
	EndDate        string `json:"end_date"`
	TotalCampaigns int    `json:"total_campaigns"`
	CurrentPage    int    `json:"current_page"`
	TotalPages     int    `json:"total_pages"`
	Days           []struct {
		Date string          `json:"date"`
		Data json.RawMessage `json:"data"`
	} `json:"days"`
}

// TestDailyReference extends the reference comparison to the daily series extension: the live workload (every
// channel, goals, control groups, parents and children, Track Event and Bulk Import conversions) is loaded through
// the public APIs, then the daily endpoint is paged through like the Stats API (offset/limit 10, no campaign_ids)
// for several ranges, attribution and metric types. Each page must select the campaigns the reference selects for
// the whole range, list every date of the range, and hold for each date exactly the tree the reference computes for
// a Stats call of that single date with the page's campaigns as campaign_ids (the zero node on dates without data).
func TestDailyReference(t *testing.T) {
	t.Parallel()
	lc := startLiveServer(t)
	ws := lc.createWorkspace(t, "daily reference", liveWorkload.Timezone)
	w := generateWorkload(liveWorkload)
	model, err := newRefModel(liveWorkload.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	liveLoad(t, lc, ws.ID, ws.DataKey, w.Orders[liveWorkload.Orders[0]], model)
	time.Sleep(1100 * time.Millisecond) // §3.6: visible within 1 second

	type pull struct{ start, end, attribution, metric string }
	pulls := []pull{
		{addDays(w.FirstDay, -1), addDays(w.FirstDay, 29), "VIEW_THROUGH", "TOTAL"},
		{addDays(w.FirstDay, -1), addDays(w.FirstDay, 29), "CLICK_THROUGH", "UNIQUE"},
		{addDays(w.FirstDay, 20), addDays(w.FirstDay, 36), "TOTAL_CONVERSIONS", "UNIQUE"},
		{addDays(w.FirstDay, 3), addDays(w.FirstDay, 9), "IN_SESSION", "TOTAL"},
		{addDays(w.FirstDay, 10), addDays(w.FirstDay, 16), "CLICK_CONVERSIONS", "TOTAL"},
	}
	h := liveBasic(ws.ID, ws.ReportKey)
	h.Set("MOE-APPKEY", ws.ID)
	path := "/v1/stats/" + url.PathEscape(ws.ID) + "/daily"
	days, nodes, failing := 0, 0, 0
	for _, pl := range pulls {
		offset, limit := 0, 10
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatalf("%v: more than 20 pages", pl)
			}
			reqID := fmt.Sprintf("daily-%s-%s-%s-%d", pl.start, pl.attribution, pl.metric, offset)
			body, _ := json.Marshal(liveStatsRequest{RequestID: reqID, StartDate: pl.start, EndDate: pl.end,
				AttributionType: pl.attribution, MetricType: pl.metric, Offset: offset, Limit: limit})
			status, _, raw := lc.do(t, http.MethodPost, path, h, body)
			if status != http.StatusOK {
				t.Fatalf("daily %s: HTTP %d: %s", body, status, raw)
			}
			var got liveDailyResponse
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("daily %s: %v", body, err)
			}
			want := model.Stats(StatsRequest{RequestID: reqID, StartDate: pl.start, EndDate: pl.end,
				AttributionType: pl.attribution, MetricType: pl.metric, Offset: &offset, Limit: &limit})
			if got.ResponseID != reqID || got.StartDate != pl.start || got.EndDate != pl.end ||
				got.TotalCampaigns != want.TotalCampaigns || got.CurrentPage != want.CurrentPage || got.TotalPages != want.TotalPages {
				t.Errorf("daily %s: response_id %q %s..%s total_campaigns %d current_page %d total_pages %d, want %d %d %d",
					reqID, got.ResponseID, got.StartDate, got.EndDate, got.TotalCampaigns, got.CurrentPage, got.TotalPages,
					want.TotalCampaigns, want.CurrentPage, want.TotalPages)
			}
			if n := daysBetween(pl.start, pl.end) + 1; len(got.Days) != n {
				t.Fatalf("daily %s: %d dates, want every date of the range (%d)", reqID, len(got.Days), n)
			}
			for i, d := range got.Days {
				date := addDays(pl.start, i)
				if d.Date != date {
					t.Errorf("daily %s: days[%d] is %s, want %s", reqID, i, d.Date, date)
					continue
				}
				gotTree := rawResponseTree(t, []byte(`{"data":`+string(d.Data)+`}`))
				ref := model.Stats(StatsRequest{RequestID: reqID, CampaignIDs: want.Order, StartDate: date, EndDate: date,
					AttributionType: pl.attribution, MetricType: pl.metric}).tree()
				if len(want.Order) == 0 {
					ref["data"], ref["data_order"] = map[string]any{}, []any{}
				}
				diffs := diffTrees(map[string]any{"data": ref["data"], "data_order": ref["data_order"]},
					map[string]any{"data": gotTree["data"], "data_order": gotTree["data_order"]}, 12)
				if len(diffs) > 0 {
					failing++
					if failing <= 6 {
						t.Errorf("daily %s, date %s differs from the reference's single-date Stats call:\n  %s", reqID, date,
							strings.Join(diffs, "\n  "))
					}
				}
				days++
				nodes += len(want.Order)
			}
			if got.CurrentPage >= got.TotalPages || len(want.Order) == 0 {
				break
			}
			offset += limit
		}
	}
	if failing > 6 {
		t.Errorf("… %d dates differ from the reference (first 6 shown)", failing)
	}
	t.Logf("%d dates, %d campaign trees compared with the reference's single-date answers", days, nodes)
}

func daysBetween(a, b string) int {
	ta, _ := time.Parse(time.DateOnly, a)
	tb, _ := time.Parse(time.DateOnly, b)
	return int(tb.Sub(ta).Hours() / 24)
}
