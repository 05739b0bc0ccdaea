package httpapi

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestExactIntegers: integer fields are read exactly, never through a float64 (SPEC §3.13, §5.3, §7.1, §8.1,
// §5.18). A value that only rounds to an integer in range (10.0000000000000001, 1e-400, 9007199254740993) is
// refused as out of range; an integer beyond the float's exact range (offset 2^31) is served; 1e400 is a number
// out of range, not a wrong type.
func TestExactIntegers(t *testing.T) {
	e := newReportEnv(t, nil)
	ws := e.active
	e.putCampaign(t, ws, "c1", `{"channel":"PUSH"}`)
	stats := func(extra string) string {
		return `{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"` + extra + `}`
	}
	statsPageOf := func(page string) string {
		return `{"response_id":"r","total_campaigns":0,"current_page":` + page + `,"total_pages":0,"data":{}}`
	}
	statsPage := func(page int) string { return statsPageOf(strconv.Itoa(page)) }
	funnel := func(v string) string { return `{"date":"2025-03-01","stages":{"after_fc":` + v + `}}` }
	ingest := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	invalid := func(desc string) string { return apiErr(400, "Invalid Field Value", desc, "invalid_field_value") }
	stageErr := ingestErr("InvalidParams", "stages.after_fc", "stage values must be integers between 0 and 2^53")
	const (
		statsPath = "/core-services/v1/campaign-stats"
		metaPath  = "/core-services/v1/campaigns/meta"
	)
	funnelPath := "/v1/campaigns/" + ws.ID + "/c1/funnel"
	runsPath := "/v1/reports/" + ws.ID + "/0123456789abcdef01234567/runs?limit="
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               string
	}{
		{"offset 2^31", "POST", statsPath, statsHeaders(ws), stats(`,"offset":2147483648`), 200, statsPage(214748365)},
		{"offset 2^53-1", "POST", statsPath, statsHeaders(ws), stats(`,"offset":9007199254740991,"limit":1`), 200, statsPage(9007199254740992)},
		{"offset 1e1", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1e1`), 200, statsPage(2)},
		// SPEC §5.3 sets no upper bound: past every list, with current_page = floor(offset / limit) + 1 exactly.
		{"offset 2^53", "POST", statsPath, statsHeaders(ws), stats(`,"offset":9007199254740992`), 200, statsPage(900719925474100)},
		{"offset 2^53, limit 1", "POST", statsPath, statsHeaders(ws), stats(`,"offset":9007199254740992,"limit":1`), 200,
			statsPage(9007199254740993)},
		{"offset 1e20", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1e20,"limit":3`), 200, statsPageOf("33333333333333333334")},
		{"offset of 300 digits", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1` + strings.Repeat("0", 299) + `,"limit":10`), 200,
			statsPageOf("1" + strings.Repeat("0", 297) + "1")},
		{"offset of 301 digits", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1e300`), 400,
			invalid("offset - must be an integer of at most 300 digits")},
		{"offset 1e400", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1e400`), 400,
			invalid("offset - must be an integer of at most 300 digits")},
		{"offset 1e-400", "POST", statsPath, statsHeaders(ws), stats(`,"offset":1e-400`), 400,
			invalid("offset - must be an integer greater than or equal to 0")},
		{"offset -1e400", "POST", statsPath, statsHeaders(ws), stats(`,"offset":-1e400`), 400,
			invalid("offset - must be an integer greater than or equal to 0")},
		{"limit 10.0", "POST", statsPath, statsHeaders(ws), stats(`,"limit":10.0`), 200, statsPage(1)},
		{"limit 10.0000000000000001", "POST", statsPath, statsHeaders(ws), stats(`,"limit":10.0000000000000001`), 400,
			invalid("limit - must be an integer between 1 and 10")},
		{"meta page 1.0000000000000000001", "POST", metaPath, statsHeaders(ws), `{"request_id":"m","limit":1,"page":1.0000000000000000001}`, 400,
			invalid("page - must be an integer greater than or equal to 1")},
		{"meta page 1e400", "POST", metaPath, statsHeaders(ws), `{"request_id":"m","limit":1,"page":1e400}`, 200, `[]`},
		{"meta page 2^63", "POST", metaPath, statsHeaders(ws), `{"request_id":"m","limit":1,"page":9223372036854775808}`, 200, `[]`},
		{"meta limit 15.000000000000001", "POST", metaPath, statsHeaders(ws), `{"request_id":"m","limit":15.000000000000001,"page":1}`, 400,
			invalid("limit - must be an integer between 1 and 15")},
		{"funnel 2^53", "POST", funnelPath, ingest, funnel(`9007199254740992`), 200, `{"status":"success","accepted":1,"request_id":"$RID"}`},
		{"funnel 2^53+1", "POST", funnelPath, ingest, funnel(`9007199254740993`), 400, stageErr},
		{"funnel 1e-400", "POST", funnelPath, ingest, funnel(`1e-400`), 400, stageErr},
		{"funnel null", "POST", funnelPath, ingest, funnel(`null`), 400, stageErr},
		{"runs limit 1e400", "GET", runsPath + "1e400", reportAuth(ws), ``, 400, invalid("limit - must be an integer between 1 and 500")},
		{"runs limit 1.0000000000000000001", "GET", runsPath + "1.0000000000000000001", reportAuth(ws), ``, 400,
			invalid("limit - must be an integer between 1 and 500")},
		{"runs limit NaN", "GET", runsPath + "NaN", reportAuth(ws), ``, 400, apiErr(400, "Invalid Field Value", "limit - must be an integer", "invalid_type")},
		{"report last_days 90.0000000000000001", "POST", "/v1/reports/" + ws.ID, reportAuth(ws), `{"name":"R","range":{"last_days":90.0000000000000001}}`, 400,
			invalid("range.last_days - must be an integer between 1 and 90")},
		{"admin rate limit 100000.00000000001", "PATCH", "/admin/v1/workspaces/" + ws.ID, map[string]string{"Authorization": "Bearer " + adminToken},
			`{"rate_limit_per_minute":100000.00000000001}`, 400, invalid("rate_limit_per_minute - must be an integer between 1 and 100000")},
		{"catalog window 36.0000000000000001", "PUT", "/v1/campaigns/" + ws.ID + "/c1", ingest,
			`{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":36.0000000000000001}}`, 400,
			ingestErr("InvalidParams", "conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be an integer")},
		{"catalog window 1e10", "PUT", "/v1/campaigns/" + ws.ID + "/c1", ingest,
			`{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":1e10}}`, 400,
			ingestErr("InvalidParams", "conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be between 1 and 36 for PUSH")},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertJSON(t, e.do(t, c.method, c.path, c.header, []byte(c.body)), c.status, c.want)
		})
	}
	// The funnel value 2^53 was stored exactly.
	entries, err := e.sys.Store.FunnelEntries(context.Background(), ws.ID, []string{"c1"}, "2025-03-01", "2025-03-01")
	if err != nil || len(entries) != 1 || entries[0].Value != 1<<53 {
		t.Fatalf("funnel entries %+v, %v", entries, err)
	}
}
