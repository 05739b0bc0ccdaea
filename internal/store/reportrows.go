package store

import "time"

// Report and run rows as the SQL backends store them: times as Unix milliseconds (NULL when unset), columns in the
// order of ReportColumns and RunColumns, which ScanReport and ScanRun read.
const (
	ReportColumns = `id, ws, name, stem, definition, next_run_at, created_at, updated_at, deleted`
	RunColumns    = `id, ws, report_id, status, run_trigger, scheduled_for, created_at, started_at, finished_at,
	range_start, range_end, filename, file_size, sha256, row_count, expires_at, superseded, error, webhook_status,
	claimed_by, claim_token, file_deleted`
)

// ScanReport reads a row of ReportColumns with scan (a database/sql or pgx row's Scan).
func ScanReport(scan func(dest ...any) error) (Report, error) {
	var r Report
	var def string
	var next *int64
	var created, updated int64
	if err := scan(&r.ID, &r.WorkspaceID, &r.Name, &r.Stem, &def, &next, &created, &updated, &r.Deleted); err != nil {
		return r, err
	}
	r.Definition, r.NextRunAt = []byte(def), fromNullableMS(next)
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return r, nil
}

// ScanRun reads a row of RunColumns with scan.
func ScanRun(scan func(dest ...any) error) (ReportRun, error) {
	var r ReportRun
	var scheduled, started, finished, expires *int64
	var created int64
	if err := scan(&r.ID, &r.WorkspaceID, &r.ReportID, &r.Status, &r.Trigger, &scheduled, &created, &started, &finished,
		&r.RangeStart, &r.RangeEnd, &r.Filename, &r.Size, &r.SHA256, &r.Rows, &expires, &r.Superseded, &r.Error,
		&r.WebhookStatus, &r.ClaimedBy, &r.ClaimToken, &r.FileDeleted); err != nil {
		return r, err
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.ScheduledFor, r.StartedAt, r.FinishedAt, r.ExpiresAt = fromNullableMS(scheduled), fromNullableMS(started),
		fromNullableMS(finished), fromNullableMS(expires)
	return r, nil
}

func fromNullableMS(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := time.UnixMilli(*v).UTC()
	return &t
}
