package app

import (
	"net"
	"testing"

	"github.com/campaignstats/campaignstats/internal/config"
)

func TestDashboardURL(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"0.0.0.0:8080", false, "http://localhost:8080/ui/"},
		{"[::]:8080", false, "http://localhost:8080/ui/"},
		{"127.0.0.1:18080", false, "http://127.0.0.1:18080/ui/"},
		{"[::1]:443", true, "https://[::1]:443/ui/"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		if tc.tls {
			cfg.TLSCert = "cert.pem"
		}
		if got := dashboardURL(cfg, addr); got != tc.want {
			t.Errorf("%s (tls %t): %s, want %s", tc.addr, tc.tls, got, tc.want)
		}
	}
}
