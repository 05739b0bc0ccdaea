package ratelimit

import (
	"testing"
	"time"
)

func TestRollingWindow(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now })
	for i := 0; i < 3; i++ {
		d := l.Allow("ws/stats", 3)
		if !d.Allowed || d.Remaining != 2-i || d.Reset != 60-10*i {
			t.Fatalf("request %d: %+v", i, d)
		}
		now = now.Add(10 * time.Second)
	}
	// 30 s after the first request: the window still holds three.
	d := l.Allow("ws/stats", 3)
	if d.Allowed || d.Remaining != 0 || d.Reset != 30 {
		t.Fatalf("over limit: %+v", d)
	}
	if other := l.Allow("ws/campaigns", 3); !other.Allowed {
		t.Fatalf("families must count separately: %+v", other)
	}
	now = now.Add(30*time.Second + time.Millisecond) // first request has left the window
	if d := l.Allow("ws/stats", 3); !d.Allowed || d.Remaining != 0 || d.Reset != 10 {
		t.Fatalf("after window: %+v", d)
	}
}

// step is one request of a scenario: the clock moves on by advance, then a request of key asks under limit.
type step struct {
	advance time.Duration
	key     string
	limit   int
	want    Decision
}

// scenario is a sequence of requests with the decisions every limiter implementation must make.
type scenario struct {
	name  string
	steps []step
}

// allowFunc is the shape every implementation is tested through.
type allowFunc func(t *testing.T, key string, limit int) Decision

// rollingWindowScenarios are the behaviours of SPEC §5.4 that the in-process and the Redis limiter share.
func rollingWindowScenarios() []scenario {
	allowed := func(limit, remaining, reset int) Decision {
		return Decision{Allowed: true, Limit: limit, Remaining: remaining, Reset: reset}
	}
	refused := func(limit, reset int) Decision { return Decision{Limit: limit, Reset: reset} }
	return []scenario{
		{"three per window", []step{
			{0, "ws/stats", 3, allowed(3, 2, 60)},
			{10 * time.Second, "ws/stats", 3, allowed(3, 1, 50)},
			{10 * time.Second, "ws/stats", 3, allowed(3, 0, 40)},
			{10 * time.Second, "ws/stats", 3, refused(3, 30)},
			{0, "ws/campaigns", 3, allowed(3, 2, 60)},
			{30*time.Second + time.Millisecond, "ws/stats", 3, allowed(3, 0, 10)},
		}},
		{"an instant exactly one window old has left it", []step{
			{0, "k", 1, allowed(1, 0, 60)},
			{Window - time.Millisecond, "k", 1, refused(1, 1)},
			{time.Millisecond, "k", 1, allowed(1, 0, 60)},
		}},
		{"reset rounds up to whole seconds", []step{
			{0, "k", 1, allowed(1, 0, 60)},
			{500 * time.Millisecond, "k", 1, refused(1, 60)},
			{58*time.Second + 501*time.Millisecond, "k", 1, refused(1, 1)},
			{999 * time.Millisecond, "k", 1, allowed(1, 0, 60)},
		}},
		{"requests of one instant are all counted", []step{
			{0, "k", 5, allowed(5, 4, 60)},
			{0, "k", 5, allowed(5, 3, 60)},
			{0, "k", 5, allowed(5, 2, 60)},
			{0, "k", 5, allowed(5, 1, 60)},
			{0, "k", 5, allowed(5, 0, 60)},
			{0, "k", 5, refused(5, 60)},
			{0, "k", 5, refused(5, 60)},
		}},
		{"the window slides one request at a time", []step{
			{0, "k", 2, allowed(2, 1, 60)},
			{30 * time.Second, "k", 2, allowed(2, 0, 30)},
			{15 * time.Second, "k", 2, refused(2, 15)},
			{15 * time.Second, "k", 2, allowed(2, 0, 30)},
			{time.Second, "k", 2, refused(2, 29)},
			{29 * time.Second, "k", 2, allowed(2, 0, 30)},
		}},
		{"refused requests do not count", []step{
			{0, "k", 1, allowed(1, 0, 60)},
			{20 * time.Second, "k", 1, refused(1, 40)},
			{20 * time.Second, "k", 1, refused(1, 20)},
			{20 * time.Second, "k", 1, allowed(1, 0, 60)},
		}},
		{"a lowered limit leaves remaining at zero", []step{
			{0, "k", 3, allowed(3, 2, 60)},
			{0, "k", 3, allowed(3, 1, 60)},
			{0, "k", 3, allowed(3, 0, 60)},
			{time.Second, "k", 2, refused(2, 59)},
			{0, "k", 5, allowed(5, 1, 59)},
		}},
		{"a zero limit refuses with nothing to wait for", []step{
			{0, "k", 0, refused(0, 0)},
		}},
		{"an emptied window resets to zero", []step{
			{0, "k", 2, allowed(2, 1, 60)},
			{Window, "k", 0, refused(0, 0)},
		}},
	}
}

// runScenarios plays every scenario against a fresh limiter from newAllow, which reads time from now.
func runScenarios(t *testing.T, newAllow func(t *testing.T, now func() time.Time) allowFunc) {
	for _, sc := range rollingWindowScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
			allow := newAllow(t, func() time.Time { return now })
			for i, st := range sc.steps {
				now = now.Add(st.advance)
				if got := allow(t, st.key, st.limit); got != st.want {
					t.Fatalf("step %d (%s, limit %d, at +%s): got %+v, want %+v", i, st.key, st.limit,
						now.Sub(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)), got, st.want)
				}
			}
		})
	}
}

func TestScenariosInProcess(t *testing.T) {
	runScenarios(t, func(_ *testing.T, now func() time.Time) allowFunc {
		l := New(now)
		return func(_ *testing.T, key string, limit int) Decision { return l.Allow(key, limit) }
	})
}
