package clickhouse_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/clickhouse"
	"github.com/campaignstats/campaignstats/internal/store/storetest"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// databases numbers the databases of one test binary: every store a test opens gets a fresh one.
var databases atomic.Int64

// newOptions returns the options of a fresh, migrated store on the cluster.
func newOptions(t *testing.T, c *testserver.ClickHouseCluster) clickhouse.Options {
	t.Helper()
	opts := clickhouse.Options{Shards: c.DSNs(""), Database: fmt.Sprintf("cs_test_%d", databases.Add(1)),
		Cluster: testserver.ClickHouseClusterName}
	if err := clickhouse.Migrate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return opts
}

// open opens a store with opts.
func open(t *testing.T, opts clickhouse.Options) *clickhouse.Store {
	t.Helper()
	s, err := clickhouse.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEventStoreSingleNode(t *testing.T) {
	c := testserver.StartClickHouse(t, 1)
	storetest.RunEvents(t, func(t *testing.T) store.EventStore { return open(t, newOptions(t, c)) })
}

func TestEventStoreTwoShards(t *testing.T) {
	c := testserver.StartClickHouse(t, 2)
	storetest.RunEvents(t, func(t *testing.T) store.EventStore { return open(t, newOptions(t, c)) })
}
