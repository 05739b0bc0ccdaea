//go:build !linux

package duckdb

// totalRAM returns 0: the machine's memory is read on Linux only.
func totalRAM() uint64 { return 0 }
