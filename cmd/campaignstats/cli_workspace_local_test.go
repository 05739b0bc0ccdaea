package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// TestWorkspaceLocalAndRemoteAgree runs the workspace commands on the embedded store (no --server) and through the
// admin API of a server on the same data directory, and checks that both print the same output.
func TestWorkspaceLocalAndRemoteAgree(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CAMPAIGNSTATS_DATA_DIR": dir, "CAMPAIGNSTATS_ADMIN_TOKEN": cliTestToken}
	ws := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := runWorkspace(t.Context(), args, cliEnv(env), &out, &errb)
		return code, out.String(), errb.String()
	}

	// Embedded store: create prints the admin API's workspace object with both keys.
	code, out, stderr := ws("create", "--name", "Shop & Co", "--timezone", "Asia/Kolkata", "--id", cliTestWS, "--rate-limit", "7")
	if code != exitOK {
		t.Fatalf("create: exit %d %s", code, stderr)
	}
	var created client.Workspace
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	if created.WorkspaceID != cliTestWS || created.Name != "Shop & Co" || created.Timezone != "Asia/Kolkata" || created.RateLimitPerMinute != 7 ||
		created.Status != "active" || len(created.ReportKey) != 40 || len(created.DataKey) != 40 || created.DisabledAt != nil {
		t.Fatalf("create output %s", out)
	}
	if !strings.HasPrefix(out, "{\n  \"workspace_id\": \""+cliTestWS+"\",\n  \"name\": \"Shop & Co\",") {
		t.Errorf("create output is not the admin API's object: %s", out)
	}
	// Back-end flags before the subcommand; flags after the id.
	if code, out, stderr = ws("--data-dir", dir, "update", cliTestWS, "--rate-limit", "9"); code != exitOK || !strings.Contains(out, `"rate_limit_per_minute": 9`) || strings.Contains(out, "report_key") {
		t.Fatalf("update: exit %d %s %s", code, out, stderr)
	}
	if code, out, _ = ws("disable", cliTestWS); code != exitOK || !strings.Contains(out, `"status": "disabled"`) || strings.Contains(out, `"disabled_at": null`) {
		t.Fatalf("disable: exit %d %s", code, out)
	}
	if code, out, _ = ws("enable", cliTestWS); code != exitOK || !strings.Contains(out, `"disabled_at": null`) {
		t.Fatalf("enable: exit %d %s", code, out)
	}
	code, out, _ = ws("rotate", cliTestWS, "--key", "data")
	var rotated client.Workspace
	if code != exitOK || json.Unmarshal([]byte(out), &rotated) != nil || rotated.ReportKey != created.ReportKey || rotated.DataKey == created.DataKey {
		t.Fatalf("rotate: exit %d %s", code, out)
	}

	// Usage errors (exit 2) and runtime errors (exit 1), as with --server.
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, exitUsage, "usage: campaignstats workspace <command>"},
		{[]string{"frobnicate"}, exitUsage, `workspace: unknown command "frobnicate"`},
		{[]string{"get"}, exitUsage, "workspace get: want exactly one workspace id, got 0 arguments"},
		{[]string{"create"}, exitUsage, "workspace create: --name is required"},
		{[]string{"create", "--name", "x", "--rate-limit", "0"}, exitUsage, "workspace create: --rate-limit must be at least 1"},
		{[]string{"update", cliTestWS}, exitUsage, "workspace update: give --name and/or --rate-limit"},
		{[]string{"rotate", cliTestWS, "--key", "all"}, exitUsage, `workspace rotate: --key must be report, data or both, not "all"`},
		{[]string{"quarantine", cliTestWS, "--limit", "0"}, exitUsage, "workspace quarantine: --limit must be between 1 and 1000"},
		{[]string{"get", cliTestWS, "--name", "x"}, exitUsage, "flag provided but not defined: -name"},
		{[]string{"get", "ffffffffffffffffffffffff"}, exitRuntime, "error: workspace ffffffffffffffffffffffff: not found"},
		{[]string{"quarantine", "ffffffffffffffffffffffff"}, exitRuntime, "not found"},
		{[]string{"list", "--status", "gone"}, exitRuntime, `error: status must be active or disabled, not "gone"`},
		{[]string{"quarantine", cliTestWS, "--cursor", "nonsense"}, exitRuntime, `error: cursor "nonsense" is not valid`},
		{[]string{"create", "--name", "x", "--id", cliTestWS}, exitRuntime, "error: "},
	} {
		code, out, stderr := ws(c.args...)
		if code != c.code || out != "" || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, stderr, c.code, c.msg)
		}
	}

	// A server on the same directory; one rejected event gives a quarantine record.
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.AdminToken = cliTestToken
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeServer := func() {
		if !closed {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Close(ctx)
			closed = true
		}
	}
	t.Cleanup(closeServer)
	res, err := client.New(srv.URL()).IngestEvents(t.Context(), cliTestWS, rotated.DataKey,
		[]any{json.RawMessage(`{"event_uuid":"bad-<1>","event_code":"MOE_EMAIL_SENT","uid":"u","event_attributes":{"campaign_id":"c & d"}}`)})
	if err != nil || res.Rejected != 1 {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	commands := [][]string{
		{"get", cliTestWS}, {"list"}, {"list", "--status", "disabled"}, {"quarantine", cliTestWS},
		{"quarantine", cliTestWS, "--show-payload", "--reason", "event_time"}, {"quarantine", cliTestWS, "--since", "2099-01-01T00:00:00Z"},
	}
	remote := map[string]string{}
	env["CAMPAIGNSTATS_SERVER"] = "http://127.0.0.1:1" // the command line wins over the environment
	for _, args := range commands {
		code, out, stderr := ws(append([]string{"--server", srv.URL()}, args...)...)
		if code != exitOK {
			t.Fatalf("remote %v: exit %d %s", args, code, stderr)
		}
		remote[strings.Join(args, " ")] = out
	}
	if q := remote["quarantine "+cliTestWS+" --show-payload --reason event_time"]; !strings.Contains(q, `"event_uuid": "bad-<1>"`) ||
		!strings.Contains(q, `"payload": "{\"event_uuid\":`) {
		t.Errorf("remote quarantine output %s", q)
	}
	closeServer()
	delete(env, "CAMPAIGNSTATS_SERVER")

	for _, args := range commands {
		code, out, stderr := ws(args...)
		if want := remote[strings.Join(args, " ")]; code != exitOK || out != want {
			t.Errorf("local %v: exit %d %s\n%s\nwant (admin API)\n%s", args, code, stderr, out, want)
		}
	}
	if code, out, _ := ws("quarantine", cliTestWS, "--delete-before", "2099-01-01T00:00:00Z"); code != exitOK || out != "{\n  \"deleted\": 1\n}\n" {
		t.Errorf("delete-before: exit %d %q", code, out)
	}
	if code, out, _ := ws("quarantine", cliTestWS); code != exitOK || out != "{\n  \"items\": [],\n  \"next_cursor\": null\n}\n" {
		t.Errorf("after delete-before: exit %d %q", code, out)
	}
}
