package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A seeded, randomized workload for the end-to-end test: Streams events over every channel (with duplicates,
// invalid events, user events, odd spellings and time formats, many events within minutes of local midnight),
// catalog PUTs, funnel posts and a plan of Stats queries. Same options → byte-identical workload.

type workloadOptions struct {
	Seed     uint64
	Timezone string
	FirstDay string // first local day of the data, YYYY-MM-DD
	Days     int    // number of data days; a few events also touch the day before and the day after
	Users    int
	Orders   []int // the arrival orders replayed by the end-to-end test, one workspace each (orderNames)
}

type opKind int

const (
	opIngest opKind = iota
	opPut
	opFunnel
	opTrack      // a Track Event or Bulk Import request
	opCheckpoint // every order has delivered the same events so far: compare the workspaces
)

type workloadOp struct {
	Kind     opKind
	Events   []json.RawMessage // opIngest: the exact elements of "events"
	Campaign string            // opPut, opFunnel
	Put      map[string]any    // opPut body
	Funnel   []map[string]any  // opFunnel entries
	Endpoint string            // opTrack: "event" (Track Event) or "transition" (Bulk Import)
	Body     []byte            // opTrack body
	Key      string            // opTrack Idempotency-Key ("" = none)
}

type queryPlan struct {
	Req   StatsRequest
	Paged bool // step offset += limit until current_page >= total_pages
}

type workload struct {
	Timezone string
	FirstDay string
	LastDay  string
	// The same requests in three arrival orders (chronological, reverse chronological, shuffled), each with one
	// opCheckpoint after which only the late ones arrive: interactions that explain earlier goal events, a goal
	// event, and two catalog changes (latePuts).
	Orders [3][]workloadOp
	Pool   []json.RawMessage // Streams events before the checkpoint, in generation order
	Late   []json.RawMessage // Streams events after the checkpoint
	Tracks []*trackItem      // Track Event / Bulk Import requests
	Puts   []workloadOp
	Funnel []workloadOp
	// Checkpoint are the Stats requests compared at the checkpoint; Cover are sent to every workspace at the end.
	Checkpoint []queryPlan
	Cover      []queryPlan
	ConvStats  map[string]int // what the conversion generator produced (coverage)
	Queries    []queryPlan    // always run (rotating over the workspaces)
	Extra      []queryPlan    // more requests, run while the time budget lasts
	KnownIDs   []string       // every campaign id that exists at the end
	UnknownIDs []string
}

type userProf struct {
	kind int
	n    int
}

type campPlan struct {
	ID      string
	Channel string
	Parent  string // parent_campaign_id carried by the events
	Chains  int
	DayLo   int
	DayHi   int
	CG      int  // held-out users
	Night   bool // every event within minutes of local midnight, also on the day before/after the data
}

type gen struct {
	conv   convGen // conversions: goal events, Track / Bulk requests, scenarios
	rng    *rand.Rand
	loc    *time.Location
	opt    workloadOptions
	first  time.Time // local midnight of FirstDay
	uuidN  int
	users  []userProf
	byCamp map[string][]map[string]any
	valid  []map[string]any // valid events (campaign and user events), in generation order
}

func generateWorkload(opt workloadOptions) *workload {
	loc, err := time.LoadLocation(opt.Timezone)
	if err != nil {
		panic(err)
	}
	fd, err := time.Parse("2006-01-02", opt.FirstDay)
	if err != nil {
		panic(err)
	}
	g := &gen{
		rng:    rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		loc:    loc,
		opt:    opt,
		first:  time.Date(fd.Year(), fd.Month(), fd.Day(), 0, 0, 0, 0, loc),
		byCamp: map[string][]map[string]any{},
	}
	for i := 0; i < opt.Users; i++ {
		g.users = append(g.users, userProf{kind: g.pickWeighted([]int{50, 5, 10, 8, 7, 10, 6, 4}), n: i})
	}
	last := opt.Days - 1
	plans := []campPlan{
		{ID: "push_solo", Channel: chPush, Chains: 90, DayLo: 0, DayHi: last, CG: 12},
		{ID: "push_parent", Channel: chPush, Chains: 25, DayLo: 0, DayHi: 20, CG: 4},
		{ID: "push_parent:c1", Channel: chPush, Parent: "push_parent", Chains: 30, DayLo: 2, DayHi: 15, CG: 3},
		{ID: "push_parent:c2", Channel: chPush, Parent: "push_parent", Chains: 30, DayLo: 10, DayHi: 25},
		{ID: "push_ph.c1", Channel: chPush, Parent: "push_ph", Chains: 30, DayLo: 5, DayHi: 30, CG: 3},
		{ID: "push_tz", Channel: chPush, Chains: 25, DayLo: -1, DayHi: opt.Days, Night: true},
		{ID: "email_solo", Channel: chEmail, Chains: 70, DayLo: 1, DayHi: last, CG: 6},
		{ID: "email_ph-c1", Channel: chEmail, Parent: "email_ph", Chains: 30, DayLo: 3, DayHi: 20},
		{ID: "email_ph-c2", Channel: chEmail, Parent: "email_ph", Chains: 30, DayLo: 12, DayHi: 30, CG: 3},
		{ID: "email_ph-c3", Channel: chEmail, Parent: "email_old", Chains: 10, DayLo: 0, DayHi: 8},
		{ID: "email_ph-c3", Channel: chEmail, Parent: "email_ph", Chains: 15, DayLo: 14, DayHi: 30},
		{ID: "sms_solo", Channel: chSMS, Chains: 50, DayLo: 3, DayHi: last, CG: 3},
		{ID: "sms_adopt", Channel: chSMS, Chains: 25, DayLo: 5, DayHi: 25},
		{ID: "wa_solo", Channel: chWhatsApp, Chains: 45, DayLo: 0, DayHi: last, CG: 4},
		{ID: "inapp_solo", Channel: chInApp, Chains: 50, DayLo: 0, DayHi: last, CG: 4},
		{ID: "onsite_solo", Channel: chOnSite, Chains: 45, DayLo: 0, DayHi: last, CG: 3},
		{ID: "inapp_to_onsite", Channel: chInApp, Chains: 30, DayLo: 4, DayHi: 24},
		{ID: "cards_solo", Channel: chCards, Chains: 40, DayLo: 0, DayHi: last, CG: 3},
		{ID: "conn_solo", Channel: chConnectors, Chains: 30, DayLo: 0, DayHi: last},
		{ID: "fb_solo", Channel: chFacebook, Chains: 25, DayLo: 6, DayHi: 18},
		{ID: "gads_solo", Channel: chGoogleAds, Chains: 25, DayLo: 15, DayHi: last},
		{ID: "cg_only", Channel: chUnknown, Chains: 0, DayLo: 0, DayHi: last, CG: 20},
		{ID: "email_late", Channel: chEmail, Chains: 20, DayLo: last - 6, DayHi: last},
		// Parents and children of different channels: the children's data counts only in the parent's
		// ALL_PLATFORMS node (a campaignstats choice where §13.1 is silent, see refModel.campaignStats).
		{ID: "push_mix", Channel: chPush, Chains: 20, DayLo: 0, DayHi: last, CG: 3},
		{ID: "push_mix:mail", Channel: chEmail, Parent: "push_mix", Chains: 25, DayLo: 2, DayHi: last, CG: 3},
		{ID: "email_mix", Channel: chEmail, Chains: 15, DayLo: 0, DayHi: 25, CG: 2},
		{ID: "email_mix:app", Channel: chPush, Parent: "email_mix", Chains: 20, DayLo: 5, DayHi: last, CG: 3},
	}
	for _, p := range plans {
		for i := 0; i < p.Chains*3/2; i++ {
			g.chain(p)
		}
		if p.Night { // pin some events to the nights just outside the data days
			for _, d := range []int{-1, -1, -1, opt.Days, opt.Days, opt.Days} {
				q := p
				q.DayLo, q.DayHi = d, d
				g.chain(q)
			}
		}
		for i := 0; i < p.CG; i++ {
			g.heldOut(p)
		}
	}
	// Stray events of another channel, older than every event of the campaign's own channel: they select the
	// campaign but feed nothing (§4.1, §12.3).
	for i := 0; i < 3; i++ {
		t := g.randTime(0, 1, false)
		u := g.user()
		attrs := g.campAttrs(campPlan{ID: "sms_solo", Channel: chSMS}, chPush)
		g.add("sms_solo", g.event(g.spell("", "Notification Sent Android"), t, u, attrs))
	}
	{
		t := g.randTime(0, 0, false)
		attrs := g.campAttrs(campPlan{ID: "email_solo", Channel: chEmail}, chSMS)
		g.add("email_solo", g.event(g.spell("SMS_SENT", "SMS Sent"), t, g.user(), attrs))
	}
	// A few push events whose time is a bare date (00:00 UTC).
	for i := 0; i < 4; i++ {
		t := g.randTime(0, last, false)
		attrs := g.campAttrs(campPlan{ID: "push_solo", Channel: chPush}, chPush)
		ev := g.event(g.spell("", "Notification Sent Android"), t, g.user(), attrs)
		ev["event_time"] = t.UTC().Format("2006-01-02")
		g.add("push_solo", ev)
	}
	for i := 0; i < 150; i++ {
		g.userEvent()
	}
	g.conversions()

	// Invalid events and duplicates.
	var invalid []json.RawMessage
	for i := 0; i < 90; i++ {
		invalid = append(invalid, g.invalidEvent(i))
	}
	var dups []json.RawMessage
	for i := 0; i < len(g.valid)/20; i++ {
		dups = append(dups, g.duplicate(g.valid[g.rng.IntN(len(g.valid))]))
	}
	// Numeric event_uuid values, and a duplicate that spells one as a string.
	for i := 0; i < 5; i++ {
		ev := g.valid[g.rng.IntN(len(g.valid))]
		ev["event_uuid"] = json.Number(strconv.Itoa(700000000 + i))
	}

	// A rejected event whose corrected copy (same event_uuid) is sent in the last batch: quarantine never
	// reserves an event_uuid (§3.5).
	resendOK := g.chainEvent(campPlan{ID: "push_solo", Channel: chPush})
	resendBad := cloneMap(resendOK)
	resendBad["event_time"] = "not a time"

	main := make([]json.RawMessage, 0, len(g.valid)+len(invalid)+len(dups)+1)
	for _, ev := range g.valid {
		main = append(main, mustJSON(ev))
	}
	main = append(main, invalid...)
	main = append(main, dups...)
	main = append(main, mustJSON(resendBad))
	main = append(main, g.conv.streams...)
	g.rng.Shuffle(len(main), func(i, j int) { main[i], main[j] = main[j], main[i] })

	w := &workload{Timezone: opt.Timezone, FirstDay: opt.FirstDay, LastDay: addDays(opt.FirstDay, last)}

	// Catalog writes (§3.12).
	puts := []struct {
		id   string
		body map[string]any
	}{
		{"push_parent:c2", map[string]any{"parent_campaign_id": "push_ph", "campaign_name": "Re-parented child"}},
		{"sms_adopt", map[string]any{"parent_campaign_id": "sms_new_parent", "channel": "sms"}},
		{"inapp_to_onsite", map[string]any{"channel": "on-site"}},
		{"put_only", map[string]any{"campaign_name": "Catalog only", "channel": "Mobile Push",
			"campaign_start_time": "2025-06-01T00:00:00Z"}},
		{"email_late", map[string]any{"campaign_start_time": 1735689600}},
		{"push_solo", map[string]any{"campaign_name": "Solo push", "campaign_tags": []any{"a", "b"}}},
		{"inapp_to_onsite", map[string]any{"channel": "ON_SITE", "campaign_name": "Moved to on-site"}},
		{"wa_solo", map[string]any{"campaign_start_time": "2025-03-01T12:00:00+05:30"}},
		{"fb_solo", map[string]any{"channel": "Facebook Audience"}},
	}
	for _, p := range puts {
		w.Puts = append(w.Puts, workloadOp{Kind: opPut, Campaign: p.id, Put: p.body})
	}
	w.Puts = withConversionGoals(w.Puts)

	// Funnel posts (§3.13); the second post to push_solo overwrites part of the first.
	// Campaigns of channels without device platforms (§4.4 rule 1, §13.1) get one fixed platform spelling each, so
	// that the set-not-add key never depends on whether the ignored platform takes part in it.
	funnelCamps := []struct {
		id       string
		stages   []string
		n        int
		platform any // nil: random; "": absent; else fixed
	}{
		{"push_solo", []string{"reachable_users_in_segment", "after_fc", "after_dnd"}, 14, nil},
		{"push_parent", []string{"reachable_users_in_segment", "after_fc"}, 5, nil},
		{"push_parent:c1", []string{"reachable_users_in_segment", "after_fc"}, 6, nil},
		{"email_solo", []string{"user_with_email", "after_fc"}, 8, "android"},
		{"put_only", []string{"reachable_users_in_segment", "after_fc"}, 6, nil},
		{"cards_solo", []string{"eligible_users"}, 4, nil},
		{"fb_solo", []string{"audience_size"}, 3, "iOS"},
		{"sms_adopt", []string{"users_with_mobile"}, 3, ""},
		{"push_mix:mail", []string{"user_with_email"}, 3, "web"},
		{"email_mix:app", []string{"reachable_users_in_segment", "after_fc"}, 4, nil},
	}
	var pushSoloFirst []map[string]any
	for _, fc := range funnelCamps {
		entries := make([]map[string]any, 0, fc.n)
		keys := map[string]bool{}
		for len(entries) < fc.n {
			e := g.funnelEntry(fc.stages)
			switch p := fc.platform.(type) {
			case string:
				delete(e, "platform")
				if p != "" {
					e["platform"] = p
				}
			}
			k := fmt.Sprint(e["date"], "|", normPlatform(e["platform"]), "|", localeKey(e["locale"]), "|",
				variationKey(e["variation"], true))
			if keys[k] {
				continue
			}
			keys[k] = true
			entries = append(entries, e)
		}
		if fc.id == "push_solo" {
			pushSoloFirst = entries
		}
		w.Funnel = append(w.Funnel, workloadOp{Kind: opFunnel, Campaign: fc.id, Funnel: entries})
	}
	{
		var again []map[string]any
		for i, e := range pushSoloFirst {
			if i%2 == 1 {
				continue
			}
			c := cloneMap(e)
			if p, ok := c["platform"].(string); ok && strings.EqualFold(p, "ios") {
				c["platform"] = "iPhone" // same normalised platform → same key
			}
			c["stages"] = map[string]any{"after_fc": g.rng.IntN(3000)}
			again = append(again, c)
		}
		extra := g.funnelEntry([]string{"after_fc", "reachable_users_in_segment"})
		extra["locale"] = "zz" // a key of its own
		again = append(again, extra)
		w.Funnel = append(w.Funnel, workloadOp{Kind: opFunnel, Campaign: "push_solo", Funnel: again})
		w.Funnel = append(w.Funnel, workloadOp{Kind: opFunnel, Campaign: "no_such_campaign",
			Funnel: []map[string]any{{"date": opt.FirstDay, "stages": map[string]any{"after_fc": 1}}}})
	}

	// Last batch: the corrected resend, duplicates of earlier events, an invalid event reusing an accepted
	// uuid, a string spelling of a numeric uuid, and a few new events.
	var lastBatch []json.RawMessage
	lastBatch = append(lastBatch, mustJSON(resendOK))
	for i := 0; i < 40; i++ {
		lastBatch = append(lastBatch, g.duplicate(g.valid[g.rng.IntN(len(g.valid))]))
	}
	{
		bad := cloneMap(g.valid[0])
		bad["event_time"] = json.Number("946684799")
		lastBatch = append(lastBatch, mustJSON(bad))
		s := cloneMap(g.valid[1])
		s["event_uuid"] = "700000003"
		lastBatch = append(lastBatch, mustJSON(s))
	}
	for i := 0; i < 6; i++ {
		lastBatch = append(lastBatch, mustJSON(g.chainEvent(campPlan{ID: "sms_adopt", Channel: chSMS})))
		lastBatch = append(lastBatch, mustJSON(g.chainEvent(campPlan{ID: "inapp_to_onsite", Channel: chInApp})))
	}
	g.rng.Shuffle(len(lastBatch), func(i, j int) { lastBatch[i], lastBatch[j] = lastBatch[j], lastBatch[i] })
	w.Pool = append(main, lastBatch...)
	w.Late = g.conv.late
	w.Tracks = g.conv.tracks
	w.ConvStats = g.conv.stats
	w.buildOrders(opt.Seed)

	w.KnownIDs = []string{
		"push_solo", "push_parent", "push_parent:c1", "push_parent:c2", "push_ph", "push_ph.c1", "push_tz",
		"email_solo", "email_ph", "email_ph-c1", "email_ph-c2", "email_ph-c3", "email_old", "sms_solo", "sms_adopt",
		"sms_new_parent", "wa_solo", "inapp_solo", "onsite_solo", "inapp_to_onsite", "cards_solo", "conn_solo",
		"fb_solo", "gads_solo", "cg_only", "email_late", "put_only", "push_mix", "push_mix:mail", "email_mix",
		"email_mix:app",
	}
	w.UnknownIDs = []string{"no_such_campaign", "PUSH_SOLO", "ghost_1", "user_event_only"}
	w.Queries = g.queries(w, 0, true)
	w.Cover = g.conv.conversionQueries(w)
	w.Extra = g.queries(w, 150, false)
	w.Checkpoint = g.conv.checkpointQueries(w)
	return w
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = cloneMap(sub)
		} else {
			out[k] = v
		}
	}
	return out
}

func (g *gen) pickWeighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := g.rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *gen, xs ...T) T { return xs[g.rng.IntN(len(xs))] }

func (g *gen) user() userProf { return g.users[g.rng.IntN(len(g.users))] }

func (g *gen) nextUUID() string {
	g.uuidN++
	if g.uuidN%7 == 0 {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12),
			g.rng.IntN(1<<12), g.rng.Uint64()&(1<<48-1))
	}
	return fmt.Sprintf("ev-%s-%06d", strings.ReplaceAll(g.opt.Timezone, "/", "_"), g.uuidN)
}

// dayStart returns local midnight of data day d (d may be -1 or Days).
func (g *gen) dayStart(d int) time.Time {
	return time.Date(g.first.Year(), g.first.Month(), g.first.Day()+d, 0, 0, 0, 0, g.loc)
}

// randTime picks an instant on a local day in [lo, hi]; about a third (all when night) within ±10 minutes of a
// local midnight.
func (g *gen) randTime(lo, hi int, night bool) time.Time {
	d := lo + g.rng.IntN(hi-lo+1)
	start := g.dayStart(d)
	if night || g.chance(0.33) {
		off := time.Duration(g.rng.Int64N(int64(10*time.Minute))) + time.Duration(g.rng.IntN(1000))*time.Millisecond
		if g.chance(0.1) {
			off = time.Duration(g.rng.IntN(3)) * time.Millisecond // at (or right after) midnight
		}
		if g.chance(0.5) && !(night && d == g.opt.Days) || (night && d == -1) {
			// just before the midnight that ends day d
			return g.dayStart(d + 1).Add(-off - time.Millisecond)
		}
		return start.Add(off)
	}
	length := g.dayStart(d + 1).Sub(start)
	return start.Add(time.Duration(g.rng.Int64N(int64(length))).Truncate(time.Millisecond))
}

var kolkata = time.FixedZone("IST", 5*3600+1800)

// encodeTime writes an instant in one of the §3.7 formats (some lose the milliseconds).
func (g *gen) encodeTime(t time.Time) any {
	ms := t.UnixMilli()
	sec := ms / 1000
	switch g.pickWeighted([]int{24, 24, 8, 8, 3, 2, 14, 8, 4, 3, 2}) {
	case 0:
		return json.Number(strconv.FormatInt(sec, 10))
	case 1:
		return json.Number(strconv.FormatInt(ms, 10))
	case 2:
		return strconv.FormatInt(sec, 10)
	case 3:
		return strconv.FormatInt(ms, 10)
	case 4:
		return json.Number(fmt.Sprintf("%d.%03d", sec, ms%1000))
	case 5:
		return fmt.Sprintf("%d.%03d", sec, ms%1000)
	case 6:
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	case 7:
		return t.In(g.loc).Format("2006-01-02T15:04:05.000-07:00")
	case 8:
		return t.In(kolkata).Format("2006-01-02T15:04:05.000-07:00")
	case 9:
		return t.UTC().Format("2006-01-02T15:04:05")
	default:
		return t.UTC().Format("2006-01-02 15:04:05")
	}
}

// spelled is a chosen (event_code, event_name) pair.
type spelled struct{ code, name string }

// spell picks a spelling: the code (sometimes lower-cased or with whitespace), with or without a name, or the
// name alone with odd case and spacing, or an unknown code with a recognised name.
func (g *gen) spell(code, name string) spelled {
	oddName := func(n string) string {
		switch g.rng.IntN(5) {
		case 0:
			return strings.ToLower(n)
		case 1:
			return "  " + strings.ReplaceAll(n, " ", "   ") + " "
		case 2:
			return strings.ToUpper(n)
		}
		return n
	}
	if code == "" {
		return spelled{name: oddName(name)}
	}
	switch g.pickWeighted([]int{60, 15, 8, 5, 7, 5}) {
	case 0:
		return spelled{code: code}
	case 1:
		if name != "" {
			return spelled{code: code, name: name}
		}
		return spelled{code: code}
	case 2:
		return spelled{code: strings.ToLower(code)}
	case 3:
		if len(code) > 4 {
			return spelled{code: " " + code[:3] + " " + code[3:] + "\t"}
		}
		return spelled{code: code}
	case 4:
		if name != "" {
			return spelled{name: oddName(name)}
		}
		return spelled{code: code}
	default:
		if name != "" {
			return spelled{code: "CUSTOM_UNKNOWN_CODE", name: name}
		}
		return spelled{code: code, name: "Some Other Name"}
	}
}

// identify writes the user identity fields of u (§2.8) into ev.
func (g *gen) identify(ev map[string]any, u userProf) {
	n := u.n
	switch u.kind {
	case 0:
		ev["uid"] = fmt.Sprintf("u-%03d", n)
		if g.chance(0.3) {
			ev["email_id"] = fmt.Sprintf("user%d@example.com", n)
		}
		if g.chance(0.2) {
			ev["user_attributes"] = map[string]any{"moengage_user_id": fmt.Sprintf("moe-other-%d", n)}
		}
	case 1:
		ev["uid"] = json.Number(strconv.Itoa(500000 + n))
	case 2:
		ev["user_attributes"] = map[string]any{"moengage_user_id": fmt.Sprintf("64a0c1d2e3f4a5b6c7d8%04d", n), "first_name": "Ann"}
	case 3:
		setSub(ev, "device_attributes", "moengage_device_id", fmt.Sprintf("dev-%d", n))
	case 4:
		ev["push_id"] = fmt.Sprintf("fcm-token-%d", n)
	case 5:
		ev["email_id"] = pick(g, fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("User%d@Example.COM", n),
			fmt.Sprintf(" USER%d@example.com ", n))
	case 6:
		digits := fmt.Sprintf("91987650%04d", n)
		ev["mobile_number"] = pick[any](g, json.Number(digits), digits, " "+digits)
	case 7:
		ev["uid"] = "   "
		ev["push_id"] = fmt.Sprintf("apns-%d", n)
	}
}

func setSub(ev map[string]any, obj, key string, v any) {
	m, _ := ev[obj].(map[string]any)
	if m == nil {
		m = map[string]any{}
		ev[obj] = m
	}
	m[key] = v
}

// event builds one event.
func (g *gen) event(sp spelled, t time.Time, u userProf, attrs map[string]any) map[string]any {
	ev := map[string]any{"event_uuid": g.nextUUID(), "event_time": g.encodeTime(t)}
	if sp.code != "" {
		ev["event_code"] = sp.code
	}
	if sp.name != "" {
		ev["event_name"] = sp.name
	}
	if g.chance(0.5) {
		ev["event_type"] = "CAMPAIGN_EVENT"
		ev["event_source"] = "MOENGAGE"
	}
	if attrs != nil {
		ev["event_attributes"] = attrs
	}
	g.identify(ev, u)
	return ev
}

func (g *gen) add(campaign string, ev map[string]any) {
	g.byCamp[campaign] = append(g.byCamp[campaign], ev)
	g.valid = append(g.valid, ev)
}

// channelSpellings are inputs that normalise to each channel (§2.10).
var channelSpellings = map[string][]string{
	chPush:       {"Push", "PUSH", "mobile push", "Web-Push"},
	chEmail:      {"EMAIL", "Email", "e-mail"},
	chSMS:        {"SMS", "sms", "rcs", "SMS RCS"},
	chWhatsApp:   {"WhatsApp", "WHATSAPP"},
	chInApp:      {"In-App", "INAPP", "mobile in app"},
	chOnSite:     {"On-Site", "OSM", "web personalization", "onsite"},
	chCards:      {"Cards", "card"},
	chConnectors: {"Connectors", "webhook", "custom connector"},
	chFacebook:   {"Facebook", "facebook audience"},
	chGoogleAds:  {"Google Ads", "GOOGLE_ADS_AUDIENCE"},
}

// campAttrs returns event_attributes for a campaign event. codeChannel is the channel of the code about to be
// used; the campaign_channel attribute only matters (and is then always consistent) for shared and control-group
// codes.
func (g *gen) campAttrs(p campPlan, codeChannel string) map[string]any {
	a := map[string]any{"campaign_id": p.ID}
	if g.chance(0.6) {
		a["campaign_name"] = "Campaign " + p.ID
	}
	if p.Parent != "" {
		a["parent_campaign_id"] = p.Parent
	}
	switch {
	case p.Channel == chOnSite:
		a["campaign_channel"] = pick(g, channelSpellings[chOnSite]...)
	case p.Channel == chUnknown:
	case g.chance(0.5):
		a["campaign_channel"] = pick(g, channelSpellings[p.Channel]...)
	case codeChannel != chInApp && g.chance(0.2):
		a["campaign_channel"] = "Push" // wrong but harmless: single-channel codes decide the channel
	}
	switch g.rng.IntN(4) {
	case 0:
		a["moe_delivery_type"] = "One Time"
	case 1:
		a["campaign_type"] = "Periodic"
	case 2:
		a["moe_delivery_type"] = "GENERAL"
	}
	if g.chance(0.3) {
		a["moe_campaign_tags"] = "sale, spring,,"
	}
	return a
}

// dims sets locale and variation attributes (§2.6) in many spellings.
func (g *gen) dims(a map[string]any) {
	switch g.pickWeighted([]int{25, 20, 15, 8, 8, 6, 6, 4, 3}) {
	case 1:
		a["locale_name"] = "en"
	case 2:
		a["locale_name"] = "fr"
	case 3:
		a["locale_name"] = " de "
	case 4:
		a["locale_id"] = json.Number("5")
	case 5:
		a["locale_id"] = "7"
	case 6:
		a["locale_name"] = "en"
		a["locale_id"] = json.Number("9")
	case 7:
		a["locale_id"] = json.Number("12")
	case 8:
		// The aggregate key, in the spelling of §2.6 and of §13.1 (the choice does not draw from the random stream).
		a["locale_name"] = []string{legacyAllLocales, allLocale}[g.uuidN%2]
	}
	switch g.pickWeighted([]int{20, 20, 15, 15, 8, 6, 6, 4, 3, 3}) {
	case 1:
		a["variation_id"] = "1"
	case 2:
		a["variation_id"] = "02"
	case 3:
		a["variation_id"] = "B"
	case 4:
		a["variation_id"] = json.Number("2")
	case 5:
		a["variation_id"] = " 1 "
	case 6:
		a["variation_id"] = "variation_1"
	case 7:
		a["variation_id"] = "007"
	case 8:
		a["variation_id"] = "all_variations"
	case 9:
		a["variation_id"] = "campaign_control_group"
	}
}

// platformAttrs adds platform hints (§4.4); some are not known platforms and must be skipped.
func (g *gen) platformAttrs(ev, a map[string]any, p float64) {
	if !g.chance(p) {
		return
	}
	vals := []string{"ANDROID", "android", "iOS", "iPhone", "ipad", "mweb", "Desktop Web", "desktop", "windows", "tv",
		"unknown", " Android ", "Mobile Web"}
	switch g.rng.IntN(5) {
	case 0:
		a["platform"] = pick(g, vals...)
	case 1:
		a["os"] = pick(g, vals...)
	case 2:
		setSub(ev, "device_attributes", "platform", pick(g, vals...))
	case 3:
		setSub(ev, "device_attributes", "os", pick(g, vals...))
	default:
		a["platform"] = "tv"
		setSub(ev, "device_attributes", "os", pick(g, "iOS", "Android", "web"))
	}
}

// failureAttrs adds reason attributes (§4.6) to a failure event's attributes.
func (g *gen) failureAttrs(a map[string]any) {
	codes := []int{101, 102, 201, 202, 205, 206, 207, 208, 301, 302, 501}
	codeName := pick(g, "reason_code", "code", "Failure Code", "failure-code", "ReasonCode")
	reasonName := pick(g, "reason", "failure_reason", "Reasons", "Failure Reason")
	texts := []string{
		"HARD_BOUNCE_DROPPED_REASON", "SMTP error: 550 mailbox unavailable", "Users removed due to Frequency Capping",
		"Échec de livraison — numéro invalide", "  --Quota exceeded!!  ", "Carrier rejected: number blocked",
		strings.Repeat("ab ", 40) + "tail", strings.Repeat("x", 99) + " y", "???",
	}
	switch g.pickWeighted([]int{40, 10, 15, 10, 15, 10}) {
	case 0:
		a[codeName] = json.Number(strconv.Itoa(pick(g, codes...)))
	case 1:
		a[codeName] = strconv.Itoa(pick(g, codes...))
	case 2:
		a[codeName] = json.Number(strconv.Itoa(pick(g, codes...)))
		a[reasonName] = pick(g, texts...)
	case 3:
		a[codeName] = json.Number("999")
		a[reasonName] = pick(g, texts...)
	case 4:
		a[reasonName] = pick(g, texts...)
	}
}

// chain generates the events of one message to one user and adds them.
func (g *gen) chain(p campPlan) {
	evs := g.chainEvents(p)
	for _, ev := range evs {
		g.add(p.ID, ev)
	}
	g.conv.chains = append(g.conv.chains, genChain{camp: p, events: evs})
}

// chainEvent returns a single valid event of the campaign (not added to the workload).
func (g *gen) chainEvent(p campPlan) map[string]any {
	evs := g.chainEvents(p)
	return evs[0]
}

type step struct {
	sp      spelled
	after   time.Duration
	failure bool
	plat    float64 // probability of platform attributes
}

// hasOtherIdentity reports whether ev still has a user identity without its uid.
func hasOtherIdentity(ev map[string]any) bool {
	c := cloneMap(ev)
	delete(c, "uid")
	b, _ := decodeJSON(mustJSON(c))
	_, ok := userKeyOf(b.(map[string]any))
	return ok
}

func (g *gen) chainEvents(p campPlan) []map[string]any {
	u := g.user()
	t0 := g.randTime(p.DayLo, p.DayHi, p.Night)
	var steps []step
	mins := func(lo, hi int) time.Duration {
		return time.Duration(lo)*time.Minute + time.Duration(g.rng.Int64N(int64(time.Duration(hi-lo+1)*time.Minute)))
	}
	ch := p.Channel
	add := func(code, name string, after time.Duration, plat float64) {
		steps = append(steps, step{sp: g.spell(code, name), after: after, plat: plat})
	}
	fail := func(name string) {
		steps = append(steps, step{sp: g.spell("", name), failure: true, plat: 0.6})
	}
	switch ch {
	case chPush:
		switch g.pickWeighted([]int{45, 30, 15, 10}) {
		case 0:
			if g.chance(0.12) {
				fail(pick(g, "Notification Failed Android", "Notification Dropped"))
				break
			}
			add("", "Notification Sent Android", 0, 0)
			if g.chance(0.85) {
				add(pick(g, "NOTIFICATION_RECEIVED_MOE", "MOE_NOTIFICATION_SHOWN"), "", mins(0, 20), 0.3)
			}
			if g.chance(0.3) {
				add("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", mins(1, 90), 0.2)
			}
			if g.chance(0.1) {
				add("NOTIFICATION_CLEARED_MOE", "Notification Swiped Android", mins(1, 90), 0)
			}
		case 1:
			if g.chance(0.12) {
				fail(pick(g, "Notification Failed iOS", "Notification Dropped"))
				break
			}
			add("n_i_s", "Notification Sent iOS", 0, 0)
			if g.chance(0.8) {
				add(pick(g, "NOTIFICATION_RECEIVED_IOS_MOE", "NOTIFICATION_RECEIVED_IOS_APP_ACTIVE"),
					"Notification Received iOS", mins(0, 30), 0.2)
			}
			if g.chance(0.3) {
				add("NOTIFICATION_CLICKED_IOS_MOE", "Notification Clicked iOS", mins(1, 120), 0)
			}
			if g.chance(0.08) {
				add("NOTIFICATION_DISMISSED_IOS_MOE", "", mins(1, 120), 0)
			}
		case 2:
			if g.chance(0.1) {
				fail("Notification Failed Web")
				break
			}
			add("", "Notification Sent Web", 0, 0)
			if g.chance(0.7) {
				add("NOTIFICATION_RECEIVED_WEB_MOE", "Notification Received Web", mins(0, 10), 0)
			}
			if g.chance(0.2) {
				add("NOTIFICATION_CLICKED_WEB_MOE", "Notification Clicked Web", mins(1, 60), 0)
			}
		default:
			add("", "Notification Sent Windows", 0, 0)
			if g.chance(0.3) {
				add("NOTIFICATION_CLICKED_WINDOWS_MOE", "Notification Clicked Windows", mins(1, 60), 0)
			}
		}
	case chEmail:
		if g.chance(0.08) {
			switch g.rng.IntN(3) {
			case 0:
				fail("Email Dropped")
				steps[len(steps)-1].sp = g.spell("MOE_EMAIL_DROP", "Email Dropped")
			case 1:
				fail("ESP Dropped Request")
			default:
				fail("Email Unsubscribe Drop")
				steps[len(steps)-1].sp = g.spell("MOE_EMAIL_DROPPED_UNSUBSCRIBE", "Email Unsubscribe Drop")
			}
			break
		}
		add("MOE_EMAIL_SENT", "Email Sent", 0, 0)
		if g.chance(0.05) {
			add("MOE_EMAIL_DEFERRED", "Email Deferred", mins(0, 5), 0)
		}
		if g.chance(0.88) {
			add("MOE_EMAIL_DELIVERED", "Email Delivered", mins(0, 10), 0)
			if g.chance(0.45) {
				add("MOE_EMAIL_OPEN", "Email Opened", mins(5, 600), 0)
				if g.chance(0.2) {
					add("MOE_EMAIL_OPEN", "Email Opened", mins(5, 900), 0)
				}
				if g.chance(0.3) {
					add("MOE_EMAIL_CLICK", "Email Clicked", mins(10, 900), 0)
					if g.chance(0.2) {
						add("MOE_EMAIL_CLICK", "Email Clicked", mins(10, 900), 0)
					}
				}
				if g.chance(0.05) {
					add("MOE_EMAIL_UNSUBSCRIBE", "Email Unsubscribed", mins(10, 900), 0)
				}
				if g.chance(0.03) {
					add("MOE_EMAIL_SPAM", pick(g, "Email Spam Complained", "Email Complained"), mins(10, 900), 0)
				}
				if g.chance(0.04) {
					add("MOE_EMAIL_VIB", "Email Viewed in Browser", mins(10, 900), 0)
				}
			}
		} else if g.chance(0.6) {
			add("MOE_EMAIL_HARD_BOUNCE", pick(g, "Email Bounced", "Email Hard Bounced"), mins(0, 10), 0)
		} else {
			add("MOE_EMAIL_SOFT_BOUNCE", "Email Soft Bounced", mins(0, 10), 0)
		}
	case chSMS:
		add("SMS_SENT", "SMS Sent", 0, 0)
		if g.chance(0.85) {
			add("SMS_DELIVERED", "SMS Delivered", mins(0, 5), 0)
			if g.chance(0.12) {
				add("MOE_SMS_CLICKED", "SMS Clicked", mins(1, 300), 0)
			}
		} else {
			fail("SMS Delivery Failed")
			steps[len(steps)-1].sp = g.spell("MOE_SMS_DELIVERY_FAILED", "SMS Delivery Failed")
			steps[len(steps)-1].after = mins(0, 5)
		}
	case chWhatsApp:
		add("MOE_WHATSAPP_SENT", "WhatsApp Message Sent", 0, 0)
		if g.chance(0.85) {
			add("MOE_WHATSAPP_DELIVERED", "WhatsApp Message Delivered", mins(0, 5), 0)
			if g.chance(0.6) {
				add("MOE_WHATSAPP_READ", "WhatsApp Message Read", mins(1, 300), 0)
			}
			if g.chance(0.15) {
				add("MOE_WHATSAPP_CLICKED", "WhatsApp Message Clicked", mins(1, 300), 0)
			}
		} else {
			fail("WhatsApp Message Delivery Failed")
			steps[len(steps)-1].sp = g.spell("MOE_WHATSAPP_DELIVERY_FAILED", "WhatsApp Message Delivery Failed")
			steps[len(steps)-1].after = mins(0, 5)
		}
	case chInApp:
		switch g.pickWeighted([]int{60, 25, 15}) {
		case 0:
			add("MOE_IN_APP_SHOWN", pick(g, "Mobile In-App Shown", "In-App Shown Android"), 0, 0.4)
			if g.chance(0.3) {
				add("MOE_IN_APP_CLICKED", "In-App Clicked Android", mins(0, 5), 0.4)
			}
			if g.chance(0.3) {
				add("MOE_IN_APP_DISMISSED", "Mobile In-App Closed", mins(0, 5), 0.4)
			}
			if g.chance(0.1) {
				add("MOE_IN_APP_AUTO_DISMISS", "Mobile In-App Auto Dismissed", mins(0, 5), 0.4)
			}
		case 1:
			add("iOS_IN_APP_SHOWN", "In-App Shown iOS", 0, 0)
			if g.chance(0.3) {
				add("iOS_IN_APP_CLICKED", "In-App Clicked iOS", mins(0, 5), 0)
			}
			if g.chance(0.3) {
				add("iOS_IN_APP_CLOSE_CLICKED", "In-App Closed iOS", mins(0, 5), 0)
			}
		default:
			add("WINDOWS_IN_APP_SHOWN", "In-App Shown Windows", 0, 0)
			if g.chance(0.3) {
				add("WINDOWS_IN_APP_CLICKED", "In-App Clicked Windows", mins(0, 5), 0)
			}
			if g.chance(0.3) {
				add("WINDOWS_IN_APP_CLOSE_CLICKED", "In-App Closed Windows", mins(0, 5), 0)
			}
		}
	case chOnSite:
		switch g.pickWeighted([]int{40, 30, 30}) {
		case 0:
			add("MOE_ONSITE_MESSAGE_SHOWN", "On-site Message Shown", 0, 0.4)
			if g.chance(0.25) {
				add("MOE_ONSITE_MESSAGE_CLICKED", "On-site Message Clicked", mins(0, 5), 0.4)
			}
			if g.chance(0.25) {
				add("MOE_ONSITE_MESSAGE_DISMISSED", "On-site Message Closed", mins(0, 5), 0.4)
			}
			if g.chance(0.1) {
				add("", "On-site Message auto Dismissed", mins(0, 5), 0.4)
			}
		case 1:
			add("MOE_WEBP_MESSAGE_SHOWN", "Web Personalization Message Shown", 0, 0.4)
			if g.chance(0.1) {
				add("MOE_WEBP_MESSAGE_DELIVERED", "Web Personalization Message Delivered", 0, 0.4)
			}
			if g.chance(0.25) {
				add("MOE_WEBP_MESSAGE_CLICKED", "Web Personalization Message Clicked", mins(0, 5), 0.4)
			}
			if g.chance(0.25) {
				add("MOE_WEBP_MESSAGE_DISMISSED", "Web Personalization Message Closed", mins(0, 5), 0.4)
			}
		default:
			add("MOE_IN_APP_SHOWN", "Onsite Message Template shown", 0, 0.4)
			if g.chance(0.3) {
				add("MOE_IN_APP_CLICKED", "Mobile In-App Clicked", mins(0, 5), 0.4)
			}
			if g.chance(0.3) {
				add("MOE_IN_APP_DISMISSED", "In-App Closed Android", mins(0, 5), 0.4)
			}
		}
	case chCards:
		add("MOE_CARD_SENT", "Card Sent", 0, 0.7)
		if g.chance(0.8) {
			add("MOE_CARD_DELIVERED", "Card Delivered", mins(0, 30), 0.7)
			if g.chance(0.7) {
				add(pick(g, "MOE_CARD_VIEWED", "MOE_CARD_IMPRESSION"), "", mins(0, 600), 0.7)
				if g.chance(0.3) {
					add("MOE_CARD_CLICKED", "Card Clicked", mins(0, 600), 0.7)
				}
			}
		}
	case chConnectors:
		add(pick(g, "MOE_CONNECTOR_SENT", "WEBHOOK_SENT"), "", 0, 0.3)
		if g.chance(0.3) {
			steps[0].sp = g.spell("MOE_CONNECTOR_SENT", "Connector Sent")
		}
	case chFacebook:
		add("MOE_FB_AUDIENCE_SYNC", "Facebook Audience Synced", 0, 0.3)
	case chGoogleAds:
		add("MOE_GOOGLE_ADS_AUDIENCE_SYNC", "Google Ads Audience Synced", 0, 0.3)
	}
	attrs := g.campAttrs(p, ch)
	g.dims(attrs)
	var out []map[string]any
	t := t0
	for _, s := range steps {
		t = t.Add(s.after)
		a := cloneMap(attrs)
		if s.failure {
			g.failureAttrs(a)
		}
		ev := g.event(s.sp, t, u, a)
		g.platformAttrs(ev, a, s.plat)
		if g.chance(0.1) && hasOtherIdentity(ev) { // another user key for the same person now and then
			delete(ev, "uid")
		}
		out = append(out, ev)
	}
	if len(out) == 0 {
		panic("empty chain for " + p.ID)
	}
	return out
}

// heldOut adds the held-out events (§4.7) of one user of the campaign.
func (g *gen) heldOut(p campPlan) {
	u := g.user()
	n := 1
	if g.chance(0.2) {
		n = 2
	}
	global := g.chance(0.35)
	for i := 0; i < n; i++ {
		t := g.randTime(p.DayLo, p.DayHi, p.Night)
		a := g.campAttrs(p, chPush)
		delete(a, "campaign_channel")
		if p.Channel != chUnknown && g.chance(0.4) {
			a["campaign_channel"] = pick(g, channelSpellings[p.Channel]...)
		}
		g.dims(a)
		var sp spelled
		kind := g.pickWeighted([]int{60, 25, 15})
		if p.Channel != chPush && kind == 2 {
			kind = 0
		}
		switch kind {
		case 0:
			sp = g.spell("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "User removed from campaign due to control group")
		case 1:
			sp = g.spell("MOE_CAMPAIGN_CONTROL_GROUP", "User Added to Control Group")
		default:
			sp = g.spell("", pick(g, "Notification Failed Android", "Notification Dropped"))
			code := 204
			if global {
				code = 203
			}
			a[pick(g, "reason_code", "code")] = pick[any](g, json.Number(strconv.Itoa(code)), strconv.Itoa(code))
		}
		if kind != 2 {
			if global {
				k, v := pick(g, "control_group_type", "Control Group Type", "cg_type", "CG-Type"), pick(g, "global", "GLOBAL", "Global")
				a[k] = v
			} else if g.chance(0.4) {
				a["control_group_type"] = pick(g, "campaign", "CAMPAIGN", "random")
			}
		}
		ev := g.event(sp, t, u, a)
		g.platformAttrs(ev, a, 0.6)
		g.add(p.ID, ev)
		g.conv.chains = append(g.conv.chains, genChain{camp: p, events: []map[string]any{ev}, held: true})
	}
}

// userEvent adds one accepted user event (kind U or unknown code): it feeds nothing and registers nothing.
func (g *gen) userEvent() {
	t := g.randTime(-1, g.opt.Days, false)
	var sp spelled
	a := map[string]any{}
	switch g.rng.IntN(9) {
	case 0:
		sp = spelled{code: "MOE_APP_OPENED"}
	case 1:
		sp = spelled{name: "Purchase"}
		a["amount"] = json.Number("49.9")
	case 2:
		sp = spelled{code: "INSTALL"}
	case 3:
		sp = spelled{code: "USER_ENTERED_FLOW", name: "User Entered Flow"}
		a["campaign_id"] = "push_solo"
	case 4:
		sp = spelled{name: pick(g, "SMS Keyword Received", "Offering Sent")}
		a["campaign_id"] = "bad id!" // not validated for user events
	case 5:
		sp = spelled{code: "MOE_CAMPAIGN_CONTROL_GROUP"} // no campaign_id → user event
		a["control_group_type"] = "global"
	case 6:
		sp = spelled{code: "MOE_USER_REMOVED_FROM_CONTROL_GROUP"}
		a["campaign_id"] = "user_event_only"
	case 7:
		sp = spelled{code: "MOE_PAGE_VIEWED", name: "Page Viewed"}
		a["campaign_id"] = "ghost_1"
		a["parent_campaign_id"] = "ghost_parent"
	default:
		sp = spelled{code: "Custom Event 42"}
	}
	if len(a) == 0 && g.chance(0.5) {
		a = nil
	}
	ev := g.event(sp, t, g.user(), a)
	ev["event_type"] = "USER_ACTION"
	g.valid = append(g.valid, ev)
}

// duplicate returns a copy of ev carrying the same event_uuid: identical, another event's content, or shifted.
func (g *gen) duplicate(ev map[string]any) json.RawMessage {
	switch g.rng.IntN(3) {
	case 0:
		return mustJSON(ev)
	case 1:
		attrs, _ := ev["event_attributes"].(map[string]any)
		cid, _ := attrs["campaign_id"].(string)
		others := g.byCamp[cid]
		if len(others) > 0 {
			c := cloneMap(others[g.rng.IntN(len(others))])
			c["event_uuid"] = ev["event_uuid"]
			return mustJSON(c)
		}
		fallthrough
	default:
		c := cloneMap(ev)
		if ms, ok := parseTimeValue(c["event_time"]); ok {
			shift := time.Duration(g.rng.Int64N(int64(6*time.Hour))) - 3*time.Hour
			c["event_time"] = g.encodeTime(time.UnixMilli(ms).Add(shift))
		}
		c["uid"] = "someone-else"
		return mustJSON(c)
	}
}

// invalidEvent returns an event that must be rejected (§3.3), cycling through the rules.
func (g *gen) invalidEvent(i int) json.RawMessage {
	base := g.chainEvent(campPlan{ID: "push_solo", Channel: chPush, DayLo: 0, DayHi: g.opt.Days - 1})
	attrs := base["event_attributes"].(map[string]any)
	switch i % 30 {
	case 0:
		return mustJSON(pick[any](g, 7, "event", []any{1, 2}, nil, true))
	case 1:
		delete(base, "event_uuid")
	case 2:
		base["event_uuid"] = ""
	case 3:
		base["event_uuid"] = true
	case 4:
		base["event_uuid"] = strings.Repeat("u", 129)
	case 5:
		delete(base, "event_code")
		delete(base, "event_name")
	case 6:
		base["event_code"] = ""
		base["event_name"] = ""
	case 7:
		delete(base, "event_time")
	case 8:
		base["event_time"] = pick[any](g, "yesterday", "2025-02-30T10:00:00Z", "12:00", "", "2025/03/01")
	case 9:
		base["event_time"] = pick[any](g, json.Number("0"), json.Number("-5"), true)
	case 10:
		base["event_time"] = pick[any](g, json.Number("946684799"), "1999-12-31T23:59:59Z", json.Number("5"), "946684799999")
	case 11:
		base["event_time"] = pick[any](g, json.Number("4102444800"), "2099-01-01T00:00:00Z")
	case 12:
		base["event_attributes"] = "campaign_id=push_solo"
	case 13:
		base["user_attributes"] = []any{"x"}
	case 14:
		base["device_attributes"] = json.Number("5")
	case 15:
		delete(attrs, "campaign_id")
	case 16:
		delete(base, "event_attributes")
	case 17:
		attrs["campaign_id"] = ""
	case 18:
		attrs["campaign_id"] = pick(g, "bad id!", "slash/id", strings.Repeat("c", 129))
	case 19:
		attrs["parent_campaign_id"] = pick(g, "bad/parent", "has space")
	case 20, 21:
		for _, k := range []string{"uid", "push_id", "email_id", "mobile_number", "user_attributes"} {
			delete(base, k)
		}
		delete(base, "device_attributes")
		if i%30 == 21 {
			base["uid"] = "   "
			base["email_id"] = ""
		}
	case 22: // rule 6 before rule 8
		delete(base, "event_code")
		delete(base, "event_name")
		base["event_time"] = "nonsense"
	case 23: // rule 11 before rule 12
		base["event_attributes"] = []any{}
	case 24: // rule 13 before rule 15
		attrs["campaign_id"] = "bad id!"
		delete(base, "uid")
		delete(base, "push_id")
		delete(base, "email_id")
		delete(base, "mobile_number")
		delete(base, "user_attributes")
		delete(base, "device_attributes")
	case 25: // a campaign event recognised by name only, without campaign_id
		base["event_code"] = "NOT_A_CODE"
		base["event_name"] = "email   SENT"
		delete(attrs, "campaign_id")
	case 26: // rule 9 before rule 12
		base["event_time"] = "1999-01-01"
		delete(attrs, "campaign_id")
	case 27: // rule 5 before everything else
		base["event_uuid"] = strings.Repeat("é", 129)
		delete(base, "event_time")
	case 28:
		base["event_time"] = "2025-03-01T25:00:00Z"
	default: // a control-group event with an invalid campaign id
		base["event_code"] = "MOE_CAMPAIGN_CONTROL_GROUP"
		delete(base, "event_name")
		attrs["campaign_id"] = "no good"
	}
	return mustJSON(base)
}

// funnelEntry returns one valid funnel entry (§3.13) on a data day.
func (g *gen) funnelEntry(stages []string) map[string]any {
	e := map[string]any{"date": addDays(g.opt.FirstDay, g.rng.IntN(g.opt.Days))}
	switch g.rng.IntN(5) {
	case 0:
		e["platform"] = "android"
	case 1:
		e["platform"] = pick(g, "iOS", "ios")
	case 2:
		e["platform"] = "mweb"
	case 3:
		e["platform"] = "ANDROID"
	}
	switch g.rng.IntN(5) {
	case 0:
		e["locale"] = "en"
	case 1:
		e["locale"] = "fr"
	case 2:
		e["locale"] = json.Number("5")
	}
	switch g.rng.IntN(7) {
	case 0:
		e["variation"] = "1"
	case 1:
		e["variation"] = "variation_2"
	case 2:
		e["variation"] = "B"
	case 3:
		e["variation"] = "campaign_control_group"
	case 4:
		e["variation"] = "global_control_group"
	}
	st := map[string]any{}
	for _, s := range stages {
		if g.chance(0.8) || len(st) == 0 {
			st[s] = g.rng.IntN(5000)
		}
	}
	e["stages"] = st
	return e
}

// queries plans the Stats calls: at most ~90 per workspace (the default rate limit is 100 per minute).
func (g *gen) queries(w *workload, random int, fixed bool) []queryPlan {
	var out []queryPlan
	n := 0
	prefix := "q"
	if !fixed {
		prefix = "x"
	}
	reqID := func() string {
		n++
		return fmt.Sprintf("%s-%s-%03d", prefix, strings.ReplaceAll(w.Timezone, "/", "-"), n)
	}
	metric := func() string { return pick(g, "TOTAL", "UNIQUE", "TOTAL", "UNIQUE", "unique", "Total") }
	attribution := func() string {
		return pick(g, "VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS", "view_through")
	}
	day := func(i int) string { return addDays(w.FirstDay, i) }
	ptr := func(i int) *int { return &i }
	randRange := func() (string, string) {
		span := 0
		switch g.rng.IntN(6) {
		case 0:
			span = 0
		case 1:
			span = 1
		case 2:
			span = 30
		default:
			span = g.rng.IntN(31)
		}
		start := -3 + g.rng.IntN(g.opt.Days+4)
		return day(start), day(start + span)
	}
	ids := func() []string {
		k := 1 + g.rng.IntN(10)
		var list []string
		seen := map[string]bool{}
		for len(seen) < k {
			var id string
			if g.chance(0.12) {
				id = pick(g, w.UnknownIDs...)
			} else {
				id = pick(g, w.KnownIDs...)
			}
			seen[id] = true
			list = append(list, id)
			if g.chance(0.1) {
				list = append(list, id) // duplicates collapse, first occurrence kept
			}
		}
		return list
	}
	all := append([]string(nil), w.KnownIDs...)

	// Fixed queries: whole data set, DST day, the nights just outside the data, a future range.
	if fixed {
		for i, start := 0, 0; i < len(all); i, start = i+10, start+4 { // every known id, at most 10 per request
			out = append(out, queryPlan{Req: StatsRequest{CampaignIDs: all[i:min(i+10, len(all))], StartDate: day(start - 1),
				EndDate: day(start + 29)}})
		}
		out = append(out,
			queryPlan{Req: StatsRequest{CampaignIDs: []string{"push_tz", "push_solo", "email_solo"}, StartDate: day(-1), EndDate: day(-1)}},
			queryPlan{Req: StatsRequest{CampaignIDs: []string{"push_tz", "wa_solo"}, StartDate: day(g.opt.Days), EndDate: day(g.opt.Days)}},
			queryPlan{Req: StatsRequest{StartDate: day(-1), EndDate: day(-1)}, Paged: true},
			queryPlan{Req: StatsRequest{StartDate: day(g.opt.Days), EndDate: day(g.opt.Days + 1)}, Paged: true},
			queryPlan{Req: StatsRequest{CampaignIDs: []string{"push_solo", "push_tz"}, StartDate: "2025-03-09", EndDate: "2025-03-09"}},
			queryPlan{Req: StatsRequest{StartDate: "2030-01-01", EndDate: "2030-01-31"}, Paged: true},
		)
	}
	for _, lim := range []int{4, 7, 10, 5} {
		s, e := randRange()
		if lim == 4 {
			s, e = day(0), day(30)
		}
		out = append(out, queryPlan{Req: StatsRequest{StartDate: s, EndDate: e, Limit: ptr(lim)}, Paged: true})
	}
	{
		s, e := randRange()
		out = append(out, queryPlan{Req: StatsRequest{StartDate: s, EndDate: e}, Paged: true}) // default limit
	}
	for i := 0; i < random; i++ {
		s, e := randRange()
		q := queryPlan{Req: StatsRequest{CampaignIDs: ids(), StartDate: s, EndDate: e}}
		if g.chance(0.2) {
			q.Req.Limit = ptr(1 + g.rng.IntN(4))
			q.Req.Offset = ptr(g.rng.IntN(6))
		}
		out = append(out, q)
	}
	for i := range out {
		out[i].Req.RequestID = reqID()
		out[i].Req.MetricType = metric()
		out[i].Req.AttributionType = attribution()
	}
	return out
}

// workloadConfigs are the workloads the end-to-end test runs, one per time zone: New York in all three arrival
// orders (three workspaces that must answer identically), Kolkata in reverse chronological order only (the
// race-enabled run stays under ~40 s).
var workloadConfigs = []workloadOptions{
	{Seed: 20250220, Timezone: "America/New_York", FirstDay: "2025-02-20", Days: 35, Users: 200, Orders: []int{0, 1, 2}},
	{Seed: 7, Timezone: "Asia/Kolkata", FirstDay: "2025-02-20", Days: 35, Users: 200, Orders: []int{1}},
}

func (w *workload) fingerprint() string {
	var b strings.Builder
	for _, ops := range w.Orders {
		for _, op := range ops {
			fmt.Fprintf(&b, "%d %s %s %s %s %s %s\n", op.Kind, op.Campaign, mustJSON(op.Put), mustJSON(op.Funnel),
				op.Endpoint, op.Body, op.Key)
			for _, e := range op.Events {
				b.Write(e)
				b.WriteByte('\n')
			}
		}
	}
	b.Write(mustJSON(w.Queries))
	b.Write(mustJSON(w.Extra))
	b.Write(mustJSON(w.Checkpoint))
	b.Write(mustJSON(w.Cover))
	return b.String()
}

// checkInvariants verifies relations that must hold between the TOTAL and UNIQUE answers to one request.
func checkInvariants(t *testing.T, m *refModel, req StatsRequest) {
	t.Helper()
	req.MetricType = "TOTAL"
	tot := m.Stats(req)
	req.MetricType = "UNIQUE"
	uni := m.Stats(req)
	cv := m.catalog()
	if strings.Join(tot.Order, ",") != strings.Join(uni.Order, ",") {
		t.Fatalf("order depends on metric type: %v vs %v", tot.Order, uni.Order)
	}
	for _, id := range tot.Order {
		ch := cv.channel[id]
		tc, uc := tot.Data[id], uni.Data[id]
		checkAllPlatforms(t, cv, id, tc, false)
		checkAllPlatforms(t, cv, id, uc, true)
		for p, locs := range tc.Platforms {
			if locs[allLocale] == nil || locs[allLocale][allVariations] == nil {
				t.Errorf("%s/%s: no all_locale/all_variations", id, p)
				continue
			}
			for l, vars := range locs {
				if vars[allVariations] == nil {
					t.Errorf("%s/%s/%s: no all_variations", id, p, l)
				}
				for v, n := range vars {
					u := uc.Platforms[p][l][v]
					where := fmt.Sprintf("%s/%s/%s/%s", id, p, l, v)
					if u == nil {
						t.Errorf("%s: missing under UNIQUE", where)
						continue
					}
					if n.HasPerf == isCG(v) {
						t.Errorf("%s: performance_stats presence %v", where, n.HasPerf)
					}
					for k, tv := range n.Perf {
						if !strings.HasSuffix(k, "_rate") && k != "ctr" && k != "ctor" && u.Perf[k] > tv {
							t.Errorf("%s: UNIQUE %s %v > TOTAL %v", where, k, u.Perf[k], tv)
						}
					}
					if len(n.Goals) != len(u.Goals) || len(n.Goals) != len(cv.goalNames(id)) {
						t.Errorf("%s: goal names %d / %d / %v", where, len(n.Goals), len(u.Goals), cv.goalNames(id))
					}
					for name, tg := range n.Goals {
						ug := u.Goals[name]
						if ug == nil || tg.Total != ug.Total || tg.Unique != ug.Unique || tg.Revenue != ug.Revenue ||
							tg.Conversions != tg.Total || ug.Conversions != ug.Unique || tg.Unique > tg.Total ||
							(isCG(v) && (tg.Uplift != 0 || tg.GCGUplift != 0 || tg.CVR != ug.CVR)) {
							t.Errorf("%s: goal %s TOTAL %+v UNIQUE %+v", where, name, tg, ug)
						}
						if agg := vars[allVariations]; !isCG(v) && agg != nil && agg.Goals[name].Total < tg.Total {
							t.Errorf("%s: all_variations %s total below %d", where, name, tg.Total)
						}
						if agg := locs[allLocale][v]; agg != nil && agg.Goals[name].Total < tg.Total {
							t.Errorf("%s: all_locale %s total below %d", where, name, tg.Total)
						}
					}
					var fsum int64
					for k, tv := range n.Failures {
						fsum += tv
						if u.Failures[k] > tv || u.Failures[k] == 0 {
							t.Errorf("%s: failure %s UNIQUE %d vs TOTAL %d", where, k, u.Failures[k], tv)
						}
					}
					if _, has := n.Perf["failed"]; has && float64(fsum) != n.Perf["failed"] {
						t.Errorf("%s: failure_breakdown sums to %d, failed = %v", where, fsum, n.Perf["failed"])
					}
					switch ch {
					case chPush, chEmail:
						if n.Perf["attempted"] != n.Perf["sent"]+n.Perf["failed"] {
							t.Errorf("%s: attempted %v != sent+failed", where, n.Perf["attempted"])
						}
					case chSMS, chWhatsApp:
						if n.Perf["attempted"] != n.Perf["sent"] || u.Perf["attempted"] != u.Perf["sent"] {
							t.Errorf("%s: attempted != sent", where)
						}
					}
					if ch == chEmail && n.Perf["bounced"] != n.Perf["hard_bounce"]+n.Perf["soft_bounce"] {
						t.Errorf("%s: bounced", where)
					}
					if agg := vars[allVariations]; !isCG(v) && agg != nil {
						for k, tv := range n.Perf {
							if !strings.Contains(k, "rate") && k != "ctr" && k != "ctor" && agg.Perf[k] < tv {
								t.Errorf("%s: all_variations %s %v < %v", where, k, agg.Perf[k], tv)
							}
						}
					}
					if agg := locs[allLocale][v]; agg == nil {
						t.Errorf("%s: no all_locale node for variation %s", where, v)
					} else {
						for k, tv := range n.Funnel {
							if agg.Funnel[k] < tv {
								t.Errorf("%s: all_locale funnel %s %d < %d", where, k, agg.Funnel[k], tv)
							}
						}
					}
				}
			}
		}
		if len(tc.Platforms) != len(uc.Platforms) {
			t.Errorf("%s: platform sets differ between TOTAL and UNIQUE", id)
		}
	}
}

// devicePlatformKeys are the platform keys of §13.1 besides ALL_PLATFORMS.
var devicePlatformKeys = map[string]bool{platAndroid: true, platIOS: true, platWeb: true, platWindows: true, platUnknown: true}

// allDeviceMembers reports whether the campaign and every unit it aggregates have device channels, so that its
// ALL_PLATFORMS node holds nothing but the data of its device-platform nodes.
func allDeviceMembers(cv *catalogView, id string) bool {
	for _, c := range cv.members(id) {
		if nonDeviceChannel(cv.channel[c]) {
			return false
		}
	}
	return true
}

// checkAllPlatforms verifies the §13.1 shape of one campaign in the reference: an ALL_PLATFORMS node set holding
// every (locale, variation) of every platform, no other key than the device platforms, none for a non-device
// channel, and ALL_PLATFORMS numbers bounded by the platforms' (TOTAL counters and funnel entries add up, UNIQUE
// counters lie between the largest platform and the sum, a goal event counts once).
func checkAllPlatforms(t *testing.T, cv *catalogView, id string, c expCampaign, unique bool) {
	t.Helper()
	ap := c.Platforms[allPlatforms]
	if ap == nil || ap[allLocale] == nil || ap[allLocale][allVariations] == nil {
		t.Errorf("%s: no ALL_PLATFORMS/all_locale/all_variations node", id)
		return
	}
	if nonDeviceChannel(cv.channel[id]) && len(c.Platforms) != 1 {
		t.Errorf("%s (%s): platform keys besides ALL_PLATFORMS", id, cv.channel[id])
	}
	for p, locs := range c.Platforms {
		if p != allPlatforms && !devicePlatformKeys[p] {
			t.Errorf("%s: platform key %q", id, p)
		}
		for l, vars := range locs {
			for v := range vars {
				if ap[l][v] == nil {
					t.Errorf("%s/%s/%s/%s has no ALL_PLATFORMS node", id, p, l, v)
				}
			}
		}
	}
	exact := allDeviceMembers(cv, id)
	type agg struct{ sum, max float64 }
	for l, vars := range ap {
		for v, a := range vars {
			where := fmt.Sprintf("%s/ALL_PLATFORMS/%s/%s unique=%v", id, l, v, unique)
			perf, funnel, goals := map[string]*agg{}, map[string]*agg{}, map[string]*agg{}
			acc := func(m map[string]*agg, k string, x float64) {
				if m[k] == nil {
					m[k] = &agg{}
				}
				m[k].sum += x
				m[k].max = max(m[k].max, x)
			}
			for p, locs := range c.Platforms {
				if p == allPlatforms {
					continue
				}
				n := locs[l][v]
				if n == nil {
					continue
				}
				for k, x := range n.Perf {
					acc(perf, k, x)
				}
				for k, x := range n.Funnel {
					acc(funnel, k, float64(x))
				}
				for k, g := range n.Goals {
					acc(goals, k, float64(g.Total))
				}
			}
			for k, x := range a.Perf {
				b := perf[k]
				if b == nil || strings.Contains(k, "rate") || k == "ctr" || k == "ctor" {
					continue
				}
				switch {
				case x < b.max, exact && x > b.sum, exact && !unique && x != b.sum:
					t.Errorf("%s: %s = %v, platforms sum %v max %v", where, k, x, b.sum, b.max)
				}
			}
			for k, x := range a.Funnel {
				if b := funnel[k]; b != nil && (float64(x) < b.max || exact && !unique && float64(x) != b.sum && !isDerivedStage(k)) {
					t.Errorf("%s: funnel %s = %d, platforms sum %v max %v", where, k, x, b.sum, b.max)
				}
			}
			for k, g := range a.Goals {
				if b := goals[k]; b != nil && (float64(g.Total) < b.max || exact && float64(g.Total) > b.sum) {
					t.Errorf("%s: goal %s total = %d, platforms sum %v max %v", where, k, g.Total, b.sum, b.max)
				}
			}
		}
	}
}

// countAcrossPlatforms counts, in a UNIQUE response of the reference, the ALL_PLATFORMS nodes that are not the
// sum of their platforms: users reached on two platforms counted once, a goal event credited under two platforms
// counted once, data of a member without device platforms.
func countAcrossPlatforms(cv *catalogView, r expectedResponse, seen map[string]int) {
	reach := func(n *expNode) float64 { return n.Perf["sent"] + n.Perf["impression"] + n.Perf["successfully_synced"] }
	goals := func(n *expNode) (sum int64) {
		for _, g := range n.Goals {
			sum += g.Total
		}
		return sum
	}
	for id, c := range r.Data {
		for l, vars := range c.Platforms[allPlatforms] {
			for v, a := range vars {
				var devReach float64
				var devGoals int64
				for p, locs := range c.Platforms {
					if n := locs[l][v]; p != allPlatforms && n != nil {
						devReach += reach(n)
						devGoals += goals(n)
					}
				}
				switch {
				case !nonDeviceChannel(cv.channel[id]) && !allDeviceMembers(cv, id) && reach(a) > devReach:
					seen["non-device member data"]++
				case reach(a) < devReach:
					seen["distinct users across platforms"]++
				}
				if goals(a) < devGoals {
					seen["goal event once across platforms"]++
				}
			}
		}
	}
}

// isDerivedStage reports the funnel stages derived from counters (§5.13); under UNIQUE they are distinct users.
func isDerivedStage(k string) bool { return k == "sent" || k == "delivered" || k == "impressions" }

// TestWorkloadAgainstReference runs the generated workloads through the reference alone: determinism, the
// planned query budget, coverage of the features the end-to-end test is meant to exercise, and invariants.
func TestWorkloadAgainstReference(t *testing.T) {
	for _, opt := range workloadConfigs {
		t.Run(strings.ReplaceAll(opt.Timezone, "/", "_"), func(t *testing.T) {
			t.Parallel()
			w := generateWorkload(opt)
			if w.fingerprint() != generateWorkload(opt).fingerprint() {
				t.Fatal("the workload is not deterministic")
			}
			// The arrival orders the end-to-end test replays, each through its own model, in lockstep: they must
			// agree at the checkpoint and at the end (the reference is order-independent and every order stores the
			// same events). Counts and coverage come from the first.
			models := make([]*refModel, len(opt.Orders))
			for k := range models {
				m, err := newRefModel(opt.Timezone)
				if err != nil {
					t.Fatal(err)
				}
				models[k] = m
			}
			var acc, dup, rej, sent int
			messages := map[string]int{}
			trackStatus := map[string]int{}
			puts400 := 0
			phase := make([]int, len(models))
			runPhase := func(k int) {
				m := models[k]
				ops := w.Orders[opt.Orders[k]]
				for ; phase[k] < len(ops); phase[k]++ {
					op := ops[phase[k]]
					switch op.Kind {
					case opCheckpoint:
						phase[k]++
						return
					case opIngest:
						sum := m.Ingest(op.Events, time.Now())
						if k == 0 {
							acc, dup, rej, sent = acc+sum.Accepted, dup+sum.Duplicates, rej+sum.Rejected, sent+len(op.Events)
							for _, e := range sum.Errors() {
								messages[e.Message]++
							}
						}
					case opPut:
						switch st := m.PutCampaign(op.Campaign, op.Put); st {
						case 200, 201:
						case 400:
							if k == 0 {
								puts400++
							}
						default:
							t.Errorf("PUT %s → %d", op.Campaign, st)
						}
					case opFunnel:
						st, _ := m.PostFunnel(op.Campaign, op.Funnel)
						if (st == 404) != (op.Campaign == "no_such_campaign") {
							t.Errorf("funnel %s → %d", op.Campaign, st)
						}
					case opTrack:
						st, _, replay := m.TrackRequest(op.Endpoint, op.Key, op.Body, time.Now())
						if k == 0 {
							trackStatus[fmt.Sprintf("%s %d replay=%v", op.Endpoint, st, replay)]++
						}
					}
				}
			}
			sameAcrossOrders := func(when string, plans []queryPlan) {
				for _, q := range plans {
					want := models[0].Stats(q.Req).tree()
					for k := 1; k < len(models); k++ {
						if d := diffTrees(want, models[k].Stats(q.Req).tree(), 5); len(d) > 0 {
							t.Errorf("%s: the %s order's reference differs from the %s one for %s:\n  %s", when,
								orderNames[opt.Orders[k]], orderNames[opt.Orders[0]], describeReq(q.Req), strings.Join(d, "\n  "))
						}
					}
				}
			}
			for k := range models {
				runPhase(k)
			}
			sameAcrossOrders("checkpoint", w.Checkpoint)
			before := map[string]map[string]int64{}
			for _, at := range allAttributionTypes {
				before[at] = goalTotals(models[0], scenarioCampaigns, at, "TOTAL", addDays(w.FirstDay, scenarioDay),
					addDays(w.FirstDay, scenarioDay), "Purchase")
			}
			for k := range models {
				runPhase(k)
			}
			sameAcrossOrders("end", append(append([]queryPlan(nil), w.Checkpoint...), w.Cover...))
			m := models[0]
			t.Logf("Track / Bulk requests: %v; conversion generator: %v", trackStatus, w.ConvStats)
			if puts400 != 4 {
				t.Errorf("%d PUTs refused, want 4", puts400)
			}
			if trackStatus["event 400 replay=false"] != 6 || trackStatus["transition 400 replay=false"] != 2 ||
				trackStatus["event 0 replay=true"] < 5 || trackStatus["event 200 replay=false"] < 20 ||
				trackStatus["transition 200 replay=false"] < 8 {
				t.Errorf("Track / Bulk outcomes: %v", trackStatus)
			}
			// Late interactions restate the scenario day: winners move (§6.2, §6.5).
			for _, at := range allAttributionTypes {
				after := goalTotals(m, scenarioCampaigns, at, "TOTAL", addDays(w.FirstDay, scenarioDay),
					addDays(w.FirstDay, scenarioDay), "Purchase")
				if sameCounts(before[at], after) {
					t.Errorf("%s: the late interactions changed nothing on the scenario day: %v", at, after)
				}
			}
			checkConversionCoverage(t, w, m)
			checkScenarios(t, w, m)
			t.Logf("%d events sent: %d accepted, %d duplicates, %d rejected (%d distinct messages)", sent, acc, dup, rej, len(messages))
			if sent > 6000 || acc < 2800 || dup < 100 || rej < 80 || len(messages) < 14 {
				t.Errorf("workload shape: sent %d accepted %d duplicates %d rejected %d messages %v", sent, acc, dup, rej, messages)
			}
			for _, id := range w.KnownIDs {
				if !m.exists[id] {
					t.Errorf("known id %s does not exist", id)
				}
			}
			for _, id := range w.UnknownIDs {
				if m.exists[id] {
					t.Errorf("unknown id %s exists", id)
				}
			}

			// Coverage over the whole data set.
			platforms, failureKeys, channels, stages := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
			cgNodes := map[string]bool{}
			acrossPlatforms := map[string]int{} // what makes ALL_PLATFORMS more than a sum (§13.1)
			cv := m.catalog()
			for i := 0; i < len(w.KnownIDs); i += 10 {
				ids := w.KnownIDs[i:min(i+10, len(w.KnownIDs))]
				req := StatsRequest{RequestID: "cov", CampaignIDs: ids, StartDate: addDays(w.FirstDay, -1),
					EndDate: addDays(w.FirstDay, 29), MetricType: "TOTAL"}
				for _, half := range []int{0, 1} {
					req.StartDate = addDays(w.FirstDay, -1+half*10)
					req.EndDate = addDays(req.StartDate, 30)
					checkInvariants(t, m, req)
					uq := req
					uq.MetricType = "UNIQUE"
					countAcrossPlatforms(cv, m.Stats(uq), acrossPlatforms)
					r := m.Stats(req)
					for id, c := range r.Data {
						if !isZeroCampaign(c) {
							channels[cv.channel[id]] = true
						} else {
							acrossPlatforms["zero node"]++
						}
						for p, locs := range c.Platforms {
							platforms[p] = true
							for _, vars := range locs {
								for v, n := range vars {
									if isCG(v) {
										cgNodes[v] = true
									}
									for k := range n.Failures {
										failureKeys[k] = true
									}
									for k := range n.Funnel {
										stages[k] = true
									}
								}
							}
						}
					}
				}
			}
			for _, want := range []string{allPlatforms, platAndroid, platIOS, platWeb, platWindows, platUnknown} {
				if !platforms[want] {
					t.Errorf("no data under platform %s", want)
				}
			}
			for p := range platforms {
				if p != allPlatforms && !devicePlatformKeys[p] {
					t.Errorf("platform key %q", p)
				}
			}
			t.Logf("ALL_PLATFORMS coverage: %v", acrossPlatforms)
			for _, k := range []string{"distinct users across platforms", "goal event once across platforms",
				"non-device member data", "zero node"} {
				if acrossPlatforms[k] < 2 {
					t.Errorf("coverage: %s seen %d times", k, acrossPlatforms[k])
				}
			}
			for _, want := range []string{chPush, chEmail, chSMS, chWhatsApp, chInApp, chOnSite, chCards, chConnectors,
				chFacebook, chGoogleAds, chUnknown} {
				if !channels[want] {
					t.Errorf("no campaign with data on channel %s", want)
				}
			}
			for _, want := range []string{ccgVariation, gcgVariation} {
				if !cgNodes[want] {
					t.Errorf("no %s node", want)
				}
			}
			textKeys := 0
			for k := range failureKeys {
				if !strings.HasPrefix(k, "users_removed") && !strings.HasPrefix(k, "user_removed") && k != "unknown" &&
					k != "personalization_failure_errors" && k != "timer_and_timer_with_progress_bar_template_errors" &&
					k != "rejected_by_sending_service" {
					textKeys++
				}
			}
			for _, want := range []string{ccgKey, gcgKey, "users_removed_due_to_frequency_capping", "unknown",
				"rejected_by_sending_service"} {
				if !failureKeys[want] {
					t.Errorf("no failure key %s", want)
				}
			}
			if textKeys < 4 {
				t.Errorf("only %d failure keys from reason texts: %v", textKeys, failureKeys)
			}
			for _, want := range []string{"reachable_users_in_segment", "user_with_email", "audience_size", "impressions", "delivered"} {
				if !stages[want] {
					t.Errorf("no funnel stage %s", want)
				}
			}
			if cv.parent["push_parent:c2"] != "push_parent" || cv.parent["email_ph-c3"] != "email_ph" ||
				cv.parent["sms_adopt"] != "sms_new_parent" || cv.channel["inapp_to_onsite"] != chOnSite ||
				cv.channel["sms_solo"] != chSMS || cv.channel["sms_new_parent"] != chSMS || cv.channel["cg_only"] != chUnknown {
				t.Errorf("catalog: parents %v channels %v", cv.parent, cv.channel)
			}

			// The midnight-only days have data.
			for _, d := range []int{-1, opt.Days} {
				day := addDays(w.FirstDay, d)
				r := m.Stats(StatsRequest{RequestID: "edge", StartDate: day, EndDate: day, MetricType: "TOTAL"})
				if r.TotalCampaigns == 0 {
					t.Errorf("no campaign has data on the edge day %s", day)
				}
			}

			// Random requests: invariants only.
			rng := rand.New(rand.NewPCG(opt.Seed, 99))
			for i := 0; i < 40; i++ {
				start := addDays(w.FirstDay, -2+rng.IntN(opt.Days+3))
				req := StatsRequest{RequestID: "inv", StartDate: start, EndDate: addDays(start, rng.IntN(31)),
					AttributionType: allAttributionTypes[i%5]}
				if rng.IntN(3) > 0 {
					for k := 0; k < 1+rng.IntN(10); k++ {
						req.CampaignIDs = append(req.CampaignIDs, w.KnownIDs[rng.IntN(len(w.KnownIDs))])
					}
				}
				checkInvariants(t, m, req)
			}
		})
	}
}
