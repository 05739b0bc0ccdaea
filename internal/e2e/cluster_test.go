package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// clusterConfig is the configuration of one node of a cluster: events on the ClickHouse shards, metadata and locks
// in PostgreSQL, rate limits in Redis.
func clusterConfig(t *testing.T, shards []string, meta, redisAddr string) config.Config {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Store = strings.Join(shards, ",")
	cfg.Meta = meta
	// Timeouts of 10 s instead of the default 250 ms: a stall of a loaded machine must not switch a node to its own
	// count mid-test. A stopped Redis refuses connections at once either way.
	cfg.Redis = "redis://" + redisAddr + "/0?dial_timeout=10s&read_timeout=10s&write_timeout=10s"
	cfg.AdminToken = "e2e-admin-token-0123456789"
	cfg.DeriveWait = 30 * time.Second // numbers, not timing, are checked here
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testCluster is a cluster of campaignstats nodes and the external servers they share.
type testCluster struct {
	// Nodes are the in-process nodes, in start order.
	Nodes []*app.Server
	// Config is the configuration the nodes share (each node gets its own DataDir).
	Config config.Config
	// ClickHouse holds the shards, in shard order.
	ClickHouse *testserver.ClickHouseCluster
	// Redis is the rate-limit server's process (testserver.RestartRedis replaces it).
	Redis *testserver.Process
}

// startClusterStores starts the external stores (2 ClickHouse shards, PostgreSQL, Redis) and migrates them; the
// returned cluster has no node yet.
func startClusterStores(t *testing.T) *testCluster {
	t.Helper()
	chs := testserver.StartClickHouse(t, 2)
	meta := testserver.Postgres(t)
	redisAddr, redisProc := testserver.Redis(t)
	cfg := clusterConfig(t, chs.DSNs("campaignstats"), meta, redisAddr)
	if _, err := app.Migrate(t.Context(), cfg, time.Now); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return &testCluster{Config: cfg, ClickHouse: chs, Redis: redisProc}
}

// startNode starts one more in-process node with cfg (given its own data directory), closed when the test ends.
func (c *testCluster) startNode(t *testing.T, cfg config.Config, opts ...app.Option) *app.Server {
	t.Helper()
	cfg.DataDir = t.TempDir()
	i := len(c.Nodes)
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now, opts...)
	if err != nil {
		t.Fatalf("start node %d: %v", i, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close node %d: %v", i, err)
		}
	})
	c.Nodes = append(c.Nodes, srv)
	return srv
}

// startCluster starts the external stores (2 ClickHouse shards, PostgreSQL, Redis), migrates them and starts n
// campaignstats nodes on them.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := startClusterStores(t)
	for i := 0; i < n; i++ {
		c.startNode(t, c.Config)
	}
	return c
}

// roundRobinClient is a client whose requests alternate between the nodes.
func roundRobinClient(nodes []*app.Server) *client.Client {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL())
	}
	return client.New(nodes[0].URL(), client.WithHTTPClient(&http.Client{Timeout: 2 * time.Minute}), client.WithNodes(urls...))
}

// TestClusterEndToEnd replays the end-to-end workloads (every channel, both metric types, every attribution type,
// three arrival orders) against two nodes sharing ClickHouse (2 shards behind a Distributed table), PostgreSQL and
// Redis, every request going to the other node than the one before — ingest, catalog writes, funnel posts and
// Stats alike — and compares every answer with the reference model, as TestEndToEnd does for one embedded node.
// Consecutive Stats requests of one workspace are answered by different nodes and must all equal the reference.
func TestClusterEndToEnd(t *testing.T) {
	cl := startCluster(t, 2)
	c := roundRobinClient(cl.Nodes)
	extraUntil := time.Now().Add(e2eExtraBudget)
	for _, opt := range workloadConfigs {
		t.Run(strings.ReplaceAll(opt.Timezone, "/", "_"), func(t *testing.T) {
			runOrders(t, c, cl.Config.AdminToken, opt, extraUntil)
		})
	}
}
