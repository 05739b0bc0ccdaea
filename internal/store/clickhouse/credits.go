package clickhouse

import (
	"context"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/store"
)

// Conversion credits (store.Credits). Each ApplyCredits is one step of the journal's credits stream: its
// tombstones (workspaces rebuilt, goal events or one unit's credits of a goal event replaced) and its credits are
// stored tagged with the step, then the step and the upkeep's progress are committed together; reads use the
// committed step only (package doc).

// insertCredits and the tombstone inserts name every column, as batch inserts must on ClickHouse 18.16.
const (
	insertCredits = `INSERT INTO credits (step, ws, goal_uuid, user_hi, user_lo, ts, unit, goal, type, grp, platform, locale,
	variation, revenue)`
	insertTombstones     = `INSERT INTO credit_tombstones (step, ws, kind, goal_uuid)`
	insertUnitTombstones = `INSERT INTO credit_unit_tombstones (step, ws, goal_uuid, unit)`
)

// ApplyCredits implements store.Credits. Steps are serialised by the caller: one ApplyCredits at a time across
// every process writing to the store. A step that fails before its commit is invisible, and the next one deletes
// its rows first.
func (s *Store) ApplyCredits(ctx context.Context, u store.CreditUpdate) error {
	ctx = context.WithoutCancel(ctx)
	_, cur, err := s.journal(ctx)
	if err != nil {
		return errorf("clickhouse: apply credits: %w", err)
	}
	if len(u.Rebuild) == 0 && len(u.Replace) == 0 && len(u.Credits) == 0 && u.Progress == 0 {
		return nil
	}
	if cur.unfinished() {
		for _, table := range []string{"credits", "credit_tombstones", "credit_unit_tombstones"} {
			if err := s.deleteAbove(ctx, table, "step", cur.committed); err != nil {
				return errorf("clickhouse: apply credits: clean up an unfinished step: %w", err)
			}
		}
	}
	step := cur.committed + 1
	if err := s.writeRecord(ctx, streamCredits, record{op: cur.op + 1, committed: cur.committed, pending: step, progress: cur.progress}); err != nil {
		return errorf("clickhouse: apply credits: %w", err)
	}
	if err := s.insertTombstones(ctx, u, step); err != nil {
		return errorf("clickhouse: apply credits: %w", err)
	}
	if err := s.insertCredits(ctx, u.Credits, step); err != nil {
		return errorf("clickhouse: apply credits: %w", err)
	}
	progress := cur.progress
	if u.Progress > 0 {
		progress = int64(u.Progress)
	}
	if err := s.writeRecord(ctx, streamCredits, record{op: cur.op + 2, committed: step, pending: step, progress: progress}); err != nil {
		return errorf("clickhouse: apply credits: commit: %w", err)
	}
	return nil
}

// insertTombstones stores the step's tombstones on every shard: workspaces rebuilt and whole goal events replaced
// in credit_tombstones, one unit's credits of a goal event in credit_unit_tombstones.
func (s *Store) insertTombstones(ctx context.Context, u store.CreditUpdate, step int64) error {
	var whole, units [][]any
	for _, ws := range u.Rebuild {
		whole = append(whole, []any{step, ws, uint8(tombstoneWorkspace), ""})
	}
	for _, g := range u.Replace {
		if g.Unit == "" {
			whole = append(whole, []any{step, g.WorkspaceID, uint8(tombstoneGoal), g.UUID})
		} else {
			units = append(units, []any{step, g.WorkspaceID, g.UUID, g.Unit})
		}
	}
	for _, t := range []struct {
		insert string
		rows   [][]any
	}{{insertTombstones, whole}, {insertUnitTombstones, units}} {
		if len(t.rows) == 0 {
			continue
		}
		perShard := make([][][]any, len(s.shards))
		for i := range perShard {
			perShard[i] = t.rows
		}
		if err := s.insertPerShard(ctx, t.insert, perShard); err != nil {
			return fmt.Errorf("tombstones: %w", err)
		}
	}
	return nil
}

// insertCredits stores the step's credits on the shards of their users.
func (s *Store) insertCredits(ctx context.Context, credits []store.Credit, step int64) error {
	rows := make([][][]any, len(s.shards))
	for _, c := range credits {
		shard := s.shardOf(c.User)
		rows[shard] = append(rows[shard], []any{step, c.WorkspaceID, c.GoalUUID, c.User.Hi, c.User.Lo, c.TimeMS, c.Unit, c.Goal,
			uint8(c.Type), uint8(c.Group), c.Platform, c.Locale, c.Variation, c.RevenueMicros})
	}
	return s.insertPerShard(ctx, insertCredits, rows)
}

// Progress implements store.Credits: the progress committed with the last step, read from the journal.
func (s *Store) Progress(ctx context.Context) (store.Seq, error) {
	_, cur, err := s.journal(ctx)
	if err != nil {
		return 0, errorf("clickhouse: progress: %w", err)
	}
	return store.Seq(cur.progress), nil
}
