package ingest

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// Item is the outcome for one event position of a Streams body.
type Item struct {
	Index   int           // 0-based position in `events`, or 0-based line number for NDJSON (blank lines counted)
	UUID    string        // event_uuid when it could be read (numbers converted to text), else ""
	Payload []byte        // exact JSON text of the element or line as received (line without trailing \r)
	Event   *domain.Event // non-nil when the event passed validation
	Reject  string        // the exact SPEC §3.3 message when rejected; "" when accepted
}

// BodyError is a whole-request decoding failure; the HTTP layer maps it to the §3.11 error envelope (HTTP 400).
type BodyError struct {
	Type      string // e.g. "Malformed JSON" or "InvalidParams"
	Attribute string // e.g. "body" or "events"
	Message   string // exact §3.11 / §3.2 message
}

func (e *BodyError) Error() string { return e.Type + ": " + e.Attribute + ": " + e.Message }

// Whole-request errors of a Streams body (SPEC §3.2, §3.11).
var (
	errEmptyBody     = BodyError{"Empty request body", "body", "Request body is empty"}
	errMalformedJSON = BodyError{"Malformed JSON", "body",
		"Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."}
	errNotObject   = BodyError{"InvalidParams", "body", "body should be a JSON object"}
	errEventsArray = BodyError{"InvalidParams", "events", "events should be an array"}
)

func bodyErr(e BodyError) error { return &e }

// Rejection messages of SPEC §3.3 (and §12.11), in rule order.
const (
	RejectLineNotJSON       = "line is not valid JSON"
	RejectNotObject         = "event is not a JSON object"
	RejectNoWrappedEvent    = "event wrapper has no event object"
	RejectUUIDRequired      = "event_uuid is required"
	RejectUUIDTooLong       = "event_uuid is longer than 128 characters"
	RejectCodeOrName        = "event_code or event_name is required"
	RejectTimeRequired      = "event_time is required"
	RejectTimeInvalid       = "event_time is not a valid epoch or ISO-8601 time"
	RejectTimeBefore2000    = "event_time is before 2000-01-01"
	RejectTimeFuture        = "event_time is more than 5 minutes in the future"
	RejectEventAttributes   = "event_attributes must be an object"
	RejectUserAttributes    = "user_attributes must be an object"
	RejectDeviceAttributes  = "device_attributes must be an object"
	RejectCampaignIDMissing = "event_attributes.campaign_id is required for campaign events"
	RejectCampaignIDInvalid = "event_attributes.campaign_id is invalid"
	RejectParentIDInvalid   = "event_attributes.parent_campaign_id is invalid"
	RejectNoUserIdentity    = "no user identity (uid, user_attributes.moengage_user_id, " +
		"device_attributes.moengage_device_id, push_id, email_id or mobile_number)"
	// Rule 16, added after rule 15 by SPEC §12.11.
	RejectUserKeyTooLong = "user identity is longer than 256 characters"
)

// Limits of SPEC §3.3.
const (
	MaxUUIDChars   = 128
	minEventTimeMS = 946_684_800_000 // 2000-01-01T00:00:00Z
	FutureSlack    = 5 * time.Minute
	maxCampaignID  = 128
)

// SourceStreams is the Event.Source of Streams events.
const SourceStreams = "streams"

// DecodeStreams decodes a Streams body (SPEC §3.2, §3.3). ndjson selects the NDJSON shapes (b) and (c); otherwise
// the body is shape (a), a Streams batch envelope, and an object without an "events" key is handled as a one-line
// NDJSON body. now is the receipt time (rule 10). Duplicate detection is not done here.
//
// The returned error is a *BodyError. Item.Payload and Event.Attributes alias body: do not modify or reuse body
// while the items are in use. Events of one call may share Tags slices; treat them as read-only.
func DecodeStreams(body []byte, ndjson bool, now time.Time) ([]Item, error) {
	if isBlank(body) {
		return nil, bodyErr(errEmptyBody)
	}
	if !utf8.Valid(body) {
		return nil, bodyErr(errMalformedJSON)
	}
	d := decoder{tables: lookupTables(), maxTimeMS: now.Add(FutureSlack).UnixMilli()}
	if ndjson {
		return d.decodeNDJSON(body), nil
	}
	return d.decodeEnvelope(body)
}

// isBlank reports whether b holds only ASCII white space.
func isBlank(b []byte) bool {
	for _, c := range b {
		if !isASCIISpace(c) {
			return false
		}
	}
	return true
}

// decoder holds the state of one DecodeStreams call.
type decoder struct {
	tables    *codeTables
	maxTimeMS int64
	items     []Item
	events    []domain.Event // current chunk of event storage; items point into it
	names     intern
	caches    valueCaches
	f, inner  eventFields // scratch space for the event being decoded
}

// newEvent returns storage for one more accepted event. Events are allocated in chunks so that the pointers held
// by items stay valid without one allocation per event.
func (d *decoder) newEvent() *domain.Event {
	if len(d.events) == cap(d.events) {
		n := 2 * cap(d.events)
		n = max(n, 16)
		n = min(n, 1024)
		d.events = make([]domain.Event, 0, n)
	}
	d.events = d.events[:len(d.events)+1]
	return &d.events[len(d.events)-1]
}

// estimate allocates storage for the expected number of items and a first chunk of event storage.
func (d *decoder) estimate(items, events int) {
	d.items = make([]Item, 0, items)
	d.events = make([]domain.Event, 0, min(max(events, 1), 1024))
}

// decodeEnvelope handles shape (a). The body is validated and its events decoded in one pass; when the body turns
// out to be malformed after some events were decoded, they are discarded.
func (d *decoder) decodeEnvelope(body []byte) ([]Item, error) {
	i := jsonscan.SkipWS(body, 0)
	if body[i] != '{' {
		if jsonscan.Valid(body) {
			return nil, bodyErr(errNotObject)
		}
		return nil, bodyErr(errMalformedJSON)
	}
	hasEvents, eventsArray := false, false
	it := jsonscan.ObjectAt(body, i, 1)
	for {
		key, esc, ok := it.NextKey()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		if string(key) != "events" {
			if _, ok := it.SkipVal(); !ok {
				break
			}
			continue
		}
		hasEvents = true
		if it.Pos() >= len(body) || body[it.Pos()] != '[' {
			eventsArray = false
			if _, ok := it.SkipVal(); !ok {
				break
			}
			continue
		}
		// A later duplicate "events" member replaces an earlier one, as with encoding/json.
		eventsArray = true
		end := d.decodeArray(body, it.Pos())
		if end < 0 {
			it.Fail()
			break
		}
		it.SkipTo(end)
	}
	end := it.End()
	if end < 0 || jsonscan.SkipWS(body, end) != len(body) {
		return nil, bodyErr(errMalformedJSON)
	}
	if !hasEvents {
		// No "events" key: a one-line NDJSON body (shape b or c).
		j := len(body)
		for j > i && jsonscan.IsWS(body[j-1]) {
			j--
		}
		d.estimate(1, 1)
		d.decodeLine(0, body[i:j])
		return d.items, nil
	}
	if !eventsArray {
		return nil, bodyErr(errEventsArray)
	}
	return d.items, nil
}

// decodeArray decodes the elements of the "events" array starting at b[i] == '['. It returns the index after the
// array, or -1 when the text is not valid JSON.
func (d *decoder) decodeArray(b []byte, i int) int {
	n := len(b)/512 + 1
	d.estimate(n, n)
	ai := jsonscan.ArrayAt(b, i, 2)
	for {
		start, ok := ai.NextStart()
		if !ok {
			break
		}
		var end int
		if b[start] == '{' {
			d.f.reset()
			if end = d.f.read(b, start, ai.Depth()+1, nil); end < 0 {
				return -1
			}
			d.items = append(d.items, Item{Index: ai.Count(), Payload: b[start:end]})
			d.validate(&d.items[len(d.items)-1], &d.f)
		} else {
			if end = jsonscan.SkipValue(b, start, ai.Depth()); end < 0 {
				return -1
			}
			d.items = append(d.items, Item{Index: ai.Count(), Payload: b[start:end], Reject: RejectNotObject})
		}
		ai.Finish(end)
	}
	return ai.End()
}

// decodeNDJSON handles shapes (b) and (c).
func (d *decoder) decodeNDJSON(body []byte) []Item {
	lines := bytes.Count(body, []byte{'\n'}) + 1
	d.estimate(lines, lines)
	for line := 0; len(body) > 0; line++ {
		var l []byte
		if k := bytes.IndexByte(body, '\n'); k >= 0 {
			l, body = body[:k], body[k+1:]
		} else {
			l, body = body, nil
		}
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		if isBlank(l) {
			continue
		}
		d.decodeLine(line, l)
	}
	return d.items
}

// decodeLine validates one NDJSON line (rules 1–3, then the event's own rules) and appends its Item.
func (d *decoder) decodeLine(index int, payload []byte) {
	d.items = append(d.items, Item{Index: index, Payload: payload})
	it := &d.items[len(d.items)-1]
	i := jsonscan.SkipWS(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		if jsonscan.Valid(payload) {
			it.Reject = RejectNotObject
		} else {
			it.Reject = RejectLineNotJSON
		}
		return
	}
	d.f.reset()
	d.inner.reset()
	end := d.f.read(payload, i, 1, &d.inner)
	if end < 0 || jsonscan.SkipWS(payload, end) != len(payload) {
		it.Reject = RejectLineNotJSON
		return
	}
	if d.f.wrapper == nil {
		d.validate(it, &d.f)
		return
	}
	if d.f.wrapper[0] != '{' {
		it.Reject = RejectNoWrappedEvent
		return
	}
	d.validate(it, &d.inner)
}

// idValue reads a campaign_id / parent_campaign_id value: strings and numbers give their text (possibly empty),
// absent and null give "" (valid); other JSON types are invalid.
func idValue(v []byte) ([]byte, bool) {
	if !present(v) {
		return nil, true
	}
	return scalarBytes(v)
}

// ValidCampaignID reports whether id is a valid campaign_id (SPEC §2.2): 1–128 characters from
// A–Z a–z 0–9 . _ - :
func ValidCampaignID(id string) bool { return validCampaignID([]byte(id)) }

// validCampaignID implements §2.2: 1–128 characters from A–Z a–z 0–9 . _ - :
func validCampaignID(id []byte) bool {
	if len(id) == 0 || len(id) > maxCampaignID {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}

// localeKey implements the locale rule of §2.6 on the resolved locale_name / locale_id (§13.5 aliases applied).
func localeKey(a *attrFields) []byte {
	return localeKeyText(keyValue(a.localeName), keyValue(a.localeID))
}

// localeKeyText applies §2.6 to the trimmed texts of locale_name and locale_id.
func localeKeyText(name, id []byte) []byte {
	l := name
	if len(l) == 0 {
		l = id
	}
	if domain.IsAllLocalesKey(string(l)) {
		return nil
	}
	return l
}

// variationKey implements the variation rule of §2.6 (held-out events override it later).
func (d *decoder) variationKey(v []byte) string { return d.variationKeyText(keyValue(v)) }

// variationKeyText applies §2.6 to the trimmed text of variation_id.
func (d *decoder) variationKeyText(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if isDigits(s) {
		k := 0
		for k < len(s)-1 && s[k] == '0' {
			k++
		}
		return d.names.variation(s[k:])
	}
	switch string(s) {
	case domain.AllVariations, domain.CampaignControlGroup, domain.GlobalControlGroup:
		return ""
	}
	return d.names.get(s)
}

// VariationKey implements the variation rule of SPEC §2.6 for a variation_id text (a JSON number's decimal text
// for numbers): trimmed; "" when empty or reserved (all_variations, campaign_control_group,
// global_control_group); "variation_<n>" for a purely numeric id with leading zeros dropped; else the text.
func VariationKey(variationID string) string {
	var d decoder
	return d.variationKeyText(trimSpaceBytes([]byte(variationID)))
}

// LocaleKey implements the locale rule of SPEC §2.6 for the texts of locale_name and locale_id (absent = ""):
// the first non-empty trimmed value; "" when none or when it is a spelling of the aggregate key (all_locale or
// all_locales, domain.IsAllLocalesKey).
func LocaleKey(localeName, localeID string) string {
	return string(localeKeyText(trimSpaceBytes([]byte(localeName)), trimSpaceBytes([]byte(localeID))))
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) > 0
}

// splitTags splits a moe_campaign_tags value on ',', trimming and dropping empty tags.
func splitTags(s []byte) []string {
	var out []string
	for len(s) > 0 {
		var part []byte
		if k := bytes.IndexByte(s, ','); k >= 0 {
			part, s = s[:k], s[k+1:]
		} else {
			part, s = s, nil
		}
		if part = trimSpaceBytes(part); len(part) > 0 {
			out = append(out, string(part))
		}
	}
	return out
}

// maxInterned bounds the per-request intern table.
const maxInterned = 4096

// intern shares the strings of repeated values (campaign ids, names, locales, variations) within one request, so
// a batch of events for a few campaigns allocates each value once.
type intern struct {
	m   map[string]string
	buf []byte
}

// get returns b as a string, shared with earlier equal values.
func (in *intern) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string, 64)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// variation returns "variation_" + digits.
func (in *intern) variation(digits []byte) string {
	in.buf = append(append(in.buf[:0], "variation_"...), digits...)
	return in.get(in.buf)
}

// canonical returns the event_code (isCode) or event_name text v, sharing the table's spelling when v equals it.
func (in *intern) canonical(v []byte, m *Mapping, isCode bool) string {
	if len(v) == 0 {
		return ""
	}
	if m != nil {
		list := m.Names
		if isCode {
			list = m.Codes
		}
		for _, c := range list {
			if c == string(v) {
				return c
			}
		}
	}
	return in.get(v)
}
