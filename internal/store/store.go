// Package store declares the storage contract of campaignstats. Backends (store/duckdb, later store/clickhouse)
// implement it; store/storetest is the conformance suite every backend runs. No engine type leaks through it.
package store

import (
	"context"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// Store is everything the service needs from persistence.
type Store interface {
	Workspaces
	Ingester
	Catalog
	Funnel
	Aggregator
	Quarantine
	Idempotency
	Profiles
	Reports
	Snapshotter
	// Ping reports whether the store answers and its schema is current.
	Ping(ctx context.Context) error
	Close() error
}

// Workspaces persists workspaces and their keys.
type Workspaces interface {
	// CreateWorkspace stores a new workspace; domain.ErrAlreadyExists when the id is taken.
	CreateWorkspace(ctx context.Context, ws domain.Workspace) error
	// Workspace returns one workspace with its keys; domain.ErrNotFound when unknown.
	Workspace(ctx context.Context, id string) (domain.Workspace, error)
	// ListWorkspaces returns workspaces ordered by creation time; status "" means all.
	ListWorkspaces(ctx context.Context, status string) ([]domain.Workspace, error)
	// UpdateWorkspace replaces the mutable fields (name, status, rate limit, disabled_at, keys).
	UpdateWorkspace(ctx context.Context, ws domain.Workspace) error
}

// Batch is everything one ingest request writes, committed atomically and durably by Append.
type Batch struct {
	WorkspaceID string
	ReceivedAt  time.Time
	// Events are the validated events in input order. Append decides which are duplicates: an event whose uuid is
	// already stored in the workspace, or appeared earlier in Events, is not stored (the first copy wins).
	Events     []domain.Event
	Quarantine []QuarantineRecord
	// Idempotency, when set, is stored in the same transaction (SPEC §3.10): the response and the events it
	// acknowledged become durable together.
	Idempotency *IdempotentResponse
}

// AppendResult says, per Batch.Events element, whether it was a duplicate.
type AppendResult struct {
	Duplicate []bool
}

// Ingester appends events.
type Ingester interface {
	// Append stores the batch in one transaction: non-duplicate events, quarantine records and the catalog changes
	// inferred from the stored campaign events (SPEC §3.14, via domain.InferCampaigns). It returns only after the
	// commit is durable. Concurrent Appends never store two copies of one uuid.
	Append(ctx context.Context, b Batch) (AppendResult, error)
}

// Catalog persists campaigns.
type Catalog interface {
	// Campaigns returns every campaign of the workspace.
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
	// PutCampaigns inserts or replaces whole campaign records atomically.
	PutCampaigns(ctx context.Context, workspaceID string, cs []domain.Campaign) error
}

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

// AggregateUnit is a campaign whose events count for a target, with its effective channel: the channel decides
// which of its events feed counters and how their platforms resolve (SPEC §4.1, §4.4).
type AggregateUnit struct {
	ID      string
	Channel domain.Channel
}

// AggregateTarget is one reported campaign and its units (itself and, for a parent, its children).
type AggregateTarget struct {
	ID    string
	Units []AggregateUnit
}

// AggregateQuery asks for counter metrics of several reported campaigns over [FromMS, ToMS).
type AggregateQuery struct {
	WorkspaceID  string
	FromMS, ToMS int64
	Unique       bool
	Targets      []AggregateTarget
	// Days, when set, splits every node by the local calendar day of its events in this location: each row's Day
	// is that date as days since 1970-01-01 (see DayNumber), and UNIQUE values are distinct per day. When nil
	// every row has Day 0 and covers the whole range.
	Days *time.Location
	// Metrics, when not empty, asks only for these counter metrics (no failure-breakdown keys): rows of other
	// metrics may be left out, which lets the store read only the events that feed the asked ones.
	Metrics []string
	// Shapes limits the node shapes computed (zero = every shape).
	Shapes NodeShapes
}

// NodeShapes selects which node shapes a node query computes. A node is a (platform, locale, variation) where
// each dimension is either a specific key or the aggregate over all keys (AllPlatforms, AllLocales,
// AllVariations). The zero value computes every node, as the Stats API needs; reports without a platform,
// locale or variation split only need the aggregate keys of that dimension, which is much cheaper.
//
// Whatever the shapes, the nodes of every specific variation over all platforms and all locales are computed:
// their control-group nodes are the campaign-wide control groups that uplift compares with (SPEC §5.12).
type NodeShapes struct {
	// OnlyAllPlatforms leaves out the nodes of specific platforms: every row has AllPlatforms.
	OnlyAllPlatforms bool
	// OnlyAllLocales leaves out the nodes of specific locales: every row has AllLocales.
	OnlyAllLocales bool
	// OnlyAllVariations leaves out the nodes of specific variations (but see above).
	OnlyAllVariations bool
}

// DayNumber returns the days since 1970-01-01 of the calendar date y-m-d (the Day of rows split by day).
func DayNumber(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayDate returns the calendar date (YYYY-MM-DD) of a day number.
func DayDate(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly)
}

// NodeRef addresses one node of a target on one day. AllPlatforms / AllLocales / AllVariations mark the aggregate
// keys of each dimension; Platform, Locale and Variation are the specific keys otherwise ("" for events without
// a locale or variation, which count only in the aggregate keys). Platform is the stored platform of the events
// (domain.ResolvePlatform: a device platform, or the channel name for channels that have no device platforms).
type NodeRef struct {
	Target        string
	Day           int32
	AllPlatforms  bool
	Platform      string
	AllLocales    bool
	Locale        string
	AllVariations bool
	Variation     string
}

// AggregateRow is one metric value in one node. Metric is a domain.CounterMetricSets name or
// domain.FailurePrefix+key (failure-breakdown keys of failed-to-send and delivery-failure events). Only events
// that feed a counter of their unit's channel produce rows (SPEC §12.3); there is at most one row per (node,
// metric), and metrics without a row are zero. Held-out metrics are reported under AllVariations too: such rows
// only say that the node exists (held-out users never count in all_variations, SPEC §5.8).
type AggregateRow struct {
	NodeRef
	Metric string
	Value  int64
}

// ConversionQuery asks for conversion credits of several reported campaigns over [FromMS, ToMS) under one
// attribution type (control-group credits count under every type).
type ConversionQuery struct {
	WorkspaceID  string
	FromMS, ToMS int64
	Type         attribution.Type
	Targets      []AggregateTarget
	// Days splits the rows by the local calendar day of the goal event, as in AggregateQuery.
	Days *time.Location
	// Shapes limits the node shapes computed, as in AggregateQuery.
	Shapes NodeShapes
}

// ConversionRow is one goal's numbers in one node, for one group (regular credits, or one control group). Each
// goal event counts once per node (SPEC §12.1): Total is the number of distinct credited goal events, Unique the
// number of distinct users, RevenueMicros the revenue of those events. Control-group credits are reported under
// AllVariations too, where they only say that the node exists.
type ConversionRow struct {
	NodeRef
	Group         attribution.Group
	Goal          string
	Total         int64
	Unique        int64
	RevenueMicros int64
}

// Aggregator answers the metric engine's queries.
type Aggregator interface {
	// ActiveCampaigns returns the ids of campaigns with at least one campaign event in [fromMS, toMS), or a credit
	// under attribution type t (control-group credits included) for a goal event in that range.
	ActiveCampaigns(ctx context.Context, workspaceID string, fromMS, toMS int64, t attribution.Type) ([]string, error)
	// Conversions returns the conversion rows of every target's nodes (NodeShapes). A goal event credited on
	// several platforms, locales or units of a target counts once in each node that aggregates them.
	Conversions(ctx context.Context, q ConversionQuery) ([]ConversionRow, error)
	// Aggregate computes the metrics of every target at every node (NodeShapes). UNIQUE values are distinct user
	// counts over the node: across platforms in AllPlatforms nodes, across locales in AllLocales nodes, and so on.
	Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error)
}

// Reader is what the metric engine reads: the catalog, posted funnel stages and the node queries.
type Reader interface {
	Aggregator
	// Campaigns returns every campaign of the workspace.
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
	// FunnelEntries returns the entries of the campaigns with fromDate <= Date <= toDate.
	FunnelEntries(ctx context.Context, workspaceID string, campaignIDs []string, fromDate, toDate string) ([]FunnelEntry, error)
}

// Snapshot is a read-only view of the store as it was when the snapshot was opened (SPEC §8.4: a report run reads
// a consistent snapshot): events, credits, catalog changes and funnel posts committed later are not visible
// through it, and every query sees the same data. Close releases it.
type Snapshot interface {
	Reader
	Close() error
}

// Snapshotter opens snapshots.
type Snapshotter interface {
	// Snapshot opens a snapshot of the store's data as of now.
	Snapshot(ctx context.Context) (Snapshot, error)
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
	// PutIdempotentResponse stores a response that acknowledged no events (replacing an expired one).
	PutIdempotentResponse(ctx context.Context, workspaceID string, r IdempotentResponse) error
	// PurgeIdempotency deletes responses created before t.
	PurgeIdempotency(ctx context.Context, before time.Time) (int, error)
}
