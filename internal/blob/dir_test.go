package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openDir(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDirStore(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) Store { return openDir(t, t.TempDir()) }, storeBehaviour{keepsOpenVersion: true})
}

func TestDirLayout(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, filepath.Join(dir, "reports"))
	put(t, d, "Weekly_20250310.zip", "hello")
	if _, err := os.Stat(filepath.Join(dir, "reports", ws, "Weekly_20250310.zip")); err != nil {
		t.Fatalf("file not at <root>/<workspace>/<name>: %v", err)
	}
	// A reader keeps its version when the name is deleted too.
	o, err := d.Open(context.Background(), ws, "Weekly_20250310.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := d.Delete(context.Background(), ws, "Weekly_20250310.zip"); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(o); err != nil || string(b) != "hello" {
		t.Fatalf("open reader after delete: %q, %v", b, err)
	}
}

func TestDirFailedPutLeavesNoTemporaryFile(t *testing.T) {
	d := openDir(t, t.TempDir())
	put(t, d, "r_20250310.gz", "old")
	_, err := d.Put(context.Background(), ws, "r_20250311.gz", func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("failed write published")
	}
	entries, _ := os.ReadDir(filepath.Join(d.Path(), ws))
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
}

func TestDirSymlinkCannotEscape(t *testing.T) {
	base := t.TempDir()
	d := openDir(t, filepath.Join(base, "reports"))
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644)
	// A symbolic link planted inside the root that points outside must not be followed.
	os.MkdirAll(filepath.Join(base, "reports", ws), 0o755)
	os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(base, "reports", ws, "link_20250310.zip"))
	if _, err := d.Open(context.Background(), ws, "link_20250310.zip"); err == nil {
		t.Error("followed a symbolic link out of the root")
	}
	if _, err := d.Open(context.Background(), ws, "../secret.txt"); err == nil {
		t.Error("opened a file outside the root")
	}
	if b, _ := os.ReadFile(filepath.Join(base, "secret.txt")); string(b) != "secret" {
		t.Error("file outside the root changed")
	}
}

func TestDirSweep(t *testing.T) {
	d := openDir(t, t.TempDir())
	put(t, d, "old_20250301.zip", "a")
	put(t, d, "new_20250310.zip", "b")
	old := time.Now().Add(-10 * 24 * time.Hour)
	os.Chtimes(filepath.Join(d.Path(), ws, "old_20250301.zip"), old, old)
	// A stale temporary file from a crash.
	tmp := filepath.Join(d.Path(), ws, tempPrefix+"crashed_20250301.zip-1")
	os.WriteFile(tmp, []byte("partial"), 0o644)
	os.Chtimes(tmp, old, old)

	var names []string
	d.Walk(context.Background(), func(i Info) error { names = append(names, i.Name); return nil })
	if len(names) != 2 {
		t.Fatalf("walk listed %v (temporary files must not be listed)", names)
	}
	n, err := SweepOlderThan(context.Background(), d, time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if _, err := d.Open(context.Background(), ws, "old_20250301.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatal("expired file kept")
	}
	if read(t, d, "new_20250310.zip") != "b" {
		t.Fatal("fresh file lost")
	}
	if n, err := d.RemoveStaleTemp(context.Background(), time.Now().Add(-StaleTempAge)); err != nil || n != 1 {
		t.Fatalf("remove stale temp: %d, %v", n, err)
	}
}
