package report

import (
	"context"
	"errors"
	"time"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Retention of report files (SPEC §8.10). Downloads refuse expired files from expires_at on (httpapi checks the
// run); the sweep deletes the bytes afterwards. Run metadata is purged separately (store.Reports.PurgeRuns).

// RetentionStore is what SweepExpiredFiles needs from the run store; store.Reports implements it.
type RetentionStore interface {
	ExpiredRuns(ctx context.Context, now time.Time, limit int) ([]store.ReportRun, error)
	MarkRunFileDeleted(ctx context.Context, runID string) error
	RunByFilename(ctx context.Context, workspaceID, filename string) (store.ReportRun, error)
}

// OrphanGrace is how long after its retention a file that no unexpired run claims (a file published by a run
// whose completion was never recorded) is kept before the sweep removes it.
const OrphanGrace = 24 * time.Hour

const sweepBatch = 500

// SweepExpiredFiles deletes the files of expired runs and returns how many files it deleted. It is the body of the
// background retention sweeper (call it at least hourly, SPEC §8.10):
//
//  1. every SUCCESSFUL run with expires_at <= now whose file is not yet marked deleted: its file is deleted — unless
//     the run was superseded, in which case a later run of the same name replaced the bytes and owns them — and
//     the run is marked (MarkRunFileDeleted);
//  2. files older than retention + OrphanGrace that no unexpired run claims are deleted;
//  3. temporary files left by interrupted writes are removed (when the blob store is a blob.Dir).
func SweepExpiredFiles(ctx context.Context, runs RetentionStore, files blob.Store, now time.Time, retention time.Duration) (int, error) {
	deleted := 0
	var errs []error
	for {
		batch, err := runs.ExpiredRuns(ctx, now, sweepBatch)
		if err != nil {
			return deleted, errors.Join(append(errs, err)...)
		}
		progress := 0
		for _, run := range batch {
			if err := ctx.Err(); err != nil {
				return deleted, err
			}
			owner := !run.Superseded
			if owner {
				// Never delete bytes a newer run of the same name published.
				cur, err := runs.RunByFilename(ctx, run.WorkspaceID, run.Filename)
				switch {
				case err == nil:
					owner = cur.ID == run.ID
				case !errors.Is(err, domain.ErrNotFound):
					errs = append(errs, err)
					continue
				}
			}
			if owner && run.Filename != "" {
				switch err := files.Delete(ctx, run.WorkspaceID, run.Filename); {
				case err == nil:
					deleted++
				case errors.Is(err, blob.ErrNotFound):
				default:
					errs = append(errs, err)
					continue
				}
			}
			if err := runs.MarkRunFileDeleted(ctx, run.ID); err != nil {
				errs = append(errs, err)
				continue
			}
			progress++
		}
		if len(batch) < sweepBatch || progress == 0 {
			break
		}
	}
	n, err := sweepOrphans(ctx, runs, files, now.Add(-retention-OrphanGrace), now)
	deleted += n
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := files.RemoveStaleTemp(ctx, now.Add(-blob.StaleTempAge)); err != nil {
		errs = append(errs, err)
	}
	return deleted, errors.Join(errs...)
}

// sweepOrphans deletes files last modified before cutoff that no unexpired run claims.
func sweepOrphans(ctx context.Context, runs RetentionStore, files blob.Store, cutoff, now time.Time) (int, error) {
	var old []blob.Info
	if err := files.Walk(ctx, func(i blob.Info) error {
		if i.ModTime.Before(cutoff) {
			old = append(old, i)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, i := range old {
		run, err := runs.RunByFilename(ctx, i.WorkspaceID, i.Name)
		if err == nil && (run.ExpiresAt == nil || now.Before(*run.ExpiresAt)) {
			continue // still served
		}
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return n, err
		}
		if err := files.Delete(ctx, i.WorkspaceID, i.Name); err == nil {
			n++
		} else if !errors.Is(err, blob.ErrNotFound) {
			return n, err
		}
	}
	return n, nil
}
