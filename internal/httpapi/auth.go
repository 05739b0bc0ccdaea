package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// validHexID reports whether s has the form of the server's generated ids — workspace, report, run and quarantine
// ids are all 24 lowercase hex characters (SPEC §2.1, §3.5, §8.2). Anything else names nothing that exists, so
// the handlers answer it as unknown before it reaches the store: a malformed identifier (invalid UTF-8, control
// characters) is never a store error (SPEC §12.14).
func validHexID(s string) bool { return workspace.ValidID(s) }

// basicCredentials parses an HTTP Basic Authorization value; ok is false when it is not Basic, not base64 or has
// no ':'.
func basicCredentials(h string) (user, pass string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// keyEqual compares a presented key with the stored one in constant time.
func keyEqual(presented, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(presented), []byte(stored)) == 1 && stored != ""
}

// workspaceByID loads a workspace; found is false for unknown ids, err is set for store failures. A value that is
// not a workspace id at all (SPEC §2.1: 24 lowercase hex; e.g. a Basic username with invalid UTF-8 or control
// characters) is unknown without asking the store (SPEC §12.14).
func (s *Server) workspaceByID(ctx context.Context, id string) (ws domain.Workspace, found bool, err error) {
	if !validHexID(id) {
		return ws, false, nil
	}
	ws, err = s.Store.Workspace(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return ws, false, nil
	}
	if err != nil {
		return ws, false, fmt.Errorf("load workspace: %w", err)
	}
	return ws, true, nil
}

// ingestAuth applies the authentication rows of SPEC §3.11 in order; ok is false when a response was written.
func (s *Server) ingestAuth(w http.ResponseWriter, r *http.Request) (domain.Workspace, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		s.writeIngestError(w, r, errAuthHeaderRequired)
		return domain.Workspace{}, false
	}
	user, pass, ok := basicCredentials(h)
	if !ok {
		s.writeIngestError(w, r, errNoIdentity)
		return domain.Workspace{}, false
	}
	ws, found, err := s.workspaceByID(r.Context(), user)
	if err != nil {
		s.storeIngestError(w, r, err)
		return ws, false
	}
	if !found {
		s.writeIngestError(w, r, errInvalidAppID)
		return ws, false
	}
	if r.PathValue("workspace_id") != user {
		s.writeIngestError(w, r, errAppKeyMismatch)
		return ws, false
	}
	if !keyEqual(pass, ws.DataKey) {
		s.writeIngestError(w, r, errDataKeyMismatch)
		return ws, false
	}
	info(r.Context()).workspaceID = ws.ID
	if !ws.Active() {
		s.writeIngestError(w, r, errSuspended)
		return ws, false
	}
	return ws, true
}

// ingestRoute wraps an ingest-family handler with authentication.
func (s *Server) ingestRoute(_ string, h func(http.ResponseWriter, *http.Request, domain.Workspace)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, ok := s.ingestAuth(w, r)
		if !ok {
			return
		}
		s.admit(w, r, func(w http.ResponseWriter, r *http.Request) { h(w, r, ws) })
	}
}

// apiAuth applies SPEC §5.2 in order. requireAppKey is false for the report-definition API (§8.1).
func (s *Server) apiAuth(w http.ResponseWriter, r *http.Request, requireAppKey bool) (domain.Workspace, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeAPIError(w, apiAuthHeaderRequired)
		return domain.Workspace{}, false
	}
	// An empty value (surrounding whitespace is ignored, §5.1) is no header, as for Authorization above.
	appKey := strings.TrimSpace(r.Header.Get("MOE-APPKEY"))
	if requireAppKey && appKey == "" {
		writeAPIError(w, apiAppKeyMissing)
		return domain.Workspace{}, false
	}
	user, pass, ok := basicCredentials(h)
	if !ok {
		writeAPIError(w, apiAuthInvalid)
		return domain.Workspace{}, false
	}
	if requireAppKey && appKey != user {
		writeAPIError(w, apiAppKeyMismatch)
		return domain.Workspace{}, false
	}
	ws, found, err := s.workspaceByID(r.Context(), user)
	if err != nil {
		s.storeAPIError(w, r, err)
		return ws, false
	}
	if !found || !keyEqual(pass, ws.ReportKey) {
		writeAPIError(w, apiInvalidCredentials)
		return ws, false
	}
	info(r.Context()).workspaceID = ws.ID
	if !ws.Active() {
		writeAPIError(w, apiDisabled)
		return ws, false
	}
	return ws, true
}

// rateLimit applies SPEC §5.4 for a family, setting the RateLimit-* headers; ok is false when 429 (or, when the
// limiter could not decide, 503) was written.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, ws domain.Workspace, family string) bool {
	d, err := s.Limiter.Allow(r.Context(), ws.ID+"/"+family, ws.RateLimitPerMinute)
	if err != nil {
		s.Logger.Error("rate limit check failed", "request_id", requestID(r.Context()), "route", info(r.Context()).route,
			"error", err.Error())
		writeAPIError(w, apiUnavailable)
		return false
	}
	h := w.Header()
	h.Set("RateLimit-Limit", fmt.Sprint(d.Limit))
	h.Set("RateLimit-Remaining", fmt.Sprint(d.Remaining))
	h.Set("RateLimit-Reset", fmt.Sprint(d.Reset))
	if d.Allowed {
		return true
	}
	retry := max(d.Reset, 1)
	h.Set("Retry-After", fmt.Sprint(retry))
	s.metrics.rateLimited.WithLabelValues(family).Inc()
	writeAPIError(w, apiError{http.StatusTooManyRequests, "Too Many Requests",
		desc(fmt.Sprintf("Rate limit of %d requests per minute exceeded for this workspace. Retry after %d seconds.", d.Limit, retry)),
		"rate_limited"})
	return false
}
