package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// WeedEnv names the variable that may give the path of SeaweedFS's weed binary.
const WeedEnv = "CAMPAIGNSTATS_WEED"

// readyBucket is the bucket S3 writes to while it waits for the server to accept writes.
const readyBucket = "testserver-ready"

// WeedBinary returns the weed binary to run: $CAMPAIGNSTATS_WEED, else weed in PATH, else the one
// scripts/build-weed.sh builds into ${XDG_CACHE_HOME:-$HOME/.cache}/campaignstats/weed; "" when there is none.
func WeedBinary() string {
	if p := os.Getenv(WeedEnv); p != "" {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	var dirs []string
	if cache, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(cache, "campaignstats"))
	}
	return FindBinary([]string{"weed"}, dirs...)
}

// S3 starts a SeaweedFS server (master, volume, filer and S3 gateway in one process) on free loopback ports with its
// data in a test temporary directory, and returns the S3 endpoint (host:port, plain HTTP) with the access and secret
// key of its one identity (an administrator; requests must be signed with them). It returns once the gateway has
// stored an object, which can take 15 s; the test's cleanup stops the server.
//
// A server that exits, or is not ready within 90 s — most often because one of its eight ports, free when chosen,
// was taken before it bound it — fails the attempt: it is killed and started again on new ports, three times at most.
func S3(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	bin := WeedBinary()
	if bin == "" {
		Missing(t, "weed (scripts/build-weed.sh)")
	}
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if endpoint, accessKey, secretKey, err = startS3(t, bin); err == nil {
			return endpoint, accessKey, secretKey
		}
		t.Logf("weed, attempt %d: %v", attempt, err)
	}
	t.Fatalf("weed did not start: %v", err)
	return "", "", ""
}

// startS3 is one attempt of S3, on new ports.
func startS3(t testing.TB, bin string) (endpoint, accessKey, secretKey string, err error) {
	dir := t.TempDir()
	accessKey, secretKey = randomHex(10), randomHex(20)
	config, err := json.Marshal(map[string]any{"identities": []any{map[string]any{
		"name":        "campaignstats-test",
		"credentials": []any{map[string]string{"accessKey": accessKey, "secretKey": secretKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}})
	if err != nil {
		return "", "", "", err
	}
	configFile := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
		return "", "", "", err
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		return "", "", "", err
	}
	// Every port is chosen here, gRPC ones included, so none falls back to SeaweedFS's "HTTP port + 10000" default.
	ports := distinctFreePorts(t, 8)
	port := func(i int) string { return strconv.Itoa(ports[i]) }
	// weed puts a Unix socket per gRPC service at a fixed path in /tmp, named after its port, and leaves some behind.
	// Registered before Start, this cleanup runs after the server has stopped.
	t.Cleanup(func() { removeGRPCSockets(ports[1], ports[3], ports[5], ports[7]) })
	p, err := startProcess(filepath.Join(dir, "weed.log"), exec.Command(bin, "server",
		"-dir="+dataDir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+port(0), "-master.port.grpc="+port(1), "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
		"-volume.port="+port(2), "-volume.port.grpc="+port(3), "-volume.max=0", "-volume.preStopSeconds=0",
		"-filer.port="+port(4), "-filer.port.grpc="+port(5), "-filer.localSocket="+filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port="+port(6), "-s3.port.grpc="+port(7), "-s3.config="+configFile,
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.localSocket="+filepath.Join(dir, "s3.sock")))
	if err != nil {
		return "", "", "", err
	}
	t.Cleanup(p.Stop)
	endpoint = Addr(ports[6])
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err == nil {
		err = p.waitReady(90*time.Second, func(ctx context.Context) error { return storesAnObject(ctx, client) })
	}
	if err != nil {
		p.Kill()
		return "", "", "", err
	}
	return endpoint, accessKey, secretKey, nil
}

// storesAnObject lists the buckets, then writes an object, which needs the master, a volume and the filer up.
func storesAnObject(ctx context.Context, client *minio.Client) error {
	if _, err := client.ListBuckets(ctx); err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	if err := client.MakeBucket(ctx, readyBucket, minio.MakeBucketOptions{}); err != nil {
		if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return fmt.Errorf("create bucket: %w", err)
		}
	}
	if _, err := client.PutObject(ctx, readyBucket, "ready", bytes.NewReader([]byte("ready")), 5, minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	return nil
}

// removeGRPCSockets removes the Unix sockets weed server creates for the gRPC services on these ports.
func removeGRPCSockets(grpcPorts ...int) {
	for _, port := range grpcPorts {
		for _, service := range []string{"master", "volume", "filer", "s3"} {
			os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", service, port))
		}
	}
}

// distinctFreePorts returns n different free ports.
func distinctFreePorts(t testing.TB, n int) []int {
	t.Helper()
	seen := map[int]bool{}
	var ports []int
	for len(ports) < n {
		if p := FreePort(t); !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
