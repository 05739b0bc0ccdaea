package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempPrefix starts the names of files being written; they are never listed, opened or swept as published files.
const tempPrefix = ".tmp-"

// StaleTempAge is how old an unpublished temporary file (left by a crash) must be before Walk's caller may remove
// it with RemoveStaleTemp.
const StaleTempAge = 24 * time.Hour

// Dir stores files as <root>/<workspace_id>/<name>. Every access goes through an os.Root, so no name can reach a
// file outside the root directory, even through symbolic links.
type Dir struct {
	root *os.Root
	path string
}

var _ Store = (*Dir)(nil)

// OpenDir opens (creating it if needed) the directory that holds report files.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", path, err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", path, err)
	}
	return &Dir{root: root, path: path}, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

// Close releases the directory handle.
func (d *Dir) Close() error { return d.root.Close() }

func check(workspaceID, name string) error {
	if !ValidName(workspaceID, name) {
		return fmt.Errorf("%w: %q/%q", ErrInvalidName, workspaceID, name)
	}
	return nil
}

// Put writes to a temporary file in the workspace directory, syncs it and renames it over name.
func (d *Dir) Put(ctx context.Context, workspaceID, name string, write func(io.Writer) error) (Info, error) {
	if err := check(workspaceID, name); err != nil {
		return Info{}, err
	}
	if err := d.root.MkdirAll(workspaceID, 0o755); err != nil {
		return Info{}, fmt.Errorf("blob: create workspace directory: %w", err)
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := workspaceID + "/" + tempPrefix + name + "-" + hex.EncodeToString(suffix[:])
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Info{}, fmt.Errorf("blob: create temporary file: %w", err)
	}
	published := false
	defer func() {
		if !published {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	if err := write(&ctxWriter{ctx: ctx, w: f}); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: sync: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat: %w", err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: close: %w", err)
	}
	if err := d.root.Rename(tmp, workspaceID+"/"+name); err != nil {
		return Info{}, fmt.Errorf("blob: publish: %w", err)
	}
	published = true
	if dir, err := d.root.Open(workspaceID); err == nil {
		dir.Sync() // make the rename durable where the file system supports it
		dir.Close()
	}
	return Info{WorkspaceID: workspaceID, Name: name, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// ctxWriter stops a long write when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Open opens a published file.
func (d *Dir) Open(_ context.Context, workspaceID, name string) (Object, error) {
	if err := check(workspaceID, name); err != nil {
		return nil, err
	}
	f, err := d.root.Open(workspaceID + "/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: stat: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return &dirObject{File: f, info: Info{WorkspaceID: workspaceID, Name: name, Size: st.Size(), ModTime: st.ModTime()}}, nil
}

type dirObject struct {
	*os.File
	info Info
}

func (o *dirObject) Info() Info { return o.info }

// Delete removes a published file.
func (d *Dir) Delete(_ context.Context, workspaceID, name string) error {
	if err := check(workspaceID, name); err != nil {
		return err
	}
	err := d.root.Remove(workspaceID + "/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}

// Walk lists the published files of every workspace directory.
func (d *Dir) Walk(ctx context.Context, fn func(Info) error) error {
	return d.walk(ctx, func(i Info, temp bool) error {
		if temp {
			return nil
		}
		return fn(i)
	})
}

func (d *Dir) walk(ctx context.Context, fn func(i Info, temp bool) error) error {
	top, err := fs.ReadDir(d.root.FS(), ".")
	if err != nil {
		return fmt.Errorf("blob: list: %w", err)
	}
	for _, ws := range top {
		if !ws.IsDir() || !workspacePattern.MatchString(ws.Name()) {
			continue
		}
		entries, err := fs.ReadDir(d.root.FS(), ws.Name())
		if err != nil {
			return fmt.Errorf("blob: list %s: %w", ws.Name(), err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !e.Type().IsRegular() {
				continue
			}
			temp := strings.HasPrefix(e.Name(), tempPrefix)
			if !temp && !ValidName(ws.Name(), e.Name()) {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("blob: stat: %w", err)
			}
			if err := fn(Info{WorkspaceID: ws.Name(), Name: e.Name(), Size: fi.Size(), ModTime: fi.ModTime()}, temp); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveStaleTemp removes temporary files last modified before cutoff (left behind by a crash during Put) and
// returns how many it removed.
func (d *Dir) RemoveStaleTemp(ctx context.Context, cutoff time.Time) (int, error) {
	var stale []string
	err := d.walk(ctx, func(i Info, temp bool) error {
		if temp && i.ModTime.Before(cutoff) {
			stale = append(stale, filepath.ToSlash(filepath.Join(i.WorkspaceID, i.Name)))
		}
		return nil
	})
	n := 0
	for _, p := range stale {
		if d.root.Remove(p) == nil {
			n++
		}
	}
	return n, err
}
