package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/config"
)

const heldOpenEnv = "CAMPAIGNSTATS_TEST_HOLD_STORE"

func storeConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.DuckDBMemoryLimit, cfg.DuckDBThreads = "512MB", 1
	return cfg
}

// TestOpenStoreCorruptFile: a damaged database file is reported as what it is, not as "held by another process"
// (DuckDB's corruption error names the damaged "block", which contains "lock").
func TestOpenStoreCorruptFile(t *testing.T) {
	ctx := context.Background()
	for name, corrupt := range map[string]func(b []byte) []byte{
		// Damage every block after the file and database headers: the checksum of the first block read fails.
		"damaged blocks": func(b []byte) []byte {
			for i := 3 * 4096; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			return b
		},
		"not a database": func([]byte) []byte { return []byte("this file is not a database; it is a block of text\n") },
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "blocks-and-locks") // a path mentioning locks must not matter either
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			st, err := OpenStores(ctx, storeConfig(dir), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			path := filepath.Join(dir, DBFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, corrupt(b), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err = OpenStores(ctx, storeConfig(dir), time.Now)
			if err == nil {
				st.Close()
				t.Fatal("a corrupt database file opened")
			}
			msg := err.Error()
			if strings.Contains(msg, "held by another process") {
				t.Fatalf("corruption reported as a lock: %s", msg)
			}
			if !strings.Contains(msg, "Corrupt database file") && !strings.Contains(msg, "not a valid DuckDB database file") {
				t.Fatalf("the cause is not named: %s", msg)
			}
		})
	}
}

// TestOpenStoreHeldByAnotherProcess: the lock conflict itself still gets the explanatory message. A child process
// (this test binary) opens the store and holds it.
func TestOpenStoreHeldByAnotherProcess(t *testing.T) {
	if dir := os.Getenv(heldOpenEnv); dir != "" {
		st, err := OpenStores(context.Background(), storeConfig(dir), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
		time.Sleep(30 * time.Second) // killed by the parent long before
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenStoreHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), heldOpenEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child process did not open the store")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := OpenStores(context.Background(), storeConfig(dir), time.Now)
	if err == nil {
		st.Close()
		t.Fatal("opened a store another process holds")
	}
	if !strings.Contains(err.Error(), "is held by another process") {
		t.Fatalf("lock conflict not explained: %v", err)
	}
}

func TestIsLockConflict(t *testing.T) {
	for msg, want := range map[string]bool{
		`IO Error: Could not set lock on file "/d/campaignstats.duckdb": Conflicting lock is held in /bin/x (PID 7)`:   true,
		`IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 0 in block at location 0`: false,
		`IO Error: The file "/var/lock/campaignstats.duckdb" exists, but it is not a valid DuckDB database file!`:      false,
	} {
		if got := isLockConflict(errString(msg)); got != want {
			t.Errorf("isLockConflict(%q) = %v, want %v", msg, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
