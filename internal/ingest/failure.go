package ingest

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// ReasonUnknown is the failure_breakdown key of a failure event with no usable reason (SPEC §4.6).
const ReasonUnknown = "unknown"

// reason codes with a fixed meaning (SPEC §4.6, §4.7).
const (
	codeGlobalControlGroup   = 203
	codeCampaignControlGroup = 204
)

// failureCodeKeys is the reason-code table of SPEC §4.6.
var failureCodeKeys = map[int64]string{
	101: "users_removed_as_no_device_was_found",
	102: "users_removed_as_no_active_device_token_was_found",
	201: "users_removed_due_to_frequency_capping",
	202: "users_removed_due_to_dnd",
	203: domain.FailureKeyGlobalControlGroup,
	204: domain.FailureKeyCampaignControlGroup,
	205: "users_removed_due_to_minimum_delay",
	206: "users_removed_due_to_campaign_level_minimum_delay",
	207: "users_removed_due_to_atmost_notification",
	208: "users_removed_due_to_deduplication",
	301: "personalization_failure_errors",
	302: "timer_and_timer_with_progress_bar_template_errors",
	501: "rejected_by_sending_service",
}

// FailureCodeKey returns the failure_breakdown key of a reason code of the SPEC §4.6 table.
func FailureCodeKey(code int64) (string, bool) {
	k, ok := failureCodeKeys[code]
	return k, ok
}

// maxSnakeRunes is the length cut of the snake_case rule.
const maxSnakeRunes = 100

// SnakeCase implements the snake_case rule of SPEC §4.6: lower-case; every maximal run of characters that are not
// Unicode letters or digits becomes one '_'; leading and trailing '_' are stripped; the result is cut to 100
// characters and a trailing '_' stripped again. "" means "no reason".
func SnakeCase(s string) string {
	out := make([]byte, 0, len(s))
	n := 0       // runes written
	sep := false // a separator run is pending
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && n > 0 {
				if n == maxSnakeRunes {
					break
				}
				out = append(out, '_')
				n++
			}
			sep = false
			if n == maxSnakeRunes {
				break
			}
			out = utf8.AppendRune(out, r)
			n++
			continue
		}
		sep = true
	}
	for len(out) > 0 && out[len(out)-1] == '_' {
		out = out[:len(out)-1]
	}
	return string(out)
}

// FailureKeyFor applies SPEC §4.6 to an already extracted reason code (hasCode false when none) and reason text:
// a code of the table gives its key; else a non-empty snake_case of the reason; else "unknown".
func FailureKeyFor(code int64, hasCode bool, reason string) string {
	if hasCode {
		if k, ok := failureCodeKeys[code]; ok {
			return k
		}
	}
	if k := SnakeCase(reason); k != "" {
		return k
	}
	return ReasonUnknown
}

// FailureKey implements SPEC §4.6 for an event_attributes object (raw JSON; nil or non-objects give "unknown").
func FailureKey(attributes json.RawMessage) string {
	a := reasonAttrsOf(attributes)
	return a.failureKey()
}

// reasonAttrs are the failure-reason attributes found in an event_attributes object by normalised name.
type reasonAttrs struct {
	code     int64
	hasCode  bool
	codeRank int       // priority of the name the code came from (0 = code, 1 = reasoncode, 2 = failurecode)
	reasons  [3][]byte // raw reason values by name priority (reason, reasons, failurereason); snake-cased lazily
	global   bool      // controlgrouptype / cgtype equals "global"
	hasCG    bool
	cgRank   int
}

// failureKey applies §4.6: the code's table key, else the first reason (by name priority) with a non-empty
// snake_case, else "unknown".
func (a *reasonAttrs) failureKey() string {
	if a.hasCode {
		if k, ok := failureCodeKeys[a.code]; ok {
			return k
		}
	}
	for _, r := range a.reasons {
		if r != nil {
			if k := reasonValue(r); k != "" {
				return k
			}
		}
	}
	return ReasonUnknown
}

// reasonAttrsOf scans an attribute object for the §4.6 / §4.7 attributes.
func reasonAttrsOf(attributes []byte) reasonAttrs {
	i := jsonscan.SkipWS(attributes, 0)
	if i >= len(attributes) || attributes[i] != '{' || !jsonscan.Valid(attributes) {
		return reasonAttrs{}
	}
	return reasonAttrsTrusted(attributes[i:])
}

// reasonAttrsTrusted is reasonAttrsOf for an object known to be valid JSON.
func reasonAttrsTrusted(obj []byte) reasonAttrs {
	var a reasonAttrs
	it := jsonscan.TrustedObjIter(obj)
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		a.offer(key, val)
	}
	return a
}

// reason attribute kinds by normalised name.
const (
	raNone = iota
	raCode
	raReason
	raCGType
)

// classifyReasonName normalises an attribute name (lower-case; spaces, '_' and '-' deleted) and says which §4.6 /
// §4.7 attribute it is, with its priority among the names of that attribute (lower is preferred).
func classifyReasonName(key []byte) (kind, rank int) {
	var buf [24]byte
	n := 0
	for _, c := range key {
		switch {
		case c == ' ' || c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 0x80:
			// Non-ASCII letters never lower-case to the ASCII names below except the Kelvin sign (→ k), which
			// none of the names contain; such keys never match.
			return raNone, 0
		}
		if n == len(buf) {
			return raNone, 0
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "code":
		return raCode, 0
	case "reasoncode":
		return raCode, 1
	case "failurecode":
		return raCode, 2
	case "reason":
		return raReason, 0
	case "reasons":
		return raReason, 1
	case "failurereason":
		return raReason, 2
	case "controlgrouptype":
		return raCGType, 0
	case "cgtype":
		return raCGType, 1
	}
	return raNone, 0
}

// offer considers one attribute. For each of code, reason and control-group type the usable value of the most
// preferred name wins; among keys with the same normalised name the first usable one wins.
func (a *reasonAttrs) offer(key, val []byte) {
	kind, rank := classifyReasonName(key)
	switch kind {
	case raCode:
		if a.hasCode && a.codeRank <= rank {
			return
		}
		if c, ok := reasonCodeValue(val); ok {
			a.code, a.hasCode, a.codeRank = c, true, rank
		}
	case raReason:
		// The first string, number or array under each name counts.
		if a.reasons[rank] == nil && len(val) > 0 && (val[0] == '"' || val[0] == '[' || val[0] == '-' ||
			(val[0] >= '0' && val[0] <= '9')) {
			a.reasons[rank] = val
		}
	case raCGType:
		if a.hasCG && a.cgRank <= rank {
			return
		}
		if len(val) > 0 && val[0] == '"' {
			a.hasCG, a.cgRank = true, rank
			a.global = strings.EqualFold(strings.TrimSpace(string(jsonscan.Unquote(val))), "global")
		}
	}
}

// reasonCodeValue reads an integer or numeric-string reason code: a number whose value is an integer.
func reasonCodeValue(val []byte) (int64, bool) {
	s, ok := scalarBytes(val)
	if !ok {
		return 0, false
	}
	s = trimSpaceBytes(s)
	if len(s) == 0 {
		return 0, false
	}
	d, ok := jsonscan.ParseDecimal(s) // exactly: 204.0 and "2.04e2" are 204, 204.5 is no code
	if !ok {
		return 0, false
	}
	return d.Int64()
}

// reasonValue returns the snake_case key of a reason attribute: a string or number, or for an array the first
// element that gives a non-empty key.
func reasonValue(val []byte) string {
	if len(val) > 0 && val[0] == '[' {
		it := jsonscan.NewArrIter(val)
		for {
			el, ok := it.Next()
			if !ok {
				return ""
			}
			if s, ok := scalarBytes(el); ok {
				if k := SnakeCase(string(s)); k != "" {
					return k
				}
			}
		}
	}
	s, ok := scalarBytes(val)
	if !ok {
		return ""
	}
	return SnakeCase(string(s))
}
