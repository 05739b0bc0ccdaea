package attribution

import (
	"encoding/json"
	"math"
	"strings"
)

// decimal is an exact decimal number: value = ±0.digits × 10^exp. digits has no leading or trailing zeros; zero is
// the empty digit string (and neg false). Any finite decimal literal is represented exactly, whatever its size.
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// maxExp bounds parsed exponents so that exponent arithmetic never overflows; values that large are far outside any
// range the service compares or sums, and still order correctly against every ordinary number.
const maxExp = 1 << 40

// parseDecimal parses [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? — a superset of the JSON number grammar (leading '+',
// leading zeros, ".5" and "5." are accepted in numeric strings). ok is false for anything else.
func parseDecimal(s string) (decimal, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var mant []byte
	intDigits := 0
	start := i
	for i < len(s) && isDigit(s[i]) {
		mant = append(mant, s[i])
		intDigits++
		i++
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			mant = append(mant, s[i])
			fracDigits++
			i++
		}
	}
	if intDigits+fracDigits == 0 || i == start {
		return decimal{}, false
	}
	var e int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		j := i
		for i < len(s) && isDigit(s[i]) {
			if e < maxExp {
				e = e*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == j {
			return decimal{}, false
		}
		if e > maxExp {
			e = maxExp
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return decimal{}, false
	}
	// value = 0.mant × 10^(intDigits + e); strip leading zeros (each lowers the exponent) and trailing zeros.
	exp := int64(intDigits) + e
	k := 0
	for k < len(mant) && mant[k] == '0' {
		k++
	}
	exp -= int64(k)
	mant = mant[k:]
	for len(mant) > 0 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
	}
	if len(mant) == 0 {
		return decimal{}, true
	}
	return decimal{neg: neg, digits: string(mant), exp: exp}, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cmp returns -1, 0 or +1 as d is less than, equal to or greater than o.
func (d decimal) cmp(o decimal) int {
	ds, os := d.sign(), o.sign()
	if ds != os {
		if ds < os {
			return -1
		}
		return 1
	}
	if ds == 0 {
		return 0
	}
	// Same sign, both non-zero: compare magnitudes, then flip for negatives.
	m := 0
	switch {
	case d.exp != o.exp:
		if d.exp < o.exp {
			m = -1
		} else {
			m = 1
		}
	default:
		m = strings.Compare(d.digits, o.digits) // no trailing zeros, so string order is numeric order
	}
	if ds < 0 {
		m = -m
	}
	return m
}

func (d decimal) sign() int {
	switch {
	case d.digits == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// micros returns d in micro-units rounded half away from zero (SPEC §5.10); ok is false when the result does not
// fit in an int64.
func (d decimal) micros() (int64, bool) {
	if d.digits == "" {
		return 0, true
	}
	n := d.exp + 6 // number of digits before the decimal point of d × 10^6
	if n > 19 {
		return 0, false
	}
	var v uint64
	for k := int64(0); k < n; k++ {
		c := byte('0')
		if k < int64(len(d.digits)) {
			c = d.digits[k]
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	// The first dropped digit decides: ≥ 5 means the dropped part is ≥ one half (half away from zero).
	if n >= 0 && n < int64(len(d.digits)) && d.digits[n] >= '5' {
		v++
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	if d.neg {
		return -int64(v), true
	}
	return int64(v), true
}

// jsonKind classifies a raw JSON value by its first byte.
type jsonKind uint8

const (
	jsInvalid jsonKind = iota
	jsNull
	jsBool
	jsNumber
	jsString
	jsArray
	jsObject
)

func kindOf(raw json.RawMessage) jsonKind {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case 'n':
			return jsNull
		case 't', 'f':
			return jsBool
		case '"':
			return jsString
		case '[':
			return jsArray
		case '{':
			return jsObject
		}
		if c == '-' || isDigit(c) {
			return jsNumber
		}
		return jsInvalid
	}
	return jsInvalid
}

// numberOf converts a JSON number or a numeric string (surrounding white space ignored) to a decimal.
func numberOf(raw json.RawMessage) (decimal, bool) {
	switch kindOf(raw) {
	case jsNumber:
		return parseDecimal(strings.TrimSpace(string(raw)))
	case jsString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return decimal{}, false
		}
		return parseDecimal(strings.TrimSpace(s))
	}
	return decimal{}, false
}

// RevenueMicros returns the value of attribute in the attribute object attrs in micro-units, rounded half away from
// zero to 6 decimals (SPEC §5.10, §5.12). The value may be a JSON number or a numeric string (surrounding white
// space ignored; sign, fraction and exponent allowed). It is 0 when attribute is empty, attrs is not an object, the
// attribute is missing, null or non-numeric, or the value does not fit in int64 micro-units.
func RevenueMicros(attrs json.RawMessage, attribute string) int64 {
	if attribute == "" {
		return 0
	}
	return revenueFrom(decodeAttrs(attrs), attribute)
}

func revenueFrom(m map[string]json.RawMessage, attribute string) int64 {
	raw, ok := m[attribute]
	if !ok {
		return 0
	}
	d, ok := numberOf(raw)
	if !ok {
		return 0
	}
	v, ok := d.micros()
	if !ok {
		return 0
	}
	return v
}

// decodeAttrs decodes an attribute object; nil when attrs is absent, invalid or not an object. When a key repeats,
// the last occurrence wins (encoding/json semantics).
func decodeAttrs(attrs json.RawMessage) map[string]json.RawMessage {
	if kindOf(attrs) != jsObject {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(attrs, &m) != nil {
		return nil
	}
	return m
}
