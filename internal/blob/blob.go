// Package blob stores report files (SPEC §8.4–§8.10): one namespace per workspace, files published atomically, read
// back with random access for HTTP Range requests, deleted by the retention sweeper. Dir keeps them in a directory
// (which may be shared by several API nodes); S3 keeps them in a bucket of an S3-compatible service.
package blob

import (
	"context"
	"errors"
	"io"
	"regexp"
	"time"
)

// ErrNotFound is returned by Open and Delete for a file that does not exist.
var ErrNotFound = errors.New("blob: file not found")

// ErrInvalidName is returned for a workspace id or file name that could reach outside the workspace's namespace.
var ErrInvalidName = errors.New("blob: invalid name")

// Info describes a stored file.
type Info struct {
	WorkspaceID string
	Name        string
	Size        int64
	ModTime     time.Time
}

// Object is an open file: random access for Range requests, plus its size and modification time.
type Object interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
	Info() Info
}

// Store holds report files per workspace.
type Store interface {
	// Put streams a new file: write receives a writer, and the file becomes visible under name only after write
	// returned nil and every byte is durable (Dir: written to a temporary file, synced, then renamed over any
	// previous file of that name; S3: a multipart upload completed only then). When write fails, or ctx ends, nothing
	// is published and the previous file, if any, stays.
	Put(ctx context.Context, workspaceID, name string, write func(io.Writer) error) (Info, error)
	// Open opens a published file for reading; ErrNotFound when it does not exist. A reader never reads bytes of
	// another version: Dir's keeps reading the version it opened even when a later Put replaces or Delete removes
	// the name; S3's reads fail from then on (see S3).
	Open(ctx context.Context, workspaceID, name string) (Object, error)
	// Delete removes a published file; ErrNotFound when it does not exist.
	Delete(ctx context.Context, workspaceID, name string) error
	// Walk calls fn for every published file of every workspace (order unspecified). Returning an error from fn
	// stops the walk with that error.
	Walk(ctx context.Context, fn func(Info) error) error
	// RemoveStaleTemp removes what Puts that never finished left behind, last modified before cutoff (a crash
	// during Put), and returns how many it removed. See StaleTempAge.
	RemoveStaleTemp(ctx context.Context, cutoff time.Time) (int, error)
}

var (
	workspacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// namePattern: a plain file name, no separators, no leading dot (temporary files start with a dot).
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$`)
)

// ValidName reports whether workspaceID and name address a file inside the workspace's namespace: the workspace
// id is 1–64 characters of [A-Za-z0-9_-]; the name is a single path element of at most 200 characters of
// [A-Za-z0-9._-] that does not start with a dot and is not "." or "..".
func ValidName(workspaceID, name string) bool {
	return workspacePattern.MatchString(workspaceID) && namePattern.MatchString(name) && name != "." && name != ".."
}

// SweepOlderThan deletes every published file last modified before cutoff and returns how many it deleted. It is
// the retention sweep: with cutoff = now − retention, a file published at finished_at is deleted once its run's
// expires_at has passed.
func SweepOlderThan(ctx context.Context, s Store, cutoff time.Time) (int, error) {
	var expired []Info
	err := s.Walk(ctx, func(i Info) error {
		if i.ModTime.Before(cutoff) {
			expired = append(expired, i)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, i := range expired {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		switch err := s.Delete(ctx, i.WorkspaceID, i.Name); {
		case err == nil:
			n++
		case errors.Is(err, ErrNotFound):
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
