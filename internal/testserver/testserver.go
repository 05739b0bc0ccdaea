// Package testserver starts real external servers (ClickHouse, PostgreSQL, Redis, an S3-compatible store) for tests,
// as plain processes listening on 127.0.0.1 with their data in a temporary directory, and stops them by PID when the
// test ends. A test whose server binary is not installed is skipped with a message naming what is missing, unless
// CAMPAIGNSTATS_REQUIRE_SERVERS is set (CI), where it fails instead.
package testserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the variable that turns a missing server binary into a test failure.
const RequireEnv = "CAMPAIGNSTATS_REQUIRE_SERVERS"

// Missing skips the test (or fails it when RequireEnv is set) because what is not installed.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is not installed (%s is set)", what, RequireEnv)
	}
	t.Skipf("%s is not installed; skipping (set %s to make this a failure)", what, RequireEnv)
}

// FindBinary returns the path of the first of names found in PATH or in dirs, or "".
func FindBinary(names []string, dirs ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Process is a started server process.
type Process struct {
	Cmd  *exec.Cmd
	Log  string // file holding its stdout and stderr
	done chan struct{}
}

// Start starts name with args in its own process group, output to logFile; the test's cleanup stops it (Stop).
func Start(t testing.TB, logFile string, name string, args ...string) *Process {
	t.Helper()
	return StartCmd(t, logFile, exec.Command(name, args...))
}

// StartCmd is Start for a prepared command (e.g. one with SysProcAttr.Credential set): its output goes to logFile,
// it runs in its own process group, and the test's cleanup stops it.
func StartCmd(t testing.TB, logFile string, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := startProcess(logFile, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// startProcess starts cmd in its own process group with its output in logFile; nothing stops it.
func startProcess(logFile string, cmd *exec.Cmd) (*Process, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cmd.SysProcAttr.Pdeathsig == 0 {
		// A test binary that dies (a panic, a timeout) must not leave servers behind.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{Cmd: cmd, Log: logFile, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group (SIGTERM, then SIGKILL after 10 s) and waits for it. Stopping twice is harmless.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill ends the process group at once (SIGKILL), as a crash would, and waits for it.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// WaitReady calls ready until it returns nil, the process exits, or timeout passes; it fails the test with the
// server's log tail otherwise.
func (p *Process) WaitReady(t testing.TB, timeout time.Duration, ready func(ctx context.Context) error) {
	t.Helper()
	if err := p.waitReady(timeout, ready); err != nil {
		t.Fatal(err)
	}
}

// waitReady is WaitReady returning its failure, with the server's log tail, instead of failing the test.
func (p *Process) waitReady(timeout time.Duration, ready func(ctx context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready:\n%s", filepath.Base(p.Cmd.Path), tail(p.Log))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v\n%s", filepath.Base(p.Cmd.Path), timeout, last, tail(p.Log))
}

// WaitPort waits until something accepts TCP connections on 127.0.0.1:port.
func (p *Process) WaitPort(t testing.TB, port int, timeout time.Duration) {
	t.Helper()
	p.WaitReady(t, timeout, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", Addr(port))
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func tail(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
