package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// TestCrashKeepsAcknowledgedEvents kills the server with SIGKILL right after a 200 from ingest, restarts it on
// the same data directory and checks that every acknowledged event is counted exactly once (SPEC §3.6).
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	dataDir := t.TempDir()
	base, cmd := startServer(t, dataDir)
	c := client.New(base)
	ws, err := c.CreateWorkspace(ctx, crashAdminToken, client.CreateWorkspaceRequest{Name: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	eventTime := time.Now().Add(-time.Hour).Unix()
	batch := func(b int) []byte {
		var sb strings.Builder
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&sb, `{"event_code":"MOE_EMAIL_SENT","event_uuid":"b%d-%d","event_time":%d,"uid":"u%d","event_attributes":{"campaign_id":"crash"}}`+"\n",
				b, i, eventTime, i)
		}
		return []byte(sb.String())
	}
	// Concurrent senders; the process is killed right after the 20th acknowledged batch.
	var mu sync.Mutex
	acked := map[int]bool{}
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := w; b < 400; b += 4 {
				res, err := c.IngestStreams(ctx, ws.WorkspaceID, ws.DataKey, "application/x-ndjson", batch(b), false)
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				if res.Accepted == 200 {
					acked[b] = true
				}
				n := len(acked)
				mu.Unlock()
				if n >= 20 {
					once.Do(func() { cmd.Process.Signal(syscall.SIGKILL); close(killed) })
				}
			}
		}(w)
	}
	wg.Wait()
	<-killed
	cmd.Wait()

	base, _ = startServer(t, dataDir)
	c = client.New(base)
	stats := func() int64 {
		day := time.Unix(eventTime, 0).UTC().Format(time.DateOnly)
		r, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "crash", CampaignIDs: []string{"crash"},
			StartDate: day, EndDate: day, AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
		if err != nil {
			t.Fatal(err)
		}
		return int64(r.Data["crash"][0].Platforms["ALL_PLATFORMS"].Locales["all_locale"].Variations["all_variations"].PerformanceStats["sent"])
	}
	sent := stats()
	if sent < int64(200*len(acked)) || sent%200 != 0 {
		t.Fatalf("after restart sent = %d, acknowledged %d events (batches are atomic)", sent, 200*len(acked))
	}
	// Re-sending every acknowledged batch changes nothing: each event is stored exactly once.
	for b := range acked {
		res, err := c.IngestStreams(ctx, ws.WorkspaceID, ws.DataKey, "application/x-ndjson", batch(b), false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates != 200 || res.Accepted != 0 {
			t.Fatalf("batch %d re-sent: %+v", b, res)
		}
	}
	if again := stats(); again != sent {
		t.Fatalf("sent changed from %d to %d after re-sending acknowledged batches", sent, again)
	}
}
