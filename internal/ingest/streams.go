package ingest

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
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

// Rejection messages of SPEC §3.3, in rule order.
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
// while the items are in use.
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

type decoder struct {
	tables    *codeTables
	maxTimeMS int64
	items     []Item
	events    []domain.Event
	names     intern
}

func (d *decoder) alloc(n int) {
	d.items = make([]Item, 0, n)
	d.events = make([]domain.Event, 0, n)
}

// decodeEnvelope handles shape (a).
func (d *decoder) decodeEnvelope(body []byte) ([]Item, error) {
	i := skipWS(body, 0)
	if body[i] != '{' {
		if validJSON(body) {
			return nil, bodyErr(errNotObject)
		}
		return nil, bodyErr(errMalformedJSON)
	}
	var spans [][2]int // element spans of the last "events" member
	hasEvents, eventsArray := false, false
	it := objIter{b: body, i: i + 1, depth: 1}
	for {
		key, esc, ok := it.nextKey()
		if !ok {
			break
		}
		if esc {
			key = unquoteKey(key)
		}
		if string(key) != "events" {
			if _, ok := it.skipVal(); !ok {
				break
			}
			continue
		}
		hasEvents = true
		if it.i >= len(body) || body[it.i] != '[' {
			eventsArray = false
			if _, ok := it.skipVal(); !ok {
				break
			}
			continue
		}
		eventsArray = true
		spans = spans[:0]
		ai := arrIter{b: body, i: it.i + 1, depth: 2}
		for {
			start, end, ok := ai.nextSpan()
			if !ok {
				break
			}
			spans = append(spans, [2]int{start, end})
		}
		end := ai.end()
		if end < 0 {
			it.bad = true
			break
		}
		it.i = end
	}
	end := it.end()
	if end < 0 || skipWS(body, end) != len(body) {
		return nil, bodyErr(errMalformedJSON)
	}
	if !hasEvents {
		// No "events" key: a one-line NDJSON body (shape b or c).
		j := len(body)
		for j > i && isWS(body[j-1]) {
			j--
		}
		d.alloc(1)
		d.decodeOne(0, body[i:j], true)
		return d.items, nil
	}
	if !eventsArray {
		return nil, bodyErr(errEventsArray)
	}
	d.alloc(len(spans))
	for k, sp := range spans {
		d.decodeOne(k, body[sp[0]:sp[1]], false)
	}
	return d.items, nil
}

// decodeNDJSON handles shapes (b) and (c).
func (d *decoder) decodeNDJSON(body []byte) []Item {
	d.alloc(bytes.Count(body, []byte{'\n'}) + 1)
	for line := 0; len(body) > 0 || line == 0; line++ {
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
		d.decodeOne(line, l, true)
	}
	return d.items
}

// decodeOne validates one element or line and appends its Item.
func (d *decoder) decodeOne(index int, payload []byte, line bool) {
	d.items = append(d.items, Item{Index: index, Payload: payload})
	it := &d.items[len(d.items)-1]
	v := payload
	if line {
		v = bytes.TrimLeft(v, " \t\r\n")
		v = bytes.TrimRight(v, " \t\r\n")
	}
	var f eventFields
	if len(v) == 0 || v[0] != '{' {
		if line && !validJSON(v) {
			it.Reject = RejectLineNotJSON
			return
		}
		it.Reject = RejectNotObject
		return
	}
	if !f.read(v) {
		it.Reject = RejectLineNotJSON // only possible for lines: envelope elements were validated already
		return
	}
	if line && f.wrapper != nil {
		w := f.wrapper
		if w[0] != '{' {
			it.Reject = RejectNoWrappedEvent
			return
		}
		f = eventFields{}
		f.read(w)
	}
	d.validate(it, &f)
}

// eventFields are the raw values (exact JSON text, nil when absent) of the members of an event object that
// ingest reads. Later duplicates of a key win, as with encoding/json.
type eventFields struct {
	uuid, code, name, time      []byte
	uid, pushID, email, mobile  []byte
	evAttrs, userAttrs, devAttr []byte
	wrapper                     []byte // the "event" member of an export-wrapped line
}

// read fills f from the object text obj (obj[0] == '{'). It returns false when obj is not exactly one valid JSON
// object.
func (f *eventFields) read(obj []byte) bool {
	it := newObjIter(obj)
	for {
		key, esc, val, ok := it.next()
		if !ok {
			break
		}
		if esc {
			key = unquoteKey(key)
		}
		switch string(key) {
		case "event_uuid":
			f.uuid = val
		case "event_code":
			f.code = val
		case "event_name":
			f.name = val
		case "event_time":
			f.time = val
		case "uid":
			f.uid = val
		case "push_id":
			f.pushID = val
		case "email_id":
			f.email = val
		case "mobile_number":
			f.mobile = val
		case "event_attributes":
			f.evAttrs = val
		case "user_attributes":
			f.userAttrs = val
		case "device_attributes":
			f.devAttr = val
		case "event":
			f.wrapper = val
		}
	}
	return it.end() == len(obj)
}

// identity collects the §2.8 fields, reading user_attributes and device_attributes when they are objects.
func (f *eventFields) identity() streamsIdentity {
	id := streamsIdentity{uid: f.uid, pushID: f.pushID, email: f.email, mobile: f.mobile}
	if isObject(f.userAttrs) {
		it := newObjIter(f.userAttrs)
		for {
			key, esc, val, ok := it.next()
			if !ok {
				break
			}
			if esc {
				key = unquoteKey(key)
			}
			if string(key) == "moengage_user_id" {
				id.moeUserID = val
			}
		}
	}
	if isObject(f.devAttr) {
		id.deviceID, _, _ = deviceFields(f.devAttr)
	}
	return id
}

// deviceFields reads moengage_device_id, platform and os of a device_attributes object.
func deviceFields(obj []byte) (deviceID, platform, os []byte) {
	it := newObjIter(obj)
	for {
		key, esc, val, ok := it.next()
		if !ok {
			break
		}
		if esc {
			key = unquoteKey(key)
		}
		switch string(key) {
		case "moengage_device_id":
			deviceID = val
		case "platform":
			platform = val
		case "os":
			os = val
		}
	}
	return
}

func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }
func isNull(v []byte) bool   { return len(v) > 0 && v[0] == 'n' }

// present reports whether a member is present with a non-null value.
func present(v []byte) bool { return len(v) > 0 && !isNull(v) }

// stringValue returns the trimmed text of a string value; nil for absent members and other JSON types.
func stringValue(v []byte) []byte {
	if len(v) == 0 || v[0] != '"' {
		return nil
	}
	return trimSpaceBytes(unquoteBytes(v))
}

// validate applies rules 4–15 of §3.3 and, on success, fills the item's Event.
func (d *decoder) validate(it *Item, f *eventFields) {
	// Rules 4, 5: event_uuid.
	uuid, ok := scalarBytes(f.uuid)
	if !ok || len(uuid) == 0 {
		it.Reject = RejectUUIDRequired
		return
	}
	it.UUID = string(uuid)
	if len(uuid) > MaxUUIDChars && utf8.RuneCount(uuid) > MaxUUIDChars {
		it.Reject = RejectUUIDTooLong
		return
	}
	// Rule 6: event_code or event_name.
	code, name := stringValue(f.code), stringValue(f.name)
	if len(code) == 0 && len(name) == 0 {
		it.Reject = RejectCodeOrName
		return
	}
	// Rules 7–10: event_time.
	if !present(f.time) {
		it.Reject = RejectTimeRequired
		return
	}
	t, err := ParseTime(f.time)
	switch {
	case err != nil:
		it.Reject = RejectTimeInvalid
		return
	case t < minEventTimeMS:
		it.Reject = RejectTimeBefore2000
		return
	case t > d.maxTimeMS:
		it.Reject = RejectTimeFuture
		return
	}
	// Rule 11: attribute objects.
	switch {
	case present(f.evAttrs) && !isObject(f.evAttrs):
		it.Reject = RejectEventAttributes
		return
	case present(f.userAttrs) && !isObject(f.userAttrs):
		it.Reject = RejectUserAttributes
		return
	case present(f.devAttr) && !isObject(f.devAttr):
		it.Reject = RejectDeviceAttributes
		return
	}
	// §4.1 lookup; rules 12–14 for campaign events.
	m := d.tables.lookup(code, name)
	var a attrFields
	campaign := m != nil && m.Campaign
	if campaign {
		if isObject(f.evAttrs) {
			a.read(f.evAttrs, m.Failure || m.ControlGroup)
		}
		cid, valid := idValue(a.campaignID)
		switch {
		case valid && len(cid) == 0 && m.userWithoutCampaignID:
			campaign = false // MOE_CAMPAIGN_CONTROL_GROUP without campaign_id: a user event (§3.3)
		case valid && len(cid) == 0:
			it.Reject = RejectCampaignIDMissing
			return
		case !valid || !validCampaignID(cid):
			it.Reject = RejectCampaignIDInvalid
			return
		}
		if campaign {
			pid, valid := idValue(a.parentID)
			if !valid || (len(pid) > 0 && !validCampaignID(pid)) {
				it.Reject = RejectParentIDInvalid
				return
			}
		}
	}
	// Rule 15: user identity.
	id := f.identity()
	key, ok := id.key()
	if !ok {
		it.Reject = RejectNoUserIdentity
		return
	}

	d.events = append(d.events, domain.Event{})
	ev := &d.events[len(d.events)-1]
	it.Event = ev
	ev.UUID = it.UUID
	ev.TimeMS = t
	ev.Code = d.names.canonical(code, m, true)
	ev.Name = d.names.canonical(name, m, false)
	ev.UserKey = key
	ev.Source = SourceStreams
	if present(f.evAttrs) {
		ev.Attributes = f.evAttrs
	}
	if campaign {
		d.fillCampaign(ev, m, &a, f)
	}
}

// idValue reads a campaign_id / parent_campaign_id value: strings and numbers give their text (possibly empty),
// absent and null give "" (valid); other JSON types are invalid.
func idValue(v []byte) ([]byte, bool) {
	if !present(v) {
		return nil, true
	}
	return scalarBytes(v)
}

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

// attrFields are the raw values of the event_attributes members ingest reads for campaign events.
type attrFields struct {
	campaignID, parentID, campaignName  []byte
	localeName, localeID, variationID   []byte
	platform, os                        []byte
	campaignChannel, moeCampaignChannel []byte
	moeDeliveryType, campaignType, tags []byte
	reasons                             reasonAttrs
}

// read scans an event_attributes object; withReasons also collects the §4.6 / §4.7 attributes.
func (a *attrFields) read(obj []byte, withReasons bool) {
	it := newObjIter(obj)
	for {
		key, esc, val, ok := it.next()
		if !ok {
			break
		}
		if esc {
			key = unquoteKey(key)
		}
		switch string(key) {
		case "campaign_id":
			a.campaignID = val
		case "parent_campaign_id":
			a.parentID = val
		case "campaign_name":
			a.campaignName = val
		case "locale_name":
			a.localeName = val
		case "locale_id":
			a.localeID = val
		case "variation_id":
			a.variationID = val
		case "platform":
			a.platform = val
		case "os":
			a.os = val
		case "campaign_channel":
			a.campaignChannel = val
		case "moe_campaign_channel":
			a.moeCampaignChannel = val
		case "moe_delivery_type":
			a.moeDeliveryType = val
		case "campaign_type":
			a.campaignType = val
		case "moe_campaign_tags":
			a.tags = val
		}
		if withReasons {
			a.reasons.offer(key, val)
		}
	}
}

// fillCampaign fills the campaign-event fields of ev (§2.6, §3.14, §4.2–§4.7).
func (d *decoder) fillCampaign(ev *domain.Event, m *Mapping, a *attrFields, f *eventFields) {
	ev.Campaign = true
	cid, _ := scalarBytes(a.campaignID)
	ev.CampaignID = d.names.get(cid)
	if pid, _ := idValue(a.parentID); len(pid) > 0 && !bytes.Equal(pid, cid) {
		ev.ParentCampaignID = d.names.get(pid)
	}
	ev.Channels = m.Channels
	ev.Counter = m.Counter
	ev.Class = m.Class
	ev.PlatformDefault = m.Default
	if m.Platform != "" {
		ev.Platform = m.Platform
	} else {
		ev.Platform = attrPlatform(a, f)
	}
	ev.Locale = d.names.get(localeKey(a))
	ev.Variation = d.variationKey(a.variationID)

	switch {
	case m.PushFailure:
		r := &a.reasons
		switch {
		case r.hasCode && r.code == codeGlobalControlGroup:
			d.heldOut(ev, true)
		case r.hasCode && r.code == codeCampaignControlGroup:
			d.heldOut(ev, false)
		default:
			ev.FailureKey = r.failureKey()
		}
	case m.ControlGroup:
		d.heldOut(ev, a.reasons.hasCG && a.reasons.global)
	case m.Failure:
		ev.FailureKey = a.reasons.failureKey()
	}

	// Inference inputs (§3.14).
	ev.CampaignName = d.names.get(trimSpaceBytes(scalarOrNil(a.campaignName)))
	ev.InferredChannel = inferredChannel(m, a)
	if dt, ok := parseDeliveryType(a.moeDeliveryType); ok {
		ev.DeliveryType = dt
	} else if dt, ok := parseDeliveryType(a.campaignType); ok {
		ev.DeliveryType = dt
	}
	if s := stringValue(a.tags); len(s) > 0 {
		ev.Tags = splitTags(s)
		ev.HasTags = len(ev.Tags) > 0
	}
}

// heldOut turns ev into a held-out event of the global or campaign control group (§4.7).
func (d *decoder) heldOut(ev *domain.Event, global bool) {
	ev.Class = domain.ClassHeldOut
	if global {
		ev.Counter = domain.CounterHeldOutGlobal
		ev.Variation = domain.GlobalControlGroup
		ev.FailureKey = domain.FailureKeyGlobalControlGroup
		return
	}
	ev.Counter = domain.CounterHeldOutCampaign
	ev.Variation = domain.CampaignControlGroup
	ev.FailureKey = domain.FailureKeyCampaignControlGroup
}

func scalarOrNil(v []byte) []byte {
	s, _ := scalarBytes(v)
	return s
}

// attrPlatform returns the first of event_attributes.platform, event_attributes.os, device_attributes.platform,
// device_attributes.os that normalises to a known platform (§4.4), else "".
func attrPlatform(a *attrFields, f *eventFields) string {
	if p, ok := platformOf(a.platform); ok {
		return p
	}
	if p, ok := platformOf(a.os); ok {
		return p
	}
	if isObject(f.devAttr) {
		_, dp, dos := deviceFields(f.devAttr)
		if p, ok := platformOf(dp); ok {
			return p
		}
		if p, ok := platformOf(dos); ok {
			return p
		}
	}
	return ""
}

func platformOf(v []byte) (string, bool) {
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	return normalisePlatformBytes(unquoteBytes(v))
}

// localeKey implements the locale rule of §2.6.
func localeKey(a *attrFields) []byte {
	return localeKeyText(keyValue(a.localeName), keyValue(a.localeID))
}

// localeKeyText applies §2.6 to the trimmed texts of locale_name and locale_id.
func localeKeyText(name, id []byte) []byte {
	l := name
	if len(l) == 0 {
		l = id
	}
	if string(l) == domain.AllLocales {
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
// the first non-empty trimmed value; "" when none or when it equals all_locales.
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

// inferredChannel implements the channel column of §3.14.
func inferredChannel(m *Mapping, a *attrFields) domain.Channel {
	switch {
	case m.Shared:
		if ch, ok := attrChannel(a); ok && ch == domain.ChannelOnSite {
			return domain.ChannelOnSite
		}
		return domain.ChannelInApp
	case m.ControlGroup:
		ch, _ := attrChannel(a)
		return ch
	}
	return m.single
}

// attrChannel returns the first of campaign_channel, moe_campaign_channel that normalises to a channel (§2.10).
func attrChannel(a *attrFields) (domain.Channel, bool) {
	if s := stringValue(a.campaignChannel); len(s) > 0 {
		if ch, ok := domain.ParseChannel(string(s)); ok {
			return ch, true
		}
	}
	if s := stringValue(a.moeCampaignChannel); len(s) > 0 {
		if ch, ok := domain.ParseChannel(string(s)); ok {
			return ch, true
		}
	}
	return "", false
}

func parseDeliveryType(v []byte) (domain.DeliveryType, bool) {
	s := stringValue(v)
	if len(s) == 0 {
		return "", false
	}
	return domain.ParseDeliveryType(string(s))
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
