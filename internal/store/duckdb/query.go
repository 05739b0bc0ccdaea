package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// metricsExpr is the SQL expression listing the metrics of an event row (domain.CounterMetrics, §4.3) plus its
// failure-breakdown metric for failure counters.
func metricsExpr() string {
	var b strings.Builder
	b.WriteString("CASE e.counter")
	for c := domain.CounterSent; c <= domain.CounterHeldOutGlobal; c++ {
		ms := domain.CounterMetrics(c)
		b.WriteString(" WHEN " + strconv.Itoa(int(c)) + " THEN [")
		for i, m := range ms {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(sqlString(m))
		}
		if c == domain.CounterFailedSend || c == domain.CounterFailedDelivery {
			b.WriteString(", " + sqlString(domain.FailurePrefix) + " || e.failure_key")
		}
		b.WriteString("]")
	}
	// Counter-less events of the campaign's channel still make their node exist (SPEC §5.8).
	b.WriteString(" ELSE ['" + domain.MetricPresent + "'] END")
	return b.String()
}

// platformExpr resolves an event's platform under its target's channel (domain.ResolvePlatform in SQL).
const platformExpr = `CASE WHEN m.chkey <> '' THEN m.chkey WHEN e.platform <> '' THEN e.platform
	WHEN e.pdef = 1 THEN 'android' WHEN e.pdef = 2 THEN 'web'
	WHEN e.pdef = 3 THEN (CASE WHEN m.onsite THEN 'web' ELSE 'android' END) ELSE 'unknown' END`

// Aggregate computes node metrics for every target in one query.
func (s *Store) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	if len(q.Targets) == 0 {
		return nil, nil
	}
	var values []string
	for ti, t := range q.Targets {
		chkey := ""
		if t.Channel.PlatformIsChannel() {
			chkey = string(t.Channel)
		}
		for _, u := range t.Units {
			values = append(values, fmt.Sprintf("(%s, %d, %d, %s, %t)", sqlString(u), ti, uint16(t.Channel.Bit()), sqlString(chkey), t.Channel == domain.ChannelOnSite))
		}
	}
	agg := "count(*)"
	if q.Unique {
		agg = "count(DISTINCT user_id)"
	}
	query := `WITH m(unit, tgt, chbit, chkey, onsite) AS (VALUES ` + strings.Join(values, ", ") + `),
ev AS (
	SELECT m.tgt AS tgt, ` + platformExpr + ` AS p, e.locale AS l, e.variation AS v, e.user_id AS user_id,
		unnest(` + metricsExpr() + `) AS metric
	FROM events e JOIN m ON e.campaign_id = m.unit
	WHERE e.ws = ? AND e.ts >= ? AND e.ts < ? AND e.is_campaign AND (e.channels & m.chbit) <> 0
)
SELECT tgt, p, grouping(l) AS gl, l, grouping(v) AS gv, v, metric, ` + agg + ` AS value
FROM ev
GROUP BY GROUPING SETS ((tgt, p, l, v, metric), (tgt, p, l, metric), (tgt, p, v, metric), (tgt, p, metric))`
	rows, err := s.db.QueryContext(ctx, query, q.WorkspaceID, q.FromMS, q.ToMS)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	defer rows.Close()
	var out []store.AggregateRow
	for rows.Next() {
		var r store.AggregateRow
		var tgt, gl, gv int
		var l, v sql.NullString
		if err := rows.Scan(&tgt, &r.Platform, &gl, &l, &gv, &v, &r.Metric, &r.Value); err != nil {
			return nil, fmt.Errorf("aggregate scan: %w", err)
		}
		r.Target = q.Targets[tgt].ID
		r.AllLocales, r.Locale = gl == 1, l.String
		r.AllVariations, r.Variation = gv == 1, v.String
		if r.AllVariations && (r.Metric == domain.MetricHeldCampaign || r.Metric == domain.MetricHeldGlobal) {
			continue
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ActiveCampaigns returns campaigns with a campaign event in range.
func (s *Store) ActiveCampaigns(ctx context.Context, ws string, fromMS, toMS int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT campaign_id FROM events WHERE ws = ? AND is_campaign AND ts >= ? AND ts < ?`, ws, fromMS, toMS)
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
func (s *Store) FunnelEntries(ctx context.Context, ws string, campaignIDs []string, fromDate, toDate string) ([]store.FunnelEntry, error) {
	if len(campaignIDs) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT campaign_id, day, platform, locale, variation, stage, value FROM funnel
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
