package app

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/campaignstats/campaignstats/internal/config"
)

// servePprof serves Go's runtime profiles on addr, a listener of its own so that the profiles are never exposed on
// the API's address.
func (s *Server) servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on --pprof-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.pprof.Serve(ln)
	s.logger.Info("serving runtime profiles", "addr", ln.Addr().String())
	return nil
}

// dashboardURL is the dashboard's address as a browser on this machine reaches it.
func dashboardURL(cfg config.Config, addr net.Addr) string {
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	host := "localhost"
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	port := "80"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(tcp.Port)
	}
	return fmt.Sprintf("%s://%s/ui/", scheme, net.JoinHostPort(host, port))
}
