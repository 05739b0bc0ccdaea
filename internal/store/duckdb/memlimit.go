package duckdb

import (
	"os"
	"strconv"
	"strings"
)

// The memory limit Open sets when Options.MemoryLimit is empty is an eighth of the memory available to the process,
// within these bounds, in DuckDB's units (its MB is 10^6 bytes).
const (
	// maxDefaultMemoryLimit is the default on machines with 2.56 GB or more, and where the memory cannot be read:
	// it is what the 10M-event bench's bound of 1 GiB of peak RSS allows (the server peaked at 1,166 MiB with a
	// 512 MB limit and at 1,549 MiB with 1 GB; docs/benchmarks.md).
	maxDefaultMemoryLimit = 320_000_000
	// minDefaultMemoryLimit is the default on machines with 512 MB or less; past the limit DuckDB spills to its
	// temporary directory.
	minDefaultMemoryLimit = 64_000_000
)

// The files that hold the process's cgroup memory limit: cgroup v2's memory.max ("max" when there is none), else
// cgroup v1's memory.limit_in_bytes (a number near 1<<63 when there is none).
const (
	cgroupV2MemoryMax = "/sys/fs/cgroup/memory.max"
	cgroupV1MemoryMax = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// defaultMemoryLimit is the memory limit for this machine (memoryLimitFor).
func defaultMemoryLimit() string {
	return memoryLimitFor(totalRAM(), cgroupMemoryLimit())
}

// memoryLimitFor returns DuckDB's memory_limit for a machine with totalRAM bytes of memory (0: unknown) in a cgroup
// whose memory limit file reads cgroupLimit ("": none read): an eighth of the smaller of the two, at least
// minDefaultMemoryLimit and at most maxDefaultMemoryLimit, rounded down to whole MB; maxDefaultMemoryLimit when
// neither is known. A cgroupLimit that is not a number ("max"), is 0, or is 1<<60 or more means no limit.
func memoryLimitFor(totalRAM uint64, cgroupLimit string) string {
	available := totalRAM
	if n, err := strconv.ParseUint(strings.TrimSpace(cgroupLimit), 10, 64); err == nil && n > 0 && n < 1<<60 &&
		(available == 0 || n < available) {
		available = n
	}
	limit := uint64(maxDefaultMemoryLimit)
	if available > 0 {
		limit = min(max(available/8, minDefaultMemoryLimit), maxDefaultMemoryLimit)
	}
	return strconv.FormatUint(limit/1_000_000, 10) + "MB"
}

// cgroupMemoryLimit returns the text of the process's cgroup memory limit file (v2, else v1), or "" when neither can
// be read (no cgroup, or not Linux).
func cgroupMemoryLimit() string {
	for _, name := range []string{cgroupV2MemoryMax, cgroupV1MemoryMax} {
		if b, err := os.ReadFile(name); err == nil {
			return string(b)
		}
	}
	return ""
}
