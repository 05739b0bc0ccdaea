package testserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL servers for tests. A server runs as a plain process from Debian's binaries with its files in a
// temporary directory, trusts every local connection as the superuser "postgres", listens on 127.0.0.1 and gives
// up durability (fsync off) for speed. PostgreSQL refuses to run as root, so when the tests run as root the server
// runs as the unprivileged user "nobody", which then owns its directory.

const (
	// postgresInstall is where Debian installs the versions of PostgreSQL (postgresql-NN), one bin directory each.
	postgresInstall = "/usr/lib/postgresql"
	// postgresMissing names what to install when no server is found.
	postgresMissing = "postgresql (apt-get install postgresql)"
	// postgresSuperuser is the role the test servers are created with.
	postgresSuperuser = "postgres"
	// postgresUnprivileged runs the server when the tests run as root.
	postgresUnprivileged = "nobody"
	// sharedPostgresPrefix starts the directory names of shared servers, followed by the test binary's PID.
	sharedPostgresPrefix = "campaignstats-pgshared-"
	// postgresStartTimeout bounds initdb and the server's start.
	postgresStartTimeout = 60 * time.Second
)

// PostgresServer is a running PostgreSQL server.
type PostgresServer struct {
	proc *Process
	port int
	// databases counts the databases NewDatabase created, to name them.
	databases atomic.Int64
}

// sharedPostgres is the test binary's shared server, started by the first Postgres call: the one piece of state of
// this package, since a test binary has no other place to keep a server that outlives the test that started it.
var sharedPostgres struct {
	mu     sync.Mutex
	srv    *PostgresServer
	failed error
}

// Postgres returns the DSN of a fresh, empty database, dropped when t ends, on the test binary's shared server. The
// server starts on first use and stops when the test binary exits (the kernel signals it when its parent ends); its
// files are in os.TempDir(), named after the binary's PID, and are removed by the next test binary that starts a
// shared server once both processes are gone. Tests that stop or kill their server use StartPostgres instead. A
// missing PostgreSQL installation skips the test (Missing).
func Postgres(t testing.TB) string {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		Missing(t, postgresMissing)
	}
	sharedPostgres.mu.Lock()
	defer sharedPostgres.mu.Unlock()
	if sharedPostgres.failed != nil {
		t.Fatalf("shared PostgreSQL server: %v", sharedPostgres.failed)
	}
	if sharedPostgres.srv == nil || sharedPostgres.srv.proc.Exited() {
		removeStaleSharedPostgres()
		dir := filepath.Join(os.TempDir(), sharedPostgresPrefix+strconv.Itoa(os.Getpid()))
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		srv, err := startPostgres(t, bin, dir, true)
		if err != nil {
			sharedPostgres.failed = err
			os.RemoveAll(dir)
			t.Fatal(err)
		}
		sharedPostgres.srv = srv
	}
	return sharedPostgres.srv.NewDatabase(t)
}

// StartPostgres starts a PostgreSQL server owned by t: it is stopped, and its files removed, when t ends. A missing
// PostgreSQL installation skips the test (Missing).
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		Missing(t, postgresMissing)
	}
	dir, err := os.MkdirTemp("", "campaignstats-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // runs after the server's Stop (cleanups run last-in first-out)
	srv, err := startPostgres(t, bin, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.proc.Stop)
	return srv
}

// Process returns the server's process (to stop or kill it).
func (s *PostgresServer) Process() *Process { return s.proc }

// DSN returns the connection string of database db.
func (s *PostgresServer) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", postgresSuperuser, Addr(s.port), db)
}

// NewDatabase creates an empty database and returns its DSN; the database is dropped when t ends (connections
// still open then are closed by the server).
func (s *PostgresServer) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", s.databases.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil && !s.proc.Exited() {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// admin runs one statement in the maintenance database.
func (s *PostgresServer) admin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
	return err
}

// postgresBin returns the bin directory of the newest PostgreSQL installed (one holding initdb and postgres), or "".
func postgresBin() string {
	dirs, _ := filepath.Glob(filepath.Join(postgresInstall, "*", "bin"))
	sort.Slice(dirs, func(i, j int) bool { return postgresVersion(dirs[i]) > postgresVersion(dirs[j]) })
	for _, d := range dirs {
		initdb, server := FindBinary([]string{"initdb"}, d), FindBinary([]string{"postgres"}, d)
		if initdb != "" && server != "" && filepath.Dir(initdb) == filepath.Dir(server) {
			return filepath.Dir(initdb)
		}
	}
	// Elsewhere, a PATH that holds both (e.g. a source build).
	if initdb, server := FindBinary([]string{"initdb"}), FindBinary([]string{"postgres"}); initdb != "" && filepath.Dir(initdb) == filepath.Dir(server) {
		return filepath.Dir(initdb)
	}
	return ""
}

// postgresVersion is the major version of a Debian bin directory (/usr/lib/postgresql/15/bin → 15).
func postgresVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// startPostgres creates a cluster in dir/data and starts its server, with its socket in dir and its log in
// dir/postgres.log. A shared server (not stopped by a test) is signalled to shut down when this process ends.
func startPostgres(t testing.TB, bin, dir string, shared bool) (*PostgresServer, error) {
	t.Helper()
	cred, err := postgresCredential(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", postgresSuperuser, "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port := FreePort(t)
	server := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=32MB",
		"-c", "max_connections=200")
	server.Dir = dir
	server.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if shared {
		server.SysProcAttr.Pdeathsig = syscall.SIGINT // fast shutdown when the test binary ends
	}
	proc, err := startProcess(filepath.Join(dir, "postgres.log"), server)
	if err != nil {
		return nil, err
	}
	srv := &PostgresServer{proc: proc, port: port}
	if err := srv.waitReady(); err != nil {
		proc.Stop()
		return nil, err
	}
	return srv, nil
}

// waitReady waits until the server accepts connections.
func (s *PostgresServer) waitReady() error {
	deadline := time.Now().Add(postgresStartTimeout)
	var last error
	for time.Now().Before(deadline) {
		if s.proc.Exited() {
			return fmt.Errorf("postgres exited before it was ready:\n%s", tail(s.proc.Log))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = s.admin(ctx, "SELECT 1")
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready after %s: %v\n%s", postgresStartTimeout, last, tail(s.proc.Log))
}

// postgresCredential returns the credential to run PostgreSQL with: nil (this process's user) unless it runs as
// root, then the unprivileged user, who is given dir.
func postgresCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(postgresUnprivileged)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL does not run as root and there is no user %q to run it: %w", postgresUnprivileged, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("give %s to %s: %w", dir, u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// removeStaleSharedPostgres removes the directories of shared servers whose test binary and server have both ended.
func removeStaleSharedPostgres() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedPostgresPrefix+"*"))
	for _, dir := range dirs {
		owner, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), sharedPostgresPrefix))
		if err != nil || owner == os.Getpid() || processAlive(owner) {
			continue
		}
		// The first line of postmaster.pid is the server's PID while it runs.
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && processAlive(pid) {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}

// processAlive reports whether a process with that PID exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
