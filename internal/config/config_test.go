package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsMatchSpec(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.Store != "embedded" || c.MaxStreamBody != 16<<20 || c.MaxTrackBody != 128<<10 ||
		c.DefaultRateLimit != 100 || c.ReportRetention != 168*time.Hour || c.ReportWorkers != 2 || c.ReportLease != 30*time.Second || c.WebhookTimeout != 10*time.Second ||
		c.QuarantineRetention != 720*time.Hour || c.ShutdownTimeout != 30*time.Second || c.LogLevel != "info" || c.LogFormat != "json" {
		t.Fatalf("defaults differ from SPEC §10.2: %+v", c)
	}
}

func TestFlagBeatsEnvironment(t *testing.T) {
	c, err := Load([]string{"--addr", ":9000", "--max-stream-body", "2MiB"}, env(map[string]string{
		"CAMPAIGNSTATS_ADDR": ":7000", "CAMPAIGNSTATS_DATA_DIR": "/srv/cs", "CAMPAIGNSTATS_MAX_STREAM_BODY": "1KiB",
		"CAMPAIGNSTATS_QUARANTINE_RETENTION": "0", "CAMPAIGNSTATS_ADMIN_TOKEN": "0123456789abcdef",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.DataDir != "/srv/cs" || c.MaxStreamBody != 2<<20 || c.QuarantineRetention != 0 || c.AdminToken != "0123456789abcdef" {
		t.Fatalf("precedence: %+v", c)
	}
}

func TestInvalidConfiguration(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--store", "postgres://x"}, nil, "unknown store"},
		{[]string{"--max-stream-body", "lots"}, nil, "invalid size"},
		{[]string{"--report-retention", "soon"}, nil, "invalid"},
		{nil, map[string]string{"CAMPAIGNSTATS_ADMIN_TOKEN": "short"}, "at least 16"},
		{[]string{"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, nil, "TLS files"},
		{[]string{"--log-level", "loud"}, nil, "unknown level"},
		{[]string{"--max-ingest-requests", "0"}, nil, "--max-ingest-requests must be at least 1"},
		{[]string{"--max-ingest-inflight", "1MiB"}, nil, "--max-ingest-inflight must be at least the largest body limit"},
		{nil, map[string]string{"CAMPAIGNSTATS_MAX_INGEST_INFLIGHT": "8MiB", "CAMPAIGNSTATS_MAX_STREAM_BODY": "16MiB"}, "--max-ingest-inflight"},
		{nil, map[string]string{"CAMPAIGNSTATS_DEFAULT_RATE_LIMIT": "0"}, "between 1 and 100000"},
		{[]string{"--report-lease", "999ms"}, nil, "--report-lease must be at least 1s"},
		{nil, map[string]string{"CAMPAIGNSTATS_REPORT_LEASE": "0s"}, "--report-lease must be at least 1s"},
		{[]string{"--report-lease", "long"}, nil, "invalid"},
	} {
		_, err := Load(tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// s3:// report storage without --s3-endpoint is AWS S3 itself (SPEC §10.2: the endpoint defaults to empty).
func TestS3StorageWithoutEndpoint(t *testing.T) {
	c, err := Load([]string{"--report-storage", "s3://reports/campaignstats"}, env(nil))
	if err != nil || c.S3Endpoint != "" || c.ReportStorage != "s3://reports/campaignstats" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := Load([]string{"--report-storage", "ftp://host/dir"}, env(nil)); err == nil || !strings.Contains(err.Error(), `unknown scheme "ftp"`) {
		t.Fatalf("an unknown report storage scheme: %v", err)
	}
	if _, err := Load([]string{"--report-storage", "s3:///nobucket"}, env(nil)); err == nil || !strings.Contains(err.Error(), "want s3://bucket/prefix") {
		t.Fatalf("an s3 location without a bucket: %v", err)
	}
}

func TestReportLease(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 30 * time.Second},
		{[]string{"--report-lease", "1s"}, nil, time.Second},
		{nil, map[string]string{"CAMPAIGNSTATS_REPORT_LEASE": "2m"}, 2 * time.Minute},
		{[]string{"--report-lease", "45s"}, map[string]string{"CAMPAIGNSTATS_REPORT_LEASE": "2m"}, 45 * time.Second},
	} {
		c, err := Load(tc.args, env(tc.env))
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if c.ReportLease != tc.want {
			t.Errorf("%v %v: ReportLease = %v, want %v", tc.args, tc.env, c.ReportLease, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"16MiB": 16 << 20, "128KiB": 128 << 10, "1GiB": 1 << 30, "4096": 4096, "2MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestStoreTuning checks the embedded store's tuning settings: the attribution cache as a size, from the command
// line or the environment, and the checkpoint threshold passed on as written.
func TestStoreTuning(t *testing.T) {
	c, err := Load([]string{"--attribution-cache", "64MiB"}, env(map[string]string{"CAMPAIGNSTATS_DUCKDB_CHECKPOINT_THRESHOLD": "64MB"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AttributionCache != 64<<20 || c.DuckDBCheckpointThreshold != "64MB" {
		t.Fatalf("attribution cache %d, checkpoint threshold %q", c.AttributionCache, c.DuckDBCheckpointThreshold)
	}
	c, err = Load(nil, env(map[string]string{"CAMPAIGNSTATS_ATTRIBUTION_CACHE": "48MiB"}))
	if err != nil || c.AttributionCache != 48<<20 {
		t.Fatalf("attribution cache from the environment: %d %v", c.AttributionCache, err)
	}
	if _, err := Load([]string{"--attribution-cache", "lots"}, env(nil)); err == nil {
		t.Fatal("an attribution cache that is not a size was accepted")
	}
}

// TestDuckDBMemoryLimit checks that the embedded store's memory limit is left empty unless set, so that the store
// chooses it from the machine, and that a setting is passed on as written, the flag winning over the environment.
func TestDuckDBMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, ""},
		{[]string{"--duckdb-memory-limit", "1GB"}, nil, "1GB"},
		{nil, map[string]string{"CAMPAIGNSTATS_DUCKDB_MEMORY_LIMIT": "512MB"}, "512MB"},
		{[]string{"--duckdb-memory-limit", "1GB"}, map[string]string{"CAMPAIGNSTATS_DUCKDB_MEMORY_LIMIT": "512MB"}, "1GB"},
	} {
		c, err := Load(tt.args, env(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.DuckDBMemoryLimit != tt.want {
			t.Errorf("Load(%q, %v): DuckDB memory limit %q, want %q", tt.args, tt.env, c.DuckDBMemoryLimit, tt.want)
		}
	}
}
