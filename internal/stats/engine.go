// Package stats is the metric engine: the one place where campaign numbers are computed, for the Stats API and for
// reports alike (SPEC §5, §8.8).
package stats

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Source is what the engine reads.
type Source interface {
	store.Reader
}

// Engine computes campaign statistics.
type Engine struct {
	src Source
}

// New returns an engine reading from src.
func New(src Source) *Engine { return &Engine{src: src} }

// Snapshot returns an engine that reads a snapshot of the store as of now (SPEC §8.4: a report run reads a
// consistent snapshot), and the function that releases it. A source that cannot open snapshots is read live.
func (e *Engine) Snapshot(ctx context.Context) (*Engine, func() error, error) {
	sn, ok := e.src.(store.Snapshotter)
	if !ok {
		return e, func() error { return nil }, nil
	}
	snap, err := sn.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: %w", err)
	}
	return &Engine{src: snap}, snap.Close, nil
}

// Query is a validated Stats request (SPEC §5.3).
type Query struct {
	Workspace   domain.Workspace
	CampaignIDs []string // deduplicated; empty = select active campaigns
	Start, End  time.Time
	Attribution attribution.Type
	Unique      bool
	Offset      int
	Limit       int
}

// Result is the Stats response before encoding (SPEC §5.8), in output order.
type Result struct {
	TotalCampaigns int
	CurrentPage    int
	TotalPages     int
	Campaigns      []CampaignResult
}

// CampaignResult is one campaign's entry in `data`.
type CampaignResult struct {
	ID        string
	Platforms []PlatformResult
}

// PlatformResult is one platform key.
type PlatformResult struct {
	Key     string
	Locales []LocaleResult
}

// LocaleResult is one locale key: all_locales first, then locales ascending.
type LocaleResult struct {
	Key        string
	Variations []VariationResult
}

// Field is a named number in output order.
type Field struct {
	Name  string
	Count int64
	Rate  Decimal
	// IsRate selects Rate over Count.
	IsRate bool
}

// Count is a named integer.
type Count struct {
	Name  string
	Value int64
}

// VariationResult is a variation node (SPEC §5.8). Control is true for the control-group keys, which have no
// performance_stats.
type VariationResult struct {
	Key         string
	Control     bool
	Performance []Field
	Goals       []GoalResult
	Funnel      []Count
	Failures    []Count
}

// GoalResult is one conversion_goal_stats entry (SPEC §5.12).
type GoalResult struct {
	Name                  string
	Conversions           int64
	Total                 int64
	Unique                int64
	Revenue               Decimal
	AverageOrderValue     Decimal
	AverageRevenuePerUser Decimal
	CVR                   Decimal
	Uplift                Decimal
	GCGUplift             Decimal
}

// DayStart returns the first instant of the local calendar day of t's date in loc (SPEC §2.9: a day whose
// midnight falls in a DST gap starts at the first instant after the gap).
func DayStart(year int, month time.Month, day int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, 0, 0, 0, 0, loc)
	y, m, d := t.Date()
	if y == year && m == month && d == day && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t
	}
	start, end := t.ZoneBounds()
	if y == year && m == month && d == day {
		return start
	}
	return end
}

// Range returns the half-open instant range [start 00:00, end+1 00:00) of local dates (SPEC §2.9).
func Range(start, end time.Time, loc *time.Location) (int64, int64) {
	from := DayStart(start.Year(), start.Month(), start.Day(), loc)
	n := end.AddDate(0, 0, 1)
	to := DayStart(n.Year(), n.Month(), n.Day(), loc)
	return from.UnixMilli(), to.UnixMilli()
}

// Stats answers a Stats API query.
func (e *Engine) Stats(ctx context.Context, q Query) (*Result, error) {
	cs, err := e.src.Campaigns(ctx, q.Workspace.ID)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	view := domain.NewCatalogView(cs)
	loc := q.Workspace.Location()
	fromMS, toMS := Range(q.Start, q.End, loc)

	var selected []string
	if len(q.CampaignIDs) > 0 {
		for _, id := range q.CampaignIDs {
			if _, ok := view.Get(id); ok {
				selected = append(selected, id)
			}
		}
	} else {
		active, err := e.src.ActiveCampaigns(ctx, q.Workspace.ID, fromMS, toMS, q.Attribution)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		set := map[string]bool{}
		for _, id := range active {
			if _, ok := view.Get(id); !ok {
				continue
			}
			set[id] = true
			if p := view.Parent(id); p != "" {
				set[p] = true
			}
		}
		for id := range set {
			selected = append(selected, id)
		}
		view.OrderByStart(selected)
	}

	res := &Result{TotalCampaigns: len(selected), CurrentPage: q.Offset/q.Limit + 1}
	res.TotalPages = (len(selected) + q.Limit - 1) / q.Limit
	var page []string
	if q.Offset < len(selected) {
		page = selected[q.Offset:min(q.Offset+q.Limit, len(selected))]
	}
	nodes, err := e.Nodes(ctx, NodesQuery{Workspace: q.Workspace, View: view, CampaignIDs: page,
		FromMS: fromMS, ToMS: toMS, FromDate: q.Start.Format(time.DateOnly), ToDate: q.End.Format(time.DateOnly), Unique: q.Unique,
		Attribution: q.Attribution})
	if err != nil {
		return nil, err
	}
	res.Campaigns = nodes
	return res, nil
}

// NodesQuery asks for the full node tree of given campaigns over a range; reports use it directly.
type NodesQuery struct {
	Workspace        domain.Workspace
	View             *domain.CatalogView
	CampaignIDs      []string
	FromMS, ToMS     int64
	FromDate, ToDate string
	Unique           bool
	Attribution      attribution.Type
	// AllPlatforms folds every platform into one key, AllPlatformsKey (SPEC §8.7 rows without a platform split):
	// TOTAL counts add up, UNIQUE counts are distinct users across platforms, rates are recomputed from the
	// aggregated counts, and a goal event credited on several platforms counts once. It needs a source that
	// implements AllPlatformsSource.
	AllPlatforms bool
	// Shapes leaves out node shapes the caller does not need (reports without a locale or variation split); the
	// zero value computes every node, as the Stats API needs.
	Shapes store.NodeShapes
}

// CampaignDays is one campaign's node trees per local date (NodesDaily): dates with data, ascending.
type CampaignDays struct {
	ID   string
	Days []DayResult
}

// DayResult is a campaign's node tree on one local date: the Platforms a Nodes query for that single date returns.
type DayResult struct {
	Date      string
	Platforms []PlatformResult
}

// nodeKey addresses one variation node of one campaign on one day (day 0 without a day split).
type nodeKey struct {
	day                                   int32
	campaign, platform, locale, variation string
}

// nodeData accumulates a node's numbers.
type nodeData struct {
	metrics map[string]int64 // counter metrics of the requested metric type
	unique  map[string]int64 // UNIQUE counter metrics (cvr bases that are always distinct users)
	posted  map[string]int64
	conv    map[convKey]store.ConversionRow
}

type convKey struct {
	group attribution.Group
	goal  string
}

// dayConv is a campaign-wide control-group goal on one day.
type dayConv struct {
	day int32
	convKey
}

func newNodeData() *nodeData {
	return &nodeData{metrics: map[string]int64{}, unique: map[string]int64{}, posted: map[string]int64{}, conv: map[convKey]store.ConversionRow{}}
}

// uniqueBases are the cvr bases that are distinct users whatever the metric type (see cvrBase).
var uniqueBases = []string{domain.MetricOpened, domain.MetricHeldCampaign, domain.MetricHeldGlobal}

// isHeldOut reports whether a metric counts held-out users.
func isHeldOut(metric string) bool {
	return metric == domain.MetricHeldCampaign || metric == domain.MetricHeldGlobal
}

// campaignInfo is what building a campaign's nodes needs besides node data.
type campaignInfo struct {
	channel     domain.Channel
	goals       []string
	attribution attribution.Type
	unique      bool
	// control holds the campaign-wide control-group cvr of each goal per day (SPEC §5.12 uplift base), nil when 0.
	control map[dayConv]*big.Rat
}

// Nodes computes every node of the given campaigns over the whole range, in the order given.
func (e *Engine) Nodes(ctx context.Context, q NodesQuery) ([]CampaignResult, error) {
	c, err := e.compute(ctx, q, false)
	if err != nil || c == nil {
		return nil, err
	}
	out := make([]CampaignResult, 0, len(q.CampaignIDs))
	for _, id := range q.CampaignIDs {
		out = append(out, CampaignResult{ID: id, Platforms: c.platforms(id, 0)})
	}
	return out, nil
}

// NodesDaily computes every node of the given campaigns on each local date of the range with data, in the order
// given: each date's tree is the one Nodes returns for that single date (UNIQUE values are distinct per date). It
// reads the range with one set of store queries, the date being one more grouping key.
func (e *Engine) NodesDaily(ctx context.Context, q NodesQuery) ([]CampaignDays, error) {
	c, err := e.compute(ctx, q, true)
	if err != nil || c == nil {
		return nil, err
	}
	days := map[string]map[int32]bool{}
	for k := range c.trees {
		if days[k.campaign] == nil {
			days[k.campaign] = map[int32]bool{}
		}
		days[k.campaign][k.day] = true
	}
	out := make([]CampaignDays, 0, len(q.CampaignIDs))
	for _, id := range q.CampaignIDs {
		cd := CampaignDays{ID: id}
		ds := make([]int32, 0, len(days[id]))
		for d := range days[id] {
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		for _, d := range ds {
			cd.Days = append(cd.Days, DayResult{Date: store.DayDate(d), Platforms: c.platforms(id, d)})
		}
		out = append(out, cd)
	}
	return out, nil
}

// computed is the node data of one Nodes or NodesDaily query.
type computed struct {
	infos        map[string]*campaignInfo
	trees        map[campaignDay]tree
	allPlatforms bool
}

type campaignDay struct {
	campaign string
	day      int32
}

// tree is one campaign's node data on one day: platform → locale → variation.
type tree map[string]map[string]map[string]*nodeData

// compute runs the store queries of a node query and accumulates node data, split by local day when daily.
func (e *Engine) compute(ctx context.Context, q NodesQuery, daily bool) (*computed, error) {
	if len(q.CampaignIDs) == 0 {
		return nil, nil
	}
	src := e.src
	if q.AllPlatforms {
		ap, ok := e.src.(AllPlatformsSource)
		if !ok {
			return nil, ErrNoAllPlatforms
		}
		src = foldedSource{Source: e.src, ap: ap}
	}
	var days *time.Location
	if daily {
		days = q.Workspace.Location()
	}
	targets := make([]store.AggregateTarget, 0, len(q.CampaignIDs))
	channels := map[string]domain.Channel{} // effective channel of every target and unit
	infos := map[string]*campaignInfo{}
	var funnelUnits []string
	unitTargets := map[string][]string{}
	anyGoals := false
	for _, id := range q.CampaignIDs {
		channels[id] = q.View.Channel(id)
		info := &campaignInfo{channel: channels[id], attribution: q.Attribution, unique: q.Unique, control: map[dayConv]*big.Rat{}}
		goalSet := map[string]bool{}
		t := store.AggregateTarget{ID: id}
		for _, u := range q.View.Units(id) {
			channels[u] = q.View.Channel(u)
			t.Units = append(t.Units, store.AggregateUnit{ID: u, Channel: channels[u]})
			if len(unitTargets[u]) == 0 {
				funnelUnits = append(funnelUnits, u)
			}
			unitTargets[u] = append(unitTargets[u], id)
			if g := q.View.Goals(u); g != nil {
				for _, goal := range g.Goals {
					goalSet[goal.Name] = true
				}
			}
		}
		for g := range goalSet {
			info.goals = append(info.goals, g)
		}
		sort.Strings(info.goals)
		anyGoals = anyGoals || len(info.goals) > 0
		infos[id] = info
		targets = append(targets, t)
	}
	// The UNIQUE query also returns the campaign-wide held-out users when goals need them (uplift bases).
	aq := store.AggregateQuery{WorkspaceID: q.Workspace.ID, FromMS: q.FromMS, ToMS: q.ToMS, Unique: q.Unique, Targets: targets,
		Days: days, Shapes: q.Shapes, CampaignWide: q.Unique && anyGoals}
	rows, err := src.Aggregate(ctx, aq)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	data := map[nodeKey]*nodeData{}
	get := func(k nodeKey) *nodeData {
		d, ok := data[k]
		if !ok {
			d = newNodeData()
			data[k] = d
		}
		return d
	}
	key := func(target string, day int32, platform string, allL bool, l string, allV bool, v string) (nodeKey, bool) {
		if allL {
			l = domain.AllLocales
		} else if l == "" {
			return nodeKey{}, false
		}
		if allV {
			v = domain.AllVariations
		} else if v == "" {
			return nodeKey{}, false
		}
		return nodeKey{day, target, platform, l, v}, true
	}
	for _, r := range rows {
		if r.CampaignWide {
			continue
		}
		if k, ok := key(r.Target, r.Day, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok {
			d := get(k)
			if !(r.AllVariations && isHeldOut(r.Metric)) { // held-out users never count in all_variations
				d.metrics[r.Metric] += r.Value
			}
		}
	}
	if anyGoals {
		uniq := rows
		if !q.Unique {
			// cvr bases that are distinct users whatever the metric type: email opens, held-out users (SPEC §5.12).
			uq := aq
			uq.Unique = true
			uq.Metrics = uniqueBases
			uq.CampaignWide = true
			if uniq, err = src.Aggregate(ctx, uq); err != nil {
				return nil, fmt.Errorf("stats: %w", err)
			}
		}
		held := map[campaignDay][2]int64{} // campaign-wide distinct held-out users: campaign group, global group
		for _, r := range uniq {
			if r.CampaignWide {
				h := held[campaignDay{r.Target, r.Day}]
				if r.Metric == domain.MetricHeldGlobal {
					h[1] = r.Value
				} else {
					h[0] = r.Value
				}
				held[campaignDay{r.Target, r.Day}] = h
				continue
			}
			if k, ok := key(r.Target, r.Day, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok && data[k] != nil &&
				!(r.AllVariations && isHeldOut(r.Metric)) {
				data[k].unique[r.Metric] += r.Value
			}
		}
		conv, err := src.Conversions(ctx, store.ConversionQuery{WorkspaceID: q.Workspace.ID, FromMS: q.FromMS, ToMS: q.ToMS,
			Type: q.Attribution, Targets: targets, Days: days, Shapes: q.Shapes})
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		for _, r := range conv {
			ck := convKey{r.Group, r.Goal}
			if r.AllPlatforms {
				h := held[campaignDay{r.Target, r.Day}]
				base := h[0]
				if r.Group == attribution.GlobalControl {
					base = h[1]
				}
				if r.Group != attribution.Regular && base > 0 && r.Unique > 0 {
					infos[r.Target].control[dayConv{r.Day, ck}] = big.NewRat(r.Unique, base)
				}
				continue
			}
			if k, ok := key(r.Target, r.Day, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok {
				d := get(k)
				if !r.AllVariations || r.Group == attribution.Regular { // control-group credits never count in all_variations
					d.conv[ck] = r
				}
			}
		}
	}
	entries, err := src.FunnelEntries(ctx, q.Workspace.ID, funnelUnits, q.FromDate, q.ToDate)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	for _, fe := range entries {
		var day int32
		if daily {
			d, err := time.Parse(time.DateOnly, fe.Date)
			if err != nil {
				return nil, fmt.Errorf("stats: funnel entry date %q: %w", fe.Date, err)
			}
			day = store.DayNumber(d.Date())
		}
		for _, t := range unitTargets[fe.CampaignID] {
			p := fe.Platform
			if ch := channels[fe.CampaignID]; ch.PlatformIsChannel() {
				p = string(ch)
			} else if p == "" {
				p = domain.PlatformUnknown
			}
			control := fe.Variation == domain.CampaignControlGroup || fe.Variation == domain.GlobalControlGroup
			locales := []string{domain.AllLocales}
			if fe.Locale != "" {
				locales = append(locales, fe.Locale)
			}
			var variations []string
			if !control {
				variations = append(variations, domain.AllVariations)
			}
			if fe.Variation != "" {
				variations = append(variations, fe.Variation)
			}
			for _, l := range locales {
				for _, v := range variations {
					get(nodeKey{day, t, p, l, v}).posted[fe.Stage] += fe.Value
				}
			}
		}
	}
	c := &computed{infos: infos, trees: map[campaignDay]tree{}, allPlatforms: q.AllPlatforms}
	for k, d := range data {
		t := c.trees[campaignDay{k.campaign, k.day}]
		if t == nil {
			t = tree{}
			c.trees[campaignDay{k.campaign, k.day}] = t
		}
		if t[k.platform] == nil {
			t[k.platform] = map[string]map[string]*nodeData{}
		}
		if t[k.platform][k.locale] == nil {
			t[k.platform][k.locale] = map[string]*nodeData{}
		}
		t[k.platform][k.locale][k.variation] = d
	}
	return c, nil
}

// platforms builds one campaign's ordered node tree on one day.
func (c *computed) platforms(id string, day int32) []PlatformResult {
	t := c.trees[campaignDay{id, day}]
	info := c.infos[id]
	fields := fieldsFor(info.channel)
	var out []PlatformResult
	for _, p := range sortedKeys(t) {
		pr := PlatformResult{Key: p}
		locs := t[p]
		if locs[domain.AllLocales] == nil {
			locs[domain.AllLocales] = map[string]*nodeData{}
		}
		for _, l := range orderLocales(sortedKeys(locs)) {
			lr := LocaleResult{Key: l}
			vars := locs[l]
			if vars[domain.AllVariations] == nil {
				vars[domain.AllVariations] = newNodeData()
			}
			for _, v := range orderVariations(sortedKeys(vars)) {
				lr.Variations = append(lr.Variations, buildNode(v, day, fields, info, vars[v]))
			}
			pr.Locales = append(pr.Locales, lr)
		}
		out = append(out, pr)
	}
	if c.allPlatforms {
		out = mergePlatforms(out)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// orderLocales puts all_locales first, the rest ascending.
func orderLocales(keys []string) []string {
	out := []string{domain.AllLocales}
	for _, k := range keys {
		if k != domain.AllLocales {
			out = append(out, k)
		}
	}
	return out
}

// orderVariations: all_variations, specific ones ascending, campaign_control_group, global_control_group.
func orderVariations(keys []string) []string {
	out := []string{domain.AllVariations}
	var ccg, gcg bool
	for _, k := range keys {
		switch k {
		case domain.AllVariations:
		case domain.CampaignControlGroup:
			ccg = true
		case domain.GlobalControlGroup:
			gcg = true
		default:
			out = append(out, k)
		}
	}
	if ccg {
		out = append(out, domain.CampaignControlGroup)
	}
	if gcg {
		out = append(out, domain.GlobalControlGroup)
	}
	return out
}

func buildNode(key string, day int32, fields channelFields, info *campaignInfo, d *nodeData) VariationResult {
	vr := VariationResult{Key: key}
	group := attribution.Regular
	switch key {
	case domain.CampaignControlGroup:
		group = attribution.CampaignControl
	case domain.GlobalControlGroup:
		group = attribution.GlobalControl
	}
	vr.Control = group != attribution.Regular
	if !vr.Control {
		for _, c := range fields.counts {
			vr.Performance = append(vr.Performance, Field{Name: c, Count: d.metrics[c]})
		}
		for _, r := range fields.rates {
			vr.Performance = append(vr.Performance, Field{Name: r.name, IsRate: true, Rate: Ratio(d.metrics[r.num], d.metrics[r.den], 100)})
		}
		for _, f := range fields.funnel {
			vr.Funnel = append(vr.Funnel, Count{f[0], d.metrics[f[1]]})
		}
	}
	for _, goal := range info.goals {
		vr.Goals = append(vr.Goals, goalStats(goal, group, day, info, d))
	}
	for _, stage := range sortedKeys(d.posted) {
		vr.Funnel = append(vr.Funnel, Count{stage, d.posted[stage]})
	}
	if vr.Control {
		metric, name := domain.MetricHeldCampaign, domain.FailureKeyCampaignControlGroup
		if group == attribution.GlobalControl {
			metric, name = domain.MetricHeldGlobal, domain.FailureKeyGlobalControlGroup
		}
		if n := d.metrics[metric]; n > 0 {
			vr.Failures = append(vr.Failures, Count{name, n})
		}
	} else {
		for _, m := range sortedKeys(d.metrics) {
			if k, ok := strings.CutPrefix(m, domain.FailurePrefix); ok && d.metrics[m] > 0 {
				vr.Failures = append(vr.Failures, Count{k, d.metrics[m]})
			}
		}
	}
	return vr
}
