package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// The metric engine's node queries (store.Aggregator). ClickHouse 18.16 has no GROUPING SETS and no CTEs, so every
// row read is repeated once per node shape (ARRAY JOIN over the shape codes) and grouped by the shape's keys, the
// rolled-up ones emptied: one scan, exact uniqExact per node, and with several shards each shard aggregates its
// own rows and the initiator merges the partial states. Units are joined to their targets through a constant
// table built from arrays (a VALUES list), which also carries how each unit's channel resolves platforms.

// Node shape codes: a set bit rolls that dimension up.
const (
	rollPlatform  = 1
	rollLocale    = 2
	rollVariation = 4
)

// shapeCodes returns the node shapes computed for shapes (store.NodeShapes): every combination of rolled-up
// dimensions, less those the query leaves out, but always the nodes of every variation over all platforms and
// locales (the uplift bases).
func shapeCodes(shapes store.NodeShapes) string {
	var codes []string
	for code := 0; code < 8; code++ {
		left := (shapes.OnlyAllPlatforms && code&rollPlatform == 0) || (shapes.OnlyAllLocales && code&rollLocale == 0) ||
			(shapes.OnlyAllVariations && code&rollVariation == 0)
		if left && code != rollPlatform|rollLocale {
			continue
		}
		codes = append(codes, strconv.Itoa(code))
	}
	return "[" + strings.Join(codes, ", ") + "]"
}

// nodeCols selects the node keys (gp, p, gl, l, gv, v) of the row's shape: the flags of the rolled-up dimensions
// and the keys, empty when rolled up.
func nodeCols(platform, locale, variation string) string {
	return fmt.Sprintf(`toUInt8(bitAnd(shape, %d) != 0) AS gp, if(gp = 1, '', %s) AS p,
	toUInt8(bitAnd(shape, %d) != 0) AS gl, if(gl = 1, '', %s) AS l,
	toUInt8(bitAnd(shape, %d) != 0) AS gv, if(gv = 1, '', %s) AS v`, rollPlatform, platform, rollLocale, locale, rollVariation, variation)
}

// nodeKeys are the grouping keys of a node query.
const nodeKeys = `tgt, d, gp, p, gl, l, gv, v`

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// stringArray returns a ClickHouse array literal of strings.
func stringArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// intArray returns a ClickHouse array literal of integers.
func intArray[T ~int | ~uint8 | ~uint16 | ~uint32](ns []T) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = strconv.FormatInt(int64(n), 10)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// unitList returns the distinct units of targets as a parenthesised list of literals (for IN).
func unitList(targets []store.AggregateTarget) string {
	var ids []string
	for _, t := range targets {
		for _, u := range t.Units {
			if !slices.Contains(ids, u.ID) {
				ids = append(ids, u.ID)
			}
		}
	}
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = quote(id)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// pdefSlots are the platform defaults resolved per unit (domain.PlatformDefault values 0..3); other values share
// the last slot.
const pdefSlots = 4

// eventUnits returns a constant table (a subquery) of one row per (unit, target): campaign_id, tgt (the target's
// index), chbit (the unit channel's bit: events feed it when they carry it), fixed (1 when the channel decides the
// platform whatever the event's) and pmap (the platform of each platform default, for events without a platform;
// index least(pdef, pdefSlots) + 1). An event's platform under its unit's channel (domain.ResolvePlatform) is
// then its own when it has one and the channel does not fix it, else pmap's (eventPlatform).
func eventUnits(targets []store.AggregateTarget) string {
	var ids, pmaps []string
	var tgts []uint32
	var bits []uint16
	var fixed []uint8
	for ti, t := range targets {
		for _, u := range t.Units {
			ids, tgts, bits = append(ids, u.ID), append(tgts, uint32(ti)), append(bits, uint16(u.Channel.Bit()))
			var f uint8
			if u.Channel.PlatformIsChannel() {
				f = 1
			}
			fixed = append(fixed, f)
			var pm []string
			for d := range pdefSlots {
				pm = append(pm, domain.ResolvePlatform(u.Channel, "", domain.PlatformDefault(d)))
			}
			pmaps = append(pmaps, stringArray(append(pm, domain.ResolvePlatform(u.Channel, "", domain.PlatformDefault(255)))))
		}
	}
	return fmt.Sprintf(`SELECT %[1]s[i] AS campaign_id, toUInt32(%[2]s[i]) AS tgt, toUInt16(%[3]s[i]) AS chbit,
	toUInt8(%[4]s[i]) AS fixed, [%[5]s][i] AS pmap
	FROM system.one ARRAY JOIN arrayEnumerate(%[1]s) AS i`, stringArray(ids), intArray(tgts), intArray(bits), intArray(fixed),
		strings.Join(pmaps, ", "))
}

// eventPlatform is the platform of an event under its unit's channel (see eventUnits; 4 is pdefSlots).
const eventPlatform = `if(fixed = 0 AND platform != '', platform, pmap[least(pdef, 4) + 1])`

// creditUnits returns a constant table of one row per (unit, target): unit, tgt.
func creditUnits(targets []store.AggregateTarget) string {
	var ids []string
	var tgts []uint32
	for ti, t := range targets {
		for _, u := range t.Units {
			ids, tgts = append(ids, u.ID), append(tgts, uint32(ti))
		}
	}
	return fmt.Sprintf(`SELECT %[1]s[i] AS unit, toUInt32(%[2]s[i]) AS tgt FROM system.one ARRAY JOIN arrayEnumerate(%[1]s) AS i`,
		stringArray(ids), intArray(tgts))
}

const msPerDay = 86_400_000

// dayExpr is the SQL expression of the local day number (days since 1970-01-01, store.DayNumber) of the instant
// col (Unix ms) in loc, for instants in [fromMS, toMS): the instant plus its zone offset, divided by a day. The
// offsets of the range come from Go's zone database, one multiIf branch per transition, so the days are the same
// as the embedded store's whatever time zone data the server has. Nil loc gives 0.
func dayExpr(col string, loc *time.Location, fromMS, toMS int64) string {
	if loc == nil {
		return "toInt32(0)"
	}
	spans := store.ZoneSpans(loc, fromMS, toMS)
	shift := strconv.FormatInt(spans[len(spans)-1].OffsetMS, 10)
	if len(spans) > 1 {
		var branches []string
		for _, z := range spans[:len(spans)-1] {
			branches = append(branches, fmt.Sprintf("%s < %d, %d", col, z.UntilMS, z.OffsetMS))
		}
		shift = "multiIf(" + strings.Join(branches, ", ") + ", " + shift + ")"
	}
	return fmt.Sprintf("toInt32(intDiv(%s + %s, %d))", col, shift, msPerDay)
}

// nodeRef turns the node keys scanned from a row into a NodeRef.
func nodeRef(targets []store.AggregateTarget, k *nodeScan) store.NodeRef {
	return store.NodeRef{Target: targets[k.tgt].ID, Day: k.d, AllPlatforms: k.gp == 1, Platform: k.p, AllLocales: k.gl == 1, Locale: k.l,
		AllVariations: k.gv == 1, Variation: k.v}
}

// nodeScan holds the node keys of a row (nodeKeys).
type nodeScan struct {
	tgt        uint32
	d          int32
	gp, gl, gv uint8
	p, l, v    string
}

func (k *nodeScan) dest(rest ...any) []any {
	return append([]any{&k.tgt, &k.d, &k.gp, &k.p, &k.gl, &k.l, &k.gv, &k.v}, rest...)
}

// scanRows runs a query and calls row after scanning each row into dest.
func (s *Store) scanRows(ctx context.Context, query string, args []any, dest []any, row func()) error {
	rows, err := s.shards[0].Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanAll(rows, dest, row)
}

func scanAll(rows driver.Rows, dest []any, row func()) error {
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		row()
	}
	return rows.Err()
}

// Aggregate implements store.Aggregator over the committed events: TOTAL counts the events per node, counter and
// failure key and sums them into metrics; UNIQUE counts distinct users per node and metric with uniqExactIf, and
// per failure key in a second query (unless only some metrics are asked for).
func (s *Store) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	if len(q.Targets) == 0 {
		return nil, nil
	}
	wm, err := s.watermark(ctx)
	if err != nil {
		return nil, errorf("clickhouse: aggregate: %w", err)
	}
	failureCounters := fmt.Sprintf("%d, %d", domain.CounterFailedSend, domain.CounterFailedDelivery)
	metrics := domain.CounterMetricSets()
	counterFilter := "counter != 0"
	withFailures := len(q.Metrics) == 0
	if !withFailures {
		// Only the events feeding the asked metrics are read; failure keys are not asked for.
		metrics = slices.DeleteFunc(metrics, func(m domain.CounterMetric) bool { return !slices.Contains(q.Metrics, m.Name) })
		var mask uint32
		for _, m := range metrics {
			mask |= m.Counters
		}
		counterFilter = fmt.Sprintf("bitAnd(bitShiftLeft(toUInt32(1), counter), %d) != 0", mask)
	}
	from := `FROM ` + s.eventsTable + ` ARRAY JOIN ` + shapeCodes(q.Shapes) + ` AS shape
ALL INNER JOIN (` + eventUnits(q.Targets) + `) USING campaign_id
PREWHERE ws = ? AND campaign_id IN ` + unitList(q.Targets) + ` AND is_campaign = 1 AND ts >= ? AND ts < ? AND seq <= ?
WHERE ` + counterFilter + ` AND bitAnd(channels, chbit) != 0`
	args := []any{q.WorkspaceID, q.FromMS, q.ToMS, wm}
	keys := `tgt, ` + dayExpr("ts", q.Days, q.FromMS, q.ToMS) + ` AS d, ` + nodeCols(eventPlatform, "locale", "variation")
	var out []store.AggregateRow
	var k nodeScan
	if !q.Unique {
		query := `SELECT ` + keys + `, counter, if(counter IN (` + failureCounters + `), failure_key, '') AS fk, count() AS n
` + from + `
GROUP BY ` + nodeKeys + `, counter, fk`
		if !withFailures {
			query = strings.Replace(query, "if(counter IN ("+failureCounters+"), failure_key, '')", "''", 1)
		}
		sums := store.NewCounterSums(metrics)
		var counter uint8
		var fk string
		var n uint64
		if err := s.scanRows(ctx, query, args, k.dest(&counter, &fk, &n), func() {
			sums.Add(nodeRef(q.Targets, &k), domain.Counter(counter), fk, int64(n))
		}); err != nil {
			return nil, errorf("clickhouse: aggregate: %w", err)
		}
		return append(out, sums.Rows()...), nil
	}
	cols := make([]string, len(metrics))
	values := make([]uint64, len(metrics))
	dest := k.dest()
	for i, m := range metrics {
		var counters []string
		for c := range 32 {
			if m.Counters&(1<<uint(c)) != 0 {
				counters = append(counters, strconv.Itoa(c))
			}
		}
		cols[i] = fmt.Sprintf("uniqExactIf(user_hi, user_lo, counter IN (%s))", strings.Join(counters, ", "))
		dest = append(dest, &values[i])
	}
	query := `SELECT ` + keys + `, ` + strings.Join(cols, ", ") + `
` + from + `
GROUP BY ` + nodeKeys
	if err := s.scanRows(ctx, query, args, dest, func() {
		node := nodeRef(q.Targets, &k)
		for i, m := range metrics {
			out = append(out, store.AggregateRow{NodeRef: node, Metric: m.Name, Value: int64(values[i])})
		}
	}); err != nil {
		return nil, errorf("clickhouse: aggregate: %w", err)
	}
	if !withFailures {
		return out, nil
	}
	query = `SELECT ` + keys + `, failure_key, uniqExact(user_hi, user_lo)
` + from + ` AND counter IN (` + failureCounters + `) AND failure_key != ''
GROUP BY ` + nodeKeys + `, failure_key`
	var fk string
	var users uint64
	if err := s.scanRows(ctx, query, args, k.dest(&fk, &users), func() {
		out = append(out, store.AggregateRow{NodeRef: nodeRef(q.Targets, &k), Metric: domain.FailurePrefix + fk, Value: int64(users)})
	}); err != nil {
		return nil, errorf("clickhouse: aggregate failure keys: %w", err)
	}
	return out, nil
}

// visibleCredits is the condition that keeps the credits of a workspace visible at the committed step: not
// removed by a rebuild of the workspace, a replacement of their goal event or of their unit's credits of it at a
// later committed step. Its arguments are visibleCreditsArgs. Tombstones are on every shard, so each shard filters
// its own credits; the tables are named with their database because a shard runs the condition in its own default
// database.
func (s *Store) visibleCredits() string {
	return strings.NewReplacer("{db}", s.database).Replace(`step >= (
		SELECT max(step) FROM {db}.credit_tombstones WHERE ws = ? AND kind = 1 AND step <= ?)
	AND (goal_uuid, step) NOT IN (
		SELECT goal_uuid, step FROM {db}.credits
		ANY INNER JOIN (
			SELECT goal_uuid, max(step) AS replaced_at FROM {db}.credit_tombstones
			WHERE ws = ? AND kind = 2 AND step <= ? GROUP BY goal_uuid
		) USING goal_uuid
		WHERE ws = ? AND step < replaced_at)
	AND (goal_uuid, unit, step) NOT IN (
		SELECT goal_uuid, unit, step FROM {db}.credits
		ANY INNER JOIN (
			SELECT goal_uuid, unit, max(step) AS replaced_at FROM {db}.credit_unit_tombstones
			WHERE ws = ? AND step <= ? GROUP BY goal_uuid, unit
		) USING goal_uuid, unit
		WHERE ws = ? AND step < replaced_at)`)
}

// Tombstone kinds.
const (
	tombstoneWorkspace = 1
	tombstoneGoal      = 2
)

func visibleCreditsArgs(ws string, step int64) []any {
	return []any{ws, step, ws, step, ws, ws, step, ws}
}

// Conversions implements store.Aggregator over the committed credits. Each goal event counts once per node: the
// credits are first reduced to one row per (node, group, goal, goal event), then counted.
func (s *Store) Conversions(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error) {
	if len(q.Targets) == 0 {
		return nil, nil
	}
	_, cur, err := s.journal(ctx)
	if err != nil {
		return nil, errorf("clickhouse: conversions: %w", err)
	}
	variation := fmt.Sprintf("multiIf(grp = %d, %s, grp = %d, %s, variation)", attribution.CampaignControl, quote(domain.CampaignControlGroup),
		attribution.GlobalControl, quote(domain.GlobalControlGroup))
	query := `SELECT ` + nodeKeys + `, grp, goal, count() AS total, uniqExact(uh, ul) AS users, sum(rev) AS revenue FROM (
	SELECT tgt, ` + dayExpr("ts", q.Days, q.FromMS, q.ToMS) + ` AS d, ` + nodeCols("platform", "locale", variation) + `,
		grp, goal, goal_uuid, any(user_hi) AS uh, any(user_lo) AS ul, any(revenue) AS rev
	FROM ` + s.creditsTable + ` ARRAY JOIN ` + shapeCodes(q.Shapes) + ` AS shape
	ALL INNER JOIN (` + creditUnits(q.Targets) + `) USING unit
	PREWHERE ws = ? AND unit IN ` + unitList(q.Targets) + ` AND ts >= ? AND ts < ? AND (type = ? OR type = 0) AND step <= ?
	WHERE ` + s.visibleCredits() + `
	GROUP BY ` + nodeKeys + `, grp, goal, goal_uuid
) GROUP BY ` + nodeKeys + `, grp, goal`
	args := append([]any{q.WorkspaceID, q.FromMS, q.ToMS, uint8(q.Type), cur.committed}, visibleCreditsArgs(q.WorkspaceID, cur.committed)...)
	var out []store.ConversionRow
	var k nodeScan
	var grp uint8
	var goal string
	var total, users uint64
	var revenue int64
	if err := s.scanRows(ctx, query, args, k.dest(&grp, &goal, &total, &users, &revenue), func() {
		out = append(out, store.ConversionRow{NodeRef: nodeRef(q.Targets, &k), Group: attribution.Group(grp), Goal: goal,
			Total: int64(total), Unique: int64(users), RevenueMicros: revenue})
	}); err != nil {
		return nil, errorf("clickhouse: conversions: %w", err)
	}
	return out, nil
}

// ActiveCampaigns implements store.Aggregator: campaigns with a committed campaign event in range, and units with a
// visible credit of type t (or a control-group credit) for a goal event in range.
func (s *Store) ActiveCampaigns(ctx context.Context, ws string, fromMS, toMS int64, t attribution.Type) ([]string, error) {
	events, credits, err := s.journal(ctx)
	if err != nil {
		return nil, errorf("clickhouse: active campaigns: %w", err)
	}
	seen := map[string]bool{}
	var id string
	add := func() { seen[id] = true }
	if err := s.scanRows(ctx, `SELECT DISTINCT campaign_id FROM `+s.eventsTable+`
		PREWHERE ws = ? AND is_campaign = 1 AND ts >= ? AND ts < ? AND seq <= ?`,
		[]any{ws, fromMS, toMS, events.committed}, []any{&id}, add); err != nil {
		return nil, errorf("clickhouse: active campaigns: %w", err)
	}
	if err := s.scanRows(ctx, `SELECT DISTINCT unit FROM `+s.creditsTable+`
		PREWHERE ws = ? AND ts >= ? AND ts < ? AND (type = ? OR type = 0) AND step <= ?
		WHERE `+s.visibleCredits(), append([]any{ws, fromMS, toMS, uint8(t), credits.committed}, visibleCreditsArgs(ws, credits.committed)...),
		[]any{&id}, add); err != nil {
		return nil, errorf("clickhouse: active campaigns: %w", err)
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
