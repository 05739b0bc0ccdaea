package intake

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/store"
)

// IdempotencyTTL is how long the first response to an Idempotency-Key answers its repeats (SPEC §3.10).
const IdempotencyTTL = 24 * time.Hour

// inflightKeys holds the Idempotency-Keys whose first request is still running on this node. It holds one entry per
// request in progress, so it is bounded by the server's concurrent requests.
type inflightKeys struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (k *inflightKeys) claim(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = map[string]struct{}{}
	}
	if _, held := k.keys[key]; held {
		return false
	}
	k.keys[key] = struct{}{}
	return true
}

func (k *inflightKeys) release(key string) {
	k.mu.Lock()
	delete(k.keys, key)
	k.mu.Unlock()
}

// StoredResponse returns the response stored for (workspace, endpoint, key) at most IdempotencyTTL before now.
func (s *Service) StoredResponse(ctx context.Context, ws, endpoint, key string, now time.Time) (store.IdempotentResponse, bool, error) {
	r, found, err := s.meta.IdempotentResponse(ctx, ws, endpoint, key, now.Add(-IdempotencyTTL))
	if err != nil {
		return store.IdempotentResponse{}, false, fmt.Errorf("idempotent response: %w", err)
	}
	return r, found, nil
}

// ClaimKey marks (workspace, endpoint, key) as being processed by a request on this node until release is called;
// ok is false when another request of this node holds it. Nodes do not see one another's claims: a repeat sent to
// another node meanwhile runs too, and its events carry the same uuids (KeyedEvents), so it stores nothing twice.
func (s *Service) ClaimKey(ws, endpoint, key string) (release func(), ok bool) {
	scope := ws + "\x00" + endpoint + "\x00" + key
	if !s.inflight.claim(scope) {
		return nil, false
	}
	return func() { s.inflight.release(scope) }, true
}

// SaveResponse stores the first response to an Idempotency-Key.
func (s *Service) SaveResponse(ctx context.Context, ws string, r store.IdempotentResponse) error {
	if err := s.meta.PutIdempotentResponse(ctx, ws, r); err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// KeyedEvents gives the events of a request with Idempotency-Key key, received at the key's first use, uuids derived
// from the key and the key's lifetime the request falls in: a retry after a failure between the append and the
// stored response stores nothing twice, and the key used again after its response expired stores new events.
func KeyedEvents(events []domain.Event, ws, endpoint, key string, firstUse time.Time) {
	period := firstUse.UnixMilli() / IdempotencyTTL.Milliseconds()
	for i := range events {
		events[i].UUID = ingest.IdempotentTrackUUID(ws, endpoint, key, period, i)
	}
}

// PutProfiles stores the attributes of users or devices (SPEC §3.9), with idem (nil without Idempotency-Key) in
// the same transaction.
func (s *Service) PutProfiles(ctx context.Context, ws string, ps []store.Profile, idem *store.IdempotentResponse) error {
	if err := s.meta.PutProfiles(ctx, ws, ps, idem); err != nil {
		return fmt.Errorf("store profiles: %w", err)
	}
	return nil
}
