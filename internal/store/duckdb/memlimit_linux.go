package duckdb

import "syscall"

// totalRAM returns the machine's memory in bytes, or 0 when it cannot be read.
func totalRAM() uint64 {
	var info syscall.Sysinfo_t
	if err := syscall.Sysinfo(&info); err != nil {
		return 0
	}
	return uint64(info.Totalram) * uint64(max(info.Unit, 1))
}
