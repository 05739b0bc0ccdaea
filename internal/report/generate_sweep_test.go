package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// fakeRetention is an in-memory RetentionStore following store.Reports' documented behaviour.
type fakeRetention struct{ runs []store.ReportRun }

func (f *fakeRetention) ExpiredRuns(_ context.Context, now time.Time, limit int) ([]store.ReportRun, error) {
	var out []store.ReportRun
	for _, r := range f.runs {
		if r.Status == store.RunSuccessful && r.ExpiresAt != nil && !r.ExpiresAt.After(now) && !r.FileDeleted {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExpiresAt.Before(*out[j].ExpiresAt) })
	return out[:min(limit, len(out))], nil
}

func (f *fakeRetention) MarkRunFileDeleted(_ context.Context, id string) error {
	for i := range f.runs {
		if f.runs[i].ID == id {
			f.runs[i].FileDeleted = true
			return nil
		}
	}
	return domain.ErrNotFound
}

func (f *fakeRetention) RunByFilename(_ context.Context, ws, name string) (store.ReportRun, error) {
	var best *store.ReportRun
	for i := range f.runs {
		r := &f.runs[i]
		if r.WorkspaceID == ws && r.Filename == name && r.Status == store.RunSuccessful && !r.Superseded &&
			(best == nil || r.CreatedAt.After(best.CreatedAt)) {
			best = r
		}
	}
	if best == nil {
		return store.ReportRun{}, fmt.Errorf("run: %w", domain.ErrNotFound)
	}
	return *best, nil
}

func TestSweepExpiredFiles(t *testing.T) {
	const ws = "abcdefabcdefabcdefabcdef"
	dir, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	now := time.Now().Truncate(time.Second)
	put := func(name string, age time.Duration) {
		if _, err := dir.Put(context.Background(), ws, name, func(w io.Writer) error { _, err := io.WriteString(w, name); return err }); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-age)
		os.Chtimes(filepath.Join(dir.Path(), ws, name), mt, mt)
	}
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	retention := 7 * 24 * time.Hour
	put("Expired_20250301.zip", 8*24*time.Hour)
	put("Fresh_20250310.zip", time.Hour)
	put("Same_20250305.zip", time.Hour) // replaced today by a later run; the superseded earlier run expired
	put("Orphan_20250101.zip", 10*24*time.Hour)
	put("OrphanYoung_20250308.zip", 2*24*time.Hour)
	put("Gone_20250302.zip", 8*24*time.Hour)
	dir.Delete(context.Background(), ws, "Gone_20250302.zip") // already deleted by hand
	st := &fakeRetention{runs: []store.ReportRun{
		{ID: "r1", WorkspaceID: ws, Status: store.RunSuccessful, Filename: "Expired_20250301.zip", ExpiresAt: at(-time.Hour), CreatedAt: now.Add(-8 * 24 * time.Hour)},
		{ID: "r2", WorkspaceID: ws, Status: store.RunSuccessful, Filename: "Fresh_20250310.zip", ExpiresAt: at(6 * 24 * time.Hour), CreatedAt: now},
		{ID: "r3", WorkspaceID: ws, Status: store.RunSuccessful, Filename: "Same_20250305.zip", ExpiresAt: at(0), Superseded: true, CreatedAt: now.Add(-time.Hour)},
		{ID: "r4", WorkspaceID: ws, Status: store.RunSuccessful, Filename: "Same_20250305.zip", ExpiresAt: at(retention), CreatedAt: now},
		{ID: "r5", WorkspaceID: ws, Status: store.RunSuccessful, Filename: "Gone_20250302.zip", ExpiresAt: at(-2 * time.Hour), CreatedAt: now.Add(-9 * 24 * time.Hour)},
		{ID: "r6", WorkspaceID: ws, Status: store.RunFailed, Error: "boom", CreatedAt: now},
	}}
	n, err := SweepExpiredFiles(context.Background(), st, dir, now, retention)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d files, want 2 (the expired one and the old orphan)", n)
	}
	exists := func(name string) bool {
		o, err := dir.Open(context.Background(), ws, name)
		if errors.Is(err, blob.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		o.Close()
		return true
	}
	for name, want := range map[string]bool{"Expired_20250301.zip": false, "Fresh_20250310.zip": true, "Same_20250305.zip": true,
		"Orphan_20250101.zip": false, "OrphanYoung_20250308.zip": true} {
		if got := exists(name); got != want {
			t.Errorf("%s exists = %t, want %t", name, got, want)
		}
	}
	for _, r := range st.runs {
		want := r.ID == "r1" || r.ID == "r3" || r.ID == "r5"
		if r.FileDeleted != want {
			t.Errorf("run %s FileDeleted = %t, want %t", r.ID, r.FileDeleted, want)
		}
	}
	// A second sweep has nothing left to do.
	if n, err := SweepExpiredFiles(context.Background(), st, dir, now, retention); n != 0 || err != nil {
		t.Errorf("second sweep: %d, %v", n, err)
	}
}
