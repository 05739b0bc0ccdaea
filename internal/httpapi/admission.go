package httpapi

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/sync/semaphore"
)

// errBusy is the answer of an ingest endpoint when the server's admission limits are reached (SPEC §12.13).
var errBusy = ingestError{503, "ServiceUnavailable", "server", "server is busy; retry later"}

// busyRetryAfter is the Retry-After of errBusy, in seconds.
const busyRetryAfter = 1

// admission bounds the ingest requests processed at once and the decompressed body bytes they hold (SPEC §12.13).
// A request takes a slot after authentication and, before reading its body, reserves the bytes it will hold: the
// Content-Length of a plain body, or gzipExpansion times that of a gzip body (at most the body limit); bytes read
// beyond the reservation are charged as they stream. Both are returned when its handler ends. Over either limit the
// request is refused at once (never queued), before anything of it is stored, so memory stays bounded by
// configuration whatever the number of clients. Reserving up front means requests do not each hold part of the
// budget while refusing one another: a burst admits what fits and refuses the rest.
type admission struct {
	slots *semaphore.Weighted
	bytes *semaphore.Weighted
}

func newAdmission(requests int, bytes int64) *admission {
	return &admission{slots: semaphore.NewWeighted(int64(requests)), bytes: semaphore.NewWeighted(bytes)}
}

// gzipExpansion is the decompressed size reserved per compressed byte of a gzip body: JSON event batches compress
// about 5–15 times; a body that expands more is charged as it streams.
const gzipExpansion = 16

// ticket is one admitted request's share of the limits.
type ticket struct {
	a       *admission
	charged int64 // reserved up front, plus what reads passed the reservation by
	read    int64
}

// reserve charges n bytes up front; false when they do not fit.
func (t *ticket) reserve(n int64) bool {
	if n <= 0 {
		return true
	}
	if !t.a.bytes.TryAcquire(n) {
		return false
	}
	t.charged += n
	return true
}

type ticketKey struct{}

// admit runs h with a slot, or answers errBusy when none is free.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request)) {
	if !s.admission.slots.TryAcquire(1) {
		s.writeBusy(w, r)
		return
	}
	t := &ticket{a: s.admission}
	defer func() {
		s.admission.bytes.Release(t.charged)
		s.admission.slots.Release(1)
	}()
	h(w, r.WithContext(context.WithValue(r.Context(), ticketKey{}, t)))
}

// writeBusy answers errBusy with Retry-After, in the ingest envelope.
func (s *Server) writeBusy(w http.ResponseWriter, r *http.Request) {
	s.metrics.ingestBusy.Inc()
	w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
	s.writeIngestError(w, r, errBusy)
}

// errOverBudget is returned by a chargedReader when the bytes in flight would pass the server's limit.
type errOverBudget struct{}

func (errOverBudget) Error() string { return "decompressed bytes in flight over the server's limit" }

// chargedReader charges every byte read from r to the request's ticket.
type chargedReader struct {
	r io.Reader
	t *ticket
}

func (c chargedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.t.read += int64(n)
		if extra := c.t.read - c.t.charged; extra > 0 {
			if !c.t.a.bytes.TryAcquire(extra) {
				return 0, errOverBudget{}
			}
			c.t.charged += extra
		}
	}
	return n, err
}

// charged reserves the body's expected decompressed size (see admission) and wraps src so that bytes beyond it
// count against the request's admission ticket, if it has one; ok is false when the reservation does not fit.
func charged(r *http.Request, src io.Reader, gzipped bool, limit int64) (io.Reader, bool) {
	t, has := r.Context().Value(ticketKey{}).(*ticket)
	if !has {
		return src, true
	}
	expect := r.ContentLength
	if gzipped && expect > 0 {
		expect = min(expect*gzipExpansion, limit)
	}
	if !t.reserve(min(expect, limit)) {
		return nil, false
	}
	return chargedReader{r: src, t: t}, true
}
