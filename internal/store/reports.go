package store

import (
	"context"
	"errors"
	"time"
)

// MaxReportsPerWorkspace is the number of (non-deleted) report definitions a workspace may hold (SPEC §8.1).
const MaxReportsPerWorkspace = 200

// ErrTooManyReports is returned by CreateReport when the workspace already holds MaxReportsPerWorkspace reports.
var ErrTooManyReports = errors.New("too many reports")

// Run statuses (SPEC §8.4).
const (
	RunQueued     = "QUEUED"
	RunRunning    = "RUNNING"
	RunSuccessful = "SUCCESSFUL"
	RunFailed     = "FAILED"
)

// Run triggers (SPEC §8.4).
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Webhook statuses of a run (SPEC §8.4).
const (
	WebhookNone      = "none"
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// Report is a stored report definition (SPEC §8.1, §8.2). The store does not interpret Definition: it is the JSON
// of report.Definition, written and read back byte for byte.
type Report struct {
	ID          string
	WorkspaceID string
	Name        string
	// Stem is the lower-cased file stem (name with spaces replaced by "_"); unique among the workspace's
	// non-deleted reports.
	Stem       string
	Definition []byte
	// NextRunAt is the next scheduled occurrence; nil when the report has no (further) scheduled run.
	NextRunAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// Deleted marks a deleted report. Deleted reports are kept while they have runs (downloads, webhooks of a
	// run that was RUNNING at deletion); they are invisible to ListReports and free their name.
	Deleted bool
}

// ReportRun is one run of a report (SPEC §8.4) plus the bookkeeping of its claim. Optional timestamps are nil
// when unset; Error "" means none; Filename, Size, SHA256, Rows and ExpiresAt are set only on SUCCESSFUL runs.
type ReportRun struct {
	ID            string
	ReportID      string
	WorkspaceID   string
	Status        string // RunQueued, RunRunning, RunSuccessful, RunFailed
	Trigger       string // TriggerSchedule or TriggerManual
	ScheduledFor  *time.Time
	CreatedAt     time.Time
	StartedAt     *time.Time
	FinishedAt    *time.Time
	RangeStart    string // YYYY-MM-DD in the workspace timezone, fixed when the run is created
	RangeEnd      string
	Filename      string
	Size          int64
	SHA256        string
	Rows          int64
	ExpiresAt     *time.Time
	Superseded    bool
	Error         string
	WebhookStatus string // WebhookNone, WebhookPending, WebhookDelivered, WebhookFailed
	// ClaimedBy names the worker owner (one per process) that holds a RUNNING run; ClaimToken is unique per
	// claim and must be presented to finish, renew or re-queue it. Both are "" unless the run is RUNNING. The
	// claim's lease (RunClaim.LeaseUntil, RenewRun) is bookkeeping of the store and not part of the record.
	ClaimedBy  string
	ClaimToken string
	// FileDeleted is set once the retention sweeper removed the run's file (MarkRunFileDeleted).
	FileDeleted bool
}

// SchedulePlan is a planner's answer for one due report.
type SchedulePlan struct {
	// NextRunAt replaces the report's next_run_at (nil: no further scheduled run).
	NextRunAt *time.Time
	// Run, when not nil, is created with the claim: a QUEUED run with trigger TriggerSchedule. Nil consumes the
	// occurrence without a run (e.g. the workspace is disabled).
	Run *ReportRun
}

// SchedulePlanner decides what a due report's occurrence produces. It is called inside ClaimDueSchedules and must
// not write to the store; it may read from it.
type SchedulePlanner func(ctx context.Context, r Report, now time.Time) (SchedulePlan, error)

// RunClaim asks for the oldest claimable run: a QUEUED run, or a RUNNING run whose lease expired before At.
type RunClaim struct {
	Owner string // ReportRun.ClaimedBy
	Token string // ReportRun.ClaimToken, unique per claim
	At    time.Time
	// LeaseUntil is when the claim lapses unless renewed (RenewRun): from then on another ClaimRun may take the run
	// over. Zero means the claim never lapses (a single-node store, whose interrupted runs are re-queued at
	// start-up by RequeueRuns).
	LeaseUntil time.Time
}

// RunOutcome finishes a RUNNING run.
type RunOutcome struct {
	RunID      string
	ClaimToken string
	Status     string // RunSuccessful or RunFailed
	FinishedAt time.Time
	// Set for RunSuccessful.
	Filename  string
	Size      int64
	SHA256    string
	Rows      int64
	ExpiresAt time.Time
	// Error is the reason of a RunFailed run.
	Error         string
	WebhookStatus string
}

// Reports persists report definitions and runs (SPEC §8). Every claim is atomic in the shared store: several
// processes may call ClaimDueSchedules and ClaimRun concurrently and each occurrence / run is claimed once.
type Reports interface {
	// CreateReport stores a new report. domain.ErrConflict when a non-deleted report of the workspace has the
	// same Stem; ErrTooManyReports when the workspace already holds MaxReportsPerWorkspace reports.
	CreateReport(ctx context.Context, r Report) error
	// UpdateReport replaces name, stem, definition, next_run_at and updated_at of a non-deleted report.
	// domain.ErrNotFound when unknown or deleted; domain.ErrConflict on a stem clash with another report.
	UpdateReport(ctx context.Context, r Report) error
	// DeleteReport marks a report deleted and clears its schedule; its QUEUED runs become FAILED with error
	// "report deleted" (finished_at = at); a RUNNING run is left to finish. domain.ErrNotFound when unknown or
	// already deleted.
	DeleteReport(ctx context.Context, workspaceID, id string, at time.Time) error
	// Report returns one report of the workspace, deleted ones included (Deleted set); domain.ErrNotFound when
	// unknown.
	Report(ctx context.Context, workspaceID, id string) (Report, error)
	// ListReports returns the workspace's non-deleted reports ordered by name (ignoring case, then exact).
	ListReports(ctx context.Context, workspaceID string) ([]Report, error)

	// CreateRun stores a new QUEUED run (a manual run). domain.ErrConflict when the report has a QUEUED or
	// RUNNING run; domain.ErrNotFound when the report is unknown or deleted.
	CreateRun(ctx context.Context, run ReportRun) error
	// ReportRun returns one run; domain.ErrNotFound when unknown.
	ReportRun(ctx context.Context, id string) (ReportRun, error)
	// ListRuns returns a report's runs newest first (creation order), at most limit.
	ListRuns(ctx context.Context, workspaceID, reportID string, limit int) ([]ReportRun, error)
	// LatestRuns returns the newest run of every report of the workspace that has one, keyed by report id.
	LatestRuns(ctx context.Context, workspaceID string) (map[string]ReportRun, error)
	// CountQueuedRuns returns the number of QUEUED runs of every workspace.
	CountQueuedRuns(ctx context.Context) (int64, error)

	// ClaimDueSchedules atomically claims every non-deleted report with next_run_at <= now: for each it asks
	// plan, sets next_run_at to plan.NextRunAt and creates plan.Run, all in one transaction per store. A report
	// claimed by a concurrent caller is skipped, so each occurrence yields at most one run; a backlog of missed
	// occurrences yields one run because the planner computes the next occurrence after now. A planner error
	// leaves that report due and is returned (joined) after the other reports were claimed.
	ClaimDueSchedules(ctx context.Context, now time.Time, plan SchedulePlanner) ([]ReportRun, error)
	// ClaimRun moves the oldest claimable run (by creation) to RUNNING, started_at = c.At, claimed by c.Owner with
	// c.Token and leased until c.LeaseUntil. Claimable are QUEUED runs and RUNNING runs whose lease expired before
	// c.At (their holder stopped renewing it: a crashed or stalled node); taking such a run over ends the old
	// claim, so FinishRun and RenewRun with the old token get domain.ErrConflict. ok is false when no run is
	// claimable.
	ClaimRun(ctx context.Context, c RunClaim) (run ReportRun, ok bool, err error)
	// RenewRun extends the lease of a RUNNING run held by claimToken to until (zero: no expiry). It succeeds as long
	// as no other claim took the run over, even after the lease expired. domain.ErrConflict when the run is not
	// RUNNING under that token; domain.ErrNotFound when unknown.
	RenewRun(ctx context.Context, runID, claimToken string, until time.Time) error
	// FinishRun ends a RUNNING run held by o.ClaimToken. On RunSuccessful every other SUCCESSFUL run of the same
	// workspace with the same filename is marked superseded (SPEC §8.5). domain.ErrConflict when the run is not
	// RUNNING under that token (re-queued, finished or taken over meanwhile); domain.ErrNotFound when unknown.
	FinishRun(ctx context.Context, o RunOutcome) (ReportRun, error)
	// RequeueRun returns a RUNNING run held by claimToken to QUEUED (graceful shutdown). No error when the run is
	// no longer held by that token.
	RequeueRun(ctx context.Context, runID, claimToken string) error
	// RequeueRuns returns RUNNING runs to QUEUED: those claimed by owner, or every RUNNING run when owner is ""
	// (start-up of a single-node store). It returns how many were re-queued.
	RequeueRuns(ctx context.Context, owner string) (int, error)
	// SetRunWebhookStatus records the webhook outcome of a run (WebhookPending, WebhookDelivered, WebhookFailed).
	SetRunWebhookStatus(ctx context.Context, runID, status string) error

	// RunByFilename returns the latest SUCCESSFUL, non-superseded run of the workspace that produced filename
	// (expired ones included until purged); domain.ErrNotFound when none.
	RunByFilename(ctx context.Context, workspaceID, filename string) (ReportRun, error)
	// ExpiredRuns returns up to limit SUCCESSFUL, non-superseded runs with expires_at <= now whose file is not
	// marked deleted, oldest expiry first. Superseded runs are left out: their file name now belongs to the later
	// run (files are published by name), so only the current run of a name decides when that file goes.
	ExpiredRuns(ctx context.Context, now time.Time, limit int) ([]ReportRun, error)
	// MarkRunFileDeleted records that the run's file was removed.
	MarkRunFileDeleted(ctx context.Context, runID string) error
	// PurgeRuns deletes the metadata of runs that expired before t (SUCCESSFUL) or finished before t (FAILED),
	// then deleted reports left without runs. It returns the number of runs deleted. Callers pass now − 90 days
	// (SPEC §8.10).
	PurgeRuns(ctx context.Context, before time.Time) (int, error)
}
