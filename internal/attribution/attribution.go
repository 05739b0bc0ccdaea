// Package attribution computes conversion credits (SPEC §6): for one goal event and all of its user's campaign
// interactions and held-out views, which units and goals are credited under each attribution type, at which
// platform, locale and variation, and with what revenue. It is pure: no storage, no HTTP, no clock.
package attribution

import (
	"cmp"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Type is an attribution type; the zero value None marks control-group credits, which count under every type.
type Type uint8

// Attribution types (SPEC §5.3, §6.2).
const (
	None Type = iota
	ViewThrough
	ClickThrough
	InSession
	TotalConversions
	ClickConversions
)

var typeNames = [...]string{"NONE", "VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}

// ParseType parses an attribution_type name of SPEC §5.3, ignoring case. None is not a name that parses.
func ParseType(s string) (Type, bool) {
	for t := ViewThrough; t <= ClickConversions; t++ {
		if strings.EqualFold(s, typeNames[t]) {
			return t, true
		}
	}
	return None, false
}

// String returns the SPEC name of t ("NONE" for None).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Counts reports whether a credit of type t counts under the requested attribution type req: control-group credits
// (None) count under every type.
func (t Type) Counts(req Type) bool { return t == None || t == req }

// Group is the variation group of a credit.
type Group uint8

// Groups.
const (
	Regular Group = iota
	CampaignControl
	GlobalControl
)

// String returns the variation key of a control group (SPEC §5.8), "regular" for Regular.
func (g Group) String() string {
	switch g {
	case Regular:
		return "regular"
	case CampaignControl:
		return domain.CampaignControlGroup
	case GlobalControl:
		return domain.GlobalControlGroup
	}
	return "Group(" + strconv.Itoa(int(g)) + ")"
}

// Interaction is one campaign event of the user that can explain goal events: an interaction (class send/view/click
// that feeds a counter for its unit's channel — the caller has already filtered) or a held-out view (class HeldOut,
// Group says which control group). Dims are already resolved by the caller.
//
// Group is only read for class HeldOut; a held-out view whose Group is Regular is ignored. Events of class None are
// ignored.
type Interaction struct {
	Unit                        string
	UUID                        string
	TimeMS                      int64
	Class                       domain.InteractionClass
	Group                       Group
	Platform, Locale, Variation string
}

// GoalEvent is one user event that may match goals.
type GoalEvent struct {
	UUID       string
	TimeMS     int64
	Names      []string        // action names: Streams event_name and event_code; Track/Bulk action
	Attributes json.RawMessage // object or nil
}

// Credit is one credited (goal event, unit, goal, type) with its node dimensions and revenue.
type Credit struct {
	GoalUUID                    string
	TimeMS                      int64
	Unit                        string
	Goal                        string // goal_name
	Type                        Type   // None for control-group credits
	Group                       Group
	Platform, Locale, Variation string // Variation is the interaction's variation for Regular; "" for control groups
	// RevenueMicros is the value of the goal's revenue_attribute in micro-units (§5.10: rounded half away from zero
	// to 6 decimals); 0 when missing/non-numeric.
	RevenueMicros int64
}

// SessionMS is the IN_SESSION window: a click qualifies when s ≤ t ≤ s + 30 minutes (SPEC §6.1).
const SessionMS = 30 * 60 * 1000

const hourMS = 3600 * 1000

type goal struct {
	name       string
	eventName  string
	revenueKey string
	filter     *filter // nil: no filter
}

type unitInfo struct {
	windowMS int64
	goals    []goal
}

type goalRef struct {
	unit string
	idx  int
}

// Catalog answers goal questions about units. NewCatalog builds it from a domain.CatalogView: a unit's goals and
// window are its own conversion_goal_details, else its parent's; the window defaults to the unit's channel maximum
// (domain.Channel.MaxAttributionWindowHours of view.Channel(unit)). A Catalog is immutable and safe for concurrent
// use.
type Catalog struct {
	units   map[string]*unitInfo
	byEvent map[string][]goalRef // goal_event_name → goals, by unit id then goal order
	// byUnitEvent is byEvent per unit: evaluating a goal event for the few units a user touched looks them up
	// instead of walking every campaign with that goal event name.
	byUnitEvent map[unitEvent][]goalRef
	maxWin      int64
}

type unitEvent struct{ unit, event string }

// NewCatalog builds the catalog of every campaign of view that has at least one goal (its own or its parent's).
// Within a unit, a goal whose goal_name repeats an earlier goal's is ignored (PUT rejects such bodies). An explicit
// window that is not positive is replaced by the channel maximum.
func NewCatalog(view *domain.CatalogView) *Catalog {
	c := &Catalog{units: map[string]*unitInfo{}, byEvent: map[string][]goalRef{}, byUnitEvent: map[unitEvent][]goalRef{}}
	if view == nil {
		return c
	}
	for _, camp := range view.All() { // sorted by id, so byEvent lists are in unit order
		id := camp.ID
		gd := view.Goals(id)
		if gd == nil || len(gd.Goals) == 0 {
			continue
		}
		hours := view.Channel(id).MaxAttributionWindowHours()
		if gd.AttributionWindowHours != nil && *gd.AttributionWindowHours > 0 {
			hours = *gd.AttributionWindowHours
		}
		u := &unitInfo{windowMS: int64(hours) * hourMS}
		seen := map[string]bool{}
		for _, g := range gd.Goals {
			if seen[g.Name] {
				continue
			}
			seen[g.Name] = true
			ref := goalRef{unit: id, idx: len(u.goals)}
			c.byEvent[g.EventName] = append(c.byEvent[g.EventName], ref)
			c.byUnitEvent[unitEvent{id, g.EventName}] = append(c.byUnitEvent[unitEvent{id, g.EventName}], ref)
			u.goals = append(u.goals, goal{name: g.Name, eventName: g.EventName, revenueKey: g.RevenueAttribute,
				filter: compileFilter(g.Filter)})
		}
		c.units[id] = u
		if u.windowMS > c.maxWin {
			c.maxWin = u.windowMS
		}
	}
	return c
}

// MaxWindowMS is the largest attribution window, in milliseconds, of any unit with goals (0 when there is none).
// An interaction older than t − MaxWindowMS can explain no goal event at t.
func (c *Catalog) MaxWindowMS() int64 { return c.maxWin }

// WindowMS returns the attribution window of unit in milliseconds; ok is false when the unit has no goals.
func (c *Catalog) WindowMS(unit string) (int64, bool) {
	u, ok := c.units[unit]
	if !ok {
		return 0, false
	}
	return u.windowMS, true
}

// GoalNames returns every goal_event_name of any unit (a fresh map the caller may keep).
func (c *Catalog) GoalNames() map[string]bool {
	out := make(map[string]bool, len(c.byEvent))
	for name := range c.byEvent {
		out[name] = true
	}
	return out
}

// Goals returns the effective goal names of unit in catalog order (nil when it has none).
func (c *Catalog) Goals(unit string) []string {
	u, ok := c.units[unit]
	if !ok {
		return nil
	}
	out := make([]string, len(u.goals))
	for i, g := range u.goals {
		out[i] = g.name
	}
	return out
}

// matched is one unit of M with its matching goals G_C (in goal order) and their revenues.
type matched struct {
	unit    string
	info    *unitInfo
	goals   []int
	revenue []int64
}

// Evaluate returns every credit of goal event e given ALL of the user's interactions (any order; the result does
// not depend on their order). It implements SPEC §6.2 steps 1–9 for all five types plus control groups; step 10
// (range) is the caller's. Credits are sorted by unit, then type (None first), then group, then the unit's goal
// order. Interactions of units that have no goal matching e are ignored.
func (c *Catalog) Evaluate(e GoalEvent, interactions []Interaction) []Credit {
	out, _, _ := c.evaluate(e, interactions, false, nil)
	return out
}

// EvaluateSources is Evaluate that also returns, per credit, the index in interactions of the interaction the
// credit was given for. Every credit is given for one interaction chosen by a strict order (most recent, best,
// winner), so removing an interaction that no credit was given for leaves the credits unchanged: a caller can
// tell from the sources whether some interactions change a goal event's credits without evaluating it twice.
//
// Credits of a unit depend on that unit's interactions only, but for the total-conversions credits (steps 5 and
// 6), given to one unit chosen across units. When added is not nil (parallel to interactions, marking the ones
// added since the goal event's credits were last evaluated), winnerBefore is the unit those credits went to without
// the added interactions ("" when none): the units whose credits the added interactions change are the units of
// the credits given for one of them, and winnerBefore.
func (c *Catalog) EvaluateSources(e GoalEvent, interactions []Interaction, added []bool) (credits []Credit, sources []int, winnerBefore string) {
	return c.evaluate(e, interactions, true, added)
}

// evaluate implements Evaluate and EvaluateSources; the sources are only collected when withSources is set, the
// winner without the added interactions only when added is not nil.
func (c *Catalog) evaluate(e GoalEvent, interactions []Interaction, withSources bool, added []bool) ([]Credit, []int, string) {
	// Only units with an interaction (or held-out view) within their own window of e can be credited: match goals
	// for those alone (an active user has interactions with many units, most of them outside the shorter windows).
	present := make(map[string]bool, 8)
	t := e.TimeMS
	for i := range interactions {
		in := &interactions[i]
		if present[in.Unit] || in.TimeMS > t {
			continue
		}
		if u, ok := c.units[in.Unit]; ok && t-in.TimeMS <= u.windowMS {
			present[in.Unit] = true
		}
	}
	ms := c.match(e, present)
	if len(ms) == 0 {
		return nil, nil, ""
	}

	// Step 1: per unit, the qualifying interactions Q_C and held-out views, reduced on the fly to the few
	// interactions each step needs.
	type perUnit struct {
		recent  *Interaction    // most recent in Q_C (VIEW_THROUGH)
		best    *Interaction    // best_C: greatest depth, then latest (TOTAL_CONVERSIONS)
		before  *Interaction    // best_C of the interactions not added (EvaluateSources)
		click   *Interaction    // most recent in K_C (CLICK_THROUGH)
		session *Interaction    // most recent in S_C (IN_SESSION)
		held    [3]*Interaction // most recent qualifying held-out view per control group
	}
	units := make([]perUnit, len(ms))
	// A user's matched units are usually few and a scan finds them fastest; a user active in many units gets a map.
	find := func(unit string) int { return matchedUnit(ms, unit) }
	if len(ms) > 8 {
		pos := make(map[string]int, len(ms))
		for k := range ms {
			pos[ms[k].unit] = k
		}
		find = func(unit string) int {
			if k, ok := pos[unit]; ok {
				return k
			}
			return -1
		}
	}
	for i := range interactions {
		in := &interactions[i]
		k := find(in.Unit)
		if k < 0 || in.TimeMS > t || t-in.TimeMS > ms[k].info.windowMS {
			continue // s ≤ t ≤ s + W_C, inclusive (written to avoid overflow)
		}
		p := &units[k]
		switch in.Class {
		case domain.ClassSend, domain.ClassView, domain.ClassClick:
			if p.recent == nil || moreRecent(in, p.recent) {
				p.recent = in
			}
			if p.best == nil || better(in, p.best) {
				p.best = in
			}
			if added != nil && !added[i] && (p.before == nil || better(in, p.before)) {
				p.before = in
			}
			if in.Class == domain.ClassClick {
				if p.click == nil || moreRecent(in, p.click) {
					p.click = in
				}
				if t-in.TimeMS <= SessionMS && (p.session == nil || moreRecent(in, p.session)) {
					p.session = in
				}
			}
		case domain.ClassHeldOut:
			if in.Group == CampaignControl || in.Group == GlobalControl {
				if h := p.held[in.Group]; h == nil || moreRecent(in, h) {
					p.held[in.Group] = in
				}
			}
		}
	}

	var out []Credit
	var sources []*Interaction // parallel to out, when withSources
	emit := func(m *matched, typ Type, grp Group, src *Interaction) {
		for j, gi := range m.goals {
			cr := Credit{GoalUUID: e.UUID, TimeMS: t, Unit: m.unit, Goal: m.info.goals[gi].name, Type: typ, Group: grp,
				Platform: src.Platform, Locale: src.Locale, RevenueMicros: m.revenue[j]}
			if grp == Regular {
				cr.Variation = src.Variation
			}
			out = append(out, cr)
			if withSources {
				sources = append(sources, src)
			}
		}
	}
	winner, before := -1, -1
	for k := range ms {
		m, p := &ms[k], &units[k]
		// Step 7: control groups, independent of steps 2–6.
		for _, g := range [...]Group{CampaignControl, GlobalControl} {
			if h := p.held[g]; h != nil {
				emit(m, None, g, h)
			}
		}
		if p.recent != nil { // Step 2
			emit(m, ViewThrough, Regular, p.recent)
		}
		if p.click != nil { // Step 3
			emit(m, ClickThrough, Regular, p.click)
		}
		if p.session != nil { // Step 4
			emit(m, InSession, Regular, p.session)
		}
		// Step 5: the winner has the greatest depth, then the latest s, then the smallest campaign_id; ms is
		// sorted by unit id, so a strict improvement is needed to replace an earlier unit.
		if b := p.best; b != nil && (winner < 0 || wins(b, units[winner].best)) {
			winner = k
		}
		if b := p.before; b != nil && (before < 0 || wins(b, units[before].before)) {
			before = k
		}
	}
	winnerBefore := ""
	if before >= 0 {
		winnerBefore = ms[before].unit
	}
	if winner >= 0 {
		b := units[winner].best
		emit(&ms[winner], TotalConversions, Regular, b)
		if b.Class == domain.ClassClick { // Step 6
			emit(&ms[winner], ClickConversions, Regular, b)
		}
	}
	byKey := func(a, b Credit) int {
		return cmp.Or(strings.Compare(a.Unit, b.Unit), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Group, b.Group))
	}
	if !withSources || len(out) == 0 {
		slices.SortStableFunc(out, byKey)
		return out, nil, winnerBefore
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return byKey(out[a], out[b]) })
	sorted, at := make([]Credit, len(out)), make([]int, len(out))
	for i, o := range order {
		sorted[i] = out[o]
		at[i] = indexOf(interactions, sources[o])
	}
	return sorted, at, winnerBefore
}

// wins reports whether a unit whose best interaction is b takes the total-conversions credit from an earlier unit
// (in unit order) whose best is w: a strict improvement, greater depth, then a later s (step 5).
func wins(b, w *Interaction) bool {
	return b.Class > w.Class || (b.Class == w.Class && b.TimeMS > w.TimeMS)
}

// match computes M and G_C (step 1) with each matching goal's revenue, sorted by unit id, restricted to the units
// in present when it is not nil (the others have no interaction and so no credit).
func (c *Catalog) match(e GoalEvent, present map[string]bool) []matched {
	var ms []matched
	var pos map[string]int // unit → position in ms, once ms is long
	var attrs map[string]json.RawMessage
	decoded := false
	getAttrs := func() map[string]json.RawMessage {
		if !decoded {
			attrs, decoded = decodeAttrs(e.Attributes), true
		}
		return attrs
	}
	for ni, name := range e.Names {
		refs := c.byEvent[name]
		if len(refs) == 0 || containsString(e.Names[:ni], name) {
			continue
		}
		if present != nil && len(present) < len(refs) {
			// Fewer touched units than goals with this event name: look the units up (same refs, other order;
			// the result is sorted below).
			refs = nil
			for unit := range present {
				refs = append(refs, c.byUnitEvent[unitEvent{unit, name}]...)
			}
		}
		for _, r := range refs {
			if present != nil && !present[r.unit] {
				continue // a unit the user never touched
			}
			k := -1
			if pos != nil {
				if at, ok := pos[r.unit]; ok {
					k = at
				}
			} else {
				k = matchedUnit(ms, r.unit)
			}
			if k >= 0 && slices.Contains(ms[k].goals, r.idx) {
				continue // already matched through another action name
			}
			u := c.units[r.unit]
			g := &u.goals[r.idx]
			if g.filter != nil && !g.filter.match(getAttrs()) {
				continue
			}
			var rev int64
			if g.revenueKey != "" {
				rev = revenueFrom(getAttrs(), g.revenueKey)
			}
			if k < 0 {
				ms = append(ms, matched{unit: r.unit, info: u})
				k = len(ms) - 1
				if pos != nil {
					pos[r.unit] = k
				} else if len(ms) > 8 { // a user active in many units: a map finds them faster than a scan
					pos = make(map[string]int, 2*len(ms))
					for i := range ms {
						pos[ms[i].unit] = i
					}
				}
			}
			ms[k].goals = append(ms[k].goals, r.idx)
			ms[k].revenue = append(ms[k].revenue, rev)
		}
	}
	for i := range ms {
		m := &ms[i]
		sort.Sort(byGoal{m.goals, m.revenue})
	}
	slices.SortFunc(ms, func(a, b matched) int { return strings.Compare(a.unit, b.unit) })
	return ms
}

// indexOf returns the position in interactions of the element p points to (-1 when p points elsewhere).
func indexOf(interactions []Interaction, p *Interaction) int {
	for i := range interactions {
		if &interactions[i] == p {
			return i
		}
	}
	return -1
}

// matchedUnit returns the position of unit in ms (-1 when absent): a user's matched units are few, so a scan
// is cheaper than a map.
func matchedUnit(ms []matched, unit string) int {
	for i := range ms {
		if ms[i].unit == unit {
			return i
		}
	}
	return -1
}

type byGoal struct {
	idx []int
	rev []int64
}

func (b byGoal) Len() int           { return len(b.idx) }
func (b byGoal) Less(i, j int) bool { return b.idx[i] < b.idx[j] }
func (b byGoal) Swap(i, j int) {
	b.idx[i], b.idx[j] = b.idx[j], b.idx[i]
	b.rev[i], b.rev[j] = b.rev[j], b.rev[i]
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MoreRecent reports whether a is more recent than b in the order that chooses a credit's most recent interaction:
// later instant; at the same instant greater depth, then smaller event_uuid (SPEC §6.2.8), then dimensions.
func MoreRecent(a, b *Interaction) bool { return moreRecent(a, b) }

// moreRecent reports whether a is more recent than b: later instant; at the same instant greater depth, then
// smaller event_uuid (SPEC §6.2.8); remaining ties (equal uuids) by dimensions, so that the choice never depends on
// input order.
func moreRecent(a, b *Interaction) bool {
	if a.TimeMS != b.TimeMS {
		return a.TimeMS > b.TimeMS
	}
	return sameInstantBefore(a, b)
}

// better reports whether a beats b as best_C: greater depth, then later instant, then smaller event_uuid.
func better(a, b *Interaction) bool {
	if a.Class != b.Class {
		return a.Class > b.Class
	}
	if a.TimeMS != b.TimeMS {
		return a.TimeMS > b.TimeMS
	}
	return sameInstantBefore(a, b)
}

// sameInstantBefore is the §6.2.8 tie-break between interactions at the same instant: greater depth, then smallest
// event_uuid, then (for duplicates) smallest platform, locale, variation.
func sameInstantBefore(a, b *Interaction) bool {
	if a.Class != b.Class {
		return a.Class > b.Class
	}
	if a.UUID != b.UUID {
		return a.UUID < b.UUID
	}
	if a.Platform != b.Platform {
		return a.Platform < b.Platform
	}
	if a.Locale != b.Locale {
		return a.Locale < b.Locale
	}
	return a.Variation < b.Variation
}
