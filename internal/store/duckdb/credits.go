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

// liveCredit is the condition a credit row aliased c must meet to count: no void of its goal event written after
// it (credit_voids).
const liveCredit = `NOT EXISTS (SELECT 1 FROM credit_voids v WHERE v.ws = c.ws AND v.goal_uuid = c.goal_uuid AND v.gen > c.gen)`

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
		gen := s.creditGen + 1
		for _, ws := range u.Rebuild {
			for _, q := range []string{`DELETE FROM credits WHERE ws = ?`, `DELETE FROM credit_voids WHERE ws = ?`} {
				if _, err := conn.ExecContext(ctx, q, ws); err != nil {
					return err
				}
			}
		}
		return conn.Raw(func(dc any) error {
			// Replaced goal events' credits are voided, not deleted (see credit_voids): appending is what a
			// credit update costs, whatever the store holds.
			if len(u.Replace) > 0 {
				app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "credit_voids")
				if err != nil {
					return err
				}
				for _, g := range u.Replace {
					if err := app.AppendRow(g.WorkspaceID, g.UUID, gen); err != nil {
						app.Close()
						return err
					}
				}
				if err := app.Close(); err != nil {
					return err
				}
			}
			if len(u.Credits) == 0 {
				return nil
			}
			app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "credits")
			if err != nil {
				return err
			}
			for _, c := range u.Credits {
				if err := app.AppendRow(c.WorkspaceID, c.GoalUUID, c.User.Hi, c.User.Lo, c.TimeMS, c.Unit, c.Goal, uint8(c.Type),
					uint8(c.Group), c.Platform, c.Locale, c.Variation, c.RevenueMicros, gen); err != nil {
					app.Close()
					return err
				}
			}
			return app.Close()
		})
	}()
	if err == nil && u.Progress > 0 {
		_, err = conn.ExecContext(ctx, `UPDATE derived_progress SET seq = ? WHERE id = 1`, int64(u.Progress))
	}
	if err == nil {
		if _, err = conn.ExecContext(ctx, `COMMIT`); err == nil {
			s.looseCredits += int64(len(u.Credits) + len(u.Replace))
			s.creditWrites++
			s.creditGen++
		}
	}
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
