package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

const wsJSON = `{"workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","name":"Shop","timezone":"Asia/Kolkata","status":"active","rate_limit_per_minute":100,"created_at":"2025-03-01T09:00:00Z","disabled_at":null`

func TestAdminWorkspaces(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		switch {
		case r.Method == "POST" && r.Path == "/admin/v1/workspaces":
			writeJSON(w, 201, wsJSON+`,"report_key":"rk","data_key":"dk"}`)
		case r.Method == "GET" && r.Path == "/admin/v1/workspaces":
			writeJSON(w, 200, `{"workspaces":[`+wsJSON+`}]}`)
		case r.Path == "/admin/v1/workspaces/"+testWS+"/disable":
			writeJSON(w, 200, `{"workspace_id":"65f0a1b2c3d4e5f6a7b8c9d0","status":"disabled","disabled_at":"2025-03-02T00:00:00Z"}`)
		case r.Path == "/admin/v1/workspaces/"+testWS+"/rotate-keys":
			writeJSON(w, 200, wsJSON+`,"report_key":"rk2","data_key":"dk2"}`)
		case r.Path == "/admin/v1/workspaces/missing":
			writeJSON(w, 404, `{"title":"Not Found","description":"workspace not found","code":"not_found"}`)
		default:
			writeJSON(w, 200, wsJSON+`}`)
		}
	})
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, testToken, CreateWorkspaceRequest{Name: "Shop", Timezone: "Asia/Kolkata", RateLimitPerMinute: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ws.WorkspaceID != testWS || ws.ReportKey != "rk" || ws.DataKey != "dk" || ws.DisabledAt != nil || ws.CreatedAt != "2025-03-01T09:00:00Z" {
		t.Errorf("created = %+v", ws)
	}
	r := (*reqs)[0]
	wantHeader(t, r.Header, "Authorization", "Bearer "+testToken)
	wantHeader(t, r.Header, "Content-Type", "application/json")
	wantJSONEqual(t, r.Body, `{"name":"Shop","timezone":"Asia/Kolkata","rate_limit_per_minute":100}`)

	list, err := c.ListWorkspaces(ctx, testToken, "active")
	if err != nil || len(list) != 1 || list[0].Name != "Shop" || list[0].ReportKey != "" {
		t.Fatalf("list = %+v %v", list, err)
	}
	r = (*reqs)[1]
	wantReq(t, r, "GET", "/admin/v1/workspaces")
	if r.Query != "status=active" || len(r.Body) != 0 {
		t.Errorf("list query %q body %q", r.Query, r.Body)
	}
	if _, err := c.ListWorkspaces(ctx, testToken, ""); err != nil || (*reqs)[2].Query != "" {
		t.Errorf("list all: query %q err %v", (*reqs)[2].Query, err)
	}

	if _, err := c.GetWorkspace(ctx, testToken, testWS); err != nil {
		t.Fatal(err)
	}
	wantReq(t, (*reqs)[3], "GET", "/admin/v1/workspaces/"+testWS)

	name := "New name"
	if _, err := c.UpdateWorkspace(ctx, testToken, testWS, &name, nil); err != nil {
		t.Fatal(err)
	}
	wantReq(t, (*reqs)[4], "PATCH", "/admin/v1/workspaces/"+testWS)
	wantJSONEqual(t, (*reqs)[4].Body, `{"name":"New name"}`)
	rl := 5
	if _, err := c.UpdateWorkspace(ctx, testToken, testWS, nil, &rl); err != nil {
		t.Fatal(err)
	}
	wantJSONEqual(t, (*reqs)[5].Body, `{"rate_limit_per_minute":5}`)

	ws, err = c.DisableWorkspace(ctx, testToken, testWS)
	if err != nil || ws.Status != "disabled" || ws.DisabledAt == nil || *ws.DisabledAt != "2025-03-02T00:00:00Z" {
		t.Fatalf("disable = %+v %v", ws, err)
	}
	wantReq(t, (*reqs)[6], "POST", "/admin/v1/workspaces/"+testWS+"/disable")
	if _, err := c.EnableWorkspace(ctx, testToken, testWS); err != nil {
		t.Fatal(err)
	}
	wantReq(t, (*reqs)[7], "POST", "/admin/v1/workspaces/"+testWS+"/enable")

	ws, err = c.RotateKeys(ctx, testToken, testWS, []string{KeyReport})
	if err != nil || ws.ReportKey != "rk2" {
		t.Fatalf("rotate = %+v %v", ws, err)
	}
	wantReq(t, (*reqs)[8], "POST", "/admin/v1/workspaces/"+testWS+"/rotate-keys")
	wantJSONEqual(t, (*reqs)[8].Body, `{"keys":["report_key"]}`)
	if _, err := c.RotateKeys(ctx, testToken, testWS, nil); err != nil {
		t.Fatal(err)
	}
	if string((*reqs)[9].Body) != `{}` {
		t.Errorf("rotate default body = %s", (*reqs)[9].Body)
	}

	_, err = c.GetWorkspace(ctx, testToken, "missing")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code() != "not_found" {
		t.Fatalf("missing err = %v", err)
	}
}

func TestAdminQuarantine(t *testing.T) {
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		switch {
		case r.Method == "GET" && r.Path == "/admin/v1/workspaces/"+testWS+"/quarantine":
			writeJSON(w, 200, `{"items":[{"quarantine_id":"q1","workspace_id":"`+testWS+`","received_at":"2025-03-01T09:00:00Z","request_id":"r","endpoint":"streams","index":3,"event_uuid":"u","reason":"event_time is required"}],"next_cursor":"cur2"}`)
		case r.Method == "GET":
			writeJSON(w, 200, `{"quarantine_id":"q1","index":3,"reason":"line is not valid JSON","payload":"{not json","payload_truncated":false}`)
		case r.Method == "DELETE" && r.Path == "/admin/v1/workspaces/"+testWS+"/quarantine":
			writeJSON(w, 200, `{"deleted":7}`)
		default:
			w.Header().Set("X-Request-Id", "x")
			w.WriteHeader(204)
		}
	})
	ctx := context.Background()
	since := time.Date(2025, 3, 1, 14, 30, 0, 0, time.FixedZone("IST", 19800))
	page, err := c.ListQuarantine(ctx, testToken, testWS, QuarantineQuery{Since: since, Reason: "event time", Limit: 50, Cursor: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Index != 3 || page.NextCursor == nil || *page.NextCursor != "cur2" {
		t.Errorf("page = %+v", page)
	}
	q, _ := url.ParseQuery((*reqs)[0].Query)
	want := url.Values{"since": {"2025-03-01T09:00:00Z"}, "reason": {"event time"}, "limit": {"50"}, "cursor": {"c1"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
	wantHeader(t, (*reqs)[0].Header, "Authorization", "Bearer "+testToken)

	rec, err := c.GetQuarantine(ctx, testToken, testWS, "q1")
	if err != nil || rec.PayloadText() != "{not json" || rec.Reason != "line is not valid JSON" {
		t.Fatalf("get = %+v %v", rec, err)
	}
	wantReq(t, (*reqs)[1], "GET", "/admin/v1/workspaces/"+testWS+"/quarantine/q1")
	if (QuarantineRecord{Payload: []byte(`{"a":1}`)}).PayloadText() != `{"a":1}` {
		t.Error("PayloadText of an object payload")
	}

	if err := c.DeleteQuarantine(ctx, testToken, testWS, "q1"); err != nil {
		t.Fatal(err)
	}
	wantReq(t, (*reqs)[2], "DELETE", "/admin/v1/workspaces/"+testWS+"/quarantine/q1")

	n, err := c.PurgeQuarantine(ctx, testToken, testWS, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 7 {
		t.Fatalf("purge = %d %v", n, err)
	}
	wantReq(t, (*reqs)[3], "DELETE", "/admin/v1/workspaces/"+testWS+"/quarantine")
	if (*reqs)[3].Query != "before=2025-03-01T00%3A00%3A00Z" {
		t.Errorf("purge query = %q", (*reqs)[3].Query)
	}
	if _, err := c.PurgeQuarantine(ctx, testToken, testWS, time.Time{}); err == nil {
		t.Error("zero before accepted")
	}
}

func TestAdminUnauthorized(t *testing.T) {
	const body = `{"title":"Unauthorized","description":"Admin token missing or invalid","code":"admin_token_invalid"}`
	c, _ := newServer(t, func(w http.ResponseWriter, r *recorded) { writeJSON(w, 401, body) })
	_, err := c.ListWorkspaces(context.Background(), "bad", "")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || string(apiErr.Body) != body || apiErr.Code() != "admin_token_invalid" {
		t.Fatalf("err = %v", err)
	}
}
