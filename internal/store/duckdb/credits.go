package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Conversion credits (store.Credits): rows written by the credit upkeep above the store, replaced per goal event
// or per (goal event, unit), with the upkeep's progress through the event log recorded in the same transaction. Updates append to the credits
// log; maintenance moves it into sorted chunks (moveCredits), and readers read both (creditsFrom).

// liveCredit is the condition a credit row aliased c must meet to count: no void of its goal event, for every unit
// or for its own, written after it (credit_voids).
const liveCredit = `NOT EXISTS (SELECT 1 FROM credit_voids v WHERE v.ws = c.ws AND v.goal_uuid = c.goal_uuid AND v.gen > c.gen
	AND (v.unit = '' OR v.unit = c.unit))`

// liveCreditJoins is liveCredit for a query that reads the credits of the units in list only (SQL string literals,
// comma-separated), as anti joins to follow its FROM item c: one with the voids of whole goal events, one with those
// units' voids (an equality on the unit instead of liveCredit's OR, so that both are hash joins). DuckDB hashes
// only those voids rather than every void of the store. Each join costs a few milliseconds even when its side holds
// no void, so a join is left out when the query's snapshot holds none of its kind (voidKinds).
func liveCreditJoins(list string, kinds voidKinds) string {
	var joins string
	if kinds.whole {
		joins += `ANTI JOIN (SELECT ws, goal_uuid, gen FROM credit_voids WHERE unit = '') v0
		ON v0.ws = c.ws AND v0.goal_uuid = c.goal_uuid AND v0.gen > c.gen
	`
	}
	if kinds.units {
		joins += `ANTI JOIN (SELECT ws, goal_uuid, gen, unit FROM credit_voids WHERE unit IN (` + list + `)) v1
		ON v1.ws = c.ws AND v1.goal_uuid = c.goal_uuid AND v1.unit = c.unit AND v1.gen > c.gen`
	}
	return joins
}

// voidKinds says which voids a snapshot holds for a query's workspace and units: of whole goal events, of the
// units' own credits.
type voidKinds struct{ whole, units bool }

// creditVoidKinds reads, in q's snapshot, which voids workspace ws holds for the units in list (as liveCreditJoins).
func creditVoidKinds(ctx context.Context, q queryer, ws, list string) (voidKinds, error) {
	var k voidKinds
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM credit_voids WHERE ws = $1 AND unit = ''),
		EXISTS (SELECT 1 FROM credit_voids WHERE ws = $1 AND unit IN (`+list+`))`, ws).Scan(&k.whole, &k.units)
	if err != nil {
		return k, fmt.Errorf("credit voids: %w", err)
	}
	return k, nil
}

// creditsFrom returns the credits a query reads, a FROM item aliased c: the sorted chunks, and the log's
// generations after watermark (credits_watermark.gen of the query's snapshot; as a literal, it lets the log's zone
// maps skip the moved generations). Void credits are in it: queries skip them with liveCredit.
func creditsFrom(watermark int64) string {
	return fmt.Sprintf(`(SELECT * FROM credits_sorted UNION ALL SELECT * FROM credits WHERE gen > %d) c`, watermark)
}

// creditSnapshot returns a queryer reading one snapshot (r's own when it has one, else a transaction, which done
// ends) and the credits' watermark in it.
func (r *reader) creditSnapshot(ctx context.Context) (q queryer, watermark int64, done func(), err error) {
	q, done, err = r.snapshot(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := q.QueryRowContext(ctx, `SELECT gen FROM credits_watermark WHERE id = 1`).Scan(&watermark); err != nil {
		done()
		return nil, 0, nil, fmt.Errorf("credits watermark: %w", err)
	}
	return q, watermark, done, nil
}

// snapshot returns a queryer whose statements read one snapshot: r's own when it is a transaction already (a
// report's snapshot), else a new read transaction, which done ends.
func (r *reader) snapshot(ctx context.Context) (queryer, func(), error) {
	db, ok := r.q.(*sql.DB)
	if !ok {
		return r.q, func() {}, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read transaction: %w", err)
	}
	return tx, func() { tx.Rollback() }, nil
}

// ApplyCredits implements store.Credits.
func (s *Store) ApplyCredits(ctx context.Context, u store.CreditUpdate) error {
	if len(u.Rebuild) > 0 {
		// Not while credits are moved into chunks: the move would bring back a rebuilt workspace's credits.
		s.compactMu.Lock()
		defer s.compactMu.Unlock()
	}
	s.creditsMu.Lock()
	defer s.creditsMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("apply credits: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("apply credits: %w", err)
	}
	cells := s.newCellIDs()
	err = func() error {
		gen := s.creditGen + 1
		for _, c := range u.Credits {
			cells.of(creditCell(c.Credit))
		}
		if err := cells.insert(ctx, conn); err != nil {
			return err
		}
		for _, ws := range u.Rebuild {
			for _, q := range []string{`DELETE FROM credits WHERE ws = ?`, `DELETE FROM credits_sorted WHERE ws = ?`, `DELETE FROM credit_voids WHERE ws = ?`} {
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
					if err := app.AppendRow(g.WorkspaceID, g.UUID, gen, g.Unit); err != nil {
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
					uint8(c.Group), c.Platform, c.Locale, c.Variation, c.RevenueMicros, gen, cells.of(creditCell(c.Credit))); err != nil {
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
			s.creditGen++
		}
	}
	if err != nil {
		conn.ExecContext(ctx, `ROLLBACK`)
		return fmt.Errorf("apply credits: %w", err)
	}
	return nil
}

// creditCell is the cell of a credit's node: its resolved platform, locale and variation ("" for control groups,
// whose node variation is the group's name).
func creditCell(c attribution.Credit) cellKey {
	return cellKey{platform: c.Platform, pdef: creditCellPdef, locale: c.Locale, variation: c.Variation}
}

// Progress implements store.Credits.
func (s *Store) Progress(ctx context.Context) (store.Seq, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT seq FROM derived_progress WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("progress: %w", err)
	}
	return store.Seq(seq), nil
}
