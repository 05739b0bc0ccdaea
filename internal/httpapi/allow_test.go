package httpapi

import (
	"testing"
)

// TestMethodNotAllowedNamesTheMethods: every 405 carries an Allow header with the methods the route serves
// (RFC 9110 §15.5.6), whatever the envelope of its body.
func TestMethodNotAllowedNamesTheMethods(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	ingestAuth := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	adm := map[string]string{"Authorization": "Bearer " + adminToken}
	admWS := "/admin/v1/workspaces/" + ws.ID
	for _, c := range []struct {
		method, path string
		header       map[string]string
		allow        string
	}{
		{"GET", "/v1/streams/" + ws.ID, nil, "POST"},
		{"PUT", "/v1/event/" + ws.ID, nil, "POST"},
		{"DELETE", "/v1/transition/" + ws.ID, nil, "POST"},
		{"GET", "/v1/customer/" + ws.ID, nil, "POST"},
		{"GET", "/v1/campaigns/" + ws.ID + "/c1/funnel", nil, "POST"},
		{"POST", "/v1/campaigns/" + ws.ID + "/c1", ingestAuth, "GET, PUT"},
		{"GET", "/core-services/v1/campaign-stats", nil, "POST"},
		{"GET", "/core-services/v1/campaigns/meta", nil, "POST"},
		{"GET", "/v1/stats/" + ws.ID + "/daily", nil, "POST"},
		{"PATCH", "/v1/reports/" + ws.ID, nil, "GET, POST"},
		{"POST", "/v1/reports/" + ws.ID + "/r1", nil, "DELETE, GET, PUT"},
		{"GET", "/v1/reports/" + ws.ID + "/r1/run", nil, "POST"},
		{"POST", "/v1/reports/" + ws.ID + "/r1/runs", nil, "GET"},
		{"PUT", "/campaign_reports/rest_api/" + ws.ID + "/x.zip", nil, "GET, HEAD"},
		{"DELETE", "/admin/v1/workspaces", adm, "GET, POST"},
		{"POST", admWS, adm, "GET, PATCH"},
		{"GET", admWS + "/rotate-keys", adm, "POST"},
		{"GET", admWS + "/disable", adm, "POST"},
		{"POST", admWS + "/quarantine", adm, "GET, DELETE"},
		{"POST", admWS + "/quarantine/0123456789abcdef01234567", adm, "GET, DELETE"},
	} {
		r := e.do(t, c.method, c.path, c.header, nil)
		if r.status != 405 || r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q (%s)", c.method, c.path, r.status, r.header.Get("Allow"), c.allow, r.body)
		}
	}
	// Other statuses carry no Allow header.
	if r := e.do(t, "POST", "/v1/streams/"+ws.ID, nil, nil); r.status == 405 || r.header.Get("Allow") != "" {
		t.Errorf("POST streams without credentials: %d Allow %q", r.status, r.header.Get("Allow"))
	}
}
