package attribution

import (
	"encoding/json"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

func TestMatchFilter(t *testing.T) {
	type F = domain.GoalFilter
	raw := func(s string) json.RawMessage {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	attrs := `{"tier":"Gold","title":"Summer Sale 2025","tags":["New","vip"],"nums":[1,2.5],"amount":100,"amount_s":"100.0",
		"neg":-3,"text":"abc","flag":true,"flag_s":"TRUE","nothing":null,"city":"ÉCOLE","when":"2025-03-01T10:00:00Z",
		"when_s":1740819600,"when_ms":"1740819600000","bad_when":"yesterday","zero":0}`
	cases := []struct {
		name  string
		f     F
		attrs string
		want  bool
	}{
		// is / equals / eq
		{"is string ignores case", F{Name: "tier", Condition: "is", Value: raw(`"gold"`)}, attrs, true},
		{"is string case-sensitive", F{Name: "tier", Condition: "is", Value: raw(`"gold"`), IsCaseSensitive: true}, attrs, false},
		{"is string case-sensitive exact", F{Name: "tier", Condition: "is", Value: raw(`"Gold"`), IsCaseSensitive: true}, attrs, true},
		{"equals alias", F{Name: "tier", Condition: "equals", Value: raw(`"GOLD"`)}, attrs, true},
		{"eq alias", F{Name: "tier", Condition: "EQ", Value: raw(`"silver"`)}, attrs, false},
		{"is unicode fold", F{Name: "city", Condition: "is", Value: raw(`"école"`)}, attrs, true},
		{"is unicode case-sensitive", F{Name: "city", Condition: "is", Value: raw(`"école"`), IsCaseSensitive: true}, attrs, false},
		{"is number", F{Name: "amount", Condition: "is", Value: raw(`100`)}, attrs, true},
		{"is number vs 1e2", F{Name: "amount", Condition: "is", Value: raw(`1e2`)}, attrs, true},
		{"is numeric string under number value type", F{Name: "amount_s", Condition: "is", Value: raw(`100`)}, attrs, true},
		{"is numeric string under DOUBLE", F{Name: "amount_s", Condition: "is", Value: raw(`"100"`), DataType: "DOUBLE"}, attrs, true},
		{"is numeric string under STRING", F{Name: "amount_s", Condition: "is", Value: raw(`"100"`), DataType: "STRING"}, attrs, false},
		{"is number attribute as string text", F{Name: "amount", Condition: "is", Value: raw(`"100"`)}, attrs, true},
		{"is non-numeric under NUMBER", F{Name: "text", Condition: "is", Value: raw(`1`), DataType: "NUMBER"}, attrs, false},
		{"is bool", F{Name: "flag", Condition: "is", Value: raw(`true`)}, attrs, true},
		{"is bool string under BOOL", F{Name: "flag_s", Condition: "is", Value: raw(`true`), DataType: "BOOL"}, attrs, true},
		{"is bool false", F{Name: "flag", Condition: "is", Value: raw(`false`)}, attrs, false},
		{"is null value", F{Name: "tier", Condition: "is", Value: raw(`null`)}, attrs, false},
		{"is missing", F{Name: "absent", Condition: "is", Value: raw(`"x"`)}, attrs, false},
		{"is null attribute", F{Name: "nothing", Condition: "is", Value: raw(`"x"`)}, attrs, false},
		// negate
		{"not equal, different", F{Name: "tier", Condition: "is", Value: raw(`"silver"`), Negate: true}, attrs, true},
		{"not equal, equal", F{Name: "tier", Condition: "is", Value: raw(`"GOLD"`), Negate: true}, attrs, false},
		{"not equal, missing", F{Name: "absent", Condition: "is", Value: raw(`"x"`), Negate: true}, attrs, true},
		{"not equal, null attrs", F{Name: "absent", Condition: "is", Value: raw(`"x"`), Negate: true}, "", true},
		// contains
		{"contains substring ignores case", F{Name: "title", Condition: "contains", Value: raw(`"sale"`)}, attrs, true},
		{"contains case-sensitive", F{Name: "title", Condition: "contains", Value: raw(`"sale"`), IsCaseSensitive: true}, attrs, false},
		{"contains numeric value as text", F{Name: "title", Condition: "contains", Value: raw(`2025`)}, attrs, true},
		{"contains array element", F{Name: "tags", Condition: "contains", Value: raw(`"VIP"`)}, attrs, true},
		{"contains array element case-sensitive", F{Name: "tags", Condition: "contains", Value: raw(`"VIP"`), IsCaseSensitive: true}, attrs, false},
		{"contains array not substring", F{Name: "tags", Condition: "contains", Value: raw(`"vi"`)}, attrs, false},
		{"contains numeric array", F{Name: "nums", Condition: "contains", Value: raw(`2.50`)}, attrs, true},
		{"contains on number attribute", F{Name: "amount", Condition: "contains", Value: raw(`"10"`)}, attrs, false},
		{"contains missing", F{Name: "absent", Condition: "contains", Value: raw(`"a"`)}, attrs, false},
		{"not contains missing", F{Name: "absent", Condition: "contains", Value: raw(`"a"`), Negate: true}, attrs, true},
		// starts_with / ends_with
		{"starts_with", F{Name: "title", Condition: "starts_with", Value: raw(`"summer"`)}, attrs, true},
		{"starts_with case-sensitive", F{Name: "title", Condition: "starts_with", Value: raw(`"summer"`), IsCaseSensitive: true}, attrs, false},
		{"starts_with no", F{Name: "title", Condition: "starts_with", Value: raw(`"Sale"`)}, attrs, false},
		{"ends_with", F{Name: "title", Condition: "ends_with", Value: raw(`"SALE 2025"`)}, attrs, true},
		{"ends_with case-sensitive", F{Name: "title", Condition: "ends_with", Value: raw(`"SALE 2025"`), IsCaseSensitive: true}, attrs, false},
		{"ends_with negated", F{Name: "title", Condition: "ends_with", Value: raw(`"2024"`), Negate: true}, attrs, true},
		// in
		{"in strings ignores case", F{Name: "tier", Condition: "in", Value: raw(`["silver","GOLD"]`)}, attrs, true},
		{"in strings case-sensitive", F{Name: "tier", Condition: "in", Value: raw(`["silver","GOLD"]`), IsCaseSensitive: true}, attrs, false},
		{"in numbers", F{Name: "amount", Condition: "in", Value: raw(`[1,100.00]`)}, attrs, true},
		{"in numeric strings under NUMBER", F{Name: "amount_s", Condition: "in", Value: raw(`["5","1e2"]`), DataType: "NUMBER"}, attrs, true},
		{"in none", F{Name: "tier", Condition: "in", Value: raw(`["silver"]`)}, attrs, false},
		{"in non-array value", F{Name: "tier", Condition: "in", Value: raw(`"gold"`)}, attrs, false},
		{"not in missing", F{Name: "absent", Condition: "in", Value: raw(`["x"]`), Negate: true}, attrs, true},
		// exists
		{"exists", F{Name: "tier", Condition: "exists"}, attrs, true},
		{"exists zero", F{Name: "zero", Condition: "exists", Value: raw(`"ignored"`)}, attrs, true},
		{"exists null", F{Name: "nothing", Condition: "exists"}, attrs, false},
		{"exists missing", F{Name: "absent", Condition: "exists"}, attrs, false},
		{"not exists missing", F{Name: "absent", Condition: "exists", Negate: true}, attrs, true},
		{"not exists present", F{Name: "tier", Condition: "exists", Negate: true}, attrs, false},
		{"exists is case-sensitive on the name", F{Name: "TIER", Condition: "exists"}, attrs, false},
		// ordering
		{"greater_than", F{Name: "amount", Condition: "greater_than", Value: raw(`0`), Value1: raw(`null`), DataType: "DOUBLE"}, attrs, true},
		{"gt", F{Name: "amount", Condition: "gt", Value: raw(`100`)}, attrs, false},
		{"gte equal", F{Name: "amount", Condition: "gte", Value: raw(`100`)}, attrs, true},
		{"greater_than_or_equal", F{Name: "amount", Condition: "greater_than_or_equal", Value: raw(`100.000001`)}, attrs, false},
		{"lt", F{Name: "neg", Condition: "lt", Value: raw(`-2.5`)}, attrs, true},
		{"less_than", F{Name: "neg", Condition: "less_than", Value: raw(`-3`)}, attrs, false},
		{"lte", F{Name: "neg", Condition: "lte", Value: raw(`-3`)}, attrs, true},
		{"less_than_or_equal", F{Name: "amount", Condition: "less_than_or_equal", Value: raw(`99.999`)}, attrs, false},
		{"gt numeric string attribute", F{Name: "amount_s", Condition: "gt", Value: raw(`99.5`), DataType: "NUMBER"}, attrs, true},
		{"gt numeric string value", F{Name: "amount", Condition: "gt", Value: raw(`"99.5"`)}, attrs, true},
		{"gt non-numeric attribute", F{Name: "text", Condition: "gt", Value: raw(`1`)}, attrs, false},
		{"negated gt non-numeric attribute", F{Name: "text", Condition: "gt", Value: raw(`1`), Negate: true}, attrs, true},
		{"gt bool attribute", F{Name: "flag", Condition: "gt", Value: raw(`0`)}, attrs, false},
		{"gt missing", F{Name: "absent", Condition: "gt", Value: raw(`0`)}, attrs, false},
		// between
		{"between inside", F{Name: "amount", Condition: "between", Value: raw(`50`), Value1: raw(`150`)}, attrs, true},
		{"between low edge", F{Name: "amount", Condition: "between", Value: raw(`100`), Value1: raw(`150`)}, attrs, true},
		{"between high edge", F{Name: "amount", Condition: "between", Value: raw(`50`), Value1: raw(`"100"`)}, attrs, true},
		{"between outside", F{Name: "amount", Condition: "between", Value: raw(`100.5`), Value1: raw(`150`)}, attrs, false},
		{"between reversed bounds", F{Name: "amount", Condition: "between", Value: raw(`150`), Value1: raw(`50`)}, attrs, false},
		{"between without value1", F{Name: "amount", Condition: "between", Value: raw(`50`)}, attrs, false},
		{"negated between outside", F{Name: "amount", Condition: "between", Value: raw(`1`), Value1: raw(`2`), Negate: true}, attrs, true},
		// DATETIME
		{"datetime gt", F{Name: "when", Condition: "gt", Value: raw(`"2025-03-01T09:00:00Z"`), DataType: "DATETIME"}, attrs, true},
		{"datetime gt offset", F{Name: "when", Condition: "gt", Value: raw(`"2025-03-01T15:30:00+05:30"`), DataType: "DATETIME"}, attrs, false},
		{"datetime is epoch seconds", F{Name: "when_s", Condition: "is", Value: raw(`"2025-03-01T09:00:00Z"`), DataType: "datetime"}, attrs, true},
		{"datetime is epoch ms string", F{Name: "when_ms", Condition: "is", Value: raw(`1740819600`), DataType: "DATETIME"}, attrs, true},
		{"datetime between dates", F{Name: "when", Condition: "between", Value: raw(`"2025-03-01"`), Value1: raw(`"2025-03-02"`), DataType: "DATETIME"}, attrs, true},
		{"datetime lt date", F{Name: "when", Condition: "lt", Value: raw(`"2025-03-01"`), DataType: "DATETIME"}, attrs, false},
		{"datetime invalid attribute", F{Name: "bad_when", Condition: "lt", Value: raw(`"2030-01-01"`), DataType: "DATETIME"}, attrs, false},
		{"datetime without data_type compares numbers", F{Name: "when", Condition: "gt", Value: raw(`"2025-03-01T09:00:00Z"`)}, attrs, false},
		// odd inputs
		{"unknown condition", F{Name: "tier", Condition: "matches", Value: raw(`"gold"`)}, attrs, false},
		{"unknown condition negated", F{Name: "tier", Condition: "matches", Value: raw(`"gold"`), Negate: true}, attrs, false},
		{"attrs not an object", F{Name: "tier", Condition: "exists"}, `["tier"]`, false},
		{"attrs invalid", F{Name: "tier", Condition: "exists"}, `{"tier":`, false},
		{"unknown data_type falls back to value type", F{Name: "amount_s", Condition: "is", Value: raw(`100`), DataType: "LONG"}, attrs, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if got := MatchFilter(&f, raw(tc.attrs)); got != tc.want {
				t.Errorf("MatchFilter(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
	if !MatchFilter(nil, nil) {
		t.Error("nil filter must hold")
	}
}

func TestFold(t *testing.T) {
	for _, p := range [][2]string{{"Straße", "STRAßE"}, {"K", "\u212a"}, {"ſ", "S"}, {"ÀÉÎ", "àéî"}, {"Gold", "gOLD"}} {
		if fold(p[0]) != fold(p[1]) {
			t.Errorf("fold(%q)=%q != fold(%q)=%q", p[0], fold(p[0]), p[1], fold(p[1]))
		}
	}
	if fold("a") == fold("b") {
		t.Error("fold merges distinct letters")
	}
}
