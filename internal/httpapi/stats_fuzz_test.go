package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/domain"
)

var statsErrorCodes = map[string]bool{"malformed_json": true, "missing_field": true, "invalid_type": true, "invalid_field_value": true}

// FuzzParseStatsRequest: the Stats body validator (SPEC §5.3) never panics; it returns either a 400 "Invalid Field
// Value" error with a §5.18 code and a "<field> - <reason>" description, or a request within the §5.3 / §10.4
// bounds that re-validates: written back as a body, it parses to the same request. Seeds are in
// testdata/fuzz/FuzzParseStatsRequest: the §5.16 and §5.17 requests and bodies that reach each error.
func FuzzParseStatsRequest(f *testing.F) {
	f.Add([]byte(`{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-07","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`))
	ws := domain.Workspace{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Timezone: "UTC", Status: domain.WorkspaceActive}
	f.Fuzz(func(t *testing.T, body []byte) {
		reqID, q, _, e := parseStatsRequest(body, ws)
		if e != nil {
			if e.Status != 400 || e.Title != "Invalid Field Value" || !statsErrorCodes[e.Code] || e.Description == nil ||
				!strings.Contains(*e.Description, " - ") {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		if strings.TrimSpace(reqID) == "" || utf8.RuneCountInString(reqID) > 256 || len(q.CampaignIDs) > 10 ||
			q.Limit < 1 || q.Limit > 10 || q.Offset < 0 || q.End.Before(q.Start) || q.End.Sub(q.Start) > 30*24*time.Hour {
			t.Fatalf("out of bounds: %q %+v", reqID, q)
		}
		seen := map[string]bool{}
		for _, id := range q.CampaignIDs {
			if id == "" || seen[id] {
				t.Fatalf("campaign_ids %q", q.CampaignIDs)
			}
			seen[id] = true
		}
		metric := "TOTAL"
		if q.Unique {
			metric = "UNIQUE"
		}
		again := map[string]any{"request_id": reqID, "start_date": q.Start.Format(time.DateOnly),
			"end_date": q.End.Format(time.DateOnly), "attribution_type": q.Attribution.String(), "metric_type": metric,
			"offset": q.Offset, "limit": q.Limit}
		if q.CampaignIDs != nil {
			again["campaign_ids"] = q.CampaignIDs
		}
		b, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		reqID2, q2, _, e := parseStatsRequest(b, ws)
		if e != nil {
			t.Fatalf("request %s does not re-validate: %s", b, *e.Description)
		}
		if reqID2 != reqID || !cmp.Equal(q, q2) {
			t.Fatalf("round trip changed the request:\n%q %+v\n%q %+v", reqID, q, reqID2, q2)
		}
	})
}
