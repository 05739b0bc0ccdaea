package main

import (
	"bytes"
	"context"
	"errors"
	"os"
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

// TLS files that cannot be read or do not hold a key pair are invalid configuration (SPEC §10.2): a one-line error
// and exit code 2, before the store is opened or the address listened on.
func TestServeRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := dir + "/garbage.pem"
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, files := range [][2]string{{garbage, garbage}, {dir, dir}, {dir + "/missing.pem", dir + "/missing.key"}} {
		data := t.TempDir() + "/data"
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--tls-cert", files[0], "--tls-key", files[1]},
			func(string) string { return "" }, strings.NewReader(""), &out, &errb)
		if code != exitUsage || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 || !strings.Contains(errb.String(), "TLS files") {
			t.Errorf("%v: exit %d, stderr %q", files, code, errb.String())
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: the data directory was created (%v)", files, err)
		}
	}
}
