package jsonscan

import (
	"encoding/json"
	"testing"
	"time"
)

func ms(y int, mo time.Month, d, h, mi, s, nsec int, loc *time.Location) int64 {
	return time.Date(y, mo, d, h, mi, s, nsec, loc).UnixMilli()
}

func TestParseTime(t *testing.T) {
	ist := time.FixedZone("+0530", 5*3600+30*60)
	tests := []struct {
		raw  string // JSON text
		want int64  // -1 = invalid
	}{
		// Numbers: > 1e11 → milliseconds, else seconds (§3.7).
		{`1740819600`, 1740819600000},
		{`"1708939453396"`, 1708939453396},
		{`1708939453396`, 1708939453396},
		{`1740819600.25`, 1740819600250},
		{`"1740819600.25"`, 1740819600250},
		{`1740819600.1239`, 1740819600123}, // below a millisecond: truncated
		{`1740819600.9999`, 1740819600999},
		{`1708939453396.9`, 1708939453396}, // milliseconds with a fraction: truncated
		{`100000000000`, 100000000000000},  // exactly 1e11 is not > 1e11: seconds
		{`100000000000.5`, 100000000000},   // > 1e11: milliseconds
		{`100000000001`, 100000000001},
		{`99999999999`, 99999999999000},
		{`1.7408196e9`, 1740819600000}, // JSON exponent form
		{`17408196000e-1`, 1740819600000},
		{`1`, 1000},
		{`0.5`, 500},
		{` 1740819600 `, 1740819600000},
		{`0`, -1},
		{`0.0`, -1},
		{`"0"`, -1},
		{`"000"`, -1},
		{`-5`, -1},
		{`-1740819600`, -1},
		{`"-1740819600"`, -1},
		{`"1740819600."`, -1},
		{`".5"`, -1},
		{`"1e9"`, -1},
		{`"+1740819600"`, -1},
		{`" 1740819600"`, -1},
		{`1e400`, -1},
		{`123456789012345678901234`, -1},
		// ISO-8601 with offset.
		{`"2025-03-01T09:00:00Z"`, ms(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		{`"2025-03-01T14:30:00.5+05:30"`, ms(2025, 3, 1, 14, 30, 0, 500e6, ist)},
		{`"2025-03-01T14:30:00.5+0530"`, ms(2025, 3, 1, 14, 30, 0, 500e6, ist)},
		{`"2025-03-01T09:00:00-01:00"`, ms(2025, 3, 1, 10, 0, 0, 0, time.UTC)},
		{`"2025-03-01T09:00:00+01"`, ms(2025, 3, 1, 8, 0, 0, 0, time.UTC)},
		{`"2025-03-01T09:00:00.123456789Z"`, ms(2025, 3, 1, 9, 0, 0, 123e6, time.UTC)},
		{`"2025-03-01T09:00:00.12Z"`, ms(2025, 3, 1, 9, 0, 0, 120e6, time.UTC)},
		{`"2025-03-01t09:00:00z"`, ms(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		{`"2025-03-01T00:30:00+05:30"`, ms(2025, 2, 28, 19, 0, 0, 0, time.UTC)},
		// Without offset: UTC.
		{`"2025-03-01T09:00:00"`, ms(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		{`"2025-03-01 09:00:00"`, ms(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		{`"2025-03-01 09:00:00.250"`, ms(2025, 3, 1, 9, 0, 0, 250e6, time.UTC)},
		{`"2025-03-01T09:00"`, ms(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		// Date only: 00:00:00 UTC.
		{`"2025-03-01"`, ms(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{`"2024-02-29"`, ms(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{`"2000-01-01"`, 946684800000},
		{`"1999-12-31T23:59:59Z"`, 946684799000},
		{`"1969-12-31T00:00:00Z"`, -86400000},
		{`"2000-03-01"`, ms(2000, 3, 1, 0, 0, 0, 0, time.UTC)},
		{`"2100-03-01"`, ms(2100, 3, 1, 0, 0, 0, 0, time.UTC)},
		// Anything else: invalid.
		{`"2025-02-29"`, -1},
		{`"2100-02-29"`, -1},
		{`"2025-13-01"`, -1},
		{`"2025-00-01"`, -1},
		{`"2025-03-32"`, -1},
		{`"2025-03-01T24:00:00Z"`, -1},
		{`"2025-03-01T09:60:00Z"`, -1},
		{`"2025-03-01T09:00:60Z"`, -1},
		{`"2025-03-01T09:00:00.Z"`, -1},
		{`"2025-03-01T09:00:00+5:30"`, -1},
		{`"2025-03-01T09:00:00+24:00"`, -1},
		{`"2025-03-01T09:00:00 Z"`, -1},
		{`"2025-03-01X09:00:00Z"`, -1},
		{`"2025-3-1"`, -1},
		{`"25-03-01"`, -1},
		{`"tomorrow"`, -1},
		{`"Sat, 01 Mar 2025 09:00:00 GMT"`, -1},
		{`""`, -1},
		{`true`, -1},
		{`null`, -1},
		{`{}`, -1},
		{`[1740819600]`, -1},
		{``, -1},
	}
	for _, tc := range tests {
		got, err := ParseTime(json.RawMessage(tc.raw))
		if tc.want == -1 {
			if err == nil {
				t.Errorf("ParseTime(%s) = %d, want error", tc.raw, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTime(%s) = %d, %v; want %d", tc.raw, got, err, tc.want)
		}
		// The string form agrees for string inputs.
		var s string
		if json.Unmarshal([]byte(tc.raw), &s) == nil {
			if got2, err := ParseTimeString(s); err != nil || got2 != tc.want {
				t.Errorf("ParseTimeString(%q) = %d, %v; want %d", s, got2, err, tc.want)
			}
		}
	}
}

func TestParseTimeStringEscapes(t *testing.T) {
	got, err := ParseTime(json.RawMessage(`"2025\u002d03-01"`))
	if err != nil || got != ms(2025, 3, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("escaped string: %d %v", got, err)
	}
}
