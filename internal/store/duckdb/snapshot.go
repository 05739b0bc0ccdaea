package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// snapshot reads the store inside a DuckDB transaction: DuckDB's MVCC gives every query of the transaction the
// data as of the transaction's start, whatever is committed meanwhile. The catalog is read from the campaigns table
// inside the same transaction (the in-memory cache follows the latest commit, not the snapshot).
type snapshot struct {
	reader
	conn *sql.Conn
	tx   *sql.Tx
}

var _ store.Snapshot = (*snapshot)(nil)

// Snapshot implements store.Snapshotter.
func (s *Store) Snapshot(ctx context.Context) (store.Snapshot, error) {
	if err := s.awaitLog(ctx); err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// The transaction must outlive ctx (a caller's request context), so it is not bound to it.
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// DuckDB fixes a transaction's view of the database at its first read: read now, so that the snapshot is the
	// database as of this call.
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspaces`).Scan(&n); err != nil {
		tx.Rollback()
		conn.Close()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &snapshot{reader: reader{q: tx, cells: s.dict}, conn: conn, tx: tx}, nil
}

// Campaigns returns the workspace's catalog as it was when the snapshot opened, sorted by id.
func (s *snapshot) Campaigns(ctx context.Context, ws string) ([]domain.Campaign, error) {
	return queryCampaigns(ctx, s.tx, `SELECT `+campaignCols+` FROM campaigns WHERE ws = ? ORDER BY id`, ws)
}

// Close ends the transaction and returns the connection.
func (s *snapshot) Close() error {
	return errors.Join(s.tx.Rollback(), s.conn.Close())
}
