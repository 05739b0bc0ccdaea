package clickhouse_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
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

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// sends returns n push "sent" events of campaign P, uuids prefix-0…, by users u0…u(users-1) in turn.
func sends(prefix string, n, users int) []domain.Event {
	out := make([]domain.Event, n)
	for i := range out {
		key := fmt.Sprintf("uid:u%d", i%users)
		out[i] = domain.Event{UUID: fmt.Sprintf("%s-%d", prefix, i), TimeMS: t0.Add(time.Duration(i) * time.Second).UnixMilli(), Campaign: true,
			UserKey: key, User: domain.HashUser(key), CampaignID: "P", Channels: domain.ChannelSetOf(domain.ChannelPush),
			Counter: domain.CounterSent, Class: domain.ClassSend, PlatformDefault: domain.DefaultAndroid, Source: "streams"}
	}
	return out
}

func uuids(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.UUID
	}
	return out
}

// sent returns the TOTAL (unique false) or UNIQUE sent of campaign P over every platform, locale and variation.
func sent(t *testing.T, s store.EventStore, unique bool) int64 {
	t.Helper()
	rows, err := s.Aggregate(context.Background(), store.AggregateQuery{WorkspaceID: "w", FromMS: t0.Add(-time.Hour).UnixMilli(),
		ToMS: t0.Add(24 * time.Hour).UnixMilli(), Unique: unique,
		Targets: []store.AggregateTarget{{ID: "P", Units: []store.AggregateUnit{{ID: "P", Channel: domain.ChannelPush}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Metric == domain.MetricSent {
			return r.Value
		}
	}
	return 0
}

// conversions returns the regular view-through conversions of campaign P over every node.
func conversions(t *testing.T, s store.EventStore) int64 {
	t.Helper()
	rows, err := s.Conversions(context.Background(), store.ConversionQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62,
		Type: attribution.ViewThrough, Targets: []store.AggregateTarget{{ID: "P", Units: []store.AggregateUnit{{ID: "P", Channel: domain.ChannelPush}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Group == attribution.Regular {
			return r.Total
		}
	}
	return 0
}

// credits returns view-through credits of unit P for goal events prefix-0… by users u0…u(n-1).
func credits(prefix string, n int) []store.Credit {
	out := make([]store.Credit, n)
	for i := range out {
		out[i] = store.Credit{WorkspaceID: "w", User: domain.HashUser(fmt.Sprintf("uid:u%d", i)), Credit: attribution.Credit{
			GoalUUID: fmt.Sprintf("%s-%d", prefix, i), TimeMS: t0.UnixMilli(), Unit: "P", Goal: "Purchase", Type: attribution.ViewThrough,
			Group: attribution.Regular, Platform: "android"}}
	}
	return out
}

// localRows counts the rows of a local table on each shard, whatever their seq or step (leftovers included).
func localRows(t *testing.T, c *testserver.ClickHouseCluster, db, table string) []uint64 {
	t.Helper()
	var out []uint64
	for _, srv := range c.Servers {
		conn, err := chgo.Open(&chgo.Options{Addr: []string{srv.Addr}, Auth: chgo.Auth{Database: db}})
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		err = conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func sum(ns []uint64) (total uint64) {
	for _, n := range ns {
		total += n
	}
	return total
}

// TestFailedWrites stops a shard in the middle of an append and of a credit step: what the failed write stored
// on the other shard is never visible, the next write — from another node — deletes it before reusing its Seqs and
// steps, and the counts afterwards are exact.
func TestFailedWrites(t *testing.T) {
	ctx := context.Background()
	c := testserver.StartClickHouse(t, 2)
	opts := newOptions(t, c)
	node1, node2 := open(t, opts), open(t, opts)
	defer node1.Close()
	defer node2.Close()
	const users = 20
	first, second := sends("a", 50, users), sends("b", 30, users)
	if wm, err := node1.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: first}}); err != nil || wm != 50 {
		t.Fatalf("first append: %d %v", wm, err)
	}
	if err := node1.ApplyCredits(ctx, store.CreditUpdate{Credits: credits("g", users), Progress: 5}); err != nil {
		t.Fatal(err)
	}
	perShard := localRows(t, c, opts.Database, "events")
	if perShard[0] == 0 || perShard[1] == 0 {
		t.Fatalf("the users do not spread over both shards: %v", perShard)
	}

	// Shard 1 crashes: shard 0 takes its share of the second append, shard 1's insert fails.
	c.Servers[1].Kill()
	if _, err := node1.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: second}}); err == nil {
		t.Fatal("append with a shard down succeeded")
	}
	replace := store.CreditUpdate{Rebuild: []string{"w"}, Credits: credits("h", users/2), Progress: 9}
	if err := node1.ApplyCredits(ctx, replace); err == nil {
		t.Fatal("credit step with a shard down succeeded")
	}
	if wm, err := node1.Watermark(ctx); err != nil || wm != 50 {
		t.Fatalf("watermark after the failed append: %d %v", wm, err)
	}
	if p, err := node1.Progress(ctx); err != nil || p != 5 {
		t.Fatalf("progress after the failed step: %d %v", p, err)
	}
	c.Servers[1].Start()

	// The failed writes left rows on shard 0, and no read sees them.
	if n := localRows(t, c, opts.Database, "events"); sum(n) <= 50 {
		t.Fatalf("no leftover rows of the failed append (the test did not fail it half-way): %v", n)
	}
	for _, s := range []*clickhouse.Store{node1, node2} {
		if got := sent(t, s, false); got != 50 {
			t.Errorf("TOTAL sent before the retry = %d, want 50", got)
		}
		if got := sent(t, s, true); got != users {
			t.Errorf("UNIQUE sent before the retry = %d, want %d", got, users)
		}
		if evs, err := s.ReadEvents(ctx, 0, 1000); err != nil || len(evs) != 50 {
			t.Errorf("read events before the retry: %d %v", len(evs), err)
		}
		if found, err := s.StoredUUIDs(ctx, "w", uuids(second)); err != nil || len(found) != 0 {
			t.Errorf("uuids of the failed append are stored: %v %v", found, err)
		}
		var hashes int
		if err := s.UUIDHashes(ctx, func(h []uint64) error { hashes += len(h); return nil }); err != nil || hashes != 50 {
			t.Errorf("uuid hashes before the retry: %d %v", hashes, err)
		}
		if got := conversions(t, s); got != users {
			t.Errorf("conversions before the retry = %d, want %d", got, users)
		}
	}

	// Another node retries both writes: the leftovers go, the Seqs and steps are reused, the counts are exact.
	if wm, err := node2.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: second}}); err != nil || wm != 80 {
		t.Fatalf("retried append: %d %v", wm, err)
	}
	if n := localRows(t, c, opts.Database, "events"); sum(n) != 80 {
		t.Fatalf("rows stored after the retry: %v, want 80 in all", n)
	}
	if err := node2.ApplyCredits(ctx, replace); err != nil {
		t.Fatal(err)
	}
	if n := localRows(t, c, opts.Database, "credit_tombstones"); n[0] != 1 || n[1] != 1 {
		t.Fatalf("tombstones after the retried step: %v, want one per shard", n)
	}
	for _, s := range []*clickhouse.Store{node1, node2} {
		if wm, err := s.Watermark(ctx); err != nil || wm != 80 {
			t.Errorf("watermark after the retry: %d %v", wm, err)
		}
		evs, err := s.ReadEvents(ctx, 0, 1000)
		if err != nil || len(evs) != 80 {
			t.Fatalf("read events after the retry: %d %v", len(evs), err)
		}
		for i, e := range evs {
			if e.Seq != store.Seq(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
		if got := sent(t, s, false); got != 80 {
			t.Errorf("TOTAL sent after the retry = %d, want 80", got)
		}
		if got := sent(t, s, true); got != users {
			t.Errorf("UNIQUE sent after the retry = %d, want %d", got, users)
		}
		if got := conversions(t, s); got != users/2 {
			t.Errorf("conversions after the rebuild = %d, want %d", got, users/2)
		}
		if p, err := s.Progress(ctx); err != nil || p != 9 {
			t.Errorf("progress after the retry: %d %v", p, err)
		}
	}
}

// TestTwoNodes checks that two stores over the same servers — two API nodes — see each other's appends, watermark,
// credits and progress at once.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	c := testserver.StartClickHouse(t, 2)
	opts := newOptions(t, c)
	node1, node2 := open(t, opts), open(t, opts)
	defer node1.Close()
	defer node2.Close()
	if _, err := node1.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: sends("a", 10, 4)}}); err != nil {
		t.Fatal(err)
	}
	if wm, err := node2.Watermark(ctx); err != nil || wm != 10 {
		t.Fatalf("node 2 watermark after node 1's append: %d %v", wm, err)
	}
	if wm, err := node2.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: sends("b", 5, 4)}}); err != nil || wm != 15 {
		t.Fatalf("node 2 append after node 1's: %d %v", wm, err)
	}
	if wm, err := node1.Watermark(ctx); err != nil || wm != 15 {
		t.Fatalf("node 1 watermark after node 2's append: %d %v", wm, err)
	}
	if evs, err := node1.ReadEvents(ctx, 10, 100); err != nil || len(evs) != 5 || evs[0].UUID != "b-0" {
		t.Fatalf("node 1 reads node 2's events: %v %v", evs, err)
	}
	if got := sent(t, node1, false); got != 15 {
		t.Fatalf("node 1 TOTAL sent = %d, want 15", got)
	}
	if err := node2.ApplyCredits(ctx, store.CreditUpdate{Credits: credits("g", 3), Progress: 15}); err != nil {
		t.Fatal(err)
	}
	if p, err := node1.Progress(ctx); err != nil || p != 15 {
		t.Fatalf("node 1 progress after node 2's step: %d %v", p, err)
	}
	if got := conversions(t, node1); got != 3 {
		t.Fatalf("node 1 conversions = %d, want 3", got)
	}
	if err := node1.ApplyCredits(ctx, store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g-0"}}}); err != nil {
		t.Fatal(err)
	}
	if got := conversions(t, node2); got != 2 {
		t.Fatalf("node 2 conversions after node 1 replaced one = %d, want 2", got)
	}
}
