// Package client is a Go client for the campaignstats HTTP API (SPEC §3, §5, §9.1).
//
// It uses only the standard library and never logs. Every method takes a context; there are no retries. Any
// response outside 2xx is returned as an *APIError that keeps the raw body, so callers (and tests) can assert exact
// error bodies.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultUserAgent is sent when WithUserAgent is not used.
const DefaultUserAgent = "campaignstats-go-client/1"

// DefaultTimeout is the overall per-request timeout of the *http.Client built by New when WithHTTPClient is not
// used. Pass a context deadline or your own *http.Client for anything else.
const DefaultTimeout = 5 * time.Minute

// Client talks to one campaignstats server. It is safe for concurrent use.
type Client struct {
	baseURL   string
	hc        *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// New returns a client for the server at baseURL (scheme, host, port and an optional path prefix, e.g.
// "http://localhost:8080"). A trailing slash is ignored.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		hc:        &http.Client{Timeout: DefaultTimeout},
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// WithHTTPClient makes the client send its requests through h (nil keeps the default).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.hc = h
		}
	}
}

// WithUserAgent sets the User-Agent header ("" keeps the default).
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// BaseURL returns the base URL the client was built with, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

type requestIDKey struct{}

// ContextWithRequestID returns a context whose requests carry the header X-Request-Id: id. The server reuses a valid
// id (SPEC §1.6), which lets a caller correlate its requests with server logs and error bodies.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// APIError is any non-2xx response. Body is kept raw, exactly as received.
type APIError struct {
	Status    int
	Body      []byte
	Header    http.Header
	RequestID string // X-Request-Id response header, else error.request_id of an ingest error body
}

// Error returns "campaignstats: HTTP <status> <text>: <body>" with the body shortened to 512 bytes.
func (e *APIError) Error() string {
	body := strings.TrimSpace(string(e.Body))
	if len(body) > 512 {
		cut := 512
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut] + "…"
	}
	text := http.StatusText(e.Status)
	if body == "" {
		return fmt.Sprintf("campaignstats: HTTP %d %s", e.Status, text)
	}
	return fmt.Sprintf("campaignstats: HTTP %d %s: %s", e.Status, text, body)
}

// ErrorBody is the {title, description, code} error shape of the Stats, Meta, Executions, report-definition and
// admin APIs (SPEC §5.1, §5.18).
type ErrorBody struct {
	Title       string  `json:"title"`
	Description *string `json:"description"`
	Code        string  `json:"code"`
}

// IngestErrorDetail is the "error" member of the ingest error envelope (SPEC §3.1, §3.11):
// {"status":"fail","error":{"attribute","message","type","request_id"}}.
type IngestErrorDetail struct {
	Attribute string `json:"attribute"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
}

// StatsError decodes the body as the {title, description, code} shape; nil when it is not that shape.
func (e *APIError) StatsError() *ErrorBody {
	var b ErrorBody
	if json.Unmarshal(e.Body, &b) != nil || (b.Code == "" && b.Title == "") {
		return nil
	}
	return &b
}

// IngestError decodes the body as the ingest error envelope; nil when it is not that shape.
func (e *APIError) IngestError() *IngestErrorDetail {
	var env struct {
		Status string             `json:"status"`
		Error  *IngestErrorDetail `json:"error"`
	}
	if json.Unmarshal(e.Body, &env) != nil || env.Error == nil {
		return nil
	}
	return env.Error
}

// Code returns the stable error code of a {title, description, code} body (SPEC §5.18), or "".
func (e *APIError) Code() string {
	if b := e.StatsError(); b != nil {
		return b.Code
	}
	return ""
}

// Message returns a human-readable reason from the body: the ingest envelope's error.message, else the
// description or title of a {title, description, code} body, else "".
func (e *APIError) Message() string {
	if d := e.IngestError(); d != nil {
		return d.Message
	}
	if b := e.StatsError(); b != nil {
		if b.Description != nil && *b.Description != "" {
			return *b.Description
		}
		return b.Title
	}
	return ""
}

// RetryAfter returns the Retry-After header (delay in seconds) of a 429 or 503 response; 0 when absent.
func (e *APIError) RetryAfter() time.Duration {
	v := strings.TrimSpace(e.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Body: body, Header: resp.Header, RequestID: resp.Header.Get("X-Request-Id")}
	if e.RequestID == "" {
		if d := e.IngestError(); d != nil {
			e.RequestID = d.RequestID
		}
	}
	return e
}

// Do sends an arbitrary request and returns the response (its body already read and closed), the body, and an
// error only for transport failures: any status, 2xx or not, is returned as is. path is appended to the base URL
// (e.g. "/v1/streams/abc?x=1"); an absolute http(s) URL is used unchanged. header values are copied onto the
// request (a "Host" entry sets the request's Host); User-Agent defaults to the client's. A nil body sends no body.
func (c *Client) Do(ctx context.Context, method, path string, header http.Header, body []byte) (*http.Response, []byte, error) {
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.baseURL + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("campaignstats: building request: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	for k, vs := range header {
		if strings.EqualFold(k, "Host") {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("campaignstats: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, data, fmt.Errorf("campaignstats: %s %s: reading response: %w", method, path, err)
	}
	return resp, data, nil
}

// call sends a request and turns a non-2xx status into *APIError.
func (c *Client) call(ctx context.Context, method, path string, header http.Header, body []byte) (*http.Response, []byte, error) {
	resp, data, err := c.Do(ctx, method, path, header, body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, data, newAPIError(resp, data)
	}
	return resp, data, nil
}

// callJSON is call plus decoding of a 2xx JSON body into out (skipped when out is nil).
func (c *Client) callJSON(ctx context.Context, method, path string, header http.Header, body []byte, out any) (*http.Response, error) {
	resp, data, err := c.call(ctx, method, path, header, body)
	if err != nil {
		return resp, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("campaignstats: decoding %s %s response (HTTP %d): %w", method, path, resp.StatusCode, err)
		}
	}
	return resp, nil
}

func basicHeader(user, password string) http.Header {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, password)
	return r.Header
}

func bearerHeader(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

// jsonBody marshals v; []byte and json.RawMessage are sent unchanged.
func jsonBody(v any) ([]byte, error) {
	switch b := v.(type) {
	case json.RawMessage:
		return b, nil
	case []byte:
		return b, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("campaignstats: encoding request body: %w", err)
	}
	return data, nil
}
