package duckdb

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMemoryLimitFor(t *testing.T) {
	const mib, gib = 1 << 20, 1 << 30
	tests := []struct {
		name        string
		totalRAM    uint64
		cgroupLimit string
		want        string
	}{
		{"large machine: the cap", 24 * gib, "", "320MB"},
		{"1 GiB: an eighth", 1 * gib, "", "134MB"},
		{"2 GiB: an eighth", 2 * gib, "", "268MB"},
		{"just under the cap", 2_559_999_999, "", "319MB"},
		{"at the cap", 2_560_000_000, "", "320MB"},
		{"256 MiB: the floor", 256 * mib, "", "64MB"},
		{"nothing known", 0, "", "320MB"},
		{"cgroup v2 without a limit", 1 * gib, "max\n", "134MB"},
		{"cgroup v2 limit below the RAM wins", 24 * gib, "536870912\n", "67MB"},
		{"cgroup v2 limit below the RAM, at the floor", 24 * gib, "268435456\n", "64MB"},
		{"cgroup v2 limit of 1.5 GiB", 24 * gib, "1610612736\n", "201MB"},
		{"cgroup limit above the RAM", 1 * gib, "8589934592\n", "134MB"},
		{"cgroup v1 without a limit", 1 * gib, "9223372036854771712\n", "134MB"},
		{"cgroup v1 limit just under 1<<60", 24 * gib, "1152921504606846975", "320MB"},
		{"cgroup limit 0", 1 * gib, "0\n", "134MB"},
		{"cgroup limit unreadable text", 1 * gib, "garbage", "134MB"},
		{"only the cgroup known", 0, "1073741824\n", "134MB"},
		{"only the cgroup known, no limit", 0, "max\n", "320MB"},
	}
	for _, tt := range tests {
		if got := memoryLimitFor(tt.totalRAM, tt.cgroupLimit); got != tt.want {
			t.Errorf("%s: memoryLimitFor(%d, %q) = %q, want %q", tt.name, tt.totalRAM, tt.cgroupLimit, got, tt.want)
		}
	}
}

// TestDefaultMemoryLimitOnThisMachine checks that a store opened without a memory limit runs with the one read from
// this machine, and that it is within the bounds.
func TestDefaultMemoryLimitOnThisMachine(t *testing.T) {
	limit := defaultMemoryLimit()
	t.Logf("total RAM %d bytes, cgroup limit %q: %s", totalRAM(), cgroupMemoryLimit(), limit)
	mb, err := strconv.ParseUint(strings.TrimSuffix(limit, "MB"), 10, 64)
	if err != nil || mb*1_000_000 < minDefaultMemoryLimit || mb*1_000_000 > maxDefaultMemoryLimit {
		t.Fatalf("defaultMemoryLimit() = %q, want whole MB within [%d, %d] bytes", limit, minDefaultMemoryLimit, maxDefaultMemoryLimit)
	}
	s, err := Open(t.Context(), "", Options{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	setting := func() string {
		var v string
		if err := conn.QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	opened := setting()
	if _, err := conn.ExecContext(t.Context(), "SET memory_limit = '"+limit+"'"); err != nil {
		t.Fatal(err)
	}
	if want := setting(); opened != want {
		t.Errorf("memory_limit of a store opened with none = %s, want %s (%s)", opened, want, limit)
	}
}
