package testserver

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestClickHouse starts two shards, checks that each answers and knows both as the cluster, and restarts one.
func TestClickHouse(t *testing.T) {
	c := StartClickHouse(t, 2)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, s := range c.Servers {
		q := "SELECT count() FROM system.clusters WHERE cluster = '" + ClickHouseClusterName + "'"
		resp, err := client.Get("http://" + s.HTTPAddr + "/?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(body)); resp.StatusCode != http.StatusOK || got != "2" {
			t.Fatalf("%s: shards in the cluster: %s %q", s.Addr, resp.Status, got)
		}
	}
	// A stopped server starts again with its data.
	c.Servers[1].Stop()
	c.Servers[1].Start()
}
