package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"sort"
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

// pendingAppend is one Append call waiting in the group-commit queue.
type pendingAppend struct {
	batch store.Batch
	res   store.AppendResult
	err   error
	done  chan struct{}
}

// maxGroupEvents bounds the events committed in one group transaction.
const maxGroupEvents = 250_000

// Append stores a batch durably. Concurrent calls are committed together (group commit): the caller that gets the
// writer lock takes every queued batch and commits them in one transaction, in queue order, so one fsync serves
// many requests. Dedup follows queue order: the first stored copy of a uuid wins.
func (s *Store) Append(ctx context.Context, b store.Batch) (store.AppendResult, error) {
	p := &pendingAppend{batch: b, done: make(chan struct{})}
	s.queueMu.Lock()
	s.queue = append(s.queue, p)
	s.queueMu.Unlock()
	for {
		s.writeMu.Lock()
		select {
		case <-p.done:
			s.writeMu.Unlock()
			return p.res, p.err
		default:
		}
		s.queueMu.Lock()
		n, events := 0, 0
		for n < len(s.queue) && (n == 0 || events+len(s.queue[n].batch.Events) <= maxGroupEvents) {
			events += len(s.queue[n].batch.Events)
			n++
		}
		group := append([]*pendingAppend(nil), s.queue[:n]...)
		s.queue = s.queue[n:]
		s.queueMu.Unlock()
		err := s.appendGroup(context.WithoutCancel(ctx), group)
		for _, g := range group {
			if err != nil {
				g.res, g.err = store.AppendResult{}, err
			}
			close(g.done)
		}
		s.writeMu.Unlock()
	}
}

// appendGroup commits the batches of a group in one transaction and fills in their results.
func (s *Store) appendGroup(ctx context.Context, group []*pendingAppend) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	defer conn.Close()

	type ref struct{ g, i int }
	hashes := map[ref]uint64{}
	seen := map[string]bool{}
	candidates := map[string][]string{} // workspace → uuids whose hash is already known
	for gi, p := range group {
		b := &p.batch
		p.res = store.AppendResult{Duplicate: make([]bool, len(b.Events))}
		for i := range b.Events {
			u := b.Events[i].UUID
			key := b.WorkspaceID + "\x00" + u
			if seen[key] {
				p.res.Duplicate[i] = true
				continue
			}
			seen[key] = true
			h := uuidHash(b.WorkspaceID, u)
			hashes[ref{gi, i}] = h
			if s.uuids.has(h) {
				candidates[b.WorkspaceID] = append(candidates[b.WorkspaceID], u)
			}
		}
	}

	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("append: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(ctx, `ROLLBACK`)
		}
	}()

	existing := map[string]bool{}
	for ws, uuids := range candidates {
		found, err := s.storedUUIDs(ctx, conn, ws, uuids)
		if err != nil {
			return err
		}
		for u := range found {
			existing[ws+"\x00"+u] = true
		}
	}
	stored := map[string][]domain.Event{} // workspace → stored events, for catalog inference
	var storedHashes []uint64
	newUsers := map[string]int64{}
	for gi, p := range group {
		b := &p.batch
		for i := range b.Events {
			if p.res.Duplicate[i] {
				continue
			}
			if existing[b.WorkspaceID+"\x00"+b.Events[i].UUID] {
				p.res.Duplicate[i] = true
				continue
			}
			stored[b.WorkspaceID] = append(stored[b.WorkspaceID], b.Events[i])
			storedHashes = append(storedHashes, hashes[ref{gi, i}])
			k := b.Events[i].UserKey
			if _, ok := s.users[k]; !ok {
				if _, ok := newUsers[k]; !ok {
					newUsers[k] = s.nextUser + int64(len(newUsers))
				}
			}
		}
	}
	userID := func(k string) int64 {
		if id, ok := s.users[k]; ok {
			return id
		}
		return newUsers[k]
	}
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "events")
		if err != nil {
			return fmt.Errorf("events appender: %w", err)
		}
		for gi, p := range group {
			b := &p.batch
			receivedMS := b.ReceivedAt.UnixMilli()
			for i := range b.Events {
				if p.res.Duplicate[i] {
					continue
				}
				e := &b.Events[i]
				var attrs any
				if !e.Campaign && len(e.Attributes) > 0 {
					attrs = string(e.Attributes)
				}
				if err := app.AppendRow(b.WorkspaceID, e.UUID, hashes[ref{gi, i}], e.TimeMS, e.Campaign, e.Code, e.Name,
					userID(e.UserKey), e.CampaignID, e.ParentCampaignID, uint16(e.Channels), uint8(e.Counter), uint8(e.Class),
					e.Platform, uint8(e.PlatformDefault), e.Locale, e.Variation, e.FailureKey, attrs, e.Source, receivedMS); err != nil {
					app.Close()
					return fmt.Errorf("append event: %w", err)
				}
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush events: %w", err)
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
		app, err = duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "quarantine")
		if err != nil {
			return fmt.Errorf("quarantine appender: %w", err)
		}
		for _, p := range group {
			for _, q := range p.batch.Quarantine {
				if err := app.AppendRow(q.ID, p.batch.WorkspaceID, q.ReceivedAt.UnixMilli(), q.RequestID, q.Endpoint, int32(q.Index),
					q.EventUUID, q.Reason, string(q.Payload), q.PayloadTruncated); err != nil {
					app.Close()
					return fmt.Errorf("append quarantine: %w", err)
				}
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush quarantine: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range group {
		if p.batch.Idempotency != nil {
			if err := putIdempotency(ctx, conn, p.batch.WorkspaceID, p.batch.Idempotency); err != nil {
				return err
			}
		}
	}
	changed := map[string][]domain.Campaign{}
	states := map[string]*creditState{}
	for ws, evs := range stored {
		c, err := s.inferCatalog(ctx, conn, ws, evs, group[0].batch.ReceivedAt)
		if err != nil {
			return err
		}
		changed[ws] = c
		if states[ws], err = s.updateCredits(ctx, conn, ws, evs, c, userID); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("append: commit: %w", err)
	}
	committed = true
	for k, id := range newUsers {
		s.users[k] = id
	}
	s.nextUser += int64(len(newUsers))
	s.uuids.add(storedHashes)
	for ws, cs := range changed {
		s.cacheCampaigns(ws, cs)
	}
	s.installCredits(states)
	return nil
}

// storedUUIDs returns which of the candidate uuids (whose hash is already known) are stored in the workspace.
func (s *Store) storedUUIDs(ctx context.Context, conn *sql.Conn, ws string, candidates []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(candidates) == 0 {
		return out, nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT uuid FROM events WHERE ws = ? AND uuid IN (SELECT unnest(?::VARCHAR[]))`, ws, candidates)
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

// inferCatalog applies SPEC §3.14 for the stored events inside the append transaction and returns the changed
// records (to be cached after the commit).
func (s *Store) inferCatalog(ctx context.Context, conn *sql.Conn, ws string, stored []domain.Event, now time.Time) ([]domain.Campaign, error) {
	current, err := s.cachedCatalog(ctx, ws)
	if err != nil {
		return nil, err
	}
	cs := map[string]*domain.Campaign{}
	for i := range stored {
		e := &stored[i]
		if !e.Campaign || e.CampaignID == "" {
			continue
		}
		for _, id := range []string{e.CampaignID, e.ParentCampaignID} {
			if c, ok := current[id]; ok && cs[id] == nil {
				cp := cloneCampaign(c)
				cs[id] = &cp
			}
		}
	}
	changed := domain.InferCampaigns(cs, stored, now)
	if len(changed) == 0 {
		return nil, nil
	}
	out := make([]domain.Campaign, 0, len(changed))
	for _, id := range changed {
		out = append(out, *cs[id])
	}
	return out, putCampaigns(ctx, conn, ws, out)
}

// cloneCampaign copies a record so that callers can change it without touching the cache.
func cloneCampaign(c domain.Campaign) domain.Campaign {
	c.Inferred.Platforms = append([]string(nil), c.Inferred.Platforms...)
	return c
}

// cachedCatalog returns the cached campaigns of a workspace, loading them on first use. Callers must not modify
// the returned records.
func (s *Store) cachedCatalog(ctx context.Context, ws string) (map[string]domain.Campaign, error) {
	s.catalogMu.RLock()
	m, ok := s.catalog[ws]
	s.catalogMu.RUnlock()
	if ok {
		return m, nil
	}
	list, err := queryCampaigns(ctx, s.db, `SELECT `+campaignCols+` FROM campaigns WHERE ws = ?`, ws)
	if err != nil {
		return nil, err
	}
	m = make(map[string]domain.Campaign, len(list))
	for _, c := range list {
		m[c.ID] = c
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	if cur, ok := s.catalog[ws]; ok {
		return cur, nil
	}
	s.catalog[ws] = m
	return m, nil
}

// cacheCampaigns installs committed records in the cache (copy on write, so readers keep consistent maps).
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
	next := make(map[string]domain.Campaign, len(cur)+len(cs))
	for id, c := range cur {
		next[id] = c
	}
	for _, c := range cs {
		next[c.ID] = cloneCampaign(c)
	}
	s.catalog[ws] = next
}

const campaignCols = `id, explicit, has_explicit, inferred, created_at, updated_at`

// queryer runs read queries: the database, a connection, or a snapshot's transaction.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
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
	m, err := s.cachedCatalog(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Campaign, 0, len(m))
	for _, c := range m {
		out = append(out, cloneCampaign(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutCampaigns inserts or replaces whole records atomically.
func (s *Store) PutCampaigns(ctx context.Context, ws string, cs []domain.Campaign) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("put campaigns: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("put campaigns: %w", err)
	}
	if err := putCampaigns(ctx, conn, ws, cs); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	st, err := s.updateCredits(ctx, conn, ws, nil, cs, func(k string) int64 { return s.users[k] })
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("put campaigns: commit: %w", err)
	}
	if _, err := s.cachedCatalog(ctx, ws); err == nil {
		s.cacheCampaigns(ws, cs)
	}
	s.installCredits(map[string]*creditState{ws: st})
	return nil
}
