package ingest

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// The exact §3.3 messages, typed from the SPEC.
const (
	msg1  = "line is not valid JSON"
	msg2  = "event is not a JSON object"
	msg3  = "event wrapper has no event object"
	msg4  = "event_uuid is required"
	msg5  = "event_uuid is longer than 128 characters"
	msg6  = "event_code or event_name is required"
	msg7  = "event_time is required"
	msg8  = "event_time is not a valid epoch or ISO-8601 time"
	msg9  = "event_time is before 2000-01-01"
	msg10 = "event_time is more than 5 minutes in the future"
	msg12 = "event_attributes.campaign_id is required for campaign events"
	msg13 = "event_attributes.campaign_id is invalid"
	msg14 = "event_attributes.parent_campaign_id is invalid"
	msg15 = "no user identity (uid, user_attributes.moengage_user_id, device_attributes.moengage_device_id, push_id, email_id or mobile_number)"
	msg16 = "user identity is longer than 256 characters"
)

// raw is a JSON value given as text.
type raw = json.RawMessage

func TestRejectionRules(t *testing.T) {
	valid := func() map[string]any { return base("MOE_EMAIL_SENT", "Email Sent", "cmp-1", nil) }
	set := func(kv ...any) map[string]any {
		f := valid()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(f, kv[i].(string))
			} else {
				f[kv[i].(string)] = kv[i+1]
			}
		}
		return f
	}
	attrs := func(kv ...any) map[string]any {
		a := map[string]any{"campaign_id": "cmp-1"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(a, kv[i].(string))
			} else {
				a[kv[i].(string)] = kv[i+1]
			}
		}
		return set("event_attributes", a)
	}
	future := testNow.Add(5 * time.Minute)
	tests := []struct {
		name   string
		fields map[string]any
		want   string // "" = accepted
		uuid   string
	}{
		{"valid", valid(), "", "u-1"},
		// Rule 4.
		{"uuid missing", set("event_uuid", nil), msg4, ""},
		{"uuid empty", set("event_uuid", ""), msg4, ""},
		{"uuid null", set("event_uuid", raw(`null`)), msg4, ""},
		{"uuid boolean", set("event_uuid", true), msg4, ""},
		{"uuid object", set("event_uuid", map[string]any{"a": 1}), msg4, ""},
		{"uuid number", set("event_uuid", raw(`1234`)), "", "1234"},
		{"uuid big number", set("event_uuid", raw(`123456789012345678901234567890`)), "",
			"123456789012345678901234567890"},
		{"uuid escaped", set("event_uuid", raw(`"a\u0062c"`)), "", "abc"},
		// Rule 5.
		{"uuid 128", set("event_uuid", strings.Repeat("x", 128)), "", strings.Repeat("x", 128)},
		{"uuid 129", set("event_uuid", strings.Repeat("x", 129)), msg5, strings.Repeat("x", 129)},
		{"uuid 128 multibyte characters", set("event_uuid", strings.Repeat("é", 128)), "", strings.Repeat("é", 128)},
		{"uuid 129 multibyte characters", set("event_uuid", strings.Repeat("é", 129)), msg5, strings.Repeat("é", 129)},
		// Rule 6.
		{"no code or name", set("event_code", nil, "event_name", nil), msg6, "u-1"},
		{"blank code and name", set("event_code", "", "event_name", "  "), msg6, "u-1"},
		{"code not a string", set("event_code", 5, "event_name", nil), msg6, "u-1"},
		{"name only", set("event_code", nil), "", "u-1"},
		{"code only", set("event_name", nil), "", "u-1"},
		// Rule 7.
		{"time missing", set("event_time", nil), msg7, "u-1"},
		{"time null", set("event_time", raw(`null`)), msg7, "u-1"},
		// Rule 8.
		{"time text", set("event_time", "yesterday"), msg8, "u-1"},
		{"time empty string", set("event_time", ""), msg8, "u-1"},
		{"time zero", set("event_time", 0), msg8, "u-1"},
		{"time negative", set("event_time", -1740819600), msg8, "u-1"},
		{"time boolean", set("event_time", true), msg8, "u-1"},
		// Rule 9.
		{"time 1999", set("event_time", "1999-12-31T23:59:59.999Z"), msg9, "u-1"},
		{"time small seconds", set("event_time", 86400), msg9, "u-1"},
		{"time 2000-01-01", set("event_time", 946684800), "", "u-1"},
		// Rule 10.
		{"time now+5min", set("event_time", future.UnixMilli()), "", "u-1"},
		{"time now+5min ISO", set("event_time", future.Format(time.RFC3339Nano)), "", "u-1"},
		{"time now+5min+1ms", set("event_time", future.UnixMilli()+1), msg10, "u-1"},
		{"time next year", set("event_time", "2026-03-01"), msg10, "u-1"},
		// Rule 11.
		{"event_attributes string", set("event_attributes", "x"), "event_attributes must be an object", "u-1"},
		{"event_attributes array", set("event_attributes", []int{}), "event_attributes must be an object", "u-1"},
		{"user_attributes array", set("user_attributes", []int{1}), "user_attributes must be an object", "u-1"},
		{"device_attributes number", set("device_attributes", 5), "device_attributes must be an object", "u-1"},
		{"device_attributes boolean", set("device_attributes", false), "device_attributes must be an object", "u-1"},
		{"attributes null", set("user_attributes", raw(`null`), "device_attributes", raw(`null`)), "", "u-1"},
		// Rule 12.
		{"campaign_id missing", attrs("campaign_id", nil), msg12, "u-1"},
		{"campaign_id empty", attrs("campaign_id", ""), msg12, "u-1"},
		{"campaign_id null", attrs("campaign_id", raw(`null`)), msg12, "u-1"},
		{"no event_attributes", set("event_attributes", nil), msg12, "u-1"},
		// Rule 13.
		{"campaign_id with space", attrs("campaign_id", "bad id"), msg13, "u-1"},
		{"campaign_id padded", attrs("campaign_id", " cmp-1"), msg13, "u-1"},
		{"campaign_id slash", attrs("campaign_id", "a/b"), msg13, "u-1"},
		{"campaign_id non-ASCII", attrs("campaign_id", "cmpé"), msg13, "u-1"},
		{"campaign_id 129", attrs("campaign_id", strings.Repeat("a", 129)), msg13, "u-1"},
		{"campaign_id boolean", attrs("campaign_id", true), msg13, "u-1"},
		{"campaign_id object", attrs("campaign_id", map[string]any{}), msg13, "u-1"},
		{"campaign_id 128", attrs("campaign_id", strings.Repeat("a", 128)), "", "u-1"},
		{"campaign_id all characters", attrs("campaign_id", "AZaz09._-:"), "", "u-1"},
		{"campaign_id number", attrs("campaign_id", 12345), "", "u-1"},
		// Rule 14.
		{"parent invalid", attrs("parent_campaign_id", "p/1"), msg14, "u-1"},
		{"parent boolean", attrs("parent_campaign_id", true), msg14, "u-1"},
		{"parent 129", attrs("parent_campaign_id", strings.Repeat("p", 129)), msg14, "u-1"},
		{"parent empty", attrs("parent_campaign_id", ""), "", "u-1"},
		{"parent null", attrs("parent_campaign_id", raw(`null`)), "", "u-1"},
		{"parent valid", attrs("parent_campaign_id", "p:1"), "", "u-1"},
		// Rules 12–14 apply to campaign events only.
		{"user event, bad campaign_id", set("event_code", "Purchase", "event_name", nil, "event_attributes",
			map[string]any{"campaign_id": "bad id", "parent_campaign_id": "x/y"}), "", "u-1"},
		{"user event, no campaign_id", set("event_code", "MOE_APP_OPENED", "event_name", nil, "event_attributes",
			nil), "", "u-1"},
		{"kind U row, no campaign_id", set("event_code", "USER_ENTERED_FLOW", "event_name", nil, "event_attributes",
			nil), "", "u-1"},
		// Rule 15.
		{"no identity", set("uid", nil), msg15, "u-1"},
		{"blank identities", set("uid", " ", "email_id", "", "push_id", raw(`null`)), msg15, "u-1"},
		// Rule 16 (SPEC §12.11): the chosen value has at most 256 characters, counted after trimming.
		{"uid 256", set("uid", strings.Repeat("u", 256)), "", "u-1"},
		{"uid 256 multibyte padded", set("uid", "  "+strings.Repeat("é", 256)+"\t"), "", "u-1"},
		{"uid 257", set("uid", strings.Repeat("u", 257)), msg16, "u-1"},
		{"uid 257 multibyte", set("uid", strings.Repeat("é", 257)), msg16, "u-1"},
		{"uid number 257 digits", set("uid", raw(strings.Repeat("9", 257))), msg16, "u-1"},
		{"long uid chosen over a short email", set("uid", strings.Repeat("u", 300), "email_id", "a@b.c"), msg16, "u-1"},
		{"email 257", set("uid", nil, "email_id", strings.Repeat("E", 257)), msg16, "u-1"},
		{"moengage_user_id 257", set("uid", nil, "user_attributes", map[string]any{"moengage_user_id": strings.Repeat("m", 257)}), msg16, "u-1"},
		{"blank long uid falls through", set("uid", strings.Repeat(" ", 400), "push_id", "p"), "", "u-1"},

		// Order: the first failing rule wins.
		{"4 before 6,7", set("event_uuid", nil, "event_code", nil, "event_name", nil, "event_time", nil), msg4, ""},
		{"5 before 6", set("event_uuid", strings.Repeat("x", 200), "event_code", nil, "event_name", nil), msg5,
			strings.Repeat("x", 200)},
		{"6 before 7", set("event_code", nil, "event_name", nil, "event_time", nil), msg6, "u-1"},
		{"7 before 11", set("event_time", nil, "event_attributes", 1), msg7, "u-1"},
		{"8 before 11", set("event_time", "x", "event_attributes", 1), msg8, "u-1"},
		{"9 before 11", set("event_time", "1999-01-01", "event_attributes", 1), msg9, "u-1"},
		{"10 before 11", set("event_time", "2030-01-01", "event_attributes", 1, "uid", nil), msg10, "u-1"},
		{"11 order event before user", set("event_attributes", 1, "user_attributes", 1), "event_attributes must be an object", "u-1"},
		{"11 order user before device", set("device_attributes", 1, "user_attributes", 1), "user_attributes must be an object", "u-1"},
		{"11 before 12", set("event_attributes", "x"), "event_attributes must be an object", "u-1"},
		{"11 before 15", set("uid", nil, "device_attributes", "x"), "device_attributes must be an object", "u-1"},
		{"12 before 15", set("event_attributes", nil, "uid", nil), msg12, "u-1"},
		{"13 before 14", attrs("campaign_id", "a b", "parent_campaign_id", "c d"), msg13, "u-1"},
		{"14 before 15", merge(attrs("parent_campaign_id", "c d"), map[string]any{"uid": nil}), msg14, "u-1"},
		{"14 before 16", merge(attrs("parent_campaign_id", "c d"), map[string]any{"uid": strings.Repeat("u", 257)}), msg14, "u-1"},
	}
	for _, tc := range tests {
		it := decodeOne(t, ev(tc.fields))
		if it.Reject != tc.want {
			t.Errorf("%s: Reject = %q, want %q", tc.name, it.Reject, tc.want)
		}
		if (it.Event != nil) != (tc.want == "") {
			t.Errorf("%s: Event = %v with Reject %q", tc.name, it.Event, it.Reject)
		}
		if it.UUID != tc.uuid {
			t.Errorf("%s: UUID = %q, want %q", tc.name, it.UUID, tc.uuid)
		}
	}
}

func TestNDJSONLineRules(t *testing.T) {
	good := ev(base("MOE_EMAIL_SENT", "", "cmp-1", nil))
	body := strings.Join([]string{
		`{"event_uuid":"a",`,                       // 0: rule 1
		`[1,2]`,                                    // 1: rule 2
		`"text"`,                                   // 2: rule 2
		`{"app_name":"Shop","event":5}`,            // 3: rule 3
		`{"app_name":"Shop","event":null}`,         // 4: rule 3
		`{"event":[` + good + `]}`,                 // 5: rule 3
		`{"app_name":"Shop","event":` + good + `}`, // 6: accepted (b)
		good,                          // 7: accepted (c)
		`not json`,                    // 8: rule 1
		`{"event_uuid":"x"} trailing`, // 9: rule 1
		`{"event":{"event_uuid":"w1","event_code":"X"}}`, // 10: wrapped event rejected by its own rules
		`{"a":1}{"b":2}`, // 11: rule 1
		`12`,             // 12: rule 2
		`nul`,            // 13: rule 1
	}, "\n")
	items, err := DecodeStreams([]byte(body), true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{msg1, msg2, msg2, msg3, msg3, msg3, "", "", msg1, msg1, msg7, msg1, msg2, msg1}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d", len(items), len(want))
	}
	for i, it := range items {
		if it.Index != i || it.Reject != want[i] {
			t.Errorf("line %d: index %d reject %q, want %q", i, it.Index, it.Reject, want[i])
		}
	}
	if items[10].UUID != "w1" {
		t.Errorf("wrapped event uuid = %q", items[10].UUID)
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5} {
		if items[i].UUID != "" {
			t.Errorf("line %d: UUID = %q, want empty", i, items[i].UUID)
		}
	}
}

func TestEnvelopeElementRules(t *testing.T) {
	body := `{"events":[5,"x",null,[],{"event":{"event_uuid":"in"}},` + ev(base("X", "", "", nil)) + `]}`
	items, err := DecodeStreams([]byte(body), false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// Export wrappers are an NDJSON shape: inside an envelope, "event" is just an unknown member.
	want := []string{msg2, msg2, msg2, msg2, msg4, ""}
	for i, it := range items {
		if it.Reject != want[i] || it.Index != i {
			t.Errorf("element %d: index %d reject %q, want %q", i, it.Index, it.Reject, want[i])
		}
	}
}

func TestBodyErrors(t *testing.T) {
	malformed := &BodyError{"Malformed JSON", "body",
		"Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."}
	notObject := &BodyError{"InvalidParams", "body", "body should be a JSON object"}
	eventsArray := &BodyError{"InvalidParams", "events", "events should be an array"}
	empty := &BodyError{"Empty request body", "body", "Request body is empty"}
	tests := []struct {
		body   string
		ndjson bool
		want   *BodyError
	}{
		{`{"events":[`, false, malformed},
		{`{"events":[]} x`, false, malformed},
		{`{"events":[{"a":1},]}`, false, malformed},
		{`{"events":[{"a":1}], "x": }`, false, malformed}, // anywhere in the body, even after events
		{`{'events':[]}`, false, malformed},
		{"\xef\xbb\xbf{\"events\":[]}", false, malformed}, // a BOM is not JSON
		{"{\"events\":[{\"event_uuid\":\"\xff\"}]}", false, malformed},
		{"{\"event_uuid\":\"a\xc3\"}\n", true, malformed}, // invalid UTF-8 anywhere is Malformed JSON (§12.6)
		{`[]`, false, notObject},
		{`[{"event_uuid":"a"}]`, false, notObject},
		{`"events"`, false, notObject},
		{`12`, false, notObject},
		{`null`, false, notObject},
		{`{"events":{}}`, false, eventsArray},
		{`{"events":null}`, false, eventsArray},
		{`{"events":"[]"}`, false, eventsArray},
		{`{"events":[],"events":5}`, false, eventsArray}, // the last duplicate wins, as in encoding/json
		{``, false, empty},
		{" \n\t\r\n", false, empty},
		{``, true, empty},
		{"\n\n  \r\n", true, empty},
	}
	for _, tc := range tests {
		items, err := DecodeStreams([]byte(tc.body), tc.ndjson, testNow)
		var be *BodyError
		if !errors.As(err, &be) || *be != *tc.want {
			t.Errorf("body %q (ndjson %v): err = %v, want %v", tc.body, tc.ndjson, err, tc.want)
		}
		if items != nil {
			t.Errorf("body %q: items returned with error", tc.body)
		}
	}
	if (&BodyError{"T", "a", "m"}).Error() == "" {
		t.Error("empty Error()")
	}
}

func TestEnvelopeShape(t *testing.T) {
	e0 := `{ "event_name" : "Notification Clicked Android", "event_code": "NOTIFICATION_CLICKED_MOE",
      "event_uuid": "7c0e6c0e-9c1b-4c59-9a4e-0d7f3f1f2a11", "event_time": 1740819600,
      "event_type": "CAMPAIGN_EVENT", "event_source": "MOENGAGE",
      "uid": "user-1042", "push_id": "fcm-token-abc",
      "event_attributes": {"campaign_id": "65f1c0a2b3c4d5e6f7a8b9c0", "campaign_name": "Spring Sale",
                           "campaign_type": "One Time", "campaign_channel": "Push",
                           "locale_name": "en", "variation_id": "1"},
      "user_attributes": {"moengage_user_id": "64a0c1d2e3f4a5b6c7d8e9f0"},
      "device_attributes": {"moengage_device_id": "dev-77"}
    }`
	e1 := `{"event_uuid":"b","event_name":"Purchase","event_time":"2025-03-01T10:00:00Z","email_id":"X@Y.z","event_attributes":{"amount":49.9}}`
	e2 := `{"event_uuid":"c"}`
	body := "{\n  \"app_name\": \"Shop\", \"source\": \"MOENGAGE\", \"moe_request_id\": \"5f6e0c3a-req-17\",\n  \"events\": [\n    " +
		e0 + " ,\n" + e1 + ",\t" + e2 + "\n  ]\n}\n"
	items, err := DecodeStreams([]byte(body), false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items", len(items))
	}
	for i, want := range []string{e0, e1, e2} {
		if string(items[i].Payload) != want || items[i].Index != i {
			t.Errorf("item %d: index %d payload %q, want %q", i, items[i].Index, items[i].Payload, want)
		}
	}
	e := items[0].Event
	want := domain.Event{
		UUID: "7c0e6c0e-9c1b-4c59-9a4e-0d7f3f1f2a11", TimeMS: 1740819600000, Campaign: true,
		Code: "NOTIFICATION_CLICKED_MOE", Name: "Notification Clicked Android", UserKey: "uid:user-1042",
		CampaignID: "65f1c0a2b3c4d5e6f7a8b9c0", Channels: channelsOf(domain.ChannelPush),
		Counter: domain.CounterClick, Class: domain.ClassClick, Platform: "android", Locale: "en",
		Variation: "variation_1", CampaignName: "Spring Sale", InferredChannel: domain.ChannelPush,
		DeliveryType: domain.DeliveryOneTime, Source: "streams",
		Attributes: json.RawMessage(`{"campaign_id": "65f1c0a2b3c4d5e6f7a8b9c0", "campaign_name": "Spring Sale",
                           "campaign_type": "One Time", "campaign_channel": "Push",
                           "locale_name": "en", "variation_id": "1"}`),
	}
	if e == nil || !reflect.DeepEqual(*e, want) {
		t.Errorf("event 0:\n got %+v\nwant %+v", e, want)
	}
	u := items[1].Event
	wantU := domain.Event{UUID: "b", TimeMS: 1740823200000, Name: "Purchase", UserKey: "email:x@y.z",
		Source: "streams", Attributes: json.RawMessage(`{"amount":49.9}`)}
	if u == nil || !reflect.DeepEqual(*u, wantU) {
		t.Errorf("user event:\n got %+v\nwant %+v", u, wantU)
	}
	if items[2].Reject != msg6 || items[2].UUID != "c" {
		t.Errorf("item 2: %+v", items[2])
	}

	// "events": [] → zero items, no error.
	items, err = DecodeStreams([]byte(`{"app_name":"Shop","events":[ ]}`), false, testNow)
	if err != nil || len(items) != 0 {
		t.Errorf("empty events: %v %v", items, err)
	}
}

// TestEnvelopeWithoutEvents: an application/json object without "events" is a one-line NDJSON body (§3.2).
func TestEnvelopeWithoutEvents(t *testing.T) {
	inner := ev(base("MOE_EMAIL_SENT", "", "cmp-1", nil))
	tests := []struct {
		body   string
		reject string
	}{
		{inner, ""},
		{"  " + inner + "\n", ""},
		{`{"app_name":"Shop","export_hour":"13","export_doc_id":"63a186ac11","db_name":"shop","export_day":"2025-03-01","event":` + inner + `}`, ""},
		{`{"app_name":"Shop","event":"x"}`, msg3},
		{`{"app_name":"Shop"}`, msg4},
	}
	for _, tc := range tests {
		items, err := DecodeStreams([]byte(tc.body), false, testNow)
		if err != nil || len(items) != 1 {
			t.Fatalf("%s: %v %v", tc.body, items, err)
		}
		it := items[0]
		if it.Index != 0 || it.Reject != tc.reject || string(it.Payload) != strings.TrimSpace(tc.body) {
			t.Errorf("%s: %+v", tc.body, it)
		}
	}
}

// TestNDJSONShapes: shapes (b) and (c) mixed, blank lines counted, \r\n, payload text.
func TestNDJSONShapes(t *testing.T) {
	c0 := ev(map[string]any{"event_uuid": "c0", "event_code": "MOE_EMAIL_SENT", "event_time": testTimeSec,
		"uid": "u", "event_attributes": map[string]any{"campaign_id": "6763f09a1f53871780a63623"}})
	b1 := `{"app_name":"Shop","export_hour":"13","export_doc_id":"63a186ac11","db_name":"shop","export_day":"2025-03-01","event":{"event_code":"MOE_EMAIL_SENT","event_name":"Email Sent","event_uuid":"ffb1-02","event_time":1740819600,"uid":"user-9","email_id":"a@example.com","event_attributes":{"campaign_id":"6763f09a1f53871780a63623","campaign_channel":"EMAIL","moe_delivery_type":"One Time"}}}`
	c2 := `  {"event_uuid":"c2","event_name":"Purchase","event_time":1740819600,"mobile_number":"+1 555"}	`
	body := c0 + "\r\n" + // line 0
		"\n" + // line 1 blank
		"   \t\r\n" + // line 2 blank
		b1 + "\n" + // line 3
		"{bad\r\n" + // line 4
		c2 + "\r\r\n" + // line 5: only one \r is stripped
		"\n" // line 6 blank (empty tail)
	items, err := DecodeStreams([]byte(body), true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		index   int
		uuid    string
		payload string
		reject  string
	}
	want := []row{
		{0, "c0", c0, ""},
		{3, "ffb1-02", b1, ""},
		{4, "", "{bad", msg1},
		{5, "c2", c2 + "\r", ""},
	}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(want), items)
	}
	for i, w := range want {
		got := row{items[i].Index, items[i].UUID, string(items[i].Payload), items[i].Reject}
		if got != w {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	b := items[1].Event
	if b.CampaignID != "6763f09a1f53871780a63623" || b.Counter != domain.CounterSent || b.UserKey != "uid:user-9" ||
		b.DeliveryType != domain.DeliveryOneTime || b.InferredChannel != domain.ChannelEmail ||
		string(b.Attributes) != `{"campaign_id":"6763f09a1f53871780a63623","campaign_channel":"EMAIL","moe_delivery_type":"One Time"}` {
		t.Errorf("wrapped event: %+v", b)
	}
	if items[3].Event.UserKey != "mobile:+1 555" {
		t.Errorf("bare event: %+v", items[3].Event)
	}

	// No trailing newline; a single line.
	items, err = DecodeStreams([]byte(c0), true, testNow)
	if err != nil || len(items) != 1 || items[0].Index != 0 || items[0].Event == nil {
		t.Errorf("single line: %+v %v", items, err)
	}
	// Leading blank lines shift the index.
	items, _ = DecodeStreams([]byte("\n\n"+c0), true, testNow)
	if len(items) != 1 || items[0].Index != 2 {
		t.Errorf("leading blank lines: %+v", items)
	}
	// A line holding an "events" envelope is not an envelope in NDJSON: it is a bare event without uuid.
	items, _ = DecodeStreams([]byte(`{"events":[`+c0+`]}`), true, testNow)
	if len(items) != 1 || items[0].Reject != msg4 {
		t.Errorf("envelope as NDJSON line: %+v", items)
	}
}

// TestDuplicatesNotDetected: dedup is the caller's job.
func TestDuplicatesNotDetected(t *testing.T) {
	e := ev(base("X", "", "", nil))
	items, err := DecodeStreams([]byte(`{"events":[`+e+`,`+e+`]}`), false, testNow)
	if err != nil || len(items) != 2 || items[0].Event == nil || items[1].Event == nil {
		t.Fatalf("%+v %v", items, err)
	}
	if items[0].Event == items[1].Event {
		t.Error("events share storage")
	}
}

// TestInference covers the §3.14 inputs.
func TestInference(t *testing.T) {
	tests := []struct {
		code   string
		attrs  map[string]any
		check  func(e *domain.Event) bool
		expect string
	}{
		{"MOE_EMAIL_SENT", map[string]any{"campaign_name": " Spring Sale "},
			func(e *domain.Event) bool { return e.CampaignName == "Spring Sale" }, "campaign name trimmed"},
		{"MOE_EMAIL_SENT", nil, func(e *domain.Event) bool { return e.CampaignName == "" }, "no campaign name"},
		{"MOE_IN_APP_SHOWN", map[string]any{"campaign_channel": "On Site"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelOnSite }, "shared → ON_SITE"},
		{"MOE_IN_APP_CLICKED", map[string]any{"moe_campaign_channel": "osm"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelOnSite }, "moe_campaign_channel"},
		{"MOE_IN_APP_DISMISSED", map[string]any{"campaign_channel": "web-personalization"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelOnSite }, "WEB_PERSONALIZATION"},
		{"MOE_IN_APP_SHOWN", map[string]any{"campaign_channel": "in-app"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelInApp }, "shared → IN_APP"},
		{"MOE_IN_APP_SHOWN", map[string]any{"campaign_channel": "Push"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelInApp }, "shared, other channel"},
		{"MOE_IN_APP_SHOWN", nil,
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelInApp }, "shared, no attribute"},
		{"MOE_EMAIL_OPEN", map[string]any{"campaign_channel": "SMS"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelEmail }, "single channel wins"},
		{"MOE_CAMPAIGN_CONTROL_GROUP", map[string]any{"campaign_channel": "e-mail"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelEmail }, "control group attr"},
		{"MOE_CAMPAIGN_CONTROL_GROUP", map[string]any{"campaign_channel": "bogus", "moe_campaign_channel": "WhatsApp"},
			func(e *domain.Event) bool { return e.InferredChannel == domain.ChannelWhatsApp }, "control group 2nd attr"},
		{"MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", nil,
			func(e *domain.Event) bool { return e.InferredChannel == "" }, "control group, no attr"},
		{"MOE_EMAIL_SENT", map[string]any{"moe_delivery_type": "One Time", "campaign_type": "Periodic"},
			func(e *domain.Event) bool { return e.DeliveryType == domain.DeliveryOneTime }, "moe_delivery_type first"},
		{"MOE_EMAIL_SENT", map[string]any{"campaign_type": "periodic"},
			func(e *domain.Event) bool { return e.DeliveryType == domain.DeliveryPeriodic }, "campaign_type"},
		{"MOE_EMAIL_SENT", map[string]any{"moe_delivery_type": "GENERAL", "campaign_type": "Active"},
			func(e *domain.Event) bool { return e.DeliveryType == domain.DeliveryEventTriggered }, "fallback"},
		{"MOE_EMAIL_SENT", map[string]any{"campaign_type": "GENERAL"},
			func(e *domain.Event) bool { return e.DeliveryType == "" }, "not normalising"},
		{"MOE_EMAIL_SENT", map[string]any{"moe_campaign_tags": " sale, spring ,, ,x"},
			func(e *domain.Event) bool {
				return e.HasTags && reflect.DeepEqual(e.Tags, []string{"sale", "spring", "x"})
			}, "tags"},
		{"MOE_EMAIL_SENT", map[string]any{"moe_campaign_tags": " , ,"},
			func(e *domain.Event) bool { return !e.HasTags && len(e.Tags) == 0 }, "empty tags"},
		{"MOE_EMAIL_SENT", nil, func(e *domain.Event) bool { return !e.HasTags }, "no tags"},
		{"MOE_EMAIL_SENT", map[string]any{"parent_campaign_id": "cmp-1"},
			func(e *domain.Event) bool { return e.ParentCampaignID == "" }, "parent equal to campaign"},
		{"MOE_EMAIL_SENT", map[string]any{"parent_campaign_id": "parent-1"},
			func(e *domain.Event) bool { return e.ParentCampaignID == "parent-1" }, "parent"},
	}
	for _, tc := range tests {
		e := accepted(t, ev(base(tc.code, "", "cmp-1", tc.attrs)))
		if !tc.check(e) {
			t.Errorf("%s: %+v", tc.expect, e)
		}
	}
}

func TestAttributesKeptRaw(t *testing.T) {
	items, err := DecodeStreams([]byte(`{"events":[
		{"event_uuid":"a","event_name":"Purchase","event_time":1740819600,"uid":"u","event_attributes": { "amount" : 1.50 }},
		{"event_uuid":"b","event_name":"Purchase","event_time":1740819600,"uid":"u"},
		{"event_uuid":"c","event_name":"Purchase","event_time":1740819600,"uid":"u","event_attributes":null}]}`),
		false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if string(items[0].Event.Attributes) != `{ "amount" : 1.50 }` {
		t.Errorf("attributes = %q", items[0].Event.Attributes)
	}
	if items[1].Event.Attributes != nil || items[2].Event.Attributes != nil {
		t.Errorf("absent / null attributes not nil")
	}
}

// TestKeysExact: members are matched by exact name (no case folding), the last duplicate wins, escaped keys work.
func TestKeysExact(t *testing.T) {
	e := accepted(t, `{"event_uuid":"a","Event_UUID":"b","event_name":"Purchase","event_time":1740819600,"UID":"x","uid":"u1","uid":"u2"}`)
	if e.UUID != "a" || e.UserKey != "uid:u2" {
		t.Errorf("%+v", e)
	}
	e = accepted(t, `{"event\u005fuuid":"esc","event_name":"Purchase","event_time":1740819600,"uid":"u"}`)
	if e.UUID != "esc" {
		t.Errorf("escaped key: %+v", e)
	}
}

func TestStringsAreIndependentOfBody(t *testing.T) {
	body := []byte(`{"events":[` + ev(base("MOE_EMAIL_SENT", "", "cmp-1", map[string]any{"locale_name": "en",
		"campaign_name": "N"})) + `]}`)
	items, err := DecodeStreams(body, false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	e := *items[0].Event
	for i := range body {
		if body[i] != '{' && body[i] != '}' {
			body[i] = 'z'
		}
	}
	if e.UUID != "u-1" || e.CampaignID != "cmp-1" || e.Locale != "en" || e.CampaignName != "N" || e.UserKey != "uid:user-1" {
		t.Errorf("strings alias the body: %+v", e)
	}
}

func TestValidCampaignID(t *testing.T) {
	for id, want := range map[string]bool{"65f1c0a2b3c4d5e6f7a8b9c0": true, "a": true, "A.b_c-d:9": true,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false, "": false, "a b": false, "a/b": false,
		"é": false, "a\n": false} {
		if got := ValidCampaignID(id); got != want {
			t.Errorf("ValidCampaignID(%q) = %v, want %v", id, got, want)
		}
	}
}
