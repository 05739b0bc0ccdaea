package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/domain"
)

const (
	metaPath = "/core-services/v1/campaigns/meta"
)

func executionsPath(parent string) string {
	return "/core-services/v1/campaigns/" + parent + "/executions"
}

// putCampaign writes a catalog entry through PUT /v1/campaigns/{ws}/{id}.
func (e *testEnv) putCampaign(t *testing.T, ws domain.Workspace, id, body string) {
	t.Helper()
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	if r := e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/"+id, hdr, []byte(body)); r.status != 200 && r.status != 201 {
		t.Fatalf("PUT %s: %d %s", id, r.status, r.body)
	}
}

// postEvents ingests a Streams batch through POST /v1/streams/{ws}; every event must be accepted.
func (e *testEnv) postEvents(t *testing.T, ws domain.Workspace, events ...string) {
	t.Helper()
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	r := e.do(t, "POST", "/v1/streams/"+ws.ID, hdr, []byte(`{"events":[`+strings.Join(events, ",")+`]}`))
	if r.status != 200 || !strings.Contains(string(r.body), fmt.Sprintf(`"accepted":%d,`, len(events))) {
		t.Fatalf("streams: %d %s", r.status, r.body)
	}
}

// campaignEvent is a Streams event of campaign id (with an optional parent).
func campaignEvent(uuid, code, at, id, parent string) string {
	attrs := map[string]string{"campaign_id": id}
	if parent != "" {
		attrs["parent_campaign_id"] = parent
	}
	b, _ := json.Marshal(map[string]any{"event_code": code, "event_uuid": uuid, "event_time": at, "uid": "u-" + uuid, "event_attributes": attrs})
	return string(b)
}

func jsonBody(v map[string]any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// metaIDs posts a Meta request and returns the campaign ids of the 200 response, in order.
func (e *testEnv) metaIDs(t *testing.T, ws domain.Workspace, req map[string]any) []string {
	t.Helper()
	r := e.do(t, "POST", metaPath, statsHeaders(ws), jsonBody(req))
	if r.status != 200 {
		t.Fatalf("meta %v: %d %s", req, r.status, r.body)
	}
	var items []struct {
		ID string `json:"campaign_id"`
	}
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("meta body: %s", r.body)
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestMetaExample reproduces the SPEC §7.1 request and response, byte for byte (key order included).
func TestMetaExample(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	common := `"channel":"EMAIL","campaign_delivery_type":"PERIODIC","campaign_name":"Monthly Newsletter","campaign_team":"Content",` +
		`"campaign_tags":["newsletter"],"created_by":"ann@example.com"`
	e.putCampaign(t, ws, "camp_periodic_101", `{`+common+`,"campaign_status":"active","campaign_start_time":"2025-01-01T09:00:00Z"}`)
	for i, month := range []string{"01", "02", "03"} {
		e.putCampaign(t, ws, fmt.Sprintf("camp_child_00%d", i+1),
			`{`+common+`,"parent_campaign_id":"camp_periodic_101","campaign_start_time":"2025-`+month+`-01T09:00:00.250Z"}`)
	}
	req := []byte(`{"request_id": "meta-1", "limit": 15, "page": 1, "include_child_campaigns": true,
 "campaign_fields": {"id": ["camp_periodic_101", "camp_child_003"]}}`)
	r := e.do(t, "POST", metaPath, statsHeaders(ws), req)
	want := `[{"campaign_id":"camp_child_003","channel":"EMAIL","platform":[],"created_by":"ann@example.com",` +
		`"campaign_delivery_type":"PERIODIC","campaign_name":"Monthly Newsletter","campaign_team":"Content",` +
		`"campaign_tags":["newsletter"],"campaign_status":"Active","campaign_start_time":"2025-03-01T09:00:00",` +
		`"parent_campaign_id":"camp_periodic_101"},` +
		`{"campaign_id":"camp_periodic_101","channel":"EMAIL","platform":[],"created_by":"ann@example.com",` +
		`"campaign_delivery_type":"PERIODIC","campaign_name":"Monthly Newsletter","campaign_team":"Content",` +
		`"campaign_tags":["newsletter"],"campaign_status":"Active","campaign_start_time":"2025-01-01T09:00:00",` +
		`"total_child_campaigns":3}]`
	assertJSON(t, r, 200, want)
	if string(r.body) != want {
		t.Fatalf("key order:\n got %s\nwant %s", r.body, want)
	}
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Fatalf("missing %s on a campaigns-family response", h)
		}
	}
	// The child requested by id is dropped without include_child_campaigns.
	got := e.metaIDs(t, ws, map[string]any{"request_id": "m", "limit": 15, "page": 1,
		"campaign_fields": map[string]any{"id": []string{"camp_periodic_101", "camp_child_003"}}})
	if diff := cmp.Diff([]string{"camp_periodic_101"}, got); diff != "" {
		t.Fatalf("children without include_child_campaigns (-want +got):\n%s", diff)
	}
}

// TestMetaFieldsAndDefaults covers the §7.1 field rules for a campaign known only from events and an empty parent
// placeholder: inferred values, null start time, platform, ONE_TIME default, UNKNOWN channel.
func TestMetaFieldsAndDefaults(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.postEvents(t, ws,
		`{"event_code":"NOTIFICATION_RECEIVED_IOS_MOE","event_uuid":"x1","event_time":"2025-03-01T10:00:00.900Z","uid":"u1",`+
			`"event_attributes":{"campaign_id":"push1","campaign_name":"Flash","moe_campaign_tags":"a, b"}}`,
		`{"event_code":"NOTIFICATION_CLICKED_MOE","event_uuid":"x2","event_time":"2025-03-02T10:00:00Z","uid":"u1",`+
			`"event_attributes":{"campaign_id":"push1"}}`)
	e.putCampaign(t, ws, "kid", `{"parent_campaign_id":"placeholder","campaign_status":"stopped"}`)
	r := e.do(t, "POST", metaPath, statsHeaders(ws), []byte(`{"request_id":"r","limit":15,"page":1,"include_child_campaigns":true}`))
	assertJSON(t, r, 200, `[
		{"campaign_id":"push1","channel":"PUSH","platform":["ANDROID","IOS"],"created_by":"","campaign_delivery_type":"ONE_TIME",
		 "campaign_name":"Flash","campaign_team":"","campaign_tags":["a","b"],"campaign_status":"Active","campaign_start_time":"2025-03-01T10:00:00"},
		{"campaign_id":"kid","channel":"UNKNOWN","platform":[],"created_by":"","campaign_delivery_type":"ONE_TIME",
		 "campaign_name":"","campaign_team":"","campaign_tags":[],"campaign_status":"Stopped","campaign_start_time":null,"parent_campaign_id":"placeholder"},
		{"campaign_id":"placeholder","channel":"UNKNOWN","platform":[],"created_by":"","campaign_delivery_type":"ONE_TIME",
		 "campaign_name":"","campaign_team":"","campaign_tags":[],"campaign_status":"Active","campaign_start_time":null,"total_child_campaigns":1}]`)
}

// seedMetaCatalog writes the catalog used by the filter and paging tests. Start-time order: p1, c1, p2, p4, p3
// (no start time). Created days (UTC): p1, p2, c1 on 2025-03-10; p3 on 2025-03-11; p4 on 2025-03-12.
func seedMetaCatalog(t *testing.T, e *testEnv, ws domain.Workspace) {
	e.putCampaign(t, ws, "p1", `{"campaign_name":"Spring Sale","channel":"web push","campaign_delivery_type":"One Time",
		"campaign_status":"ACTIVE","campaign_tags":["sale","spring"],"created_by":"ann@example.com","platform":["android","ios"],
		"campaign_start_time":"2025-03-05T08:00:00Z"}`)
	e.putCampaign(t, ws, "p2", `{"campaign_name":"Weekly Digest","channel":"EMAIL","campaign_delivery_type":"PERIODIC",
		"campaign_status":"paused","campaign_tags":["digest"],"created_by":"bob@example.com","campaign_start_time":"2025-03-02T08:00:00Z"}`)
	e.putCampaign(t, ws, "c1", `{"campaign_name":"Weekly Digest #1","channel":"EMAIL","campaign_delivery_type":"PERIODIC",
		"parent_campaign_id":"p2","campaign_tags":["digest"],"created_by":"bob@example.com","campaign_start_time":"2025-03-03T08:00:00Z"}`)
	e.advance(24 * time.Hour)
	e.putCampaign(t, ws, "p3", `{"campaign_name":"Ads for the SALE","channel":"GOOGLE ADS","campaign_status":"Scheduled",
		"campaign_tags":["SALE"],"created_by":"Carol"}`)
	e.advance(24 * time.Hour)
	e.postEvents(t, ws, campaignEvent("s1", "SMS_SENT", "2025-03-01T10:00:00Z", "p4", ""))
}

// TestMetaFilters covers every campaign_fields filter, AND between fields, OR within arrays, children and order.
func TestMetaFilters(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	seedMetaCatalog(t, e, ws)
	cases := []struct {
		name     string
		children bool
		fields   map[string]any
		want     []string
	}{
		{"no filter", false, nil, []string{"p1", "p2", "p4", "p3"}},
		{"no filter, children", true, nil, []string{"p1", "c1", "p2", "p4", "p3"}},
		{"empty fields", false, map[string]any{}, []string{"p1", "p2", "p4", "p3"}},
		{"id string", false, map[string]any{"id": "p3"}, []string{"p3"}},
		{"id array", false, map[string]any{"id": []string{"p3", "p1", "nope", "p1"}}, []string{"p1", "p3"}},
		{"id empty array = no filter", false, map[string]any{"id": []string{}}, []string{"p1", "p2", "p4", "p3"}},
		{"child id without include", false, map[string]any{"id": []string{"c1"}}, []string{}},
		{"child id with include", true, map[string]any{"id": []string{"c1"}}, []string{"c1"}},
		{"channels normalised", false, map[string]any{"channels": []string{"google ads"}}, []string{"p3"}},
		{"channels or", false, map[string]any{"channels": []string{"Mobile-Push", "sms"}}, []string{"p1", "p4"}},
		{"channels email with children", true, map[string]any{"channels": []string{"e-mail"}}, []string{"c1", "p2"}},
		{"created_by case-insensitive", false, map[string]any{"created_by": []string{"ANN@EXAMPLE.COM", "carol"}}, []string{"p1", "p3"}},
		{"created_by exact", false, map[string]any{"created_by": []string{"ann"}}, []string{}},
		{"created_date one day", true, map[string]any{"created_date": map[string]any{"from_date": "2025-03-10", "to_date": "2025-03-10"}}, []string{"p1", "c1", "p2"}},
		{"created_date inclusive range", false, map[string]any{"created_date": map[string]any{"from_date": "2025-03-11", "to_date": "2025-03-12"}}, []string{"p4", "p3"}},
		{"created_date before", false, map[string]any{"created_date": map[string]any{"from_date": "2025-01-01", "to_date": "2025-03-09"}}, []string{}},
		{"delivery_type", false, map[string]any{"delivery_type": []string{"periodic"}}, []string{"p2"}},
		{"delivery_type default ONE_TIME", false, map[string]any{"delivery_type": []string{"onetime"}}, []string{"p1", "p4", "p3"}},
		{"delivery_type with children", true, map[string]any{"delivery_type": []string{"PERIODIC", "API_TRIGGERED"}}, []string{"c1", "p2"}},
		{"name substring", false, map[string]any{"name": "SALE"}, []string{"p1", "p3"}},
		{"name with children", true, map[string]any{"name": "digest"}, []string{"c1", "p2"}},
		{"name empty", false, map[string]any{"name": ""}, []string{"p1", "p2", "p4", "p3"}},
		{"status", false, map[string]any{"status": []string{"paused", "Scheduled"}}, []string{"p2", "p3"}},
		{"status default ACTIVE", true, map[string]any{"status": []string{"active"}}, []string{"p1", "c1", "p4"}},
		{"tags any-of case-insensitive", false, map[string]any{"tags": []string{"sale"}}, []string{"p1", "p3"}},
		{"tags or", true, map[string]any{"tags": []string{"SPRING", "Digest"}}, []string{"p1", "c1", "p2"}},
		{"and between fields", false, map[string]any{"tags": []string{"sale"}, "channels": []string{"PUSH"}}, []string{"p1"}},
		{"and excludes", false, map[string]any{"tags": []string{"sale"}, "status": []string{"PAUSED"}}, []string{}},
		{"null filters are absent", false, map[string]any{"id": nil, "channels": nil, "name": nil, "created_date": nil}, []string{"p1", "p2", "p4", "p3"}},
		{"unknown filter ignored", false, map[string]any{"colour": "red"}, []string{"p1", "p2", "p4", "p3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := map[string]any{"request_id": "r", "limit": 15, "page": 1, "include_child_campaigns": c.children}
			if c.fields != nil {
				req["campaign_fields"] = c.fields
			}
			if diff := cmp.Diff(c.want, e.metaIDs(t, ws, req)); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMetaCreatedDateTimezone: created_date compares the created_at day in the workspace timezone (SPEC §2.9).
func TestMetaCreatedDateTimezone(t *testing.T) {
	e := newTestEnv(t)
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	r := e.do(t, "POST", "/admin/v1/workspaces", adm, []byte(`{"name":"IN","timezone":"Asia/Kolkata","workspace_id":"0123456789abcdef01234567"}`))
	var created struct {
		ReportKey string `json:"report_key"`
		DataKey   string `json:"data_key"`
	}
	if err := json.Unmarshal(r.body, &created); err != nil || r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	ws := domain.Workspace{ID: "0123456789abcdef01234567", ReportKey: created.ReportKey, DataKey: created.DataKey}
	e.advance(8 * time.Hour) // 2025-03-10T20:00Z = 2025-03-11 01:30 in Kolkata
	e.putCampaign(t, ws, "late", `{"campaign_name":"x"}`)
	day := func(d string) []string {
		return e.metaIDs(t, ws, map[string]any{"request_id": "r", "limit": 15, "page": 1,
			"campaign_fields": map[string]any{"created_date": map[string]any{"from_date": d, "to_date": d}}})
	}
	if got := day("2025-03-11"); len(got) != 1 {
		t.Fatalf("local day 2025-03-11: %v", got)
	}
	if got := day("2025-03-10"); len(got) != 0 {
		t.Fatalf("UTC day 2025-03-10 must not match: %v", got)
	}
}

// TestMetaPaging: page p holds items (p−1)·limit … p·limit−1; past the end is [].
func TestMetaPaging(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	seedMetaCatalog(t, e, ws)
	page := func(p, limit any) []string {
		return e.metaIDs(t, ws, map[string]any{"request_id": "r", "limit": limit, "page": p, "include_child_campaigns": true})
	}
	for _, c := range []struct {
		page, limit any
		want        []string
	}{
		{1, 2, []string{"p1", "c1"}},
		{2, 2, []string{"p2", "p4"}},
		{3, 2, []string{"p3"}},
		{4, 2, []string{}},
		{1, 1, []string{"p1"}},
		{5, 1, []string{"p3"}},
		{2.0, 3.0, []string{"p4", "p3"}},
		{1e12, 15, []string{}},
	} {
		if diff := cmp.Diff(c.want, page(c.page, c.limit)); diff != "" {
			t.Fatalf("page %v limit %v (-want +got):\n%s", c.page, c.limit, diff)
		}
	}
	r := e.do(t, "POST", metaPath, statsHeaders(ws), []byte(`{"request_id":"r","limit":15,"page":9}`))
	if r.status != 200 || string(r.body) != "[]" {
		t.Fatalf("past the end: %d %s", r.status, r.body)
	}
}

// TestMetaValidation covers each validation error in check order, with §5.18 codes.
func TestMetaValidation(t *testing.T) {
	e := newTestEnv(t)
	valid := map[string]any{"request_id": "r", "limit": 15, "page": 1}
	body := func(kv ...any) []byte {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return jsonBody(m)
	}
	fields := func(kv ...any) []byte {
		cf := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			cf[kv[i].(string)] = kv[i+1]
		}
		return body("campaign_fields", cf)
	}
	bad := func(code, d string) string { return apiErr(400, "Invalid Field Value", d, code) }
	hundredOne := make([]string, 101)
	for i := range hundredOne {
		hundredOne[i] = fmt.Sprintf("id%d", i)
	}
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"not json", []byte(`{`), bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{"not object", []byte(`[]`), bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{"empty body", nil, bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{"request_id absent", body("request_id", "<absent>"), bad("missing_field", "request_id - is required")},
		{"request_id null", body("request_id", nil), bad("missing_field", "request_id - is required")},
		{"request_id number", body("request_id", 1), bad("invalid_type", "request_id - must be a string")},
		{"request_id blank", body("request_id", " "), bad("invalid_field_value", "request_id - must not be empty")},
		{"limit absent", body("limit", "<absent>"), bad("missing_field", "limit - is required")},
		{"limit string", body("limit", "5"), bad("invalid_type", "limit - must be an integer")},
		{"limit bool", body("limit", true), bad("invalid_type", "limit - must be an integer")},
		{"limit zero", body("limit", 0), bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{"limit sixteen", body("limit", 16), bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{"limit fraction", body("limit", 1.5), bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{"page absent", body("page", "<absent>"), bad("missing_field", "page - is required")},
		{"page null", body("page", nil), bad("missing_field", "page - is required")},
		{"page string", body("page", "1"), bad("invalid_type", "page - must be an integer")},
		{"page zero", body("page", 0), bad("invalid_field_value", "page - must be an integer greater than or equal to 1")},
		{"page negative", body("page", -2), bad("invalid_field_value", "page - must be an integer greater than or equal to 1")},
		{"page fraction", body("page", 1.25), bad("invalid_field_value", "page - must be an integer greater than or equal to 1")},
		{"include_child_campaigns string", body("include_child_campaigns", "true"), bad("invalid_type", "include_child_campaigns - must be a boolean")},
		{"campaign_fields array", body("campaign_fields", []string{}), bad("invalid_type", "campaign_fields - must be an object")},
		{"id number", fields("id", 5), bad("invalid_type", "campaign_fields.id - must be a string or an array of strings")},
		{"id empty string", fields("id", ""), bad("invalid_field_value", "campaign_fields.id - must not be empty")},
		{"id element", fields("id", []any{"a", 1}), bad("invalid_field_value", "campaign_fields.id - every element must be a non-empty string")},
		{"id 101", fields("id", hundredOne), bad("invalid_field_value", "campaign_fields.id - must contain at most 100 campaign IDs")},
		{"channels string", fields("channels", "PUSH"), bad("invalid_type", "campaign_fields.channels - must be an array of strings")},
		{"channels element", fields("channels", []any{3}), bad("invalid_field_value", "campaign_fields.channels - every element must be a non-empty string")},
		{"channels unknown", fields("channels", []string{"PUSH", "FAX"}), bad("invalid_field_value",
			"campaign_fields.channels - must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		{"created_by string", fields("created_by", "ann"), bad("invalid_type", "campaign_fields.created_by - must be an array of strings")},
		{"created_date string", fields("created_date", "2025-03-01"), bad("invalid_type", "campaign_fields.created_date - must be an object")},
		{"from_date absent", fields("created_date", map[string]any{"to_date": "2025-03-01"}), bad("missing_field", "campaign_fields.created_date.from_date - is required")},
		{"from_date number", fields("created_date", map[string]any{"from_date": 20250301, "to_date": "2025-03-01"}), bad("invalid_type", "campaign_fields.created_date.from_date - must be a string")},
		{"from_date format", fields("created_date", map[string]any{"from_date": "2025-3-1", "to_date": "2025-03-01"}), bad("invalid_field_value", "campaign_fields.created_date.from_date - must be a date in YYYY-MM-DD format")},
		{"to_date absent", fields("created_date", map[string]any{"from_date": "2025-03-01"}), bad("missing_field", "campaign_fields.created_date.to_date - is required")},
		{"to_date calendar", fields("created_date", map[string]any{"from_date": "2025-03-01", "to_date": "2025-02-30"}), bad("invalid_field_value", "campaign_fields.created_date.to_date - must be a date in YYYY-MM-DD format")},
		{"to_date before from_date", fields("created_date", map[string]any{"from_date": "2025-03-02", "to_date": "2025-03-01"}), bad("invalid_field_value", "campaign_fields.created_date.to_date - must not be before from_date")},
		{"delivery_type unknown", fields("delivery_type", []string{"GENERAL"}), bad("invalid_field_value",
			"campaign_fields.delivery_type - must be one of ONE_TIME, PERIODIC, EVENT_TRIGGERED, BUSINESS_EVENT_TRIGGERED, DEVICE_TRIGGERED, LOCATION_TRIGGERED, BROADCAST_LIVE_ACTIVITY, API_TRIGGERED")},
		{"delivery_type string", fields("delivery_type", "PERIODIC"), bad("invalid_type", "campaign_fields.delivery_type - must be an array of strings")},
		{"name array", fields("name", []string{"x"}), bad("invalid_type", "campaign_fields.name - must be a string")},
		{"status unknown", fields("status", []string{"draft"}), bad("invalid_field_value", "campaign_fields.status - must be one of SCHEDULED, ACTIVE, PAUSED, SENT, STOPPED, RETIRED, ARCHIVED")},
		{"status string", fields("status", "ACTIVE"), bad("invalid_type", "campaign_fields.status - must be an array of strings")},
		{"tags element", fields("tags", []any{""}), bad("invalid_field_value", "campaign_fields.tags - every element must be a non-empty string")},
		{"tags object", fields("tags", map[string]any{}), bad("invalid_type", "campaign_fields.tags - must be an array of strings")},
		{"order: request_id before limit", body("request_id", "<absent>", "limit", 99), bad("missing_field", "request_id - is required")},
		{"order: limit before page", body("limit", 99, "page", 0), bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{"order: channels before status", fields("channels", []string{"FAX"}, "status", []string{"x"}), bad("invalid_field_value",
			"campaign_fields.channels - must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		{"invalid utf-8", []byte("{\"request_id\":\"r\xff\",\"limit\":1,\"page\":1}"), bad("malformed_json", "request body - could not be parsed as a JSON object")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertJSON(t, e.do(t, "POST", metaPath, statsHeaders(e.active), c.body), 400, c.want)
		})
	}
	t.Run("id 100 distinct accepted", func(t *testing.T) {
		ids := append(append([]string{}, hundredOne[:100]...), "id0")
		if r := e.do(t, "POST", metaPath, statsHeaders(e.active), fields("id", ids)); r.status != 200 || string(r.body) != "[]" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("too large", func(t *testing.T) {
		r := e.do(t, "POST", metaPath, statsHeaders(e.active), body("pad", strings.Repeat("x", 1<<20)))
		assertJSON(t, r, 413, apiErr(413, "Payload Too Large", "Request body exceeds 1 MiB.", "payload_too_large"))
	})
}

// TestExecutionsValidation covers request_id, page and limit (all required, checked in that order).
func TestExecutionsValidation(t *testing.T) {
	e := newTestEnv(t)
	bad := func(code, d string) string { return apiErr(400, "Invalid Field Value", d, code) }
	cases := []struct {
		body string
		want string
	}{
		{`nope`, bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{`"x"`, bad("malformed_json", "request body - could not be parsed as a JSON object")},
		{`{"page":1,"limit":2}`, bad("missing_field", "request_id - is required")},
		{`{"request_id":7,"page":1,"limit":2}`, bad("invalid_type", "request_id - must be a string")},
		{`{"request_id":"","page":1,"limit":2}`, bad("invalid_field_value", "request_id - must not be empty")},
		{`{"request_id":"r","limit":2}`, bad("missing_field", "page - is required")},
		{`{"request_id":"r","page":"1","limit":2}`, bad("invalid_type", "page - must be an integer")},
		{`{"request_id":"r","page":0,"limit":2}`, bad("invalid_field_value", "page - must be an integer greater than or equal to 1")},
		{`{"request_id":"r","page":1}`, bad("missing_field", "limit - is required")},
		{`{"request_id":"r","page":1,"limit":null}`, bad("missing_field", "limit - is required")},
		{`{"request_id":"r","page":1,"limit":[2]}`, bad("invalid_type", "limit - must be an integer")},
		{`{"request_id":"r","page":1,"limit":16}`, bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{`{"request_id":"r","page":1,"limit":0.5}`, bad("invalid_field_value", "limit - must be an integer between 1 and 15")},
		{`{"request_id":"r","page":0,"limit":0}`, bad("invalid_field_value", "page - must be an integer greater than or equal to 1")},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			assertJSON(t, e.do(t, "POST", executionsPath("p"), statsHeaders(e.active), []byte(c.body)), 400, c.want)
		})
	}
}

// TestCampaignsAuthErrors covers SPEC §5.2 rows in order on both endpoints; no rate-limit headers before
// authentication; other methods are 405.
func TestCampaignsAuthErrors(t *testing.T) {
	e := newTestEnv(t)
	ws, dis := e.active, e.disabled
	body := []byte(`{"request_id":"r","limit":2,"page":1}`)
	cases := []struct {
		name   string
		header map[string]string
		status int
		want   string
	}{
		{"no authorization", map[string]string{"MOE-APPKEY": ws.ID}, 401, apiErr(401, "Authentication required", "Authentication Header Required", "auth_header_required")},
		{"no appkey", map[string]string{"Authorization": basic(ws.ID, ws.ReportKey)}, 401, apiErr(401, "Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
		{"not basic", map[string]string{"Authorization": "Bearer x", "MOE-APPKEY": ws.ID}, 401, apiErr(401, "Authentication required", "No identity information found.", "auth_header_invalid")},
		{"appkey mismatch", map[string]string{"Authorization": basic(ws.ID, ws.ReportKey), "MOE-APPKEY": dis.ID}, 401, apiErr(401, "Authentication required", "MOE-APPKEY does not match the workspace in Authentication Header", "appkey_mismatch")},
		{"unknown workspace", map[string]string{"Authorization": basic("ffffffffffffffffffffffff", "k"), "MOE-APPKEY": "ffffffffffffffffffffffff"}, 401, apiErr(401, "Authentication required", "Invalid identity information found.", "invalid_credentials")},
		{"data key", map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "MOE-APPKEY": ws.ID}, 401, apiErr(401, "Authentication required", "Invalid identity information found.", "invalid_credentials")},
		{"disabled", map[string]string{"Authorization": basic(dis.ID, dis.ReportKey), "MOE-APPKEY": dis.ID}, 403, apiErr(403, "Forbidden Request", "<null>", "workspace_disabled")},
	}
	for _, path := range []string{metaPath, executionsPath("camp_periodic_101")} {
		for _, c := range cases {
			t.Run(path+" "+c.name, func(t *testing.T) {
				r := e.do(t, "POST", path, c.header, body)
				assertJSON(t, r, c.status, c.want)
				if r.header.Get("RateLimit-Limit") != "" {
					t.Fatalf("rate-limit headers before authentication")
				}
			})
		}
		t.Run(path+" GET", func(t *testing.T) {
			assertJSON(t, e.do(t, "GET", path, statsHeaders(ws), nil), 405, apiErr(405, "Method Not Allowed", "Method not allowed.", "method_not_allowed"))
		})
	}
}

// TestCampaignsRateLimit: Meta and Executions share the `campaigns` family (SPEC §5.4), separate from `stats`; the
// check runs before body validation.
func TestCampaignsRateLimit(t *testing.T) {
	e := newTestEnv(t)
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	if r := e.do(t, "PATCH", "/admin/v1/workspaces/"+e.active.ID, adm, []byte(`{"rate_limit_per_minute":3}`)); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	hdr := statsHeaders(e.active)
	steps := []struct {
		path   string
		body   string
		status int
	}{
		{metaPath, `{"request_id":"r","limit":1,"page":1}`, 200},
		{executionsPath("x"), `{"request_id":"r","limit":1,"page":1}`, 200},
		{metaPath, `{}`, 400}, // invalid bodies count too
	}
	for i, s := range steps {
		r := e.do(t, "POST", s.path, hdr, []byte(s.body))
		if r.status != s.status || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != fmt.Sprint(2-i) || r.header.Get("RateLimit-Reset") == "" {
			t.Fatalf("step %d: %d %v %s", i, r.status, r.header, r.body)
		}
		e.advance(10 * time.Second)
	}
	r := e.do(t, "POST", executionsPath("x"), hdr, []byte(`not even json`))
	assertJSON(t, r, 429, apiErr(429, "Too Many Requests", "Rate limit of 3 requests per minute exceeded for this workspace. Retry after 30 seconds.", "rate_limited"))
	if r.header.Get("Retry-After") != "30" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("429 headers: %v", r.header)
	}
	// The stats family is counted on its own.
	if r := e.do(t, "POST", "/core-services/v1/campaign-stats", hdr, []byte(`{}`)); r.status != 400 || r.header.Get("RateLimit-Remaining") != "2" {
		t.Fatalf("stats family: %d %v", r.status, r.header)
	}
}

// TestExecutions covers ordering (sent_time ascending, null last, then id), sent_time sources and format, the status
// rule, paging, total_instances and parents without children (SPEC §7.2).
func TestExecutions(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.postEvents(t, ws,
		// e1: a delivered (view-class) event before its first send: sent_time is the send, not the start time.
		campaignEvent("d1", "MOE_EMAIL_DELIVERED", "2025-02-01T08:00:00Z", "e1", "P"),
		campaignEvent("s1", "MOE_EMAIL_SENT", "2025-02-01T09:00:01.530Z", "e1", "P"),
		campaignEvent("s1b", "MOE_EMAIL_SENT", "2025-02-03T09:00:00Z", "e1", "P"),
		campaignEvent("s2", "MOE_EMAIL_SENT", "2025-01-01T09:00:02.118Z", "e2", "P"),
		// e7: no send-class event: sent_time falls back to the inferred campaign_start_time.
		campaignEvent("o7", "MOE_EMAIL_OPEN", "2025-01-20T00:00:00.007Z", "e7", "P"),
		campaignEvent("z1", "SMS_SENT", "2025-01-05T00:00:00Z", "standalone", ""),
	)
	e.putCampaign(t, ws, "e3", `{"parent_campaign_id":"P","campaign_status":"scheduled","campaign_start_time":"2025-03-01T09:00:00Z"}`)
	e.putCampaign(t, ws, "e4", `{"parent_campaign_id":"P","campaign_status":"ACTIVE"}`)
	e.putCampaign(t, ws, "e5", `{"parent_campaign_id":"P","campaign_status":"STOPPED","campaign_start_time":"2025-01-15T00:00:00Z"}`)
	e.putCampaign(t, ws, "e6", `{"parent_campaign_id":"P","campaign_status":"SENT"}`)
	// Explicit ACTIVE wins over events: Sending. Explicit start time loses to the send event.
	e.putCampaign(t, ws, "e2", `{"parent_campaign_id":"P","campaign_status":"ACTIVE","campaign_start_time":"2024-12-01T00:00:00Z"}`)

	all := `{"executions":[
		{"campaign_id":"e2","sent_time":"2025-01-01T09:00:02.118000","status":"Sending"},
		{"campaign_id":"e5","sent_time":"2025-01-15T00:00:00.000000","status":"Failed"},
		{"campaign_id":"e7","sent_time":"2025-01-20T00:00:00.007000","status":"Sent"},
		{"campaign_id":"e1","sent_time":"2025-02-01T09:00:01.530000","status":"Sent"},
		{"campaign_id":"e3","sent_time":"2025-03-01T09:00:00.000000","status":"Scheduled"},
		{"campaign_id":"e4","sent_time":null,"status":"Sending"},
		{"campaign_id":"e6","sent_time":null,"status":"Scheduled"}],"total_instances":7}`
	r := e.do(t, "POST", executionsPath("P"), statsHeaders(ws), []byte(`{"request_id":"child_req_1","page":1,"limit":15}`))
	assertJSON(t, r, 200, all)
	if r.header.Get("RateLimit-Limit") == "" {
		t.Fatalf("missing rate-limit headers")
	}
	r = e.do(t, "POST", executionsPath("P"), statsHeaders(ws), []byte(`{"request_id":"child_req_1","page":1,"limit":2}`))
	want := `{"executions":[{"campaign_id":"e2","sent_time":"2025-01-01T09:00:02.118000","status":"Sending"},` +
		`{"campaign_id":"e5","sent_time":"2025-01-15T00:00:00.000000","status":"Failed"}],"total_instances":7}`
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("page 1 (key order included):\n got %d %s\nwant %s", r.status, r.body, want)
	}
	for _, c := range []struct {
		body, want string
	}{
		{`{"request_id":"r","page":4,"limit":2}`, `{"executions":[{"campaign_id":"e6","sent_time":null,"status":"Scheduled"}],"total_instances":7}`},
		{`{"request_id":"r","page":2,"limit":3.0}`, `{"executions":[{"campaign_id":"e1","sent_time":"2025-02-01T09:00:01.530000","status":"Sent"},
			{"campaign_id":"e3","sent_time":"2025-03-01T09:00:00.000000","status":"Scheduled"},
			{"campaign_id":"e4","sent_time":null,"status":"Sending"}],"total_instances":7}`},
		{`{"request_id":"r","page":5,"limit":2}`, `{"executions":[],"total_instances":7}`},
	} {
		assertJSON(t, e.do(t, "POST", executionsPath("P"), statsHeaders(ws), []byte(c.body)), 200, c.want)
	}
	for _, parent := range []string{"unknown", "standalone", "e1"} {
		r := e.do(t, "POST", executionsPath(parent), statsHeaders(ws), []byte(`{"request_id":"r","page":1,"limit":15}`))
		if r.status != 200 || string(r.body) != `{"executions":[],"total_instances":0}` {
			t.Fatalf("%s: %d %s", parent, r.status, r.body)
		}
	}
	// Meta reports the same hierarchy.
	got := e.metaIDs(t, ws, map[string]any{"request_id": "m", "limit": 15, "page": 1, "campaign_fields": map[string]any{"id": "P"}})
	r = e.do(t, "POST", metaPath, statsHeaders(ws), []byte(`{"request_id":"m","limit":15,"page":1,"campaign_fields":{"id":"P"}}`))
	if len(got) != 1 || !strings.Contains(string(r.body), `"total_child_campaigns":7`) {
		t.Fatalf("meta of the parent: %s", r.body)
	}
}

// TestCatalogPutRacingInference runs catalog PUTs concurrently with ingests that infer values of the same campaign
// (SPEC §3.12, §3.14): neither may lose the other's write. Each round PUTs an explicit team while an event with a
// later time and a new campaign name is ingested; afterwards the explicit team is the round's and the inferred
// name is the latest event's.
func TestCatalogPutRacingInference(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	e.putCampaign(t, ws, "race", `{"channel":"PUSH"}`)
	for round := 0; round < 25; round++ {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"channel":"PUSH","campaign_team":"team-%d"}`, round)
			if r := e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/race", hdr, []byte(body)); r.status != 200 {
				t.Errorf("PUT: %d %s", r.status, r.body)
			}
		}()
		go func() {
			defer wg.Done()
			ev, _ := json.Marshal(map[string]any{"event_code": "n_i_s", "event_uuid": fmt.Sprint("race-", round),
				"event_time": 1740819600 + round, "uid": "u1",
				"event_attributes": map[string]any{"campaign_id": "race", "campaign_name": fmt.Sprint("name-", round)}})
			e.postEvents(t, ws, string(ev))
		}()
		wg.Wait()
		r := e.do(t, "GET", "/v1/campaigns/"+ws.ID+"/race", hdr, nil)
		var got struct {
			Name string `json:"campaign_name"`
			Team string `json:"campaign_team"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
		if got.Name != fmt.Sprint("name-", round) || got.Team != fmt.Sprint("team-", round) {
			t.Fatalf("round %d: campaign_name %q, campaign_team %q (a concurrent write was lost)", round, got.Name, got.Team)
		}
	}
}

// TestPutDetachesAChild: a PUT with parent_campaign_id null detaches a child from the parent its events name (SPEC
// §3.12.1 "string or null", §2.3): the effective campaign has no parent and lists the field as explicit; a later
// PUT without the field restores the inferred parent.
func TestPutDetachesAChild(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.postEvents(t, ws, campaignEvent("d1", "MOE_EMAIL_SENT", "2025-03-01T10:00:00Z", "k1", "kp"))
	if err := e.sys.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	get := func() map[string]any {
		var c map[string]any
		r := e.do(t, "GET", "/v1/campaigns/"+ws.ID+"/k1", hdr, nil)
		if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
			t.Fatalf("GET k1: %d %s", r.status, r.body)
		}
		return c
	}
	if c := get(); c["parent_campaign_id"] != "kp" {
		t.Fatalf("inferred parent: %v", c["parent_campaign_id"])
	}
	r := e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/k1", hdr, []byte(`{"parent_campaign_id":null}`))
	var put map[string]any
	json.Unmarshal(r.body, &put)
	if r.status != 200 || put["parent_campaign_id"] != nil || fmt.Sprint(put["explicit_fields"]) != "[parent_campaign_id]" {
		t.Fatalf("PUT null parent: %d %s", r.status, r.body)
	}
	if c := get(); c["parent_campaign_id"] != nil {
		t.Fatalf("GET after the detach: parent %v", c["parent_campaign_id"])
	}
	e.putCampaign(t, ws, "k1", `{"campaign_name":"k one"}`)
	if c := get(); c["parent_campaign_id"] != "kp" {
		t.Fatalf("a PUT without the field: parent %v, want the inferred kp", c["parent_campaign_id"])
	}
}

// TestPutTimestampsAreMilliseconds checks that a catalog PUT's created_at and updated_at carry the milliseconds
// the store keeps, so that the PUT's response, a GET and a GET after a restart show the same values.
func TestPutTimestampsAreMilliseconds(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.advance(123456789 * time.Nanosecond)
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	const want = "2025-03-10T12:00:00.123Z"
	stamps := func(r response) (string, string) {
		t.Helper()
		var c map[string]any
		if err := json.Unmarshal(r.body, &c); err != nil || (r.status != 200 && r.status != 201) {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return fmt.Sprint(c["created_at"]), fmt.Sprint(c["updated_at"])
	}
	if created, updated := stamps(e.do(t, "PUT", "/v1/campaigns/"+ws.ID+"/ms", hdr, []byte(`{"campaign_name":"M"}`))); created != want || updated != want {
		t.Errorf("PUT response: created_at %s, updated_at %s; want %s", created, updated, want)
	}
	if created, updated := stamps(e.do(t, "GET", "/v1/campaigns/"+ws.ID+"/ms", hdr, nil)); created != want || updated != want {
		t.Errorf("GET: created_at %s, updated_at %s; want %s", created, updated, want)
	}
}
