package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// snapshot reads one workspace inside a DuckDB transaction: DuckDB's MVCC gives every query of the transaction the
// data as of the transaction's start, whatever is committed meanwhile. The catalog is copied from the cache when
// the snapshot opens.
type snapshot struct {
	reader
	conn      *sql.Conn
	tx        *sql.Tx
	ws        string
	campaigns []domain.Campaign
}

var _ store.Snapshot = (*snapshot)(nil)

// Snapshot implements store.Snapshotter. It takes the writer lock for a moment, so that the transaction starts and
// the catalog is copied between two commits.
func (s *Store) Snapshot(ctx context.Context, ws string) (store.Snapshot, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	snap, err := s.openSnapshot(ctx, conn, ws)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}

func (s *Store) openSnapshot(ctx context.Context, conn *sql.Conn, ws string) (*snapshot, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// The transaction must outlive ctx (a caller's request context), so it is not bound to it.
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, err
	}
	// DuckDB fixes a transaction's view of the database at its first read, so read now, under the writer lock.
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspaces WHERE id = ?`, ws).Scan(&n); err != nil {
		tx.Rollback()
		return nil, err
	}
	campaigns, err := s.Campaigns(ctx, ws)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return &snapshot{reader: reader{q: tx}, conn: conn, tx: tx, ws: ws, campaigns: campaigns}, nil
}

// Campaigns returns the workspace's catalog as it was when the snapshot opened.
func (s *snapshot) Campaigns(_ context.Context, ws string) ([]domain.Campaign, error) {
	if ws != s.ws {
		return nil, fmt.Errorf("snapshot of workspace %s read for workspace %s: %w", s.ws, ws, domain.ErrConflict)
	}
	out := make([]domain.Campaign, len(s.campaigns))
	for i, c := range s.campaigns {
		out[i] = cloneCampaign(c)
	}
	return out, nil
}

// Close ends the transaction and returns the connection.
func (s *snapshot) Close() error {
	return errors.Join(s.tx.Rollback(), s.conn.Close())
}
