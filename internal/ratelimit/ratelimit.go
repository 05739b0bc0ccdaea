// Package ratelimit implements the per-workspace, per-family rolling-window limiter of SPEC §5.4 in process.
package ratelimit

import (
	"sync"
	"time"
)

// Window is the rolling window length.
const Window = 60 * time.Second

// Decision is the outcome of one Allow call and the values of the RateLimit-* headers.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is the number of seconds, rounded up, until the oldest admitted request leaves the window (0 if none).
	Reset int
}

// Limiter counts admitted requests per key over a rolling window.
type Limiter struct {
	now func() time.Time
	mu  sync.Mutex
	log map[string][]time.Time // admitted instants, oldest first
}

// New returns a limiter reading time from now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, log: map[string][]time.Time{}}
}

// Allow admits a request for key when fewer than limit requests were admitted in the preceding window.
func (l *Limiter) Allow(key string, limit int) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.log[key]
	cut := 0
	for cut < len(times) && !times[cut].After(now.Add(-Window)) {
		cut++
	}
	times = times[cut:]
	d := Decision{Limit: limit}
	if len(times) < limit {
		times = append(times, now)
		d.Allowed = true
	}
	if len(times) == 0 {
		delete(l.log, key)
	} else {
		l.log[key] = times
	}
	d.Remaining = max(limit-len(times), 0)
	if len(times) > 0 {
		left := times[0].Add(Window).Sub(now)
		d.Reset = int((left + time.Second - 1) / time.Second)
	}
	return d
}
