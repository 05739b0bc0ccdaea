package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ws = "aaaaaaaaaaaaaaaaaaaaaaaa"

func put(t *testing.T, d *Dir, name, content string) Info {
	t.Helper()
	info, err := d.Put(context.Background(), ws, name, func(w io.Writer) error {
		_, err := io.WriteString(w, content)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func read(t *testing.T, d *Dir, name string) string {
	t.Helper()
	o, err := d.Open(context.Background(), ws, name)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPutOpenDelete(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(filepath.Join(dir, "reports"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info := put(t, d, "Weekly_20250310.zip", "hello")
	if info.Size != 5 || info.Name != "Weekly_20250310.zip" || info.WorkspaceID != ws {
		t.Fatalf("info %+v", info)
	}
	if _, err := os.Stat(filepath.Join(dir, "reports", ws, "Weekly_20250310.zip")); err != nil {
		t.Fatalf("file not at <root>/<workspace>/<name>: %v", err)
	}
	o, err := d.Open(context.Background(), ws, "Weekly_20250310.zip")
	if err != nil {
		t.Fatal(err)
	}
	if o.Info().Size != 5 {
		t.Fatalf("size %d", o.Info().Size)
	}
	if _, err := o.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(o)
	if string(b) != "llo" {
		t.Fatalf("read after seek %q", b)
	}
	// A reader keeps its version when the name is replaced.
	put(t, d, "Weekly_20250310.zip", "second version")
	buf := make([]byte, 5)
	if _, err := o.ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("open reader saw %q, %v", buf, err)
	}
	o.Close()
	if got := read(t, d, "Weekly_20250310.zip"); got != "second version" {
		t.Fatalf("after replace %q", got)
	}
	if err := d.Delete(context.Background(), ws, "Weekly_20250310.zip"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(context.Background(), ws, "Weekly_20250310.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open deleted: %v", err)
	}
	if err := d.Delete(context.Background(), ws, "Weekly_20250310.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestFailedPutPublishesNothing(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	put(t, d, "r_20250310.gz", "old")
	boom := errors.New("boom")
	_, err = d.Put(context.Background(), ws, "r_20250310.gz", func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if got := read(t, d, "r_20250310.gz"); got != "old" {
		t.Fatalf("previous file changed: %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = d.Put(ctx, ws, "r_20250311.gz", func(w io.Writer) error {
		cancel()
		_, err := io.WriteString(w, "x")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(d.Path(), ws))
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
}

func TestNamesCannotEscape(t *testing.T) {
	base := t.TempDir()
	d, err := OpenDir(filepath.Join(base, "reports"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644)
	// A symbolic link planted inside the root that points outside must not be followed.
	os.MkdirAll(filepath.Join(base, "reports", ws), 0o755)
	os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(base, "reports", ws, "link_20250310.zip"))
	for _, c := range []struct{ ws, name string }{
		{ws, "../secret.txt"}, {ws, "..%2fsecret.txt"}, {ws, "a/b.zip"}, {ws, `a\b.zip`}, {ws, ".."}, {ws, "."},
		{ws, ""}, {ws, ".hidden"}, {"..", "secret.txt"}, {"../reports", "x.zip"}, {"", "x.zip"}, {ws, "x\x00.zip"},
		{ws, "/etc/passwd"}, {ws, strings.Repeat("a", 201)},
	} {
		if _, err := d.Open(context.Background(), c.ws, c.name); err == nil {
			t.Errorf("Open(%q, %q) succeeded", c.ws, c.name)
		}
		if _, err := d.Put(context.Background(), c.ws, c.name, func(io.Writer) error { return nil }); err == nil {
			t.Errorf("Put(%q, %q) succeeded", c.ws, c.name)
		}
		if err := d.Delete(context.Background(), c.ws, c.name); err == nil {
			t.Errorf("Delete(%q, %q) succeeded", c.ws, c.name)
		}
	}
	if _, err := d.Open(context.Background(), ws, "link_20250310.zip"); err == nil {
		t.Error("followed a symbolic link out of the root")
	}
	if b, _ := os.ReadFile(filepath.Join(base, "secret.txt")); string(b) != "secret" {
		t.Error("file outside the root changed")
	}
}

func TestSweep(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	put(t, d, "old_20250301.zip", "a")
	put(t, d, "new_20250310.zip", "b")
	old := time.Now().Add(-10 * 24 * time.Hour)
	os.Chtimes(filepath.Join(d.Path(), ws, "old_20250301.zip"), old, old)
	// A stale temporary file from a crash.
	tmp := filepath.Join(d.Path(), ws, tempPrefix+"crashed_20250301.zip-1")
	os.WriteFile(tmp, []byte("partial"), 0o644)
	os.Chtimes(tmp, old, old)

	var listed []string
	d.Walk(context.Background(), func(i Info) error { listed = append(listed, i.Name); return nil })
	if len(listed) != 2 {
		t.Fatalf("walk listed %v (temporary files must not be listed)", listed)
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
