package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const wsRemoteUsage = `usage: campaignstats workspace <command> [flags]   (admin API; needs CAMPAIGNSTATS_ADMIN_TOKEN)

commands:
  create --name NAME [--timezone TZ] [--id ID] [--rate-limit N]
  list [--status active|disabled]
  get ID
  update ID [--name NAME] [--rate-limit N]
  disable ID
  enable ID
  rotate ID [--key report|data|both]
  quarantine ID [--since T] [--until T] [--reason S] [--limit N] [--cursor C] [--show-payload] [--delete-before T]`

// runWorkspaceRemote implements the `workspace` commands against the admin API of server (SPEC §9.1, §9.2). args
// start with the subcommand; --server (overrides server) and the local-mode --data-dir / --store /
// --default-rate-limit (ignored) are accepted before or after it. Output is JSON on stdout; create and rotate print
// the workspace with workspace_id, report_key and data_key.
func runWorkspaceRemote(ctx context.Context, server string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	// Flags given before the subcommand.
	pre := clientCLIFlagSet("workspace", wsRemoteUsage, stderr)
	preServer := pre.String("server", "", "server base URL (admin API)")
	pre.String("data-dir", "", "ignored with --server")
	pre.String("store", "", "ignored with --server")
	pre.String("default-rate-limit", "", "ignored with --server")
	if err := pre.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *preServer != "" {
		server = *preServer
	}
	rest := pre.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, wsRemoteUsage)
		return 2
	}
	sub, rest := rest[0], rest[1:]

	fs := clientCLIFlagSet("workspace "+sub, wsRemoteUsage, stderr)
	subServer := fs.String("server", "", "server base URL (admin API)")
	fs.String("data-dir", "", "ignored with --server")
	fs.String("store", "", "ignored with --server")
	fs.String("default-rate-limit", "", "ignored with --server")
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
		fs.Var(&rateLimit, "rate-limit", "requests per minute per endpoint family (default: the server's)")
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
		fmt.Fprintf(stderr, "workspace: unknown command %q\n%s\n", sub, wsRemoteUsage)
		return 2
	}
	pos, code, ok := clientCLIParse(fs, rest, getenv, stderr)
	if !ok {
		return code
	}
	if *subServer != "" {
		server = *subServer
	}
	if server == "" {
		fmt.Fprintln(stderr, "workspace: no server (--server or CAMPAIGNSTATS_SERVER)")
		return 2
	}
	var wsID string
	switch {
	case wantIDArg && len(pos) != 1:
		fmt.Fprintf(stderr, "workspace %s: want exactly one workspace id, got %d arguments\n", sub, len(pos))
		return 2
	case wantIDArg:
		wsID = pos[0]
	case len(pos) > 0:
		fmt.Fprintf(stderr, "workspace %s: unexpected argument %q\n", sub, pos[0])
		return 2
	}
	token := getenv("CAMPAIGNSTATS_ADMIN_TOKEN")
	if token == "" {
		fmt.Fprintln(stderr, "workspace: CAMPAIGNSTATS_ADMIN_TOKEN is not set (needed for the admin API)")
		return 2
	}
	cl := clientCLINew(server)

	var out any
	var err error
	switch sub {
	case "create":
		if *name == "" {
			fmt.Fprintln(stderr, "workspace create: --name is required")
			return 2
		}
		req := client.CreateWorkspaceRequest{Name: *name, Timezone: *timezone, WorkspaceID: *id}
		if rateLimit.set {
			if rateLimit.v <= 0 {
				fmt.Fprintln(stderr, "workspace create: --rate-limit must be at least 1")
				return 2
			}
			req.RateLimitPerMinute = rateLimit.v
		}
		out, err = cl.CreateWorkspace(ctx, token, req)
	case "list":
		var list []client.Workspace
		list, err = cl.ListWorkspaces(ctx, token, *status)
		out = struct {
			Workspaces []client.Workspace `json:"workspaces"`
		}{list}
	case "get":
		out, err = cl.GetWorkspace(ctx, token, wsID)
	case "disable":
		out, err = cl.DisableWorkspace(ctx, token, wsID)
	case "enable":
		out, err = cl.EnableWorkspace(ctx, token, wsID)
	case "update":
		var np *string
		if clientCLIFlagWasSet(fs, "name") {
			np = name
		}
		if np == nil && !rateLimit.set {
			fmt.Fprintln(stderr, "workspace update: give --name and/or --rate-limit")
			return 2
		}
		out, err = cl.UpdateWorkspace(ctx, token, wsID, np, rateLimit.ptr())
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
			return 2
		}
		out, err = cl.RotateKeys(ctx, token, wsID, keys)
	case "quarantine":
		out, err, code = wsRemoteQuarantine(ctx, cl, token, wsID, *since, *until, *reason, qLimit.v, *cursor, *showPayload, *deleteB, stderr)
		if code != 0 {
			return code
		}
	}
	if err != nil {
		clientCLIPrintError(stderr, "", err)
		return 1
	}
	if err := clientCLIWriteJSON(stdout, out); err != nil {
		fmt.Fprintf(stderr, "workspace: %v\n", err)
		return 1
	}
	return 0
}

// wsRemoteQuarantine lists (optionally with payloads) or purges quarantine records; code is a usage exit code.
func wsRemoteQuarantine(ctx context.Context, cl *client.Client, token, wsID, since, until, reason string, limit int,
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
			return nil, nil, 2
		}
		n, err := cl.PurgeQuarantine(ctx, token, wsID, before)
		if err != nil {
			return nil, err, 0
		}
		return map[string]int{"deleted": n}, nil, 0
	}
	s, ok1 := parse("since", since)
	u, ok2 := parse("until", until)
	if !ok1 || !ok2 {
		return nil, nil, 2
	}
	if limit < 1 || limit > 1000 {
		fmt.Fprintln(stderr, "workspace quarantine: --limit must be between 1 and 1000")
		return nil, nil, 2
	}
	page, err := cl.ListQuarantine(ctx, token, wsID, client.QuarantineQuery{Since: s, Until: u, Reason: reason, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, err, 0
	}
	if showPayload {
		for i, it := range page.Items {
			full, err := cl.GetQuarantine(ctx, token, wsID, it.QuarantineID)
			if err != nil {
				return nil, err, 0
			}
			page.Items[i] = *full
		}
	}
	return page, nil, 0
}
