package main

// `campaignstats ingest` (SPEC §9.2): flags, the command's wiring and the senders. The input format is decided in
// cli_ingest_format.go, the progress line is drawn by cli_ingest_progress.go, and inputs are cut into Streams
// requests by client.Batcher.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const ingestUsage = `usage: campaignstats ingest [flags] FILE... ("-" reads stdin)

Sends event files to the Streams, Track Event or Bulk Import endpoint and prints
accepted / duplicates / rejected totals. Exit code 3 when events were rejected.`

// runIngest implements `campaignstats ingest` (SPEC §9.2).
func runIngest(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := clientCLIFlagSet("ingest", ingestUsage, stderr)
	server := fs.String("server", clientCLIDefaultServer, "server base URL")
	workspace := fs.String("workspace", "", "workspace id")
	dataKey := fs.String("data-key", "", "the workspace's Data API key")
	format := fs.String("format", "auto", "input format: auto, streams, ndjson, track or bulk")
	batchBytes := clientCLISize(client.DefaultBatchBytes)
	fs.Var(&batchBytes, "batch-bytes", "maximum uncompressed size of one Streams request (bytes, KiB, MiB)")
	campaigns := fs.String("campaigns", "", "JSON file of campaign catalog bodies to PUT before sending events")
	files, code, ok := clientCLIParse(fs, args, getenv, stderr)
	if !ok {
		return code
	}
	switch *format {
	case "auto", "streams", "ndjson", "track", "bulk":
	default:
		fmt.Fprintf(stderr, "ingest: --format must be auto, streams, ndjson, track or bulk, not %q\n", *format)
		return 2
	}
	var missing []string
	if *workspace == "" {
		missing = append(missing, "--workspace (or CAMPAIGNSTATS_WORKSPACE)")
	}
	if *dataKey == "" {
		missing = append(missing, "--data-key (or CAMPAIGNSTATS_DATA_KEY)")
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "ingest: missing %s\n", strings.Join(missing, " and "))
		return 2
	}
	if len(files) == 0 && *campaigns == "" {
		fmt.Fprintln(stderr, "ingest: no input: give files, \"-\" for stdin, or --campaigns FILE.json")
		return 2
	}
	stdinUses := 0
	for _, f := range files {
		if f == "-" {
			stdinUses++
		}
	}
	if stdinUses > 1 {
		fmt.Fprintln(stderr, "ingest: \"-\" (stdin) can be given only once")
		return 2
	}
	if stdinUses > 0 && stdin == nil {
		fmt.Fprintln(stderr, "ingest: no stdin available")
		return 1
	}

	// Check every file up front so a typo does not leave a half-sent set of inputs.
	var total int64
	for _, f := range append(files, *campaigns) {
		if f == "-" || f == "" {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(stderr, "ingest: %v\n", err)
			return 1
		}
		if fi.IsDir() {
			fmt.Fprintf(stderr, "ingest: %s is a directory\n", f)
			return 1
		}
		total += fi.Size()
	}
	if stdinUses > 0 {
		total = -1
	}

	ing := &ingester{
		ctx: ctx, cl: clientCLINew(*server), ws: *workspace, key: *dataKey,
		batchBytes: int(batchBytes), format: *format, stdin: stdin, stderr: stderr,
		progress: &ingestProgress{w: stderr, enabled: clientCLIIsTerminal(stderr), total: total, start: time.Now()},
	}
	if *campaigns != "" {
		created, updated, err := ing.loadCampaigns(*campaigns)
		fmt.Fprintf(stdout, "campaigns created=%d updated=%d\n", created, updated)
		if err != nil {
			ing.progress.clear()
			ing.printFailure(err)
			return 1
		}
	}
	if len(files) == 0 {
		return 0
	}
	for _, f := range files {
		if err := ing.ingestFile(f); err != nil {
			ing.progress.clear()
			ing.printFailure(err)
			fmt.Fprintf(stdout, "accepted=%d duplicates=%d rejected=%d\n", ing.accepted, ing.duplicates, ing.rejected)
			return 1
		}
	}
	ing.progress.finish()
	fmt.Fprintf(stdout, "accepted=%d duplicates=%d rejected=%d\n", ing.accepted, ing.duplicates, ing.rejected)
	if ing.rejected > 0 {
		return 3
	}
	return 0
}

type ingester struct {
	ctx        context.Context
	cl         *client.Client
	ws, key    string
	batchBytes int
	format     string
	stdin      io.Reader
	stderr     io.Writer
	progress   *ingestProgress

	accepted, duplicates, rejected int
}

// ingestFailure is a runtime error tied to an input (file name, or file plus position).
type ingestFailure struct {
	where string
	err   error
}

func (e *ingestFailure) Error() string { return e.where + ": " + e.err.Error() }
func (e *ingestFailure) Unwrap() error { return e.err }

func (ing *ingester) printFailure(err error) {
	var f *ingestFailure
	if errors.As(err, &f) {
		var apiErr *client.APIError
		if errors.As(f.err, &apiErr) {
			clientCLIPrintError(ing.stderr, fmt.Sprintf("ingest: %s: HTTP %d: ", f.where, apiErr.Status), apiErr)
			return
		}
		fmt.Fprintf(ing.stderr, "ingest: %s: %v\n", f.where, f.err)
		return
	}
	clientCLIPrintError(ing.stderr, "ingest: ", err)
}

// ingestOpen opens a file ("-" = stdin) through client.DecodeInput: gzip content is gunzipped (detected by its
// magic bytes, so both "x.ndjson.gz" and gzip piped into stdin work) and a leading UTF-8 BOM is dropped. Bytes
// read from the underlying input feed the progress count.
func (ing *ingester) ingestOpen(path string) (display string, r io.Reader, closeFn func(), err error) {
	display = path
	var raw io.Reader
	closeFn = func() {}
	if path == "-" {
		display = "stdin"
		raw = ing.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return display, nil, nil, err
		}
		raw = f
		closeFn = func() { _ = f.Close() }
	}
	r, err = client.DecodeInput(&ingestCountingReader{r: raw, p: ing.progress})
	if err != nil {
		closeFn()
		return display, nil, nil, err
	}
	return display, r, closeFn, nil
}

// ingestFile sends one input in the format given by --format, or detected (ingestFormat).
func (ing *ingester) ingestFile(path string) error {
	display, r, closeFn, err := ing.ingestOpen(path)
	if err != nil {
		return &ingestFailure{where: display, err: err}
	}
	defer closeFn()
	format, r, err := ingestFormat(ing.format, path, r)
	if err != nil {
		return &ingestFailure{where: display, err: err}
	}
	switch format {
	case "ndjson":
		err = ing.sendNDJSON(display, r)
	case "streams":
		err = ing.sendEnvelope(display, r)
	default:
		err = ing.sendTrack(display, r, format)
	}
	if err != nil {
		var f *ingestFailure
		if !errors.As(err, &f) {
			err = &ingestFailure{where: display, err: err}
		}
	}
	return err
}

// batcher splits inputs into Streams requests of at most --batch-bytes.
func (ing *ingester) batcher() client.Batcher { return client.Batcher{MaxBytes: ing.batchBytes} }

// sendNDJSON splits the input on line boundaries into batches of at most batchBytes (a single longer line is sent
// alone) and posts each as gzip-compressed application/x-ndjson. Blank lines are not sent but are counted, so
// rejections are reported with their 1-based line number in the original input.
func (ing *ingester) sendNDJSON(name string, r io.Reader) error {
	err := ing.batcher().NDJSON(r, func(b *client.Batch) error { return ing.sendBatch(name, b) })
	if le, ok := err.(*client.LineError); ok {
		return &ingestFailure{where: fmt.Sprintf("%s:%d", name, le.Line), err: le.Err}
	}
	return err
}

// sendEnvelope re-batches a Streams batch envelope {…, "events":[…], …}: events are read one at a time and sent as
// envelopes of at most batchBytes (a single larger event goes alone), each carrying the top-level members that
// precede `events` (app_name, source, moe_request_id); members that follow `events` reach only the last batch.
// Rejections are reported with the event's 0-based index in the original `events` array.
func (ing *ingester) sendEnvelope(name string, r io.Reader) error {
	return ing.batcher().Envelope(r, func(b *client.Batch) error { return ing.sendBatch(name, b) })
}

// sendBatch posts one batch gzip-compressed and records its result; a failure names the batch's first and last
// input positions.
func (ing *ingester) sendBatch(name string, b *client.Batch) error {
	res, err := ing.cl.SendBatch(ing.ctx, ing.ws, ing.key, b)
	if err != nil {
		return &ingestFailure{where: fmt.Sprintf("%s:%d-%d", name, b.Positions[0], b.Positions[len(b.Positions)-1]), err: err}
	}
	ing.record(name, res, b.PositionText)
	ing.progress.batchDone(len(b.Positions))
	return nil
}

// record adds a Streams result to the totals and prints each rejection as "file:position uuid: message".
func (ing *ingester) record(name string, res *client.StreamsResult, position func(int) string) {
	ing.accepted += res.Accepted
	ing.duplicates += res.Duplicates
	ing.rejected += res.Rejected
	if len(res.Errors) > 0 {
		ing.progress.clear()
	}
	for _, e := range res.Errors {
		if e.EventUUID == "" {
			fmt.Fprintf(ing.stderr, "%s:%s: %s\n", name, position(e.Index), e.Message)
		} else {
			fmt.Fprintf(ing.stderr, "%s:%s %s: %s\n", name, position(e.Index), e.EventUUID, e.Message)
		}
	}
}

// sendTrack posts the whole input as one Track Event or Bulk Import request. Its actions count as accepted on
// success; a 400 rejects the whole file (its actions count as rejected, at least 1); other failures are errors.
func (ing *ingester) sendTrack(name string, r io.Reader, kind string) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	n := ingestCountActions(body, kind)
	if kind == "track" {
		_, err = ing.cl.TrackEvent(ing.ctx, ing.ws, ing.key, body, "")
	} else {
		_, err = ing.cl.BulkImport(ing.ctx, ing.ws, ing.key, body, "")
	}
	if err != nil {
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && apiErr.Status == 400 {
			msg := apiErr.Message()
			if msg == "" {
				msg = strings.TrimSpace(string(apiErr.Body))
			}
			ing.progress.clear()
			fmt.Fprintf(ing.stderr, "%s: %s\n", name, msg)
			ing.rejected += max(n, 1)
			return nil
		}
		return err
	}
	ing.accepted += n
	ing.progress.batchDone(n)
	return nil
}

// ingestCountActions counts the actions of a Track Event body, or of the event elements of a Bulk Import body.
func ingestCountActions(body []byte, kind string) int {
	type event struct {
		Type    string            `json:"type"`
		Actions []json.RawMessage `json:"actions"`
	}
	if kind == "track" {
		var e event
		if json.Unmarshal(body, &e) != nil {
			return 0
		}
		return len(e.Actions)
	}
	var b struct {
		Elements []json.RawMessage `json:"elements"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	n := 0
	for _, raw := range b.Elements {
		var e event
		if json.Unmarshal(raw, &e) == nil && e.Type == "event" {
			n += len(e.Actions)
		}
	}
	return n
}

// loadCampaigns PUTs each element of a campaigns file (a JSON array of catalog bodies, or {"campaigns":[…]}),
// stopping at the first error. Every element is checked for a campaign_id before anything is sent.
func (ing *ingester) loadCampaigns(path string) (created, updated int, err error) {
	display, r, closeFn, err := ing.ingestOpen(path)
	if err != nil {
		return 0, 0, &ingestFailure{where: display, err: err}
	}
	defer closeFn()
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, 0, &ingestFailure{where: display, err: err}
	}
	data = bytes.TrimSpace(data)
	var items []json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &items); err != nil {
			return 0, 0, &ingestFailure{where: display, err: fmt.Errorf("not a JSON array of campaigns: %v", err)}
		}
	case len(data) > 0 && data[0] == '{':
		var wrap struct {
			Campaigns *[]json.RawMessage `json:"campaigns"`
		}
		if err := json.Unmarshal(data, &wrap); err != nil || wrap.Campaigns == nil {
			msg := "an object must have a campaigns array"
			if err != nil {
				msg = err.Error()
			}
			return 0, 0, &ingestFailure{where: display, err: errors.New(msg)}
		}
		items = *wrap.Campaigns
	default:
		return 0, 0, &ingestFailure{where: display, err: errors.New(`want a JSON array of campaigns or {"campaigns":[…]}`)}
	}
	ids := make([]string, len(items))
	for i, it := range items {
		var head map[string]json.RawMessage
		if err := json.Unmarshal(it, &head); err != nil || head == nil {
			return 0, 0, &ingestFailure{where: fmt.Sprintf("%s: campaigns[%d]", display, i), err: errors.New("not a JSON object")}
		}
		var id string
		if raw, ok := head["campaign_id"]; ok {
			_ = json.Unmarshal(raw, &id)
		}
		if id == "" {
			return 0, 0, &ingestFailure{where: fmt.Sprintf("%s: campaigns[%d]", display, i), err: errors.New("campaign_id is required")}
		}
		ids[i] = id
	}
	for i, it := range items {
		status, _, err := ing.cl.PutCampaign(ing.ctx, ing.ws, ing.key, ids[i], it)
		if err != nil {
			return created, updated, &ingestFailure{where: fmt.Sprintf("%s: campaigns[%d] (%s)", display, i, ids[i]), err: err}
		}
		if status == 201 {
			created++
		} else {
			updated++
		}
	}
	return created, updated, nil
}
