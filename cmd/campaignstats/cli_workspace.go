package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// runWorkspace is `campaignstats workspace …`: through the admin API when --server / CAMPAIGNSTATS_SERVER is set,
// otherwise directly on the embedded store in --data-dir.
func runWorkspace(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	server := getenv("CAMPAIGNSTATS_SERVER")
	var rest []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		if v, ok := strings.CutPrefix(a, "-server="); ok {
			server = v
			continue
		}
		if a == "-server" && i+1 < len(args) {
			server = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	if server != "" {
		return runWorkspaceRemote(ctx, server, rest, getenv, stdout, stderr)
	}
	return runWorkspaceLocal(ctx, rest, getenv, stdout, stderr)
}

func workspaceView(ws domain.Workspace, withKeys bool) map[string]any {
	m := map[string]any{"workspace_id": ws.ID, "name": ws.Name, "timezone": ws.Timezone, "status": ws.Status,
		"rate_limit_per_minute": ws.RateLimitPerMinute, "created_at": ws.CreatedAt.Format(time.RFC3339Nano), "disabled_at": nil}
	if ws.DisabledAt != nil {
		m["disabled_at"] = ws.DisabledAt.Format(time.RFC3339Nano)
	}
	if withKeys {
		m["report_key"], m["data_key"] = ws.ReportKey, ws.DataKey
	}
	return m
}

func runWorkspaceLocal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: campaignstats workspace create|list|get|update|disable|enable|rotate|quarantine [flags]")
		return exitUsage
	}
	sub := args[0]
	cfg := config.Default()
	fs := flag.NewFlagSet("workspace "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "embedded store directory")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "store")
	fs.IntVar(&cfg.DefaultRateLimit, "default-rate-limit", cfg.DefaultRateLimit, "default rate limit")
	name := fs.String("name", "", "workspace name")
	tz := fs.String("timezone", "UTC", "IANA time zone")
	id := fs.String("id", "", "workspace id (24 hex)")
	rate := fs.Int("rate-limit", 0, "requests per minute per family")
	status := fs.String("status", "", "active or disabled")
	key := fs.String("key", "both", "report, data or both")
	since := fs.String("since", "", "RFC 3339")
	until := fs.String("until", "", "RFC 3339")
	reason := fs.String("reason", "", "substring of the reason")
	limit := fs.Int("limit", 100, "records to list")
	showPayload := fs.Bool("show-payload", false, "print payloads")
	deleteBefore := fs.String("delete-before", "", "delete records received before this RFC 3339 time")
	// Accept the positional id before or after the flags.
	var positional []string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return exitUsage
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	if err := config.ApplyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	needID := func() (string, bool) {
		if len(positional) != 1 {
			fmt.Fprintf(stderr, "usage: campaignstats workspace %s ID\n", sub)
			return "", false
		}
		return positional[0], true
	}
	st, err := app.OpenStore(ctx, cfg, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats workspace: %v\n", err)
		return exitRuntime
	}
	defer st.Close()
	svc := workspace.New(st, time.Now, cfg.DefaultRateLimit)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "campaignstats workspace %s: %v\n", sub, err)
		return exitRuntime
	}
	switch sub {
	case "create":
		req := workspace.CreateRequest{Name: *name, Timezone: *tz, WorkspaceID: *id}
		if *rate != 0 {
			req.RateLimitPerMinute = rate
		}
		ws, err := svc.Create(ctx, req)
		if err != nil {
			return fail(err)
		}
		printJSON(stdout, workspaceView(ws, true))
	case "list":
		list, err := st.ListWorkspaces(ctx, *status)
		if err != nil {
			return fail(err)
		}
		out := []map[string]any{}
		for _, ws := range list {
			out = append(out, workspaceView(ws, false))
		}
		printJSON(stdout, map[string]any{"workspaces": out})
	case "get", "update", "disable", "enable", "rotate":
		wid, ok := needID()
		if !ok {
			return exitUsage
		}
		var ws domain.Workspace
		switch sub {
		case "get":
			ws, err = st.Workspace(ctx, wid)
		case "update":
			var n *string
			var r *int
			if *name != "" {
				n = name
			}
			if *rate != 0 {
				r = rate
			}
			ws, err = svc.Update(ctx, wid, n, r)
		case "disable", "enable":
			ws, err = svc.SetActive(ctx, wid, sub == "enable")
		case "rotate":
			keys := map[string][]string{"report": {"report_key"}, "data": {"data_key"}, "both": nil}
			k, ok := keys[*key]
			if !ok {
				fmt.Fprintln(stderr, "--key must be report, data or both")
				return exitUsage
			}
			ws, err = svc.Rotate(ctx, wid, k)
		}
		if err != nil {
			return fail(err)
		}
		printJSON(stdout, workspaceView(ws, sub == "rotate"))
	case "quarantine":
		wid, ok := needID()
		if !ok {
			return exitUsage
		}
		if *deleteBefore != "" {
			t, err := time.Parse(time.RFC3339Nano, *deleteBefore)
			if err != nil {
				fmt.Fprintln(stderr, "--delete-before must be an RFC 3339 time")
				return exitUsage
			}
			n, err := st.PurgeQuarantine(ctx, wid, t)
			if err != nil {
				return fail(err)
			}
			printJSON(stdout, map[string]any{"deleted": n})
			return exitOK
		}
		f := store.QuarantineFilter{Reason: *reason, Limit: *limit}
		for _, p := range []struct {
			v   string
			dst *time.Time
		}{{*since, &f.Since}, {*until, &f.Until}} {
			if p.v != "" {
				if *p.dst, err = time.Parse(time.RFC3339Nano, p.v); err != nil {
					fmt.Fprintln(stderr, "--since/--until must be RFC 3339 times")
					return exitUsage
				}
			}
		}
		items, next, err := st.ListQuarantine(ctx, wid, f)
		if err != nil {
			return fail(err)
		}
		out := []map[string]any{}
		for _, it := range items {
			m := map[string]any{"quarantine_id": it.ID, "received_at": it.ReceivedAt.Format(time.RFC3339Nano), "index": it.Index,
				"event_uuid": it.EventUUID, "reason": it.Reason, "request_id": it.RequestID}
			if *showPayload {
				full, err := st.GetQuarantine(ctx, wid, it.ID)
				if err == nil {
					m["payload"] = string(full.Payload)
				}
			}
			out = append(out, m)
		}
		printJSON(stdout, map[string]any{"items": out, "next_cursor": next})
	default:
		fmt.Fprintf(stderr, "campaignstats workspace: unknown subcommand %q\n", sub)
		return exitUsage
	}
	return exitOK
}
