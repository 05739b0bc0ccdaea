// Package jsonscan is a small, allocation-free JSON scanner and the value readers built on it: the time values of
// SPEC §3.7 (ParseTime) and exact decimal numbers (ParseDecimal, DecimalText). It imports only the standard library.
//
// The scanner validates JSON text with the grammar of RFC 8259 (the same grammar encoding/json accepts; a fuzz test
// keeps the two in agreement) and walks objects and arrays member by member, handing out the exact byte spans of
// values. Decoding an event this way reads each byte a small, fixed number of times and never builds maps or
// interface values, which is what makes the ingest path fast. UTF-8 validity is not checked here: callers check a
// whole body once (utf8.Valid) before scanning it.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting like encoding/json does, so hostile input cannot exhaust the stack. The depth of a value
// is the number of objects and arrays that enclose it, itself included: a top-level object has depth 1.
const MaxDepth = 10000

// strSafe[c] is true for bytes that may appear unescaped inside a JSON string and need no special handling.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// IsWS reports whether c is JSON insignificant whitespace (space, tab, line feed, carriage return).
func IsWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipWS returns the index of the first byte at or after i that is not JSON whitespace (len(b) when there is none).
func SkipWS(b []byte, i int) int {
	for i < len(b) && IsWS(b[i]) {
		i++
	}
	return i
}

// Valid reports whether b holds exactly one JSON value surrounded by optional whitespace. It agrees with
// encoding/json.Valid on UTF-8 input.
func Valid(b []byte) bool {
	i := SkipWS(b, 0)
	end := SkipValue(b, i, 0)
	return end >= 0 && SkipWS(b, end) == len(b)
}

// SkipValue validates the value starting at b[i] and returns the index just after it, or -1 when it is not valid
// JSON. depth is the number of objects and arrays enclosing the value (0 at the top level); nesting beyond MaxDepth
// is invalid.
func SkipValue(b []byte, i, depth int) int {
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
			return SkipNumber(b, i)
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

// SkipNumber validates the JSON number -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at b[i] (i <
// len(b)) and returns the index just after it, or -1 when there is none. It does not look at what follows.
func SkipNumber(b []byte, i int) int {
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
	if depth > MaxDepth {
		return -1
	}
	it := ObjectAt(b, i, depth)
	for {
		if _, _, _, ok := it.Next(); !ok {
			break
		}
	}
	return it.End()
}

func skipArray(b []byte, i, depth int) int {
	if depth > MaxDepth {
		return -1
	}
	it := ArrayAt(b, i, depth)
	for {
		if _, ok := it.Next(); !ok {
			break
		}
	}
	return it.End()
}

// ObjIter walks the members of an object, validating as it goes. Get one from ObjectAt, NewObjIter,
// TrustedObjIter or Child; call Next (or NextKey followed by SkipVal, SkipTo or a child iterator) until ok is false,
// then End.
type ObjIter struct {
	b       []byte
	i       int
	depth   int
	n       int  // members returned so far
	done    bool // the closing '}' was consumed
	bad     bool // the text is not valid JSON
	trusted bool // the text is known to be valid JSON: skip values without validating them
}

// ObjectAt returns an iterator over the object starting at b[i] == '{', whose nesting depth is depth (1 for a
// top-level object).
func ObjectAt(b []byte, i, depth int) ObjIter { return ObjIter{b: b, i: i + 1, depth: depth} }

// NewObjIter returns an iterator over the top-level object whose text is obj (obj[0] must be '{').
func NewObjIter(obj []byte) ObjIter { return ObjIter{b: obj, i: 1, depth: 1} }

// TrustedObjIter returns an iterator over an object already known to be valid JSON (obj[0] must be '{'). It skips
// values without validating them, which is faster; on text that is not valid JSON its results are unspecified.
func TrustedObjIter(obj []byte) ObjIter { return ObjIter{b: obj, i: 1, depth: 1, trusted: true} }

// NextKey advances to the next member and returns its raw key (without quotes, escapes not decoded; see
// UnquoteKey) and whether the key has escapes, leaving the iterator at the first byte of the member's value (Pos).
// The caller must then move past the value: SkipVal, SkipTo, or Child and EndChild. ok is false at the end of the
// object or on invalid input (see End).
func (it *ObjIter) NextKey() (key []byte, keyEsc bool, ok bool) {
	if it.done || it.bad {
		return nil, false, false
	}
	b := it.b
	i := SkipWS(b, it.i)
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
			i = SkipWS(b, i+1)
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
	i = SkipWS(b, kend)
	if i >= len(b) || b[i] != ':' {
		it.bad = true
		return nil, false, false
	}
	it.i = SkipWS(b, i+1)
	it.n++
	return key, esc, true
}

// SkipVal validates the value at Pos, moves past it and returns its text; ok is false (and the iterator invalid)
// when the value is not valid JSON.
func (it *ObjIter) SkipVal() ([]byte, bool) {
	start := it.i
	var end int
	if it.trusted {
		end = skipTrusted(it.b, start)
	} else {
		end = SkipValue(it.b, start, it.depth)
	}
	if end < 0 {
		it.bad = true
		return nil, false
	}
	it.i = end
	return it.b[start:end], true
}

// Next returns the next member: its raw key (see NextKey) and the exact text of its value.
func (it *ObjIter) Next() (key []byte, keyEsc bool, val []byte, ok bool) {
	key, keyEsc, ok = it.NextKey()
	if !ok {
		return nil, false, nil, false
	}
	val, ok = it.SkipVal()
	if !ok {
		return nil, false, nil, false
	}
	return key, keyEsc, val, true
}

// End returns the index just after the object's closing brace, or -1 when the object was invalid. Call it after
// Next or NextKey has returned ok == false.
func (it *ObjIter) End() int {
	if it.bad || !it.done {
		return -1
	}
	return it.i
}

// Pos returns the offset of the current member's value after NextKey (the first byte of the value).
func (it *ObjIter) Pos() int { return it.i }

// Depth returns the nesting depth of the object.
func (it *ObjIter) Depth() int { return it.depth }

// SkipTo moves past the current member's value, which the caller validated itself and which ends at end.
func (it *ObjIter) SkipTo(end int) { it.i = end }

// Fail marks the object invalid: the caller found its current value to be invalid JSON. End then returns -1.
func (it *ObjIter) Fail() { it.bad = true }

// Child returns an iterator over the current member's value, an object starting at Pos. Walk it, then call
// EndChild.
func (it *ObjIter) Child() ObjIter { return ObjIter{b: it.b, i: it.i + 1, depth: it.depth + 1} }

// EndChild moves it past the object walked by c (from Child, walked to its end) and returns the object's text; ok
// is false, and it invalid, when that object was invalid or nested too deep.
func (it *ObjIter) EndChild(c *ObjIter) ([]byte, bool) {
	end := c.End()
	if end < 0 || c.depth > MaxDepth {
		it.bad = true
		return nil, false
	}
	v := it.b[it.i:end]
	it.i = end
	return v, true
}

// ArrIter walks the elements of an array, validating as it goes. Get one from ArrayAt or NewArrIter; call Next,
// NextSpan, or NextStart followed by Finish, until ok is false, then End.
type ArrIter struct {
	b     []byte
	i     int
	depth int
	n     int
	done  bool
	bad   bool
}

// ArrayAt returns an iterator over the array starting at b[i] == '[', whose nesting depth is depth (1 for a
// top-level array).
func ArrayAt(b []byte, i, depth int) ArrIter { return ArrIter{b: b, i: i + 1, depth: depth} }

// NewArrIter returns an iterator over the top-level array whose text is arr (arr[0] must be '[').
func NewArrIter(arr []byte) ArrIter { return ArrIter{b: arr, i: 1, depth: 1} }

// Next returns the exact text of the next element.
func (it *ArrIter) Next() (val []byte, ok bool) {
	start, end, ok := it.NextSpan()
	if !ok {
		return nil, false
	}
	return it.b[start:end], true
}

// NextSpan returns the offsets of the next element in the text the iterator walks.
func (it *ArrIter) NextSpan() (start, end int, ok bool) {
	start, ok = it.NextStart()
	if !ok {
		return 0, 0, false
	}
	end = SkipValue(it.b, start, it.depth)
	if end < 0 {
		it.bad = true
		return 0, 0, false
	}
	it.Finish(end)
	return start, end, true
}

// NextStart advances to the next element and returns its offset; ok is false at the end of the array or on
// invalid input. The caller skips the element itself (at depth Depth, see SkipValue) and then calls Finish with
// its end offset.
func (it *ArrIter) NextStart() (start int, ok bool) {
	if it.done || it.bad {
		return 0, false
	}
	b := it.b
	i := SkipWS(b, it.i)
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
			i = SkipWS(b, i+1)
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

// Finish records that the element returned by NextStart ends at end.
func (it *ArrIter) Finish(end int) {
	it.i = end
	it.n++
}

// Count returns the number of elements finished so far: during NextStart … Finish it is the 0-based index of the
// current element; after Next or NextSpan, the index of the element returned plus one.
func (it *ArrIter) Count() int { return it.n }

// Depth returns the nesting depth of the array.
func (it *ArrIter) Depth() int { return it.depth }

// End returns the index just after the array's closing bracket, or -1 when the array was invalid. Call it after
// Next, NextSpan or NextStart has returned ok == false.
func (it *ArrIter) End() int {
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

// UnquoteKey decodes a raw object key as returned by ObjIter.NextKey (the text between the quotes of a valid JSON
// string) into a new slice.
func UnquoteKey(key []byte) []byte { return appendUnescaped(nil, key) }

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

// Unquote returns the decoded text of the valid JSON string literal raw (quotes included), without allocating
// when raw has no escapes: it is then a sub-slice of raw. Invalid surrogate escapes become U+FFFD, as with
// encoding/json.
func Unquote(raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c == '\\' {
			return appendUnquoted(nil, raw)
		}
	}
	return s
}
