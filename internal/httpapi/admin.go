package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// workspaceJSON is the admin workspace object (SPEC §9.1); keys only when withKeys.
func workspaceJSON(ws domain.Workspace, withKeys bool) map[string]any {
	m := map[string]any{"workspace_id": ws.ID, "name": ws.Name, "timezone": ws.Timezone, "status": ws.Status,
		"rate_limit_per_minute": ws.RateLimitPerMinute, "created_at": rfc3339(ws.CreatedAt), "disabled_at": nil}
	if ws.DisabledAt != nil {
		m["disabled_at"] = rfc3339(*ws.DisabledAt)
	}
	if withKeys {
		m["report_key"], m["data_key"] = ws.ReportKey, ws.DataKey
	}
	return m
}

func quarantineJSON(q store.QuarantineRecord, withPayload bool) map[string]any {
	m := map[string]any{"quarantine_id": q.ID, "workspace_id": q.WorkspaceID, "received_at": rfc3339(q.ReceivedAt),
		"request_id": q.RequestID, "endpoint": q.Endpoint, "index": q.Index, "event_uuid": q.EventUUID, "reason": q.Reason,
		"payload_truncated": q.PayloadTruncated}
	if withPayload {
		m["payload"] = string(q.Payload)
	}
	return m
}

// adminInvalid maps a workspace validation error to a 400 body.
func adminInvalid(w http.ResponseWriter, err error) bool {
	var ie *workspace.InvalidError
	if !errors.As(err, &ie) {
		return false
	}
	writeAPIError(w, invalidField("invalid_field_value", ie.Error()))
	return true
}

// admin routes /admin/v1/… (SPEC §9.1).
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	if s.Config.AdminToken == "" {
		writeAPIError(w, apiNotFound)
		return
	}
	scheme, token, found := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || // the scheme is case-insensitive (RFC 9110 §11.1)
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.Config.AdminToken)) != 1 {
		writeAPIError(w, apiAdminToken)
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/admin/v1/"), "/"), "/")
	if parts[0] != "workspaces" {
		writeAPIError(w, apiNotFound)
		return
	}
	// Workspace and quarantine ids are 24 lowercase hex (SPEC §2.1, §3.5): any other value is unknown, answered
	// before the store sees it (SPEC §12.14).
	if len(parts) >= 2 && !validHexID(parts[1]) || len(parts) == 4 && !validHexID(parts[3]) {
		writeAPIError(w, adminNotFound)
		return
	}
	switch len(parts) {
	case 1:
		s.adminWorkspaces(w, r)
	case 2:
		s.adminWorkspace(w, r, parts[1])
	case 3:
		switch parts[2] {
		case "disable", "enable":
			if r.Method != http.MethodPost {
				methodNotAllowed(w, http.MethodPost)
				return
			}
			ws, err := s.Workspaces.SetActive(r.Context(), parts[1], parts[2] == "enable")
			if err != nil {
				s.storeAPIError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, workspaceJSON(ws, false))
		case "rotate-keys":
			s.adminRotate(w, r, parts[1])
		case "quarantine":
			s.adminQuarantineList(w, r, parts[1])
		default:
			writeAPIError(w, apiNotFound)
		}
	case 4:
		if parts[2] != "quarantine" {
			writeAPIError(w, apiNotFound)
			return
		}
		s.adminQuarantineItem(w, r, parts[1], parts[3])
	default:
		writeAPIError(w, apiNotFound)
	}
}

func (s *Server) adminWorkspaces(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		status := r.URL.Query().Get("status")
		if status != "" && status != domain.WorkspaceActive && status != domain.WorkspaceDisabled {
			writeAPIError(w, invalidField("invalid_field_value", "status - must be one of active, disabled"))
			return
		}
		list, err := s.Store.ListWorkspaces(r.Context(), status)
		if err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, ws := range list {
			out = append(out, workspaceJSON(ws, false))
		}
		writeJSON(w, http.StatusOK, map[string]any{"workspaces": out})
	case http.MethodPost:
		body, ok := readAPIBody(w, r)
		if !ok {
			return
		}
		f, ok := parseObject(body)
		if !ok {
			writeAPIError(w, invalidField("malformed_json", "request body - could not be parsed as a JSON object"))
			return
		}
		var req workspace.CreateRequest
		name, e := f.requiredString("name")
		if e != nil {
			writeAPIError(w, *e)
			return
		}
		req.Name = name
		// A given timezone or workspace_id is validated as given: "" is neither a zone nor an id (null is absent).
		for _, k := range []struct {
			name     string
			dst      *string
			validate func(string) error
		}{{"timezone", &req.Timezone, workspace.ValidateTimezone}, {"workspace_id", &req.WorkspaceID, workspace.ValidateID}} {
			if f.present(k.name) {
				if err := json.Unmarshal(f[k.name], k.dst); err != nil {
					writeAPIError(w, invalidField("invalid_type", k.name+" - must be a string"))
					return
				}
				if adminInvalid(w, k.validate(*k.dst)) {
					return
				}
			}
		}
		if f.present("rate_limit_per_minute") {
			n, e := f.optionalInt("rate_limit_per_minute", 0, 1, 100000, "must be an integer", "must be an integer between 1 and 100000")
			if e != nil {
				writeAPIError(w, *e)
				return
			}
			req.RateLimitPerMinute = &n
		}
		ws, err := s.Workspaces.Create(r.Context(), req)
		if errors.Is(err, domain.ErrAlreadyExists) {
			writeAPIError(w, apiError{409, "Conflict", desc("workspace_id - already exists"), "already_exists"})
			return
		}
		if err != nil {
			if !adminInvalid(w, err) {
				s.storeAPIError(w, r, err)
			}
			return
		}
		writeJSON(w, http.StatusCreated, workspaceJSON(ws, true))
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost)
	}
}

func (s *Server) adminWorkspace(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet:
		ws, err := s.Store.Workspace(r.Context(), id)
		if err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, workspaceJSON(ws, false))
	case http.MethodPatch:
		body, ok := readAPIBody(w, r)
		if !ok {
			return
		}
		f, ok := parseObject(body)
		if !ok {
			writeAPIError(w, invalidField("malformed_json", "request body - could not be parsed as a JSON object"))
			return
		}
		var name *string
		var limit *int
		if f.present("name") {
			n, e := f.requiredString("name")
			if e != nil {
				writeAPIError(w, *e)
				return
			}
			name = &n
		}
		if f.present("rate_limit_per_minute") {
			n, e := f.optionalInt("rate_limit_per_minute", 0, 1, 100000, "must be an integer", "must be an integer between 1 and 100000")
			if e != nil {
				writeAPIError(w, *e)
				return
			}
			limit = &n
		}
		ws, err := s.Workspaces.Update(r.Context(), id, name, limit)
		if err != nil {
			if !adminInvalid(w, err) {
				s.storeAPIError(w, r, err)
			}
			return
		}
		writeJSON(w, http.StatusOK, workspaceJSON(ws, false))
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPatch)
	}
}

func (s *Server) adminRotate(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	body, ok := readAPIBody(w, r)
	if !ok {
		return
	}
	var keys []string
	if len(strings.TrimSpace(string(body))) > 0 {
		f, ok := parseObject(body)
		if !ok {
			writeAPIError(w, invalidField("malformed_json", "request body - could not be parsed as a JSON object"))
			return
		}
		if f.present("keys") {
			if err := json.Unmarshal(f["keys"], &keys); err != nil {
				writeAPIError(w, invalidField("invalid_type", "keys - must be an array of strings"))
				return
			}
		}
	}
	ws, err := s.Workspaces.Rotate(r.Context(), id, keys)
	if err != nil {
		if !adminInvalid(w, err) {
			s.storeAPIError(w, r, err)
		}
		return
	}
	writeJSON(w, http.StatusOK, workspaceJSON(ws, true))
}

// adminNotFound is the admin API's answer for an unknown workspace or quarantine record (as storeAPIError's).
var adminNotFound = notFound("Not found.")

// plainText reports whether a query value is valid UTF-8 without control characters (C0, DEL, C1).
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// cursorText reports whether a quarantine cursor can be one the server produced: cursors are opaque, but always
// printable ASCII without spaces.
func cursorText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func parseRFC3339(w http.ResponseWriter, name, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		writeAPIError(w, invalidField("invalid_field_value", name+" - must be an RFC 3339 time"))
		return t, false
	}
	return t, true
}

func (s *Server) adminQuarantineList(w http.ResponseWriter, r *http.Request, id string) {
	if _, err := s.Store.Workspace(r.Context(), id); err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		var f store.QuarantineFilter
		var ok bool
		if f.Since, ok = parseRFC3339(w, "since", q.Get("since")); !ok {
			return
		}
		if f.Until, ok = parseRFC3339(w, "until", q.Get("until")); !ok {
			return
		}
		f.Reason, f.Cursor, f.Limit = q.Get("reason"), q.Get("cursor"), 100
		if !plainText(f.Reason) {
			writeAPIError(w, invalidField("invalid_field_value", "reason - must be UTF-8 text without control characters"))
			return
		}
		if !cursorText(f.Cursor) {
			writeAPIError(w, invalidField("invalid_field_value", "cursor - is not valid"))
			return
		}
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 1000 {
				writeAPIError(w, invalidField("invalid_field_value", "limit - must be an integer between 1 and 1000"))
				return
			}
			f.Limit = n
		}
		items, next, err := s.Store.ListQuarantine(r.Context(), id, f)
		if errors.Is(err, domain.ErrConflict) {
			writeAPIError(w, invalidField("invalid_field_value", "cursor - is not valid"))
			return
		}
		if err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(items))
		for _, it := range items {
			out = append(out, quarantineJSON(it, false))
		}
		var nextCursor any
		if next != "" {
			nextCursor = next
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": out, "next_cursor": nextCursor})
	case http.MethodDelete:
		before, ok := parseRFC3339(w, "before", q.Get("before"))
		if !ok {
			return
		}
		if before.IsZero() {
			writeAPIError(w, invalidField("missing_field", "before - is required"))
			return
		}
		n, err := s.Store.PurgeQuarantine(r.Context(), id, before)
		if err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deleted": n})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodDelete)
	}
}

func (s *Server) adminQuarantineItem(w http.ResponseWriter, r *http.Request, id, qid string) {
	switch r.Method {
	case http.MethodGet:
		rec, err := s.Store.GetQuarantine(r.Context(), id, qid)
		if err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, quarantineJSON(rec, true))
	case http.MethodDelete:
		if err := s.Store.DeleteQuarantine(r.Context(), id, qid); err != nil {
			s.storeAPIError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodDelete)
	}
}
