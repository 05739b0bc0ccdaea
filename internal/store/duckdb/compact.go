package duckdb

import (
	"context"
	"fmt"
	"time"
)

// Compaction keeps node queries reading only the campaigns asked for. The facts table holds the campaign events of
// the log up to facts_watermark, sorted by (workspace, campaign, time); node queries read it and the log's tail.
// Compact rewrites facts with the tail merged in, in sorted order, and moves the watermark, in one transaction:
// readers see the old facts and tail or the new facts and shorter tail, never both or neither. Appends go on
// meanwhile; what they add stays in the tail for the next compaction.

// Compaction policy of Maintain.
const (
	// compactMinTail is the tail (events) that makes a compaction due whatever the facts' size.
	compactMinTail = 500_000
	// compactTailShare is the tail, as a share of facts, that makes a compaction due: the total rewriting cost is
	// a constant factor of the data (geometric growth).
	compactTailShare = 4
	// compactQuiet is how long the log must be quiet before a smaller tail is compacted.
	compactQuiet = 3 * time.Second
)

// Maintain compacts when it is due: a long tail, or any tail once appends have paused. It returns whether it
// compacted. Callers run it periodically (one at a time is enough; concurrent calls serialise).
func (s *Store) Maintain(ctx context.Context) (bool, error) {
	s.writeMu.Lock()
	seq, quiet := s.seq, s.now().Sub(s.lastAppend) >= compactQuiet
	s.writeMu.Unlock()
	var watermark, facts int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT seq FROM facts_watermark WHERE id = 1), (SELECT count(*) FROM facts)`).
		Scan(&watermark, &facts); err != nil {
		return false, fmt.Errorf("compaction: %w", err)
	}
	tail := int64(seq) - watermark
	if tail <= 0 || !(quiet || tail >= max(compactMinTail, facts/compactTailShare)) {
		return false, nil
	}
	return true, s.Compact(ctx)
}

// Compact merges the log's tail into facts now.
func (s *Store) Compact(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	s.writeMu.Lock()
	upTo := s.seq
	s.writeMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE facts_next AS
		SELECT * FROM (
			SELECT ws, campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key, seq FROM facts
			UNION ALL
			SELECT ws, campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key, seq FROM events
			WHERE seq > (SELECT seq FROM facts_watermark WHERE id = 1) AND seq <= ? AND is_campaign
		) ORDER BY ws, campaign_id, ts`, int64(upTo)); err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	swap := func() error {
		if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			return err
		}
		for _, q := range []string{`DROP TABLE facts`, `ALTER TABLE facts_next RENAME TO facts`,
			`UPDATE facts_watermark SET seq = ` + fmt.Sprint(int64(upTo)) + ` WHERE id = 1`} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
				return err
			}
		}
		_, err := conn.ExecContext(ctx, `COMMIT`)
		return err
	}
	if err := swap(); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS facts_next`)
		return fmt.Errorf("compaction: %w", err)
	}
	return nil
}
