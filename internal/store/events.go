package store

import (
	"context"
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

// GoalRef names the credits of one goal event that a CreditUpdate replaces: those of one unit, or all of them.
type GoalRef struct {
	WorkspaceID string
	UUID        string
	// Unit limits the replacement to the credits of one unit; "" replaces every credit of the goal event.
	Unit string
}

// CreditUpdate is one step of the credit upkeep, applied atomically.
type CreditUpdate struct {
	// Rebuild lists workspaces whose every credit is removed first.
	Rebuild []string
	// Replace lists goal events (or one unit's credits of a goal event) whose credits are removed first.
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

// Rows is what SendBatches reads: the rows of a query (database/sql's and ClickHouse's both fit).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// SendBatches scans every row of a query with scan and calls fn with the values in batches of up to size, as a
// backend's UUIDHashes and UserEventsNamed hand their results over. fn's error is returned as is.
func SendBatches[T any](rows Rows, size int, scan func(Rows) (T, error), fn func([]T) error) error {
	batch := make([]T, 0, size)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if batch = append(batch, v); len(batch) == size {
			if err := fn(batch); err != nil {
				return err
			}
			batch = make([]T, 0, size) // fn may keep the batch it was given
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// ScanUint64 scans a row of one uint64 column (SendBatches of uuid hashes).
func ScanUint64(rows Rows) (uint64, error) {
	var v uint64
	err := rows.Scan(&v)
	return v, err
}
