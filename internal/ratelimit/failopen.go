package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	// backendRetryInterval is how long FailOpen counts on its own after a Redis error before it asks Redis again, so
	// that an unreachable Redis costs one timeout per interval rather than one per request.
	backendRetryInterval = time.Second
	// backendWarnInterval is the least time between two WARN lines about Redis errors.
	backendWarnInterval = time.Minute
)

// FailOpen is the shared limiter as API nodes use it: decisions come from Redis while it answers, and from the node's
// own in-process Limiter while it does not — the behaviour SPEC §5.4 gives a node without --redis, so an outage of Redis
// loosens the limit to one per node rather than refusing or stalling requests. Every Redis error increments
// campaignstats_ratelimit_backend_errors_total and is logged at WARN at most once a minute (with the number of errors
// since the previous line). After an error the node counts on its own for a second before it tries Redis again.
//
// The in-process count starts from what the node admitted during earlier outages only: right after Redis fails a node
// may admit up to a full limit more per key. When Redis comes back (empty after a restart without persistence) the
// shared count starts over in the same way.
type FailOpen struct {
	shared *Redis
	local  *Limiter
	now    func() time.Time
	logger *slog.Logger
	errors prometheus.Counter

	mu                 sync.Mutex
	retryAt            time.Time // Redis is not asked before this instant
	lastWarning        time.Time
	errorsSinceWarning int // errors since the last WARN line, not logged yet
}

// NewFailOpen returns a limiter asking shared and falling back to local, which should read the same clock as shared
// (now). It registers its error counter on reg when reg is not nil.
func NewFailOpen(shared *Redis, local *Limiter, now func() time.Time, logger *slog.Logger, reg prometheus.Registerer) *FailOpen {
	f := &FailOpen{shared: shared, local: local, now: now, logger: logger,
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "campaignstats_ratelimit_backend_errors_total",
			Help: "Rate-limit checks that Redis failed to answer; the node counted those requests on its own."})}
	if reg != nil {
		reg.MustRegister(f.errors)
	}
	return f
}

// Allow decides as Redis.Allow while Redis answers and as the local Limiter otherwise. It never returns an error.
func (f *FailOpen) Allow(ctx context.Context, key string, limit int) (Decision, error) {
	if f.backendResting() {
		return f.local.Allow(key, limit), nil
	}
	d, err := f.shared.Allow(ctx, key, limit)
	if err == nil {
		return d, nil
	}
	if ctx.Err() != nil {
		// The request itself was cancelled; that says nothing about Redis. Its answer no longer matters either.
		return f.local.Allow(key, limit), nil
	}
	f.backendFailed(err)
	return f.local.Allow(key, limit), nil
}

// backendResting reports whether Redis failed less than backendRetryInterval ago.
func (f *FailOpen) backendResting() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now().Before(f.retryAt)
}

// backendFailed counts err, logs it when no WARN line was written for backendWarnInterval, and rests Redis.
func (f *FailOpen) backendFailed(err error) {
	f.errors.Inc()
	now := f.now()
	f.mu.Lock()
	f.retryAt = now.Add(backendRetryInterval)
	f.errorsSinceWarning++
	if !f.lastWarning.IsZero() && now.Sub(f.lastWarning) < backendWarnInterval {
		f.mu.Unlock()
		return
	}
	count := f.errorsSinceWarning
	f.lastWarning, f.errorsSinceWarning = now, 0
	f.mu.Unlock()
	f.logger.Warn("rate limits: redis failed; this node counts requests on its own until it answers",
		"error", err.Error(), "errors", count)
}
