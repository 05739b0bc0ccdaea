package e2e

// The conversions half of the reference model, written from SPEC §2.4, §2.5, §2.7, §2.8, §3.8, §3.9, §3.10, §3.12,
// §5.5, §5.10, §5.12, §5.15, §6 and §12 alone: goal events (Streams user events, Track Event and Bulk Import
// actions), goal definitions with their attribute filters, the §6.2 credit algorithm for the five attribution types
// and the control groups, and the exact (rational) arithmetic of conversion_goal_stats.

import (
	"encoding/json"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ---------------------------------------------------------------------------------------------------------------
// Interaction classes (§4.2 "Class" column, §6.1 depth)

const (
	classNone = 0
	classSend = 1 // S, depth 1
	classView = 2 // V, depth 2
	classClik = 3 // K, depth 3
)

// rowClass reads the class of a §4.2 row from the counter it feeds: every row that feeds sent or
// successfully_synced is S; impression, delivered, open (§13.1) or read is V; click is K; everything else (failures,
// bounces, closes, unsubscribes, counter-less codes, held-out rows) has no interaction class.
func rowClass(r *codeRow) int {
	if r == nil || r.ControlGroup || r.FailedToSend || r.DeliveryFailure {
		return classNone
	}
	for _, c := range r.Counters {
		switch c {
		case "sent", "successfully_synced":
			return classSend
		case "impression", "delivered", "open", "read":
			return classView
		case "click":
			return classClik
		}
	}
	return classNone
}

// channelMaxWindow is the §2.4 maximum (and default) attribution window in hours.
func channelMaxWindow(ch string) int {
	switch ch {
	case chEmail, chSMS, chWhatsApp:
		return 240
	}
	return 36
}

// ---------------------------------------------------------------------------------------------------------------
// Goal definitions (§2.4, §3.12.1, §3.12.3)

type refGoalFilter struct {
	Name, Cond    string
	Value, Value1 any
	Negate        bool
	CaseSensitive bool
	Type          string // "STRING", "NUMBER", "BOOL", "DATETIME" or "" (from the JSON type of value)
}

type refGoal struct {
	Name, Event, Revenue string
	Filter               *refGoalFilter
}

type refGoalDetails struct {
	Window int // hours; 0 = absent (channel maximum)
	Goals  []*refGoal
}

var filterConditions = map[string]string{
	"is": "is", "equals": "is", "eq": "is",
	"contains": "contains", "starts_with": "starts_with", "ends_with": "ends_with", "in": "in", "exists": "exists",
	"greater_than": "gt", "gt": "gt", "greater_than_or_equal": "gte", "gte": "gte",
	"less_than": "lt", "lt": "lt", "less_than_or_equal": "lte", "lte": "lte", "between": "between",
}

// parseGoalDetails validates conversion_goal_details of a PUT body (decoded with json.Number) against the
// effective channel. ok=false means 400.
func parseGoalDetails(v any, channel string) (*refGoalDetails, bool) {
	if v == nil {
		return nil, true
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil, false
	}
	d := &refGoalDetails{}
	if w, present := obj["attribution_window_in_hours"]; present && w != nil {
		n, isNum := w.(json.Number)
		if !isNum {
			return nil, false
		}
		i, err := strconv.Atoi(string(n))
		if err != nil || i < 1 || i > channelMaxWindow(channel) {
			return nil, false
		}
		d.Window = i
	}
	goals, _ := obj["goals"].([]any)
	if gv, present := obj["goals"]; present && gv != nil && goals == nil {
		return nil, false
	}
	if len(goals) > 10 {
		return nil, false
	}
	names := map[string]bool{}
	primaries := 0
	for _, gv := range goals {
		g, isObj := gv.(map[string]any)
		if !isObj {
			return nil, false
		}
		name, _ := g["goal_name"].(string)
		event, _ := g["goal_event_name"].(string)
		if name == "" || utf8.RuneCountInString(name) > 128 || names[name] || event == "" || utf8.RuneCountInString(event) > 256 {
			return nil, false
		}
		names[name] = true
		if p, _ := g["is_primary_goal"].(bool); p {
			primaries++
		}
		goal := &refGoal{Name: name, Event: event}
		goal.Revenue, _ = g["revenue_attribute"].(string)
		if fv := g["goal_event_attribute"]; fv != nil {
			f, isObj := fv.(map[string]any)
			if !isObj {
				return nil, false
			}
			fname, _ := f["name"].(string)
			cond, known := filterConditions[strOf(f["condition"])]
			if fname == "" || !known {
				return nil, false
			}
			flt := &refGoalFilter{Name: fname, Cond: cond, Value: f["value"], Value1: f["value1"]}
			flt.Negate, _ = f["negate"].(bool)
			flt.CaseSensitive, _ = f["is_case_sensitive"].(bool)
			switch strings.ToUpper(strOf(f["data_type"])) {
			case "STRING":
				flt.Type = "STRING"
			case "NUMBER", "DOUBLE":
				flt.Type = "NUMBER"
			case "BOOL":
				flt.Type = "BOOL"
			case "DATETIME":
				flt.Type = "DATETIME"
			}
			goal.Filter = flt
		}
		d.Goals = append(d.Goals, goal)
	}
	if primaries > 1 {
		return nil, false
	}
	return d, true
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

var numericString = regexp.MustCompile(`^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// ratOf converts a JSON number or a numeric string to an exact rational.
func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		return r, ok
	case string:
		if !numericString.MatchString(x) {
			return nil, false
		}
		r, ok := new(big.Rat).SetString(x)
		return r, ok
	}
	return nil, false
}

// filterType is the comparison type: data_type, else the JSON type of value (§3.12.3).
func (f *refGoalFilter) filterType() string {
	if f.Type != "" {
		return f.Type
	}
	v := f.Value
	if arr, isArr := v.([]any); isArr && len(arr) > 0 {
		v = arr[0]
	}
	switch v.(type) {
	case string:
		return "STRING"
	case json.Number:
		return "NUMBER"
	case bool:
		return "BOOL"
	}
	return "STRING"
}

// equal compares an attribute value with a filter value under the comparison type.
func (f *refGoalFilter) equal(attr, val any) bool {
	switch f.filterType() {
	case "NUMBER":
		a, ok1 := ratOf(attr)
		b, ok2 := ratOf(val)
		return ok1 && ok2 && a.Cmp(b) == 0
	case "BOOL":
		a, ok1 := attr.(bool)
		b, ok2 := val.(bool)
		return ok1 && ok2 && a == b
	case "DATETIME":
		a, ok1 := parseTimeValue(attr)
		b, ok2 := parseTimeValue(val)
		return ok1 && ok2 && a == b
	default:
		a, ok1 := attr.(string)
		b, ok2 := val.(string)
		if !ok1 || !ok2 {
			return false
		}
		if f.CaseSensitive {
			return a == b
		}
		return strings.EqualFold(a, b)
	}
}

// compare orders an attribute value against a filter value (numbers, or instants for DATETIME).
func (f *refGoalFilter) compare(attr, val any) (int, bool) {
	if f.filterType() == "DATETIME" {
		a, ok1 := parseTimeValue(attr)
		b, ok2 := parseTimeValue(val)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	}
	a, ok1 := ratOf(attr)
	b, ok2 := ratOf(val)
	if !ok1 || !ok2 {
		return 0, false
	}
	return a.Cmp(b), true
}

func (f *refGoalFilter) holds(attrs map[string]any) bool {
	return f.eval(attrs) != f.Negate
}

func (f *refGoalFilter) eval(attrs map[string]any) bool {
	v, present := attrs[f.Name]
	if f.Cond == "exists" {
		return present && v != nil
	}
	if !present || v == nil {
		return false
	}
	fold := func(s string) string {
		if f.CaseSensitive {
			return s
		}
		return strings.ToLower(s)
	}
	switch f.Cond {
	case "is":
		return f.equal(v, f.Value)
	case "contains":
		if arr, isArr := v.([]any); isArr {
			for _, el := range arr {
				if f.equal(el, f.Value) {
					return true
				}
			}
			return false
		}
		s, ok1 := v.(string)
		w, ok2 := f.Value.(string)
		return ok1 && ok2 && strings.Contains(fold(s), fold(w))
	case "starts_with", "ends_with":
		s, ok1 := v.(string)
		w, ok2 := f.Value.(string)
		if !ok1 || !ok2 {
			return false
		}
		if f.Cond == "starts_with" {
			return strings.HasPrefix(fold(s), fold(w))
		}
		return strings.HasSuffix(fold(s), fold(w))
	case "in":
		arr, _ := f.Value.([]any)
		for _, el := range arr {
			if f.equal(v, el) {
				return true
			}
		}
		return false
	case "gt", "gte", "lt", "lte":
		c, ok := f.compare(v, f.Value)
		if !ok {
			return false
		}
		switch f.Cond {
		case "gt":
			return c > 0
		case "gte":
			return c >= 0
		case "lt":
			return c < 0
		}
		return c <= 0
	case "between":
		lo, ok1 := f.compare(v, f.Value)
		hi, ok2 := f.compare(v, f.Value1)
		return ok1 && ok2 && lo >= 0 && hi <= 0
	}
	return false
}

// ---------------------------------------------------------------------------------------------------------------
// Goal events (§2.7)

type refGoalEvent struct {
	Seq     int
	Source  string // "streams", "track", "bulk"
	UUID    string // Streams only
	TimeMs  int64
	UserKey string
	Names   []string // action names: event_name and event_code (Streams) or action (Track / Bulk)
	Attrs   map[string]any
}

func (e *refGoalEvent) matches(g *refGoal) bool {
	named := false
	for _, n := range e.Names {
		if n == g.Event {
			named = true
			break
		}
	}
	return named && (g.Filter == nil || g.Filter.holds(e.Attrs))
}

// revenueMicros reads the revenue attribute of a goal in micro-units, rounded half away from zero (§5.10, §5.12):
// a JSON number or a numeric string; missing or non-numeric → 0.
func (e *refGoalEvent) revenueMicros(g *refGoal) int64 {
	if g.Revenue == "" {
		return 0
	}
	r, ok := ratOf(e.Attrs[g.Revenue])
	if !ok {
		return 0
	}
	r.Mul(r, big.NewRat(1000000, 1))
	return roundHalfAway(r.Num(), r.Denom()).Int64()
}

// roundHalfAway returns num/den rounded half away from zero to an integer.
func roundHalfAway(num, den *big.Int) *big.Int {
	n := new(big.Int).Abs(num)
	d := new(big.Int).Abs(den)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if new(big.Int).Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if num.Sign()*den.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

// pct2 returns num/den × 100 rounded half away from zero to 2 decimals (§5.10); 0 when den is 0.
func pct2(num, den *big.Int) float64 {
	if den.Sign() == 0 {
		return 0
	}
	q := roundHalfAway(new(big.Int).Mul(num, big.NewInt(10000)), den)
	f, _ := strconv.ParseFloat(q.String(), 64)
	return f / 100
}

func bi(v int64) *big.Int { return big.NewInt(v) }

// ---------------------------------------------------------------------------------------------------------------
// Track Event and Bulk Import (§3.8, §3.9, §3.10)

var trackBlacklist = map[string]bool{"unknown": true, "guest": true, "null": true, "0": true, "1": true, "2": true,
	"-1": true, "-2": true, "true": true, "false": true, "user_attribute_unique_id": true, "(empty)": true, "na": true,
	"n/a": true, "''": true, "dummy_seller_code": true, "user_id": true, "id": true, "customer_id": true, "uid": true,
	"userid": true, "none": true}

// trackUserKey forms the §2.8 user key of a Track / Bulk event object; status 400 with a message when refused.
func trackUserKey(obj map[string]any) (string, string) {
	if cid, present := obj["customer_id"]; present && cid != nil {
		s, ok := jsonText(cid)
		if ok && strings.TrimSpace(s) != "" {
			s = strings.TrimSpace(s)
			if trackBlacklist[strings.ToLower(s)] {
				return "", "customer_id value is not allowed"
			}
			if utf8.RuneCountInString(s) > 256 { // §12.11
				return "", "customer_id is longer than 256 characters"
			}
			return "uid:" + s, ""
		}
	}
	ids, _ := obj["user_identifiers"].(map[string]any)
	if len(ids) == 0 {
		return "", "customer_id is not found in the payload"
	}
	text := func(k string) string {
		s, _ := jsonText(ids[k])
		return strings.TrimSpace(s)
	}
	for _, k := range trackIdentifierOrder(ids) { // §12.11: the chosen value has at most 256 characters
		if s := text(k); s != "" {
			if utf8.RuneCountInString(s) > 256 {
				return "", "customer_id is longer than 256 characters"
			}
			break
		}
	}
	if s := text("moe_email"); s != "" {
		return "email:" + strings.ToLower(s), ""
	}
	if s := text("moe_mobile"); s != "" {
		return "mobile:" + s, ""
	}
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "moe_email" || k == "moe_mobile" {
			continue
		}
		if s := text(k); s != "" {
			return "id:" + k + ":" + s, ""
		}
	}
	// A non-empty user_identifiers object without any usable value: not modelled (the workload never sends it).
	return "", "customer_id is not found in the payload"
}

// trackIdentifierOrder lists user_identifiers keys in §2.8 order: moe_email, moe_mobile, then the others by name.
func trackIdentifierOrder(ids map[string]any) []string {
	var rest []string
	for k := range ids {
		if k != "moe_email" && k != "moe_mobile" {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append([]string{"moe_email", "moe_mobile"}, rest...)
}

// trackActionTime reads an action's instant (§3.8): current_time, else user_time (local when it has no offset),
// else the receipt time.
func trackActionTime(a map[string]any, receipt time.Time) (int64, string) {
	if v, present := a["current_time"]; present && v != nil {
		ms, ok := parseTimeValue(v)
		if !ok {
			return 0, "current_time is not a valid epoch or ISO-8601 time"
		}
		if ms < minEventMs {
			return 0, "current_time is before 2000-01-01" // §12.12
		}
		if ms > receipt.Add(5*time.Minute).UnixMilli() {
			return 0, "current_time is more than 5 minutes in the future"
		}
		return ms, ""
	}
	if v, present := a["user_time"]; present && v != nil {
		ms, ok := parseTimeValue(v)
		if !ok {
			return 0, "user_time is not a valid epoch or ISO-8601 time"
		}
		if s, isStr := v.(string); isStr && !isEpochText(s) {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil { // no offset: local time
				if off, isNum := a["user_timezone_offset"].(json.Number); isNum {
					if o, err := strconv.ParseInt(string(off), 10, 64); err == nil {
						ms -= o * 1000
					}
				}
			}
		}
		if ms < minEventMs {
			return 0, "user_time is before 2000-01-01" // §12.12
		}
		if ms > receipt.Add(5*time.Minute).UnixMilli() {
			return 0, "user_time is more than 5 minutes in the future"
		}
		return ms, ""
	}
	return receipt.UnixMilli(), ""
}

// parseTrackEvent validates one Track Event object (or Bulk event element) and returns its goal events.
func parseTrackEvent(obj map[string]any, source string, receipt time.Time) ([]*refGoalEvent, string) {
	uk, msg := trackUserKey(obj)
	if msg != "" {
		return nil, msg
	}
	acts, isArr := obj["actions"].([]any)
	if _, present := obj["actions"]; !present {
		return nil, "actions is not found in the payload"
	}
	if !isArr || len(acts) == 0 {
		return nil, "actions can not be empty Array"
	}
	var out []*refGoalEvent
	for _, av := range acts {
		a, isObj := av.(map[string]any)
		if !isObj {
			return nil, "action is not found in the payload"
		}
		name, present := a["action"]
		if !present {
			return nil, "action is not found in the payload"
		}
		s, isStr := name.(string)
		if !isStr {
			return nil, "action should be a string"
		}
		if s == "" {
			return nil, "action cannot be empty Unicode string"
		}
		attrs := map[string]any{}
		if at, present := a["attributes"]; present && at != nil {
			m, isObj := at.(map[string]any)
			if !isObj {
				return nil, "attributes should be an object"
			}
			attrs = m
		}
		ms, msg := trackActionTime(a, receipt)
		if msg != "" {
			return nil, msg
		}
		out = append(out, &refGoalEvent{Source: source, TimeMs: ms, UserKey: uk, Names: []string{s}, Attrs: attrs})
	}
	return out, ""
}

// TrackRequest applies one Track Event ("event") or Bulk Import ("transition") request with an optional
// Idempotency-Key and returns the expected HTTP status, the error message for a 400, and whether the request is a
// replay of an earlier key (nothing ingested). Requests are atomic.
func (m *refModel) TrackRequest(endpoint, key string, body []byte, receipt time.Time) (int, string, bool) {
	if key != "" {
		if m.idem[endpoint+"|"+key] {
			return 0, "", true
		}
	}
	status, msg := m.trackApply(endpoint, body, receipt)
	if key != "" {
		m.idem[endpoint+"|"+key] = true
	}
	return status, msg, false
}

func (m *refModel) trackApply(endpoint string, body []byte, receipt time.Time) (int, string) {
	v, err := decodeJSON(body)
	if err != nil {
		return 400, "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."
	}
	obj, _ := v.(map[string]any)
	if obj == nil {
		return 400, "body should be a JSON object"
	}
	var events []*refGoalEvent
	switch endpoint {
	case "event":
		if _, present := obj["type"]; !present {
			return 400, "type is not found in the payload"
		}
		if obj["type"] != "event" {
			return 400, "type should be event"
		}
		evs, msg := parseTrackEvent(obj, "track", receipt)
		if msg != "" {
			return 400, msg
		}
		events = evs
	case "transition":
		if _, present := obj["type"]; !present {
			return 400, "type is not found in the payload"
		}
		if obj["type"] != "transition" {
			return 400, "type should be transition"
		}
		els, isArr := obj["elements"].([]any)
		if _, present := obj["elements"]; !present {
			return 400, "elements is not found in the payload"
		}
		if !isArr || len(els) == 0 {
			return 400, "elements cannot be empty array"
		}
		for _, ev := range els {
			el, _ := ev.(map[string]any)
			switch strOf(el["type"]) {
			case "customer", "device":
			case "event":
				evs, msg := parseTrackEvent(el, "bulk", receipt)
				if msg != "" {
					return 400, msg
				}
				events = append(events, evs...)
			default:
				return 400, "type in elements should be customer/event/device"
			}
		}
	}
	for _, e := range events {
		m.sequence++
		e.Seq = m.sequence
		m.goalEvents = append(m.goalEvents, e)
	}
	m.version++
	return 200, ""
}

// ---------------------------------------------------------------------------------------------------------------
// Credits (§6)

type refCredit struct {
	GE   *refGoalEvent
	Unit string
	Goal *refGoal
	// P is the device-platform key ("" without one: ALL_PLATFORMS only, §13.1); V is ccgVariation / gcgVariation
	// for control-group credits, else the interaction's variation.
	P, L, V string
	CG      bool
}

// effectiveGoals returns the goal details in force for a unit: its own, else its parent's (§2.3, §6.1).
func (cv *catalogView) effectiveGoals(id string) *refGoalDetails {
	if d := cv.goals[id]; d != nil {
		return d
	}
	if p := cv.parent[id]; p != "" {
		return cv.goals[p]
	}
	return nil
}

// windowMs is W_C in milliseconds; an absent window is the unit's channel maximum.
func (cv *catalogView) windowMs(id string) int64 {
	h := 0
	if d := cv.effectiveGoals(id); d != nil {
		h = d.Window
	}
	if h == 0 {
		h = channelMaxWindow(cv.channel[id])
	}
	return int64(h) * 3600 * 1000
}

// goalNames lists the goal names of a campaign's entry: its effective goals and, for a parent, its children's.
func (cv *catalogView) goalNames(id string) []string {
	set := map[string]bool{}
	for _, c := range cv.members(id) {
		if d := cv.effectiveGoals(c); d != nil {
			for _, g := range d.Goals {
				set[g.Name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func normAttribution(s string) string {
	u := strings.ToUpper(s)
	if u == "" {
		return "VIEW_THROUGH"
	}
	return u
}

// mostRecent picks the latest interaction: latest instant, then greater depth, then smallest event_uuid (§6.2.8).
func mostRecent(list []*refEvent) *refEvent {
	var best *refEvent
	for _, e := range list {
		if best == nil || e.TimeMs > best.TimeMs ||
			e.TimeMs == best.TimeMs && (rowClass(e.Row) > rowClass(best.Row) ||
				rowClass(e.Row) == rowClass(best.Row) && e.UUID < best.UUID) {
			best = e
		}
	}
	return best
}

// deepest picks best_C of step 5: greatest depth, then latest instant, then smallest event_uuid.
func deepest(list []*refEvent) *refEvent {
	var best *refEvent
	for _, e := range list {
		d, bd := 0, 0
		if best != nil {
			d, bd = rowClass(e.Row), rowClass(best.Row)
		}
		if best == nil || d > bd || d == bd && (e.TimeMs > best.TimeMs || e.TimeMs == best.TimeMs && e.UUID < best.UUID) {
			best = e
		}
	}
	return best
}

func isHeldOut(e *refEvent) (bool, bool) {
	r := e.Row
	switch {
	case r.ControlGroup:
		return true, e.CGGlobal
	case r.PushFailure && e.HasCode && (e.Code == 203 || e.Code == 204):
		return true, e.Code == 203
	}
	return false, false
}

// credits computes every credit of every stored goal event under one attribution type (cached per model state).
func (m *refModel) credits(cv *catalogView, attribution string) []refCredit {
	attribution = normAttribution(attribution)
	if c, ok := m.creditCache[attribution]; ok && c.version == m.version {
		return c.credits
	}
	type uc struct{ user, unit string }
	inter := map[uc][]*refEvent{}
	held := map[uc][]*refEvent{}
	unitsOf := map[string]map[string]bool{}
	for _, e := range m.events {
		if !e.Campaign {
			continue
		}
		ch := cv.channel[e.CampaignID]
		if !e.Row.feedsChannel(ch) {
			continue
		}
		k := uc{e.UserKey, e.CampaignID}
		if ho, _ := isHeldOut(e); ho {
			held[k] = append(held[k], e)
		} else if rowClass(e.Row) != classNone {
			inter[k] = append(inter[k], e)
		} else {
			continue
		}
		if unitsOf[e.UserKey] == nil {
			unitsOf[e.UserKey] = map[string]bool{}
		}
		unitsOf[e.UserKey][e.CampaignID] = true
	}
	const session = 30 * 60 * 1000
	var out []refCredit
	for _, ge := range m.goalEvents {
		units := make([]string, 0, len(unitsOf[ge.UserKey]))
		for u := range unitsOf[ge.UserKey] {
			units = append(units, u)
		}
		sort.Strings(units)
		t := ge.TimeMs
		var winner string
		var winnerBest *refEvent
		var winnerGoals []*refGoal
		for _, unit := range units {
			d := cv.effectiveGoals(unit)
			if d == nil {
				continue
			}
			var gs []*refGoal
			for _, g := range d.Goals {
				if ge.matches(g) {
					gs = append(gs, g)
				}
			}
			if len(gs) == 0 {
				continue
			}
			w := cv.windowMs(unit)
			ch := cv.channel[unit]
			credit := func(src *refEvent, v string, cg bool) {
				if !cg {
					v = src.Variation
				}
				for _, g := range gs {
					out = append(out, refCredit{GE: ge, Unit: unit, Goal: g, P: eventPlatform(src, ch), L: src.Locale, V: v, CG: cg})
				}
			}
			var q, k, s []*refEvent
			for _, e := range inter[uc{ge.UserKey, unit}] {
				if e.TimeMs <= t && t <= e.TimeMs+w {
					q = append(q, e)
					if rowClass(e.Row) == classClik {
						k = append(k, e)
						if t <= e.TimeMs+session {
							s = append(s, e)
						}
					}
				}
			}
			switch attribution {
			case "VIEW_THROUGH":
				if len(q) > 0 {
					credit(mostRecent(q), "", false)
				}
			case "CLICK_THROUGH":
				if len(k) > 0 {
					credit(mostRecent(k), "", false)
				}
			case "IN_SESSION":
				if len(s) > 0 {
					credit(mostRecent(s), "", false)
				}
			case "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS":
				if len(q) > 0 {
					b := deepest(q)
					if winnerBest == nil || rowClass(b.Row) > rowClass(winnerBest.Row) ||
						rowClass(b.Row) == rowClass(winnerBest.Row) && (b.TimeMs > winnerBest.TimeMs ||
							b.TimeMs == winnerBest.TimeMs && unit < winner) {
						winner, winnerBest, winnerGoals = unit, b, gs
					}
				}
			}
			// Step 7: control groups, for every attribution type.
			var hc, hg []*refEvent
			for _, e := range held[uc{ge.UserKey, unit}] {
				if e.TimeMs <= t && t <= e.TimeMs+w {
					if _, global := isHeldOut(e); global {
						hg = append(hg, e)
					} else {
						hc = append(hc, e)
					}
				}
			}
			if len(hc) > 0 {
				credit(mostRecent(hc), ccgVariation, true)
			}
			if len(hg) > 0 {
				credit(mostRecent(hg), gcgVariation, true)
			}
		}
		if winnerBest != nil && (attribution == "TOTAL_CONVERSIONS" || rowClass(winnerBest.Row) == classClik) {
			ch := cv.channel[winner]
			for _, g := range winnerGoals {
				out = append(out, refCredit{GE: ge, Unit: winner, Goal: g, P: eventPlatform(winnerBest, ch),
					L: winnerBest.Locale, V: winnerBest.Variation})
			}
		}
	}
	m.creditCache[attribution] = creditCacheEntry{version: m.version, credits: out}
	return out
}

type creditCacheEntry struct {
	version int
	credits []refCredit
}

// ---------------------------------------------------------------------------------------------------------------
// conversion_goal_stats of one node (§5.12)

type goalAcc struct {
	events map[int]int64 // goal event → revenue (micro-units)
	users  map[string]struct{}
}

func (g *goalAcc) add(ge *refGoalEvent, micros int64) {
	if g.events == nil {
		g.events = map[int]int64{}
		g.users = map[string]struct{}{}
	}
	if old, seen := g.events[ge.Seq]; seen && old != micros {
		panic("one goal event with two revenues under one goal name: the workload must not build this")
	}
	g.events[ge.Seq] = micros
	g.users[ge.UserKey] = struct{}{}
}

type expGoal struct {
	Conversions, Total, Unique                 int64
	Revenue, AOV, ARPU, CVR, Uplift, GCGUplift float64
	revenueMicros                              int64
	cvrNum, cvrDen                             int64 // unrounded cvr = cvrNum / cvrDen (× 100)
}

// cgRate is a campaign-wide control-group cvr as a fraction (users / held-out users).
type cgRate struct{ num, den int64 }

func (r cgRate) zero() bool { return r.num == 0 || r.den == 0 }

// upliftOf computes (cvr − cvr_cg) / cvr_cg × 100 exactly from unrounded fractions; 0 when cvr_cg is 0.
func upliftOf(num, den int64, cg cgRate) float64 {
	if cg.zero() {
		return 0
	}
	if den == 0 { // cvr is 0
		return -100
	}
	// (num/den) / (cg.num/cg.den) − 1 = (num·cg.den − cg.num·den) / (den·cg.num)
	n := new(big.Int).Sub(new(big.Int).Mul(bi(num), bi(cg.den)), new(big.Int).Mul(bi(cg.num), bi(den)))
	d := new(big.Int).Mul(bi(den), bi(cg.num))
	return pct2(n, d)
}

func (g *goalAcc) render(base int64, unique bool, ccg, gcg cgRate, cgNode bool) *expGoal {
	e := &expGoal{}
	for _, r := range g.events {
		e.revenueMicros += r
	}
	e.Total = int64(len(g.events))
	e.Unique = int64(len(g.users))
	e.Conversions = e.Total
	if unique {
		e.Conversions = e.Unique
	}
	e.Revenue = pct2(bi(e.revenueMicros), bi(100000000))
	e.AOV = pct2(bi(e.revenueMicros), new(big.Int).Mul(bi(100000000), bi(e.Total)))
	e.ARPU = pct2(bi(e.revenueMicros), new(big.Int).Mul(bi(100000000), bi(e.Unique)))
	e.cvrNum, e.cvrDen = e.Unique, base
	e.CVR = pct2(bi(e.Unique), bi(base))
	if !cgNode {
		e.Uplift = upliftOf(e.Unique, base, ccg)
		e.GCGUplift = upliftOf(e.Unique, base, gcg)
	}
	return e
}

func (e *expGoal) tree(name string) map[string]any {
	return map[string]any{"goal_name": name, "conversions": e.Conversions, "total": e.Total, "unique": e.Unique,
		"revenue": e.Revenue, "average_order_value": e.AOV, "average_revenue_per_user": e.ARPU, "cvr": e.CVR,
		"uplift": e.Uplift, "gcg_uplift": e.GCGUplift}
}
