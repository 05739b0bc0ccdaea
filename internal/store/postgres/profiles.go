package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// ---- idempotency keys ----

// IdempotentResponse returns the response stored for (workspace, endpoint, key) at or after since.
func (s *Store) IdempotentResponse(ctx context.Context, workspaceID, endpoint, key string, since time.Time) (store.IdempotentResponse, bool, error) {
	r := store.IdempotentResponse{Endpoint: endpoint, Key: key}
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT status, body, request_id, created_at FROM idempotency
		WHERE ws = $1 AND endpoint = $2 AND key = $3 AND created_at >= $4`, workspaceID, endpoint, key, ms(since)).
		Scan(&r.Status, &r.Body, &r.RequestID, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("postgres: read idempotency key: %w", err)
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	r.CreatedAt = fromMS(created)
	return r, true, nil
}

// PutIdempotentResponse stores a response, replacing any earlier one of its key.
func (s *Store) PutIdempotentResponse(ctx context.Context, workspaceID string, r store.IdempotentResponse) error {
	if err := putIdempotency(ctx, s.pool, workspaceID, &r); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// putIdempotency upserts a response with q (the pool or a transaction).
func putIdempotency(ctx context.Context, q querier, workspaceID string, r *store.IdempotentResponse) error {
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	if _, err := q.Exec(ctx, `INSERT INTO idempotency (ws, endpoint, key, status, body, request_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (ws, endpoint, key) DO UPDATE SET status = excluded.status, body = excluded.body,
			request_id = excluded.request_id, created_at = excluded.created_at`,
		workspaceID, r.Endpoint, r.Key, r.Status, body, r.RequestID, ms(r.CreatedAt)); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency deletes responses created before t.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE created_at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: purge idempotency keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ---- profiles ----

// profileKey identifies a stored profile within a workspace.
type profileKey struct {
	user string
	kind store.ProfileKind
}

// PutProfiles merges the profiles into the stored ones and stores idem, in one transaction. The rows of the posted
// keys are created if missing and locked (in one order for every writer, so concurrent writers cannot deadlock)
// before they are read, so concurrent posts of one user key from any process are merged one after the other.
func (s *Store) PutProfiles(ctx context.Context, workspaceID string, ps []store.Profile, idem *store.IdempotentResponse) error {
	if len(ps) == 0 && idem == nil {
		return nil
	}
	var order []profileKey
	seen := map[profileKey]bool{}
	for _, p := range ps {
		k := profileKey{p.UserKey, p.Kind}
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
	users, kinds := make([]string, len(order)), make([]string, len(order))
	for i, k := range order {
		users[i], kinds[i] = k.user, string(k.kind)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(order) > 0 {
			stored, err := lockProfiles(ctx, tx, workspaceID, users, kinds)
			if err != nil {
				return err
			}
			batch := &pgx.Batch{}
			merged, err := mergeProfiles(stored, ps)
			if err != nil {
				return err
			}
			for _, k := range order {
				p := merged[k]
				batch.Queue(`UPDATE profiles SET device_id = $1, attributes = $2, updated_at = $3 WHERE ws = $4 AND user_key = $5 AND kind = $6`,
					p.DeviceID, string(p.Attributes), ms(p.UpdatedAt), workspaceID, p.UserKey, string(p.Kind))
			}
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return fmt.Errorf("write profiles: %w", err)
			}
		}
		if idem != nil {
			return putIdempotency(ctx, tx, workspaceID, idem)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: put profiles: %w", err)
	}
	return nil
}

// lockProfiles creates the missing rows of the keys (users[i], kinds[i]) as empty profiles, then locks and returns
// every one of them. Both statements visit the keys in the same order.
func lockProfiles(ctx context.Context, tx pgx.Tx, workspaceID string, users, kinds []string) (map[profileKey]store.Profile, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO profiles (ws, user_key, kind, device_id, attributes, updated_at)
		SELECT $1, u, k, '', '{}', 0 FROM unnest($2::text[], $3::text[]) AS posted(u, k) ORDER BY u COLLATE "C", k COLLATE "C"
		ON CONFLICT (ws, user_key, kind) DO NOTHING`, workspaceID, users, kinds); err != nil {
		return nil, fmt.Errorf("create profiles: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT user_key, kind, device_id, attributes, updated_at FROM profiles
		WHERE ws = $1 AND (user_key, kind) IN (SELECT u, k FROM unnest($2::text[], $3::text[]) AS posted(u, k))
		ORDER BY user_key, kind FOR UPDATE`, workspaceID, users, kinds)
	if err != nil {
		return nil, fmt.Errorf("lock profiles: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Profile, error) { return scanProfile(row) })
	if err != nil {
		return nil, fmt.Errorf("lock profiles: %w", err)
	}
	out := make(map[profileKey]store.Profile, len(list))
	for _, p := range list {
		out[profileKey{p.UserKey, p.Kind}] = p
	}
	return out, nil
}

// mergeProfiles merges the posted profiles, in order, into the stored ones (store.Profiles.PutProfiles).
func mergeProfiles(stored map[profileKey]store.Profile, ps []store.Profile) (map[profileKey]store.Profile, error) {
	for _, p := range ps {
		k := profileKey{p.UserKey, p.Kind}
		cur := stored[k]
		cur.UserKey, cur.Kind = p.UserKey, p.Kind
		attrs, err := store.MergeAttributes(cur.Attributes, p.Attributes)
		if err != nil {
			return nil, fmt.Errorf("put profile %s %s: %w", p.Kind, p.UserKey, err)
		}
		cur.Attributes, cur.UpdatedAt = attrs, p.UpdatedAt
		if p.DeviceID != "" {
			cur.DeviceID = p.DeviceID
		}
		stored[k] = cur
	}
	return stored, nil
}

func scanProfile(row pgx.Row) (store.Profile, error) {
	var p store.Profile
	var kind, attrs string
	var updated int64
	if err := row.Scan(&p.UserKey, &kind, &p.DeviceID, &attrs, &updated); err != nil {
		return p, err
	}
	p.Kind, p.Attributes, p.UpdatedAt = store.ProfileKind(kind), []byte(attrs), fromMS(updated)
	return p, nil
}

// Profile returns the stored profile of (workspace, userKey, kind); domain.ErrNotFound when there is none.
func (s *Store) Profile(ctx context.Context, workspaceID, userKey string, kind store.ProfileKind) (store.Profile, error) {
	p, err := scanProfile(s.pool.QueryRow(ctx, `SELECT user_key, kind, device_id, attributes, updated_at FROM profiles
		WHERE ws = $1 AND user_key = $2 AND kind = $3`, workspaceID, userKey, string(kind)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Profile{UserKey: userKey, Kind: kind}, fmt.Errorf("profile %s %s: %w", kind, userKey, domain.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("postgres: read profile: %w", err)
	}
	return p, nil
}
