package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/store"
)

// Conversion credits (store.Credits): rows written by the credit upkeep above the store, replaced per goal event,
// with the upkeep's progress through the event log recorded in the same transaction.

// ApplyCredits implements store.Credits.
func (s *Store) ApplyCredits(ctx context.Context, u store.CreditUpdate) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("apply credits: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("apply credits: %w", err)
	}
	err = func() error {
		for _, ws := range u.Rebuild {
			if _, err := conn.ExecContext(ctx, `DELETE FROM credits WHERE ws = ?`, ws); err != nil {
				return err
			}
		}
		byWS := map[string][]string{}
		for _, g := range u.Replace {
			byWS[g.WorkspaceID] = append(byWS[g.WorkspaceID], g.UUID)
		}
		for ws, uuids := range byWS {
			if _, err := conn.ExecContext(ctx, `DELETE FROM credits WHERE ws = ? AND goal_uuid IN (SELECT unnest(?::VARCHAR[]))`,
				ws, uuids); err != nil {
				return err
			}
		}
		if len(u.Credits) > 0 {
			if err := conn.Raw(func(dc any) error {
				app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "credits")
				if err != nil {
					return err
				}
				for _, c := range u.Credits {
					if err := app.AppendRow(c.WorkspaceID, c.GoalUUID, c.User.Hi, c.User.Lo, c.TimeMS, c.Unit, c.Goal, uint8(c.Type),
						uint8(c.Group), c.Platform, c.Locale, c.Variation, c.RevenueMicros); err != nil {
						app.Close()
						return err
					}
				}
				return app.Close()
			}); err != nil {
				return err
			}
		}
		if u.Progress > 0 {
			if _, err := conn.ExecContext(ctx, `UPDATE derived_progress SET seq = ? WHERE id = 1`, int64(u.Progress)); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, `COMMIT`)
		if err == nil {
			s.looseCredits += int64(len(u.Credits))
			s.creditWrites++
		}
		return err
	}()
	if err != nil {
		conn.ExecContext(ctx, `ROLLBACK`)
		return fmt.Errorf("apply credits: %w", err)
	}
	return nil
}

// Progress implements store.Credits.
func (s *Store) Progress(ctx context.Context) (store.Seq, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT seq FROM derived_progress WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("progress: %w", err)
	}
	return store.Seq(seq), nil
}
