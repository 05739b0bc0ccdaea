package store

import (
	"context"
	"time"
)

// FunnelEntry is one posted funnel stage value (SPEC §3.13). Empty Locale/Variation mean "absent".
type FunnelEntry struct {
	CampaignID string
	Date       string // YYYY-MM-DD in the workspace timezone
	Platform   string
	Locale     string
	Variation  string
	Stage      string
	Value      int64
}

// Funnel persists posted funnel stages.
type Funnel interface {
	// PutFunnel sets (not adds) the entries atomically.
	PutFunnel(ctx context.Context, workspaceID string, entries []FunnelEntry) error
	// FunnelEntries returns the entries of the campaigns with fromDate <= Date <= toDate.
	FunnelEntries(ctx context.Context, workspaceID string, campaignIDs []string, fromDate, toDate string) ([]FunnelEntry, error)
}

// QuarantineRecord is one rejected event (SPEC §3.5).
type QuarantineRecord struct {
	ID               string
	WorkspaceID      string
	ReceivedAt       time.Time
	RequestID        string
	Endpoint         string
	Index            int
	EventUUID        string
	Reason           string
	Payload          []byte
	PayloadTruncated bool
}

// QuarantineFilter selects quarantine records, newest first.
type QuarantineFilter struct {
	Since, Until time.Time // zero = unbounded; Since inclusive, Until exclusive
	Reason       string    // substring
	Limit        int
	// Cursor continues a listing: records strictly older than it (opaque to callers, produced by the store).
	Cursor string
}

// Quarantine persists rejected events.
type Quarantine interface {
	// AddQuarantine stores records durably.
	AddQuarantine(ctx context.Context, records []QuarantineRecord) error
	ListQuarantine(ctx context.Context, workspaceID string, f QuarantineFilter) (items []QuarantineRecord, next string, err error)
	GetQuarantine(ctx context.Context, workspaceID, id string) (QuarantineRecord, error)
	DeleteQuarantine(ctx context.Context, workspaceID, id string) error
	// PurgeQuarantine deletes records received before t (all workspaces when workspaceID is "").
	PurgeQuarantine(ctx context.Context, workspaceID string, before time.Time) (int, error)
	CountQuarantine(ctx context.Context) (int64, error)
}

// IdempotentResponse is the stored first response of a request carrying an Idempotency-Key (SPEC §3.10).
type IdempotentResponse struct {
	Endpoint  string
	Key       string
	Status    int
	Body      []byte
	RequestID string
	CreatedAt time.Time
}

// Idempotency persists Idempotency-Key responses in the shared store.
type Idempotency interface {
	// IdempotentResponse returns the response stored for (workspace, endpoint, key) at or after since.
	IdempotentResponse(ctx context.Context, workspaceID, endpoint, key string, since time.Time) (IdempotentResponse, bool, error)
	// PutIdempotentResponse stores a response (replacing an expired one).
	PutIdempotentResponse(ctx context.Context, workspaceID string, r IdempotentResponse) error
	// PurgeIdempotency deletes responses created before t.
	PurgeIdempotency(ctx context.Context, before time.Time) (int, error)
}
