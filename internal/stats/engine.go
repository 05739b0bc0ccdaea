// Package stats is the metric engine: the one place where campaign numbers are computed, for the Stats API and for
// reports alike (SPEC §5, §8.8).
package stats

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"golang.org/x/sync/errgroup"
)

// Source is what the engine reads.
type Source interface {
	store.Reader
}

// Engine computes campaign statistics.
type Engine struct {
	src   Source
	snaps store.Snapshotter
	fresh func(ctx context.Context) error
	// oneAtATime runs the store queries of a computation one after the other: a snapshot is one transaction,
	// on one connection.
	oneAtATime bool
}

// Option configures New.
type Option func(*Engine)

// WithSnapshots makes Snapshot open snapshots with sn (SPEC §8.4); without it, snapshots read live.
func WithSnapshots(sn store.Snapshotter) Option { return func(e *Engine) { e.snaps = sn } }

// WithFreshness makes Stats, StatsDaily and Snapshot first call wait, which returns when the data derived from the
// event log (inferred catalog values, credits) reflects every event acknowledged before the call, or when it gives
// up waiting (it bounds the wait); an error from it fails the call.
func WithFreshness(wait func(ctx context.Context) error) Option {
	return func(e *Engine) { e.fresh = wait }
}

// New returns an engine reading from src.
func New(src Source, opts ...Option) *Engine {
	e := &Engine{src: src}
	for _, o := range opts {
		o(e)
	}
	return e
}

// waitFresh applies WithFreshness.
func (e *Engine) waitFresh(ctx context.Context) error {
	if e.fresh == nil {
		return nil
	}
	if err := e.fresh(ctx); err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	return nil
}

// Snapshot returns an engine that reads a snapshot of the data as of now (SPEC §8.4: a report run reads a
// consistent snapshot), and the function that releases it. Without WithSnapshots it reads live.
func (e *Engine) Snapshot(ctx context.Context) (*Engine, func() error, error) {
	if err := e.waitFresh(ctx); err != nil {
		return nil, nil, err
	}
	if e.snaps == nil {
		return e, func() error { return nil }, nil
	}
	snap, err := e.snaps.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: %w", err)
	}
	return &Engine{src: snap, oneAtATime: true}, snap.Close, nil
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
	// Empty is true when nothing of the campaign is in the range: Platforms is then the zero node (SPEC §13.1).
	Empty bool
}

// PlatformResult is one platform key: ALL_PLATFORMS (first) or an upper-case device platform (SPEC §13.1).
type PlatformResult struct {
	Key     string
	Locales []LocaleResult
}

// LocaleResult is one locale key: all_locale first, then locales ascending.
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
	if err := e.waitFresh(ctx); err != nil {
		return nil, err
	}
	res, nq, err := e.page(ctx, q)
	if err != nil {
		return nil, err
	}
	if res.Campaigns, err = e.Nodes(ctx, nq); err != nil {
		return nil, err
	}
	return res, nil
}

// DailyResult is the daily Stats extension's answer: the Stats API's selection and paging over the whole range,
// and for every date of the range the node trees of the page's campaigns on that date.
type DailyResult struct {
	TotalCampaigns int
	CurrentPage    int
	TotalPages     int
	Days           []DailyStats
}

// DailyStats is one date of a DailyResult: the page's campaigns in page order, each with the tree a Stats call for
// that single date returns (the zero node on a date without data).
type DailyStats struct {
	Date      string
	Campaigns []CampaignResult
}

// StatsDaily answers the daily Stats extension: the campaigns and paging of a Stats call with the same query, and
// per date of the range what a single-date Stats call for the page's campaigns returns. It reads the range with one
// set of store queries, the date being one more grouping key.
func (e *Engine) StatsDaily(ctx context.Context, q Query) (*DailyResult, error) {
	if err := e.waitFresh(ctx); err != nil {
		return nil, err
	}
	res, nq, err := e.page(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &DailyResult{TotalCampaigns: res.TotalCampaigns, CurrentPage: res.CurrentPage, TotalPages: res.TotalPages}
	c, err := e.compute(ctx, nq, true)
	if err != nil {
		return nil, err
	}
	for d := q.Start; !d.After(q.End); d = d.AddDate(0, 0, 1) {
		day := DailyStats{Date: d.Format(time.DateOnly), Campaigns: make([]CampaignResult, 0, len(nq.CampaignIDs))}
		num := store.DayNumber(d.Date())
		for _, id := range nq.CampaignIDs {
			cr := CampaignResult{ID: id, Platforms: c.platforms(id, num)}
			if len(cr.Platforms) == 0 {
				cr.Platforms, cr.Empty = c.zeroTree(id), true
			}
			day.Campaigns = append(day.Campaigns, cr)
		}
		out.Days = append(out.Days, day)
	}
	return out, nil
}

// page selects, orders and pages the campaigns of a Stats query (SPEC §5.5, §5.6) and returns the paging numbers
// with the node query for the page.
func (e *Engine) page(ctx context.Context, q Query) (*Result, NodesQuery, error) {
	cs, err := e.src.Campaigns(ctx, q.Workspace.ID)
	if err != nil {
		return nil, NodesQuery{}, fmt.Errorf("stats: %w", err)
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
	} else if selected, err = e.SelectActive(ctx, q.Workspace.ID, view, fromMS, toMS, q.Attribution); err != nil {
		return nil, NodesQuery{}, err
	}
	res := &Result{TotalCampaigns: len(selected), CurrentPage: q.Offset/q.Limit + 1}
	res.TotalPages = (len(selected) + q.Limit - 1) / q.Limit
	var page []string
	if q.Offset < len(selected) {
		page = selected[q.Offset:min(q.Offset+q.Limit, len(selected))]
	}
	return res, NodesQuery{Workspace: q.Workspace, View: view, CampaignIDs: page, FromMS: fromMS, ToMS: toMS,
		FromDate: q.Start.Format(time.DateOnly), ToDate: q.End.Format(time.DateOnly), Unique: q.Unique, Attribution: q.Attribution}, nil
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
	// Shapes leaves out node shapes the caller does not need (reports without a platform, locale or variation
	// split); the zero value computes every node, as the Stats API needs.
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

// Nodes computes every node of the given campaigns over the whole range, in the order given. A campaign with
// nothing in the range gets the zero node at ALL_PLATFORMS / all_locale / all_variations (SPEC §13.1) and Empty.
func (e *Engine) Nodes(ctx context.Context, q NodesQuery) ([]CampaignResult, error) {
	c, err := e.compute(ctx, q, false)
	if err != nil {
		return nil, err
	}
	out := make([]CampaignResult, 0, len(q.CampaignIDs))
	for _, id := range q.CampaignIDs {
		cr := CampaignResult{ID: id, Platforms: c.platforms(id, 0)}
		if len(cr.Platforms) == 0 {
			cr.Platforms, cr.Empty = c.zeroTree(id), true
		}
		out = append(out, cr)
	}
	return out, nil
}

// NodesDaily computes every node of the given campaigns on each local date of the range with data, in the order
// given: each date's tree is the one Nodes returns for that single date (UNIQUE values are distinct per date). It
// reads the range with one set of store queries, the date being one more grouping key. Dates without data are
// left out.
func (e *Engine) NodesDaily(ctx context.Context, q NodesQuery) ([]CampaignDays, error) {
	c, err := e.compute(ctx, q, true)
	if err != nil {
		return nil, err
	}
	days := map[string][]int32{}
	for k := range c.trees {
		days[k.campaign] = append(days[k.campaign], k.day)
	}
	out := make([]CampaignDays, 0, len(q.CampaignIDs))
	for _, id := range q.CampaignIDs {
		cd := CampaignDays{ID: id}
		ds := days[id]
		slices.Sort(ds)
		for _, d := range ds {
			cd.Days = append(cd.Days, DayResult{Date: store.DayDate(d), Platforms: c.platforms(id, d)})
		}
		out = append(out, cd)
	}
	return out, nil
}

// compute plans a node query, runs its store queries and accumulates the node data, split by local day when daily.
func (e *Engine) compute(ctx context.Context, q NodesQuery, daily bool) (*computed, error) {
	p := newPlan(q, daily)
	acc := newAccumulator(p)
	if len(p.targets) == 0 {
		return acc.result(), nil
	}
	// The store queries are independent: they run concurrently (on two cores the store's own parallelism leaves
	// room, as one query waits on its reads or rolls up in Go while the other runs).
	var rows, uniq []store.AggregateRow
	var conv []store.ConversionRow
	g, gctx := errgroup.WithContext(ctx)
	if e.oneAtATime {
		g.SetLimit(1)
	}
	g.Go(func() (err error) {
		rows, err = e.src.Aggregate(gctx, p.aggregateQuery())
		return err
	})
	if p.anyGoals && !q.Unique {
		g.Go(func() (err error) {
			uniq, err = e.src.Aggregate(gctx, p.uniqueBasesQuery())
			return err
		})
	}
	if p.anyGoals {
		g.Go(func() (err error) {
			conv, err = e.src.Conversions(gctx, p.conversionQuery())
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	acc.addMetrics(rows)
	if p.anyGoals {
		if q.Unique {
			uniq = rows
		}
		acc.addUniqueBases(uniq)
		acc.addConversions(conv)
	}
	entries, err := e.src.FunnelEntries(ctx, q.Workspace.ID, p.funnelUnits, q.FromDate, q.ToDate)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	if err := acc.addFunnel(entries); err != nil {
		return nil, err
	}
	acc.controlRates()
	return acc.result(), nil
}
