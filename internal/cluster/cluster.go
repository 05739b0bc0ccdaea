// Package cluster coordinates several campaignstats nodes that share external stores (events in ClickHouse,
// metadata in PostgreSQL) through PostgreSQL advisory locks:
//
//   - Exclusive runs one append at a time across every node. The event log's order (its Seqs and watermark) and the
//     deduplication by event uuid are decided under it: the appending node first catches its uuid index up with
//     what other nodes appended, then appends.
//   - Lead elects one leader, which keeps the derived data (catalog inference, conversion credits): the leader holds
//     a session advisory lock for as long as its connection lives, so a node that stops or loses PostgreSQL gives
//     the role up and another node takes it within RetryInterval.
package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Advisory lock keys (any two fixed int64 values, unique within the database).
const (
	appendLockKey int64 = 0x63_73_61_70_70_65_6e_64 // "csappend"
	leaderLockKey int64 = 0x63_73_6c_65_61_64_65_72 // "csleader"
)

// Defaults of Options.
const (
	DefaultRetryInterval = time.Second
	DefaultPingInterval  = time.Second
)

// Options configure Open.
type Options struct {
	// DSN is the PostgreSQL connection string (the metadata store's database).
	DSN    string
	Logger *slog.Logger
	// RetryInterval is how often a node that is not the leader tries to become it (0: DefaultRetryInterval).
	RetryInterval time.Duration
	// PingInterval is how often the leader checks that its lock connection lives (0: DefaultPingInterval).
	PingInterval time.Duration
}

// Coordinator is one node's handle on the cluster's locks. It is safe for concurrent use.
type Coordinator struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	retry time.Duration
	ping  time.Duration
}

// Open connects to PostgreSQL.
func Open(ctx context.Context, o Options) (*Coordinator, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cfg.MaxConns = 4 // the append lock, the leader lock, and room for a blocked waiter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Coordinator{pool: pool, log: o.Logger, retry: o.RetryInterval, ping: o.PingInterval}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retry <= 0 {
		c.retry = DefaultRetryInterval
	}
	if c.ping <= 0 {
		c.ping = DefaultPingInterval
	}
	return c, nil
}

// Close closes the connections (releasing every lock this node holds).
func (c *Coordinator) Close() { c.pool.Close() }

// Exclusive runs fn while this node holds the cluster's append lock. It waits for the lock as long as ctx allows.
func (c *Coordinator) Exclusive(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("cluster: append lock: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", appendLockKey); err != nil {
		// A cancelled wait may still have taken the lock on the server: closing the session releases it.
		conn.Hijack().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("cluster: append lock: %w", err)
	}
	ferr := fn(ctx)
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", appendLockKey); err != nil {
		conn.Hijack().Close(uctx) // the session's end releases the lock
		c.log.Warn("append lock: unlock failed; connection closed instead", "error", err.Error())
		return ferr
	}
	conn.Release()
	return ferr
}

// Lead runs lead each time this node becomes the leader, with a context that ends when it stops being the leader
// (its lock connection fails) or when ctx ends; it returns when ctx ends. lead must return when its context ends.
func (c *Coordinator) Lead(ctx context.Context, lead func(ctx context.Context)) {
	for ctx.Err() == nil {
		led, err := c.leadOnce(ctx, lead)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("leader election failed; retrying", "error", err.Error())
		}
		if led {
			continue // try again at once: the role is free unless another node took it meanwhile
		}
		select {
		case <-ctx.Done():
		case <-time.After(c.retry):
		}
	}
}

// leadOnce tries to take the leader lock; when it does, it runs lead until the lock's connection fails or ctx
// ends. led reports whether lead ran.
func (c *Coordinator) leadOnce(ctx context.Context, lead func(ctx context.Context)) (led bool, err error) {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("cluster: leader lock: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", leaderLockKey).Scan(&got); err != nil {
		conn.Hijack().Close(context.WithoutCancel(ctx))
		return false, fmt.Errorf("cluster: leader lock: %w", err)
	}
	if !got {
		conn.Release()
		return false, nil
	}
	c.log.Info("this node is now the leader (derived data upkeep)")
	lctx, cancel := context.WithCancel(ctx)
	lost := make(chan error, 1)
	go func() {
		tick := time.NewTicker(c.ping)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				lost <- nil
				return
			case <-tick.C:
			}
			pctx, pcancel := context.WithTimeout(lctx, c.ping+5*time.Second)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && lctx.Err() == nil {
				cancel()
				lost <- err
				return
			}
		}
	}()
	lead(lctx)
	cancel()
	perr := <-lost
	// Closing the session releases the lock whether or not the connection still works.
	conn.Hijack().Close(context.WithoutCancel(ctx))
	if perr != nil {
		c.log.Warn("lost the leader lock's connection; no longer the leader", "error", perr.Error())
		return true, perr
	}
	if ctx.Err() == nil {
		c.log.Info("leader stopped; giving the role up")
	}
	return true, nil
}
