package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// StreamsResult is the 200 body of the Streams endpoint (SPEC §3.4).
type StreamsResult struct {
	Status     string         `json:"status"`
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Rejected   int            `json:"rejected"`
	Errors     []StreamsError `json:"errors"`
}

// StreamsError is one rejected event: Index is the 0-based position in `events`, or for NDJSON the 0-based line
// number counting every line of the body, blank lines included.
type StreamsError struct {
	Index     int    `json:"index"`
	EventUUID string `json:"event_uuid"`
	Message   string `json:"message"`
}

// Content types accepted by the Streams endpoint (SPEC §3.2).
const (
	ContentTypeJSON   = "application/json"
	ContentTypeNDJSON = "application/x-ndjson"
)

// IngestStreams posts body to POST /v1/streams/{workspaceID} with Basic workspaceID:dataKey. contentType is sent as
// Content-Type ("" means application/json). When compress is true the body is gzip-compressed and sent with
// Content-Encoding: gzip. A 200 is decoded into StreamsResult; anything else is an *APIError.
func (c *Client) IngestStreams(ctx context.Context, workspaceID, dataKey, contentType string, body []byte, compress bool) (*StreamsResult, error) {
	h := basicHeader(workspaceID, dataKey)
	if contentType == "" {
		contentType = ContentTypeJSON
	}
	h.Set("Content-Type", contentType)
	if compress {
		gz, err := Gzip(body)
		if err != nil {
			return nil, err
		}
		body = gz
		h.Set("Content-Encoding", "gzip")
	}
	var out StreamsResult
	if _, err := c.callJSON(ctx, http.MethodPost, "/v1/streams/"+url.PathEscape(workspaceID), h, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// IngestEvents sends events (any JSON-marshalable values; json.RawMessage elements are sent verbatim) as one Streams
// batch envelope {"events":[...]} with Content-Type application/json, uncompressed. A nil slice sends "events": [].
func (c *Client) IngestEvents(ctx context.Context, workspaceID, dataKey string, events []any) (*StreamsResult, error) {
	if events == nil {
		events = []any{}
	}
	body, err := json.Marshal(struct {
		Events []any `json:"events"`
	}{events})
	if err != nil {
		return nil, fmt.Errorf("campaignstats: encoding events: %w", err)
	}
	return c.IngestStreams(ctx, workspaceID, dataKey, ContentTypeJSON, body, false)
}

// Gzip compresses data with gzip at the default level.
func Gzip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("campaignstats: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("campaignstats: gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// TrackResult is the success body of Track Event and Bulk Import (SPEC §3.8).
type TrackResult struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// TrackEvent posts a raw Track Event body to POST /v1/event/{workspaceID} (SPEC §3.8) as application/json.
// idempotencyKey, when not "", is sent as the Idempotency-Key header (SPEC §3.10).
func (c *Client) TrackEvent(ctx context.Context, workspaceID, dataKey string, body []byte, idempotencyKey string) (*TrackResult, error) {
	return c.track(ctx, "/v1/event/", workspaceID, dataKey, body, idempotencyKey)
}

// BulkImport posts a raw Bulk Import body to POST /v1/transition/{workspaceID} (SPEC §3.9), like TrackEvent.
func (c *Client) BulkImport(ctx context.Context, workspaceID, dataKey string, body []byte, idempotencyKey string) (*TrackResult, error) {
	return c.track(ctx, "/v1/transition/", workspaceID, dataKey, body, idempotencyKey)
}

func (c *Client) track(ctx context.Context, prefix, workspaceID, dataKey string, body []byte, idempotencyKey string) (*TrackResult, error) {
	h := basicHeader(workspaceID, dataKey)
	h.Set("Content-Type", ContentTypeJSON)
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	var out TrackResult
	if _, err := c.callJSON(ctx, http.MethodPost, prefix+url.PathEscape(workspaceID), h, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func campaignPath(workspaceID, campaignID string) string {
	return "/v1/campaigns/" + url.PathEscape(workspaceID) + "/" + url.PathEscape(campaignID)
}

// PutCampaign writes the explicit details of one campaign: PUT /v1/campaigns/{workspaceID}/{campaignID}
// (SPEC §3.12). body is marshalled to JSON ([]byte and json.RawMessage are sent verbatim). It returns the status
// (201 created, 200 replaced) and the effective campaign as raw JSON.
func (c *Client) PutCampaign(ctx context.Context, workspaceID, dataKey, campaignID string, body any) (int, json.RawMessage, error) {
	data, err := jsonBody(body)
	if err != nil {
		return 0, nil, err
	}
	h := basicHeader(workspaceID, dataKey)
	h.Set("Content-Type", ContentTypeJSON)
	resp, out, err := c.call(ctx, http.MethodPut, campaignPath(workspaceID, campaignID), h, data)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, json.RawMessage(out), nil
}

// GetCampaign reads back the effective campaign: GET /v1/campaigns/{workspaceID}/{campaignID} (SPEC §3.12).
func (c *Client) GetCampaign(ctx context.Context, workspaceID, dataKey, campaignID string) (json.RawMessage, error) {
	_, out, err := c.call(ctx, http.MethodGet, campaignPath(workspaceID, campaignID), basicHeader(workspaceID, dataKey), nil)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(out), nil
}

// FunnelEntry is one delivery-funnel entry (SPEC §3.13); PostFunnel accepts it, a slice of it, or any other JSON.
type FunnelEntry struct {
	Date      string           `json:"date"`
	Platform  string           `json:"platform,omitempty"`
	Locale    string           `json:"locale,omitempty"`
	Variation string           `json:"variation,omitempty"`
	Stages    map[string]int64 `json:"stages"`
}

// PostFunnel posts funnel entries (one object or an array; []byte and json.RawMessage are sent verbatim) to
// POST /v1/campaigns/{workspaceID}/{campaignID}/funnel (SPEC §3.13) and returns `accepted`.
func (c *Client) PostFunnel(ctx context.Context, workspaceID, dataKey, campaignID string, entries any) (int, error) {
	data, err := jsonBody(entries)
	if err != nil {
		return 0, err
	}
	h := basicHeader(workspaceID, dataKey)
	h.Set("Content-Type", ContentTypeJSON)
	var out struct {
		Accepted int `json:"accepted"`
	}
	if _, err := c.callJSON(ctx, http.MethodPost, campaignPath(workspaceID, campaignID)+"/funnel", h, data, &out); err != nil {
		return 0, err
	}
	return out.Accepted, nil
}
