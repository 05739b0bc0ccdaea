package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

const profileAccepted = `{"status":"success","message":"Your request has been accepted and will be processed soon."}`

// TestProfileErrorTable covers every error row of the user and device endpoints (SPEC §13.3 with the Track Event
// rows of §3.11 and §12.11) through real HTTP, for both paths.
func TestProfileErrorTable(t *testing.T) {
	e := newTestEnv(t)
	ws, dis := e.active, e.disabled
	for _, kind := range []string{"customer", "device"} {
		t.Run(kind, func(t *testing.T) {
			path := "/v1/" + kind + "/" + ws.ID
			okBody := `{"type":"` + kind + `","customer_id":"u1","attributes":{"a":1}}`
			hdr := func(kv ...string) map[string]string {
				m := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
				for i := 0; i < len(kv); i += 2 {
					if kv[i+1] == "" {
						delete(m, kv[i])
					} else {
						m[kv[i]] = kv[i+1]
					}
				}
				return m
			}
			other := "customer"
			if kind == "customer" {
				other = "device"
			}
			cases := []struct {
				name   string
				method string
				path   string
				header map[string]string
				body   []byte
				status int
				want   string
			}{
				{"no auth header", "POST", path, hdr("Authorization", ""), []byte(okBody), 401, ingestErr("Authentication required", "Authorization", "Authentication Header Required")},
				{"not basic", "POST", path, hdr("Authorization", "Bearer x"), []byte(okBody), 401, ingestErr("Authentication required", "Authorization", "No identity information found")},
				{"unknown workspace", "POST", path, hdr("Authorization", basic("ffffffffffffffffffffffff", "x")), []byte(okBody), 401, ingestErr("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")},
				{"path mismatch", "POST", "/v1/" + kind + "/" + dis.ID, hdr(), []byte(okBody), 409, ingestErr("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
				{"wrong key", "POST", path, hdr("Authorization", basic(ws.ID, ws.ReportKey)), []byte(okBody), 401, ingestErr("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
				{"disabled", "POST", "/v1/" + kind + "/" + dis.ID, hdr("Authorization", basic(dis.ID, dis.DataKey)), []byte(okBody), 403, ingestErr("Account Suspended", "APP_ID", "Workspace is disabled")},
				{"content type", "POST", path, hdr("Content-Type", "text/plain"), []byte(okBody), 415, ingestErr("MediaTypeError", "Content-Type", "Content type is not supported")},
				{"no content type", "POST", path, hdr("Content-Type", ""), []byte(okBody), 415, ingestErr("MediaTypeError", "Content-Type", "Content type is not supported")},
				{"content encoding", "POST", path, hdr("Content-Encoding", "br"), []byte(okBody), 415, ingestErr("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
				{"too large", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":"u1","attributes":{"x":"` + strings.Repeat("a", 130<<10) + `"}}`), 413,
					ingestErr("PayloadTooLarge", "body", "Payload size exceeds 128 KB")},
				{"too large gzip", "POST", path, hdr("Content-Encoding", "gzip"), gz([]byte(`{"type":"` + kind + `","customer_id":"u1","attributes":{"x":"` + strings.Repeat("a", 130<<10) + `"}}`)), 413,
					ingestErr("PayloadTooLarge", "body", "Payload size exceeds 128 KB")},
				{"empty", "POST", path, hdr(), nil, 400, ingestErr("Empty request body", "body", "Request body is empty")},
				{"corrupt gzip", "POST", path, hdr("Content-Encoding", "gzip"), []byte("not gzip"), 400, ingestErr("Malformed JSON", "body", "Could not decompress the gzip request body")},
				{"malformed", "POST", path, hdr(), []byte(`{"type":`), 400, ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")},
				{"invalid utf-8", "POST", path, hdr(), []byte("{\"type\":\"" + kind + "\",\"customer_id\":\"u\xff\"}"), 400, ingestErr("Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")},
				{"type missing", "POST", path, hdr(), []byte(`{"customer_id":"u1"}`), 400, ingestErr("MissingAttributeError", "type", "type is not found in the payload")},
				{"type wrong", "POST", path, hdr(), []byte(`{"type":"` + other + `","customer_id":"u1"}`), 400, ingestErr("InvalidParams", "type", "type should be "+kind)},
				{"type event", "POST", path, hdr(), []byte(`{"type":"event","customer_id":"u1"}`), 400, ingestErr("InvalidParams", "type", "type should be "+kind)},
				{"customer_id missing", "POST", path, hdr(), []byte(`{"type":"` + kind + `","attributes":{}}`), 400, ingestErr("MissingAttributeError", "customer_id", "customer_id is not found in the payload")},
				{"customer_id blank", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":"  "}`), 400, ingestErr("MissingAttributeError", "customer_id", "customer_id is not found in the payload")},
				{"blacklisted", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":" N/A "}`), 400, ingestErr("Blacklisted", "customer_id", "customer_id value is not allowed")},
				{"blacklisted type", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":false}`), 400, ingestErr("Blacklisted", "customer_id", "customer_id value is not allowed")},
				{"customer_id too long", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":"` + strings.Repeat("x", 257) + `"}`), 400,
					ingestErr("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
				{"attributes not object", "POST", path, hdr(), []byte(`{"type":"` + kind + `","customer_id":"u1","attributes":["a"]}`), 400,
					ingestErr("InvalidParams", "attributes", "attributes should be an object")},
				{"bad idempotency key", "POST", path, hdr("Idempotency-Key", strings.Repeat("k", 256)), []byte(okBody), 400,
					ingestErr("InvalidParams", "Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters")},
				{"method", "GET", path, hdr(), nil, 405, ingestErr("MethodNotAllowed", "method", "Method not allowed")},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					assertJSON(t, e.do(t, c.method, c.path, c.header, c.body), c.status, c.want)
				})
			}
			// Nothing of the refused requests was stored.
			if _, err := e.sys.Store.Profile(context.Background(), ws.ID, "uid:u1", store.ProfileKind(kind)); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("a refused request stored a profile: %v", err)
			}
		})
	}
}

// TestProfileSuccessAndPersistence: the 200 body of §13.3 (no request_id), sent after the profile is stored; later
// posts replace the attribute keys they name and keep the others; customer and device profiles are separate.
func TestProfileSuccessAndPersistence(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	ctx := context.Background()
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json; charset=utf-8"}
	post := func(kind, body string, h map[string]string) response {
		t.Helper()
		if h == nil {
			h = hdr
		}
		r := e.do(t, "POST", "/v1/"+kind+"/"+ws.ID, h, []byte(body))
		assertJSON(t, r, 200, profileAccepted)
		if r.header.Get("X-Request-Id") == "" {
			t.Fatalf("no X-Request-Id")
		}
		return r
	}
	read := func(key string, kind store.ProfileKind) store.Profile {
		t.Helper()
		p, err := e.sys.Store.Profile(ctx, ws.ID, key, kind)
		if err != nil {
			t.Fatalf("profile %s %s: %v", kind, key, err)
		}
		return p
	}
	attrs := func(p store.Profile) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(p.Attributes, &m); err != nil {
			t.Fatalf("attributes %q", p.Attributes)
		}
		return m
	}

	post("customer", `{"type":"customer","customer_id":" user-1042 ","attributes":{"name":"Ann","plan":"free","age":31}}`, nil)
	p := read("uid:user-1042", store.ProfileCustomer)
	if got := attrs(p); fmt.Sprint(got) != "map[age:31 name:Ann plan:free]" || !p.UpdatedAt.Equal(e.now) {
		t.Fatalf("first post: %+v %v", p, got)
	}
	e.advance(time.Minute)
	gzHdr := map[string]string{"Authorization": hdr["Authorization"], "Content-Type": "application/json", "Content-Encoding": "gzip"}
	post("customer", string(gz([]byte(`{"type":"customer","customer_id":"user-1042","attributes":{"plan":"pro","city":"Pune"}}`))), gzHdr)
	p = read("uid:user-1042", store.ProfileCustomer)
	if got := attrs(p); fmt.Sprint(got) != "map[age:31 city:Pune name:Ann plan:pro]" || !p.UpdatedAt.Equal(e.now) {
		t.Fatalf("merged: %+v %v", p, got)
	}
	// A number customer_id is its decimal text; no attributes is an empty profile.
	post("customer", `{"type":"customer","customer_id":1042}`, nil)
	if got := attrs(read("uid:1042", store.ProfileCustomer)); len(got) != 0 {
		t.Fatalf("no attributes: %v", got)
	}

	post("device", `{"type":"device","customer_id":"user-1042","device_id":"dev-77","attributes":{"os":"android","push":true}}`, nil)
	e.advance(time.Minute)
	post("device", `{"type":"device","customer_id":"user-1042","attributes":{"push":false}}`, nil)
	d := read("uid:user-1042", store.ProfileDevice)
	if got := attrs(d); d.DeviceID != "dev-77" || fmt.Sprint(got) != "map[os:android push:false]" || !d.UpdatedAt.Equal(e.now) {
		t.Fatalf("device: %+v %v", d, got)
	}
	// The customer profile is untouched by device posts.
	if got := attrs(read("uid:user-1042", store.ProfileCustomer)); fmt.Sprint(got) != "map[age:31 city:Pune name:Ann plan:pro]" {
		t.Fatalf("customer after device posts: %v", got)
	}
}

// TestProfileIdempotency: Idempotency-Key works as for Track Event (SPEC §3.10): a replay returns the stored
// response with its request id and stores nothing; keys are scoped by path; a stored 4xx is replayed.
func TestProfileIdempotency(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	ctx := context.Background()
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json", "Idempotency-Key": "sync-1"}
	first := e.do(t, "POST", "/v1/customer/"+ws.ID, hdr, []byte(`{"type":"customer","customer_id":"ann","attributes":{"plan":"free"}}`))
	assertJSON(t, first, 200, profileAccepted)
	again := e.do(t, "POST", "/v1/customer/"+ws.ID, hdr, []byte(`{"type":"customer","customer_id":"ann","attributes":{"plan":"pro","x":1}}`))
	if again.status != 200 || string(again.body) != string(first.body) || again.header.Get("X-Request-Id") != first.header.Get("X-Request-Id") {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	if p, err := e.sys.Store.Profile(ctx, ws.ID, "uid:ann", store.ProfileCustomer); err != nil || string(p.Attributes) != `{"plan":"free"}` {
		t.Fatalf("the replay changed the profile: %s %v", p.Attributes, err)
	}
	// Scoped by path: the same key on /v1/device is a new request.
	assertJSON(t, e.do(t, "POST", "/v1/device/"+ws.ID, hdr, []byte(`{"type":"device","customer_id":"ann","device_id":"d"}`)), 200, profileAccepted)
	if p, err := e.sys.Store.Profile(ctx, ws.ID, "uid:ann", store.ProfileDevice); err != nil || p.DeviceID != "d" {
		t.Fatalf("device under the same key: %+v %v", p, err)
	}
	// A 4xx is stored and replayed even when the retry is valid.
	hdr["Idempotency-Key"] = "bad-1"
	bad := e.do(t, "POST", "/v1/customer/"+ws.ID, hdr, []byte(`{"type":"customer"}`))
	retry := e.do(t, "POST", "/v1/customer/"+ws.ID, hdr, []byte(`{"type":"customer","customer_id":"bob"}`))
	if bad.status != 400 || retry.status != 400 || string(retry.body) != string(bad.body) {
		t.Fatalf("stored 4xx: %d %s / %d %s", bad.status, bad.body, retry.status, retry.body)
	}
	if _, err := e.sys.Store.Profile(ctx, ws.ID, "uid:bob", store.ProfileCustomer); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the replayed 4xx stored a profile: %v", err)
	}
	// In progress: 409.
	if _, ok := e.sys.Intake.ClaimKey(ws.ID, "/v1/customer", "slow"); !ok {
		t.Fatal("the key was claimed already")
	}
	hdr["Idempotency-Key"] = "slow"
	assertJSON(t, e.do(t, "POST", "/v1/customer/"+ws.ID, hdr, []byte(`{"type":"customer","customer_id":"ann"}`)), 409,
		ingestErr("IdempotencyConflict", "Idempotency-Key", "A request with this Idempotency-Key is still being processed"))
}

// TestProfilesFeedNoStats: profile posts store no events: a campaign whose goals are named like the posts and
// whose user interacted just before is neither selected nor credited, and no event is counted as ingested.
func TestProfilesFeedNoStats(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	ctx := context.Background()
	e.putCampaign(t, ws, "c1", `{"channel":"PUSH","conversion_goal_details":{"goals":[
		{"goal_name":"c","goal_event_name":"customer"},{"goal_name":"d","goal_event_name":"device"},{"goal_name":"p","goal_event_name":"Purchase"}]}}`)
	e.postEvents(t, ws, `{"event_code":"NOTIFICATION_CLICKED_MOE","event_uuid":"click-1","event_time":"2025-03-10T11:00:00Z","uid":"ann","event_attributes":{"campaign_id":"c1"}}`)
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	for _, p := range []struct{ kind, body string }{
		{"customer", `{"type":"customer","customer_id":"ann","attributes":{"action":"Purchase","event_name":"Purchase"}}`},
		{"device", `{"type":"device","customer_id":"ann","device_id":"d1","attributes":{"action":"Purchase"}}`},
	} {
		assertJSON(t, e.do(t, "POST", "/v1/"+p.kind+"/"+ws.ID, hdr, []byte(p.body)), 200, profileAccepted)
	}
	from, to := e.now.Add(-30*time.Minute).UnixMilli(), e.now.Add(time.Hour).UnixMilli()
	active := func(typ attribution.Type) []string {
		t.Helper()
		if err := e.sys.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		ids, err := e.sys.Store.ActiveCampaigns(ctx, ws.ID, from, to, typ)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for typ := attribution.ViewThrough; typ <= attribution.ClickConversions; typ++ {
		if ids := active(typ); len(ids) != 0 {
			t.Fatalf("%v: profile posts made campaigns active: %v", typ, ids)
		}
	}
	m := e.do(t, "GET", "/metrics", nil, nil)
	for _, l := range strings.Split(grepLines(string(m.body), "campaignstats_ingest_events_total{"), "\n") {
		if l != "" && !strings.Contains(l, `endpoint="streams"`) && !strings.HasSuffix(l, "} 0") {
			t.Fatalf("profile posts counted as events: %s", l)
		}
	}
	// The set-up can tell: a real goal event of the same user is credited to c1.
	assertJSON(t, e.do(t, "POST", "/v1/event/"+ws.ID, hdr, []byte(`{"type":"event","customer_id":"ann","actions":[{"action":"Purchase"}]}`)), 200,
		`{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"$RID"}`)
	if ids := active(attribution.ClickThrough); len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("a Track Event goal after the click: active %v, want [c1]", ids)
	}
	// The request metrics name the routes without workspace ids.
	if !strings.Contains(string(m.body), `route="/v1/customer/{workspace_id}"`) || !strings.Contains(string(m.body), `route="/v1/device/{workspace_id}"`) {
		t.Fatalf("route labels: %s", grepLines(string(m.body), "/v1/"))
	}
}
