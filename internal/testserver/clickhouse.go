package testserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ClickHouseClusterName is the cluster (remote_servers) that every server started by StartClickHouse defines over
// all the shards it started, for Distributed tables.
const ClickHouseClusterName = "campaignstats"

// ClickHouseServer is one started clickhouse-server: one shard of a ClickHouseCluster.
type ClickHouseServer struct {
	// Addr is its native protocol address (host:port).
	Addr string
	// DSN is a clickhouse:// address of it without a database.
	DSN string
	// HTTPAddr is its HTTP interface address (host:port).
	HTTPAddr string

	dir    string
	config string
	binary string
	proc   *Process
	t      testing.TB
}

// ClickHouseCluster is a set of clickhouse-server processes, one per shard, each knowing all of them as the cluster
// ClickHouseClusterName.
type ClickHouseCluster struct {
	Servers []*ClickHouseServer
}

// DSNs returns the shards' DSNs with database db ("" for none), in shard order.
func (c *ClickHouseCluster) DSNs(db string) []string {
	out := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		out[i] = s.DSN + db
	}
	return out
}

// ClickHouse starts shards clickhouse-server processes forming one cluster (see StartClickHouse) and returns their
// native addresses, in shard order.
func ClickHouse(t testing.TB, shards int) (addrs []string) {
	t.Helper()
	for _, s := range StartClickHouse(t, shards).Servers {
		addrs = append(addrs, s.Addr)
	}
	return addrs
}

// StartClickHouse starts shards clickhouse-server processes on 127.0.0.1, each with a generated configuration and
// its data in a temporary directory, all defining the cluster ClickHouseClusterName over every shard, and waits
// until each answers /ping. They are stopped by PID when the test ends. A missing binary skips the test (Missing).
//
// A server that exits before it answers — most often because one of its ports, free when chosen, was taken before
// it bound it — fails the attempt: the attempt's servers are killed and the cluster is started again on new ports,
// three times at most.
func StartClickHouse(t testing.TB, shards int) *ClickHouseCluster {
	t.Helper()
	bin := FindBinary([]string{"clickhouse-server"}, "/usr/sbin", "/usr/bin", "/usr/local/bin")
	if bin == "" {
		Missing(t, "clickhouse-server (apt-get install clickhouse-server)")
	}
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *ClickHouseCluster
		if c, err = startClickHouse(t, bin, shards); err == nil {
			return c
		}
		t.Logf("clickhouse-server, attempt %d: %v", attempt, err)
	}
	t.Fatalf("clickhouse-server did not start: %v", err)
	return nil
}

// startClickHouse is one attempt of StartClickHouse, on new ports.
func startClickHouse(t testing.TB, bin string, shards int) (*ClickHouseCluster, error) {
	type ports struct{ tcp, http, interserver int }
	all := make([]ports, shards)
	for i := range all {
		all[i] = ports{FreePort(t), FreePort(t), FreePort(t)}
	}
	var cluster strings.Builder
	for _, p := range all {
		fmt.Fprintf(&cluster, "      <shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>\n", p.tcp)
	}
	c := &ClickHouseCluster{}
	fail := func(err error) (*ClickHouseCluster, error) {
		for _, s := range c.Servers {
			s.proc.Kill()
		}
		return nil, err
	}
	for i, p := range all {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("clickhouse-%d", i))
		for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				return fail(err)
			}
		}
		config := filepath.Join(dir, "config.xml")
		users := filepath.Join(dir, "users.xml")
		if err := os.WriteFile(users, []byte(clickHouseUsers), 0o644); err != nil {
			return fail(err)
		}
		body := fmt.Sprintf(clickHouseConfig, dir, p.tcp, p.http, p.interserver, users, ClickHouseClusterName, cluster.String())
		if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
			return fail(err)
		}
		s := &ClickHouseServer{Addr: Addr(p.tcp), DSN: "clickhouse://" + Addr(p.tcp) + "/", HTTPAddr: Addr(p.http), dir: dir,
			config: config, binary: bin, t: t}
		proc, err := startProcess(filepath.Join(dir, "log", "stdout.log"), exec.Command(bin, "--config-file="+config))
		if err != nil {
			return fail(err)
		}
		s.proc = proc
		t.Cleanup(proc.Kill) // see Start
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		if err := s.ready(60 * time.Second); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// Start starts the server (again, after Stop or Kill) with its configuration and data, and waits until it answers.
func (s *ClickHouseServer) Start() {
	s.t.Helper()
	s.proc = Start(s.t, filepath.Join(s.dir, "log", "stdout.log"), s.binary, "--config-file="+s.config)
	// At the test's end the server is killed rather than stopped: its data is thrown away, and a graceful stop
	// waits seconds for the connections the other shards' Distributed tables keep open to it.
	proc := s.proc
	s.t.Cleanup(proc.Kill)
	if err := s.ready(60 * time.Second); err != nil {
		s.t.Fatal(err)
	}
}

// Stop stops the server gracefully and waits for it.
func (s *ClickHouseServer) Stop() { s.proc.Stop() }

// Kill ends the server at once, as a crash would.
func (s *ClickHouseServer) Kill() { s.proc.Kill() }

// ready waits until the server answers /ping; it fails, with the tail of the server's error log, when the server
// exits first or timeout passes.
func (s *ClickHouseServer) ready(timeout time.Duration) error {
	url := "http://" + s.HTTPAddr + "/ping"
	ping := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		// No keep-alive: the server waits for open connections when it stops.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ping: %s %s", resp.Status, body)
		}
		return nil
	}
	var last error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s.proc.Exited() {
			return fmt.Errorf("clickhouse-server on %s exited before it was ready:\n%s", s.Addr, tail(filepath.Join(s.dir, "log", "error.log")))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = ping(ctx)
		cancel()
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("clickhouse-server on %s not ready after %s: %v\n%s", s.Addr, timeout, last, tail(filepath.Join(s.dir, "log", "error.log")))
}

// clickHouseConfig is a server's config.xml: dir, tcp, http and interserver ports, users.xml, cluster name, shards.
const clickHouseConfig = `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>%[1]s/log/server.log</log>
    <errorlog>%[1]s/log/error.log</errorlog>
    <size>10M</size>
    <count>2</count>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <interserver_http_port>%[4]d</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[5]s</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>64</max_concurrent_queries>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <remote_servers>
    <%[6]s>
%[7]s    </%[6]s>
  </remote_servers>
</yandex>
`

// clickHouseUsers is the servers' users.xml: user default without a password, from loopback only.
const clickHouseUsers = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_threads>2</max_threads>
      <max_memory_usage>2000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`
