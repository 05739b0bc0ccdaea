package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// defaultQuarantineLimit is the page size of ListQuarantine when the filter sets none.
const defaultQuarantineLimit = 100

const quarantineCols = `id, ws, received_at, request_id, endpoint, idx, event_uuid, reason, payload_truncated`

// AddQuarantine stores records in one transaction (COPY).
func (s *Store) AddQuarantine(ctx context.Context, records []store.QuarantineRecord) error {
	if len(records) == 0 {
		return nil
	}
	rows := make([][]any, len(records))
	for i, q := range records {
		payload := q.Payload
		if payload == nil {
			payload = []byte{}
		}
		rows[i] = []any{q.ID, q.WorkspaceID, ms(q.ReceivedAt), q.RequestID, q.Endpoint, int32(q.Index), q.EventUUID, q.Reason, payload,
			q.PayloadTruncated}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"quarantine"},
		[]string{"id", "ws", "received_at", "request_id", "endpoint", "idx", "event_uuid", "reason", "payload", "payload_truncated"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("postgres: add quarantine: %w", err)
	}
	return nil
}

// scanQuarantine reads quarantineCols, then the payload when withPayload.
func scanQuarantine(row pgx.Row, withPayload bool) (store.QuarantineRecord, error) {
	var q store.QuarantineRecord
	var received int64
	var index int32
	dest := []any{&q.ID, &q.WorkspaceID, &received, &q.RequestID, &q.Endpoint, &index, &q.EventUUID, &q.Reason, &q.PayloadTruncated}
	if withPayload {
		dest = append(dest, &q.Payload)
	}
	if err := row.Scan(dest...); err != nil {
		return q, err
	}
	q.ReceivedAt, q.Index = fromMS(received), int(index)
	if withPayload && q.Payload == nil {
		q.Payload = []byte{}
	}
	return q, nil
}

// ListQuarantine lists records newest first, without payloads. The cursor is "<received_ms>:<id>" of the last
// record returned, as in the embedded store.
func (s *Store) ListQuarantine(ctx context.Context, workspaceID string, f store.QuarantineFilter) ([]store.QuarantineRecord, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultQuarantineLimit
	}
	conds := []string{"ws = $1"}
	args := []any{workspaceID}
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if !f.Since.IsZero() {
		add("received_at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("received_at < ?", ms(f.Until))
	}
	if f.Reason != "" {
		add("strpos(reason, ?) > 0", f.Reason)
	}
	if f.Cursor != "" {
		at, id, ok := strings.Cut(f.Cursor, ":")
		t, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return nil, "", fmt.Errorf("bad cursor: %w", domain.ErrConflict)
		}
		add("(received_at, id) < (?, ?)", t, id)
	}
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, `SELECT `+quarantineCols+` FROM quarantine WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY received_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list quarantine: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.QuarantineRecord, error) { return scanQuarantine(row, false) })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list quarantine: %w", err)
	}
	if out == nil {
		out = []store.QuarantineRecord{}
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = strconv.FormatInt(last.ReceivedAt.UnixMilli(), 10) + ":" + last.ID
	}
	return out, next, nil
}

// GetQuarantine returns one record with its payload; domain.ErrNotFound when unknown.
func (s *Store) GetQuarantine(ctx context.Context, workspaceID, id string) (store.QuarantineRecord, error) {
	q, err := scanQuarantine(s.pool.QueryRow(ctx, `SELECT `+quarantineCols+`, payload FROM quarantine WHERE ws = $1 AND id = $2`,
		workspaceID, id), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, fmt.Errorf("quarantine record %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return q, fmt.Errorf("postgres: get quarantine: %w", err)
	}
	return q, nil
}

// DeleteQuarantine deletes one record; domain.ErrNotFound when unknown.
func (s *Store) DeleteQuarantine(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM quarantine WHERE ws = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return fmt.Errorf("postgres: delete quarantine: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("quarantine record %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

// PurgeQuarantine deletes records received before t (all workspaces when workspaceID is "").
func (s *Store) PurgeQuarantine(ctx context.Context, workspaceID string, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM quarantine WHERE ($1 = '' OR ws = $1) AND received_at < $2`, workspaceID, ms(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: purge quarantine: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// CountQuarantine counts every quarantine record.
func (s *Store) CountQuarantine(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM quarantine`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count quarantine: %w", err)
	}
	return n, nil
}
