package e2e

// Checks of the reference's conversion model against the SPEC's attribution examples (§6.3, §6.4, §6.5) and a few
// rules stated in §3.12.3, §5.10 and §6.2 (ties, windows, control groups, parents).

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

var allAttributionTypes = []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}

// convEvent builds a Streams campaign event at a UTC instant.
func convEvent(uuid, code, name, uid, cid string, at time.Time, attrs map[string]any) json.RawMessage {
	a := map[string]any{"campaign_id": cid}
	for k, v := range attrs {
		a[k] = v
	}
	ev := map[string]any{"event_uuid": uuid, "event_time": at.UnixMilli(), "uid": uid, "event_attributes": a}
	if code != "" {
		ev["event_code"] = code
	}
	if name != "" {
		ev["event_name"] = name
	}
	return mustJSON(ev)
}

func convTrack(t *testing.T, m *refModel, uid, action string, at time.Time, attrs map[string]any) {
	t.Helper()
	body := mustJSON(map[string]any{"type": "event", "customer_id": uid, "actions": []any{map[string]any{
		"action": action, "attributes": attrs, "current_time": at.Format(time.RFC3339Nano)}}})
	if st, msg, _ := m.TrackRequest("event", "", body, time.Now()); st != 200 {
		t.Fatalf("track: %d %s", st, msg)
	}
}

// goalTotals returns a goal's `total` in the (P, all_locale, V) nodes of each campaign where it is not 0, keyed
// "campaign/P" for V = all_variations and "campaign/P/V" for the other variations; P includes ALL_PLATFORMS.
func goalTotals(m *refModel, ids []string, attribution, metric, start, end, goal string) map[string]int64 {
	r := m.Stats(StatsRequest{RequestID: "x", CampaignIDs: ids, StartDate: start, EndDate: end,
		AttributionType: attribution, MetricType: metric})
	out := map[string]int64{}
	for id, c := range r.Data {
		for p, locs := range c.Platforms {
			for v, n := range locs[allLocale] {
				g := n.Goals[goal]
				if g == nil || g.Total == 0 {
					continue
				}
				k := id + "/" + p
				if v != allVariations {
					k += "/" + v
				}
				out[k] += g.Total
			}
		}
	}
	return out
}

// livePlatformCredits reads a platform → credited goal events table of §6 through §13.1: the platform keys take
// their live spelling (ios → IOS, EMAIL → ALL_PLATFORMS) and, when there are device platforms, ALL_PLATFORMS
// holds their sum. The sum is the ALL_PLATFORMS count only because no goal event of these tables is credited to
// one campaign under two platforms (a goal event counts once per node, §12.1).
func livePlatformCredits(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	var device int64
	for p, n := range m {
		lp := livePlatformKey(p)
		out[lp] += n
		if lp != allPlatforms {
			device += n
		}
	}
	if device > 0 {
		out[allPlatforms] += device
	}
	return out
}

// liveCredits is livePlatformCredits for goalTotals keys ("campaign/platform[/variation]").
func liveCredits(m map[string]int64) map[string]int64 {
	groups := map[[2]string]map[string]int64{}
	for k, n := range m {
		parts := strings.SplitN(k, "/", 3)
		g := [2]string{parts[0], ""}
		if len(parts) == 3 {
			g[1] = "/" + parts[2]
		}
		if groups[g] == nil {
			groups[g] = map[string]int64{}
		}
		groups[g][parts[1]] += n
	}
	out := map[string]int64{}
	for g, plats := range groups {
		for p, n := range livePlatformCredits(plats) {
			out[g[0]+"/"+p+g[1]] = n
		}
	}
	return out
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func spec6Put(t *testing.T, m *refModel, id, channel string, window int) {
	t.Helper()
	if st := m.PutCampaign(id, map[string]any{"channel": channel, "conversion_goal_details": map[string]any{
		"attribution_window_in_hours": window, "goals": []any{map[string]any{"goal_name": "Purchase",
			"goal_event_name": "Purchase", "revenue_attribute": "amount"}}}}); st != 201 && st != 200 {
		t.Fatalf("PUT %s: %d", id, st)
	}
}

func TestReferenceSpecExample63(t *testing.T) {
	m, _ := newRefModel("UTC")
	const a, b = "push_spring", "email_spring"
	spec6Put(t, m, a, "PUSH", 36)
	spec6Put(t, m, b, "EMAIL", 240)
	at := func(d, h, mi int) time.Time { return time.Date(2025, 3, d, h, mi, 0, 0, time.UTC) }
	sum := m.Ingest([]json.RawMessage{
		convEvent("63-1", "MOE_EMAIL_SENT", "", "u1", b, at(1, 8, 0), nil),
		convEvent("63-2", "MOE_EMAIL_OPEN", "", "u1", b, at(1, 8, 10), nil),
		convEvent("63-3", "n_i_s", "", "u1", a, at(1, 9, 0), nil),
		convEvent("63-4", "NOTIFICATION_RECEIVED_IOS_MOE", "", "u1", a, at(1, 9, 1), nil),
		convEvent("63-5", "NOTIFICATION_CLICKED_IOS_MOE", "", "u1", a, at(1, 9, 20), nil),
		convEvent("63-6", "MOE_EMAIL_OPEN", "", "u1", b, at(1, 9, 40), nil),
	}, time.Now())
	if sum.Accepted != 6 {
		t.Fatalf("ingest: %+v", sum)
	}
	convTrack(t, m, "u1", "Purchase", at(1, 9, 45), map[string]any{"amount": 50})
	convTrack(t, m, "u1", "Purchase", at(3, 12, 0), map[string]any{"amount": 30})
	want := map[string][2]map[string]int64{
		"VIEW_THROUGH":      {{a + "/ios": 1, b + "/EMAIL": 1}, {b + "/EMAIL": 1}},
		"CLICK_THROUGH":     {{a + "/ios": 1}, {}},
		"IN_SESSION":        {{a + "/ios": 1}, {}},
		"TOTAL_CONVERSIONS": {{a + "/ios": 1}, {b + "/EMAIL": 1}},
		"CLICK_CONVERSIONS": {{a + "/ios": 1}, {}},
	}
	// The §6.3 table, read through §13.1 (one credit per campaign and goal event there).
	for at, days := range want {
		for i := range days {
			days[i] = liveCredits(days[i])
		}
		want[at] = days
	}
	for _, at := range allAttributionTypes {
		for i, day := range []string{"2025-03-01", "2025-03-03"} {
			got := goalTotals(m, []string{a, b}, at, "TOTAL", day, day, "Purchase")
			if !sameCounts(got, want[at][i]) {
				t.Errorf("%s E%d: credited %v, want %v", at, i+1, got, want[at][i])
			}
		}
	}
	// Selection without campaign_ids includes the credited campaign even on a day without its events (§5.5).
	r := m.Stats(StatsRequest{RequestID: "x", StartDate: "2025-03-03", EndDate: "2025-03-03", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if strings.Join(r.Order, ",") != b {
		t.Errorf("selection on 03-03 under VIEW_THROUGH: %v", r.Order)
	}
	r = m.Stats(StatsRequest{RequestID: "x", StartDate: "2025-03-03", EndDate: "2025-03-03", AttributionType: "CLICK_THROUGH", MetricType: "TOTAL"})
	if len(r.Order) != 0 {
		t.Errorf("selection on 03-03 under CLICK_THROUGH: %v", r.Order)
	}
	// The 03-03 credit creates B's ALL_PLATFORMS node (EMAIL in §6.3) with zero performance counts and cvr 0 (base 0).
	n := m.Stats(StatsRequest{RequestID: "x", CampaignIDs: []string{b}, StartDate: "2025-03-03", EndDate: "2025-03-03",
		AttributionType: "TOTAL_CONVERSIONS", MetricType: "UNIQUE"}).Data[b].Platforms[allPlatforms][allLocale][allVariations]
	if g := n.Goals["Purchase"]; n.Perf["open"] != 0 || g.Unique != 1 || g.CVR != 0 || g.Revenue != 30 {
		t.Errorf("B on 03-03: %+v %+v", n.Perf, g)
	}
}

func TestReferenceSpecExample64(t *testing.T) {
	m, _ := newRefModel("UTC")
	const a = "push_spring"
	spec6Put(t, m, a, "PUSH", 36)
	at := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.UTC) }
	m.Ingest([]json.RawMessage{convEvent("64-1", "MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", "u2", a, at(1, 9), nil)}, time.Now())
	convTrack(t, m, "u2", "Purchase", at(1, 20), map[string]any{"amount": 10})
	convTrack(t, m, "u2", "Purchase", at(3, 10), map[string]any{"amount": 10})
	for _, typ := range allAttributionTypes {
		got := goalTotals(m, []string{a}, typ, "TOTAL", "2025-03-01", "2025-03-03", "Purchase")
		if want := liveCredits(map[string]int64{a + "/unknown/" + ccgVariation: 1}); !sameCounts(got, want) {
			t.Errorf("%s: %v, want %v", typ, got, want)
		}
		plats := m.Stats(StatsRequest{RequestID: "x", CampaignIDs: []string{a}, StartDate: "2025-03-01", EndDate: "2025-03-01",
			AttributionType: typ, MetricType: "TOTAL"}).Data[a].Platforms
		// §6.4's node under platform unknown (UNKNOWN, §13.1), and the same numbers in ALL_PLATFORMS.
		for _, p := range []string{platUnknown, allPlatforms} {
			n := plats[p][allLocale]
			g := n[ccgVariation].Goals["Purchase"]
			if g.Total != 1 || g.Unique != 1 || g.CVR != 100 || g.Uplift != 0 || n[ccgVariation].Failures[ccgKey] != 1 {
				t.Errorf("%s %s: control group node %+v", typ, p, n[ccgVariation])
			}
			if n[allVariations].Perf["attempted"] != 0 || n[allVariations].Goals["Purchase"].Total != 0 {
				t.Errorf("%s %s: all_variations %+v", typ, p, n[allVariations])
			}
		}
		if len(plats) != 2 {
			t.Errorf("%s: %d platform keys, want UNKNOWN and ALL_PLATFORMS", typ, len(plats))
		}
	}
}

func TestReferenceSpecExample65(t *testing.T) {
	m, _ := newRefModel("UTC")
	const a, d = "push_a", "email_d"
	spec6Put(t, m, a, "PUSH", 36)
	spec6Put(t, m, d, "EMAIL", 240)
	at := func(h, mi int) time.Time { return time.Date(2025, 3, 1, h, mi, 0, 0, time.UTC) }
	m.Ingest([]json.RawMessage{convEvent("65-1", "MOE_EMAIL_OPEN", "", "u3", d, at(11, 0), nil)}, time.Now())
	convTrack(t, m, "u3", "Purchase", at(12, 0), nil)
	check := func(when string, want map[string]map[string]int64) {
		for typ, w := range want {
			w = liveCredits(w) // the §6.5 table read through §13.1
			if got := goalTotals(m, []string{a, d}, typ, "UNIQUE", "2025-03-01", "2025-03-01", "Purchase"); !sameCounts(got, w) {
				t.Errorf("%s %s: %v, want %v", when, typ, got, w)
			}
		}
	}
	check("12:02", map[string]map[string]int64{"VIEW_THROUGH": {d + "/EMAIL": 1}, "TOTAL_CONVERSIONS": {d + "/EMAIL": 1},
		"CLICK_CONVERSIONS": {}})
	m.Ingest([]json.RawMessage{convEvent("65-2", "NOTIFICATION_CLICKED_MOE", "", "u3", a, at(11, 50), nil)}, time.Now())
	check("13:01", map[string]map[string]int64{"VIEW_THROUGH": {d + "/EMAIL": 1, a + "/android": 1},
		"TOTAL_CONVERSIONS": {a + "/android": 1}, "CLICK_CONVERSIONS": {a + "/android": 1}})
}

// TestReferenceConversionRules checks rules the SPEC states without a worked example.
func TestReferenceConversionRules(t *testing.T) {
	m, _ := newRefModel("UTC")
	base := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	put := func(id string, body map[string]any) int { return m.PutCampaign(id, body) }
	goals := func(window any, gs ...map[string]any) map[string]any {
		d := map[string]any{"goals": gs}
		if window != nil {
			d["attribution_window_in_hours"] = window
		}
		return d
	}
	g := func(name, event string, kv ...any) map[string]any {
		out := map[string]any{"goal_name": name, "goal_event_name": event, "revenue_attribute": "amount"}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	// PUT validation (§3.12.1): window range per channel, unique names, one primary, known conditions.
	for _, c := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"channel": "PUSH", "conversion_goal_details": goals(37, g("P", "Purchase"))}, 400},
		{map[string]any{"channel": "PUSH", "conversion_goal_details": goals(0, g("P", "Purchase"))}, 400},
		{map[string]any{"channel": "EMAIL", "conversion_goal_details": goals(240, g("P", "Purchase"))}, 201},
		{map[string]any{"channel": "EMAIL", "conversion_goal_details": goals(nil, g("P", "Purchase"), g("P", "Other"))}, 400},
		{map[string]any{"channel": "EMAIL", "conversion_goal_details": goals(nil, g("P", "Purchase", "is_primary_goal", true),
			g("Q", "Other", "is_primary_goal", true))}, 400},
		{map[string]any{"channel": "EMAIL", "conversion_goal_details": goals(nil, g("P", "Purchase",
			"goal_event_attribute", map[string]any{"name": "amount", "condition": "approximately", "value": 1}))}, 400},
		{map[string]any{"channel": "EMAIL", "conversion_goal_details": goals(nil, g("", "Purchase"))}, 400},
	} {
		if st := put("v", c.body); st != c.want {
			t.Errorf("PUT %s: %d, want %d", describe(c.body), st, c.want)
		}
	}
	// The refused PUTs left the 240 h window in force.
	if w := m.catalog().windowMs("v"); w != 240*3600*1000 {
		t.Errorf("window after refused PUTs: %d", w)
	}

	// Filters (§3.12.3).
	f := func(kv ...any) *refGoalFilter {
		obj := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			obj[kv[i].(string)] = kv[i+1]
		}
		v, _ := decodeJSON(mustJSON(map[string]any{"goals": []any{map[string]any{"goal_name": "x", "goal_event_name": "x",
			"goal_event_attribute": obj}}}))
		d, ok := parseGoalDetails(v, chPush)
		if !ok {
			t.Fatalf("filter %v refused", obj)
		}
		return d.Goals[0].Filter
	}
	attrs := func(s string) map[string]any {
		v, _ := decodeJSON([]byte(s))
		return v.(map[string]any)
	}
	for _, c := range []struct {
		f     *refGoalFilter
		attrs string
		want  bool
	}{
		{f("name", "amount", "condition", "greater_than", "value", 0), `{"amount":"12.5"}`, true},
		{f("name", "amount", "condition", "gt", "value", 100), `{"amount":100}`, false},
		{f("name", "amount", "condition", "gte", "value", 100), `{"amount":1e2}`, true},
		{f("name", "amount", "condition", "lt", "value", 100), `{"amount":"abc"}`, false},
		{f("name", "amount", "condition", "lt", "value", 100, "negate", true), `{"amount":"abc"}`, true},
		{f("name", "amount", "condition", "is", "value", "5", "data_type", "NUMBER"), `{"amount":"5.0"}`, true},
		{f("name", "sku", "condition", "is", "value", "abc"), `{"sku":"ABC"}`, true},
		{f("name", "sku", "condition", "is", "value", "abc", "is_case_sensitive", true), `{"sku":"ABC"}`, false},
		{f("name", "sku", "condition", "is", "value", "abc", "negate", true), `{}`, true},
		{f("name", "sku", "condition", "equals", "value", "abc"), `{}`, false},
		{f("name", "sku", "condition", "starts_with", "value", "a-"), `{"sku":"A-100"}`, true},
		{f("name", "sku", "condition", "ends_with", "value", "SHOE"), `{"sku":"snowshoe"}`, true},
		{f("name", "sku", "condition", "contains", "value", "Shoe"), `{"sku":"x-shoe-9"}`, true},
		{f("name", "tags", "condition", "contains", "value", "sale"), `{"tags":["new","sale"]}`, true},
		{f("name", "cat", "condition", "in", "value", []any{"shoes", "Bags"}, "data_type", "STRING"), `{"cat":"bags"}`, true},
		{f("name", "cat", "condition", "in", "value", []any{"shoes", "Bags"}, "data_type", "STRING"), `{"cat":"hats"}`, false},
		{f("name", "coupon", "condition", "exists"), `{"coupon":null}`, false},
		{f("name", "coupon", "condition", "exists", "negate", true), `{"coupon":null}`, true},
		{f("name", "coupon", "condition", "exists"), `{"coupon":""}`, true},
		{f("name", "amount", "condition", "between", "value", 10, "value1", 20, "data_type", "DOUBLE"), `{"amount":"20"}`, true},
		{f("name", "amount", "condition", "between", "value", 10, "value1", 20), `{"amount":20.01}`, false},
		{f("name", "first", "condition", "is", "value", true, "data_type", "BOOL"), `{"first":true}`, true},
		{f("name", "first", "condition", "is", "value", true), `{"first":false}`, false},
		{f("name", "d", "condition", "gte", "value", "2025-03-10", "data_type", "DATETIME"), `{"d":"2025-03-10T00:00:00Z"}`, true},
		{f("name", "d", "condition", "gte", "value", "2025-03-10", "data_type", "DATETIME"), `{"d":1741564799}`, false},
	} {
		if got := c.f.holds(attrs(c.attrs)); got != c.want {
			t.Errorf("filter %+v on %s = %v, want %v", *c.f, c.attrs, got, c.want)
		}
	}

	// Revenue read in micro-units, rounded half away from zero (§5.10).
	for in, want := range map[string]int64{`"0.0049995"`: 5000, `1.0000005`: 1000001, `"2.0000004999"`: 2000000,
		`1.5e2`: 150000000, `"abc"`: 0, `"12 "`: 0, `null`: 0, `"7"`: 7000000} {
		v, _ := decodeJSON([]byte(`{"amount":` + in + `}`))
		ge := &refGoalEvent{Attrs: v.(map[string]any)}
		if got := ge.revenueMicros(&refGoal{Revenue: "amount"}); got != want {
			t.Errorf("revenue %s = %d, want %d", in, got, want)
		}
	}
	if pct2(big.NewInt(-314285), big.NewInt(1000000)) != -31.43 || pct2(big.NewInt(150025), big.NewInt(100000)) != 150.03 {
		t.Error("pct2 rounding")
	}

	// Windows, ties and parents (§6.1, §6.2): a push parent with two children inheriting a 2 h window.
	if put("par", map[string]any{"channel": "PUSH", "conversion_goal_details": goals(2, g("Buy", "Purchase"))}) != 201 {
		t.Fatal("PUT par")
	}
	ev := func(uuid, code, user, cid string, at time.Duration, attrs map[string]any) json.RawMessage {
		a := map[string]any{"parent_campaign_id": "par"}
		for k, v := range attrs {
			a[k] = v
		}
		return convEvent(uuid, code, "", user, cid, base.Add(at), a)
	}
	m.Ingest([]json.RawMessage{
		ev("t-2", "NOTIFICATION_CLICKED_MOE", "w", "kid1", 0, map[string]any{"locale_name": "en"}),
		ev("t-1", "NOTIFICATION_CLICKED_MOE", "w", "kid1", 0, map[string]any{"locale_name": "fr"}),
		ev("t-3", "NOTIFICATION_CLICKED_IOS_MOE", "w", "kid2", 0, map[string]any{"variation_id": "2"}),
		ev("t-4", "NOTIFICATION_RECEIVED_MOE", "v", "kid1", 0, nil),
		ev("t-5", "NOTIFICATION_CLICKED_MOE", "v", "kid2", -time.Millisecond, nil),
	}, time.Now())
	for _, c := range []struct {
		user string
		at   time.Duration
	}{{"w", 2 * time.Hour}, {"w", 2*time.Hour + time.Millisecond}, {"v", 30 * time.Minute}} {
		convTrack(t, m, c.user, "Purchase", base.Add(c.at), map[string]any{"amount": "10"})
	}
	// w's purchase at exactly s + 2 h is credited to both children (once in the parent's android node, §12.1); the
	// one 1 ms later to nobody. The tie between kid1's two clicks at the same instant picks the smaller event_uuid
	// (fr). v's purchase is credited to kid1 (view) and kid2 (click), both android: once in the parent (§12.1).
	got := goalTotals(m, []string{"par", "kid1", "kid2"}, "VIEW_THROUGH", "TOTAL", "2025-03-01", "2025-03-01", "Buy")
	// ALL_PLATFORMS: w's purchase is credited under IOS (kid2) and ANDROID (kid1) of par, v's under ANDROID twice
	// (kid1, kid2), and kid2 has w's under IOS and v's under ANDROID: each goal event once per node (§12.1, §13.1).
	want := map[string]int64{"kid1/ANDROID": 2, "kid1/ALL_PLATFORMS": 2,
		"kid2/IOS": 1, "kid2/IOS/variation_2": 1, "kid2/ANDROID": 1, "kid2/ALL_PLATFORMS": 2, "kid2/ALL_PLATFORMS/variation_2": 1,
		"par/ANDROID": 2, "par/IOS": 1, "par/IOS/variation_2": 1, "par/ALL_PLATFORMS": 2, "par/ALL_PLATFORMS/variation_2": 1}
	if !sameCounts(got, want) {
		t.Errorf("VIEW_THROUGH: %v, want %v", got, want)
	}
	r := m.Stats(StatsRequest{RequestID: "x", CampaignIDs: []string{"kid1", "par"}, StartDate: "2025-03-01", EndDate: "2025-03-01",
		AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if n := r.Data["kid1"].Platforms[platAndroid]["fr"]; n == nil || n[allVariations].Goals["Buy"].Total != 1 {
		t.Errorf("kid1 fr: %s", describe(r.Data["kid1"].tree()))
	}
	if n := r.Data["kid1"].Platforms[platAndroid]["en"]; n == nil || n[allVariations].Goals["Buy"].Total != 0 {
		t.Errorf("kid1 en: %s", describe(r.Data["kid1"].tree()))
	}
	// TOTAL_CONVERSIONS: w's clicks tie on depth and instant → smallest campaign_id (kid1); v's click at s−1 ms
	// (kid2, depth 3) beats kid1's view (depth 2) although the view is later.
	got = goalTotals(m, []string{"kid1", "kid2"}, "TOTAL_CONVERSIONS", "TOTAL", "2025-03-01", "2025-03-01", "Buy")
	if want := map[string]int64{"kid1/ANDROID": 1, "kid1/ALL_PLATFORMS": 1, "kid2/ANDROID": 1, "kid2/ALL_PLATFORMS": 1}; !sameCounts(got, want) {
		t.Errorf("TOTAL_CONVERSIONS: %v, want %v", got, want)
	}
	// IN_SESSION: v bought 30 min after kid2's click (plus 1 ms): outside the session; w bought 2 h later.
	if got := goalTotals(m, []string{"par"}, "IN_SESSION", "TOTAL", "2025-03-01", "2025-03-01", "Buy"); len(got) != 0 {
		t.Errorf("IN_SESSION: %v", got)
	}
}
