package httpapi

import (
	"context"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// The server's collaborators, as narrow as the handlers use them. The application wires internal/intake,
// internal/stats, internal/workspace, internal/report and the metadata store in.

// Metadata is what handlers read of the metadata store directly: workspaces (authentication, the admin list),
// the catalog, quarantine, and the runs behind downloaded report files. Writes go through IntakeService.
type Metadata interface {
	// Ping reports whether the store answers and its schema is current (/readyz).
	Ping(ctx context.Context) error
	Workspace(ctx context.Context, id string) (domain.Workspace, error)
	ListWorkspaces(ctx context.Context, status string) ([]domain.Workspace, error)
	Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error)
	ListQuarantine(ctx context.Context, workspaceID string, f store.QuarantineFilter) (items []store.QuarantineRecord, next string, err error)
	GetQuarantine(ctx context.Context, workspaceID, id string) (store.QuarantineRecord, error)
	DeleteQuarantine(ctx context.Context, workspaceID, id string) error
	PurgeQuarantine(ctx context.Context, workspaceID string, before time.Time) (int, error)
	ReportRunFinder
}

// IntakeService is the write path of the ingest, Track-style, catalog and funnel endpoints (internal/intake).
type IntakeService interface {
	Commit(ctx context.Context, req intake.Request) (intake.Result, error)
	AdmitCampaigns(ctx context.Context, ws string, ids []string) (refused map[string]bool, err error)
	CampaignLimit() int
	UpdateCatalog(ctx context.Context, ws string, update func([]domain.Campaign) ([]domain.Campaign, error)) error
	PutFunnel(ctx context.Context, ws string, entries []store.FunnelEntry) error
	PutProfiles(ctx context.Context, ws string, ps []store.Profile, idem *store.IdempotentResponse) error
	// Idempotency-Key handling (SPEC §3.10).
	StoredResponse(ctx context.Context, ws, endpoint, key string, now time.Time) (store.IdempotentResponse, bool, error)
	ClaimKey(ws, endpoint, key string) (release func(), ok bool)
	SaveResponse(ctx context.Context, ws string, r store.IdempotentResponse) error
}

// StatsEngine answers the Stats API (internal/stats).
type StatsEngine interface {
	Stats(ctx context.Context, q stats.Query) (*stats.Result, error)
	StatsDaily(ctx context.Context, q stats.Query) (*stats.DailyResult, error)
}

// WorkspaceAdmin changes workspaces for the admin API (internal/workspace).
type WorkspaceAdmin interface {
	Create(ctx context.Context, req workspace.CreateRequest) (domain.Workspace, error)
	Update(ctx context.Context, id string, name *string, rateLimit *int) (domain.Workspace, error)
	SetActive(ctx context.Context, id string, active bool) (domain.Workspace, error)
	Rotate(ctx context.Context, id string, keys []string) (domain.Workspace, error)
}

// ReportService manages report definitions and runs (internal/report).
type ReportService interface {
	Create(ctx context.Context, ws domain.Workspace, def report.Definition) (report.Report, error)
	Update(ctx context.Context, ws domain.Workspace, id string, def report.Definition) (report.Report, error)
	Delete(ctx context.Context, ws domain.Workspace, id string) error
	Get(ctx context.Context, ws domain.Workspace, id string) (report.Report, error)
	List(ctx context.Context, ws domain.Workspace) ([]report.Report, error)
	RunNow(ctx context.Context, ws domain.Workspace, id string) (report.Run, error)
	Runs(ctx context.Context, ws domain.Workspace, id string, limit int) ([]report.Run, error)
}

var (
	_ IntakeService  = (*intake.Service)(nil)
	_ StatsEngine    = (*stats.Engine)(nil)
	_ WorkspaceAdmin = (*workspace.Service)(nil)
	_ ReportService  = (*report.Service)(nil)
	_ Metadata       = store.MetaStore(nil)
)
