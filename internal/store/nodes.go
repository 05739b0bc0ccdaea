package store

import (
	"context"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// AggregateUnit is a campaign whose events count for a target, with its effective channel: the channel decides
// which of its events feed counters and how their platforms resolve (SPEC §4.1, §4.4).
type AggregateUnit struct {
	ID      string
	Channel domain.Channel
}

// AggregateTarget is one reported campaign and its units (itself and, for a parent, its children).
type AggregateTarget struct {
	ID    string
	Units []AggregateUnit
}

// AggregateQuery asks for counter metrics of several reported campaigns over [FromMS, ToMS).
type AggregateQuery struct {
	WorkspaceID  string
	FromMS, ToMS int64
	Unique       bool
	Targets      []AggregateTarget
	// Days, when set, splits every node by the local calendar day of its events in this location: each row's Day
	// is that date as days since 1970-01-01 (see DayNumber), and UNIQUE values are distinct per day. When nil
	// every row has Day 0 and covers the whole range.
	Days *time.Location
	// Metrics, when not empty, asks only for these counter metrics (no failure-breakdown keys): rows of other
	// metrics may be left out, which lets the store read only the events that feed the asked ones.
	Metrics []string
	// Shapes limits the node shapes computed (zero = every shape).
	Shapes NodeShapes
}

// NodeShapes selects which node shapes a node query computes. A node is a (platform, locale, variation) where
// each dimension is either a specific key or the aggregate over all keys (AllPlatforms, AllLocales,
// AllVariations). The zero value computes every node, as the Stats API needs; reports without a platform,
// locale or variation split only need the aggregate keys of that dimension, which is much cheaper.
//
// Whatever the shapes, the nodes of every specific variation over all platforms and all locales are computed:
// their control-group nodes are the campaign-wide control groups that uplift compares with (SPEC §5.12).
type NodeShapes struct {
	// OnlyAllPlatforms leaves out the nodes of specific platforms: every row has AllPlatforms.
	OnlyAllPlatforms bool
	// OnlyAllLocales leaves out the nodes of specific locales: every row has AllLocales.
	OnlyAllLocales bool
	// OnlyAllVariations leaves out the nodes of specific variations (but see above).
	OnlyAllVariations bool
}

// DayNumber returns the days since 1970-01-01 of the calendar date y-m-d (the Day of rows split by day).
func DayNumber(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayDate returns the calendar date (YYYY-MM-DD) of a day number.
func DayDate(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly)
}

// NodeRef addresses one node of a target on one day. AllPlatforms / AllLocales / AllVariations mark the aggregate
// keys of each dimension; Platform, Locale and Variation are the specific keys otherwise ("" for events without
// a locale or variation, which count only in the aggregate keys). Platform is the stored platform of the events
// (domain.ResolvePlatform: a device platform, or the channel name for channels that have no device platforms).
type NodeRef struct {
	Target        string
	Day           int32
	AllPlatforms  bool
	Platform      string
	AllLocales    bool
	Locale        string
	AllVariations bool
	Variation     string
}

// AggregateRow is one metric value in one node. Metric is a domain.CounterMetricSets name or
// domain.FailurePrefix+key (failure-breakdown keys of failed-to-send and delivery-failure events). Only events
// that feed a counter of their unit's channel produce rows (SPEC §12.3); there is at most one row per (node,
// metric), and metrics without a row are zero. Held-out metrics are reported under AllVariations too: such rows
// only say that the node exists (held-out users never count in all_variations, SPEC §5.8).
type AggregateRow struct {
	NodeRef
	Metric string
	Value  int64
}

// ConversionQuery asks for conversion credits of several reported campaigns over [FromMS, ToMS) under one
// attribution type (control-group credits count under every type).
type ConversionQuery struct {
	WorkspaceID  string
	FromMS, ToMS int64
	Type         attribution.Type
	Targets      []AggregateTarget
	// Days splits the rows by the local calendar day of the goal event, as in AggregateQuery.
	Days *time.Location
	// Shapes limits the node shapes computed, as in AggregateQuery.
	Shapes NodeShapes
}

// ConversionRow is one goal's numbers in one node, for one group (regular credits, or one control group). Each
// goal event counts once per node (SPEC §12.1): Total is the number of distinct credited goal events, Unique the
// number of distinct users, RevenueMicros the revenue of those events. Control-group credits are reported under
// AllVariations too, where they only say that the node exists.
type ConversionRow struct {
	NodeRef
	Group         attribution.Group
	Goal          string
	Total         int64
	Unique        int64
	RevenueMicros int64
}

// Aggregator answers the metric engine's queries.
type Aggregator interface {
	// ActiveCampaigns returns the ids of campaigns with at least one campaign event in [fromMS, toMS), or a credit
	// under attribution type t (control-group credits included) for a goal event in that range.
	ActiveCampaigns(ctx context.Context, workspaceID string, fromMS, toMS int64, t attribution.Type) ([]string, error)
	// Conversions returns the conversion rows of every target's nodes (NodeShapes). A goal event credited on
	// several platforms, locales or units of a target counts once in each node that aggregates them.
	Conversions(ctx context.Context, q ConversionQuery) ([]ConversionRow, error)
	// Aggregate computes the metrics of every target at every node (NodeShapes). UNIQUE values are distinct user
	// counts over the node: across platforms in AllPlatforms nodes, across locales in AllLocales nodes, and so on.
	Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error)
}

// ZoneSpan is a stretch of time with one UTC offset in a location: instants before UntilMS (Unix ms; the last span
// of a range has UntilMS 0, meaning "the rest") are OffsetMS ahead of UTC.
type ZoneSpan struct {
	UntilMS, OffsetMS int64
}

// ZoneSpans returns the offsets of loc over [fromMS, toMS), one span per stretch between transitions, from Go's zone
// database; the backends turn them into the SQL of a local day (AggregateQuery.Days) so that days do not depend on
// the time zone data of a database server.
func ZoneSpans(loc *time.Location, fromMS, toMS int64) []ZoneSpan {
	var spans []ZoneSpan
	t := time.UnixMilli(fromMS).In(loc)
	for {
		_, offset := t.Zone()
		_, end := t.ZoneBounds()
		if end.IsZero() || end.UnixMilli() >= toMS || !end.After(t) {
			return append(spans, ZoneSpan{OffsetMS: int64(offset) * 1000})
		}
		spans = append(spans, ZoneSpan{UntilMS: end.UnixMilli(), OffsetMS: int64(offset) * 1000})
		t = end
	}
}

// CounterSums turns TOTAL event counts per (node, counter, failure key) into AggregateRows: several counters feed
// one metric, so their counts are added up, one row per (node, metric), in the order first seen.
type CounterSums struct {
	metrics []domain.CounterMetric
	sums    map[AggregateRow]int64
	order   []AggregateRow
}

// NewCounterSums returns empty sums of the metrics.
func NewCounterSums(metrics []domain.CounterMetric) *CounterSums {
	return &CounterSums{metrics: metrics, sums: map[AggregateRow]int64{}}
}

// Add counts n events of counter at node, with failure key fk ("" for none).
func (c *CounterSums) Add(node NodeRef, counter domain.Counter, fk string, n int64) {
	row := AggregateRow{NodeRef: node}
	for _, m := range c.metrics {
		if m.Counters&(1<<uint(counter)) != 0 {
			row.Metric = m.Name
			c.add(row, n)
		}
	}
	if fk != "" {
		row.Metric = domain.FailurePrefix + fk
		c.add(row, n)
	}
}

func (c *CounterSums) add(r AggregateRow, n int64) {
	if _, ok := c.sums[r]; !ok {
		c.order = append(c.order, r)
	}
	c.sums[r] += n
}

// Rows returns one row per (node, metric) counted.
func (c *CounterSums) Rows() []AggregateRow {
	out := make([]AggregateRow, 0, len(c.order))
	for _, r := range c.order {
		r.Value = c.sums[r]
		out = append(out, r)
	}
	return out
}
