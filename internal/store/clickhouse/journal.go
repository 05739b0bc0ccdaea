package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// The journal: the commit record of each single-writer stream, in the first shard's journal table (see the
// package doc). A record is one row; the row with the highest op of a stream is current (ReplacingMergeTree keeps
// only it in the end, argMax reads it before the merge).

// Journal streams.
const (
	streamEvents  = "events"
	streamCredits = "credits"
)

// record is a stream's commit record.
type record struct {
	op uint64
	// committed is the last committed seq (events) or step (credits); pending the last one being written.
	committed, pending int64
	// progress is the credit upkeep's progress (credits stream only).
	progress int64
}

// unfinished reports whether a write stopped after recording its pending range: rows above committed may exist.
func (r record) unfinished() bool { return r.pending > r.committed }

// readJournalQuery reads the current record of every stream.
const readJournalQuery = `SELECT stream, max(op), argMax(committed, op), argMax(pending, op), argMax(progress, op)
FROM journal GROUP BY stream`

// journal returns the current records of both streams (zero records for streams never written).
func (s *Store) journal(ctx context.Context) (events, credits record, err error) {
	rows, err := s.shards[0].Query(ctx, readJournalQuery)
	if err != nil {
		return events, credits, fmt.Errorf("journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stream string
		var r record
		if err := rows.Scan(&stream, &r.op, &r.committed, &r.pending, &r.progress); err != nil {
			return events, credits, fmt.Errorf("journal: %w", err)
		}
		switch stream {
		case streamEvents:
			events = r
		case streamCredits:
			credits = r
		}
	}
	if err := rows.Err(); err != nil {
		return events, credits, fmt.Errorf("journal: %w", err)
	}
	return events, credits, nil
}

// writeRecord stores r as the stream's next record (op one above the previous one).
func (s *Store) writeRecord(ctx context.Context, stream string, r record) error {
	if err := insertRow(ctx, s.shards[0], `INSERT INTO journal (stream, op, committed, pending, progress, at)`,
		stream, r.op, r.committed, r.pending, r.progress, s.now().UTC()); err != nil {
		return fmt.Errorf("journal %s: %w", stream, err)
	}
	return nil
}

// mutationPoll is how often a cleanup checks whether its mutation is done.
const mutationPoll = 50 * time.Millisecond

// deleteAbove deletes the rows whose column col is above limit from the local table on every shard holding any,
// and waits until the mutations are done: an unfinished write's rows, before their seqs or steps are used again.
func (s *Store) deleteAbove(ctx context.Context, table, col string, limit int64) error {
	for i, conn := range s.shards {
		var n uint64
		if err := conn.QueryRow(ctx, `SELECT count() FROM `+table+` WHERE `+col+` > ?`, limit).Scan(&n); err != nil {
			return fmt.Errorf("shard %d: count %s above %d: %w", i, table, limit, err)
		}
		if n == 0 {
			continue
		}
		s.log.Warn("clickhouse: deleting the rows of an unfinished write", "shard", i, "table", table, "above", limit, "rows", n)
		if err := conn.Exec(ctx, `ALTER TABLE `+table+` DELETE WHERE `+col+` > ?`, limit); err != nil {
			return fmt.Errorf("shard %d: delete %s above %d: %w", i, table, limit, err)
		}
		for {
			var running uint64
			if err := conn.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0`,
				s.database, table).Scan(&running); err != nil {
				return fmt.Errorf("shard %d: mutations of %s: %w", i, table, err)
			}
			if running == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("shard %d: waiting for the deletion in %s: %w", i, table, ctx.Err())
			case <-time.After(mutationPoll):
			}
		}
		if err := conn.QueryRow(ctx, `SELECT count() FROM `+table+` WHERE `+col+` > ?`, limit).Scan(&n); err != nil {
			return fmt.Errorf("shard %d: count %s above %d: %w", i, table, limit, err)
		}
		if n != 0 {
			return fmt.Errorf("shard %d: %d rows of %s above %d remain after their deletion", i, n, table, limit)
		}
	}
	return nil
}
