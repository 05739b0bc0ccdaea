package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// The event log (store.EventLog). Append makes events durable in the journal (journal.go) and the loader
// (loader.go) moves them into the events table with DuckDB's Appender, one transaction per load, under the writer
// lock, with Seqs counted from the table's watermark at start-up. Everything derived from them (catalog inference,
// credits) is computed above the store.

// cellKey is what an event's cell (table cells) stands for.
type cellKey struct {
	platform          string
	pdef              uint8
	locale, variation string
}

// load appends batches to the events table, in one transaction under the writer lock, and returns the watermark
// after them (the loader's work: loader.go).
func (s *Store) load(ctx context.Context, batches []store.EventBatch, ackedAt time.Time) (store.Seq, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ctx = context.WithoutCancel(ctx) // a started commit is finished: the caller's 2xx depends on its outcome only
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return 0, fmt.Errorf("append: begin: %w", err)
	}
	seq := s.seq
	// Cells of the new events: known ones from memory, new ones inserted in this transaction.
	cells := s.newCellIDs()
	cellOf := func(e *domain.Event) int32 {
		return cells.of(cellKey{e.Platform, uint8(e.PlatformDefault), e.Locale, e.Variation})
	}
	for _, b := range batches {
		for i := range b.Events {
			cellOf(&b.Events[i])
		}
	}
	if err := cells.insert(ctx, conn); err != nil {
		conn.ExecContext(ctx, `ROLLBACK`)
		return 0, fmt.Errorf("append: %w", err)
	}
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "events")
		if err != nil {
			return fmt.Errorf("events appender: %w", err)
		}
		for _, b := range batches {
			received := b.ReceivedAt.UnixMilli()
			for i := range b.Events {
				e := &b.Events[i]
				seq++
				user := e.User
				if user.IsZero() {
					user = domain.HashUser(e.UserKey)
				}
				var attrs, tags any
				if !e.Campaign && len(e.Attributes) > 0 {
					attrs = string(e.Attributes)
				}
				if e.HasTags {
					t, err := json.Marshal(e.Tags)
					if err != nil {
						app.Close()
						return fmt.Errorf("event tags: %w", err)
					}
					tags = string(t)
				}
				if err := app.AppendRow(int64(seq), b.WorkspaceID, e.UUID, store.UUIDHash(b.WorkspaceID, e.UUID), e.TimeMS, e.Campaign,
					e.Code, e.Name, user.Hi, user.Lo, e.CampaignID, e.ParentCampaignID, uint16(e.Channels), uint8(e.Counter),
					uint8(e.Class), e.Platform, uint8(e.PlatformDefault), e.Locale, e.Variation, e.FailureKey, attrs, e.Source,
					received, e.CampaignName, string(e.InferredChannel), string(e.DeliveryType), tags, cellOf(e)); err != nil {
					app.Close()
					return fmt.Errorf("append event: %w", err)
				}
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush events: %w", err)
		}
		return nil
	})
	if err == nil {
		_, err = conn.ExecContext(ctx, `COMMIT`)
	}
	if err != nil {
		conn.ExecContext(ctx, `ROLLBACK`)
		return 0, fmt.Errorf("append: %w", err)
	}
	if s.tail.active() { // loaded under writeMu, which this append holds
		s.tail.add(tailEvents(s.seq, batches, cellOf))
	}
	s.unsettled += int64(seq - s.seq)
	s.seq = seq
	s.lastAppend = ackedAt
	return seq, nil
}

// creditCellPdef marks the cells of credits in the cells table: their platform is already resolved, so it has no
// platform default, and events' defaults are small numbers.
const creditCellPdef = 255

// cellIDs assigns cell ids for one write: known cells from the store's dictionary as the write began, new ones
// numbered and committed by insert, in a statement of their own under cellsMu, before the write's rows use them.
// Writers of different tables (the log, credits) thus never wait for one another's transactions to add a cell. A
// cell committed for a write that then fails stays in the dictionary, unused. Readers' dictionary gets the new
// cells before any row that names them is committed.
type cellIDs struct {
	s     *Store
	known map[cellKey]int32
	fresh map[cellKey]int32
}

func (s *Store) newCellIDs() *cellIDs {
	return &cellIDs{s: s, known: *s.cells.Load(), fresh: map[cellKey]int32{}}
}

// of returns the id of cell k: before insert, a placeholder for a new cell (insert numbers it).
func (c *cellIDs) of(k cellKey) int32 {
	if id, ok := c.known[k]; ok {
		return id
	}
	if id, ok := c.fresh[k]; ok {
		return id
	}
	c.fresh[k] = -1
	return -1
}

// insert numbers and stores the new cells, and makes them known to later writes.
func (c *cellIDs) insert(ctx context.Context, _ *sql.Conn) error {
	if len(c.fresh) == 0 {
		return nil
	}
	s := c.s
	s.cellsMu.Lock()
	defer s.cellsMu.Unlock()
	known := *s.cells.Load()
	next := maps.Clone(known)
	var values []string
	var args []any
	for k := range c.fresh {
		if id, ok := known[k]; ok { // added by another write meanwhile
			c.fresh[k] = id
			continue
		}
		id := s.nextCell + int32(len(values))
		c.fresh[k], next[k] = id, id
		values = append(values, "(?, ?, ?, ?, ?)")
		args = append(args, id, k.platform, k.pdef, k.locale, k.variation)
	}
	if len(values) == 0 {
		return nil
	}
	for k, id := range c.fresh {
		s.dict.add(id, k)
	}
	if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO cells VALUES `+strings.Join(values, ", "), args...); err != nil {
		return fmt.Errorf("cells: %w", err)
	}
	s.nextCell += int32(len(values))
	s.cells.Store(&next)
	return nil
}

// StoredUUIDs implements store.EventLog.
func (s *Store) StoredUUIDs(ctx context.Context, ws string, uuids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(uuids) == 0 {
		return out, nil
	}
	if err := s.awaitLog(ctx); err != nil {
		return nil, err
	}
	hashes := make([]uint64, len(uuids))
	for i, u := range uuids {
		hashes[i] = store.UUIDHash(ws, u)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT uuid FROM events WHERE uuid_hash IN (SELECT unnest(?::UBIGINT[]))
		AND ws = ? AND uuid IN (SELECT unnest(?::VARCHAR[]))`, hashes, ws, uuids)
	if err != nil {
		return nil, fmt.Errorf("stored uuids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("stored uuids: %w", err)
		}
		out[u] = true
	}
	return out, rows.Err()
}

// UUIDHashes implements store.EventLog.
func (s *Store) UUIDHashes(ctx context.Context, fn func([]uint64) error) error {
	if err := s.awaitLog(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT uuid_hash FROM events`)
	if err != nil {
		return fmt.Errorf("uuid hashes: %w", err)
	}
	defer rows.Close()
	if err := store.SendBatches(rows, 1<<16, store.ScanUint64, fn); err != nil {
		return fmt.Errorf("uuid hashes: %w", err)
	}
	return nil
}

// Watermark implements store.EventLog.
func (s *Store) Watermark(ctx context.Context) (store.Seq, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.ls.logged, nil
}

// storedEventCols are read back by ReadEvents and UserEventsNamed, in scanStoredEvent's order.
const storedEventCols = `ws, seq, received_at, uuid, ts, is_campaign, code, name, user_hi, user_lo, campaign_id, parent_id,
	channels, counter, class, platform, pdef, locale, variation, failure_key, attributes, source, campaign_name,
	inferred_channel, delivery_type, tags`

func scanStoredEvent(rows store.Rows) (store.StoredEvent, error) {
	var e store.StoredEvent
	var seq int64
	var channels uint16
	var counter, class, pdef uint8
	var attrs, tags sql.NullString
	var inferred, delivery string
	if err := rows.Scan(&e.WorkspaceID, &seq, &e.ReceivedAtMS, &e.UUID, &e.TimeMS, &e.Campaign, &e.Code, &e.Name, &e.User.Hi, &e.User.Lo,
		&e.CampaignID, &e.ParentCampaignID, &channels, &counter, &class, &e.Platform, &pdef, &e.Locale, &e.Variation, &e.FailureKey,
		&attrs, &e.Source, &e.CampaignName, &inferred, &delivery, &tags); err != nil {
		return e, err
	}
	e.Seq, e.Channels, e.Counter, e.Class = store.Seq(seq), domain.ChannelSet(channels), domain.Counter(counter), domain.InteractionClass(class)
	e.PlatformDefault, e.InferredChannel, e.DeliveryType = domain.PlatformDefault(pdef), domain.Channel(inferred), domain.DeliveryType(delivery)
	if attrs.Valid {
		e.Attributes = json.RawMessage(attrs.String)
	}
	if tags.Valid {
		e.HasTags = true
		if err := json.Unmarshal([]byte(tags.String), &e.Tags); err != nil {
			return e, fmt.Errorf("event %s tags: %w", e.UUID, err)
		}
	}
	return e, nil
}

// ReadEvents implements store.EventLog. It reads a range of seq, which the log's zone maps bound: `ORDER BY seq
// LIMIT n` over `seq > after` would sort everything after the position (memory and time growing with how far
// behind the reader is). Seqs are dense, so the range [after+1, after+limit] normally holds limit events; a gap
// (none is made today) is skipped by looking up the next seq.
func (s *Store) ReadEvents(ctx context.Context, after store.Seq, limit int) ([]store.StoredEvent, error) {
	if err := s.awaitLog(ctx); err != nil {
		return nil, err
	}
	out, err := s.readSeqRange(ctx, int64(after), int64(after)+int64(limit))
	if err != nil || len(out) > 0 {
		return out, err
	}
	var next sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(seq) FROM events WHERE seq > ?`, int64(after)).Scan(&next); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if !next.Valid {
		return nil, nil
	}
	return s.readSeqRange(ctx, next.Int64-1, next.Int64-1+int64(limit))
}

// readSeqRange reads the events with after < seq <= through, in seq order.
func (s *Store) readSeqRange(ctx context.Context, after, through int64) ([]store.StoredEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+storedEventCols+` FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`, after, through)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []store.StoredEvent
	for rows.Next() {
		e, err := scanStoredEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UserEventsNamed implements store.EventLog.
func (s *Store) UserEventsNamed(ctx context.Context, ws string, names []string, fn func([]store.StoredEvent) error) error {
	if len(names) == 0 {
		return nil
	}
	if err := s.awaitLog(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+storedEventCols+` FROM events WHERE ws = ? AND NOT is_campaign
		AND (name IN (SELECT unnest(?::VARCHAR[])) OR code IN (SELECT unnest(?::VARCHAR[])))`, ws, names, names)
	if err != nil {
		return fmt.Errorf("user events: %w", err)
	}
	defer rows.Close()
	if err := store.SendBatches(rows, 4096, scanStoredEvent, fn); err != nil {
		return fmt.Errorf("user events: %w", err)
	}
	return nil
}

// tailEvents returns the counted campaign events of batches, numbered from after first, for the tail index.
func tailEvents(first store.Seq, batches []store.EventBatch, cellOf func(*domain.Event) int32) []tailEvent {
	var out []tailEvent
	seq := int64(first)
	for _, b := range batches {
		for i := range b.Events {
			e := &b.Events[i]
			seq++
			if !e.Campaign || !counted(uint8(e.Counter)) {
				continue
			}
			user := e.User
			if user.IsZero() {
				user = domain.HashUser(e.UserKey)
			}
			out = append(out, tailEvent{seq: seq, ws: b.WorkspaceID, campaign: e.CampaignID, ts: e.TimeMS, user: user, cell: cellOf(e),
				channels: uint16(e.Channels), counter: uint8(e.Counter), fk: failureKeyOf(uint8(e.Counter), e.FailureKey)})
		}
	}
	return out
}
