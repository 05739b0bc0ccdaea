package attribution

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

const (
	minute = int64(60 * 1000)
	hour   = 60 * minute
	t0     = int64(1_740_819_600_000) // 2025-03-01T09:00:00Z
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
		ok   bool
	}{
		{"VIEW_THROUGH", ViewThrough, true}, {"view_through", ViewThrough, true}, {"Click_Through", ClickThrough, true},
		{"IN_SESSION", InSession, true}, {"total_conversions", TotalConversions, true}, {"CLICK_CONVERSIONS", ClickConversions, true},
		{"NONE", None, false}, {"", None, false}, {" VIEW_THROUGH", None, false}, {"VIEWTHROUGH", None, false},
	} {
		got, ok := ParseType(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseType(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for typ := ViewThrough; typ <= ClickConversions; typ++ {
		if back, ok := ParseType(typ.String()); !ok || back != typ {
			t.Errorf("round trip %v", typ)
		}
		if !None.Counts(typ) || !typ.Counts(typ) {
			t.Errorf("Counts %v", typ)
		}
	}
	if ViewThrough.Counts(ClickThrough) {
		t.Error("VIEW_THROUGH counts under CLICK_THROUGH")
	}
	if None.String() != "NONE" || CampaignControl.String() != "campaign_control_group" || GlobalControl.String() != "global_control_group" {
		t.Error("names")
	}
}

// credited lists unit/type/platform/locale/variation of every credit, for compact assertions.
func credited(cs []Credit) []string {
	var out []string
	for _, c := range cs {
		s := c.Unit + " " + c.Goal + " " + c.Type.String()
		if c.Group != Regular {
			s += " " + c.Group.String()
		}
		s += " " + c.Platform + "/" + c.Locale + "/" + c.Variation
		out = append(out, s)
	}
	return out
}

func assertList(t *testing.T, name string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %q\nwant %q", name, got, want)
	}
}

func TestTieBreaking(t *testing.T) {
	cat := catalogOf(
		camp("a", domain.ChannelPush, "", goals(36, purchase())),
		camp("b", domain.ChannelPush, "", goals(36, purchase())),
	)
	e := purchaseEvent("E", t0+hour, "1")
	click := domain.ClassClick
	view := domain.ClassView
	send := domain.ClassSend
	in := func(unit, uuid string, at int64, cl domain.InteractionClass, v string) Interaction {
		return Interaction{Unit: unit, UUID: uuid, TimeMS: at, Class: cl, Platform: "android", Variation: v}
	}
	cases := []struct {
		name string
		ints []Interaction
		want []string
	}{
		{"same instant: greater depth is the most recent",
			[]Interaction{in("a", "u1", t0, view, "view"), in("a", "u2", t0, click, "click"), in("a", "u0", t0, send, "send")},
			[]string{"a Purchase VIEW_THROUGH android//click", "a Purchase CLICK_THROUGH android//click",
				"a Purchase TOTAL_CONVERSIONS android//click", "a Purchase CLICK_CONVERSIONS android//click"}},
		{"same instant and depth: smallest event_uuid",
			[]Interaction{in("a", "u9", t0, click, "u9"), in("a", "u1", t0, click, "u1"), in("a", "u5", t0, click, "u5")},
			[]string{"a Purchase VIEW_THROUGH android//u1", "a Purchase CLICK_THROUGH android//u1",
				"a Purchase TOTAL_CONVERSIONS android//u1", "a Purchase CLICK_CONVERSIONS android//u1"}},
		{"most recent for VIEW_THROUGH, deepest for TOTAL_CONVERSIONS",
			[]Interaction{in("a", "u1", t0, click, "click"), in("a", "u2", t0+minute, view, "view"), in("a", "u3", t0+2*minute, send, "send")},
			[]string{"a Purchase VIEW_THROUGH android//send", "a Purchase CLICK_THROUGH android//click",
				"a Purchase TOTAL_CONVERSIONS android//click", "a Purchase CLICK_CONVERSIONS android//click"}},
		{"best_C: same depth, latest s",
			[]Interaction{in("a", "u1", t0, view, "early"), in("a", "u2", t0+minute, view, "late")},
			[]string{"a Purchase VIEW_THROUGH android//late", "a Purchase TOTAL_CONVERSIONS android//late"}},
		{"winner: greater depth beats later s",
			[]Interaction{in("a", "u1", t0+2*minute, view, "a"), in("b", "u2", t0, click, "b")},
			[]string{"a Purchase VIEW_THROUGH android//a", "b Purchase VIEW_THROUGH android//b", "b Purchase CLICK_THROUGH android//b",
				"b Purchase TOTAL_CONVERSIONS android//b", "b Purchase CLICK_CONVERSIONS android//b"}},
		{"winner: same depth, latest s",
			[]Interaction{in("a", "u1", t0, view, "a"), in("b", "u2", t0+minute, view, "b")},
			[]string{"a Purchase VIEW_THROUGH android//a", "b Purchase VIEW_THROUGH android//b", "b Purchase TOTAL_CONVERSIONS android//b"}},
		{"winner: same depth and s, smallest campaign_id",
			[]Interaction{in("b", "u1", t0, view, "b"), in("a", "u2", t0, view, "a")},
			[]string{"a Purchase VIEW_THROUGH android//a", "a Purchase TOTAL_CONVERSIONS android//a", "b Purchase VIEW_THROUGH android//b"}},
		{"click conversions dropped when the winner's best is a view",
			[]Interaction{in("b", "u1", t0, send, "b")},
			[]string{"b Purchase VIEW_THROUGH android//b", "b Purchase TOTAL_CONVERSIONS android//b"}},
	}
	for _, tc := range cases {
		got := credited(cat.Evaluate(e, tc.ints))
		assertList(t, tc.name, got, tc.want)
	}
}

func TestWindowBoundaries(t *testing.T) {
	cat := catalogOf(camp("p", domain.ChannelPush, "", goals(2, purchase())))
	click := Interaction{Unit: "p", UUID: "c", TimeMS: t0, Class: domain.ClassClick, Platform: "web"}
	types := func(at int64) []string {
		var out []string
		for _, c := range cat.Evaluate(purchaseEvent("E", at, "1"), []Interaction{click}) {
			out = append(out, c.Type.String())
		}
		return out
	}
	all := []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}
	noSession := []string{"VIEW_THROUGH", "CLICK_THROUGH", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}
	assertList(t, "t = s - 1 ms", types(t0-1), nil)
	assertList(t, "t = s", types(t0), all)
	assertList(t, "t = s + 30 min", types(t0+30*minute), all)
	assertList(t, "t = s + 30 min + 1 ms", types(t0+30*minute+1), noSession)
	assertList(t, "t = s + W", types(t0+2*hour), noSession)
	assertList(t, "t = s + W + 1 ms", types(t0+2*hour+1), nil)

	// Held-out views use the same inclusive window.
	held := Interaction{Unit: "p", UUID: "h", TimeMS: t0, Class: domain.ClassHeldOut, Group: GlobalControl, Platform: "unknown"}
	n := func(at int64) int { return len(cat.Evaluate(purchaseEvent("E", at, "1"), []Interaction{held})) }
	if n(t0-1) != 0 || n(t0) != 1 || n(t0+2*hour) != 1 || n(t0+2*hour+1) != 0 {
		t.Errorf("held-out window: %d %d %d %d", n(t0-1), n(t0), n(t0+2*hour), n(t0+2*hour+1))
	}
}

func TestInheritance(t *testing.T) {
	signup := domain.Goal{Name: "Signup", EventName: "signup"}
	cat := catalogOf(
		camp("P", domain.ChannelPush, "", goals(2, purchase())),
		camp("P_1", domain.ChannelPush, "P", nil),               // parent's goals and 2 h window
		camp("P_2", domain.ChannelPush, "P", goals(5, signup)),  // own goals and window
		camp("Q", domain.ChannelPush, "", goals(0, purchase())), // no window: PUSH maximum, 36 h
		camp("Q_1", domain.ChannelEmail, "Q", nil),              // parent's goals, no window: its own channel's maximum, 240 h
		camp("R", domain.ChannelEmail, "", nil),                 // no goals
	)
	for unit, want := range map[string]int64{"P": 2 * hour, "P_1": 2 * hour, "P_2": 5 * hour, "Q": 36 * hour, "Q_1": 240 * hour} {
		if got, ok := cat.WindowMS(unit); !ok || got != want {
			t.Errorf("WindowMS(%s) = %d, %v; want %d", unit, got, ok, want)
		}
	}
	if _, ok := cat.WindowMS("R"); ok {
		t.Error("R has no goals")
	}
	if got := cat.MaxWindowMS(); got != 240*hour {
		t.Errorf("MaxWindowMS = %d", got)
	}
	if got := cat.GoalNames(); !reflect.DeepEqual(got, map[string]bool{"Purchase": true, "signup": true}) {
		t.Errorf("GoalNames = %v", got)
	}
	if got := cat.Goals("P_1"); !reflect.DeepEqual(got, []string{"Purchase"}) {
		t.Errorf("Goals(P_1) = %v", got)
	}
	if got := cat.Goals("P_2"); !reflect.DeepEqual(got, []string{"Signup"}) {
		t.Errorf("Goals(P_2) = %v", got)
	}

	view := func(unit string, at int64) Interaction {
		return Interaction{Unit: unit, UUID: unit, TimeMS: at, Class: domain.ClassView, Platform: "x"}
	}
	ints := []Interaction{view("P_1", t0), view("P_2", t0), view("Q_1", t0), view("Q", t0), view("R", t0)}
	vt := func(e GoalEvent) []string {
		var out []string
		for _, c := range cat.Evaluate(e, ints) {
			if c.Type == ViewThrough {
				out = append(out, c.Unit+":"+c.Goal)
			}
		}
		return out
	}
	assertList(t, "purchase after 2 h", vt(purchaseEvent("E", t0+2*hour, "1")), []string{"P_1:Purchase", "Q:Purchase", "Q_1:Purchase"})
	assertList(t, "purchase after 2 h + 1 ms", vt(purchaseEvent("E", t0+2*hour+1, "1")), []string{"Q:Purchase", "Q_1:Purchase"})
	assertList(t, "purchase after 200 h", vt(purchaseEvent("E", t0+200*hour, "1")), []string{"Q_1:Purchase"})
	s := GoalEvent{UUID: "S", TimeMS: t0 + 5*hour, Names: []string{"signup"}}
	assertList(t, "signup after 5 h", vt(s), []string{"P_2:Signup"})
	s.TimeMS++
	assertList(t, "signup after 5 h + 1 ms", vt(s), nil)

	// A parent with events of its own competes as a unit.
	ints = []Interaction{{Unit: "P", UUID: "p", TimeMS: t0, Class: domain.ClassClick}, view("P_1", t0+minute)}
	got := credited(cat.Evaluate(purchaseEvent("E", t0+hour, "1"), ints))
	assertList(t, "parent's own events", got, []string{
		"P Purchase VIEW_THROUGH //", "P Purchase CLICK_THROUGH //", "P Purchase TOTAL_CONVERSIONS //", "P Purchase CLICK_CONVERSIONS //",
		"P_1 Purchase VIEW_THROUGH x//"})
}

func TestGoalMatching(t *testing.T) {
	gt0 := &domain.GoalFilter{Name: "amount", Condition: "greater_than", Value: json.RawMessage(`0`), DataType: "DOUBLE"}
	cat := catalogOf(
		camp("a", domain.ChannelPush, "", goals(36,
			domain.Goal{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "amount", Filter: gt0},
			domain.Goal{Name: "AnyPurchase", EventName: "Purchase", RevenueAttribute: "total"},
			domain.Goal{Name: "ByCode", EventName: "EVT_PURCHASE"},
			domain.Goal{Name: "Purchase", EventName: "Other"}, // duplicate goal_name: ignored
		)),
		camp("b", domain.ChannelEmail, "", goals(0, domain.Goal{Name: "Open", EventName: "purchase"})),
	)
	ints := []Interaction{
		{Unit: "a", UUID: "1", TimeMS: t0, Class: domain.ClassView, Platform: "android"},
		{Unit: "b", UUID: "2", TimeMS: t0, Class: domain.ClassView, Platform: "EMAIL"},
	}
	vt := func(e GoalEvent) []string {
		var out []string
		for _, c := range cat.Evaluate(e, ints) {
			if c.Type == ViewThrough {
				out = append(out, c.Unit+":"+c.Goal+":"+itoa64(c.RevenueMicros))
			}
		}
		return out
	}
	attrs := json.RawMessage(`{"amount":"19.99","total":20}`)
	e := GoalEvent{UUID: "E", TimeMS: t0 + hour, Names: []string{"Purchase"}, Attributes: attrs}
	assertList(t, "filter holds", vt(e), []string{"a:Purchase:19990000", "a:AnyPurchase:20000000"})
	e.Attributes = json.RawMessage(`{"amount":0}`)
	assertList(t, "filter fails", vt(e), []string{"a:AnyPurchase:0"})
	e.Attributes = nil
	assertList(t, "no attributes", vt(e), []string{"a:AnyPurchase:0"})
	e.Names = []string{"purchase"}
	assertList(t, "case-sensitive names", vt(e), []string{"b:Open:0"})
	e.Names = []string{"Purchase", "EVT_PURCHASE", "Purchase"}
	e.Attributes = attrs
	assertList(t, "event_name and event_code", vt(e), []string{"a:Purchase:19990000", "a:AnyPurchase:20000000", "a:ByCode:0"})
	e.Names = []string{"EVT_PURCHASE", "Purchase"}
	assertList(t, "name order does not matter", vt(e), []string{"a:Purchase:19990000", "a:AnyPurchase:20000000", "a:ByCode:0"})
	e.Names = []string{"Other"}
	assertList(t, "duplicate goal_name ignored", vt(e), nil)
	e.Names = nil
	assertList(t, "no names", vt(e), nil)

	// At most one credit per (unit, goal, type, group), whatever the number of interactions.
	many := append([]Interaction(nil), ints...)
	for i := 0; i < 10; i++ {
		many = append(many, Interaction{Unit: "a", UUID: "c" + itoa64(int64(i)), TimeMS: t0 + int64(i), Class: domain.ClassClick},
			Interaction{Unit: "a", UUID: "h" + itoa64(int64(i)), TimeMS: t0 + int64(i), Class: domain.ClassHeldOut, Group: CampaignControl})
	}
	seen := map[[4]string]bool{}
	e.Names = []string{"Purchase", "EVT_PURCHASE"}
	for _, c := range cat.Evaluate(e, many) {
		k := [4]string{c.Unit, c.Goal, c.Type.String(), c.Group.String()}
		if seen[k] {
			t.Errorf("duplicate credit %v", k)
		}
		seen[k] = true
	}
	if len(seen) != 3*(4+1) { // VT, CT, TC, CC (no IN_SESSION: the clicks are an hour old) and the campaign control group
		t.Errorf("%d credits, want 15", len(seen))
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestControlGroups(t *testing.T) {
	cat := catalogOf(
		camp("a", domain.ChannelPush, "", goals(36, purchase())),
		camp("b", domain.ChannelPush, "", goals(36, purchase())),
	)
	ints := []Interaction{
		{Unit: "a", UUID: "h1", TimeMS: t0, Class: domain.ClassHeldOut, Group: CampaignControl, Platform: "android", Locale: "en", Variation: "v"},
		{Unit: "a", UUID: "h2", TimeMS: t0 + minute, Class: domain.ClassHeldOut, Group: CampaignControl, Platform: "ios", Locale: "fr"},
		{Unit: "a", UUID: "h3", TimeMS: t0 + 2*minute, Class: domain.ClassHeldOut, Group: GlobalControl, Platform: "web"},
		{Unit: "a", UUID: "h4", TimeMS: t0 + 3*minute, Class: domain.ClassHeldOut, Group: Regular, Platform: "bad"}, // no group: ignored
		{Unit: "a", UUID: "n1", TimeMS: t0 + 3*minute, Class: domain.ClassNone, Platform: "bad"},                    // not an interaction
		{Unit: "b", UUID: "g1", TimeMS: t0, Class: domain.ClassHeldOut, Group: GlobalControl, Platform: "android"},
		{Unit: "b", UUID: "v1", TimeMS: t0, Class: domain.ClassView, Platform: "android", Variation: "variation_1"},
		{Unit: "c", UUID: "x1", TimeMS: t0, Class: domain.ClassClick, Platform: "android"}, // no goals
	}
	got := credited(cat.Evaluate(purchaseEvent("E", t0+hour, "1"), ints))
	assertList(t, "control groups", got, []string{
		"a Purchase NONE campaign_control_group ios/fr/",
		"a Purchase NONE global_control_group web//",
		"b Purchase NONE global_control_group android//",
		"b Purchase VIEW_THROUGH android//variation_1",
		"b Purchase TOTAL_CONVERSIONS android//variation_1",
	})
	// Only held-out views of a: no regular credit at all, and nothing competes.
	got = credited(cat.Evaluate(purchaseEvent("E", t0+hour, "1"), ints[:5]))
	assertList(t, "held-out only", got, []string{"a Purchase NONE campaign_control_group ios/fr/", "a Purchase NONE global_control_group web//"})
}

// reference is a direct transcription of SPEC §6.2 used to cross-check Evaluate.
func reference(c *Catalog, e GoalEvent, ints []Interaction) []Credit {
	ms := c.match(e, nil)
	var out []Credit
	recentFirst := func(l []Interaction) {
		sort.Slice(l, func(i, j int) bool {
			a, b := l[i], l[j]
			if a.TimeMS != b.TimeMS {
				return a.TimeMS > b.TimeMS
			}
			if a.Class != b.Class {
				return a.Class > b.Class
			}
			if a.UUID != b.UUID {
				return a.UUID < b.UUID
			}
			return a.Platform+"\x00"+a.Locale+"\x00"+a.Variation < b.Platform+"\x00"+b.Locale+"\x00"+b.Variation
		})
	}
	emit := func(m matched, typ Type, g Group, src Interaction) {
		for j, gi := range m.goals {
			v := src.Variation
			if g != Regular {
				v = ""
			}
			out = append(out, Credit{GoalUUID: e.UUID, TimeMS: e.TimeMS, Unit: m.unit, Goal: m.info.goals[gi].name, Type: typ, Group: g,
				Platform: src.Platform, Locale: src.Locale, Variation: v, RevenueMicros: m.revenue[j]})
		}
	}
	type cand struct {
		m    matched
		best Interaction
	}
	var cands []cand
	for _, m := range ms {
		var q, k, s []Interaction
		held := map[Group][]Interaction{}
		for _, in := range ints {
			if in.Unit != m.unit || !(in.TimeMS <= e.TimeMS && e.TimeMS <= in.TimeMS+m.info.windowMS) {
				continue
			}
			switch in.Class {
			case domain.ClassSend, domain.ClassView, domain.ClassClick:
				q = append(q, in)
				if in.Class == domain.ClassClick {
					k = append(k, in)
					if e.TimeMS <= in.TimeMS+30*minute {
						s = append(s, in)
					}
				}
			case domain.ClassHeldOut:
				held[in.Group] = append(held[in.Group], in)
			}
		}
		for _, g := range []Group{CampaignControl, GlobalControl} {
			if l := held[g]; len(l) > 0 {
				recentFirst(l)
				emit(m, None, g, l[0])
			}
		}
		for _, x := range []struct {
			l []Interaction
			t Type
		}{{q, ViewThrough}, {k, ClickThrough}, {s, InSession}} {
			if len(x.l) > 0 {
				recentFirst(x.l)
				emit(m, x.t, Regular, x.l[0])
			}
		}
		if len(q) > 0 {
			recentFirst(q)
			sort.SliceStable(q, func(i, j int) bool { return q[i].Class > q[j].Class })
			cands = append(cands, cand{m, q[0]})
		}
	}
	if len(cands) > 0 {
		sort.Slice(cands, func(i, j int) bool {
			a, b := cands[i].best, cands[j].best
			if a.Class != b.Class {
				return a.Class > b.Class
			}
			if a.TimeMS != b.TimeMS {
				return a.TimeMS > b.TimeMS
			}
			return cands[i].m.unit < cands[j].m.unit
		})
		w := cands[0]
		emit(w.m, TotalConversions, Regular, w.best)
		if w.best.Class == domain.ClassClick {
			emit(w.m, ClickConversions, Regular, w.best)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Unit != b.Unit {
			return a.Unit < b.Unit
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Group < b.Group
	})
	return out
}

// historyCatalog is the catalog of the random-history tests: two units with goals and windows of their own, a child
// inheriting its parent's, and a unit without goals.
func historyCatalog() *Catalog {
	return catalogOf(
		camp("a", domain.ChannelPush, "", goals(1, purchase(), domain.Goal{Name: "Any", EventName: "Purchase"})),
		camp("b", domain.ChannelEmail, "", goals(3, purchase())),
		camp("c", domain.ChannelPush, "p", nil),
		camp("p", domain.ChannelPush, "", goals(2, purchase())),
		camp("z", domain.ChannelSMS, "", nil),
	)
}

// randomHistory returns n random interactions with the units of historyCatalog, at few distinct instants and with
// few distinct uuids (ties and equal uuids happen), dimensions drawn from dims.
func randomHistory(rng *rand.Rand, n int, dims []string) []Interaction {
	units := []string{"a", "b", "c", "p", "z"}
	classes := []domain.InteractionClass{domain.ClassNone, domain.ClassSend, domain.ClassView, domain.ClassClick, domain.ClassHeldOut}
	ints := make([]Interaction, n)
	for i := range ints {
		ints[i] = Interaction{
			Unit:      units[rng.IntN(len(units))],
			UUID:      string(rune('a' + rng.IntN(8))),
			TimeMS:    t0 + int64(rng.IntN(8))*20*minute - int64(rng.IntN(2)),
			Class:     classes[rng.IntN(len(classes))],
			Group:     Group(rng.IntN(3)),
			Platform:  dims[rng.IntN(len(dims))],
			Locale:    dims[rng.IntN(len(dims))],
			Variation: dims[rng.IntN(len(dims))],
		}
	}
	return ints
}

// TestShuffleInvariance checks on random histories that Evaluate matches the reference transcription of §6.2 and
// that shuffling the interactions never changes the result.
func TestShuffleInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cat := historyCatalog()
	credits := 0
	for iter := 0; iter < 2000; iter++ {
		ints := randomHistory(rng, rng.IntN(25), []string{"", "android", "ios", "web"})
		e := purchaseEvent("E", t0+int64(rng.IntN(12))*20*minute, `"`+itoa64(int64(rng.IntN(1000)))+`.5"`)
		want := reference(cat, e, ints)
		got := cat.Evaluate(e, ints)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("iteration %d: Evaluate differs from the reference\ninteractions %+v\ngot\n%swant\n%s", iter, ints, fmtCredits(got), fmtCredits(want))
		}
		credits += len(got)
		for k := 0; k < 5; k++ {
			sh := append([]Interaction(nil), ints...)
			rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			if again := cat.Evaluate(e, sh); !reflect.DeepEqual(again, got) {
				t.Fatalf("iteration %d: shuffled interactions change the result\ngot\n%swant\n%s", iter, fmtCredits(again), fmtCredits(got))
			}
		}
	}
	if credits == 0 {
		t.Fatal("the random histories produced no credits")
	}
}

// TestManyUnitsMatchReference checks Evaluate against the reference for users active in many units (where units
// are found through a map instead of a scan), including shuffled input.
func TestManyUnitsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var cs []domain.Campaign
	var units []string
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("u%02d", i)
		ch := []domain.Channel{domain.ChannelPush, domain.ChannelEmail, domain.ChannelSMS}[i%3]
		var gd *domain.GoalDetails
		if i%5 != 4 {
			gd = goals(1+i%4, purchase())
		}
		cs = append(cs, camp(id, ch, "", gd))
		units = append(units, id)
	}
	cat := catalogOf(cs...)
	classes := []domain.InteractionClass{domain.ClassSend, domain.ClassView, domain.ClassClick, domain.ClassHeldOut}
	credits := 0
	for iter := 0; iter < 300; iter++ {
		ints := make([]Interaction, 10+rng.IntN(80))
		for i := range ints {
			ints[i] = Interaction{Unit: units[rng.IntN(len(units))], UUID: fmt.Sprintf("e%03d", rng.IntN(500)),
				TimeMS: t0 + int64(rng.IntN(16))*15*minute, Class: classes[rng.IntN(len(classes))], Group: Group(rng.IntN(3)),
				Platform: []string{"android", "ios"}[rng.IntN(2)]}
		}
		e := purchaseEvent("E", t0+int64(4+rng.IntN(12))*15*minute, "2")
		got, want := cat.Evaluate(e, ints), reference(cat, e, ints)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("iteration %d: Evaluate differs from the reference\ngot\n%swant\n%s", iter, fmtCredits(got), fmtCredits(want))
		}
		rng.Shuffle(len(ints), func(i, j int) { ints[i], ints[j] = ints[j], ints[i] })
		if again := cat.Evaluate(e, ints); !reflect.DeepEqual(again, got) {
			t.Fatalf("iteration %d: shuffled interactions change the result", iter)
		}
		credits += len(got)
	}
	if credits == 0 {
		t.Fatal("the random histories produced no credits")
	}
}

// TestSourcesExplainCredits checks on random histories the property the derivation relies on: EvaluateSources
// returns Evaluate's credits, each source is an interaction with the credit's dimensions, and removing any
// interaction that is no credit's source leaves the credits unchanged (removing a source is checked against the
// reference, which is independent of the sources).
func TestSourcesExplainCredits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cat := historyCatalog()
	unchanged, changed := 0, 0
	for iter := 0; iter < 2000; iter++ {
		ints := randomHistory(rng, rng.IntN(12), []string{"", "android", "ios"})
		e := purchaseEvent("E", t0+int64(rng.IntN(12))*20*minute, "1")
		got, sources, _ := cat.EvaluateSources(e, ints, nil)
		if want := cat.Evaluate(e, ints); !reflect.DeepEqual(got, want) || len(sources) != len(got) {
			t.Fatalf("iteration %d: EvaluateSources %v (sources %v) differs from Evaluate %v", iter, got, sources, want)
		}
		used := map[int]bool{}
		for i, src := range sources {
			if src < 0 || src >= len(ints) {
				t.Fatalf("iteration %d: credit %d has source %d of %d interactions", iter, i, src, len(ints))
			}
			in, c := ints[src], got[i]
			if in.Unit != c.Unit && !(in.Unit == "c" && c.Unit == "p") || in.Platform != c.Platform || in.Locale != c.Locale {
				t.Fatalf("iteration %d: credit %+v has source %+v", iter, c, in)
			}
			used[src] = true
		}
		for drop := range ints {
			rest := append(append([]Interaction(nil), ints[:drop]...), ints[drop+1:]...)
			after := reference(cat, e, rest)
			same := reflect.DeepEqual(after, got) || len(after) == 0 && len(got) == 0
			if !used[drop] && !same {
				t.Fatalf("iteration %d: dropping interaction %d (no credit's source) changes the credits\ninteractions %+v\nbefore\n%safter\n%s",
					iter, drop, ints, fmtCredits(got), fmtCredits(after))
			}
			if !used[drop] {
				unchanged++
			} else if !same {
				changed++
			}
		}
	}
	if unchanged == 0 || changed == 0 {
		t.Fatalf("the random histories did not exercise both cases (%d unchanged, %d changed)", unchanged, changed)
	}
}

func TestEmptyCatalog(t *testing.T) {
	for _, c := range []*Catalog{NewCatalog(nil), catalogOf()} {
		if c.MaxWindowMS() != 0 || len(c.GoalNames()) != 0 {
			t.Error("empty catalog")
		}
		if got := c.Evaluate(purchaseEvent("E", t0, "1"), []Interaction{{Unit: "a", TimeMS: t0, Class: domain.ClassClick}}); got != nil {
			t.Errorf("credits from an empty catalog: %v", got)
		}
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	cat := catalogOf(camp("a", domain.ChannelPush, "", goals(36, purchase())))
	ints := []Interaction{{Unit: "a", UUID: "1", TimeMS: t0, Class: domain.ClassClick}}
	done := make(chan []Credit)
	for i := 0; i < 8; i++ {
		go func() { done <- cat.Evaluate(purchaseEvent("E", t0+10*minute, "2"), ints) }()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; len(got) != 5 {
			t.Errorf("%d credits", len(got))
		}
	}
}

// TestAddedInteractionsChangeKnownUnits checks on random histories what the derivation writes back when
// interactions are added to a goal event's: the units whose credits differ from the credits without the added
// interactions (the reference's) are among the units of the credits given for an added interaction and
// winnerBefore, which is the unit of the reference's total-conversions credits.
func TestAddedInteractionsChangeKnownUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cat := historyCatalog()
	moved := 0
	for iter := 0; iter < 3000; iter++ {
		ints := randomHistory(rng, rng.IntN(14), []string{"", "android", "ios"})
		e := purchaseEvent("E", t0+int64(rng.IntN(12))*20*minute, "1")
		added := make([]bool, len(ints))
		var before []Interaction
		for i := range ints {
			if added[i] = rng.IntN(3) == 0; !added[i] {
				before = append(before, ints[i])
			}
		}
		got, sources, winnerBefore := cat.EvaluateSources(e, ints, added)
		stored := reference(cat, e, before)
		wantWinner := ""
		for _, c := range stored {
			if c.Type == TotalConversions {
				wantWinner = c.Unit
			}
		}
		if winnerBefore != wantWinner {
			t.Fatalf("iteration %d: winner before %q, want %q\ninteractions %+v (added %v)", iter, winnerBefore, wantWinner, ints, added)
		}
		known := map[string]bool{winnerBefore: true}
		for i, src := range sources {
			if added[src] {
				known[got[i].Unit] = true
			}
		}
		byUnit := func(cs []Credit) map[string][]Credit {
			m := map[string][]Credit{}
			for _, c := range cs {
				m[c.Unit] = append(m[c.Unit], c)
			}
			return m
		}
		now, then := byUnit(got), byUnit(stored)
		for _, m := range []map[string][]Credit{now, then} {
			for unit := range m {
				if !reflect.DeepEqual(now[unit], then[unit]) && !known[unit] {
					t.Fatalf("iteration %d: unit %s's credits changed, but no credit of it is given for an added interaction and it is not the winner before\nbefore\n%safter\n%s",
						iter, unit, fmtCredits(stored), fmtCredits(got))
				}
			}
		}
		for _, c := range got {
			if c.Type == TotalConversions && wantWinner != "" && c.Unit != wantWinner {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("the random histories never moved the total-conversions credit to another unit")
	}
}
