package ratelimit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/campaignstats/campaignstats/internal/testserver"
)

// newRedisClient connects to addr with the options API nodes use (no retries), with the short timeouts they use
// when short is set and 10 s otherwise: a test that counts admissions must not see a stall of a loaded machine as
// Redis failing. A stopped Redis refuses connections at once either way.
func newRedisClient(t *testing.T, addr string, short bool) *redis.Client {
	t.Helper()
	url := "redis://" + addr + "/0"
	if !short {
		url += "?dial_timeout=10s&read_timeout=10s&write_timeout=10s"
	}
	opt, err := RedisOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestScenariosRedis(t *testing.T) {
	addr, _ := testserver.Redis(t)
	client := newRedisClient(t, addr, false)
	runScenarios(t, func(t *testing.T, now func() time.Time) allowFunc {
		l := NewRedis(client, now, "test:"+t.Name()+":")
		return func(t *testing.T, key string, limit int) Decision {
			d, err := l.Allow(context.Background(), key, limit)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	})
}

// TestRedisKeyExpiresAfterWindow checks the key's TTL: one window from the last admitted request.
func TestRedisKeyExpiresAfterWindow(t *testing.T) {
	addr, _ := testserver.Redis(t)
	client := newRedisClient(t, addr, false)
	l := NewRedis(client, time.Now, "")
	if _, err := l.Allow(context.Background(), "ws/stats", 10); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(context.Background(), DefaultRedisPrefix+"ws/stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= Window-5*time.Second || ttl > Window {
		t.Fatalf("TTL %s, want about %s", ttl, Window)
	}
}

// TestRedisTwoNodesShareOneLimit runs two limiters with their own connections, as two API nodes would, against one
// Redis: together they admit exactly 100 requests of a key per rolling minute, in a burst and over three minutes of
// steady demand.
func TestRedisTwoNodesShareOneLimit(t *testing.T) {
	const limit = 100
	addr, _ := testserver.Redis(t)
	var clock atomic.Int64 // Unix nanoseconds
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	nodes := []*Redis{NewRedis(newRedisClient(t, addr, false), now, ""), NewRedis(newRedisClient(t, addr, false), now, "")}
	ctx := context.Background()

	// burst sends requests from 8 goroutines spread over both nodes and returns how many were admitted.
	burst := func(requests int) int {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < requests; i += 8 {
					d, err := nodes[i%2].Allow(ctx, "ws/stats", limit)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return int(admitted.Load())
	}
	if got := burst(300); got != limit {
		t.Fatalf("burst of 300: %d admitted, want %d", got, limit)
	}
	clock.Add(int64(Window - time.Millisecond))
	if got := burst(50); got != 0 {
		t.Fatalf("just before the window ends: %d admitted, want 0", got)
	}
	clock.Add(int64(time.Millisecond))
	if got := burst(300); got != limit {
		t.Fatalf("a window later: %d admitted, want %d", got, limit)
	}

	// Steady demand: each node asks four times a second for three minutes (1440 requests).
	var admittedAt []time.Time
	for range 720 {
		clock.Add(int64(250 * time.Millisecond))
		for _, n := range nodes {
			d, err := n.Allow(ctx, "ws/campaigns", limit)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admittedAt = append(admittedAt, now())
			}
		}
	}
	if len(admittedAt) != 3*limit {
		t.Fatalf("three minutes of steady demand: %d admitted, want %d", len(admittedAt), 3*limit)
	}
	for i, at := range admittedAt {
		inWindow := 0
		for _, earlier := range admittedAt[:i+1] {
			if earlier.After(at.Add(-Window)) {
				inWindow++
			}
		}
		if inWindow > limit {
			t.Fatalf("%d admitted in the window ending %s", inWindow, at.Sub(start))
		}
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRedisDown stops Redis under a FailOpen limiter: Redis.Allow fails fast, FailOpen counts on the node's own (one
// WARN line, the error counter), and goes back to the shared count once Redis is restarted.
func TestRedisDown(t *testing.T) {
	addr, server := testserver.Redis(t)
	client := newRedisClient(t, addr, true)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	shared := NewRedis(client, clock, "")
	limiter := NewFailOpen(shared, New(clock), clock, logger, reg)
	ctx := context.Background()
	errorsCounted := func() float64 { return testutil.ToFloat64(limiter.errors) }

	allow := func(want Decision) {
		t.Helper()
		d, err := limiter.Allow(ctx, "ws/stats", 3)
		if err != nil {
			t.Fatalf("FailOpen.Allow returned %v", err)
		}
		if d != want {
			t.Fatalf("got %+v, want %+v", d, want)
		}
	}
	allow(Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 60})
	allow(Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 60})
	if n, err := client.ZCard(ctx, DefaultRedisPrefix+"ws/stats").Result(); err != nil || n != 2 {
		t.Fatalf("Redis holds %d admitted requests (%v), want 2", n, err)
	}

	server.Stop()
	began := time.Now()
	if _, err := shared.Allow(ctx, "ws/stats", 3); err == nil {
		t.Fatal("Redis.Allow succeeded with Redis stopped")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("Redis.Allow took %s to fail with Redis stopped", took)
	}

	// The node's own count starts empty: three more are admitted, then it refuses.
	now = now.Add(time.Second)
	allow(Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 60})
	if got := errorsCounted(); got != 1 {
		t.Fatalf("backend errors counted: %v, want 1", got)
	}
	allow(Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 60})
	allow(Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 60})
	allow(Decision{Limit: 3, Reset: 60})
	if got := errorsCounted(); got != 1 {
		t.Fatalf("Redis asked again within a second of failing: %v errors counted", got)
	}
	for range 5 {
		now = now.Add(1100 * time.Millisecond)
		if _, err := limiter.Allow(ctx, "ws/stats", 3); err != nil {
			t.Fatal(err)
		}
	}
	if got := errorsCounted(); got != 6 {
		t.Fatalf("backend errors counted: %v, want 6", got)
	}
	if warnings := strings.Count(logs.String(), "level=WARN"); warnings != 1 {
		t.Fatalf("%d WARN lines for errors within a minute, want 1:\n%s", warnings, logs.String())
	}
	now = now.Add(time.Minute)
	if _, err := limiter.Allow(ctx, "ws/stats", 3); err != nil {
		t.Fatal(err)
	}
	if warnings := strings.Count(logs.String(), "level=WARN"); warnings != 2 || !strings.Contains(logs.String(), "errors=6") {
		t.Fatalf("a minute later: want a second WARN line reporting 6 errors:\n%s", logs.String())
	}

	// Restarted (empty), Redis decides again.
	testserver.RestartRedis(t, server)
	deadline := time.Now().Add(10 * time.Second)
	for {
		now = now.Add(backendRetryInterval)
		if _, err := limiter.Allow(ctx, "ws/reports", 1); err != nil {
			t.Fatal(err)
		}
		if n, err := client.ZCard(ctx, DefaultRedisPrefix+"ws/reports").Result(); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis not used again 10 s after its restart\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	allow(Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 60}) // the shared count, empty after the restart
	if n, err := client.ZCard(ctx, DefaultRedisPrefix+"ws/stats").Result(); err != nil || n != 1 {
		t.Fatalf("restarted Redis holds %d admitted requests (%v), want 1", n, err)
	}
}
