package ingest

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// iso returns the Unix milliseconds of an RFC 3339 time.
func iso(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}

// okAction is a valid action used to complete bodies.
const okAction = `{"action":"Purchase"}`

// trackBody builds a Track Event body with customer_id "user-1" and the given actions (JSON texts).
func trackBody(actions ...string) string {
	return `{"type":"event","customer_id":"user-1","actions":[` + strings.Join(actions, ",") + `]}`
}

// wantTrackErr checks that err is a *TrackError with exactly these fields.
func wantTrackErr(t *testing.T, name string, err error, typ, attr, msg string) {
	t.Helper()
	var te *TrackError
	if !errors.As(err, &te) {
		t.Errorf("%s: err = %v (%T), want *TrackError %q/%q/%q", name, err, err, typ, attr, msg)
		return
	}
	if te.Type != typ || te.Attribute != attr || te.Message != msg {
		t.Errorf("%s: got %q/%q/%q, want %q/%q/%q", name, te.Type, te.Attribute, te.Message, typ, attr, msg)
	}
}

type trackErrCase struct {
	name, body     string
	typ, attr, msg string
	bulk           bool
}

func runTrackErrCases(t *testing.T, cases []trackErrCase) {
	t.Helper()
	for _, tc := range cases {
		decode := DecodeTrack
		if tc.bulk {
			decode = DecodeBulk
		}
		evs, err := decode([]byte(tc.body), testNow)
		if evs != nil {
			t.Errorf("%s: got %d events with an error, want none", tc.name, len(evs))
		}
		wantTrackErr(t, tc.name, err, tc.typ, tc.attr, tc.msg)
	}
}

const (
	tMissing   = "MissingAttributeError"
	tInvalid   = "InvalidParams"
	tBlack     = "Blacklisted"
	tMalformed = "Malformed JSON"
	tAttrErr   = "AttributeError"
)

// TestTrackErrors covers every Track Event row of §3.11 with the exact type, attribute and message.
func TestTrackErrors(t *testing.T) {
	future := strconv.FormatInt(testNow.Add(5*time.Minute).UnixMilli()+1, 10)
	cases := []trackErrCase{
		{"no type", `{"customer_id":"u","actions":[` + okAction + `]}`, tMissing, "type", "type is not found in the payload", false},
		{"null type", `{"type":null,"customer_id":"u","actions":[` + okAction + `]}`, tMissing, "type", "type is not found in the payload", false},
		{"wrong type", `{"type":"transition","customer_id":"u","actions":[` + okAction + `]}`, tInvalid, "type", "type should be event", false},
		{"type case", `{"type":"Event","customer_id":"u","actions":[` + okAction + `]}`, tInvalid, "type", "type should be event", false},
		{"type padded", `{"type":" event","customer_id":"u","actions":[` + okAction + `]}`, tInvalid, "type", "type should be event", false},
		{"type number", `{"type":1,"customer_id":"u","actions":[` + okAction + `]}`, tInvalid, "type", "type should be event", false},
		{"type object", `{"type":{},"customer_id":"u","actions":[` + okAction + `]}`, tInvalid, "type", "type should be event", false},

		{"no customer_id", `{"type":"event","actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"null customer_id", `{"type":"event","customer_id":null,"actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"blank customer_id", `{"type":"event","customer_id":"  ","actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"empty identifiers", `{"type":"event","user_identifiers":{},"actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"identifiers without value", `{"type":"event","user_identifiers":{"moe_email":" ","x":null,"y":true},"actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"identifiers not object", `{"type":"event","user_identifiers":"a@b.c","actions":[` + okAction + `]}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"blacklisted", `{"type":"event","customer_id":"guest","actions":[` + okAction + `]}`, tBlack, "customer_id", "customer_id value is not allowed", false},
		{"blacklisted with identifiers", `{"type":"event","customer_id":"unknown","user_identifiers":{"moe_email":"a@b.c"},"actions":[` + okAction + `]}`, tBlack, "customer_id", "customer_id value is not allowed", false},

		{"no actions", `{"type":"event","customer_id":"u"}`, tMissing, "actions", "actions is not found in the payload", false},
		{"null actions", `{"type":"event","customer_id":"u","actions":null}`, tMissing, "actions", "actions is not found in the payload", false},
		{"actions object", `{"type":"event","customer_id":"u","actions":{"action":"A"}}`, tMissing, "actions", "actions is not found in the payload", false},
		{"empty actions", `{"type":"event","customer_id":"u","actions":[]}`, tMissing, "actions", "actions can not be empty Array", false},

		{"no action", trackBody(`{"attributes":{}}`), tMissing, "action", "action is not found in the payload (at actions[0])", false},
		{"null action", trackBody(`{"action":null}`), tMissing, "action", "action is not found in the payload (at actions[0])", false},
		{"action element not object", trackBody(`"Purchase"`), tMissing, "action", "action is not found in the payload (at actions[0])", false},
		{"empty action", trackBody(`{"action":""}`), tMissing, "action", "action cannot be empty Unicode string (at actions[0])", false},
		{"blank action", trackBody(`{"action":" \t\n\u00a0"}`), tMissing, "action", "action cannot be empty Unicode string (at actions[0])", false},
		{"action number", trackBody(`{"action":5}`), tMalformed, "action", "action should be a string (at actions[0])", false},
		{"action bool", trackBody(`{"action":true}`), tMalformed, "action", "action should be a string (at actions[0])", false},
		{"action object", trackBody(`{"action":{"name":"A"}}`), tMalformed, "action", "action should be a string (at actions[0])", false},
		{"action array", trackBody(`{"action":["A"]}`), tMalformed, "action", "action should be a string (at actions[0])", false},

		{"attributes string", trackBody(`{"action":"A","attributes":"x"}`), tInvalid, "attributes", "attributes should be an object (at actions[0])", false},
		{"attributes array", trackBody(`{"action":"A","attributes":[]}`), tInvalid, "attributes", "attributes should be an object (at actions[0])", false},
		{"attributes number", trackBody(`{"action":"A","attributes":1}`), tInvalid, "attributes", "attributes should be an object (at actions[0])", false},

		{"current_time text", trackBody(`{"action":"A","current_time":"yesterday"}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time zero", trackBody(`{"action":"A","current_time":0}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time negative", trackBody(`{"action":"A","current_time":-5}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time bool", trackBody(`{"action":"A","current_time":true}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time object", trackBody(`{"action":"A","current_time":{}}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time bad date", trackBody(`{"action":"A","current_time":"2025-02-30T00:00:00Z"}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"current_time future", trackBody(`{"action":"A","current_time":` + future + `}`), tInvalid, "current_time", "current_time is more than 5 minutes in the future (at actions[0])", false},
		{"current_time future ISO", trackBody(`{"action":"A","current_time":"2025-03-01T12:05:00.001Z"}`), tInvalid, "current_time", "current_time is more than 5 minutes in the future (at actions[0])", false},
		{"user_time text", trackBody(`{"action":"A","user_time":"soon"}`), tInvalid, "user_time", "user_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"user_time empty", trackBody(`{"action":"A","user_time":""}`), tInvalid, "user_time", "user_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"user_time future", trackBody(`{"action":"A","user_time":"` + future + `"}`), tInvalid, "user_time", "user_time is more than 5 minutes in the future (at actions[0])", false},
		// 12:00 local at UTC−05:00 is 17:00Z: in the future although the text alone would be "now".
		{"user_time local future", trackBody(`{"action":"A","user_time":"2025-03-01T12:00:00","user_timezone_offset":-18000}`), tInvalid, "user_time", "user_time is more than 5 minutes in the future (at actions[0])", false},

		{"location of later action", trackBody(okAction, okAction, `{"action":""}`), tMissing, "action", "action cannot be empty Unicode string (at actions[2])", false},
	}
	runTrackErrCases(t, cases)
}

// TestBulkErrors covers the Bulk Import rows of §3.11 and the locations of §12.7.
func TestBulkErrors(t *testing.T) {
	ev := func(body string) string { return `{"type":"event",` + body + `}` }
	bulk := func(elements ...string) string {
		return `{"type":"transition","elements":[` + strings.Join(elements, ",") + `]}`
	}
	good := ev(`"customer_id":"u","actions":[` + okAction + `]`)
	cust := `{"type":"customer","customer_id":"u","attributes":{"name":"Ann"}}`
	cases := []trackErrCase{
		{"no type", `{"elements":[` + good + `]}`, tMissing, "type", "type is not found in the payload", true},
		{"wrong type", `{"type":"event","elements":[` + good + `]}`, tInvalid, "type", "type should be transition", true},
		{"no elements", `{"type":"transition"}`, tMissing, "elements", "elements is not found in the payload", true},
		{"null elements", `{"type":"transition","elements":null}`, tMissing, "elements", "elements is not found in the payload", true},
		{"elements object", `{"type":"transition","elements":{}}`, tMissing, "elements", "elements is not found in the payload", true},
		{"empty elements", `{"type":"transition","elements":[]}`, tMissing, "elements", "elements cannot be empty array", true},
		{"element type user", bulk(cust, `{"type":"user"}`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[1])", true},
		{"element type case", bulk(`{"type":"Customer"}`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[0])", true},
		{"element type transition", bulk(`{"type":"transition"}`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[0])", true},
		{"element without type", bulk(good, `{"customer_id":"u"}`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[1])", true},
		{"element not object", bulk(good, good, `"event"`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[2])", true},
		{"element null", bulk(`null`), tAttrErr, "type", "type in elements should be customer/event/device (at elements[0])", true},

		{"element no customer_id", bulk(cust, ev(`"actions":[`+okAction+`]`)), tMissing, "customer_id", "customer_id is not found in the payload (at elements[1])", true},
		{"element blacklisted", bulk(ev(`"customer_id":"N/A","actions":[` + okAction + `]`)), tBlack, "customer_id", "customer_id value is not allowed (at elements[0])", true},
		{"element no actions", bulk(cust, cust, ev(`"customer_id":"u"`)), tMissing, "actions", "actions is not found in the payload (at elements[2])", true},
		{"element empty actions", bulk(ev(`"customer_id":"u","actions":[]`)), tMissing, "actions", "actions can not be empty Array (at elements[0])", true},
		{"element empty action", bulk(good, cust, ev(`"customer_id":"u","actions":[`+okAction+`,{"action":""}]`)), tMissing, "action", "action cannot be empty Unicode string (at elements[2].actions[1])", true},
		{"element action not string", bulk(ev(`"customer_id":"u","actions":[{"action":1}]`)), tMalformed, "action", "action should be a string (at elements[0].actions[0])", true},
		{"element attributes", bulk(good, ev(`"customer_id":"u","actions":[{"action":"A","attributes":"x"}]`)), tInvalid, "attributes", "attributes should be an object (at elements[1].actions[0])", true},
		{"element current_time", bulk(ev(`"customer_id":"u","actions":[` + okAction + `,{"action":"A","current_time":"x"}]`)), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at elements[0].actions[1])", true},
		{"element user_time future", bulk(ev(`"customer_id":"u","actions":[{"action":"A","user_time":"2030-01-01T00:00:00Z"}]`)), tInvalid, "user_time", "user_time is more than 5 minutes in the future (at elements[0].actions[0])", true},
	}
	runTrackErrCases(t, cases)
}

// TestTrackCheckOrder pins the check order documented in doc.go: body, type, customer_id, blacklist, actions,
// then each action in array order (action, attributes, time).
func TestTrackCheckOrder(t *testing.T) {
	cases := []trackErrCase{
		{"type before customer_id and actions", `{"customer_id":"guest","actions":[]}`, tMissing, "type", "type is not found in the payload", false},
		{"wrong type before the rest", `{"type":"x","actions":[{"action":5}]}`, tInvalid, "type", "type should be event", false},
		{"customer_id before actions", `{"type":"event"}`, tMissing, "customer_id", "customer_id is not found in the payload", false},
		{"blacklist before actions", `{"type":"event","customer_id":"none","actions":[]}`, tBlack, "customer_id", "customer_id value is not allowed", false},
		{"blacklist before per-action", `{"type":"event","customer_id":"0","actions":[{"action":""}]}`, tBlack, "customer_id", "customer_id value is not allowed", false},
		{"array order", trackBody(`{"action":"A","current_time":"x"}`, `{"attributes":{}}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"action before attributes", trackBody(`{"action":"","attributes":5}`), tMissing, "action", "action cannot be empty Unicode string (at actions[0])", false},
		{"attributes before time", trackBody(`{"action":"A","attributes":5,"current_time":"x"}`), tInvalid, "attributes", "attributes should be an object (at actions[0])", false},
		{"current_time before user_time", trackBody(`{"action":"A","current_time":"x","user_time":"y"}`), tInvalid, "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"Bulk: type before elements", `{"elements":[]}`, tMissing, "type", "type is not found in the payload", true},
		{"Bulk: elements in array order", `{"type":"transition","elements":[{"type":"event","customer_id":"u","actions":[{"action":""}]},{"type":"nope"}]}`, tMissing, "action", "action cannot be empty Unicode string (at elements[0].actions[0])", true},
		{"Bulk: element type before its content", `{"type":"transition","elements":[{"type":"nope","actions":[]},{"type":"event"}]}`, tAttrErr, "type", "type in elements should be customer/event/device (at elements[0])", true},
	}
	runTrackErrCases(t, cases)

	// A body that does not parse is refused before any field is looked at.
	_, err := DecodeTrack([]byte(`{"customer_id":"guest","actions":[],}`), testNow)
	var be *BodyError
	if !errors.As(err, &be) || be.Type != "Malformed JSON" {
		t.Errorf("malformed body after field errors: err = %v", err)
	}
}

// TestTrackBodyErrors covers the body-decoding rows (§3.11, §12.6) for both endpoints.
func TestTrackBodyErrors(t *testing.T) {
	const malformed = "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."
	cases := []struct {
		body           string
		typ, attr, msg string
	}{
		{"", "Empty request body", "body", "Request body is empty"},
		{" \r\n\t", "Empty request body", "body", "Request body is empty"},
		{"{", "Malformed JSON", "body", malformed},
		{`{"type":"event"} {}`, "Malformed JSON", "body", malformed},
		{`{"type":"event",}`, "Malformed JSON", "body", malformed},
		{`[{"type":"event"}]`, "Malformed JSON", "body", malformed},
		{`"event"`, "Malformed JSON", "body", malformed},
		{`null`, "Malformed JSON", "body", malformed},
		{`42`, "Malformed JSON", "body", malformed},
		{"{\"type\":\"event\",\"customer_id\":\"u\xff\",\"actions\":[{\"action\":\"A\"}]}", "Malformed JSON", "body", malformed},
		{"{\"type\":\"event\",\"customer_id\":\"u\",\"actions\":[{\"action\":\"A\"}]}\xc3", "Malformed JSON", "body", malformed},
	}
	for _, tc := range cases {
		for _, decode := range []func([]byte, time.Time) ([]domain.Event, error){DecodeTrack, DecodeBulk} {
			evs, err := decode([]byte(tc.body), testNow)
			var be *BodyError
			if evs != nil || !errors.As(err, &be) || be.Type != tc.typ || be.Attribute != tc.attr || be.Message != tc.msg {
				t.Errorf("%q: events %v, err %v (%T); want BodyError %q/%q/%q", tc.body, evs, err, err, tc.typ, tc.attr, tc.msg)
			}
		}
	}
}

// TestTrackBlacklist covers every listed customer_id value, case-insensitive and trimmed, JSON numbers and
// literals, and near misses that are allowed.
func TestTrackBlacklist(t *testing.T) {
	var refused []string
	for _, v := range []string{
		"unknown", "guest", "null", "0", "1", "2", "-1", "-2", "true", "false", "user_attribute_unique_id", "(empty)",
		"na", "n/a", "''", "dummy_seller_code", "user_id", "id", "customer_id", "uid", "userid", "none",
	} {
		b, _ := json.Marshal(v)
		up, _ := json.Marshal("  " + strings.ToUpper(v) + "\t")
		refused = append(refused, string(b), string(up))
	}
	refused = append(refused, `"GuEsT"`, `"N/A"`, `"UserId"`, `"\u0055NKNOWN"`, // mixed case, escaped
		`0`, `1`, `2`, `-1`, `-2`, `1.0`, `0.00`, `-1e0`, `true`, `false`, `{}`, `[]`, `{"id":"x"}`, `["u"]`)
	for _, v := range refused {
		body := `{"type":"event","customer_id":` + v + `,"actions":[` + okAction + `]}`
		evs, err := DecodeTrack([]byte(body), testNow)
		if evs != nil {
			t.Errorf("customer_id %s: accepted", v)
		}
		wantTrackErr(t, "customer_id "+v, err, tBlack, "customer_id", "customer_id value is not allowed")
	}
	allowed := map[string]string{
		`"10"`: "uid:10", `"guests"`: "uid:guests", `"n/a/b"`: "uid:n/a/b", `"null user"`: "uid:null user",
		`3`: "uid:3", `-3`: "uid:-3", `12.50`: "uid:12.5", `"  User-1  "`: "uid:User-1", `"(EMPTY)x"`: "uid:(EMPTY)x",
	}
	for v, key := range allowed {
		body := `{"type":"event","customer_id":` + v + `,"actions":[` + okAction + `]}`
		evs, err := DecodeTrack([]byte(body), testNow)
		if err != nil || len(evs) != 1 || evs[0].UserKey != key {
			t.Errorf("customer_id %s: events %+v, err %v; want user key %q", v, evs, err, key)
		}
	}
	if !BlacklistedCustomerID(" NONE ") || BlacklistedCustomerID("nonE1") {
		t.Error("BlacklistedCustomerID")
	}
}

// TestTrackEvent checks the event built from a valid body.
func TestTrackEvent(t *testing.T) {
	body := []byte(`{
	  "type": "event",
	  "customer_id": "user-1042",
	  "device_id": "dev-77",
	  "actions": [
	    {"action": " Purchase ", "attributes": {"amount": 49.9, "sku": "A-1"},
	     "platform": "Android", "app_version": "3.2.0",
	     "current_time": 1740822300, "user_timezone_offset": 19800},
	    {"action": "MOE_EMAIL_CLICK", "attributes": null, "user_time": "2025-03-01T14:30:00.5+05:30"},
	    {"action": "Viewed", "current_time": "2025-03-01T09:00:00"}
	  ]
	}`)
	evs, err := DecodeTrack(body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	want := []struct {
		name  string
		time  int64
		attrs string
	}{
		{" Purchase ", 1740822300000, `{"amount": 49.9, "sku": "A-1"}`}, // exactly as sent: goals match exactly
		{"MOE_EMAIL_CLICK", iso(t, "2025-03-01T09:00:00.5Z"), ""},
		{"Viewed", testTimeSec * 1000, ""},
	}
	seen := map[string]bool{}
	for i, e := range evs {
		w := want[i]
		if e.Name != w.name || e.TimeMS != w.time || string(e.Attributes) != w.attrs || (w.attrs == "") != (e.Attributes == nil) {
			t.Errorf("event %d: name %q time %d attrs %q; want %q %d %q", i, e.Name, e.TimeMS, e.Attributes, w.name, w.time, w.attrs)
		}
		if e.Campaign || e.Code != "" || e.Source != SourceTrack || e.UserKey != "uid:user-1042" {
			t.Errorf("event %d: %+v", i, e)
		}
		if e.CampaignID != "" || e.Counter != domain.CounterNone || e.Class != domain.ClassNone {
			t.Errorf("event %d is not a plain user event: %+v", i, e)
		}
		if !strings.HasPrefix(e.UUID, TrackUUIDPrefix) || len(e.UUID) != len(TrackUUIDPrefix)+32 ||
			strings.Trim(e.UUID[len(TrackUUIDPrefix):], "0123456789abcdef") != "" {
			t.Errorf("event %d: uuid %q", i, e.UUID)
		}
		if seen[e.UUID] {
			t.Errorf("event %d: repeated uuid %q", i, e.UUID)
		}
		seen[e.UUID] = true
	}
	// Attributes do not alias the body.
	for i := range body {
		body[i] = ' '
	}
	if string(evs[0].Attributes) != `{"amount": 49.9, "sku": "A-1"}` {
		t.Errorf("attributes alias the body: %q", evs[0].Attributes)
	}
	// The same body again gives new uuids.
	again, err := DecodeTrack([]byte(trackBody(okAction)), testNow)
	if err != nil || seen[again[0].UUID] {
		t.Errorf("second decode: %v %v", again, err)
	}
}

// TestTrackTimes covers current_time, user_time (with and without offsets, user_timezone_offset handling) and the
// receipt-time default.
func TestTrackTimes(t *testing.T) {
	nowMS := testNow.UnixMilli()
	cases := []struct {
		action string
		want   int64
	}{
		{`{"action":"A"}`, nowMS},
		{`{"action":"A","current_time":null,"user_time":null,"user_timezone_offset":19800}`, nowMS},
		{`{"action":"A","current_time":1740819600}`, testTimeSec * 1000},
		{`{"action":"A","current_time":"1740819600123"}`, 1740819600123},
		{`{"action":"A","current_time":1740819600.25}`, 1740819600250},
		{`{"action":"A","current_time":"2025-03-01"}`, iso(t, "2025-03-01T00:00:00Z")},
		// current_time without offset is UTC; user_timezone_offset never applies to it.
		{`{"action":"A","current_time":"2025-03-01T09:00:00","user_timezone_offset":19800}`, testTimeSec * 1000},
		// current_time wins over user_time, which is then not read at all.
		{`{"action":"A","current_time":1740819600,"user_time":"garbage"}`, testTimeSec * 1000},
		{`{"action":"A","current_time":1740819600,"user_time":"2030-01-01T00:00:00Z"}`, testTimeSec * 1000},
		// user_time epoch values are used as is.
		{`{"action":"A","user_time":1740819600,"user_timezone_offset":19800}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"1740819600","user_timezone_offset":19800}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"1740819600000.9","user_timezone_offset":19800}`, testTimeSec * 1000},
		// user_time with an offset is used as is.
		{`{"action":"A","user_time":"2025-03-01T14:30:00+05:30","user_timezone_offset":-18000}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00Z","user_timezone_offset":19800}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01t04:00:00-0500","user_timezone_offset":19800}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01 11:00:00+02","user_timezone_offset":19800}`, testTimeSec * 1000},
		// user_time without offset is local: the offset is subtracted.
		{`{"action":"A","user_time":"2025-03-01T14:30:00","user_timezone_offset":19800}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01 04:00:00.250","user_timezone_offset":-18000}`, testTimeSec*1000 + 250},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":0}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00","user_timezone_offset":54000}`, testTimeSec*1000 - 54000*1000},
		{`{"action":"A","user_time":"2025-02-28T18:00:00","user_timezone_offset":-54000}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01","user_timezone_offset":19800}`, iso(t, "2025-02-28T18:30:00Z")},
		{`{"action":"A","user_time":"2025-03-01T14:30:00","user_timezone_offset":"19800"}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T14:30:00","user_timezone_offset":" 19800 "}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T14:30:00","user_timezone_offset":19800.0}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T14:30:00","user_timezone_offset":1.98e4}`, testTimeSec * 1000},
		// Without a usable offset, user_time without offset is read as UTC.
		{`{"action":"A","user_time":"2025-03-01T09:00:00"}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":null}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":54001}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":-54001}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":19800.5}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":"+05:30"}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":"abc"}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":""}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":true}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":{"s":1}}`, testTimeSec * 1000},
		{`{"action":"A","user_time":"2025-03-01T09:00:00","user_timezone_offset":1e400}`, testTimeSec * 1000},
		// Exactly 5 minutes ahead is still accepted.
		{`{"action":"A","current_time":"2025-03-01T12:05:00Z"}`, nowMS + 5*60*1000},
		{`{"action":"A","user_time":"2025-03-01T17:35:00","user_timezone_offset":19800}`, nowMS + 5*60*1000},
	}
	for _, tc := range cases {
		evs, err := DecodeTrack([]byte(trackBody(tc.action)), testNow)
		if err != nil || len(evs) != 1 || evs[0].TimeMS != tc.want {
			var got int64
			if len(evs) == 1 {
				got = evs[0].TimeMS
			}
			t.Errorf("%s: time %d (%s), err %v; want %d (%s)", tc.action, got, time.UnixMilli(got).UTC(), err,
				tc.want, time.UnixMilli(tc.want).UTC())
		}
	}
}

// TestTrackIdentity covers the Track / Bulk column of §2.8.
func TestTrackIdentity(t *testing.T) {
	cases := []struct {
		members string // members before "actions"
		want    string
	}{
		{`"customer_id":"user-1","user_identifiers":{"moe_email":"a@b.c"}`, "uid:user-1"},
		{`"customer_id":" user-1 "`, "uid:user-1"},
		{`"customer_id":1042`, "uid:1042"},
		{`"customer_id":"User-1","device_id":"dev-9"`, "uid:User-1"},
		{`"customer_id":"","user_identifiers":{"moe_email":" Ann@Example.COM "}`, "email:ann@example.com"},
		{`"customer_id":null,"user_identifiers":{"moe_mobile":"+91 98765","moe_email":""}`, "mobile:+91 98765"},
		{`"user_identifiers":{"moe_email":"A@B.C","moe_mobile":"1"}`, "email:a@b.c"},
		{`"user_identifiers":{"moe_mobile":919876543210}`, "mobile:919876543210"},
		{`"user_identifiers":{"zeta":"z","Alpha":"A","alpha":"a"}`, "id:Alpha:A"},
		{`"user_identifiers":{"zeta":"z","alpha":" "}`, "id:zeta:z"},
		{`"user_identifiers":{"\u0061":"x","b":"y"}`, "id:a:x"},
		{`"user_identifiers":{"k":"first","k":"second"}`, "id:k:second"},
		{`"user_identifiers":{"moe_email":"e@x.y"},"device_id":"d"`, "email:e@x.y"},
		// A user_identifiers member that is not an object is ignored.
		{`"customer_id":"c","user_identifiers":[1]`, "uid:c"},
	}
	for _, tc := range cases {
		body := `{"type":"event",` + tc.members + `,"actions":[` + okAction + `]}`
		evs, err := DecodeTrack([]byte(body), testNow)
		if err != nil || len(evs) != 1 || evs[0].UserKey != tc.want {
			t.Errorf("%s: events %+v, err %v; want user key %q", tc.members, evs, err, tc.want)
		}
	}
}

// TestTrackMultipleActions checks one event per action, in order, sharing the body's identity.
func TestTrackMultipleActions(t *testing.T) {
	var actions []string
	for i := range 50 {
		actions = append(actions, `{"action":"A`+strconv.Itoa(i)+`","current_time":`+strconv.Itoa(testTimeSec+i)+`}`)
	}
	evs, err := DecodeTrack([]byte(trackBody(actions...)), testNow)
	if err != nil || len(evs) != 50 {
		t.Fatalf("events %d, err %v", len(evs), err)
	}
	uuids := map[string]bool{}
	for i, e := range evs {
		if e.Name != "A"+strconv.Itoa(i) || e.TimeMS != int64(testTimeSec+i)*1000 || e.UserKey != "uid:user-1" {
			t.Errorf("event %d: %+v", i, e)
		}
		uuids[e.UUID] = true
	}
	if len(uuids) != 50 {
		t.Errorf("%d distinct uuids, want 50", len(uuids))
	}
}

// TestTrackAtomic: one bad action anywhere refuses the whole request.
func TestTrackAtomic(t *testing.T) {
	evs, err := DecodeTrack([]byte(trackBody(okAction, okAction, `{"action":"A","attributes":[1]}`, okAction)), testNow)
	if evs != nil {
		t.Errorf("got %d events", len(evs))
	}
	wantTrackErr(t, "atomic", err, tInvalid, "attributes", "attributes should be an object (at actions[2])")

	evs, err = DecodeBulk([]byte(`{"type":"transition","elements":[
		{"type":"event","customer_id":"u","actions":[{"action":"A"},{"action":"B"}]},
		{"type":"customer"},
		{"type":"event","customer_id":"v","actions":[{"action":"C","current_time":"2099-01-01"}]}]}`), testNow)
	if evs != nil {
		t.Errorf("bulk: got %d events", len(evs))
	}
	wantTrackErr(t, "bulk atomic", err, tInvalid, "current_time", "current_time is more than 5 minutes in the future (at elements[2].actions[0])")
}

// TestBulk covers a body mixing customer, device and event elements.
func TestBulk(t *testing.T) {
	body := `{"type":"transition","elements":[
	  {"type":"customer","customer_id":"user-1042","attributes":{"name":"Ann"}},
	  {"type":"event","customer_id":"user-1042","actions":[
	    {"action":"Purchase","attributes":{"amount":20},"current_time":"2025-03-01T10:00:00Z"},
	    {"action":"Viewed","user_time":"2025-03-01T15:30:00","user_timezone_offset":19800}]},
	  {"type":"device","device_id":"d-1","attributes":"not validated"},
	  {"type":"customer"},
	  {"type":"event","user_identifiers":{"moe_email":"X@Y.Z"},"actions":[{"action":"Signup"}]},
	  {"type":"device","customer_id":"guest","actions":[]},
	  {"type":"customer","customer_id":"null","actions":"x"}
	]}`
	evs, err := DecodeBulk([]byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{
		{Name: "Purchase", UserKey: "uid:user-1042", TimeMS: iso(t, "2025-03-01T10:00:00Z"), Attributes: json.RawMessage(`{"amount":20}`)},
		{Name: "Viewed", UserKey: "uid:user-1042", TimeMS: iso(t, "2025-03-01T10:00:00Z")},
		{Name: "Signup", UserKey: "email:x@y.z", TimeMS: testNow.UnixMilli()},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i, e := range evs {
		w := want[i]
		if e.Name != w.Name || e.UserKey != w.UserKey || e.TimeMS != w.TimeMS || string(e.Attributes) != string(w.Attributes) ||
			e.Source != SourceBulk || e.Campaign || e.Code != "" || !strings.HasPrefix(e.UUID, TrackUUIDPrefix) {
			t.Errorf("event %d: %+v; want %+v", i, e, w)
		}
	}

	// Only customer and device elements: accepted, nothing to store.
	evs, err = DecodeBulk([]byte(`{"type":"transition","elements":[{"type":"customer"},{"type":"device"}]}`), testNow)
	if err != nil || len(evs) != 0 {
		t.Errorf("customer/device only: events %v, err %v", evs, err)
	}
}

// TestTrackKeys: member names are matched after unescaping, exactly (case-sensitive), and the last of repeated
// keys wins; unknown members are ignored.
func TestTrackKeys(t *testing.T) {
	evs, err := DecodeTrack([]byte(`{"\u0074ype":"event","customer_id":"a","customer_id":"b","Actions":5,
		"actions":[{"action":"X"}],"actions":[{"\u0061ction":"Y","action":"Z","extra":{"deep":[1,2,{"x":null}]}}],
		"project_code":"p"}`), testNow)
	if err != nil || len(evs) != 1 || evs[0].Name != "Z" || evs[0].UserKey != "uid:b" {
		t.Errorf("events %+v, err %v", evs, err)
	}
	_, err = DecodeTrack([]byte(`{"Type":"event","customer_id":"u","actions":[{"action":"A"}]}`), testNow)
	wantTrackErr(t, "Type", err, tMissing, "type", "type is not found in the payload")
}

// TestTrackIdentityLength covers SPEC §12.11 for Track Event and Bulk Import: the value chosen as user key has at
// most 256 characters (code points, after trimming), whichever member supplies it.
func TestTrackIdentityLength(t *testing.T) {
	const msg = "customer_id is longer than 256 characters"
	long, max := strings.Repeat("é", 257), strings.Repeat("é", 256)
	bulk := func(members string) string {
		return `{"type":"transition","elements":[{"type":"customer"},{"type":"event",` + members + `,"actions":[` + okAction + `]}]}`
	}
	runTrackErrCases(t, []trackErrCase{
		{"customer_id 257", `{"type":"event","customer_id":"` + long + `","actions":[` + okAction + `]}`, tInvalid, "customer_id", msg, false},
		{"customer_id 257 ASCII", `{"type":"event","customer_id":"` + strings.Repeat("u", 257) + `","actions":[` + okAction + `]}`, tInvalid, "customer_id", msg, false},
		{"customer_id number 257 digits", `{"type":"event","customer_id":` + strings.Repeat("7", 257) + `,"actions":[` + okAction + `]}`, tInvalid, "customer_id", msg, false},
		{"moe_email 257", `{"type":"event","user_identifiers":{"moe_email":"` + long + `"},"actions":[` + okAction + `]}`, tInvalid, "customer_id", msg, false},
		{"other identifier 257", `{"type":"event","user_identifiers":{"crm":"` + long + `"},"actions":[` + okAction + `]}`, tInvalid, "customer_id", msg, false},
		{"checked before actions", `{"type":"event","customer_id":"` + long + `","actions":[]}`, tInvalid, "customer_id", msg, false},
		{"blacklist first", `{"type":"event","customer_id":"guest","actions":[]}`, tBlack, "customer_id", "customer_id value is not allowed", false},
		{"Bulk location", bulk(`"customer_id":"` + long + `"`), tInvalid, "customer_id", msg + " (at elements[1])", true},
	})
	for _, members := range []string{
		`"customer_id":"` + max + `"`,
		`"customer_id":"  ` + max + `  "`, // trimmed first
		`"user_identifiers":{"moe_email":"` + strings.Repeat("A", 256) + `"}`,
		`"customer_id":"","user_identifiers":{"moe_mobile":"` + max + `"}`,
	} {
		body := `{"type":"event",` + members + `,"actions":[` + okAction + `]}`
		if evs, err := DecodeTrack([]byte(body), testNow); err != nil || len(evs) != 1 {
			t.Errorf("%.60s…: err %v", members, err)
		}
	}
}

// TestTrackTimeFloor covers SPEC §12.12: an action's effective time before 2000-01-01T00:00:00Z refuses the whole
// request, naming the field that gave the time.
func TestTrackTimeFloor(t *testing.T) {
	runTrackErrCases(t, []trackErrCase{
		{"current_time 1999", trackBody(okAction, `{"action":"A","current_time":"1999-12-31T23:59:59.999Z"}`), tInvalid, "current_time",
			"current_time is before 2000-01-01 (at actions[1])", false},
		{"current_time small epoch", trackBody(`{"action":"A","current_time":86400}`), tInvalid, "current_time",
			"current_time is before 2000-01-01 (at actions[0])", false},
		{"user_time 1999", trackBody(`{"action":"A","user_time":"1999-06-01T00:00:00Z"}`), tInvalid, "user_time",
			"user_time is before 2000-01-01 (at actions[0])", false},
		{"user_time local before 2000 after the offset", trackBody(`{"action":"A","user_time":"2000-01-01T03:00:00","user_timezone_offset":19800}`),
			tInvalid, "user_time", "user_time is before 2000-01-01 (at actions[0])", false},
		{"current_time wins over a valid user_time", trackBody(`{"action":"A","current_time":"1990-01-01","user_time":1740819600}`),
			tInvalid, "current_time", "current_time is before 2000-01-01 (at actions[0])", false},
		{"invalid before floor", trackBody(`{"action":"A","current_time":-5}`), tInvalid, "current_time",
			"current_time is not a valid epoch or ISO-8601 time (at actions[0])", false},
		{"Bulk location", `{"type":"transition","elements":[{"type":"event","customer_id":"u","actions":[` + okAction + `,{"action":"A","user_time":946684799}]}]}`,
			tInvalid, "user_time", "user_time is before 2000-01-01 (at elements[0].actions[1])", true},
	})
	for _, action := range []string{
		`{"action":"A","current_time":946684800}`,
		`{"action":"A","current_time":"2000-01-01T00:00:00Z"}`,
		`{"action":"A","user_time":"2000-01-01T05:30:00","user_timezone_offset":19800}`,
		`{"action":"A","current_time":"1999-12-31T19:00:00-05:00"}`,
	} {
		if evs, err := DecodeTrack([]byte(trackBody(action)), testNow); err != nil || len(evs) != 1 || evs[0].TimeMS != 946684800000 {
			t.Errorf("%s: events %+v, err %v; want the floor instant accepted", action, evs, err)
		}
	}
}
