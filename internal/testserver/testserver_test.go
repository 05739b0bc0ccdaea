package testserver

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWeedBinaryFromEnvironment(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "weed-custom")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(WeedEnv, bin)
	if got := WeedBinary(); got != bin {
		t.Fatalf("WeedBinary() = %q, want %q", got, bin)
	}
}

func TestWeedBinaryFromCache(t *testing.T) {
	cache := t.TempDir()
	bin := filepath.Join(cache, "campaignstats", "weed")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(WeedEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("PATH", t.TempDir())
	if got := WeedBinary(); got != bin {
		t.Fatalf("WeedBinary() = %q, want %q", got, bin)
	}
}

func TestRedisRestart(t *testing.T) {
	addr, p := Redis(t)
	p = RestartRedis(t, p)
	if p.Exited() {
		t.Fatal("restarted redis-server exited")
	}
	if err := pingRedis(t.Context(), addr); err != nil {
		t.Fatal(err)
	}
}
