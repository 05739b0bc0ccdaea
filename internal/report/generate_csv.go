package report

import (
	"strconv"
	"strings"
)

// csvEncoder encodes CSV records per SPEC §8.6: the chosen separator, `\n` line ends, and a field quoted with `"`
// (inner `"` doubled) only when it contains the separator, `"`, `\r` or `\n`. Text is written as given (UTF-8, no
// BOM).
type csvEncoder struct {
	sep byte
}

func newCSVEncoder(separator string) csvEncoder {
	sep := byte(',')
	if len(separator) == 1 {
		sep = separator[0]
	}
	return csvEncoder{sep: sep}
}

// appendRecord appends one record and its line end to dst.
func (e csvEncoder) appendRecord(dst []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, e.sep)
		}
		dst = e.appendField(dst, f)
	}
	return append(dst, '\n')
}

func (e csvEncoder) appendField(dst []byte, f string) []byte {
	if !strings.ContainsAny(f, "\"\r\n") && strings.IndexByte(f, e.sep) < 0 {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, f[i])
	}
	return append(dst, '"')
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
