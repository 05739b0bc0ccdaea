package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/store"
)

// Compaction keeps node queries reading only the campaigns asked for. The facts table holds the campaign events of
// the log up to facts_watermark, in chunks sorted by (workspace, campaign, time): node queries read it and the log's
// tail. Compact appends the tail to facts as one more sorted chunk, or, once the chunks appended since the last
// rewrite reach half of what that rewrite left (facts_watermark.sorted_rows), rewrites facts with the tail merged
// in as one sorted whole; it moves the watermark in the same transaction: readers see the old facts and tail or the
// new facts and shorter tail, never both or neither. Appends go on meanwhile; what they add stays in the tail for
// the next compaction. A campaign's events are one run of row groups per chunk, so its queries read a few more row
// groups than on one sorted whole, and the total cost of the rewrites is a constant factor of the data.

// Compaction policy of Maintain.
const (
	// compactMinTail is the tail (events) that makes a compaction due whatever the facts' size.
	compactMinTail = 500_000
	// compactTailShare is the tail, as a share of facts, that makes a compaction due when it is more than
	// compactMinTail. A compaction costs about its tail, plus a copy of the user sets, so the tail that queries read
	// beside facts stays short.
	compactTailShare = 16
	// rewriteShare is the rows appended to facts since its last rewrite, as a share of what that rewrite left, that
	// makes the next compaction a rewrite: the chunks a campaign's queries read stay few, and the rewrites' cost is
	// a constant factor of the data (geometric growth).
	rewriteShare = 2
	// compactQuiet is how long the log must be quiet before a smaller tail is compacted.
	compactQuiet = time.Second
	// compactQuietShare is the tail, as a share of facts, that a quiet moment compacts at once, whatever the
	// queries; compactIdle is the pause after which any tail is.
	compactQuietShare = 64
	compactIdle       = time.Minute
)

// creditMoveMin is the credits of the log's tail (rows) that make a move into a chunk due whatever the chunks'
// size: conversion queries read the tail whole, the chunks by campaign.
const creditMoveMin = 100_000

// Maintain compacts when it is due: a tail of a 16th of facts (at least 500K events); once appends have paused, a
// tail of at least a 64th of facts, or any tail once they have paused for a minute; facts without user sets (a
// store written before they existed) once appends have paused. It moves the credits log's tail into a sorted chunk
// (moveCredits) on the same terms (a 16th of the chunks, at least 100K credits; a 64th once appends have paused,
// void credits dropped then). Once appends have paused and neither is due, it merges the rows of each day's user
// sets into one (MergeUserSets), and then checkpoints. What only a pause in appends makes due, and the rewrites of
// facts and of the credit chunks, yield to node queries (yield.go), except after a burst: the compaction of a tail
// of a 64th of facts or more at a pause, and the credit move (without dropping the voids) and the merge that follow
// it, run at once. It returns
// whether it compacted, moved or merged anything. Callers run it periodically (one at a time is enough;
// concurrent calls serialise).
func (s *Store) Maintain(ctx context.Context) (bool, error) {
	if err := s.awaitLog(ctx); err != nil {
		return false, err
	}
	if !s.numbers.loaded() {
		s.compactMu.Lock()
		err := s.numbers.load(ctx, s.db)
		s.compactMu.Unlock()
		if err != nil {
			return false, err
		}
	}
	if s.tail.needsLoad() {
		if err := s.loadTail(ctx); err != nil {
			return false, err
		}
	}
	s.writeMu.Lock()
	seq, idle, unsettled := s.seq, s.now().Sub(s.lastAppend), s.unsettled
	quiet := idle >= compactQuiet
	if !quiet {
		s.afterBurst = false
	}
	burst := s.afterBurst
	s.writeMu.Unlock()
	at := s.now()
	busy := s.queries.busy(at)
	// What a pause in appends makes due waits while node queries run (yield.go); the wait restarts at each pause.
	// After a burst (below), what makes queries cheaper runs at once: settle, where paused waits for the queries.
	paused := quiet
	if !quiet {
		s.settleWait.clear()
	} else if s.settleWait.wait(at, busy) {
		paused = false
	}
	settle := paused || (quiet && burst)
	var watermark, facts, zones, loose, voids, credits int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT seq FROM facts_watermark WHERE id = 1), (SELECT count(*) FROM facts),
		(SELECT count(*) FROM user_set_zones), (SELECT count(*) FROM credits WHERE gen > (SELECT gen FROM credits_watermark WHERE id = 1)),
		(SELECT count(*) FROM credit_voids), (SELECT count(*) FROM credits_sorted)`).Scan(&watermark, &facts, &zones, &loose, &voids, &credits); err != nil {
		return false, fmt.Errorf("compaction: %w", err)
	}
	tail := int64(seq) - watermark
	s.writeMu.Lock()
	s.factsSeen = facts
	s.writeMu.Unlock()
	// A short tail is left to a later compaction while appends go on now and then: each compaction rewrites facts.
	settled := func(n, of int64) bool { return settle && (idle >= compactIdle || n >= of/compactQuietShare) }
	// A pause in appends after a 64th of facts or more since the store last settled ends a burst (burstEnded). The
	// tail is then compacted at once, whatever the queries, and without pausing for them: each of them reads it
	// whole until it is compacted (after a burst, the dearest part of a query: at 10M events a tail of 530K events
	// doubled a Stats call), so yielding to them would only make every one of them slower for longer. A compaction
	// that started while appends went on stops pausing for the queries once the burst has ended.
	ended := quiet && s.burstEnded()
	due := tail > 0 && (tail >= max(s.minTail, facts/compactTailShare) || ended || settled(tail, facts))
	// A store whose facts predate the user sets gets them at the next quiet moment, new events or not.
	noSets := facts > 0 && zones == 0 && settle
	if due || noSets {
		// The compaction that ends a burst leaves the day rows of the sets to the merge that follows it at once
		// (below): merging them here too would rewrite many days twice while queries read the tail.
		if err := s.compactTail(ctx, !ended, !ended); err != nil {
			return false, err
		}
	}
	// Until appends resume after a burst, what else the pause makes due
	// to make queries cheaper — moving the credits the burst derived into a sorted chunk (when they and the voids are
	// a 64th of the chunks or more, as at any pause), merging the day rows of the user sets — also runs at once,
	// whatever the queries, and without pausing for them: until it has, each query reads the credits log whole and
	// several rows of sets a day, and the store settles in seconds rather than once the queries pause. Dropping the
	// voids, which rewrites every credit chunk, and the checkpoint, which only makes the files smaller, still wait
	// for them: each takes seconds of both cores at 10M events and saves a query little.
	if ended {
		s.writeMu.Lock()
		s.afterBurst = s.seq == seq
		burst = s.afterBurst
		s.writeMu.Unlock()
		settle = settle || burst
	}
	moved := false
	if loose >= max(creditMoveMin, credits/compactTailShare) || (loose+voids > 0 && settled(loose+voids, credits)) {
		var err error
		if moved, err = s.moveCredits(ctx, paused, busy, !burst); err != nil {
			return false, err
		}
	}
	rewritten, err := s.rewriteFactsWhenDue(ctx, false)
	if err != nil {
		return false, err
	}
	merged := false
	if settle && !due && !noSets && !moved && !rewritten {
		var err error
		if merged, err = s.MergeUserSets(ctx); err != nil {
			return false, err
		}
		if !merged { // the store has settled
			s.writeMu.Lock()
			s.afterBurst = false
			s.unsettled -= unsettled
			s.writeMu.Unlock()
			if paused {
				s.checkpointSettled(ctx, seq)
			}
		}
	}
	return due || noSets || moved || rewritten || merged, nil
}

// Unsettled returns the events appended since the store last settled: since maintenance last found nothing left to
// compact, move or merge (0 once it has caught up with the appends). Operators read it as a metric; the bench waits
// for 0 before it measures queries on a settled store.
func (s *Store) Unsettled() int64 {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.unsettled
}

// MaintenanceRunning reports whether maintenance is compacting, moving credits, merging user sets, rewriting or
// checkpointing at this moment (the work done under compactMu).
func (s *Store) MaintenanceRunning() bool {
	if s.compactMu.TryLock() {
		s.compactMu.Unlock()
		return false
	}
	return true
}

// burstEnded reports whether appends have paused after a burst: for compactQuiet, after a 64th of facts or more
// (as the last Maintain counted them) since the store last settled.
func (s *Store) burstEnded() bool {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.now().Sub(s.lastAppend) >= compactQuiet && s.unsettled > 0 && s.unsettled >= s.factsSeen/compactQuietShare
}

// loadTail loads the tail index (tailindex.go); appends and compactions wait meanwhile.
func (s *Store) loadTail(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.tail.load(ctx, s.db)
}

// checkpointSettled writes the write-ahead log into the database file once appends have paused and maintenance
// has nothing left to do, once per pause: queries then read compressed storage, and a restart replays little
// (DefaultCheckpointThreshold lets the log grow large while appends go on). A checkpoint cannot run beside other
// transactions; one that fails is tried again at the next call.
func (s *Store) checkpointSettled(ctx context.Context, seq store.Seq) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if s.checkpointed == seq {
		return
	}
	start := s.now()
	if _, err := s.db.ExecContext(ctx, `CHECKPOINT`); err == nil {
		s.checkpointed = seq
		s.log.Info("checkpointed the database", "duration_ms", s.now().Sub(start).Milliseconds())
	}
}

// compactChunkRows bounds the rows one sorting statement of a compaction holds: the campaigns of a workspace are
// rewritten in ranges of about this many rows (a larger campaign is a range of its own), so the sort's memory —
// DuckDB's ORDER_BY buffers, charged to the store's memory limit — does not grow with the store, and queries
// running beside a compaction keep their share of the limit.
const compactChunkRows = 500_000

// factsCols are the columns of facts, in order.
const factsCols = `ws, campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key, seq`

// campaignRange is a range of campaign ids of one workspace, bounds included, rewritten by one statement.
type campaignRange struct{ ws, from, to string }

// Compact merges the log's tail into facts now, adds it to the user sets (usersets.go), and rewrites facts if its
// chunks are due. Maintain compacts without the rewrite, which it runs when node queries allow
// (rewriteFactsWhenDue).
func (s *Store) Compact(ctx context.Context) error {
	if err := s.compactTail(ctx, false, true); err != nil {
		return err
	}
	_, err := s.rewriteFactsWhenDue(ctx, true)
	return err
}

// compactTail merges the log's tail into facts and adds it to the user sets; with yield, it pauses between its
// statements while node queries run (maintenanceStep.pause); with mergeRows, it then merges the day rows of the
// sets that have reached setRowsMerge.
func (s *Store) compactTail(ctx context.Context, yield, mergeRows bool) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	start := s.now()
	step := s.newStep(yield)
	if yield {
		step.until = s.burstEnded
	}
	step.pause(ctx)
	if err := s.awaitLog(ctx); err != nil { // what was acknowledged by now is compacted
		return err
	}
	s.writeMu.Lock()
	upTo := s.seq
	s.writeMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	defer conn.Close()
	// The watermark as a literal lets the scans of the tail skip the log's older row groups.
	var watermark, zones, facts, sorted int64
	if err := conn.QueryRowContext(ctx, `SELECT (SELECT seq FROM facts_watermark WHERE id = 1), (SELECT count(*) FROM user_set_zones),
		(SELECT count(*) FROM facts), (SELECT sorted_rows FROM facts_watermark WHERE id = 1)`).Scan(&watermark, &zones, &facts, &sorted); err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	tail := fmt.Sprintf(`FROM events WHERE seq > %d AND seq <= %d AND is_campaign`, watermark, int64(upTo))
	var tailRows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) `+tail).Scan(&tailRows); err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	// A store with facts but no user sets was written before they existed: facts is rewritten with the tail merged
	// in, and every set built from the result. Otherwise the tail is appended to facts as a sorted chunk and its
	// sets added, and facts is rewritten afterwards once its chunks are due (rewriteFacts): the tail leaves the log
	// without waiting for the rewrite.
	incremental := zones > 0 || facts == 0
	rewrite := !incremental
	// Ranges of campaigns in key order, each sorted: what one compaction writes is sorted as a whole. The facts of
	// a range are read through their zone maps; the tail is read by seq, which its zone maps bound.
	const inRange = ` AND ws = ? AND campaign_id >= ? AND campaign_id <= ?`
	write := `INSERT INTO facts SELECT ` + factsCols + ` ` + tail + inRange + ` ORDER BY ws, campaign_id, ts`
	ranges, err := compactionRanges(ctx, conn, s.compactChunk, `SELECT ws, campaign_id, count(*) `+tail+`
		GROUP BY ws, campaign_id ORDER BY ws, campaign_id`)
	if rewrite {
		write = `INSERT INTO facts_next SELECT * FROM (
			SELECT ` + factsCols + ` FROM facts WHERE true` + inRange + `
			UNION ALL
			SELECT ` + factsCols + ` ` + tail + inRange + `
		) ORDER BY ws, campaign_id, ts`
		ranges, err = compactionRanges(ctx, conn, s.compactChunk, `SELECT ws, campaign_id, count(*) FROM (
			SELECT ws, campaign_id FROM facts UNION ALL SELECT ws, campaign_id `+tail+`
		) GROUP BY ws, campaign_id ORDER BY ws, campaign_id`)
		if err == nil {
			_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TABLE facts_next AS SELECT * FROM facts LIMIT 0`)
		}
	}
	if err != nil {
		return fmt.Errorf("compaction: %w", err)
	}
	drop := func() {
		for _, t := range []string{"facts_next", "temp.main.user_sets_next", "user_sets_next", "user_ids_next", "user_set_zones_next"} {
			conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+t)
		}
	}
	// writeFacts writes facts_next, or the chunk appended to facts, range by range; a rewrite reads each range from
	// facts and from the tail.
	writeFacts := func() error {
		if rewrite {
			return execRanges(ctx, conn, write, ranges, rewrite, step)
		}
		return execRanges(ctx, conn, write, ranges, rewrite, nil) // in the swap's transaction
	}
	if rewrite {
		if err := writeFacts(); err != nil {
			drop()
			return fmt.Errorf("compaction: %w", err)
		}
	}
	if err := s.buildUserSets(ctx, conn, ranges, tail, watermark, int64(upTo), incremental, step); err != nil {
		drop()
		return fmt.Errorf("compaction: user sets: %w", err)
	}
	if !incremental {
		// Every user gets a new number: queries join user_ids until maintenance loads the new ones.
		s.numbers.forget()
	}
	swap := func() error {
		if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			return err
		}
		fail := func(err error) error {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			return err
		}
		steps := []string{`DROP TABLE facts`, `ALTER TABLE facts_next RENAME TO facts`}
		sortedRows := fmt.Sprint(facts + tailRows)
		if !rewrite {
			// The chunk is appended in this transaction, so that it becomes visible with the watermark.
			if err := writeFacts(); err != nil {
				return fail(err)
			}
			steps, sortedRows = nil, fmt.Sprint(sorted)
		}
		if incremental {
			// The tail's sets are rows of their own beside the stored ones (setRowsMerge); its users are numbered.
			steps = append(steps, `INSERT INTO user_sets SELECT * FROM temp.main.user_sets_next`, `DROP TABLE temp.main.user_sets_next`)
		} else {
			steps = append(steps, `DROP TABLE user_sets`, `ALTER TABLE user_sets_next RENAME TO user_sets`, `DROP TABLE user_ids`,
				`ALTER TABLE user_ids_next RENAME TO user_ids`)
		}
		steps = append(steps, `DROP TABLE user_set_zones`, `ALTER TABLE user_set_zones_next RENAME TO user_set_zones`,
			`UPDATE facts_watermark SET seq = `+fmt.Sprint(int64(upTo))+`, sorted_rows = `+sortedRows+` WHERE id = 1`)
		for _, q := range steps {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fail(err)
			}
		}
		if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
			return err
		}
		// Only now: a query takes the tail index's entries before its snapshot (tailindex.go).
		s.tail.dropThrough(int64(upTo))
		return nil
	}
	if err := swap(); err != nil {
		drop()
		return fmt.Errorf("compaction: %w", err)
	}
	step.mark("swap")
	var merged, mergedBytes int64
	if mergeRows {
		if merged, mergedBytes, err = s.mergeSetRows(ctx, conn, setRowsMerge, step); err != nil {
			return fmt.Errorf("compaction: merge user sets: %w", err)
		}
	}
	s.log.Info("compacted the event log", "tail_events", tailRows, "facts_rewritten", rewrite, "set_days_merged", merged,
		"set_bytes_merged", mergedBytes, "duration_ms", s.now().Sub(start).Milliseconds(), "phases_ms", step.String())
	return nil
}

// rewriteFactsWhenDue rewrites facts (rewriteFacts) once the chunks appended since the last rewrite reach half of
// what it left, and node queries allow (yield.go: UNIQUE queries read the user sets, not facts, and a rewrite takes
// both cores for seconds — 5–16 s at 10M events); with now, at once. It reports whether it rewrote.
func (s *Store) rewriteFactsWhenDue(ctx context.Context, now bool) (bool, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	at := s.now()
	busy := s.queries.busy(at)
	var facts, sorted int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM facts), sorted_rows FROM facts_watermark WHERE id = 1`).Scan(&facts, &sorted); err != nil {
		return false, fmt.Errorf("rewrite facts: %w", err)
	}
	if facts == 0 || (facts-sorted)*rewriteShare < sorted {
		s.factsWait.clear()
		return false, nil
	}
	if !now && s.factsWait.wait(at, busy) {
		return false, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("rewrite facts: %w", err)
	}
	defer conn.Close()
	if err := s.rewriteFacts(ctx, conn, s.newStep(!now)); err != nil {
		return false, err
	}
	s.factsWait.clear()
	return true, nil
}

// rewriteFacts rewrites facts as one sorted whole, its chunks merged, one range of campaigns at a time, and swaps
// it in with its sorted_rows in one transaction. Only compaction writes facts (under compactMu), so nothing lands
// meanwhile. It pauses between its statements as step allows.
func (s *Store) rewriteFacts(ctx context.Context, conn *sql.Conn, step *maintenanceStep) error {
	start := s.now()
	ranges, err := compactionRanges(ctx, conn, s.compactChunk, `SELECT ws, campaign_id, count(*) FROM facts GROUP BY ws, campaign_id ORDER BY ws, campaign_id`)
	if err != nil {
		return fmt.Errorf("rewrite facts: %w", err)
	}
	drop := func() { conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS facts_next`) }
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE facts_next AS SELECT * FROM facts LIMIT 0`); err != nil {
		return fmt.Errorf("rewrite facts: %w", err)
	}
	if err := execRanges(ctx, conn, `INSERT INTO facts_next SELECT `+factsCols+` FROM facts WHERE ws = ? AND campaign_id >= ? AND campaign_id <= ?
		ORDER BY ws, campaign_id, ts`, ranges, false, step); err != nil {
		drop()
		return fmt.Errorf("rewrite facts: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		drop()
		return fmt.Errorf("rewrite facts: %w", err)
	}
	for _, q := range []string{`DROP TABLE facts`, `ALTER TABLE facts_next RENAME TO facts`,
		`UPDATE facts_watermark SET sorted_rows = (SELECT count(*) FROM facts) WHERE id = 1`, `COMMIT`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			drop()
			return fmt.Errorf("rewrite facts: %w", err)
		}
	}
	s.log.Info("rewrote facts", "ranges", len(ranges), "duration_ms", s.now().Sub(start).Milliseconds())
	return nil
}

// MergeUserSets merges the rows of each (campaign, day) of the user sets into one (mergeSetRows), so that queries
// read one row per day. Maintain calls it once appends have paused; it returns whether there was anything to merge.
func (s *Store) MergeUserSets(ctx context.Context) (bool, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	start := s.now()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("merge user sets: %w", err)
	}
	defer conn.Close()
	merged, mergedBytes, err := s.mergeSetRows(ctx, conn, 2, nil)
	if err != nil {
		return false, fmt.Errorf("merge user sets: %w", err)
	}
	if merged > 0 {
		s.log.Info("merged user sets", "set_days_merged", merged, "set_bytes_merged", mergedBytes, "duration_ms", s.now().Sub(start).Milliseconds())
	}
	return merged > 0, nil
}

// moveCredits moves the credits log's tail into credits_sorted as a chunk sorted by (workspace, unit, time), so that
// the zone maps of a conversion query skip the row groups of other campaigns (the log is in the order goal events
// are derived, which mixes every campaign), and moves credits_watermark.gen in the same transaction. Once the
// chunks appended since the last rewrite reach half of what it left and node queries allow (busy: they run;
// yield.go), or with dropVoids when there are voids, it rewrites credits_sorted whole instead and deletes the void
// credits, the voids and the log's moved rows. The chunk
// or the new table is written one range of units at a time (compactionRanges), without blocking credit updates:
// those that land meanwhile stay in the log's tail; with yield, a rewrite pauses between its statements while node
// queries run. It reports whether it moved or dropped anything.
func (s *Store) moveCredits(ctx context.Context, dropVoids, busy, yield bool) (bool, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	start := s.now()
	step := s.newStep(yield)
	s.creditsMu.Lock()
	gen := s.creditGen // every update up to gen is committed
	s.creditsMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("move credits: %w", err)
	}
	defer conn.Close()
	var watermark, sortedRows, chunks, voids int64
	if err := conn.QueryRowContext(ctx, `SELECT gen, sorted_rows, (SELECT count(*) FROM credits_sorted), (SELECT count(*) FROM credit_voids WHERE gen <= ?)
		FROM credits_watermark WHERE id = 1`, gen).Scan(&watermark, &sortedRows, &chunks, &voids); err != nil {
		return false, fmt.Errorf("move credits: %w", err)
	}
	log := fmt.Sprintf(`FROM credits c WHERE gen > %d AND gen <= %d`, watermark, gen)
	var loose int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) `+log).Scan(&loose); err != nil {
		return false, fmt.Errorf("move credits: %w", err)
	}
	dropVoids = dropVoids && voids > 0
	if loose == 0 && !dropVoids {
		return false, nil
	}
	rewrite := dropVoids
	if (chunks-sortedRows+loose)*rewriteShare < sortedRows {
		s.creditsWait.clear()
	} else if !s.creditsWait.wait(start, busy) {
		rewrite = true
	}
	const inRange = ` AND ws = ? AND unit >= ? AND unit <= ?`
	write := `INSERT INTO credits_sorted SELECT * ` + log + inRange + ` AND ` + liveCredit + ` ORDER BY ws, unit, ts`
	ranges, err := compactionRanges(ctx, conn, s.compactChunk, `SELECT ws, unit, count(*) `+log+` GROUP BY ws, unit ORDER BY ws, unit`)
	if rewrite {
		write = `INSERT INTO credits_next SELECT * FROM (
			SELECT * FROM credits_sorted WHERE true` + inRange + `
			UNION ALL
			SELECT * ` + log + inRange + `
		) c WHERE ` + liveCredit + ` ORDER BY ws, unit, ts`
		ranges, err = compactionRanges(ctx, conn, s.compactChunk, `SELECT ws, unit, count(*) FROM (
			SELECT ws, unit FROM credits_sorted UNION ALL SELECT ws, unit `+log+`
		) GROUP BY ws, unit ORDER BY ws, unit`)
	}
	if err != nil {
		return false, fmt.Errorf("move credits: %w", err)
	}
	drop := func() { conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS credits_next`) }
	writeRanges := func() error {
		if rewrite {
			return execRanges(ctx, conn, write, ranges, rewrite, step)
		}
		return execRanges(ctx, conn, write, ranges, rewrite, nil) // in the move's transaction
	}
	var steps []string
	if rewrite {
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE credits_next AS SELECT * FROM credits_sorted LIMIT 0`); err != nil {
			return false, fmt.Errorf("move credits: %w", err)
		}
		if err := writeRanges(); err != nil {
			drop()
			return false, fmt.Errorf("move credits: %w", err)
		}
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM credits_next`).Scan(&sortedRows); err != nil {
			drop()
			return false, fmt.Errorf("move credits: %w", err)
		}
		// A void of generation v voids credits older than v: those up to gen are in the new table, live ones only.
		steps = []string{`DROP TABLE credits_sorted`, `ALTER TABLE credits_next RENAME TO credits_sorted`,
			fmt.Sprintf(`DELETE FROM credits WHERE gen <= %d`, gen), fmt.Sprintf(`DELETE FROM credit_voids WHERE gen <= %d`, gen)}
	}
	if s.onCreditsSorted != nil {
		s.onCreditsSorted()
	}
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		drop()
		return false, fmt.Errorf("move credits: %w", err)
	}
	err = func() error {
		if !rewrite {
			// The chunk is written in this transaction, so that it becomes visible with the watermark.
			if err := writeRanges(); err != nil {
				return err
			}
		}
		for _, q := range append(steps, fmt.Sprintf(`UPDATE credits_watermark SET gen = %d, sorted_rows = %d WHERE id = 1`, gen, sortedRows), `COMMIT`) {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		drop()
		return false, fmt.Errorf("move credits: %w", err)
	}
	s.log.Info("moved credits into chunks", "credits", loose, "chunks_rewritten", rewrite,
		"duration_ms", s.now().Sub(start).Milliseconds())
	return true, nil
}

// execRanges runs statement once per range, in order, with the range's workspace, first and last id as its
// parameters (twice over with twice: a statement reading two tables), pausing before each as step allows (nil: a
// statement of an open transaction, which does not pause).
func execRanges(ctx context.Context, conn *sql.Conn, statement string, ranges []campaignRange, twice bool, step *maintenanceStep) error {
	for _, r := range ranges {
		step.pause(ctx)
		args := []any{r.ws, r.from, r.to}
		if twice {
			args = append(args, r.ws, r.from, r.to)
		}
		if _, err := conn.ExecContext(ctx, statement, args...); err != nil {
			return err
		}
	}
	return nil
}

// compactionRanges groups the (workspace, campaign, rows) lines of query, in key order, into ranges of at most
// chunk rows (or one campaign) within one workspace.
func compactionRanges(ctx context.Context, conn *sql.Conn, chunk int64, query string, args ...any) ([]campaignRange, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []campaignRange
	var n int64
	for rows.Next() {
		var ws, campaign string
		var count int64
		if err := rows.Scan(&ws, &campaign, &count); err != nil {
			return nil, err
		}
		if k := len(out) - 1; k >= 0 && out[k].ws == ws && n+count <= chunk {
			out[k].to, n = campaign, n+count
			continue
		}
		out, n = append(out, campaignRange{ws: ws, from: campaign, to: campaign}), count
	}
	return out, rows.Err()
}
