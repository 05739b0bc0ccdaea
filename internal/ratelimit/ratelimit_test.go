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
