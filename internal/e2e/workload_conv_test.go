package e2e

// The conversions part of the randomized workload: goals on most campaigns (PUT bodies, §3.12), goal events through
// Streams (user events and unknown codes), Track Event and Bulk Import (§3.8, §3.9, with Idempotency-Key retries),
// converters after clicks, opens, deliveries and held-out views, goal events exactly at and just past the
// attribution and in-session windows, designed scenarios whose TOTAL_CONVERSIONS winner changes when a late
// interaction arrives, and the three arrival orders of the same events.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type genChain struct {
	camp   campPlan
	events []map[string]any
	held   bool // a held-out event (§4.7)
}

// trackItem is one Track Event ("event") or Bulk Import ("transition") request.
type trackItem struct {
	Endpoint string
	Body     []byte
	Key      string // Idempotency-Key, "" = none
	Retry    []byte // sent right after with the same key and another body: must ingest nothing (§3.10)
	TimeMs   int64  // earliest action: the arrival-order key
	Late     bool   // arrives after the checkpoint
}

type convGen struct {
	chains  []genChain
	streams []json.RawMessage // goal events through Streams (with duplicates) and scenario events before the checkpoint
	late    []json.RawMessage // scenario interactions that arrive after the checkpoint
	tracks  []*trackItem
	bulk    []any // pending Bulk Import elements
	bulkMs  int64
	uuidN   int
	keyN    int
	stats   map[string]int
	// bulkKeys are the Idempotency-Keys used by Bulk Import requests.
	bulkKeys map[string]bool
	scenario bool // generating the designed scenarios: no random duplicates
}

// ---------------------------------------------------------------------------------------------------------------
// Goals per campaign

type convGoal struct {
	name, event, revenue string
	filter               map[string]any
	primary              bool
}

type convPlan struct {
	channel string // written explicitly with the goals, so that the window is checked against a known channel
	window  int    // 0 = absent (the channel maximum)
	goals   []convGoal
}

func (p convPlan) windowMs() int64 {
	h := p.window
	if h == 0 {
		h = channelMaxWindow(p.channel)
	}
	return int64(h) * 3600 * 1000
}

func flt(name, cond string, value any, kv ...any) map[string]any {
	f := map[string]any{"name": name, "condition": cond, "value": value, "value1": nil, "negate": false,
		"is_case_sensitive": false}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i].(string)] = kv[i+1]
	}
	return f
}

// convPlans are the goal details written per campaign; children without their own inherit their parent's.
var convPlans = map[string]convPlan{
	"push_solo": {chPush, 24, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", primary: true},
		{name: "Big Purchase", event: "Purchase", revenue: "amount", filter: flt("amount", "greater_than", 100)},
		{name: "Sign Up", event: "Sign Up", filter: flt("method", "in", []any{"google", "Email"}, "data_type", "STRING")}}},
	"push_parent": {chPush, 30, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount"},
		{name: "App Open", event: "MOE_APP_OPENED"},
		{name: "Flow", event: "USER_ENTERED_FLOW"},         // a kind-U code of §4.2
		{name: "Keyword", event: "SMS Keyword Received"}}}, // a kind-U name of §4.2
	"push_ph": {chPush, 18, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "price", filter: flt("sku", "starts_with", "a-")},
		{name: "Page View", event: "Page Viewed"},
		{name: "Page View Code", event: "MOE_PAGE_VIEWED", primary: true},
		// Campaign events spelled with this unknown code and a known event_name are campaign events (§4.1): never
		// goal events.
		{name: "Custom Code", event: "CUSTOM_UNKNOWN_CODE"}}},
	"push_tz": {chPush, 0, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: map[string]any{}},
		{name: "Click Echo", event: "NOTIFICATION_CLICKED_MOE"}}},
	"email_solo": {chEmail, 72, []convGoal{
		{name: "Order Placed", event: "Order Placed", revenue: "value"},
		{name: "Spring Order", event: "Order Placed", revenue: "value",
			filter: flt("order_date", "greater_than_or_equal", "2025-03-10T00:00:00Z", "data_type", "DATETIME")},
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("currency", "equals", "USD")}}},
	"email_ph": {chEmail, 200, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("coupon", "exists", nil, "negate", true)}}},
	"email_ph-c2": {chEmail, 0, []convGoal{{name: "Newsletter", event: "newsletter_signup"}}},
	"sms_solo": {chSMS, 100, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("amount", "between", 10, "value1", 300, "data_type", "NUMBER")}}},
	"sms_adopt": {chSMS, 48, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount"}}},
	"wa_solo": {chWhatsApp, 240, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("sku", "contains", "SHOE")},
		{name: "Add To Cart", event: "Add To Cart", revenue: "price"}}},
	"inapp_solo": {chInApp, 12, []convGoal{
		{name: "Add To Cart", event: "Add To Cart", revenue: "price",
			filter: flt("category", "in", []any{"shoes", "Bags"}, "data_type", "STRING")},
		{name: "Purchase", event: "Purchase", revenue: "amount"}}},
	"onsite_solo": {chOnSite, 6, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("channel", "eq", "Web", "is_case_sensitive", true)}}},
	"inapp_to_onsite": {chOnSite, 36, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount"}}},
	"cards_solo": {chCards, 20, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("amount", "lt", 500)},
		{name: "First Order", event: "Purchase", revenue: "amount", filter: flt("first_order", "is", true, "data_type", "BOOL")}}},
	"conn_solo": {chConnectors, 0, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount"},
		{name: "Hundred", event: "Purchase", revenue: "amount", filter: flt("amount", "eq", 100, "data_type", "NUMBER")}}},
	"fb_solo": {chFacebook, 10, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount", filter: flt("amount", "lte", 50, "negate", true)}}},
	"gads_solo": {chGoogleAds, 30, []convGoal{{name: "Lead", event: "Lead Submitted", revenue: "lead_value",
		filter: flt("email", "ends_with", "@Example.com")}}},
	"email_late": {chEmail, 0, []convGoal{
		{name: "Purchase", event: "Purchase", revenue: "amount"},
		{name: "Order Placed", event: "Order Placed", revenue: "value", filter: flt("tags", "contains", "VIP")}}},
	"put_only": {chPush, 12, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount"}}},
	// Their children (of the other channel) inherit these goals and windows (§2.3).
	"push_mix": {chPush, 36, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount"},
		{name: "Add To Cart", event: "Add To Cart", revenue: "price"}}},
	"email_mix": {chEmail, 24, []convGoal{{name: "Purchase", event: "Purchase", revenue: "amount", primary: true}}},
}

// convParents are the effective parents at the checkpoint (events, then PUT re-parenting; latePuts moves
// push_parent:c2 back to push_parent afterwards).
var convParents = map[string]string{
	"push_parent:c1": "push_parent", "push_parent:c2": "push_ph", "push_ph.c1": "push_ph",
	"email_ph-c1": "email_ph", "email_ph-c3": "email_ph", "sms_adopt": "sms_new_parent",
	"push_mix:mail": "push_mix", "email_mix:app": "email_mix",
}

func effectiveConvPlan(id string) (convPlan, bool) {
	if p, ok := convPlans[id]; ok {
		return p, true
	}
	p, ok := convPlans[convParents[id]]
	return p, ok
}

func (p convPlan) details() map[string]any {
	var gs []any
	for _, g := range p.goals {
		m := map[string]any{"goal_name": g.name, "goal_event_name": g.event}
		if g.revenue != "" {
			m["revenue_attribute"] = g.revenue
			m["revenue_currency"] = "USD"
		}
		switch {
		case g.filter == nil:
		case len(g.filter) == 0:
			m["goal_event_attribute"] = nil // "object or null"
		default:
			m["goal_event_attribute"] = g.filter
		}
		if g.primary {
			m["is_primary_goal"] = true
		}
		gs = append(gs, m)
	}
	d := map[string]any{"goals": gs}
	if p.window > 0 {
		d["attribution_window_in_hours"] = p.window
	}
	return d
}

// latePuts change the catalog after the checkpoint (after Stats requests were answered): a shorter window, and a
// child moved back to its first parent (it then inherits that parent's goals and window).
func latePuts(puts []workloadOp) []workloadOp {
	last := map[string]map[string]any{}
	for _, p := range puts {
		last[p.Campaign] = p.Put
	}
	sms := cloneMap(last["sms_solo"])
	d := convPlans["sms_solo"].details()
	d["attribution_window_in_hours"] = 3
	sms["conversion_goal_details"] = d
	child := cloneMap(last["push_parent:c2"])
	child["parent_campaign_id"] = "push_parent"
	return []workloadOp{{Kind: opPut, Campaign: "sms_solo", Put: sms}, {Kind: opPut, Campaign: "push_parent:c2", Put: child}}
}

// withConversionGoals writes each campaign's goals into its last PUT (a PUT replaces every explicit field) or a
// new PUT, then appends PUTs that must be refused and change nothing.
func withConversionGoals(puts []workloadOp) []workloadOp {
	last := map[string]int{}
	for i, p := range puts {
		last[p.Campaign] = i
	}
	ids := make([]string, 0, len(convPlans))
	for id := range convPlans {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		plan := convPlans[id]
		body := map[string]any{}
		if i, ok := last[id]; ok {
			body = cloneMap(puts[i].Put)
		}
		body["conversion_goal_details"] = plan.details()
		if _, has := body["channel"]; !has {
			body["channel"] = plan.channel
		}
		if i, ok := last[id]; ok {
			puts[i].Put = body
		} else {
			puts = append(puts, workloadOp{Kind: opPut, Campaign: id, Put: body})
			last[id] = len(puts) - 1
		}
	}
	refused := func(id string, change func(d map[string]any)) {
		body := cloneMap(puts[last[id]].Put)
		d := convPlans[id].details()
		change(d)
		body["conversion_goal_details"] = d
		puts = append(puts, workloadOp{Kind: opPut, Campaign: id, Put: body})
	}
	refused("push_solo", func(d map[string]any) { d["attribution_window_in_hours"] = 37 })
	refused("email_solo", func(d map[string]any) {
		d["goals"] = []any{map[string]any{"goal_name": "Order Placed", "goal_event_name": "Order Placed"},
			map[string]any{"goal_name": "Order Placed", "goal_event_name": "Purchase"}}
	})
	refused("wa_solo", func(d map[string]any) {
		d["goals"] = []any{map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase",
			"goal_event_attribute": map[string]any{"name": "amount", "condition": "approximately", "value": 5}}}
	})
	refused("cards_solo", func(d map[string]any) {
		d["goals"] = []any{map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true},
			map[string]any{"goal_name": "Other", "goal_event_name": "Sign Up", "is_primary_goal": true}}
	})
	return puts
}

// ---------------------------------------------------------------------------------------------------------------
// Goal events

func (g *gen) conversions() {
	saved := g.rng // a stream of its own, so the rest of the workload does not depend on this part
	g.rng = rand.New(rand.NewPCG(g.opt.Seed^0xc0ffee, 17))
	defer func() { g.rng = saved }()
	g.conv.stats = map[string]int{}
	g.conv.bulkKeys = map[string]bool{}
	for _, ch := range g.conv.chains {
		plan, ok := effectiveConvPlan(ch.camp.ID)
		if !ok {
			continue
		}
		p := 0.3
		if ch.held {
			p = 0.7
		}
		if !g.chance(p) {
			continue
		}
		anchor := g.pickAnchor(ch.events)
		n := 1
		if g.chance(0.2) {
			n = 2
		}
		for i := 0; i < n; i++ {
			g.goalFor(anchor, plan, ch.held)
		}
	}
	g.flushBulk()
	g.scenarios()
	g.invalidTracks()
}

func eventClass(ev map[string]any) int {
	code, _ := ev["event_code"].(string)
	name, _ := ev["event_name"].(string)
	return rowClass(lookupRow(code, name))
}

// pickAnchor chooses the interaction a converter reacts to: mostly the deepest of the chain (a click, an open, a
// delivery), else any event of it.
func (g *gen) pickAnchor(evs []map[string]any) map[string]any {
	if g.chance(0.4) {
		return evs[g.rng.IntN(len(evs))]
	}
	best := evs[0]
	for _, e := range evs[1:] {
		if eventClass(e) >= eventClass(best) {
			best = e
		}
	}
	return best
}

func (g *gen) goalFor(anchor map[string]any, plan convPlan, held bool) {
	s, ok := parseTimeValue(anchor["event_time"])
	if !ok {
		return
	}
	delta, label := g.convDelta(plan.windowMs())
	g.conv.stats["delta:"+label]++
	if held {
		g.conv.stats["held-out converter"]++
	}
	g.emitGoal(anchor, g.goalName(plan), g.goalAttrs(), s+delta, -1)
}

// convDelta picks the goal event's distance from its anchor interaction: the same instant, inside the session,
// exactly at and 1 ms past the 30-minute session and the attribution window, inside the window, after it, before
// the interaction.
func (g *gen) convDelta(w int64) (int64, string) {
	const session = 30 * 60 * 1000
	switch g.pickWeighted([]int{6, 20, 4, 4, 26, 7, 7, 3, 10, 8}) {
	case 0:
		return 0, "0"
	case 1:
		return 1 + g.rng.Int64N(session-1), "session"
	case 2:
		return session, "30m"
	case 3:
		return session + 1, "30m+1ms"
	case 4:
		return session + g.rng.Int64N(w-session), "window"
	case 5:
		return w, "W"
	case 6:
		return w + 1, "W+1ms"
	case 7:
		return w - 1, "W-1ms"
	case 8:
		return w + 1 + g.rng.Int64N(48*3600*1000), "after W"
	default:
		return -(1 + g.rng.Int64N(2*3600*1000)), "before"
	}
}

func (g *gen) goalName(plan convPlan) string {
	if g.chance(0.08) { // no goal: another case, another name (names match exactly, §2.4)
		return pick(g, "purchase", "Purchase Completed", "Order placed", "Lead")
	}
	var names []string
	for _, gl := range plan.goals {
		names = append(names, gl.event)
		if gl.event == "Purchase" {
			names = append(names, gl.event, gl.event)
		}
	}
	return names[g.rng.IntN(len(names))]
}

// goalAttrs returns attributes for filters and revenue: numbers, numeric strings, values that must be rounded to
// micro-units when read, non-numeric values, missing ones, and filter boundaries.
func (g *gen) goalAttrs() map[string]any {
	a := map[string]any{}
	money := func() any {
		switch g.pickWeighted([]int{35, 15, 8, 4, 4, 12, 8, 14}) {
		case 0:
			return json.Number(fmt.Sprintf("%d.%02d", 1+g.rng.IntN(450), g.rng.IntN(100)))
		case 1:
			return fmt.Sprintf("%d.%02d", 1+g.rng.IntN(450), g.rng.IntN(100))
		case 2:
			return json.Number(pick(g, "1.0000005", "0.0049995", "2.0000004999", "7.1249995", "1.5e2", "3E1", "12.3456785"))
		case 3:
			return pick(g, "0.0049995", "7.1249995", "19.9999995", "0.000001")
		case 4:
			return pick[any](g, "n/a", "", "12abc", true)
		case 5:
			return json.Number(strconv.Itoa(g.rng.IntN(520)))
		case 6:
			return pick[any](g, json.Number("10"), json.Number("50"), json.Number("100"), json.Number("300"),
				json.Number("500"), json.Number("100.0"), "100", "300.00", "50")
		}
		return nil
	}
	set := func(k string, v any) {
		if v != nil {
			a[k] = v
		}
	}
	set("amount", money())
	if g.chance(0.04) { // attributes are looked up by exact name (§3.12.3): neither filter nor revenue sees this one
		a["Amount"] = a["amount"]
		delete(a, "amount")
	}
	if g.chance(0.5) {
		set("price", money())
	}
	if g.chance(0.6) {
		set("value", pick[any](g, fmt.Sprintf("%d.%02d", g.rng.IntN(300), g.rng.IntN(100)), money()))
	}
	if g.chance(0.3) {
		set("lead_value", money())
	}
	if g.chance(0.7) {
		a["sku"] = pick(g, "A-100", "a-7", "B-2", "x-shoe-9", "Snowshoe", "SHOEBOX")
	}
	if g.chance(0.7) {
		a["currency"] = pick(g, "USD", "usd", "EUR")
	}
	switch g.rng.IntN(5) {
	case 0:
		a["coupon"] = "SPRING10"
	case 1:
		a["coupon"] = nil
	}
	if g.chance(0.7) {
		a["method"] = pick(g, "google", "GOOGLE", "Email", "facebook")
	}
	if g.chance(0.7) {
		a["category"] = pick(g, "shoes", "Bags", "bags", "Hats")
	}
	a["channel"] = pick(g, "Web", "web", "app")
	if g.chance(0.7) {
		a["order_date"] = pick[any](g, "2025-03-12T10:00:00Z", "2025-03-09T23:59:59Z", "2025-03-10",
			json.Number("1741564800"), json.Number("1741564799"), "2025-03-10T05:30:00+05:30")
	}
	if g.chance(0.5) {
		a["tags"] = pick[any](g, []any{"vip", "new"}, []any{"new"}, []any{}, "VIP member", []any{"VIP"})
	}
	if g.chance(0.8) {
		a["email"] = pick(g, "ann@example.com", "bob@EXAMPLE.COM", "eve@example.org")
	}
	switch g.rng.IntN(3) {
	case 0:
		a["first_order"] = true
	case 1:
		a["first_order"] = false
	}
	return a
}

// identityFields copies the user-identity fields of an event (§2.8), so that a goal event has the same user key.
func identityFields(src map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"uid", "push_id", "email_id", "mobile_number"} {
		if v, ok := src[k]; ok {
			out[k] = v
		}
	}
	if ua, ok := src["user_attributes"].(map[string]any); ok {
		if v, ok := ua["moengage_user_id"]; ok {
			out["user_attributes"] = map[string]any{"moengage_user_id": v}
		}
	}
	if da, ok := src["device_attributes"].(map[string]any); ok {
		if v, ok := da["moengage_device_id"]; ok {
			out["device_attributes"] = map[string]any{"moengage_device_id": v}
		}
	}
	return out
}

// trackIdentity returns the Track Event identity fields giving the same user key as src, or nil when the key's
// namespace has no Track Event form (moe:, dev:, push:).
func (g *gen) trackIdentity(src map[string]any) map[string]any {
	v, _ := decodeJSON(mustJSON(src))
	key, _ := userKeyOf(v.(map[string]any))
	switch {
	case strings.HasPrefix(key, "uid:"):
		id := src["uid"]
		if s, ok := id.(string); ok && g.chance(0.2) {
			id = " " + s + " "
		}
		out := map[string]any{"customer_id": id}
		if g.chance(0.2) { // customer_id wins over user_identifiers
			out["user_identifiers"] = map[string]any{"moe_email": "someone.else@example.com"}
		}
		return out
	case strings.HasPrefix(key, "email:"):
		return map[string]any{"user_identifiers": map[string]any{"moe_email": src["email_id"]}}
	case strings.HasPrefix(key, "mobile:"):
		return map[string]any{"user_identifiers": map[string]any{"moe_mobile": src["mobile_number"], "loyalty_id": "L-1"}}
	}
	return nil
}

func (g *gen) convUUID() string {
	g.conv.uuidN++
	return fmt.Sprintf("cv-%s-%05d", strings.ReplaceAll(g.opt.Timezone, "/", "_"), g.conv.uuidN)
}

// encodeTimeMs writes an instant in a §3.7 format that keeps the milliseconds.
func (g *gen) encodeTimeMs(t time.Time) any {
	ms := t.UnixMilli()
	switch g.rng.IntN(5) {
	case 0:
		return json.Number(strconv.FormatInt(ms, 10))
	case 1:
		return strconv.FormatInt(ms, 10)
	case 2:
		return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
	case 3:
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t.In(g.loc).Format("2006-01-02T15:04:05.000-07:00")
}

// trackTime sets the time fields of a Track action (§3.8) for instant ms.
func (g *gen) trackTime(act map[string]any, ms int64) {
	t := time.UnixMilli(ms)
	switch g.pickWeighted([]int{25, 10, 20, 10, 15, 5, 10, 5}) {
	case 0:
		act["current_time"] = json.Number(strconv.FormatInt(ms, 10))
	case 1:
		act["current_time"] = strconv.FormatInt(ms, 10)
	case 2:
		act["current_time"] = t.UTC().Format("2006-01-02T15:04:05.000Z")
	case 3:
		if g.chance(0.5) {
			act["current_time"] = t.In(kolkata).Format("2006-01-02T15:04:05.000-07:00")
		} else { // an ISO user_time with an offset is used as is, whatever user_timezone_offset says
			act["user_time"] = t.In(kolkata).Format("2006-01-02T15:04:05.000-07:00")
			act["user_timezone_offset"] = -18000
		}
	case 4: // local time without offset, and the offset in seconds
		off := pick(g, 19800, -18000, 3600, 0)
		act["user_time"] = t.UTC().Add(time.Duration(off) * time.Second).Format("2006-01-02T15:04:05.000")
		if off != 0 || g.chance(0.5) {
			act["user_timezone_offset"] = off
		}
	case 5:
		if g.chance(0.5) {
			act["user_time"] = json.Number(strconv.FormatInt(ms, 10))
		} else {
			act["current_time"] = json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
		}
	case 6:
		act["current_time"] = json.Number(strconv.FormatInt(ms, 10))
		act["user_time"] = "2025-01-01T00:00:00" // current_time wins
		act["user_timezone_offset"] = 19800
	default:
		if ms%1000 == 0 {
			act["current_time"] = json.Number(strconv.FormatInt(ms/1000, 10))
		} else {
			act["current_time"] = t.UTC().Format(time.RFC3339Nano)
		}
	}
}

// emitGoal sends one goal event of the user identified by src: route 0 Streams, 1 Track Event, 2 Bulk Import,
// -1 random (Streams when the user key has no Track form; action names that are campaign codes never go through
// Streams, where they would be campaign events).
func (g *gen) emitGoal(src map[string]any, name string, attrs map[string]any, ms int64, route int) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	tid := g.trackIdentity(src)
	campaignCode := lookupRow(name, name) != nil
	if route < 0 {
		route = g.pickWeighted([]int{60, 7, 33})
	}
	if tid == nil {
		if campaignCode {
			return
		}
		route = 0
	}
	if campaignCode && route == 0 {
		route = 1
	}
	g.conv.stats[fmt.Sprintf("route:%d", route)]++
	g.conv.stats["name:"+name]++
	switch route {
	case 0:
		ev := identityFields(src)
		ev["event_uuid"] = g.convUUID()
		ev["event_time"] = g.encodeTimeMs(time.UnixMilli(ms))
		switch g.rng.IntN(4) {
		case 0:
			ev["event_name"] = name
		case 1:
			ev["event_code"] = name
		case 2:
			ev["event_code"] = "CUSTOM_GOAL_EVENT"
			ev["event_name"] = name
		default:
			ev["event_code"] = name
			ev["event_name"] = "Some Other Name"
		}
		if len(attrs) > 0 || g.chance(0.5) {
			ev["event_attributes"] = attrs
		}
		if g.chance(0.5) {
			ev["event_type"] = "USER_ACTION"
		}
		g.conv.streams = append(g.conv.streams, mustJSON(ev))
		if !g.conv.scenario && g.chance(0.06) { // same event_uuid, other content: the first copy stored wins
			c := cloneMap(ev)
			a := cloneMap(attrs)
			a["amount"] = json.Number("9999")
			c["event_attributes"] = a
			g.conv.streams = append(g.conv.streams, mustJSON(c))
			g.conv.stats["streams duplicate"]++
		}
	case 1, 2:
		act := map[string]any{"action": name}
		if len(attrs) > 0 || g.chance(0.5) {
			act["attributes"] = attrs
		}
		g.trackTime(act, ms)
		acts := []any{act}
		minMs := ms
		if !g.conv.scenario && g.chance(0.3) { // a second action of the same user
			ms2 := ms + g.rng.Int64N(2*3600*1000) - 3600*1000
			a2 := map[string]any{"action": pick(g, "Add To Cart", "Purchase", "Sign Up", "MOE_APP_OPENED"), "attributes": g.goalAttrs()}
			g.trackTime(a2, ms2)
			acts = append(acts, a2)
			minMs = min(minMs, ms2)
		}
		body := map[string]any{"type": "event", "actions": acts}
		for k, v := range tid {
			body[k] = v
		}
		if route == 2 {
			g.conv.bulk = append(g.conv.bulk, body)
			if len(g.conv.bulk) == 1 || minMs < g.conv.bulkMs {
				g.conv.bulkMs = minMs
			}
			if g.chance(0.3) {
				g.conv.bulk = append(g.conv.bulk, map[string]any{"type": pick(g, "customer", "device"), "customer_id": "x",
					"attributes": map[string]any{"name": "Ann"}})
			}
			if len(g.conv.bulk) >= 9 {
				g.flushBulk()
			}
			return
		}
		if g.chance(0.3) {
			body["device_id"] = "dev-77"
			body["platform"] = "Android"
		}
		it := &trackItem{Endpoint: "event", Body: mustJSON(body), TimeMs: minMs}
		if g.chance(0.5) {
			g.conv.keyN++
			it.Key = fmt.Sprintf("conv-%d", g.conv.keyN)
			if g.chance(0.6) { // a retry with another body: the stored response is replayed, nothing is ingested
				r := cloneMap(body)
				r["actions"] = append([]any{map[string]any{"action": name, "attributes": map[string]any{"amount": 777},
					"current_time": json.Number(strconv.FormatInt(ms, 10))}}, acts...)
				it.Retry = mustJSON(r)
				g.conv.stats["idempotent retry"]++
			}
		}
		g.conv.tracks = append(g.conv.tracks, it)
	}
}

func (g *gen) flushBulk() {
	if len(g.conv.bulk) == 0 {
		return
	}
	body := map[string]any{"type": "transition", "elements": g.conv.bulk}
	it := &trackItem{Endpoint: "transition", Body: mustJSON(body), TimeMs: g.conv.bulkMs}
	// Sometimes the key of a Track Event request: the scope is per endpoint (§3.10), so both are ingested. Never a
	// key already used by another Bulk Import request (that one would be replayed, depending on arrival order).
	if key := fmt.Sprintf("conv-%d", g.conv.keyN); g.conv.keyN > 0 && !g.conv.bulkKeys[key] && g.chance(0.4) {
		it.Key = key
		g.conv.bulkKeys[key] = true
	}
	g.conv.tracks = append(g.conv.tracks, it)
	g.conv.bulk = nil
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios on data day 10 (12:00 local): TOTAL_CONVERSIONS winners that change when a late interaction arrives,
// ties, control groups, and revenues whose 2-decimal result depends on reading them exactly.

var scenarioCampaigns = []string{"cards_solo", "email_late", "email_ph", "email_solo", "inapp_solo", "push_parent",
	"push_solo", "push_tz", "sms_solo", "push_mix"}

const scenarioDay = 10

func (g *gen) scenarios() {
	d := g.dayStart(scenarioDay).Add(12 * time.Hour).UnixMilli()
	g.conv.scenario = true
	defer func() { g.conv.scenario = false }()
	n := 0
	ev := func(code, cid, user string, at time.Duration, attrs map[string]any) map[string]any {
		n++
		a := map[string]any{"campaign_id": cid}
		for k, v := range attrs {
			a[k] = v
		}
		return map[string]any{"event_uuid": fmt.Sprintf("scn-%03d", n), "event_code": code,
			"event_time": json.Number(strconv.FormatInt(d+at.Milliseconds(), 10)), "uid": user, "event_attributes": a}
	}
	early := func(e map[string]any) { g.conv.streams = append(g.conv.streams, mustJSON(e)) }
	late := func(e map[string]any) { g.conv.late = append(g.conv.late, mustJSON(e)) }
	buy := func(user string, at time.Duration, route int, attrs map[string]any) {
		if attrs == nil {
			attrs = map[string]any{"amount": json.Number("60"), "currency": "USD", "sku": "A-1", "price": "12.5"}
		}
		g.emitGoal(map[string]any{"uid": user}, "Purchase", attrs, d+at.Milliseconds(), route)
	}
	h := time.Hour
	// 1. email open, purchase; a push click arrives late: the winner moves from the view to the click.
	early(ev("MOE_EMAIL_OPEN", "email_solo", "scn-1", 0, map[string]any{"locale_name": "en"}))
	late(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-1", 2*h, map[string]any{"locale_name": "fr", "variation_id": "1"}))
	buy("scn-1", 3*h, 1, nil)
	// 2. two views (push, then SMS) and a purchase; a later in-app view arrives late and wins on recency.
	early(ev("NOTIFICATION_RECEIVED_MOE", "push_solo", "scn-2", 0, nil))
	early(ev("SMS_DELIVERED", "sms_solo", "scn-2", h, map[string]any{"variation_id": "2"}))
	late(ev("MOE_IN_APP_SHOWN", "inapp_solo", "scn-2", 90*time.Minute, map[string]any{"platform": "iOS"}))
	buy("scn-2", 2*h, 0, nil)
	// 3. two clicks at the same instant: smallest campaign_id wins; a third, smaller id arrives late.
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-3", 0, nil))
	early(ev("NOTIFICATION_CLICKED_IOS_MOE", "push_tz", "scn-3", 0, nil))
	late(ev("MOE_CARD_CLICKED", "cards_solo", "scn-3", 0, map[string]any{"platform": "web"}))
	buy("scn-3", h, 2, nil)
	// A Track action named like a campaign code is a user event (§2.7): push_tz's goal "Click Echo" counts it.
	g.emitGoal(map[string]any{"uid": "scn-3"}, "NOTIFICATION_CLICKED_MOE", nil, d+(10*time.Minute).Milliseconds(), 1)
	// 4. an open, a purchase; the click between them arrives late (CLICK_CONVERSIONS and CLICK_THROUGH appear).
	early(ev("MOE_EMAIL_OPEN", "email_late", "scn-4", 0, nil))
	late(ev("MOE_EMAIL_CLICK", "email_late", "scn-4", h, map[string]any{"locale_name": "de"}))
	buy("scn-4", 5*h, 1, nil)
	// 5. a held-out user buys; a click of the same campaign arrives late: a regular credit appears, the
	// control-group credit stays.
	early(ev("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "push_solo", "scn-5", 0, map[string]any{"platform": "android"}))
	late(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-5", 30*time.Minute, nil))
	buy("scn-5", h, 1, nil)
	// 6. a global control-group hold-out by push failure code 203.
	early(map[string]any{"event_uuid": "scn-900", "event_name": "Notification Failed Android", "uid": "scn-6",
		"event_time":       json.Number(strconv.FormatInt(d, 10)),
		"event_attributes": map[string]any{"campaign_id": "push_solo", "reason_code": 203}})
	buy("scn-6", 2*h, 0, nil)
	// 7–10. revenues whose 2-decimal result holds only when each value is read exactly and rounded to micro-units
	// first (§5.10), alone in a locale of their own: 0.0049995 → 0.005000 → 0.01 (not 0.00 when rounded straight to
	// cents); 2.0049995 → 2.005000 → 2.01 and 8.0449995 → 8.05 (not 2.00 / 8.04 when read as float64: the binary
	// value lies just below the half).
	early(ev("NOTIFICATION_CLICKED_MOE", "push_tz", "scn-7", 0, map[string]any{"locale_name": "micro"}))
	buy("scn-7", 10*time.Minute, 1, map[string]any{"amount": "0.0049995"})
	early(ev("MOE_EMAIL_OPEN", "email_solo", "scn-8", 0, map[string]any{"locale_name": "micro"}))
	g.emitGoal(map[string]any{"uid": "scn-8"}, "Order Placed", map[string]any{"value": json.Number("8.0449995")},
		d+h.Milliseconds(), 0)
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-9", 0, map[string]any{"locale_name": "micro"}))
	buy("scn-9", time.Minute, 0, map[string]any{"amount": json.Number("2.0049995")})
	early(ev("NOTIFICATION_CLICKED_MOE", "push_tz", "scn-10", 0, map[string]any{"locale_name": "micro2"}))
	buy("scn-10", time.Minute, 2, map[string]any{"amount": "4.0349995"})
	// 11, 12. one purchase credited to a parent's own unit and its child, and to two children of one parent: the
	// parent's nodes count it once (§12.1), in 11 also across platforms (Android, iOS) in ALL_PLATFORMS (§13.1).
	early(ev("NOTIFICATION_CLICKED_MOE", "push_parent", "scn-11", 0, map[string]any{"locale_name": "en"}))
	early(ev("NOTIFICATION_RECEIVED_IOS_MOE", "push_parent:c1", "scn-11", 5*time.Minute,
		map[string]any{"locale_name": "en", "parent_campaign_id": "push_parent"}))
	buy("scn-11", 20*time.Minute, 0, map[string]any{"amount": json.Number("33.3")})
	early(ev("MOE_EMAIL_OPEN", "email_ph-c1", "scn-12", 0, map[string]any{"parent_campaign_id": "email_ph"}))
	early(ev("MOE_EMAIL_CLICK", "email_ph-c3", "scn-12", h, map[string]any{"parent_campaign_id": "email_ph", "variation_id": "3"}))
	buy("scn-12", 2*h, 1, map[string]any{"amount": "44.4"})
	// 13. leads after an audience sync: the ends_with filter holds (ignoring case), fails, and fails on a missing
	// attribute.
	early(ev("MOE_GOOGLE_ADS_AUDIENCE_SYNC", "gads_solo", "scn-13", 0, nil))
	for i, email := range []any{"LEAD@EXAMPLE.COM", "lead@example.net", nil, "x@example.com"} {
		attrs := map[string]any{"lead_value": json.Number("12.5")}
		if email != nil {
			attrs["email"] = email
		}
		g.emitGoal(map[string]any{"uid": "scn-13"}, "Lead Submitted", attrs, d+int64(i+1)*h.Milliseconds(), i%3)
	}
	// 15. ties at one instant: two clicks of one campaign (dimensions from the smaller event_uuid), and a send and a
	// click (dimensions from the click, the deeper one).
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-15", 0, map[string]any{"locale_name": "tie-small-uuid"}))
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-15", 0, map[string]any{"locale_name": "tie-large-uuid"}))
	buy("scn-15", 5*time.Minute, 0, nil)
	early(ev("NOTIFICATION_CLICKED_MOE", "push_tz", "scn-16", 0, map[string]any{"locale_name": "tie-click"}))
	early(ev("n_i_s", "push_tz", "scn-16", 0, map[string]any{"locale_name": "tie-sent"}))
	buy("scn-16", 5*time.Minute, 1, nil)
	// 17. an event of another channel's code feeds nothing for an SMS campaign and is no interaction (§6.1).
	early(ev("", "sms_solo", "scn-17", 0, nil))
	g.conv.streams[len(g.conv.streams)-1] = mustJSON(map[string]any{"event_uuid": "scn-901", "event_name": "Notification Sent Android",
		"event_time": json.Number(strconv.FormatInt(d, 10)), "uid": "scn-17", "event_attributes": map[string]any{"campaign_id": "sms_solo"}})
	buy("scn-17", h, 1, nil)
	// 18. a click, then a view on another platform and locale, then a purchase within the session: CLICK_THROUGH,
	// IN_SESSION and TOTAL_CONVERSIONS take the click's dimensions, VIEW_THROUGH the view's.
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-18", 0, map[string]any{"locale_name": "sess-click"}))
	early(ev("NOTIFICATION_RECEIVED_IOS_MOE", "push_solo", "scn-18", 5*time.Minute, map[string]any{"locale_name": "sess-view"}))
	buy("scn-18", 10*time.Minute, 1, nil)
	// 19. action names with surrounding whitespace match no goal: goal_event_name must equal the action name
	// exactly (§2.4), through Streams (event_name, event_code) and Track Event (action) alike.
	early(ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-19", 0, map[string]any{"locale_name": "ws-name"}))
	for i, spelling := range []map[string]any{{"event_name": " Purchase"}, {"event_code": "Purchase "}} {
		e := map[string]any{"event_uuid": fmt.Sprintf("scn-ws-%d", i), "uid": "scn-19",
			"event_time": json.Number(strconv.FormatInt(d+int64(i+1)*60000, 10)), "event_attributes": map[string]any{"amount": 10}}
		for k, v := range spelling {
			e[k] = v
		}
		early(e)
	}
	g.conv.tracks = append(g.conv.tracks, &trackItem{Endpoint: "event", TimeMs: d + 180000, Body: mustJSON(map[string]any{
		"type": "event", "customer_id": "scn-19", "actions": []any{map[string]any{"action": "Purchase\t",
			"attributes": map[string]any{"amount": 10}, "current_time": json.Number(strconv.FormatInt(d+180000, 10))}}})})
	// 20. user events with kind-U codes and names of §4.2 are goal events.
	early(ev("NOTIFICATION_CLICKED_MOE", "push_parent", "scn-20", 0, map[string]any{"locale_name": "flow"}))
	for i, spelling := range []map[string]any{{"event_code": "USER_ENTERED_FLOW", "event_name": "User Entered Flow"},
		{"event_name": "SMS Keyword Received"}, {"event_code": "user_entered_flow"}} {
		e := map[string]any{"event_uuid": fmt.Sprintf("scn-u-%d", i), "uid": "scn-20",
			"event_time": json.Number(strconv.FormatInt(d+int64(i+1)*60000, 10))}
		for k, v := range spelling {
			e[k] = v
		}
		early(e)
	}
	// 21. a goal event that itself arrives late (Track Event after the checkpoint), explained by an earlier click.
	early(ev("NOTIFICATION_CLICKED_MOE", "push_tz", "scn-21", 0, map[string]any{"locale_name": "late-goal"}))
	buy("scn-21", h, 1, nil)
	g.conv.tracks[len(g.conv.tracks)-1].Late = true
	// 22, 23. attribute values and names are not trimmed either: " usd " is not "USD" (§3.12.3), and "amount " is
	// not the revenue attribute "amount" (the purchase counts, its revenue is 0).
	early(ev("MOE_EMAIL_OPEN", "email_solo", "scn-22", 0, map[string]any{"locale_name": "ws-attr"}))
	buy("scn-22", h, 0, map[string]any{"amount": json.Number("70"), "currency": " usd "})
	early(ev("NOTIFICATION_CLICKED_MOE", "push_tz", "scn-23", 0, map[string]any{"locale_name": "ws-revenue"}))
	buy("scn-23", h, 1, map[string]any{"amount ": json.Number("50")})
	// 24. a push failure with code 204 is a held-out view of push campaigns only (§4.1, §4.7): not of an SMS one.
	early(map[string]any{"event_uuid": "scn-902", "event_name": "Notification Failed Android", "uid": "scn-24",
		"event_time":       json.Number(strconv.FormatInt(d, 10)),
		"event_attributes": map[string]any{"campaign_id": "sms_solo", "reason_code": 204}})
	buy("scn-24", h, 1, nil)
	// 25. a campaign event whose event_name is a goal's action name is still a campaign event, never a goal event.
	e := ev("NOTIFICATION_CLICKED_MOE", "push_solo", "scn-25", 0, map[string]any{"amount": 999, "locale_name": "named-purchase"})
	e["event_name"] = "Purchase"
	early(e)
	// 26. one purchase credited (VIEW_THROUGH) to a push parent's own Android click and to its email child's open:
	// once in the parent's ALL_PLATFORMS node; the child's credit appears under no device key (campaignstats
	// choice, see refModel.campaignStats).
	early(ev("NOTIFICATION_CLICKED_MOE", "push_mix", "scn-26", 0, map[string]any{"locale_name": "mix"}))
	early(ev("MOE_EMAIL_OPEN", "push_mix:mail", "scn-26", 10*time.Minute,
		map[string]any{"locale_name": "mix", "parent_campaign_id": "push_mix"}))
	buy("scn-26", 30*time.Minute, 2, nil)
	g.flushBulk()
}

// invalidTracks are refused Track / Bulk requests (§3.8, §3.9); each carries a purchase of a scenario user that
// would change the numbers if any part of it were stored (the requests are atomic).
func (g *gen) invalidTracks() {
	d := g.dayStart(scenarioDay).Add(13 * time.Hour)
	buy := map[string]any{"action": "Purchase", "attributes": map[string]any{"amount": 5000},
		"current_time": d.UTC().Format(time.RFC3339)}
	for _, b := range []struct {
		endpoint string
		body     map[string]any
	}{
		{"event", map[string]any{"type": "event", "customer_id": " Guest ", "actions": []any{buy}}},
		{"event", map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy, map[string]any{"action": ""}}}},
		{"event", map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy,
			map[string]any{"action": "Purchase", "current_time": "2099-01-01T00:00:00Z"}}}},
		{"event", map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy,
			map[string]any{"action": "Purchase", "attributes": "amount=5"}}}},
		{"event", map[string]any{"type": "events", "customer_id": "scn-1", "actions": []any{buy}}},
		{"transition", map[string]any{"type": "transition", "elements": []any{
			map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy}}, map[string]any{"type": "order"}}}},
		{"transition", map[string]any{"type": "transition", "elements": []any{
			map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy}},
			map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{}}}}},
	} {
		g.conv.tracks = append(g.conv.tracks, &trackItem{Endpoint: b.endpoint, Body: mustJSON(b.body), TimeMs: d.UnixMilli()})
	}
	// A refused request with an Idempotency-Key, retried with a valid body: the stored 400 is replayed and nothing
	// is ingested (§3.10: the first response that is not 5xx is stored).
	g.conv.tracks = append(g.conv.tracks, &trackItem{Endpoint: "event", Key: "refused-then-valid",
		Body:  mustJSON(map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{map[string]any{"action": ""}}}),
		Retry: mustJSON(map[string]any{"type": "event", "customer_id": "scn-1", "actions": []any{buy}}), TimeMs: d.UnixMilli()})
}

// checkpointQueries compare the workspaces before the late events arrive.
func (c *convGen) checkpointQueries(w *workload) []queryPlan {
	day := addDays(w.FirstDay, scenarioDay)
	var out []queryPlan
	for i, at := range allAttributionTypes {
		metric := "TOTAL"
		if i%2 == 1 {
			metric = "UNIQUE"
		}
		out = append(out, queryPlan{Req: StatsRequest{RequestID: fmt.Sprintf("cp-%d", i), CampaignIDs: scenarioCampaigns,
			StartDate: day, EndDate: day, AttributionType: at, MetricType: metric}})
	}
	return out
}

// conversionQueries are fixed final queries sent to every workspace: the scenario day under every attribution type
// (both metric types for the last-interaction ones), and the whole data of the campaigns with goals under every
// attribution type (the parents and children of different channels under both metric types).
func (c *convGen) conversionQueries(w *workload) []queryPlan {
	day := addDays(w.FirstDay, scenarioDay)
	main := []string{"push_solo", "push_parent", "push_ph", "email_solo", "email_ph", "sms_solo", "wa_solo", "inapp_solo",
		"cards_solo", "push_tz"}
	rest := []string{"onsite_solo", "inapp_to_onsite", "conn_solo", "fb_solo", "gads_solo", "email_late", "put_only",
		"sms_new_parent", "email_ph-c2", "push_parent:c1"}
	mix := []string{"push_mix", "push_mix:mail", "email_mix", "email_mix:app", "push_ph", "push_ph.c1", "email_ph-c1",
		"sms_adopt", "cg_only", "push_parent:c2"}
	var out []queryPlan
	for i, at := range allAttributionTypes {
		metrics := []string{"TOTAL"}
		switch {
		case i >= 3:
			metrics = []string{"TOTAL", "UNIQUE"}
		case i%2 == 1:
			metrics = []string{"UNIQUE"}
		}
		for _, metric := range metrics {
			out = append(out, queryPlan{Req: StatsRequest{RequestID: fmt.Sprintf("cv-%d-%s", i, metric),
				CampaignIDs: scenarioCampaigns, StartDate: day, EndDate: day, AttributionType: at, MetricType: metric}})
		}
		metric := "TOTAL"
		if i%2 == 0 {
			metric = "UNIQUE"
		}
		out = append(out, queryPlan{Req: StatsRequest{RequestID: fmt.Sprintf("cv-main-%d", i), CampaignIDs: main,
			StartDate: w.FirstDay, EndDate: addDays(w.FirstDay, 30), AttributionType: at, MetricType: metric}})
		if i == 0 || i == 3 {
			out = append(out, queryPlan{Req: StatsRequest{RequestID: fmt.Sprintf("cv-rest-%d", i), CampaignIDs: rest,
				StartDate: addDays(w.FirstDay, 4), EndDate: addDays(w.FirstDay, 34), AttributionType: at, MetricType: "TOTAL"}})
		}
		for _, metric := range []string{"TOTAL", "UNIQUE"} {
			out = append(out, queryPlan{Req: StatsRequest{RequestID: fmt.Sprintf("cv-mix-%d-%s", i, metric), CampaignIDs: mix,
				StartDate: addDays(w.FirstDay, 2), EndDate: addDays(w.FirstDay, 32), AttributionType: at, MetricType: metric}})
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------------------------
// Arrival orders

// buildOrders lays out the same events in three arrival orders: chronological, reverse chronological and
// shuffled. Whatever the order, the first accepted copy of every event_uuid is the same one (later copies with
// other content stay behind it), so every workspace ends with the same stored events and must answer every Stats
// request identically. PUTs come first, last or in the middle; funnel posts after them; then the checkpoint, then
// the late events.
func (w *workload) buildOrders(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x0badcafe))
	var scratch refModel
	now := time.Now()
	type item struct {
		key   int64
		raw   json.RawMessage
		uuid  string
		valid bool
		idx   int
		track *trackItem
	}
	parse := func(raws []json.RawMessage, base int) []item {
		out := make([]item, len(raws))
		for i, raw := range raws {
			ev, uuid, msg := scratch.validate(raw, now)
			out[i] = item{raw: raw, uuid: uuid, valid: msg == "", idx: base + i}
			if ev != nil {
				out[i].key = ev.TimeMs
			}
		}
		return out
	}
	pool := parse(w.Pool, 0)
	// A few interactions with a single copy also arrive late.
	copies := map[string]int{}
	for _, it := range pool {
		if it.valid {
			copies[it.uuid]++
		}
	}
	var late []item
	var kept []item
	for _, it := range pool {
		ev, _, _ := scratch.validate(it.raw, now)
		if it.valid && copies[it.uuid] == 1 && ev.Campaign && rowClass(ev.Row) != classNone && rng.IntN(100) < 2 {
			late = append(late, it)
			continue
		}
		kept = append(kept, it)
	}
	var keptRaw []json.RawMessage
	for _, it := range kept {
		keptRaw = append(keptRaw, it.raw)
	}
	w.Pool = keptRaw
	for _, it := range late {
		w.Late = append(w.Late, it.raw)
	}
	late = parse(w.Late, len(w.Pool))
	pool = parse(w.Pool, 0)
	// Invalid events get a time key spread over the data.
	lo, hi := int64(1<<62), int64(0)
	for _, it := range pool {
		if it.valid {
			lo, hi = min(lo, it.key), max(hi, it.key)
		}
	}
	for i := range pool {
		if !pool[i].valid {
			pool[i].key = lo + (hi-lo)*int64(i)/int64(len(pool))
		}
	}
	winner := map[string]int{}
	for _, it := range append(append([]item(nil), pool...), late...) {
		if _, seen := winner[it.uuid]; it.valid && !seen {
			winner[it.uuid] = it.idx
		}
	}
	var early, lateItems []item
	early = append(early, pool...)
	lateItems = append(lateItems, late...)
	for _, tr := range w.Tracks {
		if tr.Late {
			lateItems = append(lateItems, item{key: tr.TimeMs, track: tr, idx: -1})
		} else {
			early = append(early, item{key: tr.TimeMs, track: tr, idx: -1})
		}
	}
	arrange := func(items []item, kind int) []workloadOp {
		items = append([]item(nil), items...)
		switch kind {
		case 0:
			sort.SliceStable(items, func(i, j int) bool { return items[i].key < items[j].key })
		case 1:
			sort.SliceStable(items, func(i, j int) bool { return items[i].key > items[j].key })
		default:
			rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		}
		// The winning copy of each uuid goes first; later valid copies wait for it.
		var ordered []item
		pending := map[string][]item{}
		done := map[string]bool{}
		for _, it := range items {
			if it.track == nil && it.valid {
				win := winner[it.uuid]
				if win != it.idx && !done[it.uuid] {
					pending[it.uuid] = append(pending[it.uuid], it)
					continue
				}
				ordered = append(ordered, it)
				if win == it.idx {
					done[it.uuid] = true
					ordered = append(ordered, pending[it.uuid]...)
					delete(pending, it.uuid)
				}
				continue
			}
			ordered = append(ordered, it)
		}
		if len(pending) > 0 {
			panic("a duplicate whose first copy never arrives")
		}
		var ops []workloadOp
		var batch []json.RawMessage
		var tracks []*trackItem
		target := 150 + rng.IntN(500)
		flush := func() {
			if len(batch) > 0 {
				ops = append(ops, workloadOp{Kind: opIngest, Events: batch})
			}
			for _, tr := range tracks {
				ops = append(ops, workloadOp{Kind: opTrack, Endpoint: tr.Endpoint, Body: tr.Body, Key: tr.Key})
				if tr.Retry != nil {
					ops = append(ops, workloadOp{Kind: opTrack, Endpoint: tr.Endpoint, Body: tr.Retry, Key: tr.Key})
				}
			}
			batch, tracks = nil, nil
			target = 150 + rng.IntN(500)
		}
		for _, it := range ordered {
			if it.track != nil {
				tracks = append(tracks, it.track)
			} else {
				batch = append(batch, it.raw)
			}
			if len(batch) >= target || len(tracks) >= 30 {
				flush()
			}
		}
		flush()
		return ops
	}
	for kind := range w.Orders {
		phase1 := arrange(early, kind)
		var ops []workloadOp
		switch kind {
		case 0:
			ops = append(append(ops, w.Puts...), phase1...)
		case 1:
			ops = append(append(ops, phase1...), w.Puts...)
		default:
			half := len(phase1) / 2
			ops = append(append(append(ops, phase1[:half]...), w.Puts...), phase1[half:]...)
		}
		ops = append(ops, w.Funnel...)
		ops = append(ops, workloadOp{Kind: opCheckpoint})
		lateOps := arrange(lateItems, kind)
		at := []int{0, len(lateOps), len(lateOps) / 2}[kind]
		ops = append(ops, lateOps[:at]...)
		ops = append(ops, latePuts(w.Puts)...)
		ops = append(ops, lateOps[at:]...)
		w.Orders[kind] = ops
	}
}

var orderNames = [3]string{"chronological", "reverse", "shuffled"}

// checkConversionCoverage verifies that the workload exercises what the conversion comparison is meant to test.
func checkConversionCoverage(t *testing.T, w *workload, m *refModel) {
	t.Helper()
	for _, label := range []string{"0", "session", "30m", "30m+1ms", "window", "W", "W+1ms", "W-1ms", "after W", "before"} {
		if w.ConvStats["delta:"+label] < 3 {
			t.Errorf("only %d goal events at delta %s", w.ConvStats["delta:"+label], label)
		}
	}
	for _, k := range []string{"route:0", "route:1", "route:2", "held-out converter", "streams duplicate", "idempotent retry"} {
		if w.ConvStats[k] < 3 {
			t.Errorf("conversion generator: %s = %d", k, w.ConvStats[k])
		}
	}
	cv := m.catalog()
	// Every filter both holds and fails on goal events carrying the goal's action name.
	for id := range convPlans {
		d := cv.goals[id]
		if d == nil {
			t.Errorf("%s has no goals in the reference catalog", id)
			continue
		}
		for _, g := range d.Goals {
			if g.Filter == nil {
				continue
			}
			held, failed := 0, 0
			for _, ge := range m.goalEvents {
				if (&refGoalEvent{Names: ge.Names, Attrs: ge.Attrs}).matches(&refGoal{Event: g.Event}) {
					if g.Filter.holds(ge.Attrs) {
						held++
					} else {
						failed++
					}
				}
			}
			if held < 2 || failed < 2 {
				t.Errorf("%s goal %s: filter holds on %d and fails on %d goal events", id, g.Name, held, failed)
			}
		}
	}
	sources := map[string]int{}
	credited := map[string]bool{}
	for _, at := range allAttributionTypes {
		regular, ccg, gcg := 0, 0, 0
		for _, c := range m.credits(cv, at) {
			sources[c.GE.Source]++
			switch {
			case c.V == ccgVariation:
				ccg++
			case c.V == gcgVariation:
				gcg++
			default:
				regular++
				credited[c.Unit] = true
			}
		}
		if regular < 10 || ccg < 3 || gcg < 1 {
			t.Errorf("%s: %d regular, %d campaign control group, %d global control group credits", at, regular, ccg, gcg)
		}
	}
	for _, src := range []string{"streams", "track", "bulk"} {
		if sources[src] < 10 {
			t.Errorf("only %d credits of %s goal events", sources[src], src)
		}
	}
	for id := range convPlans {
		if id != "put_only" && id != "email_ph" && id != "push_ph" && !credited[id] {
			t.Errorf("%s: no credit under any attribution type", id)
		}
	}
	// Uplift of both signs, gcg_uplift, revenue that needs exact micro-units, cvr with a zero base.
	seen := map[string]int{}
	for _, at := range allAttributionTypes {
		for i := 0; i < len(w.KnownIDs); i += 10 {
			req := StatsRequest{RequestID: "cov", CampaignIDs: w.KnownIDs[i:min(i+10, len(w.KnownIDs))],
				StartDate: w.FirstDay, EndDate: addDays(w.FirstDay, 30), AttributionType: at, MetricType: "UNIQUE"}
			for _, c := range m.Stats(req).Data {
				for _, locs := range c.Platforms {
					for _, vars := range locs {
						for v, n := range vars {
							for _, g := range n.Goals {
								switch {
								case g.Uplift > 0:
									seen["uplift>0"]++
								case g.Uplift < 0:
									seen["uplift<0"]++
								}
								if g.GCGUplift != 0 {
									seen["gcg_uplift"]++
								}
								if g.revenueMicros%10000 != 0 {
									seen["sub-cent revenue"]++
								}
								if g.Total > 0 && g.cvrDen == 0 {
									seen["conversions without base"]++
								}
								if g.Total > g.Unique {
									seen["repeat buyers"]++
								}
								if isCG(v) && g.Total > 0 {
									seen["control group conversions"]++
								}
							}
						}
					}
				}
			}
		}
	}
	for _, k := range []string{"uplift>0", "uplift<0", "gcg_uplift", "sub-cent revenue", "conversions without base",
		"repeat buyers", "control group conversions"} {
		if seen[k] < 3 {
			t.Errorf("coverage: %s seen %d times (%v)", k, seen[k], seen)
		}
	}
}

// checkScenarios verifies that the designed scenarios produce what they are designed for, in the reference.
func checkScenarios(t *testing.T, w *workload, m *refModel) {
	t.Helper()
	day := addDays(w.FirstDay, scenarioDay)
	r := m.Stats(StatsRequest{RequestID: "scn", CampaignIDs: scenarioCampaigns, StartDate: day, EndDate: day,
		AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	goal := func(cid, p, l, v, name string) *expGoal {
		n := r.Data[cid].Platforms[p][l][v]
		if n == nil || n.Goals[name] == nil {
			return &expGoal{}
		}
		return n.Goals[name]
	}
	for _, c := range []struct {
		cid, p, l, name string
		total           int64
		revenue         float64
	}{
		{"push_tz", platAndroid, "micro", "Purchase", 1, 0.01},
		{"push_solo", platAndroid, "micro", "Purchase", 1, 2.01},
		{"email_solo", allPlatforms, "micro", "Order Placed", 1, 8.05},
		{"push_tz", platAndroid, "micro2", "Purchase", 1, 4.04},
		{"push_solo", platAndroid, "tie-small-uuid", "Purchase", 1, 60},
		{"push_solo", platAndroid, "tie-large-uuid", "Purchase", 0, 0},
		{"push_tz", platAndroid, "tie-click", "Purchase", 1, 60},
		{"push_tz", platIOS, "tie-sent", "Purchase", 0, 0},
		{"push_parent", platAndroid, "en", "Purchase", 1, 33.3},
		{"push_solo", platAndroid, "ws-name", "Purchase", 0, 0},
		{"push_parent", platAndroid, "flow", "Flow", 1, 0},
		{"push_tz", platAndroid, "late-goal", "Purchase", 1, 60},
		{"email_solo", allPlatforms, "ws-attr", "Purchase", 0, 0},
		{"push_tz", platAndroid, "ws-revenue", "Purchase", 1, 0},
		{"push_solo", platAndroid, "named-purchase", "Purchase", 0, 0},
		{"push_parent", platAndroid, "flow", "Keyword", 1, 0},
		{"push_parent", platIOS, "en", "Purchase", 1, 33.3},
		{"push_parent", allPlatforms, "en", "Purchase", 1, 33.3},
		{"push_mix", platAndroid, "mix", "Purchase", 1, 60},
		{"push_mix", allPlatforms, "mix", "Purchase", 1, 60},
	} {
		if g := goal(c.cid, c.p, c.l, allVariations, c.name); g.Total != c.total || g.Revenue != c.revenue {
			t.Errorf("scenario %s/%s/%s %s: total %d revenue %v, want %d %v", c.cid, c.p, c.l, c.name, g.Total, g.Revenue,
				c.total, c.revenue)
		}
		// ALL_PLATFORMS holds the platform's credits too (§13.1); the locale "en" also has random data.
		if a := goal(c.cid, allPlatforms, c.l, allVariations, c.name); a.Total < c.total || a.Revenue < c.revenue {
			t.Errorf("scenario %s/ALL_PLATFORMS/%s %s: total %d revenue %v, want at least %d %v", c.cid, c.l, c.name,
				a.Total, a.Revenue, c.total, c.revenue)
		}
	}
	cv := m.catalog()
	for _, at := range allAttributionTypes {
		for _, c := range m.credits(cv, at) {
			if c.GE.UserKey == "uid:scn-17" || c.GE.UserKey == "uid:scn-25" || c.GE.UserKey == "uid:scn-24" {
				t.Errorf("%s: %s credited to %s", at, c.GE.UserKey, c.Unit)
			}
			if c.GE.UserKey == "uid:scn-12" && c.Goal.Name == "Purchase" && at == "VIEW_THROUGH" &&
				c.Unit != "email_ph-c1" && c.Unit != "email_ph-c3" {
				t.Errorf("scn-12 credited to %s", c.Unit)
			}
		}
	}
	// One purchase credited to two children of email_ph counts once in the parent (§12.1).
	if g := goal("email_ph", allPlatforms, allLocale, allVariations, "Purchase"); g.Total < 1 {
		t.Errorf("email_ph on the scenario day: %+v", g)
	}
}
