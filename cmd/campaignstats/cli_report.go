package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const reportUsage = `usage: campaignstats report <command> [flags]

commands:
  create FILE.json            create a report from a definition file (SPEC §8.2; "-" reads stdin)
  list                        list the workspace's reports
  get ID                      show one report
  update ID FILE.json         replace a report's definition (the schedule is recomputed)
  delete ID                   delete a report
  run ID [--wait]             queue a manual run; --wait polls until it ends (exit 1 when it FAILED)
  runs ID [--limit N]         list a report's runs, newest first
  download FILENAME [-o PATH] download a report file (signed with the report key)

flags (also CAMPAIGNSTATS_SERVER, CAMPAIGNSTATS_WORKSPACE, CAMPAIGNSTATS_REPORT_KEY):
  --server URL      server base URL (default http://localhost:8080)
  --workspace ID    workspace id
  --report-key KEY  the workspace's Campaign report API key

Output is the server's JSON on stdout; API errors print the error body on stderr and exit 1.`

// runReport implements `campaignstats report` (SPEC §9.2): the report-definition API of SPEC §8.1.
func runReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, reportUsage)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, reportUsage)
		return exitOK
	case "download":
		// Implemented with the report files (cli_report_download.go).
		return runReportDownload(ctx, rest, getenv, stdout, stderr)
	case "create", "list", "get", "update", "delete", "run", "runs":
	default:
		fmt.Fprintf(stderr, "report: unknown command %q\n\n%s\n", sub, reportUsage)
		return exitUsage
	}
	fs := clientCLIFlagSet("report "+sub, reportUsage, stderr)
	server := fs.String("server", clientCLIDefaultServer, "server base URL")
	workspace := fs.String("workspace", "", "workspace id")
	reportKey := fs.String("report-key", "", "the workspace's Campaign report API key")
	var wait *bool
	var poll *time.Duration
	var limit clientCLIOptInt
	switch sub {
	case "run":
		wait = fs.Bool("wait", false, "wait until the run is SUCCESSFUL or FAILED")
		poll = fs.Duration("poll", time.Second, "polling interval with --wait")
	case "runs":
		fs.Var(&limit, "limit", "number of runs, 1-500 (server default 50)")
	}
	pos, code, ok := clientCLIParse(fs, rest, getenv, stderr)
	if !ok {
		return code
	}
	wantArgs := map[string][]string{"create": {"FILE.json"}, "list": nil, "get": {"ID"}, "update": {"ID", "FILE.json"},
		"delete": {"ID"}, "run": {"ID"}, "runs": {"ID"}}[sub]
	if len(pos) != len(wantArgs) {
		if len(pos) < len(wantArgs) {
			fmt.Fprintf(stderr, "report %s: missing %s\n", sub, wantArgs[len(pos)])
		} else {
			fmt.Fprintf(stderr, "report %s: unexpected argument %q\n", sub, pos[len(wantArgs)])
		}
		return exitUsage
	}
	if *workspace == "" || *reportKey == "" {
		fmt.Fprintf(stderr, "report %s: missing --workspace (or CAMPAIGNSTATS_WORKSPACE) and --report-key (or CAMPAIGNSTATS_REPORT_KEY)\n", sub)
		return exitUsage
	}
	cl := clientCLINew(*server)
	ws, key := *workspace, *reportKey
	fail := func(err error) int {
		clientCLIPrintError(stderr, "", err)
		return exitRuntime
	}
	show := func(v any) int {
		if err := clientCLIWriteJSON(stdout, v); err != nil {
			fmt.Fprintf(stderr, "report %s: %v\n", sub, err)
			return exitRuntime
		}
		return exitOK
	}
	switch sub {
	case "create", "update":
		file := pos[len(pos)-1]
		def, err := readReportDefinition(file)
		if err != nil {
			fmt.Fprintf(stderr, "report %s: %v\n", sub, err)
			return exitUsage
		}
		var rep *client.Report
		if sub == "create" {
			rep, err = cl.CreateReport(ctx, ws, key, def)
		} else {
			rep, err = cl.UpdateReport(ctx, ws, key, pos[0], def)
		}
		if err != nil {
			return fail(err)
		}
		return show(rep.Raw)
	case "list":
		reps, err := cl.ListReports(ctx, ws, key)
		if err != nil {
			return fail(err)
		}
		raws := make([]json.RawMessage, 0, len(reps))
		for _, r := range reps {
			raws = append(raws, r.Raw)
		}
		return show(map[string]any{"reports": raws})
	case "get":
		rep, err := cl.GetReport(ctx, ws, key, pos[0])
		if err != nil {
			return fail(err)
		}
		return show(rep.Raw)
	case "delete":
		if err := cl.DeleteReport(ctx, ws, key, pos[0]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "deleted report %s\n", pos[0])
		return exitOK
	case "run":
		run, err := cl.RunReport(ctx, ws, key, pos[0])
		if err != nil {
			return fail(err)
		}
		if !*wait {
			return show(run.Raw)
		}
		done, err := cl.WaitReportRun(ctx, ws, key, pos[0], run.RunID, *poll)
		if err != nil {
			return fail(err)
		}
		if code := show(done.Raw); code != exitOK {
			return code
		}
		if done.Status != client.RunSuccessful {
			return exitRuntime
		}
		return exitOK
	case "runs":
		n := 0
		if p := limit.ptr(); p != nil {
			if *p < 1 || *p > 500 {
				fmt.Fprintln(stderr, "report runs: --limit must be between 1 and 500")
				return exitUsage
			}
			n = *p
		}
		runs, err := cl.ReportRuns(ctx, ws, key, pos[0], n)
		if err != nil {
			return fail(err)
		}
		raws := make([]json.RawMessage, 0, len(runs))
		for _, r := range runs {
			raws = append(raws, r.Raw)
		}
		return show(map[string]any{"runs": raws})
	}
	return exitUsage
}

// readReportDefinition reads a definition file ("-" = stdin) and checks that it is JSON; the server validates it.
func readReportDefinition(file string) (json.RawMessage, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s: not valid JSON", file)
	}
	return json.RawMessage(data), nil
}
