package jsonscan

import (
	"math"
	"strings"
	"testing"
)

func TestDecimalCompare(t *testing.T) {
	ordered := []string{"-1e400", "-100", "-99.5", "-1", "-0.001", "0", "0.000", "1e-400", "0.001", "0.01", "0.1", "1", "1.0", "1.5",
		"9", "10", "1e2", "100.0000001", "1e400"}
	for i, a := range ordered {
		da, ok := ParseDecimal([]byte(a))
		if !ok {
			t.Fatalf("parse %q", a)
		}
		for j, b := range ordered {
			db, _ := ParseDecimal([]byte(b))
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			// Equal pairs in the list: 0 = 0.000, 1 = 1.0, 1e2 is greater than 10.
			if (a == "0" && b == "0.000") || (a == "0.000" && b == "0") || (a == "1" && b == "1.0") || (a == "1.0" && b == "1") {
				want = 0
			}
			if got := da.Cmp(db); got != want {
				t.Errorf("Cmp(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if _, ok := ParseDecimal([]byte("-0")); !ok {
		t.Error("-0 must parse")
	}
	if d, _ := ParseDecimal([]byte("-0")); d.Sign() != 0 || !d.IsZero() {
		t.Error("-0 is zero")
	}
	var zero Decimal
	if d, _ := ParseDecimal([]byte("0e99999999999999999999")); d.Cmp(zero) != 0 {
		t.Error("0 with a huge exponent is zero")
	}
	if huge, _ := ParseDecimal([]byte("1e99999999999999999999")); huge.Cmp(zero) != 1 {
		t.Error("a huge exponent is still greater than zero")
	}
}

func TestParseDecimalGrammar(t *testing.T) {
	for _, s := range []string{"1", "-1", "+1", "01", ".5", "5.", "1e5", "1E+5", "1e-5", "-0.0", "007.700e1"} {
		if _, ok := ParseDecimal([]byte(s)); !ok {
			t.Errorf("ParseDecimal(%q) failed", s)
		}
	}
	for _, s := range []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", " 1", "1 ", "0x10", "1_000", "inf", "NaN", "--1"} {
		if _, ok := ParseDecimal([]byte(s)); ok {
			t.Errorf("ParseDecimal(%q) succeeded", s)
		}
	}
}

func TestDecimalMicros(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1_000_000, true}, {"-2.5", -2_500_000, true}, {"0.0000005", 1, true},
		{"0.0000004999", 0, true}, {"-0.0000005", -1, true}, {"1e-400", 0, true}, {"12.3456789", 12_345_679, true},
		{"9223372036854.775807", 9223372036854775807, true}, {"9223372036854.775808", 0, false}, {"1e400", 0, false},
	}
	for _, tc := range tests {
		d, ok := ParseDecimal([]byte(tc.in))
		if !ok {
			t.Fatalf("parse %q", tc.in)
		}
		if got, ok := d.Micros(); got != tc.want || ok != tc.ok {
			t.Errorf("Micros(%s) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecimalText(t *testing.T) {
	tests := map[string]string{
		`1.50`: "1.5", `1e3`: "1000", `1.5e-3`: "0.0015", `-0.0`: "0", `2.0`: "2", `0.1`: "0.1", `12.5E+2`: "1250",
		`100e-2`: "1", `-12.25`: "-12.25", `0e999`: "0", `-0e-999`: "0",
		`1e399`: "1" + strings.Repeat("0", 399), `1e-400`: "0." + strings.Repeat("0", 399) + "1",
		// Beyond the bounds the literal is kept: an exponent over 400, or a point more than 400 digits away.
		`1e400`: "1e400", `1e401`: "1e401", `1.5e-401`: "1.5e-401", `10e-401`: "10e-401", `0.01e402`: "0.01e402", `1e-99999999999999999999`: "1e-99999999999999999999",
	}
	for in, want := range tests {
		if got := DecimalText([]byte(in)); got != want {
			t.Errorf("DecimalText(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestDecimalInt64(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  int64
		ok    bool
		isInt bool
	}{
		{"0", 0, true, true}, {"-0.0", 0, true, true}, {"10", 10, true, true}, {"10.0", 10, true, true}, {"1e2", 100, true, true},
		{"12.5E+1", 125, true, true}, {"-7", -7, true, true},
		{"10.0000000000000001", 0, false, false}, {"1e-400", 0, false, false}, {"-1e-400", 0, false, false}, {"0.5", 0, false, false},
		{"9007199254740993", 9007199254740993, true, true},
		{"9223372036854775807", math.MaxInt64, true, true}, {"9223372036854775808", 0, false, true},
		{"-9223372036854775808", math.MinInt64, true, true}, {"-9223372036854775809", 0, false, true},
		{"1e19", 0, false, true}, {"1e400", 0, false, true}, {"-1e400", 0, false, true},
	} {
		d, ok := ParseDecimal([]byte(c.in))
		if !ok {
			t.Fatalf("parse %q", c.in)
		}
		if d.IsInt() != c.isInt {
			t.Errorf("%s: IsInt %v", c.in, d.IsInt())
		}
		if v, ok := d.Int64(); v != c.want || ok != c.ok {
			t.Errorf("%s: Int64 = %d, %v; want %d, %v", c.in, v, ok, c.want, c.ok)
		}
	}
}

func TestInteger(t *testing.T) {
	for _, c := range []struct {
		raw          string
		lo, hi       int64
		v            int64
		isNumber, ok bool
	}{
		{" 10 ", 1, 10, 10, true, true},
		{"10.0", 1, 10, 10, true, true},
		{"10.0000000000000001", 1, 10, 0, true, false},
		{"11", 1, 10, 0, true, false},
		{"0", 1, 10, 0, true, false},
		{"1e-400", 0, 10, 0, true, false},
		{"1e400", 0, math.MaxInt64, 0, true, false},
		{"9007199254740993", 0, 1 << 53, 0, true, false},
		{"9007199254740992", 0, 1 << 53, 1 << 53, true, true},
		{`"10"`, 1, 10, 0, false, false},
		{"+10", 1, 10, 0, false, false},
		{"010", 1, 10, 0, false, false},
		{"true", 1, 10, 0, false, false},
		{"null", 1, 10, 0, false, false},
		{"", 1, 10, 0, false, false},
		{"1 2", 1, 10, 0, false, false},
	} {
		v, isNumber, ok := Integer([]byte(c.raw), c.lo, c.hi)
		if v != c.v || isNumber != c.isNumber || ok != c.ok {
			t.Errorf("Integer(%q, %d, %d) = %d, %v, %v; want %d, %v, %v", c.raw, c.lo, c.hi, v, isNumber, ok, c.v, c.isNumber, c.ok)
		}
	}
}
