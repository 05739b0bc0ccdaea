package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestReports(t *testing.T) {
	polls := 0
	run := func(status string) string {
		return `{"run_id":"run1","report_id":"r/1","status":"` + status + `","trigger":"manual","scheduled_for":null,"created_at":"2025-03-10T06:00:00Z",
			"started_at":null,"finished_at":null,"range":{"start_date":"2025-03-03","end_date":"2025-03-09"},"filename":null,"size":null,
			"sha256":null,"rows":null,"expires_at":null,"superseded":false,"error":null,"webhook_status":"none"}`
	}
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		base := "/v1/reports/" + testWS
		switch {
		case r.Method == "POST" && r.Path == base:
			writeJSON(w, 201, `{"report_id":"r/1","name":"R","range":{"last_days":7},"campaigns":null,"next_run_at":null,"last_run":null}`)
		case r.Method == "GET" && r.Path == base:
			writeJSON(w, 200, `{"reports":[{"report_id":"r/1","name":"R","range":{"last_days":7},"last_run":`+run("QUEUED")+`}]}`)
		case r.Method == "POST" && r.Path == base+"/r%2F1/run":
			writeJSON(w, 202, run("QUEUED"))
		case r.Method == "GET" && r.Path == base+"/r%2F1/runs":
			polls++
			if polls < 3 {
				writeJSON(w, 200, `{"runs":[`+run("RUNNING")+`]}`)
				return
			}
			writeJSON(w, 200, `{"runs":[`+run("SUCCESSFUL")+`]}`)
		case r.Method == "DELETE":
			w.WriteHeader(204)
		default:
			writeJSON(w, 404, `{"title":"Not Found","description":"Report not found.","code":"not_found"}`)
		}
	})
	ctx := context.Background()
	rep, err := c.CreateReport(ctx, testWS, "rk", ReportDefinition{Name: "R", Range: ReportRange{LastDays: 7}})
	if err != nil {
		t.Fatal(err)
	}
	r0 := (*reqs)[0]
	if string(r0.Body) != `{"name":"R","range":{"last_days":7}}` || r0.Header.Get("Authorization") != basicHeader(testWS, "rk").Get("Authorization") ||
		r0.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("create request: %s %v", r0.Body, r0.Header)
	}
	if rep.ReportID != "r/1" || rep.Range.LastDays != 7 || rep.NextRunAt != nil || !json.Valid(rep.Raw) {
		t.Fatalf("report: %+v", rep)
	}
	if _, err := c.CreateReport(ctx, testWS, "rk", json.RawMessage(`{"name":"raw"}`)); err != nil {
		t.Fatal(err)
	}
	if got := string((*reqs)[1].Body); got != `{"name":"raw"}` {
		t.Fatalf("raw body sent as %s", got)
	}
	list, err := c.ListReports(ctx, testWS, "rk")
	if err != nil || len(list) != 1 || list[0].LastRun == nil || list[0].LastRun.Status != RunQueued {
		t.Fatalf("list: %+v %v", list, err)
	}
	r, err := c.RunReport(ctx, testWS, "rk", "r/1")
	if err != nil || r.RunID != "run1" {
		t.Fatalf("run: %+v %v", r, err)
	}
	done, err := c.WaitReportRun(ctx, testWS, "rk", "r/1", "run1", time.Millisecond)
	if err != nil || done.Status != RunSuccessful || polls != 3 {
		t.Fatalf("wait: %+v %v (polls %d)", done, err, polls)
	}
	if last := (*reqs)[len(*reqs)-1]; last.Query != "limit=500" {
		t.Fatalf("wait query %q", last.Query)
	}
	if _, err := c.WaitReportRun(ctx, testWS, "rk", "r/1", "other", time.Millisecond); !errors.Is(err, ErrRunNotFound) {
		t.Fatalf("unknown run: %v", err)
	}
	if err := c.DeleteReport(ctx, testWS, "rk", "r/1"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetReport(ctx, testWS, "rk", "missing")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code() != "not_found" {
		t.Fatalf("get missing: %v", err)
	}
}
