package blob

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

const ws = "aaaaaaaaaaaaaaaaaaaaaaaa"

func put(t *testing.T, s Store, name, content string) Info {
	t.Helper()
	return putIn(t, s, ws, name, content)
}

func putIn(t *testing.T, s Store, workspaceID, name, content string) Info {
	t.Helper()
	info, err := s.Put(context.Background(), workspaceID, name, func(w io.Writer) error {
		_, err := io.WriteString(w, content)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func read(t *testing.T, s Store, name string) string {
	t.Helper()
	o, err := s.Open(context.Background(), ws, name)
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

// listed returns "<workspace>/<name>:<size>" for every file Walk reports, sorted.
func listed(t *testing.T, s Store) []string {
	t.Helper()
	var all []string
	err := s.Walk(context.Background(), func(i Info) error {
		all = append(all, i.WorkspaceID+"/"+i.Name+":"+strings.Repeat("#", int(i.Size)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	return all
}

// storeBehaviour is what an implementation may do differently from the others.
type storeBehaviour struct {
	// keepsOpenVersion: a reader keeps reading the version it opened after the name is replaced (a directory).
	// Otherwise its reads fail from then on (S3, whose GETs ask for the opened ETag) rather than return other bytes.
	keepsOpenVersion bool
}

// runStoreSuite checks the behaviour of the Store contract that every implementation shares; newStore returns an
// empty store for each subtest.
func runStoreSuite(t *testing.T, newStore func(t *testing.T) Store, b storeBehaviour) {
	t.Run("put, open, seek, replace, delete", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		before := time.Now().Add(-time.Minute)
		info := put(t, s, "Weekly_20250310.zip", "hello")
		if info.Size != 5 || info.Name != "Weekly_20250310.zip" || info.WorkspaceID != ws || info.ModTime.Before(before) {
			t.Fatalf("info %+v", info)
		}
		o, err := s.Open(ctx, ws, "Weekly_20250310.zip")
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Info(); got.Size != 5 || got.Name != "Weekly_20250310.zip" || got.WorkspaceID != ws || got.ModTime.Before(before) {
			t.Fatalf("open info %+v", got)
		}
		if _, err := o.Seek(2, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(o); err != nil || string(b) != "llo" {
			t.Fatalf("read after seek %q, %v", b, err)
		}
		if end, err := o.Seek(0, io.SeekEnd); err != nil || end != 5 {
			t.Fatalf("seek to end: %d, %v", end, err)
		}
		buf := make([]byte, 3)
		if n, err := o.ReadAt(buf, 1); n != 3 || string(buf) != "ell" || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt: %d %q %v", n, buf, err)
		}
		// Replacing the name: the open reader keeps its version, or fails, but never reads the new one.
		put(t, s, "Weekly_20250310.zip", "second version")
		buf = make([]byte, 5)
		n, err := o.ReadAt(buf, 0)
		switch {
		case b.keepsOpenVersion && (err != nil || string(buf) != "hello"):
			t.Fatalf("open reader after replace: %q, %v", buf[:n], err)
		case !b.keepsOpenVersion && err == nil:
			t.Fatalf("open reader after replace read %q; want an error", buf[:n])
		}
		o.Close()
		if got := read(t, s, "Weekly_20250310.zip"); got != "second version" {
			t.Fatalf("after replace %q", got)
		}
		if err := s.Delete(ctx, ws, "Weekly_20250310.zip"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, ws, "Weekly_20250310.zip"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("open deleted: %v", err)
		}
		if err := s.Delete(ctx, ws, "Weekly_20250310.zip"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := s.Open(ctx, ws, "never_20250310.zip"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("open absent: %v", err)
		}
	})

	t.Run("an empty file", func(t *testing.T) {
		s := newStore(t)
		if info := put(t, s, "empty_20250310.gz", ""); info.Size != 0 {
			t.Fatalf("info %+v", info)
		}
		if got := read(t, s, "empty_20250310.gz"); got != "" {
			t.Fatalf("read %q", got)
		}
	})

	t.Run("a failed put publishes nothing", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "r_20250310.gz", "old")
		boom := errors.New("boom")
		_, err := s.Put(context.Background(), ws, "r_20250310.gz", func(w io.Writer) error {
			io.WriteString(w, "partial")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
		if got := read(t, s, "r_20250310.gz"); got != "old" {
			t.Fatalf("previous file changed: %q", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, err = s.Put(ctx, ws, "r_20250311.gz", func(w io.Writer) error {
			cancel()
			_, err := io.WriteString(w, "x")
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled put: %v", err)
		}
		// A write that ignores the cancellation publishes nothing either.
		ctx, cancel = context.WithCancel(context.Background())
		_, err = s.Put(ctx, ws, "r_20250312.gz", func(w io.Writer) error {
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("put cancelled after write: %v", err)
		}
		if got, want := listed(t, s), []string{ws + "/r_20250310.gz:###"}; !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
	})

	t.Run("names cannot escape the workspace", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []struct{ ws, name string }{
			{ws, "../secret.txt"}, {ws, "..%2fsecret.txt"}, {ws, "a/b.zip"}, {ws, `a\b.zip`}, {ws, ".."}, {ws, "."},
			{ws, ""}, {ws, ".hidden"}, {"..", "secret.txt"}, {"../reports", "x.zip"}, {"", "x.zip"}, {ws, "x\x00.zip"},
			{ws, "/etc/passwd"}, {ws, strings.Repeat("a", 201)}, {"a/b", "x.zip"}, {strings.Repeat("a", 65), "x.zip"},
		} {
			if _, err := s.Open(context.Background(), c.ws, c.name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Open(%q, %q): %v", c.ws, c.name, err)
			}
			if _, err := s.Put(context.Background(), c.ws, c.name, func(io.Writer) error { return nil }); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Put(%q, %q): %v", c.ws, c.name, err)
			}
			if err := s.Delete(context.Background(), c.ws, c.name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Delete(%q, %q): %v", c.ws, c.name, err)
			}
		}
		if got := listed(t, s); len(got) != 0 {
			t.Fatalf("listed %v", got)
		}
	})

	t.Run("walk lists every workspace and stops on error", func(t *testing.T) {
		s := newStore(t)
		const other = "bbbbbbbbbbbbbbbbbbbbbbbb"
		put(t, s, "a_20250310.zip", "a")
		put(t, s, "b_20250310.zip", "bb")
		putIn(t, s, other, "c_20250310.csv", "ccc")
		want := []string{ws + "/a_20250310.zip:#", ws + "/b_20250310.zip:##", other + "/c_20250310.csv:###"}
		if got := listed(t, s); !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		stop := errors.New("stop")
		calls := 0
		err := s.Walk(context.Background(), func(Info) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("walk stopped with %v after %d calls", err, calls)
		}
	})

	t.Run("sweep deletes what is older than the cut-off", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "old_20250301.zip", "a")
		put(t, s, "new_20250310.zip", "b")
		if n, err := SweepOlderThan(context.Background(), s, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("sweep of nothing: %d, %v", n, err)
		}
		if n, err := SweepOlderThan(context.Background(), s, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("sweep of everything: %d, %v", n, err)
		}
		if got := listed(t, s); len(got) != 0 {
			t.Fatalf("left %v", got)
		}
	})
}
