package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeStreams checks that no input panics and that the item invariants hold. Seeds are in
// testdata/fuzz/FuzzDecodeStreams.
func FuzzDecodeStreams(f *testing.F) {
	f.Add([]byte(`{"events":[{"event_uuid":"a","event_code":"MOE_EMAIL_SENT","event_time":1740819600,"uid":"u","event_attributes":{"campaign_id":"c","reason":"x","code":203}}]}`), false)
	f.Add([]byte("{\"event\":{\"event_uuid\":1}}\n\n[1]\r\n{bad"), true)
	f.Add([]byte(`{"event_uuid":"a","event_name":"Notification Dropped","event_time":"2025-03-01","uid":"u","event_attributes":{"campaign_id":"c","code":"204","variation_id":"007"}}`), true)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		items, err := DecodeStreams(body, ndjson, now)
		differential(t, body, ndjson, items, err)
		if err != nil {
			if items != nil {
				t.Fatal("items with error")
			}
			return
		}
		prev := -1
		for _, it := range items {
			if it.Index <= prev {
				t.Fatalf("indexes not increasing: %d after %d", it.Index, prev)
			}
			prev = it.Index
			if (it.Event == nil) == (it.Reject == "") {
				t.Fatalf("item %d: event %v reject %q", it.Index, it.Event, it.Reject)
			}
			if it.Event != nil && (it.Event.UUID == "" || it.Event.UserKey == "" || it.Event.TimeMS < minEventTimeMS) {
				t.Fatalf("accepted event without uuid/user/time: %+v", it.Event)
			}
			if it.Event != nil {
				// Rule 16 (§12.11): the user key's value has 1–256 characters.
				if v, ok := userKeyValue(it.Event.UserKey); !ok || v == "" || utf8.RuneCountInString(v) > MaxUserKeyChars {
					t.Fatalf("accepted user key %q", it.Event.UserKey)
				}
			}
		}
	})
}

// numberText is the text scalarBytes gives a JSON number.
func numberText(raw []byte) string {
	b, _ := scalarBytes(raw)
	return string(b)
}

func TestNumberText(t *testing.T) {
	tests := map[string]string{
		`12`: "12", `-3`: "-3", `0`: "0", `1.50`: "1.5", `1e3`: "1000", `1.5e-3`: "0.0015", `-0.0`: "0",
		`2.0`: "2", `123456789012345678901234567890`: "123456789012345678901234567890", `0.1`: "0.1",
		`12.5E+2`: "1250", `100e-2`: "1",
	}
	for in, want := range tests {
		if got := numberText([]byte(in)); got != want {
			t.Errorf("numberText(%s) = %q, want %q", in, got, want)
		}
	}
}

// differential compares DecodeStreams' view of the body's JSON structure with encoding/json's.
func differential(t *testing.T, body []byte, ndjson bool, items []Item, err error) {
	t.Helper()
	if !utf8.Valid(body) || isBlank(body) {
		if err == nil {
			t.Fatalf("accepted a blank or invalid UTF-8 body")
		}
		return
	}
	if ndjson {
		if err != nil {
			t.Fatalf("NDJSON body error: %v", err)
		}
		k := 0
		for n, line := range strings.Split(string(body), "\n") {
			line = strings.TrimSuffix(line, "\r")
			if isBlank([]byte(line)) {
				continue
			}
			if k >= len(items) || items[k].Index != n || string(items[k].Payload) != line {
				t.Fatalf("line %d: items out of step", n)
			}
			if (items[k].Reject == RejectLineNotJSON) == json.Valid([]byte(line)) {
				t.Fatalf("line %d %q: reject %q disagrees with encoding/json", n, line, items[k].Reject)
			}
			k++
		}
		if k != len(items) {
			t.Fatalf("%d items for %d lines", len(items), k)
		}
		return
	}
	if !json.Valid(body) {
		if be, ok := err.(*BodyError); !ok || be.Type != "Malformed JSON" {
			t.Fatalf("invalid JSON body: err = %v", err)
		}
		return
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) != nil {
		if be, ok := err.(*BodyError); !ok || be.Message != "body should be a JSON object" {
			t.Fatalf("non-object body: err = %v", err)
		}
		return
	}
	raw, has := env["events"]
	if !has {
		if err != nil || len(items) != 1 {
			t.Fatalf("object without events: %v %v", items, err)
		}
		return
	}
	var events []json.RawMessage
	if json.Unmarshal(raw, &events) != nil || string(raw) == "null" {
		if be, ok := err.(*BodyError); !ok || be.Attribute != "events" {
			t.Fatalf("events not an array: err = %v", err)
		}
		return
	}
	if err != nil || len(items) != len(events) {
		t.Fatalf("events: %d items, want %d (err %v)", len(items), len(events), err)
	}
	for i, e := range events {
		if string(items[i].Payload) != string(e) || items[i].Index != i {
			t.Fatalf("element %d: payload %q, want %q", i, items[i].Payload, e)
		}
	}
}
