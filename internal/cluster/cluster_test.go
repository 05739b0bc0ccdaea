package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/testserver"
)

func openTwo(t *testing.T) (*Coordinator, *Coordinator) {
	t.Helper()
	dsn := testserver.Postgres(t)
	var cs [2]*Coordinator
	for i := range cs {
		c, err := Open(t.Context(), Options{DSN: dsn, RetryInterval: 50 * time.Millisecond, PingInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		cs[i] = c
	}
	return cs[0], cs[1]
}

// TestExclusiveAcrossNodes runs critical sections through two coordinators (two nodes) at once: never two at a time.
func TestExclusiveAcrossNodes(t *testing.T) {
	a, b := openTwo(t)
	var inside, overlaps, runs atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Exclusive(t.Context(), func(context.Context) error {
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				runs.Add(1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 || runs.Load() != 40 {
		t.Fatalf("%d overlapping sections in %d runs", overlaps.Load(), runs.Load())
	}
}

// TestOneLeaderAndTakeOver checks that one of two nodes leads at a time and that the other takes the role when the
// leader's lock connection dies (as when its process or its network does).
func TestOneLeaderAndTakeOver(t *testing.T) {
	a, b := openTwo(t)
	var leaders atomic.Int32
	var overlaps atomic.Int32
	led := make(chan string, 4)
	run := func(c *Coordinator, name string) (context.CancelFunc, chan struct{}) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Lead(ctx, func(ctx context.Context) {
				if leaders.Add(1) > 1 {
					overlaps.Add(1)
				}
				led <- name
				<-ctx.Done()
				leaders.Add(-1)
			})
		}()
		return cancel, done
	}
	stopA, doneA := run(a, "a")
	first := <-led
	if first != "a" {
		t.Fatalf("first leader %s", first)
	}
	stopB, doneB := run(b, "b")
	defer func() { stopB(); <-doneB }()
	select {
	case n := <-led:
		t.Fatalf("%s led while a did", n)
	case <-time.After(300 * time.Millisecond):
	}
	// a's lock connection dies: the server ends its session, the lock goes with it; a notices within its ping
	// interval and stops leading.
	if _, err := b.pool.Exec(t.Context(), "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"); err != nil {
		t.Fatal(err)
	}
	stopA()
	<-doneA
	select {
	case n := <-led:
		if n != "b" {
			t.Fatalf("after a's connection died, %s led", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take the lead after a's connection died")
	}
	if overlaps.Load() != 0 {
		t.Fatalf("two leaders at once")
	}
}
