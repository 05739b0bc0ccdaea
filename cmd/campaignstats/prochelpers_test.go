package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// statsNode returns the campaign's overall node (all platforms, locales and variations) for one day.
func statsNode(ctx context.Context, c *client.Client, ws *client.Workspace, campaign string, day time.Time, metric string) (client.VariationNode, error) {
	d := day.Format(time.DateOnly)
	r, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "proc-test",
		CampaignIDs: []string{campaign}, StartDate: d, EndDate: d, AttributionType: "VIEW_THROUGH", MetricType: metric})
	if err != nil {
		return client.VariationNode{}, err
	}
	if len(r.Data[campaign]) != 1 {
		return client.VariationNode{}, fmt.Errorf("campaign %s: data %s", campaign, r.Raw)
	}
	n, _ := r.Data[campaign][0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
	return n, nil
}

// sentTotal is the campaign's `sent` with metric type TOTAL on one day.
func sentTotal(ctx context.Context, c *client.Client, ws *client.Workspace, campaign string, day time.Time) (int64, error) {
	n, err := statsNode(ctx, c, ws, campaign, day, "TOTAL")
	if err != nil {
		return 0, err
	}
	return int64(n.PerformanceStats["sent"]), nil
}

// waitForCount polls count until it returns at least want, for at most a minute, and returns the last value.
// Stats read derived data (inferred campaigns, credits) with a bounded freshness wait (--derive-wait), so a server
// catching up after a restart may show a smaller number for a while; a number at or above want is returned at
// once. 429s are waited out.
func waitForCount(t *testing.T, count func() (int64, error), want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := count()
		var apiErr *client.APIError
		switch {
		case err == nil && n >= want:
			return n
		case err != nil && !(errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests):
			t.Fatalf("stats: %v", err)
		case time.Now().After(deadline):
			if err != nil {
				t.Fatalf("stats: %v", err)
			}
			return n
		}
		time.Sleep(time.Second)
	}
}

// ndjsonBodies joins lines into NDJSON bodies of at most limit bytes each.
func ndjsonBodies(lines []string, limit int) [][]byte {
	var out [][]byte
	var cur []byte
	for _, l := range lines {
		if len(cur)+len(l)+1 > limit && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(append(cur, l...), '\n')
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// memorySample is what a server process held at one moment, in MiB: its RSS, the Go runtime's heap in use and
// memory obtained from the OS, and the embedded store's buffer manager (all DuckDB tags).
type memorySample struct {
	rss, goHeap, goSys, store int64
}

func (m memorySample) String() string {
	return fmt.Sprintf("RSS %d MiB = Go heap in use %d MiB (Go runtime total %d MiB) + DuckDB buffer manager %d MiB + other (binary, C++ allocations) %d MiB",
		m.rss, m.goHeap, m.goSys, m.store, m.rss-m.goSys-m.store)
}

// sampleMemory reads a server process's memory: VmRSS, and from /metrics the Go runtime's and the embedded store's
// (zero when /metrics does not answer within 2 s).
func sampleMemory(p *serverProcess) memorySample {
	m := memorySample{rss: p.Status("VmRSS") >> 10}
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(p.Base + "/metrics")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	var store float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		v, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil {
			continue
		}
		switch {
		case name == "go_memstats_heap_inuse_bytes":
			m.goHeap = int64(v) >> 20
		case name == "go_memstats_sys_bytes":
			m.goSys = int64(v) >> 20
		case strings.HasPrefix(name, "campaignstats_store_memory_bytes{"):
			store += v
		}
	}
	m.store = int64(store) >> 20
	return m
}
