package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// TestClusterAnswersAlike checks two nodes of one cluster against each other: a conversion whose goal event was
// acknowledged by one node is in the next Stats answer of the other, within the 1 s freshness bound (SPEC §3.6;
// whichever node leads the upkeep); the same Stats request gives the same bytes on both nodes; and a report run
// through one node downloads byte for byte alike from both.
func TestClusterAnswersAlike(t *testing.T) {
	cl := startClusterStores(t)
	cfg := cl.Config
	cfg.DeriveWait = time.Second
	cfg.ReportStorage = t.TempDir() // a directory both nodes share
	a, b := cl.startNode(t, cfg), cl.startNode(t, cfg)
	ca, cb := client.New(a.URL()), client.New(b.URL())
	ctx := t.Context()
	ws := clusterWorkspace(t, ca, cfg.AdminToken, 10000)
	const cid = "alike-email-1"
	status, _, err := cb.PutCampaign(ctx, ws.WorkspaceID, ws.DataKey, cid, map[string]any{"campaign_name": "Alike", "channel": "EMAIL",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 240, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase"}}}})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("PUT campaign through b: status %d, %v", status, err)
	}
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	var campaignEvents []emailEvent
	for u := 0; u < 5; u++ {
		uid := fmt.Sprintf("alike-user-%d", u)
		campaignEvents = append(campaignEvents, emailEvent{UUID: fmt.Sprintf("alike-sent-%d", u), Code: "MOE_EMAIL_SENT", UID: uid, Campaign: cid, At: at})
		if u < 3 {
			campaignEvents = append(campaignEvents, emailEvent{UUID: fmt.Sprintf("alike-click-%d", u), Code: "MOE_EMAIL_CLICK", UID: uid, Campaign: cid, At: at.Add(time.Minute)})
		}
	}
	res, err := ca.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, wireEvents(campaignEvents))
	wantIngest(t, "campaign events through a", res, err, len(campaignEvents), 0)
	// Two of the three clicking users buy, an hour later, acknowledged by b.
	var goals []any
	for u := 0; u < 2; u++ {
		goals = append(goals, map[string]any{"event_name": "Purchase", "event_uuid": fmt.Sprintf("alike-buy-%d", u),
			"event_time": at.Add(time.Hour).UnixMilli(), "uid": fmt.Sprintf("alike-user-%d", u)})
	}
	res, err = cb.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, goals)
	wantIngest(t, "goal events through b", res, err, len(goals), 0)

	req := func(metric string) client.StatsRequest {
		return client.StatsRequest{RequestID: "alike-" + metric, CampaignIDs: []string{cid}, StartDate: "2025-03-01",
			EndDate: "2025-03-01", AttributionType: "CLICK_THROUGH", MetricType: metric}
	}
	// The very next read, on the node that did not acknowledge the goals. A read that answers early without them
	// fails at once; one that waited the whole --derive-wait on a loaded machine (the leader's worker polls the
	// shared log, under the race detector, beside other packages' tests) must still see them within a minute.
	read := func() (bool, string) {
		start := time.Now()
		resp, err := ca.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, req("TOTAL"))
		if err != nil {
			t.Fatal(err)
		}
		node, ok := resp.Data[cid][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
		if !ok {
			t.Fatalf("no overall node: %s", resp.Raw)
		}
		g := node.ConversionGoalStats["Purchase"]
		got := fmt.Sprintf("sent %v, click %v, Purchase %+v; want 5, 3 and 2 conversions\n%s", node.PerformanceStats["sent"],
			node.PerformanceStats["click"], g, resp.Raw)
		if node.PerformanceStats["click"] != 3 || node.PerformanceStats["sent"] != 5 {
			t.Fatalf("right after the 200s, node a: %s", got)
		}
		if g.Conversions == 2 {
			return true, ""
		}
		if took := time.Since(start); took < cfg.DeriveWait {
			t.Fatalf("right after the 200s, node a answered after %v without waiting for the worker: %s", took, got)
		}
		return false, got
	}
	if ok, got := read(); !ok {
		t.Logf("the read waited %v and the worker was still behind: %s", cfg.DeriveWait, got)
		for deadline := time.Now().Add(time.Minute); !ok; ok, got = read() {
			if time.Now().After(deadline) {
				t.Fatalf("a minute after the 200s, node a: %s", got)
			}
		}
	}
	for _, metric := range []string{"TOTAL", "UNIQUE"} {
		ra, err := ca.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, req(metric))
		if err != nil {
			t.Fatal(err)
		}
		rb, err := cb.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, req(metric))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ra.Raw, rb.Raw) {
			t.Errorf("%s: node a and node b answer differently:\n%s\n%s", metric, ra.Raw, rb.Raw)
		}
	}

	rep, err := ca.CreateReport(ctx, ws.WorkspaceID, ws.ReportKey, client.ReportDefinition{Name: "Alike Report",
		Range: client.ReportRange{StartDate: "2025-03-01", EndDate: "2025-03-01"}, Compression: "zip"})
	if err != nil {
		t.Fatalf("create report through a: %v", err)
	}
	run, err := cb.RunReport(ctx, ws.WorkspaceID, ws.ReportKey, rep.ReportID)
	if err != nil {
		t.Fatalf("run report through b: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	done, err := ca.WaitReportRun(waitCtx, ws.WorkspaceID, ws.ReportKey, rep.ReportID, run.RunID, 50*time.Millisecond)
	if err != nil || done.Status != client.RunSuccessful || done.Filename == nil {
		t.Fatalf("report run: %+v, %v", done, err)
	}
	var fa, fb bytes.Buffer
	if _, err := ca.DownloadReport(ctx, ws.WorkspaceID, ws.ReportKey, *done.Filename, &fa, nil); err != nil {
		t.Fatalf("download through a: %v", err)
	}
	if _, err := cb.DownloadReport(ctx, ws.WorkspaceID, ws.ReportKey, *done.Filename, &fb, nil); err != nil {
		t.Fatalf("download through b: %v", err)
	}
	if fa.Len() == 0 || !bytes.Equal(fa.Bytes(), fb.Bytes()) || int64(fa.Len()) != *done.Size {
		t.Fatalf("report file: %d bytes from a, %d from b (equal: %v), run size %d", fa.Len(), fb.Len(), bytes.Equal(fa.Bytes(), fb.Bytes()), *done.Size)
	}
}
