// Package config holds the service configuration: defaults (SPEC §10.2), loading from flags and CAMPAIGNSTATS_*
// environment variables, and validation. It has no package-level state.
package config

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the configuration of `campaignstats serve` (SPEC §10.2).
type Config struct {
	Addr          string
	DataDir       string
	Store         string
	Meta          string
	Redis         string
	ReportStorage string
	S3Endpoint    string
	// S3AccessKey, S3SecretKey and S3Region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.
	S3AccessKey, S3SecretKey, S3Region string
	TLSCert, TLSKey                    string
	MaxStreamBody                      int64
	MaxTrackBody                       int64
	// MaxIngestRequests and MaxIngestInflight are the admission limits of ingest (SPEC §12.13): requests
	// processed at once, and decompressed body bytes they hold.
	MaxIngestRequests int
	MaxIngestInflight int64
	// MaxCampaigns bounds the campaigns of each workspace's catalog.
	MaxCampaigns     int
	DefaultRateLimit int
	ReportRetention  time.Duration
	ReportWorkers    int
	// ReportLease is how long a node's claim holds a report run without being renewed (renewed every third of
	// it): once it expired, another node takes the run over.
	ReportLease time.Duration
	// DeriveWait bounds how long a read waits for inferred catalog values and credits to reflect the events
	// acknowledged before it (SPEC §3.6).
	DeriveWait          time.Duration
	WebhookTimeout      time.Duration
	QuarantineRetention time.Duration
	ShutdownTimeout     time.Duration
	LogLevel            string
	LogFormat           string
	AdminToken          string
	// AllowPrivateWebhooks lifts the webhook SSRF guard (SPEC §12.9), for trusted networks and tests.
	AllowPrivateWebhooks bool
	// Version is set by the binary (not a flag); it appears in the webhook User-Agent.
	Version string
	// DuckDBMemoryLimit is the embedded store's memory limit (empty: an eighth of the machine's memory or of its
	// cgroup's limit, whichever is smaller, within 64 MB and 320 MB; 320 MB when neither can be read), and
	// DuckDBThreads its thread count (0: one per CPU).
	DuckDBMemoryLimit string
	DuckDBThreads     int
	// DuckDBCheckpointThreshold is the embedded store's write-ahead log size that makes a commit checkpoint
	// (empty = duckdb.DefaultCheckpointThreshold).
	DuckDBCheckpointThreshold string
	// PprofAddr, when set, serves Go's runtime profiles (net/http/pprof) on this separate address.
	PprofAddr string
	// GoMemoryLimit is the Go runtime's soft memory limit set by serve (0: none; GOMEMLIMIT, when set, wins).
	GoMemoryLimit int64
	// AttributionCache is the attribution index's block cache in bytes (0: derive.DefaultCacheBytes); its
	// memtables take about half as much again.
	AttributionCache int64
}

// Default returns the configuration that runs with no setup: embedded store in ./data.
func Default() Config {
	return Config{
		Addr:                ":8080",
		DataDir:             "./data",
		Store:               "embedded",
		MaxStreamBody:       16 << 20,
		MaxTrackBody:        128 << 10,
		MaxIngestRequests:   32,
		MaxIngestInflight:   64 << 20,
		GoMemoryLimit:       320 << 20,
		MaxCampaigns:        100_000,
		DefaultRateLimit:    100,
		ReportRetention:     168 * time.Hour,
		ReportWorkers:       2,
		ReportLease:         30 * time.Second,
		DeriveWait:          time.Second,
		WebhookTimeout:      10 * time.Second,
		QuarantineRetention: 720 * time.Hour,
		ShutdownTimeout:     30 * time.Second,
		LogLevel:            "info",
		LogFormat:           "json",
		Version:             "dev",
	}
}

// Register binds the serve flags of SPEC §10.2 to c on fs; values already in c are the defaults.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "embedded store and local report files")
	fs.StringVar(&c.Store, "store", c.Store, "events: embedded, or clickhouse://user:pass@host:9000/db (comma-separated URLs, one per shard); needs --meta")
	fs.StringVar(&c.Meta, "meta", c.Meta, "metadata: postgres://user:pass@host:5432/db, shared by several nodes (empty = the embedded store in --data-dir); needs a clickhouse --store")
	fs.StringVar(&c.Redis, "redis", c.Redis, "redis://host:6379/0 for rate-limit counters shared by every node")
	fs.StringVar(&c.ReportStorage, "report-storage", c.ReportStorage, "report files: a directory or s3://bucket/prefix (default <data-dir>/reports)")
	fs.StringVar(&c.ReportStorage, "blob", c.ReportStorage, "same as --report-storage")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3-compatible endpoint (https://host:port, or http:// for plain HTTP; empty: AWS S3, s3.amazonaws.com); credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS key file")
	fs.Func("max-stream-body", "Streams body limit (bytes or KiB/MiB/GiB)", sizeSetter(&c.MaxStreamBody))
	fs.Func("max-track-body", "Track Event / Bulk Import body limit", sizeSetter(&c.MaxTrackBody))
	fs.IntVar(&c.MaxIngestRequests, "max-ingest-requests", c.MaxIngestRequests, "ingest requests processed at once; more answer 503")
	fs.Func("max-ingest-inflight", "decompressed ingest body bytes held at once; more answer 503 (default 64MiB)", sizeSetter(&c.MaxIngestInflight))
	fs.IntVar(&c.MaxCampaigns, "max-campaigns", c.MaxCampaigns, "campaigns a workspace's catalog may hold; events and PUTs adding more are refused")
	fs.IntVar(&c.DefaultRateLimit, "default-rate-limit", c.DefaultRateLimit, "per-minute limit for new workspaces")
	fs.DurationVar(&c.ReportRetention, "report-retention", c.ReportRetention, "report file lifetime")
	fs.IntVar(&c.ReportWorkers, "report-workers", c.ReportWorkers, "concurrent report runs per node")
	fs.DurationVar(&c.ReportLease, "report-lease", c.ReportLease, "how long a node's claim holds a report run without renewal; another node takes the run over after it")
	fs.DurationVar(&c.DeriveWait, "derive-wait", c.DeriveWait, "how long a read waits for conversions and inferred catalog values to reflect the events acknowledged before it")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", c.WebhookTimeout, "webhook timeout per attempt")
	fs.DurationVar(&c.QuarantineRetention, "quarantine-retention", c.QuarantineRetention, "quarantine retention (0 = forever)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "graceful drain")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or text")
	fs.BoolVar(&c.AllowPrivateWebhooks, "allow-private-webhooks", c.AllowPrivateWebhooks, "allow webhooks to loopback, private and other non-public addresses")
	fs.StringVar(&c.DuckDBMemoryLimit, "duckdb-memory-limit", c.DuckDBMemoryLimit, "embedded store memory limit, e.g. 4GB (default: an eighth of the machine's memory or cgroup limit, within 64MB and 320MB)")
	fs.Func("attribution-cache", "block cache of the per-user attribution index, e.g. 64MiB (default 32MiB)", sizeSetter(&c.AttributionCache))
	fs.Func("go-memory-limit", "soft memory limit of the Go heap, e.g. 320MiB (default 320MiB; GOMEMLIMIT wins when set)", sizeSetter(&c.GoMemoryLimit))
	fs.StringVar(&c.PprofAddr, "pprof-addr", c.PprofAddr, "serve Go runtime profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060 (empty = off)")
	fs.IntVar(&c.DuckDBThreads, "duckdb-threads", c.DuckDBThreads, "embedded store threads (0 = number of CPUs)")
	fs.StringVar(&c.DuckDBCheckpointThreshold, "duckdb-checkpoint-threshold", c.DuckDBCheckpointThreshold,
		"write-ahead log size at which the embedded store checkpoints, e.g. 64MB (default 256MB)")
}

// ApplyEnv sets every flag of fs that was not given on the command line from CAMPAIGNSTATS_<FLAG> (SPEC §9.2),
// and reads CAMPAIGNSTATS_ADMIN_TOKEN into c.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := "CAMPAIGNSTATS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Load parses serve arguments and the environment into a validated Config.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := ApplyEnv(fs, getenv); err != nil {
		return c, err
	}
	c.AdminToken = getenv("CAMPAIGNSTATS_ADMIN_TOKEN")
	c.S3AccessKey, c.S3SecretKey, c.S3Region = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_REGION")
	return c, c.Validate()
}

// PrintUsage writes serve's flags with their defaults to w (`serve -h`).
func PrintUsage(w io.Writer) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(w)
	c := Default()
	c.Register(fs)
	fmt.Fprintln(w, "usage: campaignstats serve [flags]")
	fmt.Fprintln(w, "every flag can also be set by the environment: --data-dir as CAMPAIGNSTATS_DATA_DIR, and so on (a flag wins)")
	fs.PrintDefaults()
}

// Shared reports whether several nodes may share the stores: events in ClickHouse and metadata in PostgreSQL.
func (c Config) Shared() bool { return c.Store != "embedded" && c.Meta != "" }

// StoreShards returns the ClickHouse URLs of --store, one per shard.
func (c Config) StoreShards() []string {
	var out []string
	for _, s := range strings.Split(c.Store, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redactURL hides the password of a URL for messages and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Validate reports the first invalid value with a one-line message.
func (c Config) Validate() error {
	if c.Store != "embedded" {
		for _, shard := range c.StoreShards() {
			u, err := url.Parse(shard)
			if err != nil || u.Scheme != "clickhouse" || u.Host == "" {
				return fmt.Errorf("--store: unknown store %q (want embedded or clickhouse://user:pass@host:9000/db)", redactURL(shard))
			}
		}
	}
	if c.Meta != "" {
		if u, err := url.Parse(c.Meta); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("--meta: unknown metadata store %q (want postgres://user:pass@host:5432/db)", redactURL(c.Meta))
		}
	}
	if c.Meta != "" && c.Store == "embedded" {
		return errors.New("--meta postgres://… needs --store clickhouse://… (events in ClickHouse, metadata in PostgreSQL)")
	}
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || u.Scheme != "redis" {
			return fmt.Errorf("--redis: invalid URL %q", redactURL(c.Redis))
		}
	}
	if scheme, _, isURL := strings.Cut(c.ReportStorage, "://"); isURL && scheme != "s3" {
		return fmt.Errorf("--report-storage: unknown scheme %q (want a directory or s3://bucket/prefix)", scheme)
	}
	if strings.HasPrefix(c.ReportStorage, "s3://") {
		if u, err := url.Parse(c.ReportStorage); err != nil || u.Host == "" {
			return fmt.Errorf("--report-storage: invalid S3 location %q (want s3://bucket/prefix)", c.ReportStorage)
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return errors.New("CAMPAIGNSTATS_ADMIN_TOKEN must be at least 16 characters")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key must be set together")
	}
	if c.TLSCert != "" { // read and parsed here, so that a bad pair is a configuration error, before listening
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			return fmt.Errorf("TLS files --tls-cert %s, --tls-key %s: %w", c.TLSCert, c.TLSKey, err)
		}
	}
	switch {
	case c.MaxStreamBody <= 0 || c.MaxTrackBody <= 0:
		return errors.New("body limits must be positive")
	case c.MaxIngestRequests < 1:
		return errors.New("--max-ingest-requests must be at least 1")
	case c.MaxIngestInflight < c.MaxStreamBody || c.MaxIngestInflight < c.MaxTrackBody:
		return errors.New("--max-ingest-inflight must be at least the largest body limit")
	case c.MaxCampaigns < 1:
		return errors.New("--max-campaigns must be at least 1")
	case c.DefaultRateLimit < 1 || c.DefaultRateLimit > 100000:
		return errors.New("--default-rate-limit must be between 1 and 100000")
	case c.ReportWorkers < 1:
		return errors.New("--report-workers must be at least 1")
	case c.ReportLease < time.Second:
		return errors.New("--report-lease must be at least 1s")
	case c.DeriveWait < 0:
		return errors.New("--derive-wait must not be negative")
	case c.ReportRetention <= 0:
		return errors.New("--report-retention must be positive")
	case c.QuarantineRetention < 0:
		return errors.New("--quarantine-retention must not be negative")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level: unknown level %q", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format: unknown format %q", c.LogFormat)
	}
	return nil
}

// ParseSize parses a byte size: a plain number of bytes or a number with KiB, MiB or GiB (KB/MB/GB read as binary).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			mult, s = u.m, strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

func sizeSetter(dst *int64) func(string) error {
	return func(s string) error {
		n, err := ParseSize(s)
		if err != nil {
			return err
		}
		*dst = n
		return nil
	}
}
