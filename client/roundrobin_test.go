package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestWithNodesAlternates checks that requests go to each node in turn, bodies included.
func TestWithNodesAlternates(t *testing.T) {
	var hits [2]atomic.Int32
	var bodies [2]atomic.Int64
	nodes := make([]string, 2)
	for i := range nodes {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			n, _ := r.Body.Read(make([]byte, 64))
			bodies[i].Add(int64(n))
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		nodes[i] = srv.URL
	}
	c := New("http://unused.invalid", WithNodes(nodes...))
	for i := 0; i < 6; i++ {
		if _, _, err := c.Do(context.Background(), http.MethodPost, "/x", nil, []byte("abc")); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0].Load() != 3 || hits[1].Load() != 3 || bodies[0].Load() != 9 || bodies[1].Load() != 9 {
		t.Fatalf("hits %d/%d, body bytes %d/%d; want 3/3 and 9/9", hits[0].Load(), hits[1].Load(), bodies[0].Load(), bodies[1].Load())
	}
}
