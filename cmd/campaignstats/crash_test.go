package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const crashAdminToken = "crash-test-admin-token-01234"

// buildBinary builds campaignstats once for the process tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "campaignstats-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "campaignstats")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startServer runs `campaignstats serve` on a free port and returns its base URL and process.
func startServer(t *testing.T, dataDir string) (string, *exec.Cmd) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info")
	cmd.Env = append(os.Environ(), "CAMPAIGNSTATS_ADMIN_TOKEN="+crashAdminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a, cmd
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return "", nil
}

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
