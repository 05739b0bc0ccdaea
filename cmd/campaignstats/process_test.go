package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// crashAdminToken is the admin token of the server processes the tests start.
const crashAdminToken = "crash-test-admin-token-01234"

// buildBinary builds campaignstats once for the process tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "campaignstats-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "campaignstats")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// serverProcess is a `campaignstats serve` process started by a test.
type serverProcess struct {
	Base    string // http://127.0.0.1:port
	Cmd     *exec.Cmd
	Started time.Duration // from exec to the "listening" log line

	mu    sync.Mutex
	lines []string      // the server's log lines (JSON)
	eof   chan struct{} // closed when the log pipe is drained (the process has exited)
}

// Wait waits for the process to exit, after every log line it wrote has been collected, and returns Cmd.Wait's
// error (nil for exit status 0).
func (p *serverProcess) Wait() error {
	<-p.eof
	return p.Cmd.Wait()
}

// Logs returns the log lines written so far.
func (p *serverProcess) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// ErrorLogs returns the log lines at ERROR level written so far.
func (p *serverProcess) ErrorLogs() []string {
	var out []string
	for _, l := range p.Logs() {
		var line struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(l), &line) == nil && line.Level == "ERROR" {
			out = append(out, l)
		}
	}
	return out
}

// Status reads a field of /proc/<pid>/status in KiB (VmRSS, VmHWM, …); 0 when unavailable.
func (p *serverProcess) Status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// startServer runs `campaignstats serve` on a free port and returns its base URL and process.
func startServer(t *testing.T, dataDir string) (string, *exec.Cmd) {
	p := startServerProcess(t, dataDir)
	return p.Base, p.Cmd
}

// startServerProcess runs `campaignstats serve --data-dir dataDir` with extra flags on a free port, collecting its
// log lines; the process is killed at the end of the test.
func startServerProcess(t *testing.T, dataDir string, flags ...string) *serverProcess {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info"}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CAMPAIGNSTATS_ADMIN_TOKEN="+crashAdminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{Cmd: cmd, eof: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, stderr) // a line too long to scan must not block the server's logging
	}()
	select {
	case a := <-addr:
		p.Base, p.Started = "http://"+a, time.Since(start)
		return p
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start; log:\n%s", strings.Join(p.Logs(), "\n"))
	}
	return nil
}

// newWorkspace creates a workspace through the server's admin API and returns a client of the server with it.
func (p *serverProcess) newWorkspace(t *testing.T, name string) (*client.Client, *client.Workspace) {
	t.Helper()
	c := client.New(p.Base)
	ws, err := c.CreateWorkspace(context.Background(), crashAdminToken, client.CreateWorkspaceRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c, ws
}
