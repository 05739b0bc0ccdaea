package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

func runProfiles(t *testing.T, newStore func(t *testing.T) store.MetaStore) {
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, newStore(t)) })
	t.Run("ProfilesAtomic", func(t *testing.T) { testProfilesAtomic(t, newStore(t)) })
}

// wantProfile reads a profile and compares it with want (attributes compared as JSON values).
func wantProfile(t *testing.T, s store.MetaStore, wsID string, want store.Profile) {
	t.Helper()
	got, err := s.Profile(context.Background(), wsID, want.UserKey, want.Kind)
	if err != nil {
		t.Fatalf("profile %s %s: %v", want.Kind, want.UserKey, err)
	}
	var g, w any
	if err := json.Unmarshal(got.Attributes, &g); err != nil {
		t.Fatalf("stored attributes are not JSON: %q", got.Attributes)
	}
	if err := json.Unmarshal(want.Attributes, &w); err != nil {
		t.Fatalf("bad expectation %q", want.Attributes)
	}
	if got.UserKey != want.UserKey || got.Kind != want.Kind || got.DeviceID != want.DeviceID || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		!jsonEqual(g, w) {
		t.Fatalf("profile %s %s:\n got %+v (%s)\nwant %+v (%s)", want.Kind, want.UserKey, got, got.Attributes, want, want.Attributes)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// testProfiles checks the merge semantics of SPEC §13.3's "latest attributes per user key": a later post replaces
// the keys it names and keeps the others; customer and device profiles of one user are separate; device_id is the
// latest non-empty one; workspaces are separate; the Idempotency-Key response is stored with the data.
func testProfiles(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	const w1, w2 = "aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"
	if _, err := s.Profile(ctx, w1, "uid:ann", store.ProfileCustomer); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown profile: %v", err)
	}
	put := func(wsID string, idem *store.IdempotentResponse, ps ...store.Profile) {
		t.Helper()
		if err := s.PutProfiles(ctx, wsID, ps, idem); err != nil {
			t.Fatal(err)
		}
	}
	cust := func(user, attrs string, at time.Duration) store.Profile {
		p := store.Profile{UserKey: user, Kind: store.ProfileCustomer, UpdatedAt: t0.Add(at)}
		if attrs != "" {
			p.Attributes = json.RawMessage(attrs)
		}
		return p
	}
	dev := func(user, device, attrs string, at time.Duration) store.Profile {
		p := cust(user, attrs, at)
		p.Kind, p.DeviceID = store.ProfileDevice, device
		return p
	}

	put(w1, nil, cust("uid:ann", `{"name":"Ann","age":31,"tags":["a","b"]}`, 0))
	wantProfile(t, s, w1, cust("uid:ann", `{"age":31,"name":"Ann","tags":["a","b"]}`, 0))
	// A later post replaces the keys it names (null included) and keeps the others.
	put(w1, nil, cust("uid:ann", `{"age":32,"city":"Pune","tags":null}`, time.Minute))
	wantProfile(t, s, w1, cust("uid:ann", `{"age":32,"city":"Pune","name":"Ann","tags":null}`, time.Minute))
	// A post without attributes keeps them and moves updated_at.
	put(w1, nil, cust("uid:ann", "", 2*time.Minute))
	wantProfile(t, s, w1, cust("uid:ann", `{"age":32,"city":"Pune","name":"Ann","tags":null}`, 2*time.Minute))
	// Several posts of one key in one call apply in order; text is kept as sent (no HTML escaping).
	put(w1, nil, cust("uid:bob", `{"n":1,"html":"<b>&</b>"}`, 0), cust("uid:bob", `{"n":2}`, time.Second), cust("uid:bob", `{"m":3}`, 2*time.Second))
	wantProfile(t, s, w1, cust("uid:bob", `{"html":"<b>&</b>","m":3,"n":2}`, 2*time.Second))
	if p, _ := s.Profile(ctx, w1, "uid:bob", store.ProfileCustomer); string(p.Attributes) != `{"html":"<b>&</b>","m":3,"n":2}` {
		t.Fatalf("stored text %s", p.Attributes)
	}

	// Device profiles are separate from customer profiles; device_id is the latest non-empty one.
	if _, err := s.Profile(ctx, w1, "uid:ann", store.ProfileDevice); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("device profile before any device post: %v", err)
	}
	put(w1, nil, dev("uid:ann", "d1", `{"os":"android"}`, 3*time.Minute))
	put(w1, nil, dev("uid:ann", "", `{"app_version":"3.2"}`, 4*time.Minute))
	wantProfile(t, s, w1, dev("uid:ann", "d1", `{"app_version":"3.2","os":"android"}`, 4*time.Minute))
	put(w1, nil, dev("uid:ann", "d2", "", 5*time.Minute))
	wantProfile(t, s, w1, dev("uid:ann", "d2", `{"app_version":"3.2","os":"android"}`, 5*time.Minute))
	wantProfile(t, s, w1, cust("uid:ann", `{"age":32,"city":"Pune","name":"Ann","tags":null}`, 2*time.Minute))

	// Workspaces are separate.
	if _, err := s.Profile(ctx, w2, "uid:ann", store.ProfileCustomer); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("other workspace: %v", err)
	}
	put(w2, nil, cust("uid:ann", `{"name":"Other"}`, 0))
	wantProfile(t, s, w2, cust("uid:ann", `{"name":"Other"}`, 0))
	wantProfile(t, s, w1, cust("uid:ann", `{"age":32,"city":"Pune","name":"Ann","tags":null}`, 2*time.Minute))

	// The Idempotency-Key response is stored with the profiles, or alone.
	idem := &store.IdempotentResponse{Endpoint: "/v1/customer", Key: "k1", Status: 200, Body: []byte(`{"status":"success"}`),
		RequestID: "r1", CreatedAt: t0}
	put(w1, idem, cust("uid:cy", `{"a":1}`, 0))
	if got, ok, err := s.IdempotentResponse(ctx, w1, "/v1/customer", "k1", t0.Add(-time.Hour)); err != nil || !ok ||
		got.Status != 200 || string(got.Body) != `{"status":"success"}` || got.RequestID != "r1" {
		t.Fatalf("idempotent response: %+v %v %v", got, ok, err)
	}
	wantProfile(t, s, w1, cust("uid:cy", `{"a":1}`, 0))
	only := &store.IdempotentResponse{Endpoint: "/v1/device", Key: "k2", Status: 400, Body: []byte(`{"status":"fail"}`), RequestID: "r2", CreatedAt: t0}
	put(w1, only)
	if got, ok, err := s.IdempotentResponse(ctx, w1, "/v1/device", "k2", t0.Add(-time.Hour)); err != nil || !ok || got.Status != 400 {
		t.Fatalf("response alone: %+v %v %v", got, ok, err)
	}
}

// testProfilesAtomic: a call that fails stores nothing, neither profiles nor its Idempotency-Key response.
func testProfilesAtomic(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	const w1 = "aaaaaaaaaaaaaaaaaaaaaaaa"
	idem := &store.IdempotentResponse{Endpoint: "/v1/customer", Key: "k", Status: 200, Body: []byte(`{}`), RequestID: "r", CreatedAt: t0}
	err := s.PutProfiles(ctx, w1, []store.Profile{
		{UserKey: "uid:ok", Kind: store.ProfileCustomer, Attributes: json.RawMessage(`{"a":1}`), UpdatedAt: t0},
		{UserKey: "uid:bad", Kind: store.ProfileCustomer, Attributes: json.RawMessage(`[1,2]`), UpdatedAt: t0},
	}, idem)
	if err == nil {
		t.Fatal("attributes that are not an object must fail")
	}
	if _, err := s.Profile(ctx, w1, "uid:ok", store.ProfileCustomer); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a failed call stored a profile: %v", err)
	}
	if _, ok, err := s.IdempotentResponse(ctx, w1, "/v1/customer", "k", t0.Add(-time.Hour)); err != nil || ok {
		t.Fatalf("a failed call stored its response: %v %v", ok, err)
	}
	// The store is still usable.
	if err := s.PutProfiles(ctx, w1, []store.Profile{{UserKey: "uid:ok", Kind: store.ProfileCustomer, UpdatedAt: t0}}, nil); err != nil {
		t.Fatal(err)
	}
	wantProfile(t, s, w1, store.Profile{UserKey: "uid:ok", Kind: store.ProfileCustomer, Attributes: json.RawMessage(`{}`), UpdatedAt: t0})
}
