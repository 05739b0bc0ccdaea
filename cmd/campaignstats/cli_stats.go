package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/campaignstats/campaignstats/client"
)

const statsCmdUsage = `usage: campaignstats stats --start YYYY-MM-DD --end YYYY-MM-DD [flags]

Calls the Campaign Stats API and prints the JSON response (with --all-pages, every
page merged into one data object).`

// runStats implements `campaignstats stats` (SPEC §9.2).
func runStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := clientCLIFlagSet("stats", statsCmdUsage, stderr)
	server := fs.String("server", clientCLIDefaultServer, "server base URL")
	workspace := fs.String("workspace", "", "workspace id")
	reportKey := fs.String("report-key", "", "the workspace's Campaign report API key")
	start := fs.String("start", "", "start_date, YYYY-MM-DD (required)")
	end := fs.String("end", "", "end_date, YYYY-MM-DD (required)")
	var campaigns clientCLIList
	fs.Var(&campaigns, "campaign", "campaign id (repeatable, or comma-separated); none = every active campaign")
	metric := fs.String("metric", "TOTAL", "metric_type: TOTAL or UNIQUE")
	attribution := fs.String("attribution", "VIEW_THROUGH",
		"attribution_type: VIEW_THROUGH, CLICK_THROUGH, IN_SESSION, TOTAL_CONVERSIONS or CLICK_CONVERSIONS")
	var offset, limit clientCLIOptInt
	fs.Var(&offset, "offset", "offset (server default 0)")
	fs.Var(&limit, "limit", "limit, 1-10 (server default 10)")
	allPages := fs.Bool("all-pages", false, "fetch every page and print one merged data object")
	requestID := fs.String("request-id", "", "request_id (default: generated)")
	pos, code, ok := clientCLIParse(fs, args, getenv, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "stats: unexpected argument %q\n", pos[0])
		return 2
	}
	var missing []string
	for _, m := range []struct{ v, name string }{
		{*workspace, "--workspace (or CAMPAIGNSTATS_WORKSPACE)"},
		{*reportKey, "--report-key (or CAMPAIGNSTATS_REPORT_KEY)"},
		{*start, "--start"},
		{*end, "--end"},
	} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "stats: missing %s\n", strings.Join(missing, ", "))
		return 2
	}
	if *requestID == "" {
		*requestID = "cli-" + rand.Text()[:16]
	}
	req := client.StatsRequest{
		RequestID:       *requestID,
		CampaignIDs:     campaigns,
		StartDate:       *start,
		EndDate:         *end,
		AttributionType: *attribution,
		MetricType:      *metric,
		Offset:          offset.ptr(),
		Limit:           limit.ptr(),
	}
	cl := clientCLINew(*server)
	var resp *client.StatsResponse
	var err error
	if *allPages {
		resp, err = cl.CampaignStatsAllPages(ctx, *workspace, *reportKey, req)
	} else {
		resp, err = cl.CampaignStats(ctx, *workspace, *reportKey, req)
	}
	if err != nil {
		clientCLIPrintError(stderr, "", err)
		return 1
	}
	if err := clientCLIWriteJSON(stdout, resp.Raw); err != nil {
		fmt.Fprintf(stderr, "stats: %v\n", err)
		return 1
	}
	return 0
}
