package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// insertEvents names every column of events: batch inserts must name them on ClickHouse 18.16.
const insertEvents = `INSERT INTO events (seq, ws, uuid, uuid_hash, ts, is_campaign, code, name, user_hi, user_lo, campaign_id,
	parent_id, channels, counter, class, platform, pdef, locale, variation, failure_key, attributes, source, received_at,
	campaign_name, inferred_channel, delivery_type, tags)`

// Append implements store.EventLog.
//
// Appends are serialised by the caller: one Append at a time across every process writing to the store (the
// intake of one node, or a cluster-wide lock). The next Seq is the committed watermark plus one. The events are
// inserted into the shard of their user, then the new watermark is committed in the journal; a failure before
// that leaves rows no read sees, which the next Append deletes before it reuses their Seqs (package doc).
func (s *Store) Append(ctx context.Context, batches []store.EventBatch) (store.Seq, error) {
	// A started append is finished or undone by the next one; the caller's answer depends on its outcome only.
	ctx = context.WithoutCancel(ctx)
	cur, _, err := s.journal(ctx)
	if err != nil {
		return 0, errorf("clickhouse: append: %w", err)
	}
	n := 0
	for _, b := range batches {
		n += len(b.Events)
	}
	if n == 0 {
		return store.Seq(cur.committed), nil
	}
	if cur.unfinished() {
		if err := s.deleteAbove(ctx, "events", "seq", cur.committed); err != nil {
			return 0, errorf("clickhouse: append: clean up an unfinished append: %w", err)
		}
	}
	last := cur.committed + int64(n)
	if err := s.writeRecord(ctx, streamEvents, record{op: cur.op + 1, committed: cur.committed, pending: last}); err != nil {
		return 0, errorf("clickhouse: append: %w", err)
	}
	if err := s.insertEvents(ctx, batches, cur.committed); err != nil {
		return 0, errorf("clickhouse: append: %w", err)
	}
	if err := s.writeRecord(ctx, streamEvents, record{op: cur.op + 2, committed: last, pending: last}); err != nil {
		return 0, errorf("clickhouse: append: commit: %w", err)
	}
	return store.Seq(last), nil
}

// insertEvents inserts the events with Seqs after+1, after+2, … into the shards of their users, one insert per
// shard, shard after shard.
func (s *Store) insertEvents(ctx context.Context, batches []store.EventBatch, after int64) error {
	rows := make([][][]any, len(s.shards))
	seq := after
	for _, b := range batches {
		received := b.ReceivedAt.UnixMilli()
		for i := range b.Events {
			e := &b.Events[i]
			seq++
			user := e.User
			if user.IsZero() {
				user = domain.HashUser(e.UserKey)
			}
			var attrs, tags *string
			if !e.Campaign && len(e.Attributes) > 0 {
				a := string(e.Attributes)
				attrs = &a
			}
			if e.HasTags {
				t, err := json.Marshal(e.Tags)
				if err != nil {
					return fmt.Errorf("event %s tags: %w", e.UUID, err)
				}
				ts := string(t)
				tags = &ts
			}
			shard := s.shardOf(user)
			rows[shard] = append(rows[shard], []any{seq, b.WorkspaceID, e.UUID, store.UUIDHash(b.WorkspaceID, e.UUID), e.TimeMS,
				boolByte(e.Campaign), e.Code, e.Name, user.Hi, user.Lo, e.CampaignID, e.ParentCampaignID, uint16(e.Channels),
				uint8(e.Counter), uint8(e.Class), e.Platform, uint8(e.PlatformDefault), e.Locale, e.Variation, e.FailureKey, attrs,
				e.Source, received, e.CampaignName, string(e.InferredChannel), string(e.DeliveryType), tags})
		}
	}
	return s.insertPerShard(ctx, insertEvents, rows)
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Watermark implements store.EventLog: the committed watermark, read from the journal (another process may have
// appended).
func (s *Store) Watermark(ctx context.Context) (store.Seq, error) {
	cur, _, err := s.journal(ctx)
	if err != nil {
		return 0, errorf("clickhouse: watermark: %w", err)
	}
	return store.Seq(cur.committed), nil
}

// watermark returns the committed watermark for a read.
func (s *Store) watermark(ctx context.Context) (int64, error) {
	cur, _, err := s.journal(ctx)
	return cur.committed, err
}

// StoredUUIDs implements store.EventLog.
func (s *Store) StoredUUIDs(ctx context.Context, ws string, uuids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(uuids) == 0 {
		return out, nil
	}
	wm, err := s.watermark(ctx)
	if err != nil {
		return nil, errorf("clickhouse: stored uuids: %w", err)
	}
	hashes := make([]uint64, len(uuids))
	for i, u := range uuids {
		hashes[i] = store.UUIDHash(ws, u)
	}
	rows, err := s.shards[0].Query(ctx, `SELECT DISTINCT uuid FROM `+s.eventsTable+`
		PREWHERE ws = ? AND has(?, uuid_hash) AND seq <= ? WHERE has(?, uuid)`, ws, hashes, wm, uuids)
	if err != nil {
		return nil, errorf("clickhouse: stored uuids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, errorf("clickhouse: stored uuids: %w", err)
		}
		out[u] = true
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("clickhouse: stored uuids: %w", err)
	}
	return out, nil
}

// UUIDHashes implements store.EventLog.
func (s *Store) UUIDHashes(ctx context.Context, fn func([]uint64) error) error {
	wm, err := s.watermark(ctx)
	if err != nil {
		return errorf("clickhouse: uuid hashes: %w", err)
	}
	rows, err := s.shards[0].Query(ctx, `SELECT uuid_hash FROM `+s.eventsTable+` WHERE seq <= ?`, wm)
	if err != nil {
		return errorf("clickhouse: uuid hashes: %w", err)
	}
	defer rows.Close()
	if err := store.SendBatches(rows, 1<<16, store.ScanUint64, fn); err != nil {
		return errorf("clickhouse: uuid hashes: %w", err)
	}
	return nil
}

// storedEventCols are read back by ReadEvents and UserEventsNamed, in scanStoredEvent's order.
const storedEventCols = `ws, seq, received_at, uuid, ts, is_campaign, code, name, user_hi, user_lo, campaign_id, parent_id,
	channels, counter, class, platform, pdef, locale, variation, failure_key, attributes, source, campaign_name,
	inferred_channel, delivery_type, tags`

func scanStoredEvent(rows store.Rows) (store.StoredEvent, error) {
	var e store.StoredEvent
	var seq int64
	var channels uint16
	var isCampaign, counter, class, pdef uint8
	var attrs, tags *string
	var inferred, delivery string
	if err := rows.Scan(&e.WorkspaceID, &seq, &e.ReceivedAtMS, &e.UUID, &e.TimeMS, &isCampaign, &e.Code, &e.Name, &e.User.Hi, &e.User.Lo,
		&e.CampaignID, &e.ParentCampaignID, &channels, &counter, &class, &e.Platform, &pdef, &e.Locale, &e.Variation, &e.FailureKey,
		&attrs, &e.Source, &e.CampaignName, &inferred, &delivery, &tags); err != nil {
		return e, err
	}
	e.Seq, e.Campaign, e.Channels, e.Counter, e.Class = store.Seq(seq), isCampaign == 1, domain.ChannelSet(channels), domain.Counter(counter), domain.InteractionClass(class)
	e.PlatformDefault, e.InferredChannel, e.DeliveryType = domain.PlatformDefault(pdef), domain.Channel(inferred), domain.DeliveryType(delivery)
	if attrs != nil {
		e.Attributes = json.RawMessage(*attrs)
	}
	if tags != nil {
		e.HasTags = true
		if err := json.Unmarshal([]byte(*tags), &e.Tags); err != nil {
			return e, fmt.Errorf("event %s tags: %w", e.UUID, err)
		}
	}
	return e, nil
}

// ReadEvents implements store.EventLog. Committed Seqs are dense (an unfinished append's Seqs are reused after its
// rows are deleted), so the range (after, min(after+limit, watermark)] holds the events asked for; the parts
// outside it are skipped by the partition key's min/max index on seq.
func (s *Store) ReadEvents(ctx context.Context, after store.Seq, limit int) ([]store.StoredEvent, error) {
	wm, err := s.watermark(ctx)
	if err != nil {
		return nil, errorf("clickhouse: read events: %w", err)
	}
	through := min(int64(after)+int64(limit), wm)
	if limit <= 0 || through <= int64(after) {
		return nil, nil
	}
	rows, err := s.shards[0].Query(ctx, `SELECT `+storedEventCols+` FROM `+s.eventsTable+`
		WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, int64(after), through, limit)
	if err != nil {
		return nil, errorf("clickhouse: read events: %w", err)
	}
	defer rows.Close()
	var out []store.StoredEvent
	for rows.Next() {
		e, err := scanStoredEvent(rows)
		if err != nil {
			return nil, errorf("clickhouse: read events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("clickhouse: read events: %w", err)
	}
	return out, nil
}

// userEventBatch is how many events UserEventsNamed hands over at a time.
const userEventBatch = 4096

// UserEventsNamed implements store.EventLog. User events have no campaign, so they sit together at the start of
// their workspace's range of the primary key.
func (s *Store) UserEventsNamed(ctx context.Context, ws string, names []string, fn func([]store.StoredEvent) error) error {
	if len(names) == 0 {
		return nil
	}
	wm, err := s.watermark(ctx)
	if err != nil {
		return errorf("clickhouse: user events: %w", err)
	}
	rows, err := s.shards[0].Query(ctx, `SELECT `+storedEventCols+` FROM `+s.eventsTable+`
		PREWHERE ws = ? AND is_campaign = 0 AND seq <= ? WHERE has(?, name) OR has(?, code)`, ws, wm, names, names)
	if err != nil {
		return errorf("clickhouse: user events: %w", err)
	}
	defer rows.Close()
	if err := store.SendBatches(rows, userEventBatch, scanStoredEvent, fn); err != nil {
		return errorf("clickhouse: user events: %w", err)
	}
	return nil
}
