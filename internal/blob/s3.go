package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3PartSize is the size of the parts S3.Put uploads: Put holds one part in memory, and an object can have at most
// 10,000 parts, so files up to about 80 GB can be stored.
const S3PartSize = 8 << 20

// S3Options says where S3 keeps report files.
type S3Options struct {
	// Endpoint is host[:port] of the S3 API, without a scheme (UseSSL chooses https).
	Endpoint string
	// Bucket holds the files; OpenS3 creates it when it does not exist.
	Bucket string
	// Prefix starts every key (without leading or trailing slashes; empty for none): keys are
	// <prefix>/<workspace_id>/<name>.
	Prefix string
	// AccessKey and SecretKey sign requests (signature V4); both empty sends anonymous requests.
	AccessKey, SecretKey string
	UseSSL               bool
	// Region is the bucket's region; empty lets the client discover it (and creates the bucket in us-east-1).
	Region string
}

// S3 stores files as objects <prefix>/<workspace_id>/<name> of one bucket of an S3-compatible service, through
// minio-go. Names are checked as Dir checks them (ValidName).
//
// Publication is atomic: Put streams the file as a multipart upload, and S3 makes an object visible only when its
// upload completes, which Put does only after write returned nil; a failed write aborts the upload and leaves the
// previous object in place.
//
// Open pins the version it found with If-Match on its ETag: every later (range) read asks for that version only. A
// bucket without versioning keeps no replaced or deleted version, so once Put replaces or Delete removes the name, an
// open reader's further reads fail (412 Precondition Failed, or not found) instead of returning bytes of another
// version — the closest S3 comes to Dir's guarantee that a reader keeps reading the version it opened.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ Store = (*S3)(nil)

// OpenS3 connects to the bucket of opts, creating the bucket when it does not exist.
func OpenS3(ctx context.Context, opts S3Options) (*S3, error) {
	if opts.Bucket == "" {
		return nil, errors.New("blob: S3 bucket name is empty")
	}
	var creds *credentials.Credentials
	if opts.AccessKey != "" || opts.SecretKey != "" {
		creds = credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, "")
	} else {
		creds = credentials.New(&credentials.Static{Value: credentials.Value{SignerType: credentials.SignatureAnonymous}})
	}
	client, err := minio.New(opts.Endpoint, &minio.Options{Creds: creds, Secure: opts.UseSSL, Region: opts.Region})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client for %s: %w", opts.Endpoint, err)
	}
	exists, err := client.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %s: %w", opts.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, opts.Bucket, minio.MakeBucketOptions{Region: opts.Region})
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return nil, fmt.Errorf("blob: create S3 bucket %s: %w", opts.Bucket, err)
		}
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: opts.Bucket, prefix: prefix}, nil
}

// key returns the object key of a file.
func (s *S3) key(workspaceID, name string) string { return s.prefix + workspaceID + "/" + name }

// isNotFound reports whether err is S3's answer for a missing object.
func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound
}

// Put streams write's output to S3 as a multipart upload with parts of S3PartSize, which becomes the object only
// when write returned nil and every part was stored.
func (s *S3) Put(ctx context.Context, workspaceID, name string, write func(io.Writer) error) (Info, error) {
	if err := check(workspaceID, name); err != nil {
		return Info{}, err
	}
	key := s.key(workspaceID, name)
	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	go func() {
		_, err := s.client.PutObject(ctx, s.bucket, key, pr, -1, minio.PutObjectOptions{PartSize: S3PartSize,
			ContentType: "application/octet-stream"})
		// A write blocked on (or coming after) a failed upload returns its error; after a complete one, ErrClosedPipe.
		pr.CloseWithError(err)
		uploaded <- err
	}()
	werr := write(&ctxWriter{ctx: ctx, w: pw})
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		pw.CloseWithError(werr) // the upload reads this error and is aborted
		<-uploaded
		return Info{}, werr
	}
	pw.Close()
	if err := <-uploaded; err != nil {
		return Info{}, fmt.Errorf("blob: upload %s: %w", key, err)
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s after upload: %w", key, err)
	}
	return Info{WorkspaceID: workspaceID, Name: name, Size: st.Size, ModTime: st.LastModified}, nil
}

// Open finds the object's current version and returns a reader of that version (pinned by its ETag).
func (s *S3) Open(ctx context.Context, workspaceID, name string) (Object, error) {
	if err := check(workspaceID, name); err != nil {
		return nil, err
	}
	key := s.key(workspaceID, name)
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	var opts minio.GetObjectOptions
	if st.ETag != "" {
		if err := opts.SetMatchETag(st.ETag); err != nil {
			return nil, fmt.Errorf("blob: open %s: %w", key, err)
		}
	}
	// The object's requests use ctx: the caller's request context (an HTTP download) bounds them.
	o, err := s.client.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	return &s3Object{Object: o, info: Info{WorkspaceID: workspaceID, Name: name, Size: st.Size, ModTime: st.LastModified}}, nil
}

// s3Object reads one object with range requests (minio's Object: ReadAt and Seek send Range).
type s3Object struct {
	*minio.Object
	info Info
}

func (o *s3Object) Info() Info { return o.info }

// Delete removes a published file; it asks whether the object exists first, since S3 deletes absent keys silently.
func (s *S3) Delete(ctx context.Context, workspaceID, name string) error {
	if err := check(workspaceID, name); err != nil {
		return err
	}
	key := s.key(workspaceID, name)
	_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blob: stat %s: %w", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// RemoveStaleTemp implements Store: S3 keeps nothing of a Put that did not finish as an object (its multipart upload
// is aborted when write fails; the parts of one cut short by a crash are removed by the bucket's lifecycle rule for
// incomplete multipart uploads), so there is nothing to remove.
func (s *S3) RemoveStaleTemp(context.Context, time.Time) (int, error) { return 0, nil }

// Walk lists the keys under the prefix; keys that are not <workspace_id>/<name> with valid names are skipped.
func (s *S3) Walk(ctx context.Context, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn ends the walk early
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blob: list %s/%s: %w", s.bucket, s.prefix, obj.Err)
		}
		workspaceID, name, ok := strings.Cut(strings.TrimPrefix(obj.Key, s.prefix), "/")
		if !ok || !ValidName(workspaceID, name) {
			continue
		}
		if err := fn(Info{WorkspaceID: workspaceID, Name: name, Size: obj.Size, ModTime: obj.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}
