package report

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPublicAddressSpecialPurpose: the SSRF guard refuses every IANA special-purpose range that is not globally
// reachable (SPEC §12.9), including IPv4 ones reached through IPv4-mapped, NAT64 or 6to4 IPv6 addresses, and
// accepts ordinary public addresses next to them.
func TestPublicAddressSpecialPurpose(t *testing.T) {
	for addr, public := range map[string]bool{
		// Carrier-grade NAT (cloud metadata at 100.100.100.200 on some providers).
		"100.64.0.0": false, "100.100.100.200": false, "100.127.255.255": false,
		"100.63.255.255": true, "100.128.0.0": true,
		// Benchmarking.
		"198.18.0.1": false, "198.19.255.255": false, "198.17.255.255": true, "198.20.0.0": true,
		// "This network", IETF protocol assignments, documentation.
		"0.0.0.0": false, "0.255.255.255": false, "192.0.0.8": false, "192.0.0.170": false, "192.0.1.1": true,
		"192.0.2.1": false, "198.51.100.7": false, "203.0.113.200": false, "203.0.114.1": true, "198.51.101.1": true,
		// Reserved and limited broadcast.
		"240.0.0.1": false, "250.1.2.3": false, "255.255.255.254": false, "255.255.255.255": false, "239.255.255.255": false,
		"223.255.255.255": true,
		// The ranges netip already classifies.
		"127.0.0.1": false, "10.0.0.1": false, "172.16.0.1": false, "192.168.0.1": false, "169.254.169.254": false,
		"224.0.0.1": false,
		// IPv4-mapped IPv6 (::ffff:0:0/96) is judged as IPv4.
		"::ffff:100.100.100.200": false, "::ffff:198.18.0.1": false, "::ffff:192.0.2.1": false, "::ffff:10.1.1.1": false,
		"::ffff:127.0.0.1": false, "::ffff:8.8.8.8": true,
		// NAT64 (64:ff9b::/96) embeds the IPv4 address in its last 32 bits; the local-use prefix is never public.
		"64:ff9b::7f00:1": false, "64:ff9b::a00:1": false, "64:ff9b::6464:64c8": false, "64:ff9b::c612:1": false,
		"64:ff9b::a9fe:a9fe": false, "64:ff9b::808:808": true, "64:ff9b:1::808:808": false,
		// 6to4 (2002::/16) embeds it in bits 16–47.
		"2002:7f00:1::1": false, "2002:a9fe:a9fe::1": false, "2002:0808:0808::1": true,
		// IPv6 special-purpose ranges.
		"2001:db8::1": false, "2001:db8:ffff::1": false, "2001::1": false, "2001:2::1": false, "2001:10::1": false,
		"100::1": false, "3fff::1": false, "5f00::1": false, "fec0::1": false, "::1": false, "::": false,
		"::8.8.8.8": false, "fc00::1": false, "fd00:ec2::254": false, "fe80::1": false, "ff02::1": false,
		// Public IPv6.
		"2001:4860:4860::8888": true, "2606:4700:4700::1111": true, "2a00:1450:4001:80b::200e": true,
		// Public IPv4.
		"8.8.8.8": true, "1.1.1.1": true, "172.32.0.1": true, "100.0.0.1": true, "11.0.0.1": true,
	} {
		if got := PublicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddress(%s) = %t, want %t", addr, got, public)
		}
	}
	// An invalid address is never public.
	if PublicAddress(netip.Addr{}) {
		t.Error("PublicAddress(zero Addr) = true")
	}
}

// TestWebhookLogsOriginOnly: a failed delivery is logged with scheme://host[:port] of the webhook URL only; its
// path and query (which often carry tokens) appear neither in the log nor in the outcome's error.
func TestWebhookLogsOriginOnly(t *testing.T) {
	bad := newReceiver(t, 500)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close() // nothing listens there: connection refused
	const secret = "s3cr3t-T0KEN"
	cases := []struct {
		name, target, origin string
		allowPrivate         bool
	}{
		{"HTTP 500", bad.srv.URL + "/hooks/" + secret + "?token=" + secret, bad.srv.URL, true},
		{"connection refused", "http://" + deadAddr + "/x/" + secret + "?sig=" + secret + "#" + secret, "http://" + deadAddr, true},
		{"address refused", bad.srv.URL + "/" + secret + "?k=" + secret, bad.srv.URL, false},
		{"user info", "http://" + secret + "@example.com/" + secret, "http://example.com", false},
		{"invalid URL", "http://exa mple.com/" + secret, "(invalid URL)", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			clock := &fakeClock{now: time.Unix(1741586404, 0)}
			n := NewWebhookNotifier(testSender(clock, c.allowPrivate), &statusRecorder{status: map[string]string{}},
				slog.New(slog.NewJSONHandler(&logs, nil)), prometheus.NewRegistry())
			ws, rep, run := specRun()
			rep.Definition.WebhookURL = c.target
			n.RunFinished(context.Background(), ws, rep, run)
			n.Wait()
			n.Close()
			out := logs.String()
			if !strings.Contains(out, "webhook delivery failed") {
				t.Fatalf("no failure logged: %s", out)
			}
			if strings.Contains(out, secret) {
				t.Fatalf("the log holds the URL's secret parts: %s", out)
			}
			if !strings.Contains(out, `"target":"`+c.origin+`"`) {
				t.Fatalf("the log lacks target %q: %s", c.origin, out)
			}
			o := testSender(clock, c.allowPrivate).Deliver(context.Background(), c.target, "key", []byte(`{}`))
			if o.Err == nil || strings.Contains(o.Err.Error(), secret) {
				t.Fatalf("outcome error %v", o.Err)
			}
			if c.name == "address refused" && !errors.Is(o.Err, ErrWebhookAddressRefused) {
				t.Fatalf("the refusal is no longer recognisable: %v", o.Err)
			}
		})
	}
}
