package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Workspaces are read from the database on every call (no cache): another process may rotate a key or suspend a
// workspace, and the next request must see it.

const workspaceCols = `id, name, timezone, status, rate_limit, created_at, disabled_at, report_key, data_key`

func scanWorkspace(row pgx.Row) (domain.Workspace, error) {
	var w domain.Workspace
	var created int64
	var disabled *int64
	if err := row.Scan(&w.ID, &w.Name, &w.Timezone, &w.Status, &w.RateLimitPerMinute, &created, &disabled, &w.ReportKey, &w.DataKey); err != nil {
		return w, err
	}
	w.CreatedAt, w.DisabledAt = fromMS(created), fromNullableMS(disabled)
	return w, nil
}

// CreateWorkspace stores a new workspace; domain.ErrAlreadyExists when the id is taken.
func (s *Store) CreateWorkspace(ctx context.Context, w domain.Workspace) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO workspaces (`+workspaceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING`,
		w.ID, w.Name, w.Timezone, w.Status, w.RateLimitPerMinute, ms(w.CreatedAt), nullableMS(w.DisabledAt), w.ReportKey, w.DataKey)
	if err != nil {
		return fmt.Errorf("postgres: create workspace: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("workspace %s: %w", w.ID, domain.ErrAlreadyExists)
	}
	return nil
}

// Workspace returns one workspace; domain.ErrNotFound when unknown.
func (s *Store) Workspace(ctx context.Context, id string) (domain.Workspace, error) {
	w, err := scanWorkspace(s.pool.QueryRow(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fmt.Errorf("workspace %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("postgres: read workspace: %w", err)
	}
	return w, nil
}

// ListWorkspaces returns workspaces ordered by creation time; status "" means all.
func (s *Store) ListWorkspaces(ctx context.Context, status string) ([]domain.Workspace, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE $1 = '' OR status = $1 ORDER BY created_at, seq`, status)
	if err != nil {
		return nil, fmt.Errorf("postgres: list workspaces: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Workspace, error) { return scanWorkspace(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list workspaces: %w", err)
	}
	if out == nil {
		out = []domain.Workspace{}
	}
	return out, nil
}

// UpdateWorkspace replaces the mutable fields; domain.ErrNotFound when unknown.
func (s *Store) UpdateWorkspace(ctx context.Context, w domain.Workspace) error {
	tag, err := s.pool.Exec(ctx, `UPDATE workspaces SET name = $1, status = $2, rate_limit = $3, disabled_at = $4, report_key = $5, data_key = $6
		WHERE id = $7`, w.Name, w.Status, w.RateLimitPerMinute, nullableMS(w.DisabledAt), w.ReportKey, w.DataKey, w.ID)
	if err != nil {
		return fmt.Errorf("postgres: update workspace: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("workspace %s: %w", w.ID, domain.ErrNotFound)
	}
	return nil
}
