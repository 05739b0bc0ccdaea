package main

// `campaignstats workspace …` (SPEC §9.2): one command path over two back ends. Flags are parsed, checked and the
// results printed here; a workspaceAdmin does the work, through the admin API of a server when --server (or
// CAMPAIGNSTATS_SERVER) is set (remoteAdmin, cli_workspace_remote.go), else directly on the embedded store in
// --data-dir (localAdmin, cli_workspace_local.go).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/config"
)

const wsUsage = `usage: campaignstats workspace <command> [flags]

commands:
  create --name NAME [--timezone TZ] [--id ID] [--rate-limit N]
  list [--status active|disabled]
  get ID
  update ID [--name NAME] [--rate-limit N]
  disable ID
  enable ID
  rotate ID [--key report|data|both]
  quarantine ID [--since T] [--until T] [--reason S] [--limit N] [--cursor C] [--show-payload] [--delete-before T]

With --server URL (or CAMPAIGNSTATS_SERVER) the commands use the server's admin API and need
CAMPAIGNSTATS_ADMIN_TOKEN; without it they open the embedded store in --data-dir directly, which
works only while no server holds it.`

// workspaceAdmin is what the workspace commands need: the admin operations of SPEC §9.1. Results are the client's
// types, so both back ends print the same JSON.
type workspaceAdmin interface {
	// Create creates a workspace; the result carries both keys.
	Create(ctx context.Context, req client.CreateWorkspaceRequest) (*client.Workspace, error)
	// List lists workspaces ("" = all, else active or disabled), never nil.
	List(ctx context.Context, status string) ([]client.Workspace, error)
	Get(ctx context.Context, id string) (*client.Workspace, error)
	// Update changes the name and/or rate limit; nil leaves a field unchanged.
	Update(ctx context.Context, id string, name *string, rateLimit *int) (*client.Workspace, error)
	Disable(ctx context.Context, id string) (*client.Workspace, error)
	Enable(ctx context.Context, id string) (*client.Workspace, error)
	// Rotate replaces the named keys (client.KeyReport, client.KeyData); the result carries the keys.
	Rotate(ctx context.Context, id string, keys []string) (*client.Workspace, error)
	// Quarantine lists quarantine records, newest first, without payloads.
	Quarantine(ctx context.Context, id string, q client.QuarantineQuery) (*client.QuarantinePage, error)
	// QuarantineRecord reads one record, payload included.
	QuarantineRecord(ctx context.Context, id, quarantineID string) (*client.QuarantineRecord, error)
	// PurgeQuarantine deletes the records received before `before` and returns how many there were.
	PurgeQuarantine(ctx context.Context, id string, before time.Time) (int, error)
	Close() error
}

// workspaceTarget holds the flags that choose and configure the back end; every flag set of the command has them,
// before and after the subcommand.
type workspaceTarget struct {
	server string        // admin API base URL; "" = the embedded store
	cfg    config.Config // DataDir, Store and DefaultRateLimit of the embedded store
}

func (t *workspaceTarget) register(fs *flag.FlagSet) {
	fs.StringVar(&t.server, "server", t.server, "server base URL: use its admin API (needs CAMPAIGNSTATS_ADMIN_TOKEN)")
	fs.StringVar(&t.cfg.DataDir, "data-dir", t.cfg.DataDir, "embedded store directory (without --server)")
	fs.StringVar(&t.cfg.Store, "store", t.cfg.Store, "event store (without --server)")
	fs.StringVar(&t.cfg.Meta, "meta", t.cfg.Meta, "metadata store (without --server)")
	fs.IntVar(&t.cfg.DefaultRateLimit, "default-rate-limit", t.cfg.DefaultRateLimit, "rate limit of workspaces created without --rate-limit (without --server)")
}

// open returns the back end, or nil and the exit code after printing why it cannot be used.
func (t *workspaceTarget) open(ctx context.Context, getenv func(string) string, stderr io.Writer) (workspaceAdmin, int) {
	if t.server != "" {
		token := getenv("CAMPAIGNSTATS_ADMIN_TOKEN")
		if token == "" {
			fmt.Fprintln(stderr, "workspace: CAMPAIGNSTATS_ADMIN_TOKEN is not set (needed for the admin API)")
			return nil, exitUsage
		}
		return &remoteAdmin{cl: clientCLINew(t.server), token: token}, exitOK
	}
	a, err := openLocalAdmin(ctx, t.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats workspace: %v\n", err)
		return nil, exitRuntime
	}
	return a, exitOK
}

// runWorkspace is `campaignstats workspace …`.
func runWorkspace(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runWorkspaceOn(ctx, "", args, getenv, stdout, stderr)
}

// runWorkspaceOn runs a workspace command; server is the default of --server (which CAMPAIGNSTATS_SERVER and the
// command line override). args start with the subcommand, optionally preceded by back-end flags. Output is JSON on
// stdout; create and rotate print the workspace with workspace_id, report_key and data_key.
func runWorkspaceOn(ctx context.Context, server string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	t := &workspaceTarget{server: server, cfg: config.Default()}

	// Find the subcommand after the back-end flags given before it; those flags are parsed again with the rest.
	pre := clientCLIFlagSet("workspace", wsUsage, stderr)
	(&workspaceTarget{server: server, cfg: config.Default()}).register(pre)
	if err := pre.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := pre.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, wsUsage)
		return exitUsage
	}
	before := args[:len(args)-len(rest)]
	if n := len(before); n > 0 && before[n-1] == "--" {
		before = before[:n-1]
	}
	sub := rest[0]
	subArgs := append(append([]string(nil), before...), rest[1:]...)

	fs := clientCLIFlagSet("workspace "+sub, wsUsage, stderr)
	t.register(fs)
	var (
		name, timezone, id, status, keyKind   *string
		since, until, reason, cursor, deleteB *string
		rateLimit, qLimit                     clientCLIOptInt
		showPayload                           *bool
		wantIDArg                             = true
	)
	switch sub {
	case "create":
		name = fs.String("name", "", "workspace name (required)")
		timezone = fs.String("timezone", "UTC", "IANA time zone")
		id = fs.String("id", "", "workspace id, 24 lowercase hex (default: generated)")
		fs.Var(&rateLimit, "rate-limit", "requests per minute per endpoint family (default: the server's, or --default-rate-limit)")
		wantIDArg = false
	case "list":
		status = fs.String("status", "", "active or disabled (default: all)")
		wantIDArg = false
	case "get", "disable", "enable":
	case "update":
		name = fs.String("name", "", "new name")
		fs.Var(&rateLimit, "rate-limit", "new requests-per-minute limit")
	case "rotate":
		keyKind = fs.String("key", "both", "report, data or both")
	case "quarantine":
		since = fs.String("since", "", "only records received at or after this RFC 3339 time")
		until = fs.String("until", "", "only records received at or before this RFC 3339 time")
		reason = fs.String("reason", "", "only records whose reason contains this text")
		qLimit = clientCLIOptInt{v: 100, set: true}
		fs.Var(&qLimit, "limit", "records per page, 1-1000 (default 100)")
		cursor = fs.String("cursor", "", "next_cursor of a previous listing")
		showPayload = fs.Bool("show-payload", false, "fetch and print each record's payload")
		deleteB = fs.String("delete-before", "", "delete the records received before this RFC 3339 time instead of listing")
	default:
		fmt.Fprintf(stderr, "workspace: unknown command %q\n%s\n", sub, wsUsage)
		return exitUsage
	}
	pos, code, ok := clientCLIParse(fs, subArgs, getenv, stderr)
	if !ok {
		return code
	}
	var wsID string
	switch {
	case wantIDArg && len(pos) != 1:
		fmt.Fprintf(stderr, "workspace %s: want exactly one workspace id, got %d arguments\n", sub, len(pos))
		return exitUsage
	case wantIDArg:
		wsID = pos[0]
	case len(pos) > 0:
		fmt.Fprintf(stderr, "workspace %s: unexpected argument %q\n", sub, pos[0])
		return exitUsage
	}
	admin, code := t.open(ctx, getenv, stderr)
	if admin == nil {
		return code
	}
	defer admin.Close()

	var out any
	var err error
	switch sub {
	case "create":
		if *name == "" {
			fmt.Fprintln(stderr, "workspace create: --name is required")
			return exitUsage
		}
		req := client.CreateWorkspaceRequest{Name: *name, Timezone: *timezone, WorkspaceID: *id}
		if rateLimit.set {
			if rateLimit.v <= 0 {
				fmt.Fprintln(stderr, "workspace create: --rate-limit must be at least 1")
				return exitUsage
			}
			req.RateLimitPerMinute = rateLimit.v
		}
		out, err = admin.Create(ctx, req)
	case "list":
		var list []client.Workspace
		list, err = admin.List(ctx, *status)
		out = struct {
			Workspaces []client.Workspace `json:"workspaces"`
		}{list}
	case "get":
		out, err = admin.Get(ctx, wsID)
	case "disable":
		out, err = admin.Disable(ctx, wsID)
	case "enable":
		out, err = admin.Enable(ctx, wsID)
	case "update":
		var np *string
		if clientCLIFlagWasSet(fs, "name") {
			np = name
		}
		if np == nil && !rateLimit.set {
			fmt.Fprintln(stderr, "workspace update: give --name and/or --rate-limit")
			return exitUsage
		}
		out, err = admin.Update(ctx, wsID, np, rateLimit.ptr())
	case "rotate":
		var keys []string
		switch strings.ToLower(*keyKind) {
		case "both":
			keys = []string{client.KeyReport, client.KeyData}
		case "report", "report_key":
			keys = []string{client.KeyReport}
		case "data", "data_key":
			keys = []string{client.KeyData}
		default:
			fmt.Fprintf(stderr, "workspace rotate: --key must be report, data or both, not %q\n", *keyKind)
			return exitUsage
		}
		out, err = admin.Rotate(ctx, wsID, keys)
	case "quarantine":
		out, err, code = wsQuarantine(ctx, admin, wsID, *since, *until, *reason, qLimit.v, *cursor, *showPayload, *deleteB, stderr)
		if code != exitOK {
			return code
		}
	}
	if err != nil {
		clientCLIPrintError(stderr, "", err)
		return exitRuntime
	}
	if err := clientCLIWriteJSON(stdout, out); err != nil {
		fmt.Fprintf(stderr, "workspace: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// wsQuarantine lists (optionally with payloads) or purges quarantine records; code is a usage exit code.
func wsQuarantine(ctx context.Context, admin workspaceAdmin, wsID, since, until, reason string, limit int,
	cursor string, showPayload bool, deleteBefore string, stderr io.Writer) (out any, err error, code int) {
	parse := func(flagName, v string) (time.Time, bool) {
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fmt.Fprintf(stderr, "workspace quarantine: --%s must be an RFC 3339 time (e.g. 2025-03-01T00:00:00Z), not %q\n", flagName, v)
			return time.Time{}, false
		}
		return t, true
	}
	if deleteBefore != "" {
		before, ok := parse("delete-before", deleteBefore)
		if !ok {
			return nil, nil, exitUsage
		}
		n, err := admin.PurgeQuarantine(ctx, wsID, before)
		if err != nil {
			return nil, err, exitOK
		}
		return map[string]int{"deleted": n}, nil, exitOK
	}
	s, ok1 := parse("since", since)
	u, ok2 := parse("until", until)
	if !ok1 || !ok2 {
		return nil, nil, exitUsage
	}
	if limit < 1 || limit > 1000 {
		fmt.Fprintln(stderr, "workspace quarantine: --limit must be between 1 and 1000")
		return nil, nil, exitUsage
	}
	page, err := admin.Quarantine(ctx, wsID, client.QuarantineQuery{Since: s, Until: u, Reason: reason, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, err, exitOK
	}
	if showPayload {
		for i, it := range page.Items {
			full, err := admin.QuarantineRecord(ctx, wsID, it.QuarantineID)
			if err != nil {
				return nil, err, exitOK
			}
			page.Items[i] = *full
		}
	}
	return page, nil, exitOK
}
