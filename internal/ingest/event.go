package ingest

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// eventFields are the raw values (exact JSON text, nil when absent) of the members of an event object that ingest
// reads, including those of its attribute objects. Later duplicates of a key win, as with encoding/json.
type eventFields struct {
	uuid, code, name, time       []byte
	uid, pushID, email, mobile   []byte
	evAttrs, userAttrs, devAttr  []byte
	wrapper                      []byte // the "event" member of an export-wrapped line
	attrs                        attrFields
	moeUserID                    []byte // user_attributes.moengage_user_id
	deviceID, devPlatform, devOS []byte // device_attributes members
}

func (f *eventFields) reset() { *f = eventFields{} }

// attrFields are the raw values of the event_attributes members ingest reads. After read, campaignID, parentID,
// campaignName, localeName, localeID and variationID hold the value actually used: the unprefixed member, or its
// moe_ alias of SPEC §13.5 when the unprefixed one has no value (see aliasValue).
type attrFields struct {
	campaignID, parentID, campaignName  []byte
	localeName, localeID, variationID   []byte
	platform, os                        []byte
	campaignChannel, moeCampaignChannel []byte
	moeDeliveryType, campaignType, tags []byte
	aliases                             attrAliases
}

// attrAliases are the raw values of the moe_-prefixed aliases of SPEC §13.5 (moe_campaign_channel, already read
// by §3.14, is kept in attrFields).
type attrAliases struct {
	campaignID, parentID, campaignName []byte // moe_campaign_id, moe_c_pid, moe_campaign_name
	localeName, localeID, variationID  []byte // moe_locale_name, moe_locale_id, moe_variation_id
}

// read parses and validates the object starting at b[i] == '{' into f, descending into event_attributes,
// user_attributes and device_attributes, and returns the index just after the object (-1 when the text is not
// valid JSON). depth is the nesting depth of the object. When inner is non-nil, an "event" member holding an
// object (export wrapper) is parsed into inner too.
func (f *eventFields) read(b []byte, i, depth int, inner *eventFields) int {
	it := jsonscan.ObjectAt(b, i, depth)
	for {
		key, esc, ok := it.NextKey()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		vs := it.Pos()
		obj := vs < len(b) && b[vs] == '{'
		var val []byte
		switch string(key) {
		case "event_attributes":
			f.attrs = attrFields{}
			if obj {
				val, ok = f.attrs.read(&it)
			} else {
				val, ok = it.SkipVal()
			}
			f.evAttrs = val
		case "user_attributes":
			f.moeUserID = nil
			if obj {
				val, ok = f.readUser(&it)
			} else {
				val, ok = it.SkipVal()
			}
			f.userAttrs = val
		case "device_attributes":
			f.deviceID, f.devPlatform, f.devOS = nil, nil, nil
			if obj {
				val, ok = f.readDevice(&it)
			} else {
				val, ok = it.SkipVal()
			}
			f.devAttr = val
		case "event":
			if inner != nil && obj {
				inner.reset()
				end := inner.read(b, vs, depth+1, nil)
				if end < 0 {
					return -1
				}
				it.SkipTo(end)
				val = b[vs:end]
			} else {
				val, ok = it.SkipVal()
			}
			f.wrapper = val
		default:
			val, ok = it.SkipVal()
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
			}
		}
		if !ok {
			return -1
		}
	}
	return it.End()
}

// read parses the event_attributes object at parent.Pos().
func (a *attrFields) read(parent *jsonscan.ObjIter) ([]byte, bool) {
	it := parent.Child()
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
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
		case "moe_campaign_id":
			a.aliases.campaignID = val
		case "moe_c_pid":
			a.aliases.parentID = val
		case "moe_campaign_name":
			a.aliases.campaignName = val
		case "moe_locale_name":
			a.aliases.localeName = val
		case "moe_locale_id":
			a.aliases.localeID = val
		case "moe_variation_id":
			a.aliases.variationID = val
		}
	}
	a.resolveAliases()
	return parent.EndChild(&it)
}

// resolveAliases applies SPEC §13.5 field by field: each field keeps its unprefixed member when that has a value,
// else takes its moe_ alias when that has one. The §2.6 locale order then runs on the resolved fields, so
// moe_locale_name comes before locale_id.
func (a *attrFields) resolveAliases() {
	al := &a.aliases
	a.campaignID = aliasValue(a.campaignID, al.campaignID)
	a.parentID = aliasValue(a.parentID, al.parentID)
	a.campaignName = aliasValue(a.campaignName, al.campaignName)
	a.localeName = aliasValue(a.localeName, al.localeName)
	a.localeID = aliasValue(a.localeID, al.localeID)
	a.variationID = aliasValue(a.variationID, al.variationID)
}

// aliasValue returns the raw value of a field read from its unprefixed member u or its moe_ alias p (SPEC §13.5):
// u when it is present (not null), even empty — "where both are present the unprefixed name wins", and §3.3 tells
// a present member from a non-empty one; otherwise p when p is present; otherwise u, so that a field sent only
// without prefix behaves exactly as before.
func aliasValue(u, p []byte) []byte {
	if present(u) || !present(p) {
		return u
	}
	return p
}

// readUser parses the user_attributes object at parent.Pos().
func (f *eventFields) readUser(parent *jsonscan.ObjIter) ([]byte, bool) {
	it := parent.Child()
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		if string(key) == "moengage_user_id" {
			f.moeUserID = val
		}
	}
	return parent.EndChild(&it)
}

// readDevice parses the device_attributes object at parent.Pos().
func (f *eventFields) readDevice(parent *jsonscan.ObjIter) ([]byte, bool) {
	it := parent.Child()
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			break
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		switch string(key) {
		case "moengage_device_id":
			f.deviceID = val
		case "platform":
			f.devPlatform = val
		case "os":
			f.devOS = val
		}
	}
	return parent.EndChild(&it)
}

// identity returns the §2.8 fields.
func (f *eventFields) identity() streamsIdentity {
	return streamsIdentity{uid: f.uid, moeUserID: f.moeUserID, deviceID: f.deviceID, pushID: f.pushID,
		email: f.email, mobile: f.mobile}
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
	return trimSpaceBytes(jsonscan.Unquote(v))
}

// rawString is a JSON string member's value as sent (not trimmed); nil for other JSON types.
func rawString(v []byte) []byte {
	if len(v) == 0 || v[0] != '"' {
		return nil
	}
	return jsonscan.Unquote(v)
}

// validate applies rules 4–15 of §3.3 to a parsed event and, on success, fills the item's Event.
func (d *decoder) validate(it *Item, f *eventFields) {
	// Rules 4, 5: event_uuid.
	uuid, ok := scalarBytes(f.uuid)
	if !ok || len(uuid) == 0 {
		it.Reject = RejectUUIDRequired
		return
	}
	// The uuid text is copied once: on rejection here, on acceptance together with the user key below.
	reject := func(msg string) {
		it.UUID, it.Reject = string(uuid), msg
	}
	if len(uuid) > MaxUUIDChars && utf8.RuneCount(uuid) > MaxUUIDChars {
		reject(RejectUUIDTooLong)
		return
	}
	// Rule 6: event_code or event_name.
	code, name := stringValue(f.code), stringValue(f.name)
	if len(code) == 0 && len(name) == 0 {
		reject(RejectCodeOrName)
		return
	}
	// Rules 7–10: event_time.
	if !present(f.time) {
		reject(RejectTimeRequired)
		return
	}
	t, err := jsonscan.ParseTime(f.time)
	switch {
	case err != nil:
		reject(RejectTimeInvalid)
		return
	case t < minEventTimeMS:
		reject(RejectTimeBefore2000)
		return
	case t > d.maxTimeMS:
		reject(RejectTimeFuture)
		return
	}
	// Rule 11: attribute objects.
	switch {
	case present(f.evAttrs) && !isObject(f.evAttrs):
		reject(RejectEventAttributes)
		return
	case present(f.userAttrs) && !isObject(f.userAttrs):
		reject(RejectUserAttributes)
		return
	case present(f.devAttr) && !isObject(f.devAttr):
		reject(RejectDeviceAttributes)
		return
	}
	// §4.1 lookup; rules 12–14 for campaign events.
	m := d.tables.lookup(code, name)
	a := &f.attrs
	campaign := m != nil && m.Campaign
	var cid []byte
	if campaign {
		var valid bool
		cid, valid = idValue(a.campaignID)
		switch {
		case valid && len(cid) == 0 && m.userWithoutCampaignID:
			campaign = false // MOE_CAMPAIGN_CONTROL_GROUP without campaign_id: a user event (§3.3)
		case valid && len(cid) == 0:
			reject(RejectCampaignIDMissing)
			return
		case !valid || !validCampaignID(cid):
			reject(RejectCampaignIDInvalid)
			return
		}
		if campaign {
			pid, valid := idValue(a.parentID)
			if !valid || (len(pid) > 0 && !validCampaignID(pid)) {
				reject(RejectParentIDInvalid)
				return
			}
		}
	}
	// Rule 15: user identity.
	id := f.identity()
	ns, kv, lower, ok := id.keyParts()
	if !ok {
		reject(RejectNoUserIdentity)
		return
	}
	// Rule 16 (SPEC §12.11): the chosen value has at most MaxUserKeyChars characters.
	if userKeyTooLong(kv) {
		reject(RejectUserKeyTooLong)
		return
	}

	ev := d.newEvent()
	it.Event = ev
	ev.UUID, ev.UserKey = d.uuidAndKey(uuid, ns, kv, lower)
	it.UUID = ev.UUID
	ev.TimeMS = t
	// Stored exactly as sent: goals match action names exactly (SPEC §2.4); trimming is only for the §4.1 lookup.
	ev.Code = d.names.canonical(rawString(f.code), m, true)
	ev.Name = d.names.canonical(rawString(f.name), m, false)
	if !campaign && m != nil && m.userWithoutCampaignID {
		// MOE_CAMPAIGN_CONTROL_GROUP without campaign_id is stored as a user event with no effect (§3.3): without
		// an action name it matches no goal, not even one named after the code.
		ev.Code, ev.Name = "", ""
	}
	ev.Source = SourceStreams
	if present(f.evAttrs) {
		ev.Attributes = f.evAttrs
	}
	if campaign {
		d.fillCampaign(ev, m, f, cid)
	}
}

// uuidAndKey returns the uuid and the user key ns+value (value lower-cased when lower) as two strings sharing one
// allocation.
func (d *decoder) uuidAndKey(uuid []byte, ns string, value []byte, lower bool) (string, string) {
	var b strings.Builder
	b.Grow(len(uuid) + len(ns) + len(value))
	b.Write(uuid)
	b.WriteString(ns)
	if lower {
		writeLower(&b, value)
	} else {
		b.Write(value)
	}
	s := b.String()
	return s[:len(uuid)], s[len(uuid):]
}

// fillCampaign fills the campaign-event fields of ev (§2.6, §3.14, §4.2–§4.7).
func (d *decoder) fillCampaign(ev *domain.Event, m *Mapping, f *eventFields, cid []byte) {
	a := &f.attrs
	ev.Campaign = true
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
		ev.Platform = attrPlatform(f)
	}
	ev.Locale = d.names.get(localeKey(a))
	ev.Variation = d.variationKey(a.variationID)

	if m.Failure || m.ControlGroup {
		var r reasonAttrs
		if isObject(f.evAttrs) {
			r = reasonAttrsTrusted(f.evAttrs)
		}
		switch {
		case m.ControlGroup:
			d.heldOut(ev, r.hasCG && r.global)
		case m.PushFailure && r.hasCode && r.code == codeGlobalControlGroup:
			d.heldOut(ev, true)
		case m.PushFailure && r.hasCode && r.code == codeCampaignControlGroup:
			d.heldOut(ev, false)
		default:
			ev.FailureKey = r.failureKey()
		}
	}

	// Inference inputs (§3.14).
	ev.CampaignName = d.names.get(trimSpaceBytes(scalarOrNil(a.campaignName)))
	ev.InferredChannel = d.inferredChannel(m, a)
	if dt, ok := d.caches.deliveryType(a.moeDeliveryType); ok {
		ev.DeliveryType = dt
	} else if dt, ok := d.caches.deliveryType(a.campaignType); ok {
		ev.DeliveryType = dt
	}
	if s := stringValue(a.tags); len(s) > 0 {
		ev.Tags = d.caches.tags(s)
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
func attrPlatform(f *eventFields) string {
	for _, v := range [...][]byte{f.attrs.platform, f.attrs.os, f.devPlatform, f.devOS} {
		if p, ok := platformOf(v); ok {
			return p
		}
	}
	return ""
}

func platformOf(v []byte) (string, bool) {
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	return normalisePlatformBytes(jsonscan.Unquote(v))
}

// inferredChannel implements the channel column of §3.14.
func (d *decoder) inferredChannel(m *Mapping, a *attrFields) domain.Channel {
	switch {
	case m.Shared:
		if ch, ok := d.attrChannel(a); ok && ch == domain.ChannelOnSite {
			return domain.ChannelOnSite
		}
		return domain.ChannelInApp
	case m.ControlGroup:
		ch, _ := d.attrChannel(a)
		return ch
	}
	return m.single
}

// attrChannel returns the first of campaign_channel, moe_campaign_channel that normalises to a channel (§2.10).
func (d *decoder) attrChannel(a *attrFields) (domain.Channel, bool) {
	if ch, ok := d.caches.channel(a.campaignChannel); ok {
		return ch, true
	}
	return d.caches.channel(a.moeCampaignChannel)
}

// valueCaches remember, within one request, how repeated attribute values normalise.
type valueCaches struct {
	dt   map[string]domain.DeliveryType // "" = does not normalise
	ch   map[string]domain.Channel      // "" = does not normalise
	tagv map[string][]string
}

// deliveryType normalises a moe_delivery_type / campaign_type value (§2.10).
func (c *valueCaches) deliveryType(v []byte) (domain.DeliveryType, bool) {
	s := stringValue(v)
	if len(s) == 0 {
		return "", false
	}
	if dt, ok := c.dt[string(s)]; ok {
		return dt, dt != ""
	}
	dt, _ := domain.ParseDeliveryType(string(s))
	if c.dt == nil {
		c.dt = map[string]domain.DeliveryType{}
	}
	if len(c.dt) < maxInterned {
		c.dt[string(s)] = dt
	}
	return dt, dt != ""
}

// channel normalises a campaign_channel / moe_campaign_channel value (§2.10).
func (c *valueCaches) channel(v []byte) (domain.Channel, bool) {
	s := stringValue(v)
	if len(s) == 0 {
		return "", false
	}
	if ch, ok := c.ch[string(s)]; ok {
		return ch, ch != ""
	}
	ch, _ := domain.ParseChannel(string(s))
	if c.ch == nil {
		c.ch = map[string]domain.Channel{}
	}
	if len(c.ch) < maxInterned {
		c.ch[string(s)] = ch
	}
	return ch, ch != ""
}

// tags splits a moe_campaign_tags value. Events of one request with the same value share the (read-only) slice.
func (c *valueCaches) tags(s []byte) []string {
	if t, ok := c.tagv[string(s)]; ok {
		return t
	}
	t := splitTags(s)
	t = t[:len(t):len(t)] // appending to a shared slice must copy
	if c.tagv == nil {
		c.tagv = map[string][]string{}
	}
	if len(c.tagv) < maxInterned {
		c.tagv[string(s)] = t
	}
	return t
}
