package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// testNow is the receipt time used by the tests: 2025-03-01T12:00:00Z.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testTimeSec is 2025-03-01T09:00:00Z in epoch seconds.
const testTimeSec = 1740819600

// ev builds an event object as JSON text from a map; values are marshalled as given.
func ev(fields map[string]any) string {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// base returns the fields of a valid event with the given code and name ("" omits them) and campaign id ("" omits
// event_attributes.campaign_id). extra attributes are merged into event_attributes.
func base(code, name, campaignID string, attrs map[string]any) map[string]any {
	f := map[string]any{"event_uuid": "u-1", "event_time": testTimeSec, "uid": "user-1"}
	if code != "" {
		f["event_code"] = code
	}
	if name != "" {
		f["event_name"] = name
	}
	a := map[string]any{}
	for k, v := range attrs {
		a[k] = v
	}
	if campaignID != "" {
		a["campaign_id"] = campaignID
	}
	if len(a) > 0 {
		f["event_attributes"] = a
	}
	return f
}

// decodeOne decodes a one-event envelope and returns its item.
func decodeOne(t *testing.T, event string) Item {
	t.Helper()
	items, err := DecodeStreams([]byte(`{"events":[`+event+`]}`), false, testNow)
	if err != nil {
		t.Fatalf("DecodeStreams: %v", err)
	}
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1", len(items))
	}
	return items[0]
}

// accepted decodes one event and fails the test unless it was accepted.
func accepted(t *testing.T, event string) *domain.Event {
	t.Helper()
	it := decodeOne(t, event)
	if it.Event == nil {
		t.Fatalf("event rejected: %q\nevent: %s", it.Reject, event)
	}
	if it.Reject != "" {
		t.Fatalf("accepted event has Reject %q", it.Reject)
	}
	return it.Event
}

func channelsOf(cs ...domain.Channel) domain.ChannelSet { return domain.ChannelSetOf(cs...) }

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func swapCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 32)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 32)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
