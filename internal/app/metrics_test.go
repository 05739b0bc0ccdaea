package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/config"
)

// TestFreshServerListsEveryMetric scrapes a server that has served nothing else: every metric SPEC §10.1 names is
// listed, the counters of events that have not happened yet at 0. campaignstats_http_requests_total is listed from
// the second scrape on (the first one counts once it has answered).
func TestFreshServerListsEveryMetric(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, err := Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
		}
		return string(body)
	}
	scrape()
	body := scrape()
	for _, m := range []struct{ name, kind, sample string }{
		{"campaignstats_http_requests_total", "counter", `campaignstats_http_requests_total{code="200",method="GET",route="/metrics"} 1`},
		{"campaignstats_http_request_duration_seconds", "histogram", `campaignstats_http_request_duration_seconds_count{route="/core-services/v1/campaign-stats"} 0`},
		{"campaignstats_ingest_events_total", "counter", `campaignstats_ingest_events_total{endpoint="streams",result="rejected"} 0`},
		{"campaignstats_quarantine_records", "gauge", `campaignstats_quarantine_records 0`},
		{"campaignstats_rate_limited_total", "counter", `campaignstats_rate_limited_total{family="stats"} 0`},
		{"campaignstats_report_runs_total", "counter", `campaignstats_report_runs_total{status="FAILED"} 0`},
		{"campaignstats_report_run_duration_seconds", "histogram", `campaignstats_report_run_duration_seconds_count 0`},
		{"campaignstats_report_runs_queued", "gauge", `campaignstats_report_runs_queued 0`},
		{"campaignstats_webhook_deliveries_total", "counter", `campaignstats_webhook_deliveries_total{result="delivered"} 0`},
		{"campaignstats_store_errors_total", "counter", `campaignstats_store_errors_total{op="/v1/streams/{workspace_id}"} 0`},
	} {
		if !strings.Contains(body, "\n# TYPE "+m.name+" "+m.kind+"\n") {
			t.Errorf("no %s %s in the second scrape of a fresh server", m.kind, m.name)
		}
		if !strings.Contains(body, "\n"+m.sample+"\n") {
			t.Errorf("no sample %q in the second scrape of a fresh server", m.sample)
		}
	}
}
