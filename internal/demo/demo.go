// Package demo generates deterministic, realistic campaign traffic across every channel: a catalog with parents
// and children, goals and control groups, and Streams events with locales, variations, failures with reason codes
// and held-out users. `campaignstats demo` and `campaignstats bench` load it through the public ingest API.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Options size the generated data.
type Options struct {
	Campaigns int       // top-level campaigns (each fifth one is a periodic parent with three children)
	Users     int       // distinct users
	Days      int       // days of traffic, ending at End
	Events    int       // approximate number of events to generate (0 = about 12 per user)
	Seed      uint64    // same seed, same data
	End       time.Time // exclusive end of the traffic window (UTC day boundary recommended)
	Prefix    string    // campaign id prefix (default "demo")
}

// Campaign is one catalog entry to PUT (SPEC §3.12) before events are sent.
type Campaign struct {
	ID     string
	Parent string
	Body   map[string]any
	// weight is the share of traffic; start/end bound its events.
	weight      float64
	channel     string
	startMS     int64
	endMS       int64
	deliveryRaw string
}

// Generator produces the catalog and the event stream.
type Generator struct {
	opts      Options
	campaigns []Campaign
	sendable  []int // indexes of campaigns that receive traffic (children and standalone)
	cumWeight []float64
}

var channels = []string{"PUSH", "EMAIL", "SMS", "WHATSAPP", "IN_APP", "ON_SITE", "CARDS", "CONNECTORS", "FACEBOOK", "GOOGLE_ADS"}

// New builds a generator and its catalog.
func New(o Options) *Generator {
	if o.Campaigns <= 0 {
		o.Campaigns = 20
	}
	if o.Users <= 0 {
		o.Users = 5000
	}
	if o.Days <= 0 {
		o.Days = 14
	}
	if o.Events <= 0 {
		o.Events = o.Users * 12
	}
	if o.Prefix == "" {
		o.Prefix = "demo"
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(24 * time.Hour)
	}
	g := &Generator{opts: o}
	rng := rand.New(rand.NewPCG(o.Seed, 0xc0ffee))
	windowStart := o.End.AddDate(0, 0, -o.Days).UnixMilli()
	windowMS := o.End.UnixMilli() - windowStart
	for i := 0; i < o.Campaigns; i++ {
		ch := channels[i%len(channels)]
		id := fmt.Sprintf("%s_%s_%03d", o.Prefix, lower(ch), i)
		start := windowStart + int64(rng.Float64()*0.6*float64(windowMS))
		end := min(start+int64((0.2+rng.Float64()*0.8)*float64(windowMS)), o.End.UnixMilli()-1)
		weight := 1 / math.Pow(float64(i+1), 0.9) // skewed sizes
		delivery := "ONE_TIME"
		if i%3 == 1 {
			delivery = "EVENT_TRIGGERED"
		}
		periodic := i%5 == 4
		if periodic {
			delivery = "PERIODIC"
		}
		body := map[string]any{
			"campaign_name": fmt.Sprintf("%s campaign %d", titleCase(ch), i), "channel": ch,
			"campaign_delivery_type": delivery, "campaign_tags": []string{"demo", lower(ch)},
			"created_by": "demo@example.com", "campaign_team": "Growth",
			"campaign_start_time": time.UnixMilli(start).UTC().Format(time.RFC3339),
			"conversion_goal_details": map[string]any{"goals": []map[string]any{
				{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true, "revenue_attribute": "amount", "revenue_currency": "USD"},
				{"goal_name": "Sign Up", "goal_event_name": "Sign Up"},
			}},
			"control_group_details": map[string]any{"is_campaign_control_group_enabled": true, "campaign_control_group_percentage": 5,
				"is_global_control_group_enabled": true},
		}
		parent := Campaign{ID: id, Body: body, weight: weight, channel: ch, startMS: start, endMS: end, deliveryRaw: delivery}
		g.campaigns = append(g.campaigns, parent)
		if !periodic {
			g.sendable = append(g.sendable, len(g.campaigns)-1)
			continue
		}
		// A periodic parent: traffic goes to three child instances spread over its window.
		span := (end - start) / 3
		for k := 0; k < 3; k++ {
			child := Campaign{ID: fmt.Sprintf("%s_i%d", id, k+1), Parent: id, weight: weight / 3, channel: ch,
				startMS: start + int64(k)*span, endMS: start + int64(k+1)*span, deliveryRaw: "PERIODIC"}
			child.Body = map[string]any{"campaign_name": body["campaign_name"], "channel": ch, "campaign_delivery_type": "PERIODIC",
				"parent_campaign_id": id, "campaign_start_time": time.UnixMilli(child.startMS).UTC().Format(time.RFC3339)}
			g.campaigns = append(g.campaigns, child)
			g.sendable = append(g.sendable, len(g.campaigns)-1)
		}
	}
	total := 0.0
	for _, i := range g.sendable {
		total += g.campaigns[i].weight
		g.cumWeight = append(g.cumWeight, total)
	}
	return g
}

// Largest returns the ids of the n top-level campaigns with the most traffic, largest first.
func (g *Generator) Largest(n int) []string {
	var out []string
	for _, c := range g.campaigns {
		if c.Parent == "" && len(out) < n {
			out = append(out, c.ID) // weights decrease with the campaign index
		}
	}
	return out
}

// Campaigns returns the catalog: parents before their children.
func (g *Generator) Campaigns() []Campaign { return g.campaigns }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func titleCase(s string) string {
	b := []byte(lower(s))
	up := true
	for i, c := range b {
		if c == '_' {
			b[i], up = ' ', true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
		up = false
	}
	return string(b)
}

// step is one generated event before encoding.
type step struct {
	code, name string
	platform   string
	extra      string // extra event_attributes members, JSON text starting with ','
}

// Generate emits about Options.Events NDJSON event lines (each ending in '\n') to emit, in roughly time order per
// send but not globally sorted. It stops early when emit returns an error.
func (g *Generator) Generate(emit func(line []byte) error) error {
	rng := rand.New(rand.NewPCG(g.opts.Seed, 0xbadcafe))
	var buf []byte
	seq := 0
	locales := []string{"en", "fr", "de"}
	for seq < g.opts.Events {
		c := &g.campaigns[g.sendable[g.pick(rng.Float64())]]
		user := g.userFor(rng)
		t := c.startMS + int64(rng.Float64()*float64(max(c.endMS-c.startMS, 1)))
		locale := locales[rng.IntN(len(locales))]
		variation := 1 + user%2
		held := rng.Float64()
		steps := stepsFor(c.channel, user, rng, held)
		last := t
		for si, st := range steps {
			seq++
			buf = g.appendUUID(buf[:0], seq)
			buf = append(buf, '"')
			if st.code != "" {
				buf = append(buf, `,"event_code":"`...)
				buf = append(buf, st.code...)
				buf = append(buf, '"')
			}
			if st.name != "" {
				buf = append(buf, `,"event_name":"`...)
				buf = append(buf, st.name...)
				buf = append(buf, '"')
			}
			buf = append(buf, `,"event_time":`...)
			last = min(t+int64(si)*int64(60_000+rng.IntN(3_600_000)), g.opts.End.UnixMilli()-1)
			buf = strconv.AppendInt(buf, last, 10)
			buf = append(buf, `,"uid":"u`...)
			buf = strconv.AppendInt(buf, int64(user), 10)
			buf = append(buf, `","event_attributes":{"campaign_id":"`...)
			buf = append(buf, c.ID...)
			buf = append(buf, `","campaign_name":"`...)
			buf = append(buf, c.Body["campaign_name"].(string)...)
			buf = append(buf, `","campaign_channel":"`...)
			buf = append(buf, c.channel...)
			buf = append(buf, `","moe_delivery_type":"`...)
			buf = append(buf, c.deliveryRaw...)
			buf = append(buf, `","locale_name":"`...)
			buf = append(buf, locale...)
			buf = append(buf, `","variation_id":`...)
			buf = strconv.AppendInt(buf, int64(variation), 10)
			if c.Parent != "" {
				buf = append(buf, `,"parent_campaign_id":"`...)
				buf = append(buf, c.Parent...)
				buf = append(buf, '"')
			}
			if st.platform != "" {
				buf = append(buf, `,"platform":"`...)
				buf = append(buf, st.platform...)
				buf = append(buf, '"')
			}
			buf = append(buf, st.extra...)
			buf = append(buf, "}}\n"...)
			if err := emit(buf); err != nil {
				return err
			}
		}
		// Some users convert after the message (held-out users too, at a lower rate): a goal event a few
		// minutes to a day later.
		rate := 0.06
		if held < 0.04 {
			rate = 0.03
		}
		if rng.Float64() < rate && seq < g.opts.Events {
			seq++
			at := min(last+int64(60_000+rng.IntN(24*3_600_000)), g.opts.End.UnixMilli()-1)
			buf = g.goalEvent(buf[:0], seq, user, at, rng)
			if err := emit(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendUUID starts an event object with its deterministic uuid (left open after the uuid text).
func (g *Generator) appendUUID(buf []byte, seq int) []byte {
	buf = append(buf, `{"event_uuid":"`...)
	buf = append(buf, g.opts.Prefix...)
	buf = append(buf, '-')
	buf = strconv.AppendUint(buf, g.opts.Seed, 10)
	buf = append(buf, '-')
	return strconv.AppendInt(buf, int64(seq), 10)
}

// goalEvent appends a Purchase (with an amount) or a Sign Up user event.
func (g *Generator) goalEvent(buf []byte, seq, user int, at int64, rng *rand.Rand) []byte {
	buf = g.appendUUID(buf, seq)
	if rng.Float64() < 0.7 {
		buf = append(buf, `","event_name":"Purchase","event_code":"PURCHASE","event_time":`...)
		buf = strconv.AppendInt(buf, at, 10)
		buf = append(buf, `,"uid":"u`...)
		buf = strconv.AppendInt(buf, int64(user), 10)
		buf = append(buf, `","event_attributes":{"amount":`...)
		buf = strconv.AppendFloat(buf, float64(500+rng.IntN(20000))/100, 'f', 2, 64)
		return append(buf, "}}\n"...)
	}
	buf = append(buf, `","event_name":"Sign Up","event_time":`...)
	buf = strconv.AppendInt(buf, at, 10)
	buf = append(buf, `,"uid":"u`...)
	buf = strconv.AppendInt(buf, int64(user), 10)
	return append(buf, "\"}\n"...)
}

// pick maps a uniform number to a sendable campaign index by weight.
func (g *Generator) pick(u float64) int {
	target := u * g.cumWeight[len(g.cumWeight)-1]
	lo, hi := 0, len(g.cumWeight)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.cumWeight[mid] < target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// userFor draws a user with a mild skew towards low ids (active users get more messages).
func (g *Generator) userFor(rng *rand.Rand) int {
	u := rng.Float64()
	return int(u * u * float64(g.opts.Users))
}

var pushFailures = []string{`,"reason_code":201`, `,"reason_code":202`, `,"reason_code":101`, `,"reason_code":501`, `,"reason":"Token expired"`}

// stepsFor returns the events of one send to one user on a channel, following a realistic funnel.
func stepsFor(ch string, user int, rng *rand.Rand, held float64) []step {
	p := rng.Float64
	switch {
	case held < 0.03:
		return []step{{code: "MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", extra: `,"control_group_type":"campaign"`}}
	case held < 0.04:
		return []step{{code: "MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", extra: `,"control_group_type":"global"`}}
	}
	switch ch {
	case "PUSH":
		plat := []string{"Android", "iOS", "Web"}[user%3]
		sent := map[string]step{"Android": {name: "Notification Sent Android"}, "iOS": {code: "n_i_s"}, "Web": {name: "Notification Sent Web"}}[plat]
		if p() < 0.05 {
			return []step{{name: "Notification Failed " + plat, extra: pushFailures[rng.IntN(len(pushFailures))]}}
		}
		out := []step{sent}
		if p() < 0.9 {
			out = append(out, step{code: map[string]string{"Android": "NOTIFICATION_RECEIVED_MOE", "iOS": "NOTIFICATION_RECEIVED_IOS_MOE", "Web": "NOTIFICATION_RECEIVED_WEB_MOE"}[plat]})
			if p() < 0.15 {
				out = append(out, step{code: map[string]string{"Android": "NOTIFICATION_CLICKED_MOE", "iOS": "NOTIFICATION_CLICKED_IOS_MOE", "Web": "NOTIFICATION_CLICKED_WEB_MOE"}[plat]})
			}
		}
		return out
	case "EMAIL":
		if p() < 0.04 {
			return []step{{code: "MOE_EMAIL_DROP", extra: `,"reason":"HARD_BOUNCE_DROPPED_REASON"`}}
		}
		out := []step{{code: "MOE_EMAIL_SENT"}}
		switch r := p(); {
		case r < 0.02:
			return append(out, step{code: "MOE_EMAIL_HARD_BOUNCE"})
		case r < 0.05:
			return append(out, step{code: "MOE_EMAIL_SOFT_BOUNCE"})
		}
		out = append(out, step{code: "MOE_EMAIL_DELIVERED"})
		if p() < 0.4 {
			out = append(out, step{code: "MOE_EMAIL_OPEN"})
			if p() < 0.2 {
				out = append(out, step{code: "MOE_EMAIL_CLICK"})
			}
			if p() < 0.01 {
				out = append(out, step{code: "MOE_EMAIL_UNSUBSCRIBE"})
			}
			if p() < 0.002 {
				out = append(out, step{code: "MOE_EMAIL_SPAM"})
			}
		}
		return out
	case "SMS", "WHATSAPP":
		pre := map[string][4]string{"SMS": {"SMS_SENT", "SMS_DELIVERED", "MOE_SMS_CLICKED", "MOE_SMS_DELIVERY_FAILED"},
			"WHATSAPP": {"MOE_WHATSAPP_SENT", "MOE_WHATSAPP_DELIVERED", "MOE_WHATSAPP_CLICKED", "MOE_WHATSAPP_DELIVERY_FAILED"}}[ch]
		out := []step{{code: pre[0]}}
		if p() < 0.06 {
			return append(out, step{code: pre[3], extra: `,"failure_reason":"Number not reachable"`})
		}
		out = append(out, step{code: pre[1]})
		if ch == "WHATSAPP" && p() < 0.7 {
			out = append(out, step{code: "MOE_WHATSAPP_READ"})
		}
		if p() < 0.08 {
			out = append(out, step{code: pre[2]})
		}
		return out
	case "IN_APP", "ON_SITE":
		codes := map[string][3]string{"IN_APP": {"MOE_IN_APP_SHOWN", "MOE_IN_APP_CLICKED", "MOE_IN_APP_DISMISSED"},
			"ON_SITE": {"MOE_ONSITE_MESSAGE_SHOWN", "MOE_ONSITE_MESSAGE_CLICKED", "MOE_ONSITE_MESSAGE_DISMISSED"}}[ch]
		plat := []string{"android", "ios", "web"}[user%3]
		out := []step{{code: codes[0], platform: plat}}
		switch r := p(); {
		case r < 0.2:
			out = append(out, step{code: codes[1], platform: plat})
		case r < 0.5:
			out = append(out, step{code: codes[2], platform: plat})
		}
		return out
	case "CARDS":
		plat := []string{"android", "ios"}[user%2]
		out := []step{{code: "MOE_CARD_SENT", platform: plat}, {code: "MOE_CARD_DELIVERED", platform: plat}}
		if p() < 0.5 {
			out = append(out, step{code: "MOE_CARD_VIEWED", platform: plat})
			if p() < 0.2 {
				out = append(out, step{code: "MOE_CARD_CLICKED", platform: plat})
			}
		}
		return out
	case "CONNECTORS":
		return []step{{code: "MOE_CONNECTOR_SENT"}}
	case "FACEBOOK":
		return []step{{code: "MOE_FB_AUDIENCE_SYNC"}}
	}
	return []step{{code: "MOE_GOOGLE_ADS_AUDIENCE_SYNC"}}
}
