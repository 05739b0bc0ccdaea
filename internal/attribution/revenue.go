package attribution

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

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
		if c == '-' || (c >= '0' && c <= '9') {
			return jsNumber
		}
		return jsInvalid
	}
	return jsInvalid
}

// numberOf converts a JSON number or a numeric string (surrounding white space ignored; sign, leading zeros,
// fraction and exponent allowed, see jsonscan.ParseDecimal) to an exact decimal.
func numberOf(raw json.RawMessage) (jsonscan.Decimal, bool) {
	switch kindOf(raw) {
	case jsNumber:
		return jsonscan.ParseDecimal(bytes.TrimSpace(raw))
	case jsString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return jsonscan.Decimal{}, false
		}
		return jsonscan.ParseDecimal([]byte(strings.TrimSpace(s)))
	}
	return jsonscan.Decimal{}, false
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
	v, ok := d.Micros()
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
