package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/store"
)

const trackSuccessMessage = "Your request has been accepted and will be processed soon."

// validIdempotencyKey: 1–255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// trackEndpoint is an endpoint with Track Event's request handling (SPEC §3.8–§3.11, §13.3): data-key auth, a JSON
// body of at most --max-track-body bytes, the ingest error envelope, an atomic durable commit before the 200 and
// Idempotency-Key support. Track Event, Bulk Import and the user and device endpoints are such endpoints.
type trackEndpoint struct {
	name string // metrics label
	path string // the idempotency scope
	// withRequestID puts request_id in the 200 body (Track Event, Bulk Import); the user and device endpoints
	// answer without it (§13.3).
	withRequestID bool
	// accept validates a body received at now and returns save, which stores the request's data together with
	// idem (nil without Idempotency-Key) in one durable transaction. An *ingest.TrackError or *ingest.BodyError is
	// a 400; any other error a 5xx.
	accept func(ws domain.Workspace, body []byte, now time.Time) (save func(ctx context.Context, idem *store.IdempotentResponse) error, err error)
}

// trackEvents is the trackEndpoint of Track Event or Bulk Import: decode turns the body into user events.
func (s *Server) trackEvents(name, path string, decode func(body []byte, now time.Time) ([]domain.Event, error)) trackEndpoint {
	return trackEndpoint{name: name, path: path, withRequestID: true,
		accept: func(ws domain.Workspace, body []byte, now time.Time) (func(context.Context, *store.IdempotentResponse) error, error) {
			events, err := decode(body, now)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context, idem *store.IdempotentResponse) error {
				if idem != nil {
					intake.KeyedEvents(events, ws.ID, path, idem.Key, idem.CreatedAt)
				}
				if len(events) > 0 {
					res, err := s.Intake.Commit(ctx, intake.Request{WorkspaceID: ws.ID, ReceivedAt: s.Now(), Events: events})
					if err != nil {
						return fmt.Errorf("append %s events: %w", name, err)
					}
					s.metrics.ingestEvents.WithLabelValues(name, "accepted").Add(float64(res.Accepted()))
				}
				if idem != nil {
					if err := s.Intake.SaveResponse(ctx, ws.ID, *idem); err != nil {
						return err
					}
				}
				return nil
			}, nil
		}}
}

// handleTrack serves a trackEndpoint: POST /v1/event, /v1/transition, /v1/customer and /v1/device (SPEC §3.8–3.10,
// §13.3).
func (s *Server) handleTrack(ep trackEndpoint) func(http.ResponseWriter, *http.Request, domain.Workspace) {
	return func(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
		key, hasKey := r.Header.Get("Idempotency-Key"), len(r.Header.Values("Idempotency-Key")) > 0
		if !hasKey {
			s.serveTrack(w, r, ws, ep, nil)
			return
		}
		if !validIdempotencyKey(key) {
			s.writeIngestError(w, r, invalidParams("Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters"))
			return
		}
		now := s.Now()
		if s.replayStored(w, r, ws, ep, key, now) {
			return
		}
		release, claimed := s.Intake.ClaimKey(ws.ID, ep.path, key)
		if !claimed {
			s.writeIngestError(w, r, ingestError{409, "IdempotencyConflict", "Idempotency-Key", "A request with this Idempotency-Key is still being processed"})
			return
		}
		defer release()
		// The first request may have stored its response and released the key since the lookup above.
		if s.replayStored(w, r, ws, ep, key, now) {
			return
		}
		s.serveTrack(w, r, ws, ep, &store.IdempotentResponse{Endpoint: ep.path, Key: key, RequestID: requestID(r.Context()), CreatedAt: now})
	}
}

// replayStored writes the response stored for the key within its lifetime, and reports whether it did (or wrote
// the store's error).
func (s *Server) replayStored(w http.ResponseWriter, r *http.Request, ws domain.Workspace, ep trackEndpoint, key string, now time.Time) bool {
	stored, found, err := s.Intake.StoredResponse(r.Context(), ws.ID, ep.path, key, now)
	if err != nil {
		s.storeIngestError(w, r, err)
		return true
	}
	if found {
		w.Header().Set("X-Request-Id", stored.RequestID)
		writeRawJSON(w, stored.Status, stored.Body)
	}
	return found
}

// serveTrack validates and stores one request of ep; with idem set, the first non-5xx response is stored.
func (s *Server) serveTrack(w http.ResponseWriter, r *http.Request, ws domain.Workspace, ep trackEndpoint, idem *store.IdempotentResponse) {
	// respond writes a 4xx/200 response after save stored the request's data and, when there is a key, the
	// response itself.
	respond := func(status int, body []byte, save func(context.Context, *store.IdempotentResponse) error) {
		if idem != nil {
			idem.Status, idem.Body = status, body
		}
		if save != nil {
			if err := save(r.Context(), idem); err != nil {
				s.storeIngestError(w, r, err)
				return
			}
		} else if idem != nil {
			if err := s.Intake.SaveResponse(r.Context(), ws.ID, *idem); err != nil {
				s.storeIngestError(w, r, err)
				return
			}
		}
		writeRawJSON(w, status, body)
	}
	fail := func(e ingestError) {
		body, _ := json.Marshal(map[string]any{"status": "fail", "error": map[string]any{
			"attribute": e.Attribute, "message": e.Message, "type": e.Type, "request_id": requestID(r.Context()),
		}})
		respond(e.Status, body, nil)
	}
	if mediaType(r) != "application/json" {
		fail(errContentType)
		return
	}
	body, ok := s.readBodyOr(w, r, s.Config.MaxTrackBody, fail)
	if !ok {
		return
	}
	save, err := ep.accept(ws, body, s.Now())
	if err != nil {
		var te *ingest.TrackError
		var be *ingest.BodyError
		switch {
		case errors.As(err, &te):
			fail(ingestError{400, te.Type, te.Attribute, te.Message})
		case errors.As(err, &be):
			fail(ingestError{400, be.Type, be.Attribute, be.Message})
		default:
			s.storeIngestError(w, r, err)
		}
		return
	}
	var out []byte
	if ep.withRequestID {
		out, _ = json.Marshal(struct {
			Status    string `json:"status"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		}{"success", trackSuccessMessage, requestID(r.Context())})
	} else {
		out, _ = json.Marshal(struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}{"success", trackSuccessMessage})
	}
	respond(http.StatusOK, out, save)
}
