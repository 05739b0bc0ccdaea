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
	store.Aggregator
	store.Funnel
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
}

// Engine computes campaign statistics.
type Engine struct {
	src Source
}

// New returns an engine reading from src.
func New(src Source) *Engine { return &Engine{src: src} }

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
}

// nodeKey addresses one variation node of one campaign.
type nodeKey struct {
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

func newNodeData() *nodeData {
	return &nodeData{metrics: map[string]int64{}, unique: map[string]int64{}, posted: map[string]int64{}, conv: map[convKey]store.ConversionRow{}}
}

// campaignInfo is what building a campaign's nodes needs besides node data.
type campaignInfo struct {
	channel     domain.Channel
	goals       []string
	attribution attribution.Type
	unique      bool
	// control holds the campaign-wide control-group cvr of each goal (SPEC §5.12 uplift base), nil when 0.
	control map[convKey]*big.Rat
}

// Nodes computes every node of the given campaigns, in the order given.
func (e *Engine) Nodes(ctx context.Context, q NodesQuery) ([]CampaignResult, error) {
	if len(q.CampaignIDs) == 0 {
		return nil, nil
	}
	targets := make([]store.AggregateTarget, 0, len(q.CampaignIDs))
	channels := map[string]domain.Channel{} // effective channel of every target and unit
	infos := map[string]*campaignInfo{}
	var funnelUnits []string
	unitTargets := map[string][]string{}
	anyGoals := false
	for _, id := range q.CampaignIDs {
		channels[id] = q.View.Channel(id)
		info := &campaignInfo{channel: channels[id], attribution: q.Attribution, unique: q.Unique, control: map[convKey]*big.Rat{}}
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
	aq := store.AggregateQuery{WorkspaceID: q.Workspace.ID, FromMS: q.FromMS, ToMS: q.ToMS, Unique: q.Unique, Targets: targets}
	rows, err := e.src.Aggregate(ctx, aq)
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
	key := func(target, platform string, allL bool, l string, allV bool, v string) (nodeKey, bool) {
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
		return nodeKey{target, platform, l, v}, true
	}
	for _, r := range rows {
		if k, ok := key(r.Target, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok {
			get(k).metrics[r.Metric] += r.Value
		}
	}
	if anyGoals {
		uniq := rows
		if !q.Unique {
			// cvr bases that are distinct users whatever the metric type: email opens, held-out users (SPEC §5.12).
			uq := aq
			uq.Unique = true
			if uniq, err = e.src.Aggregate(ctx, uq); err != nil {
				return nil, fmt.Errorf("stats: %w", err)
			}
		}
		for _, r := range uniq {
			if k, ok := key(r.Target, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok && data[k] != nil {
				data[k].unique[r.Metric] += r.Value
			}
		}
		conv, err := e.src.Conversions(ctx, store.ConversionQuery{WorkspaceID: q.Workspace.ID, FromMS: q.FromMS, ToMS: q.ToMS,
			Type: q.Attribution, Targets: targets})
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		held, err := e.src.HeldOutUsers(ctx, aq)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		for _, r := range conv {
			ck := convKey{r.Group, r.Goal}
			if r.AllPlatforms {
				base := held[r.Target][0]
				if r.Group == attribution.GlobalControl {
					base = held[r.Target][1]
				}
				if r.Group != attribution.Regular && base > 0 && r.Unique > 0 {
					infos[r.Target].control[ck] = big.NewRat(r.Unique, base)
				}
				continue
			}
			if k, ok := key(r.Target, r.Platform, r.AllLocales, r.Locale, r.AllVariations, r.Variation); ok {
				get(k).conv[ck] = r
			}
		}
	}
	entries, err := e.src.FunnelEntries(ctx, q.Workspace.ID, funnelUnits, q.FromDate, q.ToDate)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	for _, fe := range entries {
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
					get(nodeKey{t, p, l, v}).posted[fe.Stage] += fe.Value
				}
			}
		}
	}
	return assemble(q.CampaignIDs, infos, data), nil
}

// assemble turns node data into ordered results.
func assemble(ids []string, infos map[string]*campaignInfo, data map[nodeKey]*nodeData) []CampaignResult {
	type tree map[string]map[string]map[string]*nodeData // platform → locale → variation
	trees := map[string]tree{}
	for k, d := range data {
		t := trees[k.campaign]
		if t == nil {
			t = tree{}
			trees[k.campaign] = t
		}
		if t[k.platform] == nil {
			t[k.platform] = map[string]map[string]*nodeData{}
		}
		if t[k.platform][k.locale] == nil {
			t[k.platform][k.locale] = map[string]*nodeData{}
		}
		t[k.platform][k.locale][k.variation] = d
	}
	out := make([]CampaignResult, 0, len(ids))
	for _, id := range ids {
		cr := CampaignResult{ID: id}
		t := trees[id]
		info := infos[id]
		fields := fieldsFor(info.channel)
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
					lr.Variations = append(lr.Variations, buildNode(v, fields, info, vars[v]))
				}
				pr.Locales = append(pr.Locales, lr)
			}
			cr.Platforms = append(cr.Platforms, pr)
		}
		out = append(out, cr)
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

func buildNode(key string, fields channelFields, info *campaignInfo, d *nodeData) VariationResult {
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
		vr.Goals = append(vr.Goals, goalStats(goal, group, info, d))
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
