package jsonscan

import (
	"bytes"
	"math"
)

// Decimal is an exact decimal number: ±0.d₁d₂…dₙ × 10^exp. Its digits have no leading or trailing zeros; zero has
// no digits and is never negative. Any finite decimal literal is represented exactly, whatever its length. The zero
// value is the number 0.
type Decimal struct {
	neg    bool
	digits []byte
	exp    int64
}

// maxExp bounds parsed exponents so that exponent arithmetic never overflows; values that large are far outside any
// range the service reads, and still order correctly against every ordinary number.
const maxExp = 1 << 40

// ParseDecimal parses [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? exactly — a superset of the JSON number grammar (a leading
// '+', leading zeros, ".5" and "5." are accepted, as numeric strings may hold them). ok is false for anything else,
// surrounding white space included.
func ParseDecimal(s []byte) (Decimal, bool) {
	d, _, ok := parseDecimal(s)
	return d, ok
}

// parseDecimal is ParseDecimal; bigExp reports whether the exponent written in s exceeds maxTextExponent in
// magnitude (see parseBounded).
func parseDecimal(s []byte) (d Decimal, bigExp bool, ok bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	mant := make([]byte, 0, len(s))
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
		return Decimal{}, false, false
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
			return Decimal{}, false, false
		}
		if e > maxExp {
			e = maxExp
		}
		bigExp = e > maxTextExponent
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return Decimal{}, false, false
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
		return Decimal{}, bigExp, true
	}
	return Decimal{neg: neg, digits: mant, exp: exp}, bigExp, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// IsZero reports whether d is zero.
func (d Decimal) IsZero() bool { return len(d.digits) == 0 }

// Sign returns -1, 0 or +1 as d is negative, zero or positive.
func (d Decimal) Sign() int {
	switch {
	case len(d.digits) == 0:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// Cmp returns -1, 0 or +1 as d is less than, equal to or greater than o.
func (d Decimal) Cmp(o Decimal) int {
	ds, os := d.Sign(), o.Sign()
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
		m = bytes.Compare(d.digits, o.digits) // no trailing zeros, so byte order is numeric order
	}
	if ds < 0 {
		m = -m
	}
	return m
}

// IsInt reports whether d is an integer: it has no non-zero digit after the decimal point.
func (d Decimal) IsInt() bool { return int64(len(d.digits)) <= d.exp }

// Int64 returns d as an int64; ok is false when d is not an integer or lies outside the int64 range.
func (d Decimal) Int64() (int64, bool) {
	if !d.IsInt() || d.exp > 19 {
		return 0, false
	}
	var v uint64 // at most 19 digits: below 10^19 < 2^64
	for k := int64(0); k < d.exp; k++ {
		c := byte('0')
		if k < int64(len(d.digits)) {
			c = d.digits[k]
		}
		v = v*10 + uint64(c-'0')
	}
	switch {
	case d.neg && v == 1<<63:
		return math.MinInt64, true
	case v > math.MaxInt64:
		return 0, false
	case d.neg:
		return -int64(v), true
	}
	return int64(v), true
}

// Integer reads raw, the text of a JSON value, as an integer within [lo, hi], exactly — without the rounding of a
// float64, so that 10.0000000000000001 is a fraction, 9007199254740993 is not 2^53 and 1e-400 is not 0. isNumber is
// false when raw (surrounding white space ignored) is not a JSON number; ok is true when it is one whose value is an
// integer within [lo, hi], and v is then that value.
func Integer(raw []byte, lo, hi int64) (v int64, isNumber, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || SkipNumber(raw, 0) != len(raw) {
		return 0, false, false
	}
	d, _ := ParseDecimal(raw) // the JSON number grammar is a subset of ParseDecimal's
	v, ok = d.Int64()
	if !ok || v < lo || v > hi {
		return 0, true, false
	}
	return v, true, true
}

// Micros returns d in micro-units (d × 10⁶) rounded half away from zero; ok is false when the result does not fit
// in an int64.
func (d Decimal) Micros() (int64, bool) {
	if len(d.digits) == 0 {
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

// maxTextExponent bounds the exponents DecimalText and the numeric time rule accept, so plain decimal text stays
// small: a number written with a larger exponent, or whose decimal point lies further than this from its first
// significant digit, is not converted.
const maxTextExponent = 400

// parseBounded parses a number for DecimalText and the numeric time rule: ok is false when the written exponent
// exceeds maxTextExponent in magnitude (unless the number is zero) or the point lies beyond ±maxTextExponent.
func parseBounded(s []byte) (Decimal, bool) {
	d, bigExp, ok := parseDecimal(s)
	switch {
	case !ok:
		return Decimal{}, false
	case d.IsZero():
		return Decimal{}, true
	case bigExp || d.exp < -maxTextExponent || d.exp > maxTextExponent:
		return Decimal{}, false
	}
	return d, true
}

// DecimalText writes the valid JSON number raw as plain decimal text, exactly (no float rounding): no exponent, no
// trailing fraction zeros, no leading zeros, "0" for zero ("-0.0" included), e.g. 1.50 → 1.5, 1.5e-3 → 0.0015,
// 12.5E+2 → 1250. A number with an exponent beyond ±400 (unless it is zero), or whose text would be longer than
// about 400 digits, is returned unchanged.
func DecimalText(raw []byte) string {
	d, ok := parseBounded(raw)
	if !ok {
		return string(raw)
	}
	if d.IsZero() {
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

// split returns the integer digits and fraction digits of d (no sign). d.exp must be within ±maxTextExponent.
func (d Decimal) split() (ip, fp []byte) {
	point := int(d.exp)
	switch {
	case point <= 0:
		fp = make([]byte, 0, -point+len(d.digits))
		for k := 0; k < -point; k++ {
			fp = append(fp, '0')
		}
		fp = append(fp, d.digits...)
		return nil, fp
	case point >= len(d.digits):
		ip = make([]byte, 0, point)
		ip = append(ip, d.digits...)
		for len(ip) < point {
			ip = append(ip, '0')
		}
		return ip, nil
	}
	return d.digits[:point], d.digits[point:]
}
