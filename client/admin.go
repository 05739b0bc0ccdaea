package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AdminPrefix is the path prefix of the admin API (SPEC §9.1).
const AdminPrefix = "/admin/v1"

// Workspace is the admin API's workspace object (SPEC §9.1). Keys are present only in create and rotate responses.
type Workspace struct {
	WorkspaceID        string  `json:"workspace_id"`
	Name               string  `json:"name"`
	Timezone           string  `json:"timezone"`
	Status             string  `json:"status"`
	RateLimitPerMinute int     `json:"rate_limit_per_minute"`
	CreatedAt          string  `json:"created_at"`
	DisabledAt         *string `json:"disabled_at"`
	ReportKey          string  `json:"report_key,omitempty"`
	DataKey            string  `json:"data_key,omitempty"`
}

// CreateWorkspaceRequest is the body of POST /admin/v1/workspaces; zero fields are omitted (server defaults).
type CreateWorkspaceRequest struct {
	Name               string `json:"name,omitempty"`
	Timezone           string `json:"timezone,omitempty"`
	WorkspaceID        string `json:"workspace_id,omitempty"`
	RateLimitPerMinute int    `json:"rate_limit_per_minute,omitempty"`
}

// Key names accepted by RotateKeys.
const (
	KeyReport = "report_key"
	KeyData   = "data_key"
)

func workspacePath(id string) string { return AdminPrefix + "/workspaces/" + url.PathEscape(id) }

func (c *Client) adminJSON(ctx context.Context, token, method, path string, in, out any) (*http.Response, error) {
	h := bearerHeader(token)
	var body []byte
	if in != nil {
		b, err := jsonBody(in)
		if err != nil {
			return nil, err
		}
		body = b
		h.Set("Content-Type", ContentTypeJSON)
	}
	return c.callJSON(ctx, method, path, h, body, out)
}

// CreateWorkspace creates a workspace (201); the result carries both keys.
func (c *Client) CreateWorkspace(ctx context.Context, adminToken string, req CreateWorkspaceRequest) (*Workspace, error) {
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodPost, AdminPrefix+"/workspaces", req, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// ListWorkspaces lists workspaces ordered by created_at; status "" lists all, else "active" or "disabled".
func (c *Client) ListWorkspaces(ctx context.Context, adminToken, status string) ([]Workspace, error) {
	p := AdminPrefix + "/workspaces"
	if status != "" {
		p += "?status=" + url.QueryEscape(status)
	}
	var out struct {
		Workspaces []Workspace `json:"workspaces"`
	}
	if _, err := c.adminJSON(ctx, adminToken, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	if out.Workspaces == nil {
		out.Workspaces = []Workspace{}
	}
	return out.Workspaces, nil
}

// GetWorkspace reads one workspace (no keys).
func (c *Client) GetWorkspace(ctx context.Context, adminToken, workspaceID string) (*Workspace, error) {
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodGet, workspacePath(workspaceID), nil, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// UpdateWorkspace PATCHes name and/or rate_limit_per_minute; nil fields are left out of the body.
func (c *Client) UpdateWorkspace(ctx context.Context, adminToken, workspaceID string, name *string, rateLimit *int) (*Workspace, error) {
	body := struct {
		Name               *string `json:"name,omitempty"`
		RateLimitPerMinute *int    `json:"rate_limit_per_minute,omitempty"`
	}{name, rateLimit}
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodPatch, workspacePath(workspaceID), body, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// DisableWorkspace disables a workspace (idempotent).
func (c *Client) DisableWorkspace(ctx context.Context, adminToken, workspaceID string) (*Workspace, error) {
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodPost, workspacePath(workspaceID)+"/disable", nil, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// EnableWorkspace re-enables a workspace (idempotent).
func (c *Client) EnableWorkspace(ctx context.Context, adminToken, workspaceID string) (*Workspace, error) {
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodPost, workspacePath(workspaceID)+"/enable", nil, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// RotateKeys replaces the named keys (KeyReport, KeyData); an empty list sends {} and the server rotates both.
// The result carries the new keys.
func (c *Client) RotateKeys(ctx context.Context, adminToken, workspaceID string, keys []string) (*Workspace, error) {
	var body any = struct{}{}
	if len(keys) > 0 {
		body = struct {
			Keys []string `json:"keys"`
		}{keys}
	}
	var w Workspace
	if _, err := c.adminJSON(ctx, adminToken, http.MethodPost, workspacePath(workspaceID)+"/rotate-keys", body, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// QuarantineQuery filters a quarantine listing; zero fields are not sent.
type QuarantineQuery struct {
	Since  time.Time // received_at >= Since
	Until  time.Time // received_at <= Until (server semantics)
	Reason string    // substring of reason
	Limit  int       // 1–1000, server default 100
	Cursor string    // next_cursor of the previous page
}

// QuarantineRecord is one quarantined event (SPEC §3.5). Listings omit Payload. Payload holds the JSON value the
// server sent (normally a JSON string with the exact text received); PayloadText unwraps it.
type QuarantineRecord struct {
	QuarantineID     string          `json:"quarantine_id"`
	WorkspaceID      string          `json:"workspace_id"`
	ReceivedAt       string          `json:"received_at"`
	RequestID        string          `json:"request_id"`
	Endpoint         string          `json:"endpoint"`
	Index            int             `json:"index"`
	EventUUID        string          `json:"event_uuid"`
	Reason           string          `json:"reason"`
	Payload          json.RawMessage `json:"payload,omitempty"`
	PayloadTruncated bool            `json:"payload_truncated,omitempty"`
}

// PayloadText returns the payload as text: the string value when the server sent a JSON string, else the raw JSON.
func (r QuarantineRecord) PayloadText() string {
	var s string
	if len(r.Payload) > 0 && r.Payload[0] == '"' && json.Unmarshal(r.Payload, &s) == nil {
		return s
	}
	return string(r.Payload)
}

// QuarantinePage is one page of a quarantine listing, newest first; NextCursor is nil on the last page.
type QuarantinePage struct {
	Items      []QuarantineRecord `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// ListQuarantine lists quarantine records of a workspace.
func (c *Client) ListQuarantine(ctx context.Context, adminToken, workspaceID string, q QuarantineQuery) (*QuarantinePage, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Reason != "" {
		v.Set("reason", q.Reason)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	p := workspacePath(workspaceID) + "/quarantine"
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	var out QuarantinePage
	if _, err := c.adminJSON(ctx, adminToken, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []QuarantineRecord{}
	}
	return &out, nil
}

// GetQuarantine reads one full record, payload included.
func (c *Client) GetQuarantine(ctx context.Context, adminToken, workspaceID, quarantineID string) (*QuarantineRecord, error) {
	var r QuarantineRecord
	if _, err := c.adminJSON(ctx, adminToken, http.MethodGet, workspacePath(workspaceID)+"/quarantine/"+url.PathEscape(quarantineID), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteQuarantine deletes one record (204).
func (c *Client) DeleteQuarantine(ctx context.Context, adminToken, workspaceID, quarantineID string) error {
	_, err := c.adminJSON(ctx, adminToken, http.MethodDelete, workspacePath(workspaceID)+"/quarantine/"+url.PathEscape(quarantineID), nil, nil)
	return err
}

// PurgeQuarantine deletes the records received before `before` and returns how many were deleted.
func (c *Client) PurgeQuarantine(ctx context.Context, adminToken, workspaceID string, before time.Time) (int, error) {
	if before.IsZero() {
		return 0, fmt.Errorf("campaignstats: PurgeQuarantine needs a non-zero time")
	}
	p := workspacePath(workspaceID) + "/quarantine?before=" + url.QueryEscape(before.UTC().Format(time.RFC3339Nano))
	var out struct {
		Deleted int `json:"deleted"`
	}
	if _, err := c.adminJSON(ctx, adminToken, http.MethodDelete, p, nil, &out); err != nil {
		return 0, err
	}
	return out.Deleted, nil
}
