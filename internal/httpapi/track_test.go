package httpapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/store"
)

// TestTrackErrorTable covers the Track Event and Bulk Import rows of SPEC §3.11 through real HTTP.
func TestTrackErrorTable(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	track, bulk := "/v1/event/"+ws.ID, "/v1/transition/"+ws.ID
	act := `{"action":"Purchase","current_time":1740819600}`
	cases := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"type missing", track, `{"customer_id":"u1","actions":[` + act + `]}`, 400, ingestErr("MissingAttributeError", "type", "type is not found in the payload")},
		{"type wrong", track, `{"type":"transition","customer_id":"u1","actions":[` + act + `]}`, 400, ingestErr("InvalidParams", "type", "type should be event")},
		{"customer missing", track, `{"type":"event","actions":[` + act + `]}`, 400, ingestErr("MissingAttributeError", "customer_id", "customer_id is not found in the payload")},
		{"blacklisted", track, `{"type":"event","customer_id":" Guest ","actions":[` + act + `]}`, 400, ingestErr("Blacklisted", "customer_id", "customer_id value is not allowed")},
		{"actions missing", track, `{"type":"event","customer_id":"u1"}`, 400, ingestErr("MissingAttributeError", "actions", "actions is not found in the payload")},
		{"actions empty", track, `{"type":"event","customer_id":"u1","actions":[]}`, 400, ingestErr("MissingAttributeError", "actions", "actions can not be empty Array")},
		{"action missing", track, `{"type":"event","customer_id":"u1","actions":[` + act + `,{"current_time":1740819600}]}`, 400,
			ingestErr("MissingAttributeError", "action", "action is not found in the payload (at actions[1])")},
		{"action empty", track, `{"type":"event","customer_id":"u1","actions":[{"action":"  "}]}`, 400,
			ingestErr("MissingAttributeError", "action", "action cannot be empty Unicode string (at actions[0])")},
		{"action not string", track, `{"type":"event","customer_id":"u1","actions":[{"action":5}]}`, 400,
			ingestErr("Malformed JSON", "action", "action should be a string (at actions[0])")},
		{"attributes", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","attributes":[1]}]}`, 400,
			ingestErr("InvalidParams", "attributes", "attributes should be an object (at actions[0])")},
		{"current_time invalid", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","current_time":"yesterday"}]}`, 400,
			ingestErr("InvalidParams", "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])")},
		{"current_time future", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","current_time":"2025-03-10T12:06:00Z"}]}`, 400,
			ingestErr("InvalidParams", "current_time", "current_time is more than 5 minutes in the future (at actions[0])")},
		{"user_time invalid", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","user_time":"x"}]}`, 400,
			ingestErr("InvalidParams", "user_time", "user_time is not a valid epoch or ISO-8601 time (at actions[0])")},
		{"bulk type", bulk, `{"type":"event","elements":[]}`, 400, ingestErr("InvalidParams", "type", "type should be transition")},
		{"elements missing", bulk, `{"type":"transition"}`, 400, ingestErr("MissingAttributeError", "elements", "elements is not found in the payload")},
		{"elements empty", bulk, `{"type":"transition","elements":[]}`, 400, ingestErr("MissingAttributeError", "elements", "elements cannot be empty array")},
		{"element type", bulk, `{"type":"transition","elements":[{"type":"customer"},{"type":"order"}]}`, 400,
			ingestErr("AttributeError", "type", "type in elements should be customer/event/device (at elements[1])")},
		{"bulk action", bulk, `{"type":"transition","elements":[{"type":"event","customer_id":"u1","actions":[` + act + `,{"action":""}]}]}`, 400,
			ingestErr("MissingAttributeError", "action", "action cannot be empty Unicode string (at elements[0].actions[1])")},
		{"malformed", track, `{"type":`, 400, ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")},
		{"too large", track, `{"type":"event","customer_id":"u1","actions":[{"action":"P","attributes":{"x":"` + strings.Repeat("a", 130<<10) + `"}}]}`, 413,
			ingestErr("PayloadTooLarge", "body", "Payload size exceeds 128 KB")},
		{"bad key", track, `{}`, 400, ingestErr("InvalidParams", "Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hdr
			if c.name == "bad key" {
				h = map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "application/json", "Idempotency-Key": strings.Repeat("k", 256)}
			}
			assertJSON(t, e.do(t, "POST", c.path, h, []byte(c.body)), c.status, c.want)
		})
	}
	t.Run("content type", func(t *testing.T) {
		assertJSON(t, e.do(t, "POST", track, map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "text/plain"}, []byte(`{}`)),
			415, ingestErr("MediaTypeError", "Content-Type", "Content type is not supported"))
	})
	t.Run("method", func(t *testing.T) {
		assertJSON(t, e.do(t, "GET", track, hdr, nil), 405, ingestErr("MethodNotAllowed", "method", "Method not allowed"))
	})
}

// TestTrackSuccessAndIdempotency: the success body, a replay with the same key returns the stored response and
// ingests nothing, and a stored 4xx is replayed too.
func TestTrackSuccessAndIdempotency(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Idempotency-Key": "order-42"}
	body := []byte(`{"type":"event","customer_id":"user-1042","actions":[{"action":"Purchase","attributes":{"amount":49.9},"current_time":1740822300}]}`)
	first := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, body)
	assertJSON(t, first, 200, `{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"$RID"}`)
	// A different body under the same key: the stored response comes back, byte for byte, with the same request id.
	again := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event","customer_id":"other","actions":[{"action":"X"}]}`))
	if again.status != 200 || string(again.body) != string(first.body) || again.header.Get("X-Request-Id") != first.header.Get("X-Request-Id") {
		t.Fatalf("replay: %d %s (request id %s vs %s)", again.status, again.body, again.header.Get("X-Request-Id"), first.header.Get("X-Request-Id"))
	}
	// The key is scoped by endpoint: the same key on Bulk Import is new.
	bulk := e.do(t, "POST", "/v1/transition/"+ws.ID, hdr, []byte(`{"type":"transition","elements":[{"type":"customer","customer_id":"a"}]}`))
	assertJSON(t, bulk, 200, `{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"$RID"}`)
	// A 4xx is stored too and replayed even when the retry is valid.
	hdr["Idempotency-Key"] = "bad-1"
	bad := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event"}`))
	retry := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, body)
	if bad.status != 400 || retry.status != 400 || string(retry.body) != string(bad.body) {
		t.Fatalf("stored 4xx: %d %s / %d %s", bad.status, bad.body, retry.status, retry.body)
	}
	// Exactly one event was stored.
	m := e.do(t, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(m.body), `campaignstats_ingest_events_total{endpoint="track",result="accepted"} 1`+"\n") {
		t.Fatalf("track events accepted: %s", grepLines(string(m.body), "ingest_events_total"))
	}
}

// TestTrackIdempotencyKeyExpires: within 24 hours a key's stored response answers and nothing is ingested; once it
// has expired the same key and body are a new request whose actions are stored as new events (SPEC §3.10).
func TestTrackIdempotencyKeyExpires(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Idempotency-Key": "order-7"}
	body := []byte(`{"type":"event","customer_id":"user-7","actions":[{"action":"Purchase","current_time":1740822300},{"action":"Purchase","current_time":1740822301}]}`)
	accepted := func() string {
		m := e.do(t, "GET", "/metrics", nil, nil)
		return grepLines(string(m.body), `ingest_events_total{endpoint="track",result="accepted"}`)
	}
	first := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, body)
	e.advance(23 * time.Hour)
	replay := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, body)
	if first.status != 200 || replay.header.Get("X-Request-Id") != first.header.Get("X-Request-Id") {
		t.Fatalf("replay within 24 h: %d %s, request id %s vs %s", replay.status, replay.body, replay.header.Get("X-Request-Id"), first.header.Get("X-Request-Id"))
	}
	if got := accepted(); !strings.Contains(got, "} 2") {
		t.Fatalf("after the replay: %s, want 2 accepted", got)
	}
	e.advance(2 * time.Hour)
	later := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, body)
	if later.status != 200 || later.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Fatalf("after expiry: %d %s, request id %s (the first was %s)", later.status, later.body, later.header.Get("X-Request-Id"), first.header.Get("X-Request-Id"))
	}
	if got := accepted(); !strings.Contains(got, "} 4") {
		t.Fatalf("after expiry: %s, want 4 accepted (two new events)", got)
	}
}

// TestTrackIdempotencyConflict: a repeat while the first request is in progress gets 409.
func TestTrackIdempotencyConflict(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	if _, ok := e.sys.Intake.ClaimKey(ws.ID, "/v1/event", "slow-1"); !ok {
		t.Fatal("the key was claimed already")
	}
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Idempotency-Key": "slow-1"}
	assertJSON(t, e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event","customer_id":"u","actions":[{"action":"A"}]}`)), 409,
		ingestErr("IdempotencyConflict", "Idempotency-Key", "A request with this Idempotency-Key is still being processed"))
}

// finishingFirst is an intake in which the first request of an Idempotency-Key finishes — stores its response and
// releases the key — right after a repeat's first lookup found nothing.
type finishingFirst struct {
	IntakeService
	workspaceID string
	first       store.IdempotentResponse
	once        sync.Once
}

func (f *finishingFirst) StoredResponse(ctx context.Context, ws, endpoint, key string, now time.Time) (store.IdempotentResponse, bool, error) {
	resp, found, err := f.IntakeService.StoredResponse(ctx, ws, endpoint, key, now)
	f.once.Do(func() {
		if err == nil && !found {
			err = f.IntakeService.SaveResponse(ctx, f.workspaceID, f.first)
		}
	})
	return resp, found, err
}

// TestTrackIdempotencyRepeatAsTheFirstFinishes: a repeat whose lookup came just before the first request stored its
// response, and whose claim of the key just after the first released it, answers with the stored response (the
// first's status, body and request id) and ingests nothing (SPEC §3.10).
func TestTrackIdempotencyRepeatAsTheFirstFinishes(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	first := store.IdempotentResponse{Endpoint: "/v1/event", Key: "order-9", Status: 200, RequestID: "first-request-id",
		Body: []byte(`{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"first-request-id"}`), CreatedAt: e.clock()}
	e.api.Intake = &finishingFirst{IntakeService: e.api.Intake, workspaceID: ws.ID, first: first}
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Idempotency-Key": "order-9"}
	r := e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event","customer_id":"user-9","actions":[{"action":"Purchase","current_time":1740822300}]}`))
	if r.status != 200 || string(r.body) != string(first.Body) || r.header.Get("X-Request-Id") != "first-request-id" {
		t.Fatalf("repeat: %d %s, request id %s; want the stored response", r.status, r.body, r.header.Get("X-Request-Id"))
	}
	m := e.do(t, "GET", "/metrics", nil, nil)
	if got := grepLines(string(m.body), `ingest_events_total{endpoint="track",result="accepted"}`); !strings.HasSuffix(got, "} 0") {
		t.Fatalf("the repeat ingested events: %s", got)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
