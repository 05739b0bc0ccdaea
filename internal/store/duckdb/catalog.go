package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// The campaign catalog (store.Catalog). Every write goes through UpdateCampaigns under the writer lock, so the
// in-memory cache of each workspace's catalog (loaded on first use) stays exact.

// cloneCampaign copies a record so that callers can change it without touching the cache.
func cloneCampaign(c domain.Campaign) domain.Campaign {
	c.Inferred.Platforms = append([]string(nil), c.Inferred.Platforms...)
	return c
}

// sortedCatalog is one workspace's cached campaigns, sorted by id. It is never modified once cached: a write
// installs a new one (copy on write), so readers keep a consistent catalog without a lock.
type sortedCatalog []domain.Campaign

// find returns the index of id in c, or where it would be inserted, and whether it is there.
func (c sortedCatalog) find(id string) (int, bool) {
	return slices.BinarySearchFunc(c, id, func(x domain.Campaign, id string) int { return strings.Compare(x.ID, id) })
}

// with returns a new catalog holding c's campaigns with cs's records in place of (or beside) those of their ids.
// It costs a copy of c, not a sort of it: a catalog write in a workspace of thousands of campaigns re-sorted them
// all on every read before.
func (c sortedCatalog) with(cs []domain.Campaign) sortedCatalog {
	next := make(sortedCatalog, len(c), len(c)+len(cs))
	copy(next, c)
	added := map[string]int{} // new ids, at their index in next (after the sorted ones)
	for _, rec := range cs {
		if i, ok := next[:len(c)].find(rec.ID); ok {
			next[i] = cloneCampaign(rec)
		} else if i, ok := added[rec.ID]; ok {
			next[i] = cloneCampaign(rec) // the last record of an id wins
		} else {
			added[rec.ID] = len(next)
			next = append(next, cloneCampaign(rec))
		}
	}
	if len(added) > 0 {
		slices.SortFunc(next, func(a, b domain.Campaign) int { return strings.Compare(a.ID, b.ID) })
	}
	return next
}

// cachedCatalog returns the cached campaigns of a workspace, loading them on first use. Callers must not modify
// the returned records.
func (s *Store) cachedCatalog(ctx context.Context, ws string) (sortedCatalog, error) {
	s.catalogMu.RLock()
	c, ok := s.catalog[ws]
	s.catalogMu.RUnlock()
	if ok {
		return c, nil
	}
	list, err := queryCampaigns(ctx, s.db, `SELECT `+campaignCols+` FROM campaigns WHERE ws = ?`, ws)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b domain.Campaign) int { return strings.Compare(a.ID, b.ID) })
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	if cur, ok := s.catalog[ws]; ok {
		return cur, nil
	}
	s.catalog[ws] = list
	return list, nil
}

// cacheCampaigns installs committed records in the cache (copy on write, so readers keep consistent catalogs).
func (s *Store) cacheCampaigns(ws string, cs []domain.Campaign) {
	if len(cs) == 0 {
		return
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	cur, ok := s.catalog[ws]
	if !ok {
		return // not loaded yet: the next read loads it from the database
	}
	s.catalog[ws] = cur.with(cs)
}

const campaignCols = `id, explicit, has_explicit, inferred, created_at, updated_at`

// queryer runs read queries: the database, a connection, or a snapshot's transaction.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
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

// putCampaigns upserts whole campaign records with one statement: rows are appended to a temporary table on the
// same connection, then merged.
func putCampaigns(ctx context.Context, conn *sql.Conn, ws string, cs []domain.Campaign) error {
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS campaign_upserts AS SELECT * FROM campaigns LIMIT 0`); err != nil {
		return fmt.Errorf("write campaigns: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM campaign_upserts`); err != nil {
		return fmt.Errorf("write campaigns: %w", err)
	}
	err := conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "campaign_upserts")
		if err != nil {
			return err
		}
		for i := range cs {
			c := &cs[i]
			explicit, err := json.Marshal(c.Explicit)
			if err != nil {
				app.Close()
				return err
			}
			inferred, err := json.Marshal(c.Inferred)
			if err != nil {
				app.Close()
				return err
			}
			if err := app.AppendRow(ws, c.ID, string(explicit), c.HasExplicit, string(inferred), c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli()); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		return fmt.Errorf("write campaigns: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO campaigns SELECT * FROM campaign_upserts`); err != nil {
		return fmt.Errorf("write campaigns: %w", err)
	}
	return nil
}

// Campaigns returns every campaign of the workspace, sorted by id.
func (s *Store) Campaigns(ctx context.Context, ws string) ([]domain.Campaign, error) {
	cached, err := s.cachedCatalog(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Campaign, len(cached))
	for i, c := range cached {
		out[i] = cloneCampaign(c)
	}
	return out, nil
}

// UpdateCampaigns implements store.Catalog: update sees the workspace's catalog as committed, and its records are
// written in one transaction, both under the writer lock.
func (s *Store) UpdateCampaigns(ctx context.Context, ws string, update func([]domain.Campaign) ([]domain.Campaign, error)) error {
	s.catalogWriteMu.Lock()
	defer s.catalogWriteMu.Unlock()
	current, err := s.Campaigns(ctx, ws)
	if err != nil {
		return err
	}
	cs, err := update(current)
	if err != nil || len(cs) == 0 {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("update campaigns: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("update campaigns: %w", err)
	}
	if err := putCampaigns(ctx, conn, ws, cs); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("update campaigns: commit: %w", err)
	}
	s.cacheCampaigns(ws, cs)
	return nil
}
