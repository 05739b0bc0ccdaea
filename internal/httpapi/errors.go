package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{}`)
	}
	writeRawJSON(w, status, body)
}

func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// ingestError is the error envelope of the ingest family (SPEC §3.1, §3.11).
type ingestError struct {
	Status    int
	Type      string
	Attribute string
	Message   string
}

// Ingest-family errors of SPEC §3.11.
var (
	errAuthHeaderRequired = ingestError{401, "Authentication required", "Authorization", "Authentication Header Required"}
	errNoIdentity         = ingestError{401, "Authentication required", "Authorization", "No identity information found"}
	errInvalidAppID       = ingestError{401, "Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header"}
	errAppKeyMismatch     = ingestError{409, "Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication"}
	errDataKeyMismatch    = ingestError{401, "Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace"}
	errSuspended          = ingestError{403, "Account Suspended", "APP_ID", "Workspace is disabled"}
	errContentType        = ingestError{415, "MediaTypeError", "Content-Type", "Content type is not supported"}
	errContentEncoding    = ingestError{415, "MediaTypeError", "Content-Encoding", "Content encoding is not supported"}
	errEmptyBody          = ingestError{400, "Empty request body", "body", "Request body is empty"}
	errBadGzip            = ingestError{400, "Malformed JSON", "body", "Could not decompress the gzip request body"}
	errBadJSON            = ingestError{400, "Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."}
	errUnknownCampaign    = ingestError{404, "NotFound", "campaign_id", "campaign_id is not known in this workspace"}
	errNoEndpoint         = ingestError{404, "NotFound", "path", "No such endpoint"}
	errMethod             = ingestError{405, "MethodNotAllowed", "method", "Method not allowed"}
	errServer             = ingestError{500, "ServerError", "server", "An unexpected error was encountered while processing this request"}
	errUnavailable        = ingestError{503, "ServiceUnavailable", "server", "The service is unavailable; retry later"}
)

func invalidParams(attr, msg string) ingestError { return ingestError{400, "InvalidParams", attr, msg} }

func (s *Server) writeIngestError(w http.ResponseWriter, r *http.Request, e ingestError) {
	writeJSON(w, e.Status, map[string]any{"status": "fail", "error": map[string]any{
		"attribute": e.Attribute, "message": e.Message, "type": e.Type, "request_id": requestID(r.Context()),
	}})
}

// storeIngestError maps a store failure to 503 (unavailable) or 500, logging the cause once.
func (s *Server) storeIngestError(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err)
	if store.Unavailable(err) || errors.Is(err, errShuttingDown) {
		s.writeIngestError(w, r, errUnavailable)
		return
	}
	s.writeIngestError(w, r, errServer)
}

// apiError is the {title, description, code} error of the Stats, Meta, Executions, reports and admin APIs
// (SPEC §5.1, §5.18). A nil Description encodes as null.
type apiError struct {
	Status      int
	Title       string
	Description *string
	Code        string
}

func desc(s string) *string { return &s }

// API-family errors of SPEC §5.2 and §5.18.
var (
	apiAuthHeaderRequired = apiError{401, "Authentication required", desc("Authentication Header Required"), "auth_header_required"}
	apiAppKeyMissing      = apiError{401, "Authentication required", desc("MOE-APPKEY missing in Authentication Header"), "appkey_missing"}
	apiAuthInvalid        = apiError{401, "Authentication required", desc("No identity information found."), "auth_header_invalid"}
	apiAppKeyMismatch     = apiError{401, "Authentication required", desc("MOE-APPKEY does not match the workspace in Authentication Header"), "appkey_mismatch"}
	apiInvalidCredentials = apiError{401, "Authentication required", desc("Invalid identity information found."), "invalid_credentials"}
	apiDisabled           = apiError{403, "Forbidden Request", nil, "workspace_disabled"}
	apiAdminToken         = apiError{401, "Unauthorized", desc("Missing or invalid admin bearer token."), "admin_token_invalid"}
	apiNotFound           = apiError{404, "Not Found", desc("No such endpoint."), "not_found"}
	apiMethod             = apiError{405, "Method Not Allowed", desc("Method not allowed."), "method_not_allowed"}
	apiTooLarge           = apiError{413, "Payload Too Large", desc("Request body exceeds 1 MiB."), "payload_too_large"}
	apiInternal           = apiError{500, "Server Error", desc("An unexpected error was encountered while processing this request."), "internal_error"}
	apiUnavailable        = apiError{503, "Service Unavailable", desc("The service is unavailable; retry later."), "unavailable"}
)

// invalidField is a 400 validation error; the code follows SPEC §5.3's pattern.
func invalidField(code, description string) apiError {
	return apiError{400, "Invalid Field Value", desc(description), code}
}

func notFound(what string) apiError {
	return apiError{404, "Not Found", desc(what), "not_found"}
}

func writeAPIError(w http.ResponseWriter, e apiError) {
	writeJSON(w, e.Status, map[string]any{"title": e.Title, "description": e.Description, "code": e.Code})
}

// allow names the methods a route serves in the Allow header, which every 405 carries (RFC 9110 §15.5.6).
func allow(w http.ResponseWriter, methods ...string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
}

// methodNotAllowed answers 405 in the API error shape with the route's methods in Allow.
func methodNotAllowed(w http.ResponseWriter, methods ...string) {
	allow(w, methods...)
	writeAPIError(w, apiMethod)
}

// storeAPIError maps a store failure to 404, 503 or 500, logging unexpected causes once.
func (s *Server) storeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, domain.ErrNotFound):
		writeAPIError(w, notFound("Not found."))
	case store.Unavailable(err), errors.Is(err, errShuttingDown):
		s.logError(r, err)
		writeAPIError(w, apiUnavailable)
	default:
		s.logError(r, err)
		writeAPIError(w, apiInternal)
	}
}
