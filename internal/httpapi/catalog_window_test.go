package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// catalogWindow sends a catalog request and returns its status and conversion_goal_details.attribution_window_in_hours
// (-1 for null or no goal details).
func (e *testEnv) catalogWindow(t *testing.T, method, id, body string) (int, int) {
	t.Helper()
	ws := e.active
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := e.do(t, method, "/v1/campaigns/"+ws.ID+"/"+id, hdr, b)
	var out struct {
		Goals *struct {
			Window *int            `json:"attribution_window_in_hours"`
			Goals  json.RawMessage `json:"goals"`
		} `json:"conversion_goal_details"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, id, r.status, r.body)
	}
	if out.Goals == nil || out.Goals.Window == nil {
		return r.status, -1
	}
	return r.status, *out.Goals.Window
}

// TestCatalogEffectiveWindow: a catalog PUT with goals but no attribution_window_in_hours shows the channel maximum
// (SPEC §3.12.1 "absent → channel maximum", §3.12.2 effective values) in the PUT and the GET body, for the campaign
// and for a child inheriting its parent's goals; the window shown is the one attribution uses.
func TestCatalogEffectiveWindow(t *testing.T) {
	e := newTestEnv(t)
	goals := `"conversion_goal_details":{"goals":[{"goal_name":"Purchase","goal_event_name":"Purchase"}]}`
	cases := []struct {
		id, body string
		status   int
		want     int
	}{
		{"email", `{"channel":"EMAIL",` + goals + `}`, 201, 240},
		{"sms", `{"channel":"SMS",` + goals + `}`, 201, 240},
		{"whatsapp", `{"channel":"WhatsApp",` + goals + `}`, 201, 240},
		{"push", `{"channel":"PUSH",` + goals + `}`, 201, 36},
		{"inapp", `{"channel":"IN_APP",` + goals + `}`, 201, 36},
		{"cards", `{"channel":"CARDS",` + goals + `}`, 201, 36},
		{"nochannel", `{` + goals + `}`, 201, 36},
		{"explicit", `{"channel":"EMAIL","conversion_goal_details":{"attribution_window_in_hours":12,"goals":[]}}`, 201, 12},
		{"nulled", `{"channel":"SMS","conversion_goal_details":{"attribution_window_in_hours":null,"goals":[]}}`, 201, 240},
		{"nogoals", `{"channel":"SMS"}`, 201, -1},
		// Children: the parent's goals with the child's own channel maximum, or the parent's explicit window.
		{"parent-email", `{"channel":"EMAIL",` + goals + `}`, 201, 240},
		{"kid-push", `{"channel":"PUSH","parent_campaign_id":"parent-email"}`, 201, 36},
		{"kid-sms", `{"channel":"SMS","parent_campaign_id":"parent-email"}`, 201, 240},
		{"parent-12", `{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":12,"goals":[{"goal_name":"G","goal_event_name":"G"}]}}`, 201, 12},
		{"kid-of-12", `{"channel":"EMAIL","parent_campaign_id":"parent-12"}`, 201, 12},
		// A later PUT changing the channel changes the effective window: the default is not stored as explicit.
		{"email", `{"channel":"PUSH",` + goals + `}`, 200, 36},
	}
	for _, c := range cases {
		status, w := e.catalogWindow(t, "PUT", c.id, c.body)
		if status != c.status || w != c.want {
			t.Errorf("PUT %s %s: %d window %d; want %d window %d", c.id, c.body, status, w, c.status, c.want)
		}
	}
	// GET shows the same effective values (the last write of each id).
	want := map[string]int{}
	for _, c := range cases {
		want[c.id] = c.want
	}
	for id, w := range want {
		if status, got := e.catalogWindow(t, "GET", id, ""); status != 200 || got != w {
			t.Errorf("GET %s: %d window %d; want %d", id, status, got, w)
		}
	}
	// The window shown is the window attribution uses, and the store keeps it absent where it was not sent.
	cs, err := e.sys.Store.Campaigns(context.Background(), e.active.ID)
	if err != nil {
		t.Fatal(err)
	}
	view := domain.NewCatalogView(cs)
	cat := attribution.NewCatalog(view)
	for id, w := range want {
		got, ok := cat.WindowMS(id)
		hasGoals := view.Goals(id) != nil && len(view.Goals(id).Goals) > 0
		switch {
		case !hasGoals && ok:
			t.Errorf("attribution window of %s without goals", id)
		case hasGoals && (!ok || got != int64(w)*3600_000):
			t.Errorf("attribution window of %s = %d ms (%v); the catalog shows %d h", id, got, ok, w)
		}
	}
	if c, _ := view.Get("email"); c.Explicit.Goals == nil || c.Explicit.Goals.AttributionWindowHours != nil {
		t.Errorf("the channel default must not be stored as an explicit window: %+v", c.Explicit.Goals)
	}
}
