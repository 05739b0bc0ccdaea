package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// uuidHash hashes an event uuid for the dedup pre-filter. Collisions are harmless: candidates found by hash are
// confirmed by comparing the uuid text.
func uuidHash(ws, uuid string) uint64 {
	// FNV-1a 64: stable across processes and versions (maphash seeds are per process).
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(ws); i++ {
		h ^= uint64(ws[i])
		h *= prime
	}
	h ^= 0xff
	h *= prime
	for i := 0; i < len(uuid); i++ {
		h ^= uint64(uuid[i])
		h *= prime
	}
	return h
}

// Append stores a batch in one durable transaction.
func (s *Store) Append(ctx context.Context, b store.Batch) (store.AppendResult, error) {
	res := store.AppendResult{Duplicate: make([]bool, len(b.Events))}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("append: %w", err)
	}
	defer conn.Close()

	hashes := make([]uint64, len(b.Events))
	seen := make(map[string]bool, len(b.Events))
	for i := range b.Events {
		u := b.Events[i].UUID
		if seen[u] {
			res.Duplicate[i] = true
			continue
		}
		seen[u] = true
		hashes[i] = uuidHash(b.WorkspaceID, u)
	}

	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return res, fmt.Errorf("append: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()

	existing, err := s.existingUUIDs(ctx, conn, b, hashes, res.Duplicate)
	if err != nil {
		return res, err
	}
	var stored []domain.Event
	newUsers := map[string]int64{}
	for i := range b.Events {
		if res.Duplicate[i] {
			continue
		}
		if existing[b.Events[i].UUID] {
			res.Duplicate[i] = true
			continue
		}
		stored = append(stored, b.Events[i])
		k := b.Events[i].UserKey
		if _, ok := s.users[k]; !ok {
			if _, ok := newUsers[k]; !ok {
				newUsers[k] = s.nextUser + int64(len(newUsers))
			}
		}
	}
	userID := func(k string) int64 {
		if id, ok := s.users[k]; ok {
			return id
		}
		return newUsers[k]
	}
	receivedMS := b.ReceivedAt.UnixMilli()
	err = conn.Raw(func(dc any) error {
		if len(stored) > 0 {
			app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "events")
			if err != nil {
				return fmt.Errorf("events appender: %w", err)
			}
			for i := range stored {
				e := &stored[i]
				var attrs any
				if !e.Campaign && len(e.Attributes) > 0 {
					attrs = string(e.Attributes)
				}
				if err := app.AppendRow(b.WorkspaceID, e.UUID, uuidHash(b.WorkspaceID, e.UUID), e.TimeMS, e.Campaign, e.Code, e.Name,
					userID(e.UserKey), e.CampaignID, e.ParentCampaignID, uint16(e.Channels), uint8(e.Counter), uint8(e.Class),
					e.Platform, uint8(e.PlatformDefault), e.Locale, e.Variation, e.FailureKey, attrs, e.Source, receivedMS); err != nil {
					app.Close()
					return fmt.Errorf("append event: %w", err)
				}
			}
			if err := app.Close(); err != nil {
				return fmt.Errorf("flush events: %w", err)
			}
		}
		if len(newUsers) > 0 {
			app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "users")
			if err != nil {
				return fmt.Errorf("users appender: %w", err)
			}
			for k, id := range newUsers {
				if err := app.AppendRow(k, id); err != nil {
					app.Close()
					return fmt.Errorf("append user: %w", err)
				}
			}
			if err := app.Close(); err != nil {
				return fmt.Errorf("flush users: %w", err)
			}
		}
		if len(b.Quarantine) > 0 {
			app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "quarantine")
			if err != nil {
				return fmt.Errorf("quarantine appender: %w", err)
			}
			for _, q := range b.Quarantine {
				if err := app.AppendRow(q.ID, b.WorkspaceID, q.ReceivedAt.UnixMilli(), q.RequestID, q.Endpoint, int32(q.Index),
					q.EventUUID, q.Reason, string(q.Payload), q.PayloadTruncated); err != nil {
					app.Close()
					return fmt.Errorf("append quarantine: %w", err)
				}
			}
			if err := app.Close(); err != nil {
				return fmt.Errorf("flush quarantine: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := s.inferCatalog(ctx, conn, b.WorkspaceID, stored, b.ReceivedAt); err != nil {
		return res, err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return res, fmt.Errorf("append: commit: %w", err)
	}
	committed = true
	for k, id := range newUsers {
		s.users[k] = id
	}
	s.nextUser += int64(len(newUsers))
	return res, nil
}

// existingUUIDs returns the batch uuids already stored in the workspace: a hash semi-join finds candidates, the
// uuid text confirms them.
func (s *Store) existingUUIDs(ctx context.Context, conn *sql.Conn, b store.Batch, hashes []uint64, dup []bool) (map[string]bool, error) {
	out := map[string]bool{}
	if len(b.Events) == 0 {
		return out, nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS batch_hashes (h UBIGINT)`); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM batch_hashes`); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	err := conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "batch_hashes")
		if err != nil {
			return fmt.Errorf("dedup appender: %w", err)
		}
		for i, h := range hashes {
			if dup[i] {
				continue
			}
			if err := app.AppendRow(h); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT e.uuid FROM events e WHERE e.ws = ? AND e.uuid_hash IN (SELECT h FROM batch_hashes)`, b.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("dedup query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("dedup scan: %w", err)
		}
		out[u] = true
	}
	return out, rows.Err()
}

// inferCatalog applies SPEC §3.14 for the stored events inside the append transaction.
func (s *Store) inferCatalog(ctx context.Context, conn *sql.Conn, ws string, stored []domain.Event, now time.Time) error {
	ids := map[string]bool{}
	for i := range stored {
		if stored[i].Campaign && stored[i].CampaignID != "" {
			ids[stored[i].CampaignID] = true
			if p := stored[i].ParentCampaignID; p != "" {
				ids[p] = true
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	current, err := queryCampaigns(ctx, conn, `SELECT `+campaignCols+` FROM campaigns WHERE ws = ? AND list_contains(?, id)`, ws, list)
	if err != nil {
		return err
	}
	cs := make(map[string]*domain.Campaign, len(current))
	for i := range current {
		cs[current[i].ID] = &current[i]
	}
	changed := domain.InferCampaigns(cs, stored, now)
	if len(changed) == 0 {
		return nil
	}
	out := make([]domain.Campaign, 0, len(changed))
	for _, id := range changed {
		out = append(out, *cs[id])
	}
	return putCampaigns(ctx, conn, ws, out)
}

const campaignCols = `id, explicit, has_explicit, inferred, created_at, updated_at`

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func queryCampaigns(ctx context.Context, q queryer, query string, args ...any) ([]domain.Campaign, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	defer rows.Close()
	var out []domain.Campaign
	for rows.Next() {
		var c domain.Campaign
		var explicit, inferred string
		var created, updated int64
		if err := rows.Scan(&c.ID, &explicit, &c.HasExplicit, &inferred, &created, &updated); err != nil {
			return nil, fmt.Errorf("read campaigns: %w", err)
		}
		if err := json.Unmarshal([]byte(explicit), &c.Explicit); err != nil {
			return nil, fmt.Errorf("campaign %s explicit: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(inferred), &c.Inferred); err != nil {
			return nil, fmt.Errorf("campaign %s inferred: %w", c.ID, err)
		}
		c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func putCampaigns(ctx context.Context, ex execer, ws string, cs []domain.Campaign) error {
	for i := range cs {
		c := &cs[i]
		explicit, err := json.Marshal(c.Explicit)
		if err != nil {
			return err
		}
		inferred, err := json.Marshal(c.Inferred)
		if err != nil {
			return err
		}
		if _, err := ex.ExecContext(ctx, `INSERT OR REPLACE INTO campaigns (ws, `+campaignCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ws, c.ID, string(explicit), c.HasExplicit, string(inferred), c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("write campaign %s: %w", c.ID, err)
		}
	}
	return nil
}

// Campaigns returns every campaign of the workspace.
func (s *Store) Campaigns(ctx context.Context, ws string) ([]domain.Campaign, error) {
	return queryCampaigns(ctx, s.db, `SELECT `+campaignCols+` FROM campaigns WHERE ws = ?`, ws)
}

// PutCampaigns inserts or replaces whole records atomically.
func (s *Store) PutCampaigns(ctx context.Context, ws string, cs []domain.Campaign) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put campaigns: %w", err)
	}
	if err := putCampaigns(ctx, tx, ws, cs); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put campaigns: commit: %w", err)
	}
	return nil
}
