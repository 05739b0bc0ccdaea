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
// A request takes a slot after authentication and charges its body's bytes as they are read; both are returned
// when its handler ends. Over either limit the request is refused at once (never queued), before anything of it is
// stored, so memory stays bounded by configuration whatever the number of clients.
type admission struct {
	slots *semaphore.Weighted
	bytes *semaphore.Weighted
}

func newAdmission(requests int, bytes int64) *admission {
	return &admission{slots: semaphore.NewWeighted(int64(requests)), bytes: semaphore.NewWeighted(bytes)}
}

// ticket is one admitted request's share of the limits.
type ticket struct {
	a       *admission
	charged int64
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
		if !c.t.a.bytes.TryAcquire(int64(n)) {
			return 0, errOverBudget{}
		}
		c.t.charged += int64(n)
	}
	return n, err
}

// charged wraps src so that its bytes count against the request's admission ticket, if it has one.
func charged(ctx context.Context, src io.Reader) io.Reader {
	if t, ok := ctx.Value(ticketKey{}).(*ticket); ok {
		return chargedReader{r: src, t: t}
	}
	return src
}
