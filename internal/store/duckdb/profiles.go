package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// PutProfiles merges the profiles into the stored ones and stores idem, in one transaction under the writer lock.
// Several profiles of one (user key, kind) in a call are merged in memory first, so each row is written once.
func (s *Store) PutProfiles(ctx context.Context, ws string, ps []store.Profile, idem *store.IdempotentResponse) error {
	if len(ps) == 0 && idem == nil {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("put profiles: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("put profiles: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()

	type key struct {
		user string
		kind store.ProfileKind
	}
	merged := map[key]*store.Profile{}
	var order []key
	for _, p := range ps {
		k := key{p.UserKey, p.Kind}
		cur, ok := merged[k]
		if !ok {
			stored, found, err := readProfile(ctx, conn, ws, p.UserKey, p.Kind)
			if err != nil {
				return err
			}
			if !found {
				stored = store.Profile{UserKey: p.UserKey, Kind: p.Kind}
			}
			cur = &stored
			merged[k] = cur
			order = append(order, k)
		}
		attrs, err := store.MergeAttributes(cur.Attributes, p.Attributes)
		if err != nil {
			return fmt.Errorf("put profile %s %s: %w", p.Kind, p.UserKey, err)
		}
		cur.Attributes, cur.UpdatedAt = attrs, p.UpdatedAt
		if p.DeviceID != "" {
			cur.DeviceID = p.DeviceID
		}
	}
	for _, k := range order {
		p := merged[k]
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?, ?, ?)`,
			ws, p.UserKey, string(p.Kind), p.DeviceID, string(p.Attributes), p.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("put profile %s %s: %w", p.Kind, p.UserKey, err)
		}
	}
	if idem != nil {
		if err := putIdempotency(ctx, conn, ws, idem); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("put profiles: commit: %w", err)
	}
	committed = true
	return nil
}

// Profile returns one stored profile.
func (s *Store) Profile(ctx context.Context, ws, userKey string, kind store.ProfileKind) (store.Profile, error) {
	p, found, err := readProfile(ctx, s.db, ws, userKey, kind)
	if err != nil {
		return p, err
	}
	if !found {
		return p, fmt.Errorf("profile %s %s: %w", kind, userKey, domain.ErrNotFound)
	}
	return p, nil
}

// rowQueryer is a *sql.DB or a *sql.Conn (inside a transaction).
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readProfile reads one profile; found is false when there is none.
func readProfile(ctx context.Context, q rowQueryer, ws, userKey string, kind store.ProfileKind) (store.Profile, bool, error) {
	p := store.Profile{UserKey: userKey, Kind: kind}
	var attrs string
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT device_id, attributes, updated_at FROM profiles WHERE ws = ? AND user_key = ? AND kind = ?`,
		ws, userKey, string(kind)).Scan(&p.DeviceID, &attrs, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read profile: %w", err)
	}
	p.Attributes, p.UpdatedAt = []byte(attrs), time.UnixMilli(updated).UTC()
	return p, true, nil
}
