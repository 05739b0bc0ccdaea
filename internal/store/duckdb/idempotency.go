package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/store"
)

// IdempotentResponse returns a stored response created at or after since.
func (s *Store) IdempotentResponse(ctx context.Context, ws, endpoint, key string, since time.Time) (store.IdempotentResponse, bool, error) {
	r := store.IdempotentResponse{Endpoint: endpoint, Key: key}
	var body string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT status, body, request_id, created_at FROM idempotency
		WHERE ws = ? AND endpoint = ? AND key = ? AND created_at >= ?`, ws, endpoint, key, since.UnixMilli()).
		Scan(&r.Status, &body, &r.RequestID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read idempotency key: %w", err)
	}
	r.Body, r.CreatedAt = []byte(body), time.UnixMilli(created).UTC()
	return r, true, nil
}

// PutIdempotentResponse stores a response, replacing any earlier one of its key.
func (s *Store) PutIdempotentResponse(ctx context.Context, ws string, r store.IdempotentResponse) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ws, r.Endpoint, r.Key, r.Status, string(r.Body), r.RequestID, r.CreatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// putIdempotency writes a record inside an open transaction.
func putIdempotency(ctx context.Context, conn *sql.Conn, ws string, r *store.IdempotentResponse) error {
	if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ws, r.Endpoint, r.Key, r.Status, string(r.Body), r.RequestID, r.CreatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency deletes responses created before t.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE created_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
