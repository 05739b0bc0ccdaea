//go:build !benchnaive

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The default build refuses --naive with a message naming the build tag, before starting anything.
func TestBenchNaiveNeedsBuildTag(t *testing.T) {
	for _, args := range [][]string{{"bench", "--naive", "--events", "10"}, {"bench-naive"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader("{}"), &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "go build -tags benchnaive ./cmd/campaignstats") || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}
