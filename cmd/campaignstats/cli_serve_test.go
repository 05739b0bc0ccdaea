package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// `serve -h` lists the flags with their defaults and how the environment sets them, and starts nothing; an unknown
// flag is a usage error that names it.
func TestServeHelp(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "-h"}, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if code != exitOK || out.Len() != 0 {
		t.Fatalf("serve -h: exit %d, stdout %q", code, out.String())
	}
	for _, want := range []string{"usage: campaignstats serve", "-addr", `(default ":8080")`, "-data-dir", "CAMPAIGNSTATS_DATA_DIR"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("serve -h does not mention %q:\n%s", want, errb.String())
		}
	}
	errb.Reset()
	code = run(context.Background(), []string{"serve", "--no-such-flag"}, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("serve --no-such-flag: exit %d, stderr %q", code, errb.String())
	}
}
