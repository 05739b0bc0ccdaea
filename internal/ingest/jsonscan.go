package ingest

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small, allocation-free JSON scanner. It validates JSON text with the grammar of RFC 8259 (the
// same grammar encoding/json accepts) and walks objects and arrays member by member, handing out the exact byte
// spans of values. Decoding a Streams event this way reads each byte a small, fixed number of times and never builds
// maps or interface values, which is what makes the ingest path fast. UTF-8 validity is checked once per body by the
// caller (utf8.Valid), not here.

// maxDepth bounds nesting like encoding/json does, so hostile input cannot exhaust the stack.
const maxDepth = 10000

// strSafe[c] is true for bytes that may appear unescaped inside a JSON string and need no special handling.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// isWS reports whether c is JSON insignificant whitespace.
func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// validJSON reports whether b holds exactly one JSON value surrounded by optional whitespace.
func validJSON(b []byte) bool {
	i := skipWS(b, 0)
	end := skipValue(b, i, 0)
	return end >= 0 && skipWS(b, end) == len(b)
}

// skipValue validates the value starting at b[i] and returns the index just after it, or -1 when invalid.
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{':
		return skipObject(b, i, depth+1)
	case '[':
		return skipArray(b, i, depth+1)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(b, i)
		}
	}
	return -1
}

func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipString validates the string starting at b[i] == '"'. It returns the index after the closing quote (-1 when
// invalid) and whether the string contains escapes.
func skipString(b []byte, i int) (int, bool) {
	i++
	esc := false
	for {
		// Skip 8 bytes at a time while none of them is '"', '\\' or a control character.
		for i+8 <= len(b) && !specialIn8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && strSafe[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1, esc
		}
		switch b[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return -1, esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1, esc
				}
				for _, h := range b[i+2 : i+6] {
					if hexVal(h) < 0 {
						return -1, esc
					}
				}
				i += 6
			default:
				return -1, esc
			}
		default: // control character
			return -1, esc
		}
	}
}

// SWAR constants: every byte set to 0x01, 0x80, and the special string bytes.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialIn8 reports whether any byte of x (8 string bytes) may be '"', '\\' or below 0x20. It never misses one;
// it may report a false positive, which the byte loop that follows resolves.
func specialIn8(x uint64) bool {
	quote := x ^ (ones * '"')
	bslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote|(bslash-ones)&^bslash|(x-ones*0x20)&^x)&highs != 0
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// skipNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at b[i].
func skipNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	return i
}

func skipObject(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	it := objIter{b: b, i: i + 1, depth: depth}
	for {
		if _, _, _, ok := it.next(); !ok {
			break
		}
	}
	return it.end()
}

func skipArray(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	it := arrIter{b: b, i: i + 1, depth: depth}
	for {
		if _, ok := it.next(); !ok {
			break
		}
	}
	return it.end()
}

// objIter walks the members of an object, validating as it goes. Start it with i just after the '{'.
type objIter struct {
	b       []byte
	i       int
	depth   int
	n       int  // members returned so far
	done    bool // the closing '}' was consumed
	bad     bool // the text is not valid JSON
	trusted bool // the text is known to be valid JSON: skip values without validating them
}

// newObjIter returns an iterator over the object whose text is obj (obj[0] must be '{').
func newObjIter(obj []byte) objIter { return objIter{b: obj, i: 1, depth: 1} }

// trustedObjIter returns an iterator over an object already known to be valid JSON.
func trustedObjIter(obj []byte) objIter { return objIter{b: obj, i: 1, depth: 1, trusted: true} }

// nextKey advances to the next member and returns its raw key (without quotes, escapes not decoded) and whether
// the key has escapes, leaving it.i at the first byte of the member's value; the caller must then call skipVal (or
// set it.i past the value itself). ok is false at the end of the object or on invalid input (see end).
func (it *objIter) nextKey() (key []byte, keyEsc bool, ok bool) {
	if it.done || it.bad {
		return nil, false, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return nil, false, false
	}
	if it.n == 0 {
		if b[i] == '}' {
			it.done, it.i = true, i+1
			return nil, false, false
		}
	} else {
		switch b[i] {
		case '}':
			it.done, it.i = true, i+1
			return nil, false, false
		case ',':
			i = skipWS(b, i+1)
		default:
			it.bad = true
			return nil, false, false
		}
	}
	if i >= len(b) || b[i] != '"' {
		it.bad = true
		return nil, false, false
	}
	var kend int
	var esc bool
	if it.trusted {
		kend = skipStringTrusted(b, i)
		esc = kend > 0 && bytes.IndexByte(b[i+1:kend-1], '\\') >= 0
	} else {
		kend, esc = skipString(b, i)
	}
	if kend < 0 {
		it.bad = true
		return nil, false, false
	}
	key = b[i+1 : kend-1]
	i = skipWS(b, kend)
	if i >= len(b) || b[i] != ':' {
		it.bad = true
		return nil, false, false
	}
	it.i = skipWS(b, i+1)
	it.n++
	return key, esc, true
}

// skipVal validates the value at it.i and returns its text; ok is false (and the iterator bad) when invalid.
func (it *objIter) skipVal() ([]byte, bool) {
	start := it.i
	var end int
	if it.trusted {
		end = skipTrusted(it.b, start)
	} else {
		end = skipValue(it.b, start, it.depth)
	}
	if end < 0 {
		it.bad = true
		return nil, false
	}
	it.i = end
	return it.b[start:end], true
}

// next returns the next member: its raw key (see nextKey) and the exact text of its value.
func (it *objIter) next() (key []byte, keyEsc bool, val []byte, ok bool) {
	key, keyEsc, ok = it.nextKey()
	if !ok {
		return nil, false, nil, false
	}
	val, ok = it.skipVal()
	if !ok {
		return nil, false, nil, false
	}
	return key, keyEsc, val, true
}

// end returns the index just after the object's closing brace, or -1 when the object was invalid. Call it after
// next has returned ok == false.
func (it *objIter) end() int {
	if it.bad || !it.done {
		return -1
	}
	return it.i
}

// arrIter walks the elements of an array, validating as it goes. Start it with i just after the '['.
type arrIter struct {
	b     []byte
	i     int
	depth int
	n     int
	done  bool
	bad   bool
}

func (it *arrIter) next() (val []byte, ok bool) {
	start, end, ok := it.nextSpan()
	if !ok {
		return nil, false
	}
	return it.b[start:end], true
}

// nextSpan returns the offsets in it.b of the next element.
func (it *arrIter) nextSpan() (start, end int, ok bool) {
	start, ok = it.nextStart()
	if !ok {
		return 0, 0, false
	}
	end = skipValue(it.b, start, it.depth)
	if end < 0 {
		it.bad = true
		return 0, 0, false
	}
	it.finish(end)
	return start, end, true
}

// nextStart advances to the next element and returns its offset; ok is false at the end of the array or on
// invalid input. The caller skips the element itself and then calls finish with its end offset.
func (it *arrIter) nextStart() (start int, ok bool) {
	if it.done || it.bad {
		return 0, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return 0, false
	}
	if it.n == 0 {
		if b[i] == ']' {
			it.done, it.i = true, i+1
			return 0, false
		}
	} else {
		switch b[i] {
		case ']':
			it.done, it.i = true, i+1
			return 0, false
		case ',':
			i = skipWS(b, i+1)
		default:
			it.bad = true
			return 0, false
		}
	}
	if i >= len(b) {
		it.bad = true
		return 0, false
	}
	return i, true
}

// finish records that the element returned by nextStart ends at end.
func (it *arrIter) finish(end int) {
	it.i = end
	it.n++
}

func (it *arrIter) end() int {
	if it.bad || !it.done {
		return -1
	}
	return it.i
}

// skipTrusted returns the index just after the value starting at b[i], which must be valid JSON (-1 if it turns
// out to be truncated). It does not validate, so it can skip strings with the vectorised bytes.IndexByte.
func skipTrusted(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipStringTrusted(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipStringTrusted(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) { // number or literal
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipStringTrusted returns the index after the closing quote of the valid string starting at b[i] == '"'.
func skipStringTrusted(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0 // backslashes immediately before the quote
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// appendUnquoted appends the decoded contents of the valid JSON string literal raw (quotes included) to dst.
func appendUnquoted(dst, raw []byte) []byte { return appendUnescaped(dst, raw[1:len(raw)-1]) }

// unquoteKey decodes a raw object key (the text between the quotes).
func unquoteKey(key []byte) []byte { return appendUnescaped(nil, key) }

// appendUnescaped appends the decoded form of the inside of a valid JSON string literal to dst. Invalid surrogate
// escapes become U+FFFD, as with encoding/json.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = utf16.DecodeRune(r, rune(hex4(s[i+2:i+6])))
				}
				if r2 != utf8.RuneError {
					i += 6
					r = r2
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(h []byte) int {
	return hexVal(h[0])<<12 | hexVal(h[1])<<8 | hexVal(h[2])<<4 | hexVal(h[3])
}

// unquoteBytes returns the decoded text of the valid JSON string literal raw (quotes included), without
// allocating when raw has no escapes: it is then a sub-slice of raw.
func unquoteBytes(raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c == '\\' {
			return appendUnquoted(nil, raw)
		}
	}
	return s
}

// decimalText writes a JSON number with a fraction or exponent as plain decimal text without float rounding.
func decimalText(raw []byte) string {
	d, ok := parseDecimal(raw)
	if !ok {
		return string(raw)
	}
	if d.zero() {
		return "0"
	}
	var out []byte
	if d.neg {
		out = append(out, '-')
	}
	ip, fp := d.split()
	if len(ip) == 0 {
		out = append(out, '0')
	} else {
		out = append(out, ip...)
	}
	if len(fp) > 0 {
		out = append(out, '.')
		out = append(out, fp...)
	}
	return string(out)
}

// decimal is a number 0.digits × 10^point, with digits free of leading and trailing zeros.
type decimal struct {
	neg    bool
	digits []byte
	point  int
}

func (d decimal) zero() bool { return len(d.digits) == 0 }

// split returns the integer digits and fraction digits of d (no sign).
func (d decimal) split() (ip, fp []byte) {
	switch {
	case d.point <= 0:
		fp = make([]byte, 0, -d.point+len(d.digits))
		for k := 0; k < -d.point; k++ {
			fp = append(fp, '0')
		}
		fp = append(fp, d.digits...)
		return nil, fp
	case d.point >= len(d.digits):
		ip = make([]byte, 0, d.point)
		ip = append(ip, d.digits...)
		for len(ip) < d.point {
			ip = append(ip, '0')
		}
		return ip, nil
	}
	return d.digits[:d.point], d.digits[d.point:]
}

// maxExponent bounds exponents so decimal text stays small; larger magnitudes are reported as not parseable.
const maxExponent = 400

// parseDecimal parses a valid JSON number literal (or a string of digits with an optional fraction).
func parseDecimal(raw []byte) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(raw) && raw[i] == '-' {
		d.neg = true
		i++
	}
	digits := make([]byte, 0, len(raw))
	point := 0
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		digits = append(digits, raw[i])
		point++
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
			digits = append(digits, raw[i])
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		neg := false
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			neg = raw[i] == '-'
			i++
		}
		j := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		e, err := strconv.Atoi(string(raw[j:i]))
		if err != nil || e > maxExponent {
			// An absurd exponent: the number is zero after rounding only if all digits are zero.
			if allZero(digits) {
				return decimal{}, true
			}
			return decimal{}, false
		}
		if neg {
			e = -e
		}
		point += e
	}
	if i != len(raw) {
		return decimal{}, false
	}
	// Strip leading zeros (moving the point) and trailing zeros.
	k := 0
	for k < len(digits) && digits[k] == '0' {
		k++
	}
	digits = digits[k:]
	point -= k
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return decimal{neg: d.neg}, true
	}
	if point < -maxExponent || point > maxExponent {
		return decimal{}, false
	}
	d.digits, d.point = digits, point
	return d, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != '0' {
			return false
		}
	}
	return true
}
