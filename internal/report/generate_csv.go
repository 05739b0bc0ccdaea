package report

import (
	"strconv"
	"strings"
)

// csvEncoder encodes CSV records per SPEC §8.6: the chosen separator, `\n` line ends, and a field quoted with `"`
// (inner `"` doubled) only when it contains the separator, `"`, `\r` or `\n`. Text is written as given (UTF-8, no
// BOM).
//
// With formulaGuard, text passed through text() that a spreadsheet would evaluate as a formula — it starts with
// =, +, -, @, a tab or a carriage return — gets a leading single quote, as OWASP recommends against CSV
// injection. Callers pass identity cells (ids, names, tags, locales, variations, goal names) through text() and
// numeric cells never, so a negative number such as an uplift of -100 stays a number.
type csvEncoder struct {
	sep          byte
	formulaGuard bool
}

func newCSVEncoder(separator string, formulaGuard bool) csvEncoder {
	sep := byte(',')
	if len(separator) == 1 {
		sep = separator[0]
	}
	return csvEncoder{sep: sep, formulaGuard: formulaGuard}
}

// text returns a text cell as it is written: unchanged, or with a leading single quote when the formula guard is
// on and the cell starts with a formula trigger.
func (e csvEncoder) text(s string) string {
	if !e.formulaGuard || s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// texts applies text to each cell of cells, in place, and returns cells.
func (e csvEncoder) texts(cells []string) []string {
	if e.formulaGuard {
		for i, c := range cells {
			cells[i] = e.text(c)
		}
	}
	return cells
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
