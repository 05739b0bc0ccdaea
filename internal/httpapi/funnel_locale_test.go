package httpapi

import (
	"context"
	"sort"
	"testing"
)

// TestFunnelAggregateLocaleKey: a funnel entry whose locale is a spelling of the aggregate key (SPEC §13.1
// all_locale, §2.6 all_locales) is stored without a locale, so it counts only in the aggregate node.
func TestFunnelAggregateLocaleKey(t *testing.T) {
	e := newTestEnv(t)
	ws := e.active
	e.putCampaign(t, ws, "c1", `{"channel":"PUSH"}`)
	hdr := map[string]string{"Authorization": basic(ws.ID, ws.DataKey), "Content-Type": "application/json"}
	body := `[{"date":"2025-03-01","locale":"all_locale","stages":{"s1":1}},
		{"date":"2025-03-01","locale":"all_locales","stages":{"s2":2}},
		{"date":"2025-03-01","locale":" all_locale ","stages":{"s3":3}},
		{"date":"2025-03-01","locale":"en","stages":{"s4":4}}]`
	r := e.do(t, "POST", "/v1/campaigns/"+ws.ID+"/c1/funnel", hdr, []byte(body))
	assertJSON(t, r, 200, `{"status":"success","accepted":4,"request_id":"$RID"}`)
	entries, err := e.sys.Store.FunnelEntries(context.Background(), ws.ID, []string{"c1"}, "2025-03-01", "2025-03-01")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Stage < entries[j].Stage })
	want := []string{"", "", "", "en"}
	if len(entries) != len(want) {
		t.Fatalf("entries: %+v", entries)
	}
	for i, en := range entries {
		if en.Locale != want[i] {
			t.Errorf("stage %s: locale %q, want %q", en.Stage, en.Locale, want[i])
		}
	}
}
