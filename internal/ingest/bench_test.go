package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchEvents builds n realistic Streams events: a mix of push, email, in-app and SMS campaign events (with
// failures and held-out events) and user events, with the attribute objects MoEngage exports carry.
func benchEvents(n int) []map[string]any {
	rng := rand.New(rand.NewPCG(1, 2))
	type kind struct{ code, name, channel string }
	kinds := []kind{
		{"", "Notification Sent Android", "Push"},
		{"NOTIFICATION_RECEIVED_MOE", "Notification Received Android", "Push"},
		{"NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", "Push"},
		{"NOTIFICATION_CLICKED_IOS_MOE", "Notification Clicked iOS", "Push"},
		{"", "Notification Failed Android", "Push"},
		{"MOE_EMAIL_SENT", "Email Sent", "EMAIL"},
		{"MOE_EMAIL_DELIVERED", "Email Delivered", "EMAIL"},
		{"MOE_EMAIL_OPEN", "Email Opened", "EMAIL"},
		{"MOE_EMAIL_CLICK", "Email Clicked", "EMAIL"},
		{"MOE_EMAIL_DROP", "Email Dropped", "EMAIL"},
		{"MOE_IN_APP_SHOWN", "Mobile In-App Shown", "In-App"},
		{"SMS_SENT", "SMS Sent", "SMS"},
		{"MOE_CAMPAIGN_CONTROL_GROUP", "User Added to Control Group", "Push"},
		{"MOE_APP_OPENED", "App Opened", ""},
		{"", "Purchase", ""},
		{"", "Add To Cart", ""},
	}
	out := make([]map[string]any, n)
	for i := range out {
		k := kinds[rng.IntN(len(kinds))]
		user := fmt.Sprintf("user-%d", rng.IntN(50000))
		e := map[string]any{
			"event_uuid":   fmt.Sprintf("%08x-9c1b-4c59-9a4e-%012x", rng.Uint32(), rng.Uint64()&0xffffffffffff),
			"event_time":   1740819600 + rng.IntN(3600),
			"event_type":   "CAMPAIGN_EVENT",
			"event_source": "MOENGAGE",
			"uid":          user,
			"user_attributes": map[string]any{
				"moengage_user_id": fmt.Sprintf("64a0c1d2e3f4a5b6%08x", rng.Uint32()),
				"first_name":       "Ann", "city": "Pune",
			},
			"device_attributes": map[string]any{
				"moengage_device_id": fmt.Sprintf("dev-%d", rng.IntN(1e6)),
				"platform":           "ANDROID", "app_version": "3.2.0",
			},
		}
		if k.code != "" {
			e["event_code"] = k.code
		}
		e["event_name"] = k.name
		if k.channel == "" {
			e["event_type"] = "USER_ACTION_EVENT"
			e["event_attributes"] = map[string]any{"amount": 49.9, "sku": "A-1", "currency": "INR",
				"screen": "checkout", "items": 2}
		} else {
			camp := rng.IntN(20)
			a := map[string]any{
				"campaign_id":       fmt.Sprintf("65f1c0a2b3c4d5e6f7a8b9%02d", camp),
				"campaign_name":     fmt.Sprintf("Spring Sale %d", camp),
				"campaign_type":     "One Time",
				"campaign_channel":  k.channel,
				"locale_name":       []string{"en", "fr"}[rng.IntN(2)],
				"variation_id":      fmt.Sprint(1 + rng.IntN(2)),
				"moe_campaign_tags": "sale,spring",
				"platform":          "ANDROID",
			}
			if k.name == "Notification Failed Android" || k.code == "MOE_EMAIL_DROP" {
				a["reason_code"] = []int{101, 201, 203, 204}[rng.IntN(4)]
				a["reason"] = "Users removed due to Frequency Capping"
			}
			if k.code == "MOE_CAMPAIGN_CONTROL_GROUP" {
				a["cg_type"] = "global"
			}
			e["event_attributes"] = a
		}
		out[i] = e
	}
	return out
}

func benchEnvelope(n int) []byte {
	b, err := json.Marshal(map[string]any{"app_name": "Shop", "source": "MOENGAGE",
		"moe_request_id": "5f6e0c3a-req-17", "events": benchEvents(n)})
	if err != nil {
		panic(err)
	}
	return b
}

func benchNDJSON(n int) []byte {
	var buf bytes.Buffer
	for i, e := range benchEvents(n) {
		var line any = e
		if i%2 == 0 {
			line = map[string]any{"app_name": "Shop", "export_hour": "13", "export_doc_id": "63a186ac11",
				"db_name": "shop", "export_day": "2025-03-01", "event": e}
		}
		b, _ := json.Marshal(line)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkDecodeStreams decodes a 1000-event Streams batch (shape a).
func BenchmarkDecodeStreams(b *testing.B) {
	body := benchEnvelope(1000)
	items, err := DecodeStreams(body, false, testNow)
	if err != nil {
		b.Fatal(err)
	}
	for _, it := range items {
		if it.Event == nil {
			b.Fatalf("benchmark event rejected: %s", it.Reject)
		}
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeStreams(body, false, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeStreamsNDJSON decodes 1000 NDJSON lines, half export-wrapped (shapes b and c).
func BenchmarkDecodeStreamsNDJSON(b *testing.B) {
	body := benchNDJSON(1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeStreams(body, true, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncodingJSONBaseline is the cost of merely unmarshalling the same batch with encoding/json into
// structs with json.RawMessage attributes, for comparison.
func BenchmarkEncodingJSONBaseline(b *testing.B) {
	body := benchEnvelope(1000)
	type event struct {
		UUID, Code, Name, UID, PushID, Email, Mobile json.RawMessage
		Time                                         json.RawMessage `json:"event_time"`
		EventAttributes                              json.RawMessage `json:"event_attributes"`
		UserAttributes                               json.RawMessage `json:"user_attributes"`
		DeviceAttributes                             json.RawMessage `json:"device_attributes"`
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var env struct{ Events []event }
		if err := json.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}
