package ingest

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// User-key namespaces (SPEC §2.8).
const (
	NSUID    = "uid:"
	NSMoe    = "moe:"
	NSDevice = "dev:"
	NSPush   = "push:"
	NSEmail  = "email:"
	NSMobile = "mobile:"
	NSID     = "id:" // followed by "<key>:"
)

// MaxUserKeyChars bounds the value chosen as user key (SPEC §12.11): at most 256 characters, counted as Unicode
// code points of the trimmed value, before its namespace prefix and before the lower-casing of e-mail addresses.
const MaxUserKeyChars = 256

// userKeyTooLong reports whether a trimmed user-key value has more than MaxUserKeyChars characters. Every Streams,
// Track Event, Bulk Import and profile identity goes through it. A value of at most MaxUserKeyChars bytes is
// decided without counting.
func userKeyTooLong(v []byte) bool {
	return len(v) > MaxUserKeyChars && utf8.RuneCount(v) > MaxUserKeyChars
}

// scalarBytes returns the text of a string (decoded) or number (decimal text) value; ok is false for other JSON
// values (null, booleans, objects, arrays). The result may alias val.
func scalarBytes(val []byte) ([]byte, bool) {
	if len(val) == 0 {
		return nil, false
	}
	switch c := val[0]; {
	case c == '"':
		return jsonscan.Unquote(val), true
	case c == '-' || (c >= '0' && c <= '9'):
		for _, c := range val {
			if c == '.' || c == 'e' || c == 'E' {
				return []byte(jsonscan.DecimalText(val)), true
			}
		}
		return val, true
	}
	return nil, false
}

// trimSpaceBytes trims Unicode white space.
func trimSpaceBytes(b []byte) []byte { return bytes.TrimSpace(b) }

// keyValue returns the trimmed text of a string or number value; "" when absent, empty or another JSON type.
func keyValue(val []byte) []byte {
	s, ok := scalarBytes(val)
	if !ok {
		return nil
	}
	return trimSpaceBytes(s)
}

// makeKey builds prefix+value (value lower-cased when lower) with one allocation.
func makeKey(prefix string, value []byte, lower bool) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(value))
	b.WriteString(prefix)
	if lower {
		writeLower(&b, value)
	} else {
		b.Write(value)
	}
	return b.String()
}

// writeLower writes strings.ToLower(value) to b.
func writeLower(b *strings.Builder, value []byte) {
	if !isASCII(value) {
		b.WriteString(strings.ToLower(string(value)))
		return
	}
	for _, c := range value {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// streamsIdentity holds the raw values of the §2.8 identity fields of a Streams event.
type streamsIdentity struct {
	uid, moeUserID, deviceID, pushID, email, mobile []byte
}

// keyParts returns the namespace and trimmed value of the §2.8 user key, and whether the value is lower-cased.
func (id *streamsIdentity) keyParts() (ns string, value []byte, lower, ok bool) {
	if v := keyValue(id.uid); len(v) > 0 {
		return NSUID, v, false, true
	}
	if v := keyValue(id.moeUserID); len(v) > 0 {
		return NSMoe, v, false, true
	}
	if v := keyValue(id.deviceID); len(v) > 0 {
		return NSDevice, v, false, true
	}
	if v := keyValue(id.pushID); len(v) > 0 {
		return NSPush, v, false, true
	}
	if v := keyValue(id.email); len(v) > 0 {
		return NSEmail, v, true, true
	}
	if v := keyValue(id.mobile); len(v) > 0 {
		return NSMobile, v, false, true
	}
	return "", nil, false, false
}

// UserKeyStreams builds the §2.8 user key of a Streams / export event given as its raw JSON object (a bare event,
// or an export-wrapped line whose "event" member is the event): uid, user_attributes.moengage_user_id,
// device_attributes.moengage_device_id, push_id, email_id (lower-cased), mobile_number, namespaced. ok is false
// when no key can be formed, or when the chosen value is longer than MaxUserKeyChars (§12.11).
func UserKeyStreams(event json.RawMessage) (string, bool) {
	i := jsonscan.SkipWS(event, 0)
	if i >= len(event) || event[i] != '{' {
		return "", false
	}
	var f, inner eventFields
	if end := f.read(event, i, 1, &inner); end < 0 || jsonscan.SkipWS(event, end) != len(event) {
		return "", false
	}
	if f.wrapper != nil {
		if !isObject(f.wrapper) {
			return "", false
		}
		f = inner
	}
	if present(f.userAttrs) && !isObject(f.userAttrs) || present(f.devAttr) && !isObject(f.devAttr) {
		return "", false
	}
	id := f.identity()
	ns, v, lower, ok := id.keyParts()
	if !ok || userKeyTooLong(v) {
		return "", false
	}
	return makeKey(ns, v, lower), true
}

// TrackUserKey builds the §2.8 user key of a Track Event / Bulk Import event: customer_id, then
// user_identifiers.moe_email (lower-cased), user_identifiers.moe_mobile, then any other user_identifiers key
// (first in byte order of key name, as "id:<key>:<value>"). Values are trimmed; identifier values may be JSON
// strings or numbers (decimal text); other JSON values are ignored. ok is false when no key can be formed.
func TrackUserKey(customerID string, identifiers map[string]json.RawMessage) (string, bool) {
	ns, v, lower, ok := trackKeyParts(customerID, identifiers)
	if !ok {
		return "", false
	}
	return makeKey(ns, v, lower), true
}

// trackKeyParts returns the namespace (for other identifiers "id:<key>:"), the trimmed value and whether the
// value is lower-cased, of the user key TrackUserKey builds.
func trackKeyParts(customerID string, identifiers map[string]json.RawMessage) (ns string, value []byte, lower, ok bool) {
	if v := strings.TrimSpace(customerID); v != "" {
		return NSUID, []byte(v), false, true
	}
	val := func(k string) []byte {
		raw, ok := identifiers[k]
		if !ok || !jsonscan.Valid(raw) {
			return nil
		}
		return keyValue(bytes.TrimSpace(raw))
	}
	if v := val("moe_email"); len(v) > 0 {
		return NSEmail, v, true, true
	}
	if v := val("moe_mobile"); len(v) > 0 {
		return NSMobile, v, false, true
	}
	keys := make([]string, 0, len(identifiers))
	for k := range identifiers {
		if k != "moe_email" && k != "moe_mobile" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := val(k); len(v) > 0 {
			return NSID + k + ":", v, false, true
		}
	}
	return "", nil, false, false
}

// platformNames maps normalised platform inputs to platform keys (SPEC §4.4).
var platformNames = map[string]string{
	"android":     domain.PlatformAndroid,
	"ios":         domain.PlatformIOS,
	"iphone":      domain.PlatformIOS,
	"ipad":        domain.PlatformIOS,
	"ipados":      domain.PlatformIOS,
	"web":         domain.PlatformWeb,
	"mweb":        domain.PlatformWeb,
	"mobile web":  domain.PlatformWeb,
	"desktop web": domain.PlatformWeb,
	"desktop":     domain.PlatformWeb,
	"windows":     domain.PlatformWindows,
}

// NormalisePlatform implements the platform normalisation of SPEC §4.4 (case-insensitive, trimmed): android;
// ios/iphone/ipad/ipados → ios; web/mweb/mobile web/desktop web/desktop → web; windows. ok is false for any other
// value (tv, unknown, …).
func NormalisePlatform(s string) (string, bool) {
	return normalisePlatformBytes([]byte(s))
}

func normalisePlatformBytes(s []byte) (string, bool) {
	s = trimSpaceBytes(s)
	var buf [16]byte
	if len(s) > len(buf) {
		return normalisePlatformFold(string(s))
	}
	for i, c := range s {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 0x80:
			return normalisePlatformFold(string(s))
		}
		buf[i] = c
	}
	p, ok := platformNames[string(buf[:len(s)])]
	return p, ok
}

// normalisePlatformFold is the slow path for non-ASCII input: Unicode case folding (e.g. "ioſ" matches "ios").
func normalisePlatformFold(s string) (string, bool) {
	for name, p := range platformNames {
		if strings.EqualFold(s, name) {
			return p, true
		}
	}
	return "", false
}
