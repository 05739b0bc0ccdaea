package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// e2eExtraBudget bounds the optional (extra) Stats requests; the planned ones always run.
const e2eExtraBudget = 24 * time.Second

// TestEndToEnd starts the real server in-process, drives it only through the public client, and replays each
// workload in the arrival orders its configuration lists (New York: chronological, reverse and shuffled, one
// workspace each; Kolkata: reverse). It compares every ingest result (Streams, Track Event, Bulk Import, PUT,
// funnel) with the reference model of that workspace, and Stats responses (conversion_goal_stats included) with
// the reference and, byte for byte, between the workspaces: at a checkpoint before the late interactions arrive,
// and at the end for the covering requests (every attribution type, both metric types). Every body is also scanned
// for keys of the published format and for §13.1's key order (liveKeyProblems). The other planned
// requests rotate over the workspaces; extra ones run while the time budget lasts.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DeriveWait = 30 * time.Second // numbers, not timing, are checked here: never read derived data early on a loaded machine
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = "e2e-admin-token-0123456789"
	srv, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	c := client.New(srv.URL())
	extraUntil := time.Now().Add(e2eExtraBudget)
	for _, opt := range workloadConfigs {
		t.Run(strings.ReplaceAll(opt.Timezone, "/", "_"), func(t *testing.T) {
			t.Parallel()
			runOrders(t, c, cfg.AdminToken, opt, extraUntil)
		})
	}
}

// e2eWorkspace is one workspace replaying one arrival order, with its own reference model.
type e2eWorkspace struct {
	order             int
	id, data, report  string
	model             *refModel
	pos               int                      // next op
	trackFirst        map[string]trackResponse // endpoint|Idempotency-Key → the first response
	mu                sync.Mutex
	ingestDifferences []string
}

func (ws *e2eWorkspace) errorf(format string, args ...any) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.ingestDifferences = append(ws.ingestDifferences, fmt.Sprintf("[%s] ", orderNames[ws.order])+fmt.Sprintf(format, args...))
}

type trackResponse struct {
	status    int
	requestID string
}

// runPhase sends the ops up to the next checkpoint (or the end) to the server and to the model.
func (ws *e2eWorkspace) runPhase(ctx context.Context, c *client.Client, ops []workloadOp) error {
	for ; ws.pos < len(ops); ws.pos++ {
		op := ops[ws.pos]
		switch op.Kind {
		case opCheckpoint:
			ws.pos++
			return nil
		case opIngest:
			events := make([]any, len(op.Events))
			for i, e := range op.Events {
				events[i] = e
			}
			want := ws.model.Ingest(op.Events, time.Now())
			res, err := c.IngestEvents(ctx, ws.id, ws.data, events)
			if err != nil {
				return fmt.Errorf("op %d: ingest: %w", ws.pos, err)
			}
			if res.Accepted != want.Accepted || res.Duplicates != want.Duplicates || res.Rejected != want.Rejected {
				ws.errorf("op %d (%d events): accepted/duplicates/rejected = %d/%d/%d, want %d/%d/%d", ws.pos,
					len(events), res.Accepted, res.Duplicates, res.Rejected, want.Accepted, want.Duplicates, want.Rejected)
			}
			wantErrs := []any{}
			for _, e := range want.Errors() {
				wantErrs = append(wantErrs, map[string]any{"index": int64(e.Index), "event_uuid": e.UUID, "message": e.Message})
			}
			gotErrs := []any{}
			for _, e := range res.Errors {
				gotErrs = append(gotErrs, map[string]any{"index": int64(e.Index), "event_uuid": e.EventUUID, "message": e.Message})
			}
			if d := diffTrees(wantErrs, gotErrs, 1); len(d) > 0 {
				ws.errorf("op %d: errors differ: %s", ws.pos, d[0])
			}
		case opPut:
			wantStatus := ws.model.PutCampaign(op.Campaign, op.Put)
			status, _, err := c.PutCampaign(ctx, ws.id, ws.data, op.Campaign, op.Put)
			var apiErr *client.APIError
			if errors.As(err, &apiErr) {
				status, err = apiErr.Status, nil
			}
			if err != nil {
				return fmt.Errorf("PUT %s: %w", op.Campaign, err)
			}
			if status != wantStatus {
				ws.errorf("PUT %s %s: status %d, want %d", op.Campaign, mustJSON(op.Put), status, wantStatus)
			}
		case opFunnel:
			wantStatus, wantN := ws.model.PostFunnel(op.Campaign, op.Funnel)
			n, err := c.PostFunnel(ctx, ws.id, ws.data, op.Campaign, op.Funnel)
			switch {
			case wantStatus != 200 && err == nil:
				ws.errorf("funnel post to %s: succeeded, want status %d", op.Campaign, wantStatus)
			case wantStatus == 200 && err != nil:
				ws.errorf("funnel post to %s: %v", op.Campaign, err)
			case wantStatus == 200 && n != wantN:
				ws.errorf("funnel post to %s: accepted %d, want %d", op.Campaign, n, wantN)
			}
		case opTrack:
			wantStatus, wantMsg, replay := ws.model.TrackRequest(op.Endpoint, op.Key, op.Body, time.Now())
			call := c.TrackEvent
			if op.Endpoint == "transition" {
				call = c.BulkImport
			}
			res, err := call(ctx, ws.id, ws.data, op.Body, op.Key)
			status, requestID, msg := 200, "", ""
			var apiErr *client.APIError
			switch {
			case errors.As(err, &apiErr):
				status, requestID, msg = apiErr.Status, apiErr.RequestID, apiErr.Message()
			case err != nil:
				return fmt.Errorf("%s: %w", op.Endpoint, err)
			default:
				requestID = res.RequestID
			}
			if replay {
				if first := ws.trackFirst[op.Endpoint+"|"+op.Key]; status != first.status || requestID != first.requestID {
					ws.errorf("%s retry with Idempotency-Key %s: status %d request_id %q, want the stored %d with request_id %q",
						op.Endpoint, op.Key, status, requestID, first.status, first.requestID)
				}
				continue
			}
			if op.Key != "" {
				ws.trackFirst[op.Endpoint+"|"+op.Key] = trackResponse{status, requestID}
			}
			if status != wantStatus {
				ws.errorf("%s %s: status %d (%s), want %d (%s)", op.Endpoint, op.Body, status, msg, wantStatus, wantMsg)
			}
		}
	}
	return nil
}

// diffSummary groups differences by where they are (campaign, platform, locale, variation and, for
// conversion_goal_stats, the goal), with the fields, attribution and metric types involved and one sample.
type diffSummary struct {
	mu     sync.Mutex
	groups map[string]*diffGroup
}

type diffGroup struct {
	n             int
	fields, types map[string]bool
	sample        string
}

func newDiffSummary() *diffSummary { return &diffSummary{groups: map[string]*diffGroup{}} }

func (s *diffSummary) add(req StatsRequest, diffs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range diffs {
		path, _, _ := strings.Cut(d, ": ")
		segs := pathSegments(path)
		// $.data.<cid>.platforms.<P>.locales.<L>.variations.<V>.<member>[.<goal>.<field>]
		key, field := path, ""
		if len(segs) >= 10 && segs[0] == "data" {
			key = strings.Join([]string{segs[1], segs[3], segs[5], segs[7]}, "/")
			if segs[8] == "conversion_goal_stats" && len(segs) >= 11 {
				key += " conversion_goal_stats[" + segs[9] + "]"
				field = segs[10]
			} else {
				key += " " + segs[8]
				field = strings.Join(segs[9:], ".")
			}
		} else if len(segs) > 0 {
			field = segs[len(segs)-1]
			key = strings.Join(segs[:len(segs)-1], ".")
		}
		g := s.groups[key]
		if g == nil {
			g = &diffGroup{fields: map[string]bool{}, types: map[string]bool{}, sample: describeReq(req) + "\n        " + d}
			s.groups[key] = g
		}
		g.n++
		g.fields[field] = true
		g.types[strings.ToUpper(req.AttributionType)+"/"+strings.ToUpper(req.MetricType)] = true
	}
}

func setList(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (s *diffSummary) report(t *testing.T, what string) {
	if len(s.groups) == 0 {
		return
	}
	keys := make([]string, 0, len(s.groups))
	for k := range s.groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.groups[keys[i]].n != s.groups[keys[j]].n {
			return s.groups[keys[i]].n > s.groups[keys[j]].n
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … %d more places", len(keys)-20)
			break
		}
		g := s.groups[k]
		fmt.Fprintf(&b, "\n  %s: %d differences in {%s} under {%s}\n      e.g. %s", k, g.n, setList(g.fields),
			setList(g.types), g.sample)
	}
	t.Errorf("%s, by place:%s", what, b.String())
}

// pathSegments splits a diffTrees path ($.a.b["c d"][3]) into its keys.
func pathSegments(path string) []string {
	var out []string
	for i := 0; i < len(path); {
		switch path[i] {
		case '$', '.':
			i++
		case '[':
			end := strings.Index(path[i:], "]")
			if path[i+1] == '"' {
				var k string
				if j := strings.Index(path[i+2:], "\"]"); j >= 0 {
					k = path[i+2 : i+2+j]
					end = 2 + j + 1
				}
				out = append(out, k)
			} else {
				out = append(out, path[i+1:i+end])
			}
			if end < 0 {
				return out
			}
			i += end + 1
		default:
			j := strings.IndexAny(path[i:], ".[")
			if j < 0 {
				j = len(path) - i
			}
			out = append(out, path[i:i+j])
			i += j
		}
	}
	return out
}

func runOrders(t *testing.T, c *client.Client, adminToken string, opt workloadOptions, extraUntil time.Time) {
	ctx := t.Context()
	w := generateWorkload(opt)
	wss := make([]*e2eWorkspace, len(opt.Orders))
	for i, k := range opt.Orders {
		m, err := newRefModel(opt.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		// A raised Stats rate limit lets the test run every request (§5.4: 1–100000).
		ws, err := c.CreateWorkspace(ctx, adminToken, client.CreateWorkspaceRequest{Name: "e2e-" + orderNames[k],
			Timezone: opt.Timezone, RateLimitPerMinute: 100000})
		if err != nil {
			t.Fatalf("create workspace: %v", err)
		}
		wss[i] = &e2eWorkspace{order: k, id: ws.WorkspaceID, data: ws.DataKey, report: ws.ReportKey, model: m,
			trackFirst: map[string]trackResponse{}}
	}
	phase := func(name string) {
		var wg sync.WaitGroup
		errs := make([]error, len(wss))
		for i, ws := range wss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = ws.runPhase(ctx, c, w.Orders[ws.order])
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("[%s] %s: %v", orderNames[wss[i].order], name, err)
			}
		}
		for _, ws := range wss {
			for i, d := range ws.ingestDifferences {
				if i == 15 {
					t.Errorf("… and %d more ingest differences", len(ws.ingestDifferences)-15)
					break
				}
				t.Error(d)
			}
			ws.ingestDifferences = nil
		}
		time.Sleep(1100 * time.Millisecond) // §3.6: visible within 1 second
	}

	refDiffs, crossDiffs := newDiffSummary(), newDiffSummary()
	compared, failing, crossFailing := 0, 0, 0
	badNumberSeen := false
	keyProblems := 0 // responses with keys of the published format or out of §13.1's order
	const maxReported = 6
	// compare sends one request (all pages) to the target workspaces (indexes into wss) and compares each answer
	// with that workspace's reference and, byte for byte, with the first target's answer.
	compare := func(when string, q queryPlan, targets []int) {
		req := q.Req
		for page := 0; page < 30; page++ {
			body := mustJSON(client.StatsRequest{RequestID: req.RequestID, CampaignIDs: req.CampaignIDs,
				StartDate: req.StartDate, EndDate: req.EndDate, AttributionType: req.AttributionType,
				MetricType: req.MetricType, Offset: req.Offset, Limit: req.Limit})
			raws := make([][]byte, len(targets))
			errs := make([]error, len(targets))
			var wg sync.WaitGroup
			for i, k := range targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, data, err := c.Do(ctx, "POST", client.StatsPath, client.StatsHeader(wss[k].id, wss[k].report), body)
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
					}
					raws[i], errs[i] = data, err
				}()
			}
			wg.Wait()
			var first map[string]any
			for i, k := range targets {
				if errs[i] != nil {
					t.Errorf("[%s] %s stats %s: %v", orderNames[wss[k].order], when, describeReq(req), errs[i])
					return
				}
				compared++
				got := first
				if i > 0 && !bytes.Equal(raws[0], raws[i]) {
					crossFailing++
					got = rawResponseTree(t, raws[i])
					d := diffTrees(first, got, 1000)
					crossDiffs.add(req, d)
					if crossFailing <= maxReported {
						if len(d) > 12 {
							d = d[:12]
						}
						t.Errorf("%s: stats %s: the %s workspace answers differently from the %s one (%d bytes vs %d):\n  %s",
							when, describeReq(req), orderNames[wss[k].order], orderNames[wss[targets[0]].order], len(raws[0]), len(raws[i]),
							strings.Join(d, "\n  "))
					}
				}
				if i == 0 {
					first = rawResponseTree(t, raws[0])
					got = first
					if bad := badGoalNumber(raws[0]); bad != "" && !badNumberSeen {
						badNumberSeen = true
						t.Errorf("%s: stats %s: conversion_goal_stats number not in the §1.6 form: %s", when, describeReq(req), bad)
					}
					if bad := liveKeyProblems(raws[0]); len(bad) > 0 {
						keyProblems++
						if keyProblems <= 3 {
							if len(bad) > 8 {
								bad = append(bad[:8], fmt.Sprintf("… %d in all", len(bad)))
							}
							t.Errorf("%s: stats %s: keys not in the live format of §13.1:\n  %s", when, describeReq(req),
								strings.Join(bad, "\n  "))
						}
					}
				} else if bytes.Equal(raws[0], raws[i]) {
					// The same bytes as the first workspace, already compared with its reference; the references of
					// the three orders agree on these requests (TestWorkloadAgainstReference, sameAcrossOrders).
					continue
				}
				want := wss[k].model.Stats(req)
				if d := diffTrees(want.tree(), got, 1000); len(d) > 0 {
					failing++
					refDiffs.add(req, d)
					if failing <= maxReported {
						if len(d) > 12 {
							d = append(d[:12], fmt.Sprintf("… %d differences in all", len(d)))
						}
						t.Errorf("[%s] %s: stats %s differs from the reference:\n  %s", orderNames[wss[k].order], when, describeReq(req),
							strings.Join(d, "\n  "))
					}
				}
			}
			cur, _ := first["current_page"].(float64)
			pages, _ := first["total_pages"].(float64)
			data, _ := first["data"].(map[string]any)
			if !q.Paged || cur >= pages || len(data) == 0 {
				return
			}
			off, lim := 0, 10
			if req.Offset != nil {
				off = *req.Offset
			}
			if req.Limit != nil {
				lim = *req.Limit
			}
			next := off + lim
			req.Offset = &next
		}
	}
	var all []int
	for i := range wss {
		all = append(all, i)
	}

	started := time.Now()
	phase("before the checkpoint")
	for _, q := range w.Checkpoint {
		compare("checkpoint", q, all)
	}
	phase("after the checkpoint")
	t.Logf("ingest and checkpoint took %v", time.Since(started))
	// Every workspace answers the covering requests (the scenario day and the whole data set under every
	// attribution type); the other planned requests rotate over the workspaces.
	for _, q := range w.Cover {
		compare("end", q, all)
	}
	plan := append(append([]queryPlan(nil), w.Queries...), w.Extra...)
	for qi, q := range plan {
		if qi >= len(w.Queries) && time.Now().After(extraUntil) {
			t.Logf("time budget spent: ran %d of %d extra requests", qi-len(w.Queries), len(w.Extra))
			break
		}
		compare("end", q, []int{qi % len(wss)})
	}
	if failing > maxReported || crossFailing > maxReported {
		t.Errorf("… %d Stats responses differ from the reference, %d between arrival orders (first %d of each shown)",
			failing, crossFailing, maxReported)
	}
	if keyProblems > 3 {
		t.Errorf("… %d Stats responses with keys not in the live format (first 3 shown)", keyProblems)
	}
	refDiffs.report(t, "differences from the reference")
	crossDiffs.report(t, "differences between arrival orders")
	t.Logf("%d Stats responses compared, %d differ from the reference, %d differ between arrival orders (%v)", compared,
		failing, crossFailing, time.Since(started))
}

var (
	goalCountRE = regexp.MustCompile(`"(conversions|total|unique)":([^,}]*)`)
	goalMoneyRE = regexp.MustCompile(`"(revenue|average_order_value|average_revenue_per_user|cvr|uplift|gcg_uplift)":([^,}]*)`)
	intForm     = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	twoDecimals = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]?[1-9])?$`)
)

// badGoalNumber returns the first conversion_goal_stats member whose number is not written as §1.6 says: counts
// as integers, rates and money with at most 2 decimals in shortest form.
func badGoalNumber(raw []byte) string {
	for _, m := range goalCountRE.FindAllSubmatch(raw, -1) {
		if !intForm.Match(m[2]) {
			return string(m[0])
		}
	}
	for _, m := range goalMoneyRE.FindAllSubmatch(raw, -1) {
		if !twoDecimals.Match(m[2]) || string(m[2]) == "-0" {
			return string(m[0])
		}
	}
	return ""
}

func describeReq(r StatsRequest) string {
	b, _ := json.Marshal(map[string]any{"request_id": r.RequestID, "campaign_ids": r.CampaignIDs, "start_date": r.StartDate,
		"end_date": r.EndDate, "metric_type": r.MetricType, "attribution_type": r.AttributionType, "offset": r.Offset,
		"limit": r.Limit})
	return string(b)
}

// rawResponseTree renders a body exactly as received (every member, numbers as float64) like
// expectedResponse.tree(): the order of the data keys becomes data_order and each data[cid] is unwrapped from its
// one-element array (any other shape is kept, so the diff shows it).
func rawResponseTree(t *testing.T, raw []byte) map[string]any {
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("response body: %v", err)
		return nil
	}
	var head struct {
		Data json.RawMessage `json:"data"`
	}
	order := []any{}
	if json.Unmarshal(raw, &head) == nil && len(head.Data) > 0 && head.Data[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(head.Data))
		dec.Token() // {
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				break
			}
			order = append(order, k)
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
		}
	}
	body["data_order"] = order
	if data, ok := body["data"].(map[string]any); ok {
		for cid, v := range data {
			if arr, ok := v.([]any); ok && len(arr) == 1 {
				data[cid] = arr[0]
			}
		}
	}
	return body
}
