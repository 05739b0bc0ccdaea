package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Seeds of FuzzDecodeTrack and FuzzDecodeBulk are in testdata/fuzz/<target>/: the SPEC examples and bodies that
// reach each error row of §3.11, the time floor (§12.12) and the identity length (§12.11).

// FuzzDecodeTrack: DecodeTrack never panics; it returns either a *BodyError / *TrackError and no events, or events
// that satisfy the §3.8 invariants and re-validate (checkTrackOutcome).
func FuzzDecodeTrack(f *testing.F) {
	f.Add([]byte(trackBody(okAction)))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeTrack(body, testNow)
		checkTrackOutcome(t, body, evs, err, SourceTrack)
	})
}

// FuzzDecodeBulk is FuzzDecodeTrack for Bulk Import bodies (§3.9).
func FuzzDecodeBulk(f *testing.F) {
	f.Add([]byte(`{"type":"transition","elements":[{"type":"event","customer_id":"u","actions":[{"action":"A"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeBulk(body, testNow)
		checkTrackOutcome(t, body, evs, err, SourceBulk)
	})
}

// trackErrorTypes are the error types of §3.11 that Track Event and Bulk Import use.
var trackErrorTypes = map[string]bool{trackMissing: true, trackInvalid: true, trackBlacklist: true, trackMalformed: true,
	trackAttrError: true}

// checkTrackOutcome checks one DecodeTrack / DecodeBulk result:
//   - an error carries no events and is a *BodyError or a *TrackError of a §3.11 type with an attribute and a
//     message;
//   - on success the body is valid UTF-8 JSON (with at least one event for Track Event); every event has the source, a generated uuid, a non-blank action
//     name, a time within [2000-01-01, receipt + 5 min], attributes that are a JSON object or absent, and a user
//     key of a §2.8 namespace whose value has 1–256 characters;
//   - every event whose key is a customer_id re-validates: a Track Event body rebuilt from it (customer_id, the
//     action, its attributes, its time as epoch milliseconds) decodes to the same event.
func checkTrackOutcome(t *testing.T, body []byte, evs []domain.Event, err error, source string) {
	t.Helper()
	if err != nil {
		if evs != nil {
			t.Fatalf("events with error %v", err)
		}
		var te *TrackError
		var be *BodyError
		switch {
		case errors.As(err, &te):
			if !trackErrorTypes[te.Type] || te.Attribute == "" || te.Message == "" {
				t.Fatalf("bad TrackError %+v", te)
			}
		case errors.As(err, &be):
		default:
			t.Fatalf("error type %T", err)
		}
		return
	}
	// A Bulk Import body of customer and device elements only is accepted with no event (§3.9).
	if !json.Valid(body) || !utf8.Valid(body) || len(evs) == 0 && source == SourceTrack {
		t.Fatalf("accepted %d events from %q", len(evs), body)
	}
	minMS, maxMS := int64(minEventTimeMS), testNow.Add(FutureSlack).UnixMilli()
	for _, e := range evs {
		if e.Source != source || !strings.HasPrefix(e.UUID, TrackUUIDPrefix) || strings.TrimSpace(e.Name) == "" ||
			e.TimeMS < minMS || e.TimeMS > maxMS || e.Campaign {
			t.Fatalf("bad event %+v", e)
		}
		if e.Attributes != nil && (!json.Valid(e.Attributes) || e.Attributes[0] != '{') {
			t.Fatalf("attributes %q", e.Attributes)
		}
		value, ok := userKeyValue(e.UserKey)
		if n := utf8.RuneCountInString(value); !ok || n == 0 || n > MaxUserKeyChars {
			t.Fatalf("user key %q", e.UserKey)
		}
		cid, isUID := strings.CutPrefix(e.UserKey, NSUID)
		if !isUID {
			continue
		}
		action := map[string]json.RawMessage{"action": mustMarshal(t, e.Name), "current_time": json.RawMessage(strconv.FormatInt(e.TimeMS, 10))}
		if e.Attributes != nil {
			action["attributes"] = e.Attributes
		}
		again, err := DecodeTrack(mustMarshal(t, map[string]any{"type": "event", "customer_id": cid, "actions": []any{action}}), testNow)
		if err != nil || len(again) != 1 || again[0].UserKey != e.UserKey || again[0].Name != e.Name ||
			again[0].TimeMS != e.TimeMS || compactJSON(t, again[0].Attributes) != compactJSON(t, e.Attributes) {
			t.Fatalf("event %+v does not re-validate: %+v, %v", e, again, err)
		}
	}
}

// compactJSON returns JSON text without insignificant whitespace: attributes are kept as sent, and the Track Event
// body the checker rebuilds carries them compacted (encoding/json compacts a json.RawMessage it encodes).
func compactJSON(t *testing.T, text []byte) string {
	t.Helper()
	if text == nil {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, text); err != nil {
		t.Fatalf("attributes %q: %v", text, err)
	}
	return b.String()
}

// userKeyValue splits a §2.8 user key into its value; ok is false for an unknown namespace.
func userKeyValue(key string) (string, bool) {
	for _, ns := range []string{NSUID, NSMoe, NSDevice, NSPush, NSEmail, NSMobile} {
		if v, ok := strings.CutPrefix(key, ns); ok {
			return v, true
		}
	}
	rest, ok := strings.CutPrefix(key, NSID) // id:<identifier name>:<value>; the name may hold ':' too
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", false
	}
	return rest[i+1:], true
}

// mustMarshal encodes v as JSON without escaping <, > and & (json.Marshal escapes them even inside a
// json.RawMessage, which would change attribute text the decoder keeps verbatim).
func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// TestTrackFuzzCheckerSeesBadEvents makes sure checkTrackOutcome is not vacuous: it accepts a decoded body and
// each user-key form.
func TestTrackFuzzChecker(t *testing.T) {
	for _, k := range []string{"uid:a", "email:a@b.c", "id:x:y:z", "mobile:1"} {
		if v, ok := userKeyValue(k); !ok || v == "" {
			t.Errorf("userKeyValue(%q) = %q, %v", k, v, ok)
		}
	}
	if _, ok := userKeyValue("nope:x"); ok {
		t.Error("unknown namespace accepted")
	}
	body := []byte(`{"type":"event","customer_id":" u-1 ","actions":[{"action":" Buy ","attributes":{"a":[1,{"b":null}]},"user_time":"2025-03-01T10:00:00","user_timezone_offset":3600}]}`)
	evs, err := DecodeTrack(body, testNow)
	checkTrackOutcome(t, body, evs, err, SourceTrack)
}
