package intake

import (
	"context"

	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// TestIdempotencyKeys checks SPEC §3.10's keys as the intake keeps them: a stored first response answers for
// IdempotencyTTL and no longer, the key used again after that stores and answers its new response, a key in
// progress on this node cannot be claimed twice, and a keyed request's events get uuids that depend on the
// workspace, the endpoint, the key and the key's lifetime only.
func TestIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := openService(t)
	first := store.IdempotentResponse{Endpoint: "/v1/event", Key: "k", Status: 200, Body: []byte(`{"n":1}`), RequestID: "r1", CreatedAt: t0}
	if err := s.SaveResponse(ctx, "w", first); err != nil {
		t.Fatal(err)
	}
	lookup := func(ws, endpoint string, after time.Duration) (store.IdempotentResponse, bool) {
		t.Helper()
		r, found, err := s.StoredResponse(ctx, ws, endpoint, "k", t0.Add(after))
		if err != nil {
			t.Fatal(err)
		}
		return r, found
	}
	if r, found := lookup("w", "/v1/event", IdempotencyTTL-time.Millisecond); !found || string(r.Body) != `{"n":1}` || r.RequestID != "r1" || r.Status != 200 {
		t.Fatalf("within the lifetime: %+v, %v", r, found)
	}
	if _, found := lookup("w", "/v1/event", IdempotencyTTL+time.Millisecond); found {
		t.Fatal("the response answers after its lifetime")
	}
	if _, found := lookup("w2", "/v1/event", 0); found {
		t.Fatal("the response answers in another workspace")
	}
	if _, found := lookup("w", "/v1/bulk", 0); found {
		t.Fatal("the response answers at another endpoint")
	}
	// The key used again once its response expired: the new response replaces it.
	second := first
	second.Body, second.RequestID, second.CreatedAt = []byte(`{"n":2}`), "r2", t0.Add(IdempotencyTTL+time.Hour)
	if err := s.SaveResponse(ctx, "w", second); err != nil {
		t.Fatal(err)
	}
	if r, found := lookup("w", "/v1/event", IdempotencyTTL+2*time.Hour); !found || string(r.Body) != `{"n":2}` || r.RequestID != "r2" {
		t.Fatalf("the key's second response: %+v, %v", r, found)
	}

	release, ok := s.ClaimKey("w", "/v1/event", "k")
	if !ok {
		t.Fatal("first claim refused")
	}
	if _, ok := s.ClaimKey("w", "/v1/event", "k"); ok {
		t.Fatal("a key in progress was claimed twice")
	}
	for _, other := range [][3]string{{"w2", "/v1/event", "k"}, {"w", "/v1/bulk", "k"}, {"w", "/v1/event", "k2"}} {
		rel, ok := s.ClaimKey(other[0], other[1], other[2])
		if !ok {
			t.Fatalf("claim of %q refused while another key is in progress", other)
		}
		rel()
	}
	release()
	if rel, ok := s.ClaimKey("w", "/v1/event", "k"); !ok {
		t.Fatal("a released key cannot be claimed")
	} else {
		rel()
	}

	uuids := func(ws, endpoint, key string, at time.Time) []string {
		evs := make([]domain.Event, 3)
		KeyedEvents(evs, ws, endpoint, key, at)
		return []string{evs[0].UUID, evs[1].UUID, evs[2].UUID}
	}
	a := uuids("w", "/v1/event", "k", t0)
	if a[0] == a[1] || a[1] == a[2] || a[0] == "" {
		t.Fatalf("a request's events share uuids: %q", a)
	}
	if b := uuids("w", "/v1/event", "k", t0); b != nil && (a[0] != b[0] || a[2] != b[2]) {
		t.Fatalf("a retry's uuids differ: %q, %q", a, b)
	}
	for name, b := range map[string][]string{
		"another workspace": uuids("w2", "/v1/event", "k", t0),
		"another endpoint":  uuids("w", "/v1/bulk", "k", t0),
		"another key":       uuids("w", "/v1/event", "k2", t0),
		"the next lifetime": uuids("w", "/v1/event", "k", t0.Add(IdempotencyTTL)),
	} {
		if b[0] == a[0] || b[1] == a[1] {
			t.Fatalf("%s gives the same uuids: %q", name, b)
		}
	}
}
