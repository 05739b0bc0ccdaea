package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// nodeSet is one node shape: which of platform (p), locale (l) and variation (v) are keys (the others are rolled
// up).
type nodeSet struct{ p, l, v bool }

// nodeSets are the node shapes of every (target, day): each of platform, locale and variation is either a key or
// rolled up, less the shapes the query leaves out, plus variation alone — the nodes of every variation over all
// platforms and locales, whose control groups are the uplift bases (store.NodeShapes).
func nodeSets(shapes store.NodeShapes) []nodeSet {
	var out []nodeSet
	for _, set := range []nodeSet{{true, true, true}, {true, true, false}, {true, false, true}, {true, false, false},
		{false, true, true}, {false, true, false}, {false, false, true}, {false, false, false}} {
		left := (shapes.OnlyAllPlatforms && set.p) || (shapes.OnlyAllLocales && set.l) || (shapes.OnlyAllVariations && set.v)
		if left && set != (nodeSet{v: true}) {
			continue
		}
		if !slices.Contains(out, set) {
			out = append(out, set)
		}
	}
	return out
}

// groupingSets is the GROUPING SETS clause of nodeSets(shapes), keyed by target and day; extra columns follow
// each set.
func groupingSets(shapes store.NodeShapes, extra string) string {
	var sets []string
	for _, set := range nodeSets(shapes) {
		cols := []string{"tgt", "d"}
		for _, k := range []struct {
			on  bool
			col string
		}{{set.p, "p"}, {set.l, "l"}, {set.v, "v"}} {
			if k.on {
				cols = append(cols, k.col)
			}
		}
		sets = append(sets, "("+strings.Join(cols, ", ")+extra+")")
	}
	return "GROUPING SETS (" + strings.Join(sets, ", ") + ")"
}

// nodeKeyCols selects (gp, p, gl, l, gv, v) — the grouping flags and keys of platform, locale and variation — in a
// node query grouped by groupingSets(shapes, …), with constants of the keys' SQL type for the dimensions that are
// always rolled up.
func nodeKeyCols(shapes store.NodeShapes, keyType string) string {
	p, l := "grouping(p) AS gp, p", "grouping(l) AS gl, l"
	if shapes.OnlyAllPlatforms {
		p = "1 AS gp, NULL::" + keyType + " AS p"
	}
	if shapes.OnlyAllLocales {
		l = "1 AS gl, NULL::" + keyType + " AS l"
	}
	return p + ", " + l + ", grouping(v) AS gv, v"
}

// reader answers the metric engine's queries (store.Reader without the catalog) through a queryer.
type reader struct {
	q     queryer
	cells *cellDict
	// onQuery, when set, sees every UNIQUE and conversion node query before it runs (benchmarks explain them).
	onQuery func(query string, args []any)
	// wideFrom is the smallest cell code that makes a UNIQUE query pack codes into a HUGEINT (0: 1<<20; tests
	// lower it).
	wideFrom int
	// numbers, when set, maps the log's tail users to their numbers in memory (the store's reader; a report's
	// snapshot, which may outlive a renumbering, joins user_ids).
	numbers *userNumbers
	// queries, when set, notes node queries (the store's reader): maintenance yields to them (yield.go).
	queries *queryPause
	// tail, when set and loaded, holds the log's tail for UNIQUE queries (the store's reader).
	tail *tailIndex
	// await, when set, waits until every appended event is in the tables (the store's reader).
	await func(context.Context) error
}

// countRead notes a node query.
func (r *reader) countRead() {
	if r.queries != nil {
		r.queries.note()
	}
}

const msPerDay = 86_400_000

// dayExpr is the SQL expression of the local day number (days since 1970-01-01, store.DayNumber) of the instant
// col (Unix ms) in loc, for instants in [fromMS, toMS): the instant plus its zone offset, divided by a day. The
// offsets of the range come from the Go zone database, one CASE branch per transition. Nil loc gives 0.
func dayExpr(col string, loc *time.Location, fromMS, toMS int64) string {
	if loc == nil {
		return "0"
	}
	spans := store.ZoneSpans(loc, fromMS, toMS)
	shift := fmt.Sprintf("%d", spans[len(spans)-1].OffsetMS)
	if len(spans) > 1 {
		var branches []string
		for _, z := range spans[:len(spans)-1] {
			branches = append(branches, fmt.Sprintf("WHEN %s < %d THEN %d", col, z.UntilMS, z.OffsetMS))
		}
		shift = "CASE " + strings.Join(branches, " ") + " ELSE " + shift + " END"
	}
	return fmt.Sprintf("CAST((%s + %s) // %d AS INTEGER)", col, shift, msPerDay)
}

// dayFunc is dayExpr in Go: the day number of a time (0 for every time without loc).
func dayFunc(loc *time.Location, fromMS, toMS int64) func(ms int64) int32 {
	if loc == nil {
		return func(int64) int32 { return 0 }
	}
	spans := store.ZoneSpans(loc, fromMS, toMS)
	return func(ms int64) int32 {
		shift := spans[len(spans)-1].OffsetMS
		for _, z := range spans[:len(spans)-1] {
			if ms < z.UntilMS {
				shift = z.OffsetMS
				break
			}
		}
		return int32((ms + shift) / msPerDay)
	}
}

// Aggregate computes node metrics for every target.
//
// TOTAL counts events per finest node, counter and failure key once, then rolls those counts up to every node
// shape with GROUPING SETS. UNIQUE is aggregateUnique: one aggregation per user, the rest rolled up in Go.
func (r *reader) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	if len(q.Targets) == 0 {
		return nil, nil
	}
	if r.await != nil {
		if err := r.await(ctx); err != nil {
			return nil, err
		}
	}
	r.countRead()
	codes := r.cells.codes(q.Targets)
	var values []string
	for ti, t := range q.Targets {
		for _, u := range t.Units {
			values = append(values, fmt.Sprintf("(%s, %d, %d, %d)", sqlString(u.ID), ti, uint16(u.Channel.Bit()), codes.mode(u.Channel)))
		}
	}
	failureCounters := fmt.Sprintf("%d, %d", domain.CounterFailedSend, domain.CounterFailedDelivery)
	metrics := domain.CounterMetricSets()
	counterFilter := "e.counter <> 0"
	var metricMask uint32 // the counters of the asked metrics; 0: every counter
	if len(q.Metrics) > 0 {
		// Only the events feeding the asked metrics are read; failure keys are not asked for.
		metrics = slices.DeleteFunc(metrics, func(m domain.CounterMetric) bool { return !slices.Contains(q.Metrics, m.Name) })
		for _, m := range metrics {
			metricMask |= uint32(m.Counters)
		}
		counterFilter = fmt.Sprintf("((1::UINTEGER << e.counter) & %d) <> 0", metricMask)
		failureCounters = "NULL"
	}
	if q.Unique {
		return r.aggregateUnique(ctx, q, codes, strings.Join(values, ", "), metrics, metricMask)
	}
	// Events are read from facts (sorted by campaign: zone maps skip other campaigns) and from the log's tail not
	// yet compacted into it; their cells become integer platform, locale and variation codes under each unit's
	// channel (x), so that every grouping is on integers.
	with := `WITH m(unit, tgt, chbit, mode) AS (VALUES ` + strings.Join(values, ", ") + `),
x(cell, mode, pc, lc, vc) AS (VALUES ` + codes.values() + `),
src AS (
	SELECT campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key FROM facts
	WHERE ws = $1 AND campaign_id IN (SELECT unit FROM m) AND ts >= $2 AND ts < $3
	UNION ALL
	SELECT campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key FROM events
	WHERE seq > (SELECT seq FROM facts_watermark WHERE id = 1) AND ws = $1 AND is_campaign AND campaign_id IN (SELECT unit FROM m)
		AND ts >= $2 AND ts < $3
),
ev AS (
	SELECT m.tgt AS tgt, ` + dayExpr("e.ts", q.Days, q.FromMS, q.ToMS) + ` AS d, x.pc AS p, x.lc AS l, x.vc AS v, e.user_hi AS uh, e.user_lo AS ul,
		e.counter AS counter, CASE WHEN e.counter IN (` + failureCounters + `) THEN e.failure_key ELSE '' END AS fk
	FROM src e JOIN m ON e.campaign_id = m.unit JOIN x ON x.cell = e.cell AND x.mode = m.mode
	WHERE ` + counterFilter + ` AND (e.channels & m.chbit) <> 0
)`
	args := []any{q.WorkspaceID, q.FromMS, q.ToMS}
	query := with + `,
base AS (SELECT tgt, d, p, l, v, counter, fk, count(*) AS n FROM ev GROUP BY tgt, d, p, l, v, counter, fk)
SELECT tgt, d, ` + nodeKeyCols(q.Shapes, "INTEGER") + `, counter, fk, sum(n)::BIGINT FROM base GROUP BY ` + groupingSets(q.Shapes, ", counter, fk")
	sums := store.NewCounterSums(metrics)
	err := codes.scanNodes(ctx, r.q, query, args, q.Targets, func(node store.NodeRef, vals []any) {
		sums.Add(node, domain.Counter(*vals[0].(*uint8)), *vals[1].(*string), *vals[2].(*int64))
	}, new(uint8), new(string), new(int64))
	return sums.Rows(), err
}

// scanNodes runs a node query whose first eight columns are (tgt, d, grouping(p), p, grouping(l), l, grouping(v),
// v) and hands each row's node and remaining columns (scanned into rest) to emit.
func (r *reader) scanNodes(ctx context.Context, query string, args []any, targets []store.AggregateTarget, emit func(store.NodeRef, []any), rest ...any) error {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("node query: %w", err)
	}
	defer rows.Close()
	var tgt, gp, gl, gv int
	var d int32
	var p, l, v sql.NullString
	dest := append([]any{&tgt, &d, &gp, &p, &gl, &l, &gv, &v}, rest...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("node query scan: %w", err)
		}
		emit(store.NodeRef{Target: targets[tgt].ID, Day: d, AllPlatforms: gp == 1, Platform: p.String, AllLocales: gl == 1,
			Locale: l.String, AllVariations: gv == 1, Variation: v.String}, rest)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("node query: %w", err)
	}
	return nil
}

// ActiveCampaigns returns campaigns with a campaign event or a credit in range.
func (r *reader) ActiveCampaigns(ctx context.Context, ws string, fromMS, toMS int64, t attribution.Type) ([]string, error) {
	if r.await != nil {
		if err := r.await(ctx); err != nil {
			return nil, err
		}
	}
	q, watermark, done, err := r.creditSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("active campaigns: %w", err)
	}
	defer done()
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT campaign_id FROM events WHERE ws = ? AND is_campaign AND ts >= ? AND ts < ?
		UNION SELECT DISTINCT unit FROM `+creditsFrom(watermark)+` WHERE ws = ? AND ts >= ? AND ts < ? AND (type = ? OR type = 0) AND `+liveCredit,
		ws, fromMS, toMS, ws, fromMS, toMS, uint8(t))
	if err != nil {
		return nil, fmt.Errorf("active campaigns: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("active campaigns: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// unitValues is the VALUES list mapping units to target indexes.
func unitValues(targets []store.AggregateTarget) string {
	var values []string
	for ti, t := range targets {
		for _, u := range t.Units {
			values = append(values, fmt.Sprintf("(%s, %d)", sqlString(u.ID), ti))
		}
	}
	return strings.Join(values, ", ")
}

// unitList is the quoted ids of every unit of targets, for an IN list: DuckDB uses a literal list to skip row
// groups by their zone maps, which a join on the units does not.
func unitList(targets []store.AggregateTarget) string {
	var ids []string
	for _, t := range targets {
		for _, u := range t.Units {
			if id := sqlString(u.ID); !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return strings.Join(ids, ", ")
}

// ---- funnel ----

// PutFunnel sets the entries atomically.
func (s *Store) PutFunnel(ctx context.Context, ws string, entries []store.FunnelEntry) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put funnel: %w", err)
	}
	for _, e := range entries {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO funnel VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ws, e.CampaignID, e.Date, e.Platform, e.Locale, e.Variation, e.Stage, e.Value); err != nil {
			tx.Rollback()
			return fmt.Errorf("put funnel: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put funnel: commit: %w", err)
	}
	return nil
}

// FunnelEntries returns entries of the campaigns within the date range.
func (r *reader) FunnelEntries(ctx context.Context, ws string, campaignIDs []string, fromDate, toDate string) ([]store.FunnelEntry, error) {
	if len(campaignIDs) == 0 {
		return nil, nil
	}
	rows, err := r.q.QueryContext(ctx, `SELECT campaign_id, day, platform, locale, variation, stage, value FROM funnel
		WHERE ws = ? AND list_contains(?, campaign_id) AND day >= ? AND day <= ?`, ws, campaignIDs, fromDate, toDate)
	if err != nil {
		return nil, fmt.Errorf("funnel entries: %w", err)
	}
	defer rows.Close()
	var out []store.FunnelEntry
	for rows.Next() {
		var e store.FunnelEntry
		if err := rows.Scan(&e.CampaignID, &e.Date, &e.Platform, &e.Locale, &e.Variation, &e.Stage, &e.Value); err != nil {
			return nil, fmt.Errorf("funnel entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- quarantine ----

// AddQuarantine stores records in one transaction.
func (s *Store) AddQuarantine(ctx context.Context, records []store.QuarantineRecord) error {
	if len(records) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("add quarantine: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "quarantine")
		if err != nil {
			return fmt.Errorf("quarantine appender: %w", err)
		}
		for _, q := range records {
			if err := app.AppendRow(q.ID, q.WorkspaceID, q.ReceivedAt.UnixMilli(), q.RequestID, q.Endpoint, int32(q.Index),
				q.EventUUID, q.Reason, string(q.Payload), q.PayloadTruncated); err != nil {
				app.Close()
				return fmt.Errorf("append quarantine: %w", err)
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush quarantine: %w", err)
		}
		return nil
	})
}

const quarantineCols = `id, ws, received_at, request_id, endpoint, idx, event_uuid, reason, payload, payload_truncated`

func scanQuarantine(sc interface{ Scan(...any) error }, withPayload bool) (store.QuarantineRecord, error) {
	var q store.QuarantineRecord
	var received int64
	var payload string
	if err := sc.Scan(&q.ID, &q.WorkspaceID, &received, &q.RequestID, &q.Endpoint, &q.Index, &q.EventUUID, &q.Reason, &payload, &q.PayloadTruncated); err != nil {
		return q, err
	}
	q.ReceivedAt = time.UnixMilli(received).UTC()
	if withPayload {
		q.Payload = []byte(payload)
	}
	return q, nil
}

// ListQuarantine lists records newest first. The cursor is "<received_ms>:<id>" of the last record returned.
func (s *Store) ListQuarantine(ctx context.Context, ws string, f store.QuarantineFilter) ([]store.QuarantineRecord, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	conds := []string{"ws = ?"}
	args := []any{ws}
	if !f.Since.IsZero() {
		conds, args = append(conds, "received_at >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "received_at < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Reason != "" {
		conds, args = append(conds, "contains(reason, ?)"), append(args, f.Reason)
	}
	if f.Cursor != "" {
		ms, id, ok := strings.Cut(f.Cursor, ":")
		t, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return nil, "", fmt.Errorf("bad cursor: %w", domain.ErrConflict)
		}
		conds, args = append(conds, "(received_at < ? OR (received_at = ? AND id < ?))"), append(args, t, t, id)
	}
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, `SELECT `+quarantineCols+` FROM quarantine WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY received_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list quarantine: %w", err)
	}
	defer rows.Close()
	out := []store.QuarantineRecord{}
	for rows.Next() {
		q, err := scanQuarantine(rows, false)
		if err != nil {
			return nil, "", fmt.Errorf("list quarantine: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = strconv.FormatInt(last.ReceivedAt.UnixMilli(), 10) + ":" + last.ID
	}
	return out, next, nil
}

// GetQuarantine returns one record with its payload.
func (s *Store) GetQuarantine(ctx context.Context, ws, id string) (store.QuarantineRecord, error) {
	q, err := scanQuarantine(s.db.QueryRowContext(ctx, `SELECT `+quarantineCols+` FROM quarantine WHERE ws = ? AND id = ?`, ws, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return q, fmt.Errorf("quarantine record %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return q, fmt.Errorf("get quarantine: %w", err)
	}
	return q, nil
}

// DeleteQuarantine deletes one record.
func (s *Store) DeleteQuarantine(ctx context.Context, ws, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM quarantine WHERE ws = ? AND id = ?`, ws, id)
	if err != nil {
		return fmt.Errorf("delete quarantine: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("quarantine record %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

// PurgeQuarantine deletes records received before t.
func (s *Store) PurgeQuarantine(ctx context.Context, ws string, before time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM quarantine WHERE (? = '' OR ws = ?) AND received_at < ?`, ws, ws, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge quarantine: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CountQuarantine counts every quarantine record.
func (s *Store) CountQuarantine(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM quarantine`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count quarantine: %w", err)
	}
	return n, nil
}
