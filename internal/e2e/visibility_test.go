package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/config"
)

// TestVisibilityAfterTheAck checks the visibility contract with the default --derive-wait (docs/design.md,
// "Visibility"): a counter is in the Stats answer of the next call after the ingest's 200, and so is a conversion credit —
// the Stats call waits (at most --derive-wait, 1 s by default, SPEC §3.6) until the derivation worker has caught up
// with the events acknowledged before it. Each round posts a send and a click, then a batch of other users' sends
// (work for the worker, so that a read that does not wait for it sees the conversion missing) and the goal event,
// and reads at once, without sleeping. A read that answers before the wait is over without the conversion fails the
// test at once; one that waited the whole second on a loaded machine (parallel tests under the race detector) only
// if no round at all saw its conversion in time.
func TestVisibilityAfterTheAck(t *testing.T) {
	// Not parallel: the package's other end-to-end tests would load the worker for the whole test.
	if wait := config.Default().DeriveWait; wait != time.Second {
		t.Fatalf("default --derive-wait = %v, want 1s (SPEC §3.6)", wait)
	}
	c := startSpecServerWaiting(t, config.Default().DeriveWait)
	w := newSpecWS(t, c)
	const cid = "65f1c0a2b3c4d5e6f7a8b9d1"
	w.put(cid, map[string]any{
		"campaign_name": "Visibility", "channel": "PUSH", "campaign_delivery_type": "ONE_TIME",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 24, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true,
				"revenue_attribute": "amount", "revenue_currency": "USD"}}},
	}, http.StatusCreated)
	base := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	m := &eventMaker{prefix: "vis"}
	attrs := map[string]any{"campaign_id": cid, "campaign_name": "Visibility", "campaign_type": "One Time", "campaign_channel": "Push"}
	req := client.StatsRequest{RequestID: "vis", CampaignIDs: []string{cid}, StartDate: "2025-03-01", EndDate: "2025-03-02",
		AttributionType: "CLICK_THROUGH", MetricType: "TOTAL"}
	const rounds = 8
	wait, onTime := config.Default().DeriveWait, 0
	for round := 1; round <= rounds; round++ {
		user := fmt.Sprintf("vis-user-%d", round)
		at := base.Add(time.Duration(round) * time.Hour)
		w.ingest([]map[string]any{
			m.ev("", "Notification Sent Android", user, at, attrs),
			m.ev("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", user, at.Add(time.Minute), attrs),
		})
		resp := w.stats(req)
		node, ok := resp.Data[cid][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
		if sent := float64(round + 5000*(round-1)); !ok || node.PerformanceStats["sent"] != sent || node.PerformanceStats["click"] != float64(round) {
			t.Fatalf("round %d: the read after the ingest's 200 shows sent %v, click %v; want %d, %d (node found: %v)",
				round, node.PerformanceStats["sent"], node.PerformanceStats["click"], round+5000*(round-1), round, ok)
		}
		filler := make([]map[string]any, 0, 5000)
		for i := range cap(filler) {
			filler = append(filler, m.ev("", "Notification Sent Android", fmt.Sprintf("vis-other-%d-%d", round, i), at, attrs))
		}
		w.ingest(filler)
		w.track(user, "Purchase", at.Add(10*time.Minute), map[string]any{"amount": 10})
		start := time.Now()
		resp = w.stats(req)
		took := time.Since(start)
		node, _ = resp.Data[cid][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
		if g := node.ConversionGoalStats["Purchase"]; g.Total == int64(round) && g.Revenue == float64(10*round) {
			onTime++
			continue
		} else if took < wait {
			t.Fatalf("round %d: the read after the goal event's 200 answered after %v without waiting for the worker: "+
				"%d conversions (revenue %v), want %d (%d)", round, took, g.Total, g.Revenue, round, 10*round)
		}
		// The call waited the whole --derive-wait and the worker was still behind (a loaded machine: the tests
		// run in parallel, under the race detector): the conversion must still arrive, and the next round starts
		// from there.
		t.Logf("round %d: the worker took longer than %v; waiting for the conversion", round, wait)
		deadline := time.Now().Add(time.Minute)
		for {
			node, _ = w.stats(req).Data[cid][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
			if g := node.ConversionGoalStats["Purchase"]; g.Total == int64(round) && g.Revenue == float64(10*round) {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("round %d: %d conversions (revenue %v) a minute after the goal event's 200, want %d (%d)",
					round, g.Total, g.Revenue, round, 10*round)
			}
		}
	}
	// A worker that never catches up within the wait, or a wait that never sees it, fails here.
	if onTime == 0 {
		t.Fatalf("no round of %d showed the conversion on the read after the goal event's 200", rounds)
	}
	// The Stats call waited for the worker: /metrics reports nothing left to derive.
	_, body, err := c.Do(t.Context(), http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^campaignstats_derive_lag_events 0$`).Match(body) {
		t.Errorf("/metrics after a fresh read has no campaignstats_derive_lag_events 0:\n%s", body)
	}
	// The embedded store reports what maintenance has yet to settle.
	for _, gauge := range []string{"campaignstats_store_unsettled_events", "campaignstats_store_maintenance_running"} {
		if !regexp.MustCompile(`(?m)^` + gauge + ` \d+$`).Match(body) {
			t.Errorf("/metrics has no %s:\n%s", gauge, body)
		}
	}
}
