package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// TestEndToEnd starts the real server in-process, drives it only through the public client, and compares every
// ingest result and every Stats response with the reference model (conversion_goal_stats excluded).
func TestEndToEnd(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = "e2e-admin-token-0123456789"
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	c := client.New(srv.URL())

	// run replays one workload against one fresh workspace (a closure, so the client's type need not be named).
	run := func(t *testing.T, opt workloadOptions) {
		ctx := t.Context()
		adminToken := cfg.AdminToken
		w := generateWorkload(opt)
		m, err := newRefModel(opt.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		// A raised Stats rate limit lets the test run the extra requests too (§5.4: 1–100000).
		ws, err := c.CreateWorkspace(ctx, adminToken, client.CreateWorkspaceRequest{Name: "e2e", Timezone: opt.Timezone,
			RateLimitPerMinute: 10000})
		if err != nil {
			t.Fatalf("create workspace: %v", err)
		}
		wsID, dataKey, reportKey := ws.WorkspaceID, ws.DataKey, ws.ReportKey

		batch := 0
		for _, op := range w.Ops {
			switch op.Kind {
			case opIngest:
				batch++
				events := make([]any, len(op.Events))
				for i, e := range op.Events {
					events[i] = e
				}
				want := m.Ingest(op.Events, time.Now())
				res, err := c.IngestEvents(ctx, wsID, dataKey, events)
				if err != nil {
					t.Fatalf("batch %d: ingest: %v", batch, err)
				}
				if res.Accepted != want.Accepted || res.Duplicates != want.Duplicates || res.Rejected != want.Rejected {
					t.Errorf("batch %d (%d events): accepted/duplicates/rejected = %d/%d/%d, want %d/%d/%d", batch,
						len(events), res.Accepted, res.Duplicates, res.Rejected, want.Accepted, want.Duplicates, want.Rejected)
				}
				wantErrs := []any{}
				for _, e := range want.Errors() {
					wantErrs = append(wantErrs, map[string]any{"index": int64(e.Index), "event_uuid": e.UUID, "message": e.Message})
				}
				gotErrs := []any{}
				for _, e := range res.Errors {
					gotErrs = append(gotErrs, map[string]any{"index": int64(e.Index), "event_uuid": e.EventUUID, "message": e.Message})
				}
				if d := diffTrees(wantErrs, gotErrs, 1); len(d) > 0 {
					t.Errorf("batch %d: errors differ: %s", batch, d[0])
					for i := 0; i < len(wantErrs) || i < len(gotErrs); i++ {
						var we, ge any
						if i < len(wantErrs) {
							we = wantErrs[i]
						}
						if i < len(gotErrs) {
							ge = gotErrs[i]
						}
						if describe(we) != describe(ge) {
							t.Errorf("  first difference at errors[%d]: want %s, got %s", i, describe(we), describe(ge))
							if idx, ok := indexOf(we, ge); ok && idx < len(op.Events) {
								t.Errorf("  event %d was %s", idx, op.Events[idx])
							}
							break
						}
					}
				}
			case opPut:
				wantStatus := m.PutCampaign(op.Campaign, op.Put)
				status, _, err := c.PutCampaign(ctx, wsID, dataKey, op.Campaign, op.Put)
				if err != nil {
					t.Fatalf("PUT %s: %v", op.Campaign, err)
				}
				if status != wantStatus {
					t.Errorf("PUT %s %s: status %d, want %d", op.Campaign, mustJSON(op.Put), status, wantStatus)
				}
			case opFunnel:
				wantStatus, wantN := m.PostFunnel(op.Campaign, op.Funnel)
				n, err := c.PostFunnel(ctx, wsID, dataKey, op.Campaign, op.Funnel)
				switch {
				case wantStatus != 200 && err == nil:
					t.Errorf("funnel post to %s: succeeded, want status %d", op.Campaign, wantStatus)
				case wantStatus == 200 && err != nil:
					t.Errorf("funnel post to %s: %v", op.Campaign, err)
				case wantStatus == 200 && n != wantN:
					t.Errorf("funnel post to %s: accepted %d, want %d", op.Campaign, n, wantN)
				}
			}
		}
		if t.Failed() {
			t.Log("ingest already differs from the reference; the Stats comparisons below inherit that difference")
		}
		time.Sleep(1100 * time.Millisecond) // §3.6: visible within 1 second

		calls, compared, failing := 0, 0, 0
		const maxReported = 12
		plan, budget := w.Queries, maxStatsCalls
		if ws.RateLimitPerMinute >= 1000 {
			plan, budget = append(append([]queryPlan(nil), w.Queries...), w.Extra...), 1000
		}
		// The extra requests run only while the query phase is young (the race detector slows the server ~8×).
		extraUntil := time.Now().Add(12 * time.Second)
	queries:
		for qi, q := range plan {
			if qi >= len(w.Queries) && time.Now().After(extraUntil) {
				t.Logf("time budget spent: ran %d of %d extra requests", qi-len(w.Queries), len(w.Extra))
				break
			}
			req := q.Req
			for page := 0; page < 30; page++ {
				if calls >= budget {
					t.Logf("stopping at the rate-limit budget of %d Stats calls (query %d of %d)", budget, qi, len(plan))
					break queries
				}
				calls++
				want := m.Stats(req)
				resp, err := c.CampaignStats(ctx, wsID, reportKey, client.StatsRequest{
					RequestID: req.RequestID, CampaignIDs: req.CampaignIDs, StartDate: req.StartDate, EndDate: req.EndDate,
					AttributionType: req.AttributionType, MetricType: req.MetricType, Offset: req.Offset, Limit: req.Limit,
				})
				if err != nil {
					t.Errorf("stats %s: %v", describeReq(req), err)
					break
				}
				compared++
				got := responseTree(resp.ResponseID, int64(resp.TotalCampaigns), int64(resp.CurrentPage),
					int64(resp.TotalPages), resp.DataOrder, resp.Data)
				if d := diffTrees(want.tree(), got, 15); len(d) > 0 {
					failing++
					if failing <= maxReported {
						t.Errorf("stats %s differs from the reference:\n  %s", describeReq(req), strings.Join(d, "\n  "))
					}
				}
				if !q.Paged || resp.CurrentPage >= resp.TotalPages || len(resp.Data) == 0 {
					break
				}
				off, lim := 0, 10
				if req.Offset != nil {
					off = *req.Offset
				}
				if req.Limit != nil {
					lim = *req.Limit
				}
				next := off + lim
				req.Offset = &next
			}
		}
		if failing > maxReported {
			t.Errorf("… and %d more differing Stats responses", failing-maxReported)
		}
		t.Logf("%d Stats responses compared, %d differ", compared, failing)
	}

	for _, opt := range workloadConfigs {
		t.Run(strings.ReplaceAll(opt.Timezone, "/", "_"), func(t *testing.T) {
			t.Parallel()
			run(t, opt)
		})
	}
}

// indexOf returns the event index named by an error entry.
func indexOf(entries ...any) (int, bool) {
	for _, e := range entries {
		if m, ok := e.(map[string]any); ok {
			if i, ok := m["index"].(int64); ok {
				return int(i), true
			}
		}
	}
	return 0, false
}

func describeReq(r StatsRequest) string {
	b, _ := json.Marshal(map[string]any{"request_id": r.RequestID, "campaign_ids": r.CampaignIDs, "start_date": r.StartDate,
		"end_date": r.EndDate, "metric_type": r.MetricType, "attribution_type": r.AttributionType, "offset": r.Offset,
		"limit": r.Limit})
	return string(b)
}

// responseTree renders a client response like expectedResponse.tree(), ignoring conversion_goal_stats.
func responseTree(id string, total, page, pages int64, order []string, data map[string][]client.CampaignStats) map[string]any {
	ord := make([]any, len(order))
	for i, s := range order {
		ord[i] = s
	}
	dm := map[string]any{}
	for cid, arr := range data {
		if len(arr) != 1 {
			list := make([]any, len(arr))
			for i, cs := range arr {
				list[i] = campaignTree(cs)
			}
			dm[cid] = list // not the one-element array of §5.8: the diff shows it
			continue
		}
		dm[cid] = campaignTree(arr[0])
	}
	return map[string]any{"response_id": id, "total_campaigns": total, "current_page": page, "total_pages": pages,
		"data_order": ord, "data": dm}
}

func campaignTree(cs client.CampaignStats) map[string]any {
	plats := map[string]any{}
	for p, ps := range cs.Platforms {
		lm := map[string]any{}
		for l, ls := range ps.Locales {
			vm := map[string]any{}
			for v, n := range ls.Variations {
				node := map[string]any{"delivery_funnel": numTree(n.DeliveryFunnel), "failure_breakdown": numTree(n.FailureBreakdown)}
				if n.HasPerformanceStats {
					node["performance_stats"] = numTree(n.PerformanceStats)
				}
				vm[v] = node
			}
			lm[l] = map[string]any{"variations": vm}
		}
		plats[p] = map[string]any{"locales": lm}
	}
	return map[string]any{"platforms": plats}
}

func numTree[V int | int64 | float64](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}
