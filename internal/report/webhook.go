package report

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Run webhooks (SPEC §8.11, §12.9).

// WebhookEvent is the event name of run webhooks.
const WebhookEvent = "report.run.finished"

// DefaultWebhookRetries are the delays before the three retries of a failed delivery (SPEC §8.11).
var DefaultWebhookRetries = []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}

// ErrWebhookAddressRefused is the error of a delivery whose host resolves to an address the SSRF guard refuses
// (loopback, private, link-local, unspecified, multicast and the other special-purpose ranges that are not
// globally reachable; SPEC §12.9, see PublicAddress). Such deliveries are not retried.
var ErrWebhookAddressRefused = errors.New("webhook: destination address refused")

// WebhookConfig configures NewWebhookSender.
type WebhookConfig struct {
	// Timeout bounds each attempt (--webhook-timeout); 0 means 10 s.
	Timeout time.Duration
	// AllowPrivate lifts the SSRF guard (--allow-private-webhooks): for trusted networks and tests.
	AllowPrivate bool
	// UserAgent is sent as User-Agent; "" means "campaignstats/dev". Pass "campaignstats/<version>".
	UserAgent string
	// Retries are the delays before each retry; nil means DefaultWebhookRetries.
	Retries []time.Duration
	// Sleep waits d or until ctx ends (tests inject a fake); nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now gives the X-Campaignstats-Timestamp of each attempt; nil means time.Now.
	Now func() time.Time
	// NewDeliveryID returns the X-Campaignstats-Delivery value; nil means a random UUID (version 4).
	NewDeliveryID func() string
}

// WebhookSender delivers signed webhook requests.
type WebhookSender struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhookSender returns a sender. Its HTTP client uses no proxy, follows no redirects, and — unless
// AllowPrivate — refuses to connect to any address PublicAddress rejects (loopback, private, link-local,
// unspecified, multicast, carrier-grade NAT, documentation, benchmarking, reserved, …). The check runs on the
// address actually dialed, after DNS resolution, so a name cannot be re-pointed between a check and the
// connection.
func NewWebhookSender(cfg WebhookConfig) *WebhookSender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "campaignstats/dev"
	}
	if cfg.Retries == nil {
		cfg.Retries = DefaultWebhookRetries
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewDeliveryID == nil {
		cfg.NewDeliveryID = newUUID
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = guardDial
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, around the guard
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &WebhookSender{cfg: cfg, client: client}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// guardDial refuses connections to addresses a webhook must not reach (SPEC §12.9). It runs for every address
// the dialer tries, with the resolved IP.
func guardDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrWebhookAddressRefused, address)
	}
	if !PublicAddress(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrWebhookAddressRefused, ap.Addr())
	}
	return nil
}

// nonPublicPrefixes are the IANA special-purpose ranges (IPv4 and IPv6 Special-Purpose Address Registries) that
// are not globally reachable, besides those netip classifies (loopback, RFC 1918 and fc00::/7, link-local,
// multicast, unspecified). A webhook must not reach any of them: carrier-grade NAT space hosts cloud metadata
// services on some providers (100.100.100.200), the others are reserved, documentation or benchmarking space.
var nonPublicPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8",       // "this network" (RFC 791)
		"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
		"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",    // documentation, TEST-NET-1 (RFC 5737)
		"198.18.0.0/15",   // benchmarking (RFC 2544)
		"198.51.100.0/24", // documentation, TEST-NET-2 (RFC 5737)
		"203.0.113.0/24",  // documentation, TEST-NET-3 (RFC 5737)
		"240.0.0.0/4",     // reserved (RFC 1112), including 255.255.255.255, limited broadcast
		"::/96",           // IPv4-compatible addresses (deprecated, RFC 4291), with :: and ::1
		"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation (RFC 8215)
		"100::/64",        // discard-only (RFC 6666)
		"2001::/23",       // IETF protocol assignments (RFC 2928): Teredo, benchmarking 2001:2::/48, ORCHID
		"2001:db8::/32",   // documentation (RFC 3849)
		"3fff::/20",       // documentation (RFC 9637)
		"5f00::/16",       // segment routing SIDs (RFC 9602)
		"fec0::/10",       // site-local (deprecated, RFC 3879)
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// Prefixes whose addresses embed an IPv4 address, judged by that address.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // IPv4/IPv6 translation (RFC 6052): the last 32 bits
	sixToFour   = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056): bits 16–47
)

// PublicAddress reports whether a webhook may connect to ip (SPEC §12.9): not loopback, private (RFC 1918,
// fc00::/7), link-local (169.254.0.0/16, fe80::/10), unspecified, multicast, nor any other special-purpose range
// that is not globally reachable (nonPublicPrefixes: carrier-grade NAT 100.64.0.0/10, benchmarking
// 198.18.0.0/15, documentation, reserved 240.0.0.0/4, broadcast, …). IPv4-mapped IPv6 addresses (::ffff:0:0/96)
// are judged as IPv4, and so are the IPv4 addresses embedded in NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// addresses.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip.IsUnspecified():
		return false
	case nat64Prefix.Contains(ip):
		b := ip.As16()
		return PublicAddress(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		b := ip.As16()
		return PublicAddress(netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// webhookOrigin returns scheme://host[:port] of a webhook URL, the only part of it that is logged: paths and
// queries of webhook URLs often carry tokens.
func webhookOrigin(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// WebhookPayload is the body of SPEC §8.11, members in that order. Members that do not apply (a FAILED run has no
// file) are null.
type WebhookPayload struct {
	Event        string  `json:"event"`
	WorkspaceID  string  `json:"workspace_id"`
	ReportID     string  `json:"report_id"`
	ReportName   string  `json:"report_name"`
	RunID        string  `json:"run_id"`
	Status       string  `json:"status"`
	Filename     *string `json:"filename"`
	Size         *int64  `json:"size"`
	SHA256       *string `json:"sha256"`
	Rows         *int64  `json:"rows"`
	CreatedAt    string  `json:"created_at"`
	FinishedAt   *string `json:"finished_at"`
	ExpiresAt    *string `json:"expires_at"`
	Error        *string `json:"error"`
	DownloadPath *string `json:"download_path"`
}

// rfc3339UTC formats a timestamp as SPEC §1.6: UTC, Z, fractional seconds only when non-zero.
func rfc3339UTC(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// NewWebhookPayload describes a finished run.
func NewWebhookPayload(ws domain.Workspace, rep Report, run Run) WebhookPayload {
	p := WebhookPayload{Event: WebhookEvent, WorkspaceID: ws.ID, ReportID: run.ReportID, ReportName: rep.Definition.Name,
		RunID: run.ID, Status: run.Status, CreatedAt: rfc3339UTC(run.CreatedAt)}
	if run.FinishedAt != nil {
		s := rfc3339UTC(*run.FinishedAt)
		p.FinishedAt = &s
	}
	if run.Error != "" {
		e := run.Error
		p.Error = &e
	}
	if run.Status == store.RunSuccessful && run.Filename != "" {
		name, size, sum, rows := run.Filename, run.Size, run.SHA256, run.Rows
		path := "/campaign_reports/rest_api/" + ws.ID + "/" + name
		p.Filename, p.Size, p.SHA256, p.Rows, p.DownloadPath = &name, &size, &sum, &rows, &path
		if run.ExpiresAt != nil {
			s := rfc3339UTC(*run.ExpiresAt)
			p.ExpiresAt = &s
		}
	}
	return p
}

// WebhookSignature returns the X-Campaignstats-Signature value: "v1=" + lowercase hex HMAC-SHA256, keyed with the
// workspace report_key, of "<timestamp>.<body>".
func WebhookSignature(key string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookOutcome is the result of one delivery (all its attempts).
type WebhookOutcome struct {
	DeliveryID string
	Delivered  bool
	Attempts   int
	// StatusCode is the HTTP status of the last attempt (0 when it got no response).
	StatusCode int
	// Err is the reason of the last failed attempt; nil when delivered.
	Err error
}

// Deliver POSTs body to target, signed with key, retrying a network error, timeout or non-2xx answer after each
// of the configured delays (each attempt re-signed with a fresh timestamp, one delivery id for all). A refused
// address or an invalid URL is not retried. It returns when delivered, out of retries, or ctx ended.
func (s *WebhookSender) Deliver(ctx context.Context, target, key string, body []byte) WebhookOutcome {
	out := WebhookOutcome{DeliveryID: s.cfg.NewDeliveryID()}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		out.Err = errors.New("webhook: invalid URL (an absolute http or https URL without user info is required)")
		return out
	}
	for attempt := 0; ; attempt++ {
		out.Attempts++
		out.StatusCode, out.Err = s.attempt(ctx, target, key, out.DeliveryID, body)
		if out.Err == nil {
			out.Delivered = true
			return out
		}
		if errors.Is(out.Err, ErrWebhookAddressRefused) || attempt >= len(s.cfg.Retries) || ctx.Err() != nil {
			return out
		}
		if err := s.cfg.Sleep(ctx, s.cfg.Retries[attempt]); err != nil {
			return out
		}
	}
}

// attempt sends one signed request.
func (s *WebhookSender) attempt(ctx context.Context, target, key, deliveryID string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("webhook: invalid URL")
	}
	ts := s.cfg.Now().Unix()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", s.cfg.UserAgent)
	h.Set("X-Campaignstats-Event", WebhookEvent)
	h.Set("X-Campaignstats-Delivery", deliveryID)
	h.Set("X-Campaignstats-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Campaignstats-Signature", WebhookSignature(key, ts, body))
	resp, err := s.client.Do(req)
	if err != nil {
		// A *url.Error quotes the whole URL, tokens included: keep only its origin (the cause stays wrapped, so
		// errors.Is still finds ErrWebhookAddressRefused).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("webhook: %s %s: %w", ue.Op, webhookOrigin(target), ue.Err)
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// WebhookStatusRecorder records a run's webhook outcome; store.Reports implements it.
type WebhookStatusRecorder interface {
	SetRunWebhookStatus(ctx context.Context, runID, status string) error
}

// WebhookNotifier is the RunObserver that sends run webhooks: for every finished run of a report with a
// webhook_url it delivers the payload in the background and records "delivered" or "failed". Close abandons
// deliveries still waiting for a retry (their status stays "pending").
type WebhookNotifier struct {
	sender     *WebhookSender
	status     WebhookStatusRecorder
	logger     *slog.Logger
	deliveries *prometheus.CounterVec
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// NewWebhookNotifier returns a notifier. reg, when not nil, receives
// campaignstats_webhook_deliveries_total{result="delivered|failed"}; logger may be nil.
func NewWebhookNotifier(sender *WebhookSender, status WebhookStatusRecorder, logger *slog.Logger, reg prometheus.Registerer) *WebhookNotifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &WebhookNotifier{sender: sender, status: status, logger: logger,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_webhook_deliveries_total",
			Help: "Report run webhook deliveries by final result (after retries)."}, []string{"result"})}
	for _, result := range []string{"delivered", "failed"} { // listed at 0 before the first delivery
		n.deliveries.WithLabelValues(result)
	}
	if reg != nil {
		reg.MustRegister(n.deliveries)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n
}

var _ RunObserver = (*WebhookNotifier)(nil)

// RunFinished starts the delivery of a run's webhook; it does not block.
func (n *WebhookNotifier) RunFinished(_ context.Context, ws domain.Workspace, rep Report, run Run) {
	target := rep.Definition.WebhookURL
	if target == "" {
		return
	}
	body, err := json.Marshal(NewWebhookPayload(ws, rep, run))
	if err != nil {
		n.logger.Error("webhook payload", "run_id", run.ID, "error", err.Error())
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		out := n.sender.Deliver(n.ctx, target, ws.ReportKey, body)
		if n.ctx.Err() != nil && !out.Delivered {
			return // shutting down: the status stays pending
		}
		status, result := store.WebhookDelivered, "delivered"
		if !out.Delivered {
			status, result = store.WebhookFailed, "failed"
			n.logger.Warn("webhook delivery failed", "workspace_id", ws.ID, "run_id", run.ID, "delivery", out.DeliveryID,
				"target", webhookOrigin(target), "attempts", out.Attempts, "status", out.StatusCode, "error", out.Err.Error())
		}
		n.deliveries.WithLabelValues(result).Inc()
		if err := n.status.SetRunWebhookStatus(context.WithoutCancel(n.ctx), run.ID, status); err != nil {
			n.logger.Error("webhook status", "run_id", run.ID, "error", err.Error())
		}
	}()
}

// Close stops waiting retries and waits for deliveries in flight to end.
func (n *WebhookNotifier) Close() {
	n.cancel()
	n.wg.Wait()
}

// Wait waits for every started delivery to end (tests).
func (n *WebhookNotifier) Wait() { n.wg.Wait() }
