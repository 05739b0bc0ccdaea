package client

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// WithNodes spreads the client's requests over several nodes of one deployment, as a load balancer in front of
// them would: each request goes to the next of nodeURLs in turn (their scheme and host replace the base URL's).
// Empty or unparsable URLs are ignored; with none left the option changes nothing.
func WithNodes(nodeURLs ...string) Option {
	return func(c *Client) {
		rr := &roundRobin{}
		for _, n := range nodeURLs {
			if u, err := url.Parse(strings.TrimSpace(n)); err == nil && u.Host != "" {
				rr.nodes = append(rr.nodes, u)
			}
		}
		if len(rr.nodes) == 0 {
			return
		}
		hc := *c.hc
		rr.base = hc.Transport
		if rr.base == nil {
			rr.base = http.DefaultTransport
		}
		hc.Transport = rr
		c.hc = &hc
	}
}

// roundRobin sends each request to the next node in turn.
type roundRobin struct {
	nodes []*url.URL
	next  atomic.Uint64
	base  http.RoundTripper
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	n := r.nodes[(r.next.Add(1)-1)%uint64(len(r.nodes))]
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = n.Scheme, n.Host, ""
	return r.base.RoundTrip(req)
}
