package attribution

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// valueType is the comparison type of a goal filter (SPEC §3.12.3).
type valueType uint8

const (
	vtNone valueType = iota // not fixed by data_type: taken from the JSON type of the value
	vtString
	vtNumber
	vtBool
	vtTime
)

// Canonical conditions; aliases map onto them (SPEC §3.12.3).
var conditions = map[string]string{
	"is": "is", "equals": "is", "eq": "is", "contains": "contains", "starts_with": "starts_with",
	"ends_with": "ends_with", "in": "in", "exists": "exists", "greater_than": "greater_than", "gt": "greater_than",
	"greater_than_or_equal": "greater_than_or_equal", "gte": "greater_than_or_equal", "less_than": "less_than",
	"lt": "less_than", "less_than_or_equal": "less_than_or_equal", "lte": "less_than_or_equal", "between": "between",
}

func dataTypeOf(s string) valueType {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "STRING":
		return vtString
	case "NUMBER", "DOUBLE":
		return vtNumber
	case "BOOL":
		return vtBool
	case "DATETIME":
		return vtTime
	}
	return vtNone
}

// typeOfValue is the comparison type implied by a value's JSON type; vtNone for null, arrays, objects and absence.
func typeOfValue(raw json.RawMessage) valueType {
	switch kindOf(raw) {
	case jsString:
		return vtString
	case jsNumber:
		return vtNumber
	case jsBool:
		return vtBool
	}
	return vtNone
}

// operand is a filter value or an attribute converted to one comparison type.
type operand struct {
	t   valueType
	s   string // vtString: the text, case-folded unless the filter is case-sensitive
	d   jsonscan.Decimal
	b   bool
	ms  int64
	set bool // false when the conversion failed
}

// text converts a JSON string, number or boolean to text (numbers keep their JSON spelling).
func text(raw json.RawMessage) (string, bool) {
	switch kindOf(raw) {
	case jsString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case jsNumber, jsBool:
		return strings.TrimSpace(string(raw)), true
	}
	return "", false
}

// convert turns raw into an operand of type t; the operand is unset when raw cannot be converted.
func convert(raw json.RawMessage, t valueType, caseSensitive bool) operand {
	o := operand{t: t}
	switch t {
	case vtString:
		if s, ok := text(raw); ok {
			if !caseSensitive {
				s = fold(s)
			}
			o.s, o.set = s, true
		}
	case vtNumber:
		o.d, o.set = numberOf(raw)
	case vtBool:
		switch kindOf(raw) {
		case jsBool:
			o.b, o.set = strings.TrimSpace(string(raw)) == "true", true
		case jsString:
			s, _ := text(raw)
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				o.b, o.set = true, true
			case "false":
				o.b, o.set = false, true
			}
		}
	case vtTime:
		if k := kindOf(raw); k == jsNumber || k == jsString {
			ms, err := jsonscan.ParseTime(raw)
			o.ms, o.set = ms, err == nil
		}
	}
	return o
}

// compare orders two set operands of the same type; ok is false for types without an order.
func compare(a, b operand) (int, bool) {
	switch a.t {
	case vtNumber:
		return a.d.Cmp(b.d), true
	case vtTime:
		switch {
		case a.ms < b.ms:
			return -1, true
		case a.ms > b.ms:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func equal(a, b operand) bool {
	if !a.set || !b.set || a.t != b.t {
		return false
	}
	switch a.t {
	case vtString:
		return a.s == b.s
	case vtBool:
		return a.b == b.b
	}
	c, _ := compare(a, b)
	return c == 0
}

// fold maps every rune to the smallest rune of its simple case-folding orbit, so that two strings are equal after
// folding exactly when strings.EqualFold says so; prefix, suffix and substring tests then ignore case consistently.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		if m >= 'A' && m <= 'Z' { // keep ASCII folding identical to the fast path
			m += 'a' - 'A'
		}
		return m
	}, s)
}

// filter is a compiled goal filter.
type filter struct {
	name      string
	cond      string // canonical condition; "" when unknown
	negate    bool
	cs        bool
	dataType  valueType
	valueType valueType // dataType, else the JSON type of value
	value     operand   // value converted to valueType (is, contains on arrays)
	valueText string    // value as text, folded unless case-sensitive (contains, starts_with, ends_with)
	hasText   bool
	ordType   valueType // vtTime when data_type is DATETIME, else vtNumber (ordering conditions)
	lo, hi    operand   // value and value1 converted to ordType
	list      []operand // elements of value for "in"
	listOK    bool
}

func compileFilter(f *domain.GoalFilter) *filter {
	if f == nil {
		return nil
	}
	c := &filter{
		name:     f.Name,
		cond:     conditions[strings.ToLower(strings.TrimSpace(f.Condition))],
		negate:   f.Negate,
		cs:       f.IsCaseSensitive,
		dataType: dataTypeOf(f.DataType),
	}
	c.valueType = c.dataType
	if c.valueType == vtNone {
		c.valueType = typeOfValue(f.Value)
	}
	c.value = convert(f.Value, c.valueType, c.cs)
	if s, ok := text(f.Value); ok {
		if !c.cs {
			s = fold(s)
		}
		c.valueText, c.hasText = s, true
	}
	c.ordType = vtNumber
	if c.dataType == vtTime {
		c.ordType = vtTime
	}
	c.lo = convert(f.Value, c.ordType, c.cs)
	c.hi = convert(f.Value1, c.ordType, c.cs)
	if c.cond == "in" && kindOf(f.Value) == jsArray {
		var elems []json.RawMessage
		if json.Unmarshal(f.Value, &elems) == nil {
			c.listOK = true
			for _, el := range elems {
				t := c.dataType
				if t == vtNone {
					t = typeOfValue(el)
				}
				c.list = append(c.list, convert(el, t, c.cs))
			}
		}
	}
	return c
}

// MatchFilter reports whether the goal filter f holds for the attribute object attrs (SPEC §3.12.3). A nil filter
// always holds. attrs that are absent or not a JSON object have no attributes.
//
// Resolved details: the comparison type is data_type (STRING; NUMBER or DOUBLE; BOOL; DATETIME — case-insensitive;
// other data_type values are ignored), else the JSON type of value (string, number, boolean). Conversions: to STRING
// from a string, number (its JSON text) or boolean; to numbers from a number or a numeric string; to BOOL from a
// boolean or the strings "true"/"false" (any case); to DATETIME from a number or string per SPEC §3.7. contains,
// starts_with and ends_with on a scalar need a string attribute and compare texts (a numeric value is used as its
// text); contains on an array attribute looks for an element equal to value under the comparison type. The ordering
// conditions and between compare instants when data_type is DATETIME and numbers otherwise (numeric strings
// included). in compares the attribute with each element of the array value, each element under data_type or else
// its own JSON type. A null attribute is missing. An unknown condition never matches, whatever negate says.
func MatchFilter(f *domain.GoalFilter, attrs json.RawMessage) bool {
	if f == nil {
		return true
	}
	return compileFilter(f).match(decodeAttrs(attrs))
}

func (f *filter) match(attrs map[string]json.RawMessage) bool {
	if f == nil {
		return true
	}
	if f.cond == "" {
		return false
	}
	return f.holds(attrs) != f.negate
}

func (f *filter) holds(attrs map[string]json.RawMessage) bool {
	raw, ok := attrs[f.name]
	if !ok {
		return false
	}
	kind := kindOf(raw)
	if kind == jsNull || kind == jsInvalid {
		return false
	}
	switch f.cond {
	case "exists":
		return true
	case "is":
		return f.valueType != vtNone && equal(convert(raw, f.valueType, f.cs), f.value)
	case "in":
		for _, el := range f.list {
			if equal(convert(raw, el.t, f.cs), el) {
				return true
			}
		}
		return false
	case "contains":
		if kind == jsArray {
			if f.valueType == vtNone {
				return false
			}
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) != nil {
				return false
			}
			for _, el := range elems {
				if equal(convert(el, f.valueType, f.cs), f.value) {
					return true
				}
			}
			return false
		}
		s, ok := f.attrText(raw, kind)
		return ok && strings.Contains(s, f.valueText)
	case "starts_with":
		s, ok := f.attrText(raw, kind)
		return ok && strings.HasPrefix(s, f.valueText)
	case "ends_with":
		s, ok := f.attrText(raw, kind)
		return ok && strings.HasSuffix(s, f.valueText)
	case "greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal":
		a := convert(raw, f.ordType, f.cs)
		if !a.set || !f.lo.set {
			return false
		}
		c, _ := compare(a, f.lo)
		switch f.cond {
		case "greater_than":
			return c > 0
		case "greater_than_or_equal":
			return c >= 0
		case "less_than":
			return c < 0
		}
		return c <= 0
	case "between":
		a := convert(raw, f.ordType, f.cs)
		if !a.set || !f.lo.set || !f.hi.set {
			return false
		}
		c1, _ := compare(f.lo, a)
		c2, _ := compare(a, f.hi)
		return c1 <= 0 && c2 <= 0
	}
	return false
}

// attrText is the text of a string attribute for the string conditions (folded unless case-sensitive).
func (f *filter) attrText(raw json.RawMessage, kind jsonKind) (string, bool) {
	if kind != jsString || !f.hasText {
		return "", false
	}
	s, ok := text(raw)
	if !ok {
		return "", false
	}
	if !f.cs {
		s = fold(s)
	}
	return s, true
}
