package jsonscan

import (
	"errors"
	"math"
)

// ErrInvalidTime is returned by ParseTime and ParseTimeString for values that are not a valid epoch or ISO-8601
// time (SPEC §3.7).
var ErrInvalidTime = errors.New("not a valid epoch or ISO-8601 time")

// msThreshold: numeric values above it are epoch milliseconds, others epoch seconds (SPEC §3.7).
const msThreshold = 100_000_000_000

// ParseTime parses a time value per SPEC §3.7 from raw JSON text (a number or a string, surrounding JSON white
// space allowed) and returns Unix milliseconds. Numbers above 1e11 are milliseconds, others seconds; fractions
// below a millisecond are truncated; zero and negative values are invalid. Strings hold either such a number
// (digits with an optional fraction) or an ISO-8601 date-time (with or without offset; without offset means UTC) or
// a date (00:00:00 UTC). Any other value is ErrInvalidTime.
func ParseTime(raw []byte) (int64, error) {
	b := raw
	i := SkipWS(b, 0)
	j := len(b)
	for j > i && IsWS(b[j-1]) {
		j--
	}
	b = b[i:j]
	if len(b) == 0 {
		return 0, ErrInvalidTime
	}
	switch c := b[0]; {
	case c == '"':
		if end, _ := skipString(b, 0); end != len(b) {
			return 0, ErrInvalidTime
		}
		return parseTimeBytes(Unquote(b))
	case c == '-' || (c >= '0' && c <= '9'):
		if SkipNumber(b, 0) != len(b) {
			return 0, ErrInvalidTime
		}
		return numericMS(b)
	}
	return 0, ErrInvalidTime
}

// ParseTimeString is ParseTime for an already unquoted string value.
func ParseTimeString(s string) (int64, error) { return parseTimeBytes([]byte(s)) }

func parseTimeBytes(s []byte) (int64, error) {
	if len(s) == 0 {
		return 0, ErrInvalidTime
	}
	if IsEpochString(s) {
		return numericMS(s)
	}
	return parseISO(s)
}

// IsEpochString reports whether the text s of a string time value is an epoch number under SPEC §3.7, rather than
// an ISO-8601 time: [0-9]+(\.[0-9]+)?.
func IsEpochString(s []byte) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	j := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i > j && i == len(s)
}

// numericMS applies the numeric rule of §3.7 to a valid JSON number or digit string.
func numericMS(s []byte) (int64, error) {
	// Fast path: a plain integer of at most 18 digits.
	if len(s) > 0 && len(s) <= 18 && isDigits(s) {
		var v int64
		for _, c := range s {
			v = v*10 + int64(c-'0')
		}
		switch {
		case v == 0:
			return 0, ErrInvalidTime
		case v > msThreshold:
			return v, nil
		}
		return v * 1000, nil
	}
	d, ok := parseBounded(s)
	if !ok || d.IsZero() || d.neg {
		return 0, ErrInvalidTime
	}
	point := int(d.exp)
	if point > 18 { // the integer part has more than 18 digits: beyond any representable instant
		return 0, ErrInvalidTime
	}
	// Integer part and the first three fraction digits.
	var ip uint64
	for k := 0; k < point; k++ {
		ip *= 10
		if k < len(d.digits) {
			ip += uint64(d.digits[k] - '0')
		}
	}
	hasFrac := len(d.digits) > point // trailing zeros were stripped, so any remaining fraction digit is non-zero
	if ip > msThreshold || (ip == msThreshold && hasFrac) {
		if ip > math.MaxInt64 {
			return 0, ErrInvalidTime
		}
		return int64(ip), nil
	}
	var ms uint64
	for k := point; k < point+3; k++ {
		ms *= 10
		if k >= 0 && k < len(d.digits) {
			ms += uint64(d.digits[k] - '0')
		}
	}
	return int64(ip*1000 + ms), nil
}

// parseISO parses YYYY-MM-DD, or YYYY-MM-DD{T|t| }hh:mm[:ss[.fraction]][Z|z|±hh:mm|±hhmm|±hh].
func parseISO(s []byte) (int64, error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, ErrInvalidTime
	}
	y, ok1 := atoiN(s[0:4])
	mo, ok2 := atoiN(s[5:7])
	d, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, ErrInvalidTime
	}
	days := daysFromCivil(y, mo, d)
	if len(s) == 10 {
		return days * 86_400_000, nil
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, ErrInvalidTime
	}
	r := s[11:]
	if len(r) < 5 || r[2] != ':' {
		return 0, ErrInvalidTime
	}
	hh, ok1 := atoiN(r[0:2])
	mm, ok2 := atoiN(r[3:5])
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return 0, ErrInvalidTime
	}
	r = r[5:]
	ss, frac := 0, 0
	if len(r) > 0 && r[0] == ':' {
		if len(r) < 3 {
			return 0, ErrInvalidTime
		}
		var ok bool
		if ss, ok = atoiN(r[1:3]); !ok || ss > 59 {
			return 0, ErrInvalidTime
		}
		r = r[3:]
		if len(r) > 0 && r[0] == '.' {
			k := 1
			for k < len(r) && isDigit(r[k]) {
				if k <= 3 {
					frac = frac*10 + int(r[k]-'0')
				}
				k++
			}
			if k == 1 {
				return 0, ErrInvalidTime
			}
			for n := k; n <= 3; n++ { // pad to milliseconds
				frac *= 10
			}
			r = r[k:]
		}
	}
	offset := 0 // seconds east of UTC
	switch {
	case len(r) == 0:
	case len(r) == 1 && (r[0] == 'Z' || r[0] == 'z'):
	case r[0] == '+' || r[0] == '-':
		var oh, om int
		var ok bool
		switch len(r) {
		case 3: // ±hh
			oh, ok = atoiN(r[1:3])
		case 5: // ±hhmm
			oh, ok = atoiN(r[1:3])
			if ok {
				om, ok = atoiN(r[3:5])
			}
		case 6: // ±hh:mm
			if r[3] == ':' {
				oh, ok = atoiN(r[1:3])
				if ok {
					om, ok = atoiN(r[4:6])
				}
			}
		}
		if !ok || oh > 23 || om > 59 {
			return 0, ErrInvalidTime
		}
		offset = oh*3600 + om*60
		if r[0] == '-' {
			offset = -offset
		}
	default:
		return 0, ErrInvalidTime
	}
	sec := days*86400 + int64(hh*3600+mm*60+ss) - int64(offset)
	return sec*1000 + int64(frac), nil
}

// atoiN parses a fixed-width run of ASCII digits.
func atoiN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= -1 here (4-digit years), so floor division equals truncation except for y == -1
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if !isDigit(c) {
			return false
		}
	}
	return len(s) > 0
}
