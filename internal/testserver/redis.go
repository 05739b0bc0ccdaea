package testserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis starts Debian's redis-server on a free loopback port with nothing persisted (its working directory is a test
// temporary directory) and returns its address and process; the test's cleanup stops it. Restart starts it again on
// the same address, empty.
func Redis(t testing.TB) (addr string, p *Process) {
	t.Helper()
	bin := FindBinary([]string{"redis-server"}, "/usr/bin", "/usr/sbin")
	if bin == "" {
		Missing(t, "redis-server (apt-get install redis-server)")
	}
	dir := t.TempDir()
	port := FreePort(t)
	p = Start(t, filepath.Join(dir, "redis.log"), bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	addr = Addr(port)
	p.WaitReady(t, 10*time.Second, func(ctx context.Context) error { return pingRedis(ctx, addr) })
	return addr, p
}

// RestartRedis stops p, a server started by Redis, and starts it again with the same arguments (so on the same
// address, and empty), waiting until it answers.
func RestartRedis(t testing.TB, p *Process) *Process {
	t.Helper()
	p.Stop()
	args := p.Cmd.Args[1:]
	port := ""
	for i, a := range args {
		if a == "--port" && i+1 < len(args) {
			port = args[i+1]
		}
	}
	restarted := Start(t, p.Log+".restarted", p.Cmd.Path, args...)
	addr := net.JoinHostPort("127.0.0.1", port)
	restarted.WaitReady(t, 10*time.Second, func(ctx context.Context) error { return pingRedis(ctx, addr) })
	return restarted
}

// pingRedis sends PING in Redis's inline protocol and expects +PONG.
func pingRedis(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
