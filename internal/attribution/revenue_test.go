package attribution

import (
	"encoding/json"
	"math"
	"testing"
)

func TestRevenueMicros(t *testing.T) {
	cases := []struct {
		value string // JSON text of the "amount" attribute; "" means absent
		want  int64
	}{
		{`50`, 50_000_000},
		{`"30"`, 30_000_000},
		{`" 7.5 "`, 7_500_000},
		{`0`, 0},
		{`-12.5`, -12_500_000},
		{`150.025`, 150_025_000},
		{`12.3456785`, 12_345_679},   // half away from zero, up
		{`-12.3456785`, -12_345_679}, // half away from zero, down
		{`12.34567849999`, 12_345_678},
		{`1.0000005`, 1_000_001}, // float64(1.0000005) is below the half; exact decimals are not
		{`"2.0000025"`, 2_000_003},
		{`0.0000005`, 1},
		{`-0.0000005`, -1},
		{`0.00000049999`, 0},
		{`1e2`, 100_000_000},
		{`1E-6`, 1},
		{`"1.5e3"`, 1_500_000_000},
		{`"+5"`, 5_000_000},
		{`".5"`, 500_000},
		{`"5."`, 5_000_000},
		{`"007"`, 7_000_000},
		{`9223372036854.775807`, math.MaxInt64},
		{`-9223372036854.775807`, -math.MaxInt64},
		{`9223372036854.7758075`, 0}, // rounds past int64: does not fit
		{`9223372036854.775808`, 0},
		{`1e400`, 0},
		{`1e-400`, 0},
		{`1e99999999999999999999`, 0},
		{`"abc"`, 0},
		{`"12abc"`, 0},
		{`"1,000"`, 0},
		{`"0x10"`, 0},
		{`"NaN"`, 0},
		{`"Infinity"`, 0},
		{`""`, 0},
		{`"-"`, 0},
		{`"."`, 0},
		{`"1e"`, 0},
		{`true`, 0},
		{`null`, 0},
		{`[1]`, 0},
		{`{"v":1}`, 0},
		{``, 0},
	}
	for _, tc := range cases {
		attrs := `{"other":1}`
		if tc.value != "" {
			attrs = `{"other":1,"amount":` + tc.value + `}`
		}
		if got := RevenueMicros(json.RawMessage(attrs), "amount"); got != tc.want {
			t.Errorf("RevenueMicros(%s) = %d, want %d", attrs, got, tc.want)
		}
	}
	if got := RevenueMicros(nil, "amount"); got != 0 {
		t.Errorf("nil attrs: %d", got)
	}
	if got := RevenueMicros(json.RawMessage(`{"amount":5}`), ""); got != 0 {
		t.Errorf("empty attribute name: %d", got)
	}
	if got := RevenueMicros(json.RawMessage(`{"Amount":5}`), "amount"); got != 0 {
		t.Errorf("attribute names are exact: %d", got)
	}
	if got := RevenueMicros(json.RawMessage(`[5]`), "amount"); got != 0 {
		t.Errorf("non-object attrs: %d", got)
	}
}
