// Package clickhouse implements store.EventStore (the events, the conversion credits and the metric engine's node
// queries) on ClickHouse through its native protocol (github.com/ClickHouse/clickhouse-go/v2), from one server up
// to several shards, for deployments that run several API nodes over one event store. The SQL is the subset that
// ClickHouse 18.16 (the oldest server it is tested on) and current servers both accept.
//
// # Layout
//
// Every shard holds the same local tables (migrations/*.sql): events and credits (MergeTree, ordered by workspace,
// campaign or unit, and time), credit_tombstones, credit_unit_tombstones and journal. A user's events and credits
// live on one shard, user_hi % len(Shards), written straight into that shard's local tables. With several shards,
// reads go through Distributed tables (events_all, credits_all) over the cluster that the servers' configuration
// defines in remote_servers (Options.Cluster): ReplicatedMergeTree and ON CLUSTER need ZooKeeper, so Migrate creates the
// tables on each shard itself. With one shard the local tables are read directly and no cluster is needed.
//
// # Commits without transactions
//
// ClickHouse has no transactions; each of the two writes — Append and ApplyCredits — is made atomic by a commit
// record in the first shard's journal table, one stream each. Both are single-writer: one Append at a time and
// one ApplyCredits at a time across every process using the store; the caller guarantees it (the intake, the
// credit upkeep, or a cluster lock). A write
//
//  1. reads its stream's current record (committed C, pending P); if P > C an earlier write stopped half-way,
//     and its rows (seq or step above C) are deleted on every shard (ALTER TABLE … DELETE, waiting for the
//     mutation) before their numbers are reused;
//  2. records "pending up to C+n" (so any process can tell cheaply that rows above C may exist);
//  3. inserts its rows, tagged with their seq or step, synchronously into each shard;
//  4. records "committed C+n".
//
// Every read first reads the committed watermark and step (one small query to the first shard) and uses only rows
// at or below them, so a write that failed anywhere before step 4 is never visible, and nothing is cached in the
// process that another node's writes could make stale. Credits are replaced and rebuilt with tombstones: step S
// records "goal event g replaced at S", "unit u's credits of goal event g replaced at S" or "workspace w rebuilt
// at S" (copied to every shard) and its new credits;
// a credit of step s is visible while no committed tombstone of a later step covers it.
//
// An insert the server acknowledged is stored (inserts are synchronous; no async insert buffers are used).
package clickhouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// DefaultDatabase is the database used when neither Options.Database nor the first shard's DSN names one.
const DefaultDatabase = "campaignstats"

// DefaultCluster is the remote_servers cluster of the Distributed tables when Options.Cluster is empty.
const DefaultCluster = "campaignstats"

// Options configure a Store.
type Options struct {
	// Shards are the native-protocol DSNs of the shards, one each, in a fixed order that every process using the
	// store shares (e.g. "clickhouse://127.0.0.1:9000/db?username=u&password=p"). One element is a single node.
	Shards []string
	// Database is the database on every shard; "" takes the first DSN's, or DefaultDatabase.
	Database string
	// Cluster is the cluster the servers define in remote_servers over exactly these shards, in this order
	// (Distributed tables); "" is DefaultCluster. Unused with one shard.
	Cluster string
	// Now returns the current time (nil: time.Now).
	Now func() time.Time
	// Logger receives the store's rare events (cleanup of an unfinished write); nil discards them.
	Logger *slog.Logger
}

// Store is the ClickHouse event store.
type Store struct {
	shards   []driver.Conn
	database string
	// eventsTable and creditsTable are the tables reads use: the local tables with one shard, the Distributed
	// ones with several.
	eventsTable, creditsTable string
	now                       func() time.Time
	log                       *slog.Logger
}

var _ store.EventStore = (*Store)(nil)

// Open connects to every shard and checks that the schema is current (Migrate creates it).
func Open(ctx context.Context, opts Options) (*Store, error) {
	s, err := connect(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect opens one connection pool per shard; with createDatabase it first creates the database on each.
func connect(ctx context.Context, opts Options, createDatabase bool) (*Store, error) {
	if len(opts.Shards) == 0 {
		return nil, errors.New("clickhouse: no shards configured")
	}
	parsed := make([]*ch.Options, len(opts.Shards))
	for i, dsn := range opts.Shards {
		o, err := ch.ParseDSN(dsn)
		if err != nil {
			return nil, errorf("clickhouse: shard %d: %w", i, err)
		}
		parsed[i] = o
	}
	database := opts.Database
	if database == "" {
		database = parsed[0].Auth.Database
	}
	if database == "" {
		database = DefaultDatabase
	}
	if !validIdentifier(database) {
		return nil, errorf("clickhouse: database name %q: use letters, digits and _", database)
	}
	cluster := opts.Cluster
	if cluster == "" {
		cluster = DefaultCluster
	}
	s := &Store{database: database, now: opts.Now, log: opts.Logger, eventsTable: "events", creditsTable: "credits"}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(parsed) > 1 {
		s.eventsTable, s.creditsTable = "events_all", "credits_all"
	}
	for i, o := range parsed {
		if createDatabase {
			o.Auth.Database = "default"
			conn, err := ch.Open(o)
			if err == nil {
				err = conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+database)
				conn.Close()
			}
			if err != nil {
				s.Close()
				return nil, errorf("clickhouse: shard %d: create database: %w", i, err)
			}
		}
		o.Auth.Database = database
		conn, err := ch.Open(o)
		if err != nil {
			s.Close()
			return nil, errorf("clickhouse: shard %d: %w", i, err)
		}
		s.shards = append(s.shards, conn)
	}
	return s, nil
}

// validIdentifier reports whether name can be used unquoted as a database or cluster name.
func validIdentifier(name string) bool {
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return name != ""
}

// Close closes the connections.
func (s *Store) Close() error {
	var errs []error
	for _, c := range s.shards {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Ping reports whether every shard answers and has the current schema.
func (s *Store) Ping(ctx context.Context) error {
	want := latestVersion()
	for i, c := range s.shards {
		var version uint32
		if err := c.QueryRow(ctx, `SELECT max(version) FROM schema_versions`).Scan(&version); err != nil {
			return errorf("clickhouse: shard %d: schema version: %w", i, err)
		}
		if version != want {
			return errorf("clickhouse: shard %d: schema version %d, want %d (run Migrate)", i, version, want)
		}
	}
	return nil
}

// shardOf returns the shard that holds a user's rows. Distributed tables use the same key (user_hi).
func (s *Store) shardOf(u domain.UserID) int { return int(u.Hi % uint64(len(s.shards))) }

//go:embed migrations/*.sql distributed.sql
var schemaFS embed.FS

// statements splits a SQL file into its statements (separated by a semicolon at the end of a line).
func statements(sql string) []string {
	var out []string
	for _, st := range strings.Split(sql, ";\n") {
		var lines []string
		for _, line := range strings.Split(st, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, line)
			}
		}
		if st := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"); st != "" {
			out = append(out, st)
		}
	}
	return out
}

// insertRow inserts one row as a batch of one (an INSERT naming its columns, without VALUES): the native
// protocol's insert, which 18.16 acknowledges once the row is stored.
func insertRow(ctx context.Context, conn driver.Conn, insert string, values ...any) error {
	batch, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := batch.Append(values...); err != nil {
		batch.Abort()
		return err
	}
	return batch.Send()
}

// insertPerShard inserts rows[i] into shard i with the insert statement, one synchronous insert per shard, shard
// after shard. A failure leaves the earlier shards' rows stored (the journal makes them invisible).
func (s *Store) insertPerShard(ctx context.Context, insert string, rows [][][]any) error {
	for shard, shardRows := range rows {
		if len(shardRows) == 0 {
			continue
		}
		batch, err := s.shards[shard].PrepareBatch(ctx, insert)
		if err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
		for _, row := range shardRows {
			if err := batch.Append(row...); err != nil {
				batch.Abort()
				return fmt.Errorf("shard %d: %w", shard, err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
	}
	return nil
}
