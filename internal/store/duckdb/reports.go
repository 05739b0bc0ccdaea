package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report definitions and runs (SPEC §8). Every write holds writeMu, and every multi-statement write runs in one
// transaction, so claims are exact within the process; the claim statements are also written as compare-and-set
// updates (WHERE <still claimable>, WHERE next_run_at = <the value read>) so that they stay correct on a store
// shared by several processes.

type scanner interface{ Scan(...any) error }

func scanReport(sc scanner) (store.Report, error) { return store.ScanReport(sc.Scan) }

func scanRun(sc scanner) (store.ReportRun, error) { return store.ScanRun(sc.Scan) }

func scanRuns(rows *sql.Rows) ([]store.ReportRun, error) {
	defer rows.Close()
	out := []store.ReportRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// execer is a *sql.Tx or *sql.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func insertRun(ctx context.Context, ex execer, r store.ReportRun) error {
	webhook := r.WebhookStatus
	if webhook == "" {
		webhook = store.WebhookNone
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO report_runs (seq, `+store.RunColumns+`)
		VALUES (nextval('report_run_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.WorkspaceID, r.ReportID, store.RunQueued, r.Trigger, nullableMS(r.ScheduledFor), r.CreatedAt.UnixMilli(),
		nil, nil, r.RangeStart, r.RangeEnd, "", int64(0), "", int64(0), nil, false, "", webhook, "", "", false)
	if err != nil {
		return fmt.Errorf("insert report run: %w", err)
	}
	return nil
}

// stemTaken reports whether a non-deleted report of the workspace other than exceptID uses stem.
func stemTaken(ctx context.Context, ex execer, ws, stem, exceptID string) (bool, error) {
	var n int
	if err := ex.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE ws = ? AND stem = ? AND NOT deleted AND id <> ?`,
		ws, stem, exceptID).Scan(&n); err != nil {
		return false, fmt.Errorf("check report name: %w", err)
	}
	return n > 0, nil
}

// CreateReport stores a new report.
func (s *Store) CreateReport(ctx context.Context, r store.Report) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	taken, err := stemTaken(ctx, s.db, r.WorkspaceID, r.Stem, r.ID)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("report name %q: %w", r.Name, domain.ErrConflict)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE ws = ? AND NOT deleted`, r.WorkspaceID).Scan(&n); err != nil {
		return fmt.Errorf("count reports: %w", err)
	}
	if n >= store.MaxReportsPerWorkspace {
		return fmt.Errorf("workspace %s: %w", r.WorkspaceID, store.ErrTooManyReports)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO reports (`+store.ReportColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, false)`,
		r.ID, r.WorkspaceID, r.Name, r.Stem, string(r.Definition), nullableMS(r.NextRunAt), r.CreatedAt.UnixMilli(), r.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	return nil
}

// UpdateReport replaces a report's definition.
func (s *Store) UpdateReport(ctx context.Context, r store.Report) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	taken, err := stemTaken(ctx, s.db, r.WorkspaceID, r.Stem, r.ID)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("report name %q: %w", r.Name, domain.ErrConflict)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE reports SET name = ?, stem = ?, definition = ?, next_run_at = ?, updated_at = ?
		WHERE ws = ? AND id = ? AND NOT deleted`,
		r.Name, r.Stem, string(r.Definition), nullableMS(r.NextRunAt), r.UpdatedAt.UnixMilli(), r.WorkspaceID, r.ID)
	if err != nil {
		return fmt.Errorf("update report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("report %s: %w", r.ID, domain.ErrNotFound)
	}
	return nil
}

// DeleteReport marks a report deleted and fails its queued runs.
func (s *Store) DeleteReport(ctx context.Context, ws, id string, at time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete report: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE reports SET deleted = true, next_run_at = NULL, updated_at = ? WHERE ws = ? AND id = ? AND NOT deleted`,
		at.UnixMilli(), ws, id)
	if err != nil {
		return fmt.Errorf("delete report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("report %s: %w", id, domain.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE report_runs SET status = ?, error = 'report deleted', finished_at = ?
		WHERE report_id = ? AND ws = ? AND status = ?`, store.RunFailed, at.UnixMilli(), id, ws, store.RunQueued); err != nil {
		return fmt.Errorf("fail queued runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete report: %w", err)
	}
	return nil
}

// Report returns one report (deleted ones included).
func (s *Store) Report(ctx context.Context, ws, id string) (store.Report, error) {
	r, err := scanReport(s.db.QueryRowContext(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE ws = ? AND id = ?`, ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("report %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read report: %w", err)
	}
	return r, nil
}

// ListReports returns the non-deleted reports ordered by name.
func (s *Store) ListReports(ctx context.Context, ws string) ([]store.Report, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE ws = ? AND NOT deleted ORDER BY lower(name), name, id`, ws)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	out := []store.Report{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("list reports: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRun stores a manual run unless one is queued or running.
func (s *Store) CreateRun(ctx context.Context, run store.ReportRun) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	defer tx.Rollback()
	var deleted bool
	err = tx.QueryRowContext(ctx, `SELECT deleted FROM reports WHERE ws = ? AND id = ?`, run.WorkspaceID, run.ReportID).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted) {
		return fmt.Errorf("report %s: %w", run.ReportID, domain.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM report_runs WHERE report_id = ? AND ws = ? AND status IN (?, ?)`,
		run.ReportID, run.WorkspaceID, store.RunQueued, store.RunRunning).Scan(&n); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("report %s has a run in progress: %w", run.ReportID, domain.ErrConflict)
	}
	if err := insertRun(ctx, tx, run); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

// ReportRun returns one run.
func (s *Store) ReportRun(ctx context.Context, id string) (store.ReportRun, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+store.RunColumns+` FROM report_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read run: %w", err)
	}
	return r, nil
}

// ListRuns returns a report's runs newest first.
func (s *Store) ListRuns(ctx context.Context, ws, reportID string, limit int) ([]store.ReportRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.RunColumns+` FROM report_runs WHERE ws = ? AND report_id = ?
		ORDER BY created_at DESC, seq DESC LIMIT ?`, ws, reportID, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// LatestRuns returns the newest run of each report of the workspace.
func (s *Store) LatestRuns(ctx context.Context, ws string) (map[string]store.ReportRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.RunColumns+` FROM report_runs WHERE ws = ?
		QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY created_at DESC, seq DESC) = 1`, ws)
	if err != nil {
		return nil, fmt.Errorf("latest runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("latest runs: %w", err)
	}
	out := make(map[string]store.ReportRun, len(runs))
	for _, r := range runs {
		out[r.ReportID] = r
	}
	return out, nil
}

// CountQueuedRuns counts QUEUED runs.
func (s *Store) CountQueuedRuns(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM report_runs WHERE status = ?`, store.RunQueued).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued runs: %w", err)
	}
	return n, nil
}

// ClaimDueSchedules claims every due schedule in one transaction.
func (s *Store) ClaimDueSchedules(ctx context.Context, now time.Time, plan store.SchedulePlanner) ([]store.ReportRun, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+store.ReportColumns+` FROM reports WHERE NOT deleted AND next_run_at IS NOT NULL AND next_run_at <= ?
		ORDER BY next_run_at, id`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	var due []store.Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim schedules: %w", err)
		}
		due = append(due, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	created := []store.ReportRun{}
	var planErrs []error
	for _, r := range due {
		p, err := plan(ctx, r, now)
		if err != nil {
			planErrs = append(planErrs, fmt.Errorf("report %s: %w", r.ID, err))
			continue
		}
		// Compare-and-set on the value read: a concurrent claimer that got there first makes this a no-op.
		res, err := tx.ExecContext(ctx, `UPDATE reports SET next_run_at = ? WHERE id = ? AND NOT deleted AND next_run_at = ?`,
			nullableMS(p.NextRunAt), r.ID, r.NextRunAt.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("claim schedule of report %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 || p.Run == nil {
			continue
		}
		run := *p.Run
		run.ReportID, run.WorkspaceID, run.Trigger = r.ID, r.WorkspaceID, store.TriggerSchedule
		if run.ScheduledFor == nil {
			run.ScheduledFor = r.NextRunAt
		}
		if err := insertRun(ctx, tx, run); err != nil {
			return nil, err
		}
		run.Status = store.RunQueued
		if run.WebhookStatus == "" {
			run.WebhookStatus = store.WebhookNone
		}
		created = append(created, run)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	return created, errors.Join(planErrs...)
}

// claimableRun is the condition of a run ClaimRun may take: QUEUED, or RUNNING with a lease that expired before the
// claim's time (the one parameter).
const claimableRun = `(status = 'QUEUED' OR (status = 'RUNNING' AND lease_until IS NOT NULL AND lease_until < ?))`

// leaseMS is the stored form of a lease expiry: NULL for none.
func leaseMS(until time.Time) any {
	if until.IsZero() {
		return nil
	}
	return until.UnixMilli()
}

// ClaimRun moves the oldest claimable run (QUEUED, or RUNNING with an expired lease) to RUNNING.
func (s *Store) ClaimRun(ctx context.Context, c store.RunClaim) (store.ReportRun, bool, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	at := c.At.UnixMilli()
	r, err := scanRun(s.db.QueryRowContext(ctx, `UPDATE report_runs SET status = ?, started_at = ?, claimed_by = ?, claim_token = ?,
		lease_until = ?
		WHERE `+claimableRun+` AND id = (SELECT id FROM report_runs WHERE `+claimableRun+` ORDER BY created_at, seq LIMIT 1)
		RETURNING `+store.RunColumns,
		store.RunRunning, at, c.Owner, c.Token, leaseMS(c.LeaseUntil), at, at))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("claim run: %w", err)
	}
	return r, true, nil
}

// FinishRun ends a running run.
func (s *Store) FinishRun(ctx context.Context, o store.RunOutcome) (store.ReportRun, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if o.Status != store.RunSuccessful && o.Status != store.RunFailed {
		return store.ReportRun{}, fmt.Errorf("finish run: invalid status %q", o.Status)
	}
	webhook := o.WebhookStatus
	if webhook == "" {
		webhook = store.WebhookNone
	}
	var expires any
	filename, size, sum, rowCount := "", int64(0), "", int64(0)
	errText := o.Error
	if o.Status == store.RunSuccessful {
		expires, filename, size, sum, rowCount, errText = o.ExpiresAt.UnixMilli(), o.Filename, o.Size, o.SHA256, o.Rows, ""
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.ReportRun{}, fmt.Errorf("finish run: %w", err)
	}
	defer tx.Rollback()
	r, err := scanRun(tx.QueryRowContext(ctx, `UPDATE report_runs SET status = ?, finished_at = ?, filename = ?, file_size = ?,
		sha256 = ?, row_count = ?, expires_at = ?, error = ?, webhook_status = ?, claimed_by = '', claim_token = '',
		lease_until = NULL WHERE id = ? AND status = ? AND claim_token = ? RETURNING `+store.RunColumns,
		o.Status, o.FinishedAt.UnixMilli(), filename, size, sum, rowCount, expires, errText, webhook,
		o.RunID, store.RunRunning, o.ClaimToken))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ReportRun(ctx, o.RunID); gerr != nil {
			return store.ReportRun{}, gerr
		}
		return store.ReportRun{}, fmt.Errorf("run %s is not held by this claim: %w", o.RunID, domain.ErrConflict)
	}
	if err != nil {
		return store.ReportRun{}, fmt.Errorf("finish run: %w", err)
	}
	if o.Status == store.RunSuccessful {
		if _, err := tx.ExecContext(ctx, `UPDATE report_runs SET superseded = true
			WHERE ws = ? AND filename = ? AND status = ? AND id <> ? AND NOT superseded`,
			r.WorkspaceID, r.Filename, store.RunSuccessful, r.ID); err != nil {
			return store.ReportRun{}, fmt.Errorf("supersede runs: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return store.ReportRun{}, fmt.Errorf("finish run: %w", err)
	}
	return r, nil
}

// RenewRun extends the lease of a run held by token.
func (s *Store) RenewRun(ctx context.Context, runID, token string, until time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE report_runs SET lease_until = ? WHERE id = ? AND status = ? AND claim_token = ?`,
		leaseMS(until), runID, store.RunRunning, token)
	if err != nil {
		return fmt.Errorf("renew run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.ReportRun(ctx, runID); err != nil {
			return err
		}
		return fmt.Errorf("run %s is not held by this claim: %w", runID, domain.ErrConflict)
	}
	return nil
}

// RequeueRun returns one held run to QUEUED.
func (s *Store) RequeueRun(ctx context.Context, runID, token string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE report_runs SET status = ?, started_at = NULL, claimed_by = '', claim_token = '', lease_until = NULL
		WHERE id = ? AND status = ? AND claim_token = ?`, store.RunQueued, runID, store.RunRunning, token); err != nil {
		return fmt.Errorf("requeue run: %w", err)
	}
	return nil
}

// RequeueRuns returns running runs (of owner, or all) to QUEUED.
func (s *Store) RequeueRuns(ctx context.Context, owner string) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE report_runs SET status = ?, started_at = NULL, claimed_by = '', claim_token = '', lease_until = NULL
		WHERE status = ? AND (? = '' OR claimed_by = ?)`, store.RunQueued, store.RunRunning, owner, owner)
	if err != nil {
		return 0, fmt.Errorf("requeue runs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetRunWebhookStatus records a run's webhook outcome.
func (s *Store) SetRunWebhookStatus(ctx context.Context, runID, status string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE report_runs SET webhook_status = ? WHERE id = ?`, status, runID)
	if err != nil {
		return fmt.Errorf("set webhook status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %s: %w", runID, domain.ErrNotFound)
	}
	return nil
}

// RunByFilename returns the current run that produced filename.
func (s *Store) RunByFilename(ctx context.Context, ws, filename string) (store.ReportRun, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+store.RunColumns+` FROM report_runs
		WHERE ws = ? AND filename = ? AND status = ? AND NOT superseded ORDER BY finished_at DESC, seq DESC LIMIT 1`,
		ws, filename, store.RunSuccessful))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("report file %s: %w", filename, domain.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read run by filename: %w", err)
	}
	return r, nil
}

// ExpiredRuns returns successful runs whose files expired and were not yet deleted.
func (s *Store) ExpiredRuns(ctx context.Context, now time.Time, limit int) ([]store.ReportRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.RunColumns+` FROM report_runs
		WHERE status = ? AND expires_at <= ? AND NOT file_deleted AND NOT superseded ORDER BY expires_at, seq LIMIT ?`,
		store.RunSuccessful, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("expired runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("expired runs: %w", err)
	}
	return runs, nil
}

// MarkRunFileDeleted records that a run's file is gone.
func (s *Store) MarkRunFileDeleted(ctx context.Context, runID string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE report_runs SET file_deleted = true WHERE id = ?`, runID)
	if err != nil {
		return fmt.Errorf("mark run file deleted: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %s: %w", runID, domain.ErrNotFound)
	}
	return nil
}

// PurgeRuns deletes old run metadata and deleted reports left without runs.
func (s *Store) PurgeRuns(ctx context.Context, before time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge runs: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM report_runs
		WHERE (status = ? AND expires_at < ?) OR (status = ? AND finished_at < ?)`,
		store.RunSuccessful, before.UnixMilli(), store.RunFailed, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge runs: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM reports WHERE deleted AND id NOT IN (SELECT report_id FROM report_runs)`); err != nil {
		return 0, fmt.Errorf("purge deleted reports: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge runs: %w", err)
	}
	return int(n), nil
}
