package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// freePortRange returns the first of n consecutive ports on 127.0.0.1 that are free now.
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + os.Getpid()%20000; base < 60000; base += n {
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.Listen("tcp", testserver.Addr(p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// TestClusterScript runs scripts/cluster.sh as a user would: it starts 2 ClickHouse shards, PostgreSQL, Redis,
// SeaweedFS and 2 nodes on loopback; an event sent to one node is counted by the other; stop ends every process.
func TestClusterScript(t *testing.T) {
	for _, bin := range []string{"clickhouse-server", "redis-server", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			testserver.Missing(t, bin)
		}
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/postgres"); err != nil {
		testserver.Missing(t, "postgresql 15")
	}
	weed := testserver.WeedBinary()
	if weed == "" {
		testserver.Missing(t, "weed (scripts/build-weed.sh)")
	}
	script, err := filepath.Abs("../../scripts/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL runs as its own user, which must reach the directory: not under t.TempDir()'s private parent.
	dir, err := os.MkdirTemp("", "campaignstats-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), fmt.Sprintf("PORT_BASE=%d", freePortRange(t, 20)), testserver.WeedEnv+"="+weed)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cluster.sh %s: %v\n%s%s", strings.Join(args, " "), err, out, logTails(dir))
		}
		return string(out)
	}
	pids := func() []int {
		b, _ := os.ReadFile(filepath.Join(dir, "pids"))
		var out []int
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var p int
			if _, err := fmt.Sscan(sc.Text(), &p); err == nil {
				out = append(out, p)
			}
		}
		return out
	}
	out := run("start", dir)
	started := pids()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			run("stop", dir)
		}
	})
	var nodes []string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "CLUSTER_NODES="); ok {
			nodes = strings.Fields(strings.Trim(v, `"`))
		}
	}
	if len(nodes) != 2 || len(started) != 7 {
		t.Fatalf("nodes %v, %d processes; output:\n%s", nodes, len(started), out)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	a, b := client.New(nodes[0]), client.New(nodes[1])
	ws, err := a.CreateWorkspace(ctx, "cluster-admin-token-0123456789", client.CreateWorkspaceRequest{Name: "script", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var events []any
	for i, user := range []string{"u1", "u2", "u1"} {
		events = append(events, map[string]any{"event_code": "MOE_EMAIL_SENT", "event_uuid": fmt.Sprint("e", i),
			"event_time": day.Unix(), "uid": user,
			"event_attributes": map[string]any{"campaign_id": "c1", "campaign_name": "C1", "campaign_channel": "EMAIL"}})
	}
	if res, err := a.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, events); err != nil || res.Accepted != 3 {
		t.Fatalf("ingest through node 0: %+v %v", res, err)
	}
	// c1 is known from its events only, once the leader's worker has inferred it: on a loaded machine that can take
	// longer than a read's --derive-wait, so node 1 is read until it answers (the context's minute at most).
	for metric, want := range map[string]int64{"TOTAL": 3, "UNIQUE": 2} {
		for {
			resp, err := b.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "script-" + metric, StartDate: "2025-03-01", EndDate: "2025-03-01",
				CampaignIDs: []string{"c1"}, MetricType: metric, AttributionType: "VIEW_THROUGH"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data["c1"]) == 0 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if got := sentOf(t, resp, "c1"); got != want {
				t.Errorf("%s sent through node 1 = %d, want %d", metric, got, want)
			}
			break
		}
	}

	run("stop", dir)
	stopped = true
	for _, p := range started {
		if err := syscall.Kill(p, 0); err == nil {
			t.Errorf("process %d still runs after stop", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "postgres", "data", "postmaster.pid")); err == nil {
		var p int
		fmt.Sscan(string(b), &p)
		if p > 0 && syscall.Kill(p, 0) == nil {
			t.Errorf("postgres (%d) still runs after stop", p)
		}
	}
}

// sentOf returns performance_stats.sent of the campaign's overall node.
func sentOf(t *testing.T, resp *client.StatsResponse, campaign string) int64 {
	t.Helper()
	cs := resp.Data[campaign]
	if len(cs) != 1 {
		t.Fatalf("data[%s] = %v", campaign, cs)
	}
	n, ok := cs[0].Node(client.AllPlatforms, client.AllLocale, client.AllVariations)
	if !ok {
		t.Fatalf("no overall node for %s", campaign)
	}
	return int64(n.PerformanceStats["sent"])
}

// logTails returns the last lines of every log file under dir, which the test removes when it ends: what a failed
// start leaves to go by.
func logTails(dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", path, strings.Join(lines[max(0, len(lines)-20):], "\n"))
		return nil
	})
	return b.String()
}
