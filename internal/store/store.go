// Package store declares the storage contract of campaignstats, in two halves that a deployment may place in
// different systems: a MetaStore (workspaces, the campaign catalog, posted funnel stages, quarantine, idempotency
// keys, profiles, report definitions and runs — small and transactional) and an EventStore (the append-only events
// and the conversion credits derived from them, with the node queries of the metric engine). Backends store and
// query; they decide nothing: deduplication, catalog inference and attribution live above the store (internal/intake
// and internal/derive). store/storetest is the conformance suite of both halves.
package store

import (
	"context"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// MetaStore is the transactional half: everything but the events and credits.
type MetaStore interface {
	Workspaces
	Catalog
	Funnel
	Quarantine
	Idempotency
	Profiles
	Reports
	// Ping reports whether the store answers and its schema is current.
	Ping(ctx context.Context) error
	Close() error
}

// EventStore is the append-only half: events, the credits derived from them, and the metric engine's queries.
type EventStore interface {
	EventLog
	Credits
	Aggregator
	// Ping reports whether the store answers and its schema is current.
	Ping(ctx context.Context) error
	Close() error
}

// Store is a backend that holds both halves (the embedded store).
type Store interface {
	MetaStore
	EventStore
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

// Catalog persists campaigns.
type Catalog interface {
	// Campaigns returns every campaign of the workspace.
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
	// UpdateCampaigns is the catalog's one write: it calls update with every campaign of the workspace and stores
	// the records update returns (inserted or replaced whole), atomically with respect to every other
	// UpdateCampaigns of the workspace, so a read-modify-write (an explicit PUT, inference from events) never loses
	// a concurrent one. An error from update stores nothing and is returned.
	UpdateCampaigns(ctx context.Context, workspaceID string, update func(current []domain.Campaign) ([]domain.Campaign, error)) error
}

// Reader is what the metric engine reads: the catalog and posted funnel stages (MetaStore), the node queries
// (EventStore).
type Reader interface {
	Aggregator
	// Campaigns returns every campaign of the workspace.
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
	// FunnelEntries returns the entries of the campaigns with fromDate <= Date <= toDate.
	FunnelEntries(ctx context.Context, workspaceID string, campaignIDs []string, fromDate, toDate string) ([]FunnelEntry, error)
}

// Snapshot is a read-only view of the stores as of one moment (SPEC §8.4: a report run reads a consistent
// snapshot): events, credits, catalog changes and funnel posts committed later are not visible through it, and every
// query sees the same data. Close releases it.
type Snapshot interface {
	Reader
	Close() error
}

// Snapshotter opens snapshots. It is an explicit, optional capability of a deployment (the embedded store has it);
// without one, report runs read the stores live.
type Snapshotter interface {
	// Snapshot opens a snapshot of the data as of now.
	Snapshot(ctx context.Context) (Snapshot, error)
}
