package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// A small bench against its embedded server measures the Stats calls twice: right after the ingest, and again once
// the store reports that it has settled (campaignstats_store_unsettled_events and the derivation lag at 0).
func TestBenchMeasuresASettledStore(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"bench", "--events", "2000", "--campaigns", "4", "--users", "100", "--days", "3", "--stats-calls", "2", "--json"}
	if code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("bench: exit %d, stderr %s", code, errb.String())
	}
	var r benchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	if r.SettledSeconds <= 0 || r.StatsLargestSettledMS["p50"] <= 0 || r.StatsTop10SettledMS["p50"] <= 0 {
		t.Errorf("no settled measurement: settled after %v s, largest %v, top-10 %v", r.SettledSeconds, r.StatsLargestSettledMS, r.StatsTop10SettledMS)
	}
	if r.StatsLargestMS["p50"] <= 0 || r.IngestEventsPerSec <= 0 {
		t.Errorf("the usual measurements are missing: %+v", r)
	}
	var text bytes.Buffer
	printBench(&text, r)
	for _, line := range []string{"ingest throughput", "stats largest 30d", "store settled", "stats largest settled", "stats top-10 settled"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("the report has no %q line:\n%s", line, text.String())
		}
	}
}
