package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// Event.Source values of Track Event and Bulk Import events.
const (
	SourceTrack = "track"
	SourceBulk  = "bulk"
)

// TrackUUIDPrefix starts the generated UUID of every Track Event / Bulk Import action: the prefix followed by 16
// random bytes (crypto/rand) in lower-case hex. Actions carry no event_uuid (SPEC §3.8), but the store deduplicates
// on UUID, so each accepted action gets a fresh one; retries are made safe by Idempotency-Key (§3.10), not by UUID.
const TrackUUIDPrefix = "trk-"

// IdempotentTrackUUID is the UUID of the i-th action of a request carrying an Idempotency-Key: the prefix and 16
// bytes of SHA-256 over (workspace, endpoint, key, period, i), so that a repeat of the request after a failure between
// the durable append and the stored response gives the same UUIDs, and the repeat stores nothing twice. period
// numbers the key's lifetime (the request's time divided by it): a key used again once its stored response has
// expired is a new request (SPEC §3.10) whose actions are new events, not duplicates of the first ones.
func IdempotentTrackUUID(ws, endpoint, key string, period int64, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%d", ws, endpoint, key, period, i))
	return TrackUUIDPrefix + hex.EncodeToString(sum[:16])
}

// Bounds of user_timezone_offset in seconds (SPEC §3.8); a value outside them is ignored.
const (
	MinUserTimezoneOffset = -54000
	MaxUserTimezoneOffset = 54000
)

// TrackError is a whole-request validation failure of Track Event / Bulk Import: the HTTP layer writes
// {"status":"fail","error":{"attribute":Attribute,"message":Message,"type":Type,"request_id":…}} with status 400.
// Message is the exact §3.11 text, with the location suffix of §3.11 / §12.7 for errors inside arrays.
type TrackError struct{ Type, Attribute, Message string }

func (e *TrackError) Error() string { return e.Type + ": " + e.Attribute + ": " + e.Message }

// Error types and messages of SPEC §3.11 for Track Event and Bulk Import.
const (
	trackMissing   = "MissingAttributeError"
	trackInvalid   = "InvalidParams"
	trackBlacklist = "Blacklisted"
	trackMalformed = "Malformed JSON"
	trackAttrError = "AttributeError"

	msgTypeMissing       = "type is not found in the payload"
	msgTypeEvent         = "type should be event"
	msgTypeTransition    = "type should be transition"
	msgCustomerIDMissing = "customer_id is not found in the payload"
	msgCustomerIDBlack   = "customer_id value is not allowed"
	msgCustomerIDLong    = "customer_id is longer than 256 characters" // SPEC §12.11
	msgActionsMissing    = "actions is not found in the payload"
	msgActionsEmpty      = "actions can not be empty Array"
	msgActionMissing     = "action is not found in the payload"
	msgActionEmpty       = "action cannot be empty Unicode string"
	msgActionNotString   = "action should be a string"
	msgAttributesObject  = "attributes should be an object"
	msgTimeInvalid       = " is not a valid epoch or ISO-8601 time" // prefixed by the field name
	msgTimeFuture        = " is more than 5 minutes in the future"  // prefixed by the field name
	msgTimeBefore2000    = " is before 2000-01-01"                  // prefixed by the field name (SPEC §12.12)
	msgElementsMissing   = "elements is not found in the payload"
	msgElementsEmpty     = "elements cannot be empty array"
	msgElementType       = "type in elements should be customer/event/device"
	fieldCurrentTime     = "current_time"
	fieldUserTime        = "user_time"
	fieldUserTimezoneOff = "user_timezone_offset"
)

// blacklistedCustomerIDs are the placeholder customer_id values refused by SPEC §3.8 (compared trimmed and
// ignoring case).
var blacklistedCustomerIDs = []string{
	"unknown", "guest", "null", "0", "1", "2", "-1", "-2", "true", "false", "user_attribute_unique_id", "(empty)",
	"na", "n/a", "''", "dummy_seller_code", "user_id", "id", "customer_id", "uid", "userid", "none",
}

// BlacklistedCustomerID reports whether a customer_id value is a refused placeholder (SPEC §3.8): the trimmed value
// equals one of the listed values under Unicode simple case folding.
func BlacklistedCustomerID(v string) bool {
	v = strings.TrimSpace(v)
	for _, b := range blacklistedCustomerIDs {
		if strings.EqualFold(v, b) {
			return true
		}
	}
	return false
}

// DecodeTrack validates a Track Event body (SPEC §3.8) and returns one user event per action, in action order.
// now is the receipt time. The request is atomic: on any error no events are returned. The error is a *BodyError
// for an empty body or a body that is not a JSON object in valid UTF-8, else a *TrackError. Returned events do not
// alias body.
func DecodeTrack(body []byte, now time.Time) ([]domain.Event, error) {
	obj, err := trackObject(body)
	if err != nil {
		return nil, err
	}
	var top trackFields
	top.read(obj)
	if err := checkType(top.typ, "event", msgTypeEvent); err != nil {
		return nil, err
	}
	d := newTrackDecoder(now, SourceTrack)
	if err := d.eventObject(&top, "", ""); err != nil {
		return nil, err
	}
	return d.finish(), nil
}

// DecodeBulk validates a Bulk Import body (SPEC §3.9) and returns one user event per action of its event
// elements, in body order; customer and device elements are accepted and ignored. Errors and atomicity are as for
// DecodeTrack.
func DecodeBulk(body []byte, now time.Time) ([]domain.Event, error) {
	obj, err := trackObject(body)
	if err != nil {
		return nil, err
	}
	var top trackFields
	top.read(obj)
	if err := checkType(top.typ, "transition", msgTypeTransition); err != nil {
		return nil, err
	}
	if !present(top.elements) || top.elements[0] != '[' {
		return nil, trackErr(trackMissing, "elements", msgElementsMissing, "")
	}
	d := newTrackDecoder(now, SourceBulk)
	ai := jsonscan.NewArrIter(top.elements)
	for {
		start, end, ok := ai.NextSpan()
		if !ok {
			break
		}
		i := ai.Count() - 1
		where := "elements[" + strconv.Itoa(i) + "]"
		el := top.elements[start:end]
		var f trackFields
		if isObject(el) {
			f.read(el)
		}
		switch stringText(f.typ) {
		case "customer", "device":
			// Accepted and ignored (§3.9).
		case "event":
			if err := d.eventObject(&f, where, where+"."); err != nil {
				return nil, err
			}
		default:
			return nil, trackErr(trackAttrError, "type", msgElementType, where)
		}
	}
	if ai.Count() == 0 {
		return nil, trackErr(trackMissing, "elements", msgElementsEmpty, "")
	}
	return d.finish(), nil
}

// trackObject checks the body-decoding rules of §3.11 and returns the text of the top-level object.
func trackObject(body []byte) ([]byte, error) {
	if isBlank(body) {
		return nil, bodyErr(errEmptyBody)
	}
	if !utf8.Valid(body) {
		return nil, bodyErr(errMalformedJSON)
	}
	i := jsonscan.SkipWS(body, 0)
	if body[i] != '{' {
		return nil, bodyErr(errMalformedJSON)
	}
	end := jsonscan.SkipValue(body, i, 0)
	if end < 0 || jsonscan.SkipWS(body, end) != len(body) {
		return nil, bodyErr(errMalformedJSON)
	}
	return body[i:end], nil
}

// trackErr builds a *TrackError; loc, when not empty, is appended to the message as " (at loc)".
func trackErr(typ, attr, msg, loc string) error {
	if loc != "" {
		msg += " (at " + loc + ")"
	}
	return &TrackError{Type: typ, Attribute: attr, Message: msg}
}

// checkType applies the two top-level "type" rows of §3.11: absent or null is MissingAttributeError; any value
// other than the JSON string want is InvalidParams.
func checkType(typ []byte, want, msg string) error {
	if !present(typ) {
		return trackErr(trackMissing, "type", msgTypeMissing, "")
	}
	if stringText(typ) != want {
		return trackErr(trackInvalid, "type", msg, "")
	}
	return nil
}

// stringText returns the decoded text of a JSON string value (not trimmed), or "" for other values.
func stringText(v []byte) string {
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	return string(jsonscan.Unquote(v))
}

// trackFields holds the exact value texts of the members of a Track Event body, a Bulk Import body or one of its
// elements (nil when absent). When a key repeats, the last one wins.
type trackFields struct {
	typ, customerID, identifiers, actions, elements []byte
}

// read fills f from the valid JSON object obj.
func (f *trackFields) read(obj []byte) {
	it := jsonscan.TrustedObjIter(obj)
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			return
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		switch string(key) {
		case "type":
			f.typ = val
		case "customer_id":
			f.customerID = val
		case "user_identifiers":
			f.identifiers = val
		case "actions":
			f.actions = val
		case "elements":
			f.elements = val
		}
	}
}

// actionFields holds the exact value texts of the members of one action.
type actionFields struct {
	action, attributes, currentTime, userTime, tzOffset []byte
}

// read fills a from the valid JSON object obj.
func (a *actionFields) read(obj []byte) {
	it := jsonscan.TrustedObjIter(obj)
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			return
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		switch string(key) {
		case "action":
			a.action = val
		case "attributes":
			a.attributes = val
		case fieldCurrentTime:
			a.currentTime = val
		case fieldUserTime:
			a.userTime = val
		case fieldUserTimezoneOff:
			a.tzOffset = val
		}
	}
}

// trackDecoder collects the events of one DecodeTrack / DecodeBulk call.
type trackDecoder struct {
	nowMS, maxTimeMS int64
	source           string
	events           []domain.Event
}

func newTrackDecoder(now time.Time, source string) *trackDecoder {
	return &trackDecoder{nowMS: now.UnixMilli(), maxTimeMS: now.Add(FutureSlack).UnixMilli(), source: source}
}

// finish gives every event its generated UUID and returns the events.
func (d *trackDecoder) finish() []domain.Event {
	if len(d.events) == 0 {
		return d.events
	}
	const n = 16
	buf := make([]byte, n*len(d.events))
	_, _ = rand.Read(buf) // crypto/rand.Read never returns an error (it crashes the program instead)
	for k := range d.events {
		d.events[k].UUID = TrackUUIDPrefix + hex.EncodeToString(buf[k*n:(k+1)*n])
	}
	return d.events
}

// eventObject validates a Track Event body or a Bulk "event" element and appends one event per action. where is
// the location suffix of object-level errors ("" for Track Event, "elements[i]" for Bulk); actionPrefix is put
// before "actions[j]" in the location of per-action errors ("" or "elements[i].").
func (d *trackDecoder) eventObject(f *trackFields, where, actionPrefix string) error {
	// customer_id / user_identifiers (§3.8, §2.8).
	var cid string
	hasCID, cidScalar := false, false
	if present(f.customerID) {
		v, ok := scalarBytes(f.customerID)
		cidScalar = ok
		if ok {
			cid = string(trimSpaceBytes(v))
			hasCID = cid != ""
		} else {
			hasCID = true // true, false, an object or an array: present, and never an allowed value
		}
	}
	var ids map[string]json.RawMessage
	if isObject(f.identifiers) {
		ids = identifierMap(f.identifiers)
	}
	var ns string
	var kv []byte
	var lower bool
	if !hasCID {
		var ok bool
		if ns, kv, lower, ok = trackKeyParts("", ids); !ok {
			return trackErr(trackMissing, "customer_id", msgCustomerIDMissing, where)
		}
	} else {
		if !cidScalar || BlacklistedCustomerID(cid) {
			return trackErr(trackBlacklist, "customer_id", msgCustomerIDBlack, where)
		}
		ns, kv, lower, _ = trackKeyParts(cid, nil)
	}
	// SPEC §12.11: the value chosen as user key — customer_id, or the user_identifiers value standing in for it —
	// has at most MaxUserKeyChars characters.
	if userKeyTooLong(kv) {
		return trackErr(trackInvalid, "customer_id", msgCustomerIDLong, where)
	}
	userKey := makeKey(ns, kv, lower)

	// actions.
	if !present(f.actions) || f.actions[0] != '[' {
		return trackErr(trackMissing, "actions", msgActionsMissing, where)
	}
	ai := jsonscan.NewArrIter(f.actions)
	for {
		start, end, ok := ai.NextSpan()
		if !ok {
			break
		}
		loc := actionPrefix + "actions[" + strconv.Itoa(ai.Count()-1) + "]"
		if err := d.action(f.actions[start:end], loc, userKey); err != nil {
			return err
		}
	}
	if ai.Count() == 0 {
		return trackErr(trackMissing, "actions", msgActionsEmpty, where)
	}
	return nil
}

// identifierMap returns the members of the valid user_identifiers object obj (decoded keys, exact value texts;
// the last of repeated keys wins).
func identifierMap(obj []byte) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage)
	it := jsonscan.TrustedObjIter(obj)
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			return m
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		m[string(key)] = val
	}
}

// action validates one action (its rows of §3.11 in table order) and appends its event.
func (d *trackDecoder) action(el []byte, loc, userKey string) error {
	var a actionFields
	if isObject(el) {
		a.read(el)
	}
	// action.
	if !present(a.action) {
		return trackErr(trackMissing, "action", msgActionMissing, loc)
	}
	if a.action[0] != '"' {
		return trackErr(trackMalformed, "action", msgActionNotString, loc)
	}
	name := jsonscan.Unquote(a.action) // stored as sent: goals match action names exactly (SPEC §2.4)
	if len(trimSpaceBytes(name)) == 0 {
		return trackErr(trackMissing, "action", msgActionEmpty, loc)
	}
	// attributes.
	if present(a.attributes) && !isObject(a.attributes) {
		return trackErr(trackInvalid, "attributes", msgAttributesObject, loc)
	}
	// current_time, else user_time, else receipt time.
	t, field := d.nowMS, ""
	var err error
	switch {
	case present(a.currentTime):
		field = fieldCurrentTime
		t, err = jsonscan.ParseTime(a.currentTime)
	case present(a.userTime):
		field = fieldUserTime
		t, err = userTimeMS(a.userTime, a.tzOffset)
	}
	if err != nil {
		return trackErr(trackInvalid, field, field+msgTimeInvalid, loc)
	}
	if field != "" && t < minEventTimeMS { // SPEC §12.12, as Streams' rule 9
		return trackErr(trackInvalid, field, field+msgTimeBefore2000, loc)
	}
	if field != "" && t > d.maxTimeMS {
		return trackErr(trackInvalid, field, field+msgTimeFuture, loc)
	}

	ev := domain.Event{
		TimeMS:  t,
		Name:    string(name),
		UserKey: userKey,
		Source:  d.source,
	}
	if present(a.attributes) {
		ev.Attributes = append(json.RawMessage(nil), a.attributes...)
	}
	d.events = append(d.events, ev)
	return nil
}

// userTimeMS parses a user_time value (SPEC §3.8): an epoch value or an ISO-8601 string with offset is used as is;
// an ISO-8601 string without offset (date-only included) is local time, converted to UTC by subtracting
// user_timezone_offset seconds when that is a valid offset, else read as UTC.
func userTimeMS(raw, tzOffset []byte) (int64, error) {
	t, err := jsonscan.ParseTime(raw)
	if err != nil {
		return 0, err
	}
	if raw[0] != '"' {
		return t, nil // a JSON number: epoch
	}
	s := jsonscan.Unquote(raw)
	if jsonscan.IsEpochString(s) || isoHasOffset(s) {
		return t, nil
	}
	if off, ok := timezoneOffset(tzOffset); ok {
		t -= off * 1000
	}
	return t, nil
}

// isoHasOffset reports whether a valid ISO-8601 time accepted by parseISO carries an offset (Z, z, ±…). The time
// part hh:mm[:ss[.fff]] contains none of these characters, so any of them after the date is the offset.
func isoHasOffset(s []byte) bool {
	if len(s) <= 10 {
		return false
	}
	for _, c := range s[11:] {
		switch c {
		case 'Z', 'z', '+', '-':
			return true
		}
	}
	return false
}

// timezoneOffset reads user_timezone_offset: a JSON number or a string holding a number, with an integral value
// within MinUserTimezoneOffset…MaxUserTimezoneOffset seconds. ok is false for anything else (the offset is then
// ignored; it is never an error).
func timezoneOffset(raw []byte) (int64, bool) {
	if !present(raw) {
		return 0, false
	}
	v, ok := scalarBytes(raw)
	if !ok {
		return 0, false
	}
	if raw[0] == '"' {
		// A string: only JSON-number text (surrounding spaces allowed), read like a number member.
		v = trimSpaceBytes(v)
		if len(v) == 0 || jsonscan.SkipNumber(v, 0) != len(v) {
			return 0, false
		}
		v, _ = scalarBytes(v)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < MinUserTimezoneOffset || n > MaxUserTimezoneOffset {
		return 0, false
	}
	return n, true
}
