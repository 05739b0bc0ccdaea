package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report definitions and runs (SPEC §8). Definition writes of a workspace take its reports lock, so the name check
// and the report limit hold across processes (the partial unique index on (ws, stem) backs the former). A schedule
// occurrence is claimed by locking its report row with FOR UPDATE SKIP LOCKED and moving next_run_at in the same
// transaction; a run is claimed by locking its row the same way and updating it in one statement. A locked row is
// skipped by every other claimer, and a row whose claim committed meanwhile no longer matches the condition when it
// is re-read, so each occurrence and each run is claimed exactly once.

// claimableRun is the condition of a run ClaimRun may take: QUEUED, or RUNNING with a lease that expired before the
// claim's time ($1).
const claimableRun = `(status = 'QUEUED' OR (status = 'RUNNING' AND lease_until < $1))`

func scanReport(row pgx.Row) (store.Report, error) { return store.ScanReport(row.Scan) }

func scanRun(row pgx.Row) (store.ReportRun, error) { return store.ScanRun(row.Scan) }

// collectRuns reads every row of rows as runs.
func collectRuns(rows pgx.Rows) ([]store.ReportRun, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ReportRun, error) { return scanRun(row) })
	if out == nil {
		out = []store.ReportRun{}
	}
	return out, err
}

// leaseMS is the stored form of a lease expiry: NULL for none.
func leaseMS(until time.Time) *int64 {
	if until.IsZero() {
		return nil
	}
	return nullableMS(&until)
}

// insertRun stores run as QUEUED.
func insertRun(ctx context.Context, q querier, r store.ReportRun) error {
	webhook := r.WebhookStatus
	if webhook == "" {
		webhook = store.WebhookNone
	}
	_, err := q.Exec(ctx, `INSERT INTO report_runs (`+store.RunColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $9, '', 0, '', 0, NULL, false, '', $10, '', '', false)`,
		r.ID, r.WorkspaceID, r.ReportID, store.RunQueued, r.Trigger, nullableMS(r.ScheduledFor), ms(r.CreatedAt),
		r.RangeStart, r.RangeEnd, webhook)
	if err != nil {
		return fmt.Errorf("insert report run: %w", err)
	}
	return nil
}

// stemTaken reports whether a non-deleted report of the workspace other than exceptID uses stem.
func stemTaken(ctx context.Context, q querier, workspaceID, stem, exceptID string) (bool, error) {
	var taken bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reports WHERE ws = $1 AND stem = $2 AND NOT deleted AND id <> $3)`,
		workspaceID, stem, exceptID).Scan(&taken); err != nil {
		return false, fmt.Errorf("check report name: %w", err)
	}
	return taken, nil
}

// CreateReport stores a new report.
func (s *Store) CreateReport(ctx context.Context, r store.Report) error {
	var outcome error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockWorkspace(ctx, tx, reportsLockClass, r.WorkspaceID); err != nil {
			return err
		}
		taken, err := stemTaken(ctx, tx, r.WorkspaceID, r.Stem, r.ID)
		if err != nil {
			return err
		}
		if taken {
			outcome = fmt.Errorf("report name %q: %w", r.Name, domain.ErrConflict)
			return outcome
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM reports WHERE ws = $1 AND NOT deleted`, r.WorkspaceID).Scan(&n); err != nil {
			return fmt.Errorf("count reports: %w", err)
		}
		if n >= store.MaxReportsPerWorkspace {
			outcome = fmt.Errorf("workspace %s: %w", r.WorkspaceID, store.ErrTooManyReports)
			return outcome
		}
		_, err = tx.Exec(ctx, `INSERT INTO reports (`+store.ReportColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)`,
			r.ID, r.WorkspaceID, r.Name, r.Stem, string(r.Definition), nullableMS(r.NextRunAt), ms(r.CreatedAt), ms(r.UpdatedAt))
		if isUniqueViolation(err) {
			outcome = fmt.Errorf("report %s (%q): %w", r.ID, r.Name, domain.ErrConflict)
			return outcome
		}
		if err != nil {
			return fmt.Errorf("insert report: %w", err)
		}
		return nil
	})
	if outcome != nil {
		return outcome
	}
	if err != nil {
		return fmt.Errorf("postgres: create report: %w", err)
	}
	return nil
}

// UpdateReport replaces name, stem, definition, next_run_at and updated_at of a non-deleted report.
func (s *Store) UpdateReport(ctx context.Context, r store.Report) error {
	var outcome error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockWorkspace(ctx, tx, reportsLockClass, r.WorkspaceID); err != nil {
			return err
		}
		taken, err := stemTaken(ctx, tx, r.WorkspaceID, r.Stem, r.ID)
		if err != nil {
			return err
		}
		if taken {
			outcome = fmt.Errorf("report name %q: %w", r.Name, domain.ErrConflict)
			return outcome
		}
		tag, err := tx.Exec(ctx, `UPDATE reports SET name = $1, stem = $2, definition = $3, next_run_at = $4, updated_at = $5
			WHERE ws = $6 AND id = $7 AND NOT deleted`,
			r.Name, r.Stem, string(r.Definition), nullableMS(r.NextRunAt), ms(r.UpdatedAt), r.WorkspaceID, r.ID)
		if isUniqueViolation(err) {
			outcome = fmt.Errorf("report name %q: %w", r.Name, domain.ErrConflict)
			return outcome
		}
		if err != nil {
			return fmt.Errorf("update report: %w", err)
		}
		if tag.RowsAffected() == 0 {
			outcome = fmt.Errorf("report %s: %w", r.ID, domain.ErrNotFound)
			return outcome
		}
		return nil
	})
	if outcome != nil {
		return outcome
	}
	if err != nil {
		return fmt.Errorf("postgres: update report: %w", err)
	}
	return nil
}

// DeleteReport marks a report deleted, clears its schedule and fails its QUEUED runs.
func (s *Store) DeleteReport(ctx context.Context, workspaceID, id string, at time.Time) error {
	var outcome error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reports SET deleted = true, next_run_at = NULL, updated_at = $1 WHERE ws = $2 AND id = $3 AND NOT deleted`,
			ms(at), workspaceID, id)
		if err != nil {
			return fmt.Errorf("mark deleted: %w", err)
		}
		if tag.RowsAffected() == 0 {
			outcome = fmt.Errorf("report %s: %w", id, domain.ErrNotFound)
			return outcome
		}
		if _, err := tx.Exec(ctx, `UPDATE report_runs SET status = $1, error = 'report deleted', finished_at = $2
			WHERE report_id = $3 AND ws = $4 AND status = $5`, store.RunFailed, ms(at), id, workspaceID, store.RunQueued); err != nil {
			return fmt.Errorf("fail queued runs: %w", err)
		}
		return nil
	})
	if outcome != nil {
		return outcome
	}
	if err != nil {
		return fmt.Errorf("postgres: delete report: %w", err)
	}
	return nil
}

// Report returns one report of the workspace, deleted ones included.
func (s *Store) Report(ctx context.Context, workspaceID, id string) (store.Report, error) {
	r, err := scanReport(s.pool.QueryRow(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE ws = $1 AND id = $2`, workspaceID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("report %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: read report: %w", err)
	}
	return r, nil
}

// ListReports returns the workspace's non-deleted reports ordered by name (ignoring case, then exact).
func (s *Store) ListReports(ctx context.Context, workspaceID string) ([]store.Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE ws = $1 AND NOT deleted ORDER BY lower(name), name, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Report, error) { return scanReport(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list reports: %w", err)
	}
	if out == nil {
		out = []store.Report{}
	}
	return out, nil
}

// CreateRun stores a manual QUEUED run unless the report has a QUEUED or RUNNING run. The report's row is locked
// first, so concurrent CreateRun and schedule claims of one report take turns.
func (s *Store) CreateRun(ctx context.Context, run store.ReportRun) error {
	var outcome error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var deleted bool
		err := tx.QueryRow(ctx, `SELECT deleted FROM reports WHERE ws = $1 AND id = $2 FOR UPDATE`, run.WorkspaceID, run.ReportID).Scan(&deleted)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && deleted) {
			outcome = fmt.Errorf("report %s: %w", run.ReportID, domain.ErrNotFound)
			return outcome
		}
		if err != nil {
			return fmt.Errorf("lock report: %w", err)
		}
		var busy bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM report_runs WHERE report_id = $1 AND ws = $2 AND status IN ($3, $4))`,
			run.ReportID, run.WorkspaceID, store.RunQueued, store.RunRunning).Scan(&busy); err != nil {
			return fmt.Errorf("check runs in progress: %w", err)
		}
		if busy {
			outcome = fmt.Errorf("report %s has a run in progress: %w", run.ReportID, domain.ErrConflict)
			return outcome
		}
		return insertRun(ctx, tx, run)
	})
	if outcome != nil {
		return outcome
	}
	if err != nil {
		return fmt.Errorf("postgres: create run: %w", err)
	}
	return nil
}

// ReportRun returns one run; domain.ErrNotFound when unknown.
func (s *Store) ReportRun(ctx context.Context, id string) (store.ReportRun, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+store.RunColumns+` FROM report_runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: read run: %w", err)
	}
	return r, nil
}

// ListRuns returns a report's runs newest first (creation order), at most limit.
func (s *Store) ListRuns(ctx context.Context, workspaceID, reportID string, limit int) ([]store.ReportRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+store.RunColumns+` FROM report_runs WHERE ws = $1 AND report_id = $2
		ORDER BY created_at DESC, seq DESC LIMIT $3`, workspaceID, reportID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	runs, err := collectRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	return runs, nil
}

// LatestRuns returns the newest run of every report of the workspace that has one, keyed by report id.
func (s *Store) LatestRuns(ctx context.Context, workspaceID string) (map[string]store.ReportRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (report_id) `+store.RunColumns+` FROM report_runs WHERE ws = $1
		ORDER BY report_id, created_at DESC, seq DESC`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("postgres: latest runs: %w", err)
	}
	runs, err := collectRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: latest runs: %w", err)
	}
	out := make(map[string]store.ReportRun, len(runs))
	for _, r := range runs {
		out[r.ReportID] = r
	}
	return out, nil
}

// CountQueuedRuns returns the number of QUEUED runs of every workspace.
func (s *Store) CountQueuedRuns(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM report_runs WHERE status = $1`, store.RunQueued).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count queued runs: %w", err)
	}
	return n, nil
}

// ClaimDueSchedules claims every due report in one transaction: the due rows are locked (FOR UPDATE SKIP LOCKED,
// so a concurrent claimer skips them, and a row whose occurrence a claimer committed meanwhile is re-read and no
// longer due), then each is planned, moved to its next occurrence and given its run. A planner error leaves that
// report due and is returned after the others are claimed.
func (s *Store) ClaimDueSchedules(ctx context.Context, now time.Time, plan store.SchedulePlanner) ([]store.ReportRun, error) {
	var created []store.ReportRun
	var planErrs []error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		created, planErrs = []store.ReportRun{}, nil
		rows, err := tx.Query(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE NOT deleted AND next_run_at <= $1
			ORDER BY next_run_at, id FOR UPDATE SKIP LOCKED`, ms(now))
		if err != nil {
			return fmt.Errorf("lock due reports: %w", err)
		}
		due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Report, error) { return scanReport(row) })
		if err != nil {
			return fmt.Errorf("lock due reports: %w", err)
		}
		for _, r := range due {
			p, err := plan(ctx, r, now)
			if err != nil {
				planErrs = append(planErrs, fmt.Errorf("report %s: %w", r.ID, err))
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE reports SET next_run_at = $1 WHERE id = $2`, nullableMS(p.NextRunAt), r.ID); err != nil {
				return fmt.Errorf("claim schedule of report %s: %w", r.ID, err)
			}
			if p.Run == nil {
				continue
			}
			run := *p.Run
			run.ReportID, run.WorkspaceID, run.Trigger = r.ID, r.WorkspaceID, store.TriggerSchedule
			if run.ScheduledFor == nil {
				run.ScheduledFor = r.NextRunAt
			}
			if err := insertRun(ctx, tx, run); err != nil {
				return err
			}
			run.Status = store.RunQueued
			if run.WebhookStatus == "" {
				run.WebhookStatus = store.WebhookNone
			}
			created = append(created, run)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim schedules: %w", err)
	}
	return created, errors.Join(planErrs...)
}

// ClaimRun moves the oldest claimable run (QUEUED, or RUNNING with an expired lease) to RUNNING. The run's row is
// chosen and locked with FOR UPDATE SKIP LOCKED, so concurrent claimers, in any process, each get a different run.
func (s *Store) ClaimRun(ctx context.Context, c store.RunClaim) (store.ReportRun, bool, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `UPDATE report_runs SET status = 'RUNNING', started_at = $1, claimed_by = $2,
		claim_token = $3, lease_until = $4
		WHERE id = (SELECT id FROM report_runs WHERE `+claimableRun+` ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+store.RunColumns,
		ms(c.At), c.Owner, c.Token, leaseMS(c.LeaseUntil)))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("postgres: claim run: %w", err)
	}
	return r, true, nil
}

// RenewRun extends the lease of a RUNNING run held by claimToken.
func (s *Store) RenewRun(ctx context.Context, runID, claimToken string, until time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE report_runs SET lease_until = $1 WHERE id = $2 AND status = $3 AND claim_token = $4`,
		leaseMS(until), runID, store.RunRunning, claimToken)
	if err != nil {
		return fmt.Errorf("postgres: renew run: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return s.notHeld(ctx, runID)
	}
	return nil
}

// notHeld is the error of a write to a run that is not RUNNING under the token presented: domain.ErrNotFound when
// the run is unknown, domain.ErrConflict otherwise.
func (s *Store) notHeld(ctx context.Context, runID string) error {
	if _, err := s.ReportRun(ctx, runID); err != nil {
		return err
	}
	return fmt.Errorf("run %s is not held by this claim: %w", runID, domain.ErrConflict)
}

// FinishRun ends a RUNNING run held by o.ClaimToken; on success it supersedes the workspace's earlier runs of the
// same file name, in the same transaction.
func (s *Store) FinishRun(ctx context.Context, o store.RunOutcome) (store.ReportRun, error) {
	if o.Status != store.RunSuccessful && o.Status != store.RunFailed {
		return store.ReportRun{}, fmt.Errorf("postgres: finish run: invalid status %q", o.Status)
	}
	webhook := o.WebhookStatus
	if webhook == "" {
		webhook = store.WebhookNone
	}
	var expires *int64
	filename, size, sum, rowCount, errText := "", int64(0), "", int64(0), o.Error
	if o.Status == store.RunSuccessful {
		expires, filename, size, sum, rowCount, errText = nullableMS(&o.ExpiresAt), o.Filename, o.Size, o.SHA256, o.Rows, ""
	}
	var done store.ReportRun
	held := true
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		done, err = scanRun(tx.QueryRow(ctx, `UPDATE report_runs SET status = $1, finished_at = $2, filename = $3, file_size = $4,
			sha256 = $5, row_count = $6, expires_at = $7, error = $8, webhook_status = $9, claimed_by = '', claim_token = '',
			lease_until = NULL
			WHERE id = $10 AND status = $11 AND claim_token = $12 RETURNING `+store.RunColumns,
			o.Status, ms(o.FinishedAt), filename, size, sum, rowCount, expires, errText, webhook, o.RunID, store.RunRunning, o.ClaimToken))
		if errors.Is(err, pgx.ErrNoRows) {
			held = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("update run: %w", err)
		}
		if o.Status == store.RunSuccessful {
			if _, err := tx.Exec(ctx, `UPDATE report_runs SET superseded = true
				WHERE ws = $1 AND filename = $2 AND status = $3 AND id <> $4 AND NOT superseded`,
				done.WorkspaceID, done.Filename, store.RunSuccessful, done.ID); err != nil {
				return fmt.Errorf("supersede runs: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.ReportRun{}, fmt.Errorf("postgres: finish run: %w", err)
	}
	if !held {
		return store.ReportRun{}, s.notHeld(ctx, o.RunID)
	}
	return done, nil
}

// RequeueRun returns a RUNNING run held by claimToken to QUEUED; no error when it is no longer held by that token.
func (s *Store) RequeueRun(ctx context.Context, runID, claimToken string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE report_runs SET status = $1, started_at = NULL, claimed_by = '', claim_token = '', lease_until = NULL
		WHERE id = $2 AND status = $3 AND claim_token = $4`, store.RunQueued, runID, store.RunRunning, claimToken); err != nil {
		return fmt.Errorf("postgres: requeue run: %w", err)
	}
	return nil
}

// RequeueRuns returns RUNNING runs to QUEUED: those claimed by owner, or every one when owner is "".
func (s *Store) RequeueRuns(ctx context.Context, owner string) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE report_runs SET status = $1, started_at = NULL, claimed_by = '', claim_token = '', lease_until = NULL
		WHERE status = $2 AND ($3 = '' OR claimed_by = $3)`, store.RunQueued, store.RunRunning, owner)
	if err != nil {
		return 0, fmt.Errorf("postgres: requeue runs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// SetRunWebhookStatus records the webhook outcome of a run; domain.ErrNotFound when unknown.
func (s *Store) SetRunWebhookStatus(ctx context.Context, runID, status string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE report_runs SET webhook_status = $1 WHERE id = $2`, status, runID)
	if err != nil {
		return fmt.Errorf("postgres: set webhook status: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("run %s: %w", runID, domain.ErrNotFound)
	}
	return nil
}

// RunByFilename returns the latest SUCCESSFUL, non-superseded run of the workspace that produced filename.
func (s *Store) RunByFilename(ctx context.Context, workspaceID, filename string) (store.ReportRun, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+store.RunColumns+` FROM report_runs
		WHERE ws = $1 AND filename = $2 AND status = $3 AND NOT superseded ORDER BY finished_at DESC, seq DESC LIMIT 1`,
		workspaceID, filename, store.RunSuccessful))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("report file %s: %w", filename, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: read run by filename: %w", err)
	}
	return r, nil
}

// ExpiredRuns returns up to limit SUCCESSFUL, non-superseded runs with expires_at <= now whose file is not marked
// deleted, oldest expiry first.
func (s *Store) ExpiredRuns(ctx context.Context, now time.Time, limit int) ([]store.ReportRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+store.RunColumns+` FROM report_runs
		WHERE status = $1 AND expires_at <= $2 AND NOT file_deleted AND NOT superseded ORDER BY expires_at, seq LIMIT $3`,
		store.RunSuccessful, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired runs: %w", err)
	}
	runs, err := collectRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired runs: %w", err)
	}
	return runs, nil
}

// MarkRunFileDeleted records that the run's file was removed; domain.ErrNotFound when unknown.
func (s *Store) MarkRunFileDeleted(ctx context.Context, runID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE report_runs SET file_deleted = true WHERE id = $1`, runID)
	if err != nil {
		return fmt.Errorf("postgres: mark run file deleted: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("run %s: %w", runID, domain.ErrNotFound)
	}
	return nil
}

// PurgeRuns deletes the metadata of runs that expired (SUCCESSFUL) or finished (FAILED) before t, then deleted
// reports left without runs, in one transaction.
func (s *Store) PurgeRuns(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM report_runs WHERE (status = $1 AND expires_at < $2) OR (status = $3 AND finished_at < $2)`,
			store.RunSuccessful, ms(before), store.RunFailed)
		if err != nil {
			return fmt.Errorf("delete runs: %w", err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM reports r WHERE deleted AND NOT EXISTS (SELECT 1 FROM report_runs WHERE report_id = r.id)`); err != nil {
			return fmt.Errorf("delete deleted reports: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: purge runs: %w", err)
	}
	return int(n), nil
}
