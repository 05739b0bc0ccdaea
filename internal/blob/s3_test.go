package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/campaignstats/campaignstats/internal/testserver"
)

const testBucket = "campaignstats-reports"

// s3Server is one SeaweedFS server shared by the subtests of a test; each store gets a prefix of its own.
type s3Server struct {
	endpoint, accessKey, secretKey string
	stores                         atomic.Int64
}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	endpoint, accessKey, secretKey := testserver.S3(t)
	return &s3Server{endpoint: endpoint, accessKey: accessKey, secretKey: secretKey}
}

// store opens the test bucket (created by the first) under a new prefix.
func (s *s3Server) store(t *testing.T) *S3 {
	t.Helper()
	store, err := OpenS3(context.Background(), S3Options{Endpoint: s.endpoint, Bucket: testBucket,
		Prefix: fmt.Sprintf("/reports-%d/", s.stores.Add(1)), AccessKey: s.accessKey, SecretKey: s.secretKey})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// client is a plain S3 client of the server, to look at what S3 holds.
func (s *s3Server) client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(s.endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.accessKey, s.secretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestS3(t *testing.T) {
	server := startS3(t)

	t.Run("store", func(t *testing.T) {
		runStoreSuite(t, func(t *testing.T) Store { return server.store(t) }, storeBehaviour{keepsOpenVersion: false})
	})

	t.Run("keys are prefix/workspace/name", func(t *testing.T) {
		s := server.store(t)
		put(t, s, "Weekly_20250310.zip", "hello")
		key := s.prefix + ws + "/Weekly_20250310.zip"
		if _, err := server.client(t).StatObject(context.Background(), testBucket, key, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("no object %s: %v", key, err)
		}
		// Keys that are not <workspace>/<name> with valid names are not files of the store.
		for _, k := range []string{s.prefix + "stray", s.prefix + ws + "/.hidden", s.prefix + ws + "/a/b.zip"} {
			if _, err := server.client(t).PutObject(context.Background(), testBucket, k, bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := listed(t, s); len(got) != 1 {
			t.Fatalf("listed %v", got)
		}
	})

	t.Run("reopening an existing bucket", func(t *testing.T) {
		server.store(t)
		server.store(t)
	})

	t.Run("range reads of a multi-part file", func(t *testing.T) {
		s := server.store(t)
		const size = 3*S3PartSize + 12345 // four parts
		content := make([]byte, size)
		rng := rand.NewChaCha8([32]byte{1})
		rng.Read(content)
		info, err := s.Put(context.Background(), ws, "big_20250310.zip", func(w io.Writer) error {
			for rest := content; len(rest) > 0; { // in uneven pieces, as an archive writer would
				n := min(len(rest), 100_000+len(rest)%77_777)
				if _, err := w.Write(rest[:n]); err != nil {
					return err
				}
				rest = rest[n:]
			}
			return nil
		})
		if err != nil || info.Size != size {
			t.Fatalf("put: %+v, %v", info, err)
		}
		o, err := s.Open(context.Background(), ws, "big_20250310.zip")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if o.Info().Size != size {
			t.Fatalf("size %d", o.Info().Size)
		}
		for _, r := range []struct{ off, n int64 }{
			{0, 1}, {0, 1 << 20}, {S3PartSize - 10, 20}, {2*S3PartSize + 5, 3 << 20}, {size - 100, 100}, {size / 2, 1},
		} {
			buf := make([]byte, r.n)
			n, err := o.ReadAt(buf, r.off)
			if n != int(r.n) || (err != nil && err != io.EOF) || !bytes.Equal(buf, content[r.off:r.off+r.n]) {
				t.Fatalf("ReadAt(%d, %d): %d bytes, %v, equal=%v", r.n, r.off, n, err, bytes.Equal(buf[:n], content[r.off:r.off+int64(n)]))
			}
		}
		if n, err := o.ReadAt(make([]byte, 10), size-4); n != 4 || err != io.EOF {
			t.Fatalf("ReadAt across the end: %d, %v", n, err)
		}
		// Seek and read on, as http.ServeContent does for a Range request.
		off := int64(S3PartSize + 777)
		if _, err := o.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(io.LimitReader(o, 2<<20))
		if err != nil || !bytes.Equal(rest, content[off:off+2<<20]) {
			t.Fatalf("read after seek: %d bytes, %v", len(rest), err)
		}
		if _, err := o.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(all, content) {
			t.Fatalf("whole file: %d bytes, %v", len(all), err)
		}
	})

	t.Run("a write failing after several parts leaves the previous object and no upload", func(t *testing.T) {
		s := server.store(t)
		put(t, s, "r_20250310.zip", "previous")
		boom := errors.New("archive failed")
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		_, err := s.Put(context.Background(), ws, "r_20250310.zip", func(w io.Writer) error {
			for range 2*S3PartSize/len(chunk) + 3 { // two parts uploaded, a third begun
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("put: %v", err)
		}
		if got := read(t, s, "r_20250310.zip"); got != "previous" {
			t.Fatalf("previous object changed: %q", got)
		}
		if got := listed(t, s); len(got) != 1 {
			t.Fatalf("listed %v", got)
		}
		for u := range server.client(t).ListIncompleteUploads(context.Background(), testBucket, s.prefix, true) {
			if u.Err != nil {
				t.Fatalf("list incomplete uploads: %v", u.Err)
			}
			t.Fatalf("upload left behind: %+v", u)
		}
	})
}

func TestS3InvalidOptions(t *testing.T) {
	if _, err := OpenS3(context.Background(), S3Options{Endpoint: "127.0.0.1:1"}); err == nil {
		t.Fatal("opened S3 without a bucket")
	}
}
