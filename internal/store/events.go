package store

import (
	"context"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// Seq is an event's position in the event log: every appended event gets a Seq greater than every event appended
// before it. The highest stored Seq is the log's watermark; work derived from the log (catalog inference, credits)
// records the watermark it has reached.
type Seq int64

// EventBatch is the events of one workspace appended together.
type EventBatch struct {
	WorkspaceID string
	ReceivedAt  time.Time
	// Events are new events: the caller has already removed duplicates (the dedup policy lives above the store).
	Events []domain.Event
}

// StoredEvent is an event read back from the log. Event.UserKey is empty: the log keeps Event.User only.
type StoredEvent struct {
	WorkspaceID  string
	Seq          Seq
	ReceivedAtMS int64
	domain.Event
}

// EventLog is the append-only event log.
type EventLog interface {
	// Append stores the batches durably — it returns only once a crash can no longer lose them — and gives their
	// events increasing Seqs in batch and event order. It returns the watermark after the append.
	Append(ctx context.Context, batches []EventBatch) (Seq, error)
	// StoredUUIDs returns which of uuids are stored in the workspace.
	StoredUUIDs(ctx context.Context, workspaceID string, uuids []string) (map[string]bool, error)
	// UUIDHashes calls fn with UUIDHash(workspace, uuid) of every stored event, in no particular order (the dedup
	// index is seeded from it at start-up).
	UUIDHashes(ctx context.Context, fn func(hashes []uint64) error) error
	// Watermark returns the highest stored Seq (0 for an empty log).
	Watermark(ctx context.Context) (Seq, error)
	// ReadEvents returns up to limit stored events with after < Seq, in Seq order.
	ReadEvents(ctx context.Context, after Seq, limit int) ([]StoredEvent, error)
	// UserEventsNamed calls fn with the stored user events (kind U) of the workspace whose event name or code is one
	// of names, in batches, in no particular order (a goal added to the catalog makes them goal events).
	UserEventsNamed(ctx context.Context, workspaceID string, names []string, fn func([]StoredEvent) error) error
}

// UUIDHash hashes (workspace, event uuid) for deduplication: FNV-1a 64, stable across processes and versions.
// Collisions are harmless — an event whose hash is known is confirmed with StoredUUIDs.
func UUIDHash(ws, uuid string) uint64 {
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

// Credit is one stored conversion credit (SPEC §6): an attribution.Credit of a workspace's goal event by a user.
type Credit struct {
	WorkspaceID string
	User        domain.UserID
	attribution.Credit
}

// GoalRef names one goal event.
type GoalRef struct {
	WorkspaceID string
	UUID        string
}

// CreditUpdate is one step of the credit upkeep, applied atomically.
type CreditUpdate struct {
	// Rebuild lists workspaces whose every credit is removed first.
	Rebuild []string
	// Replace lists goal events whose credits are removed first.
	Replace []GoalRef
	// Credits are then stored.
	Credits []Credit
	// Progress is the log watermark the derived state now reflects (Progress returns it); 0 leaves it unchanged.
	Progress Seq
}

// Credits stores conversion credits and how far their upkeep has read the event log.
type Credits interface {
	// ApplyCredits applies one update durably and atomically.
	ApplyCredits(ctx context.Context, u CreditUpdate) error
	// Progress returns the last Progress applied (0 when none).
	Progress(ctx context.Context) (Seq, error)
}

// Rows is what SendHashes reads: the rows of a query (database/sql's and ClickHouse's both fit).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// SendHashes reads a query's single uint64 column and calls fn with the values in batches of up to 65,536 (a
// backend's UUIDHashes). fn's error is returned as is.
func SendHashes(rows Rows, fn func(hashes []uint64) error) error {
	buf := make([]uint64, 0, 1<<16)
	for rows.Next() {
		var h uint64
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("uuid hashes: %w", err)
		}
		if buf = append(buf, h); len(buf) == cap(buf) {
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("uuid hashes: %w", err)
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}
