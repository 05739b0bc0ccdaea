package main

// Client-side commands (ingest, stats, workspace over the admin API) talk to a server through package client.
// This file holds `ingest` and the helpers the three commands share; every helper name starts with "clientCLI" or
// "ingest" to stay clear of the other files of package main.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const (
	clientCLIDefaultServer = "http://localhost:8080"
	clientCLIUserAgent     = "campaignstats-cli"
	clientCLIEnvPrefix     = "CAMPAIGNSTATS_"

	ingestDefaultBatchBytes = 8 << 20
	ingestSniffBytes        = 1 << 20
)

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers

// clientCLIFlagSet returns a FlagSet that reports to stderr and prints usage followed by the flag defaults.
func clientCLIFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// clientCLIParse parses args allowing flags after positional arguments ("get ID --name x"; "--" ends flags), then
// fills every flag not given on the command line from CAMPAIGNSTATS_<FLAG> (upper-case, "-" → "_"). It returns the
// positional arguments, or ok=false with the exit code (0 for -h, 2 for a usage error).
func clientCLIParse(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if err := clientCLIApplyEnv(fs, getenv); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, 2, false
	}
	return pos, 0, true
}

// clientCLIApplyEnv sets every flag of fs that was not set on the command line from its CAMPAIGNSTATS_* variable.
func clientCLIApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		env := clientCLIEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			firstErr = fmt.Errorf("invalid value %q for %s: %v", v, env, err)
		}
	})
	return firstErr
}

// clientCLIFlagWasSet reports whether the flag was set on the command line or from the environment.
func clientCLIFlagWasSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func clientCLINew(server string) *client.Client {
	return client.New(server, client.WithUserAgent(clientCLIUserAgent))
}

// clientCLIPrintError writes an API error's body exactly as received (plus a newline), else the error text.
func clientCLIPrintError(stderr io.Writer, prefix string, err error) {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		body := bytes.TrimRight(apiErr.Body, "\r\n")
		if len(body) == 0 {
			fmt.Fprintf(stderr, "%sHTTP %d\n", prefix, apiErr.Status)
			return
		}
		fmt.Fprintf(stderr, "%s%s\n", prefix, body)
		return
	}
	fmt.Fprintf(stderr, "%serror: %v\n", prefix, err)
}

// clientCLIWriteJSON pretty-prints v (raw JSON is re-indented, keeping key order) to w.
func clientCLIWriteJSON(w io.Writer, v any) error {
	var raw []byte
	switch b := v.(type) {
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		raw = buf.Bytes()
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// clientCLIIsTerminal reports whether w is a character device (a terminal).
func clientCLIIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clientCLIList is a repeatable flag; each value may also hold a comma-separated list.
type clientCLIList []string

func (l *clientCLIList) String() string { return strings.Join(*l, ",") }

func (l *clientCLIList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// clientCLIOptInt is an integer flag that remembers whether it was set.
type clientCLIOptInt struct {
	v   int
	set bool
}

func (o *clientCLIOptInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *clientCLIOptInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = n, true
	return nil
}

func (o *clientCLIOptInt) ptr() *int {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

// clientCLISize is a byte-size flag: a number of bytes with an optional KiB/MiB/GiB suffix (KB/MB/GB and K/M/G are
// read as the same binary multiples, SPEC §1.6).
type clientCLISize int64

func (s *clientCLISize) String() string {
	if s == nil {
		return "0"
	}
	v := int64(*s)
	switch {
	case v > 0 && v%(1<<30) == 0:
		return strconv.FormatInt(v>>30, 10) + "GiB"
	case v > 0 && v%(1<<20) == 0:
		return strconv.FormatInt(v>>20, 10) + "MiB"
	case v > 0 && v%(1<<10) == 0:
		return strconv.FormatInt(v>>10, 10) + "KiB"
	}
	return strconv.FormatInt(v, 10)
}

func (s *clientCLISize) Set(v string) error {
	n, err := clientCLIParseSize(v)
	if err != nil {
		return err
	}
	*s = clientCLISize(n)
	return nil
}

func clientCLIParseSize(v string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"gib", 1 << 30}, {"gb", 1 << 30}, {"g", 1 << 30}, {"mib", 1 << 20}, {"mb", 1 << 20}, {"m", 1 << 20},
		{"kib", 1 << 10}, {"kb", 1 << 10}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, suf.s) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, suf.s)), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*float64(mult) > float64(math.MaxInt32)*4 {
		return 0, fmt.Errorf("invalid size %q (want bytes or a number with KiB, MiB or GiB)", v)
	}
	return int64(f * float64(mult)), nil
}

// ---------------------------------------------------------------------------------------------------------------
// ingest

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
	batchBytes := clientCLISize(ingestDefaultBatchBytes)
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

// ingestOpen opens a file ("-" = stdin) and transparently gunzips gzip content (detected by its magic bytes, so
// both "x.ndjson.gz" and gzip piped into stdin work); a leading UTF-8 BOM is dropped. Bytes read from the underlying
// input feed the progress count.
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
	br := bufio.NewReaderSize(&ingestCountingReader{r: raw, p: ing.progress}, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return display, nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return display, ingestSkipBOM(zr), closeFn, nil
	}
	return display, ingestSkipBOM(br), closeFn, nil
}

// ingestSkipBOM drops a leading UTF-8 byte-order mark, which some editors write and which is not JSON.
func ingestSkipBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br
}

func (ing *ingester) ingestFile(path string) error {
	display, r, closeFn, err := ing.ingestOpen(path)
	if err != nil {
		return &ingestFailure{where: display, err: err}
	}
	defer closeFn()
	format := ing.format
	if format == "auto" {
		if ingestIsNDJSONName(path) {
			format = "ndjson"
		} else {
			format, r, err = ingestSniff(r)
			if err != nil {
				return &ingestFailure{where: display, err: err}
			}
		}
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

// ingestIsNDJSONName: .ndjson / .jsonl, optionally followed by .gz.
func ingestIsNDJSONName(path string) bool {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(p, ".gz")
	ext := filepath.Ext(p)
	return ext == ".ndjson" || ext == ".jsonl"
}

// ingestSniff decides the format of an input from its content (SPEC §9.2 `--format auto`): a JSON object with an
// `events` member is a Streams envelope, one with "type":"event" is Track Event, "type":"transition" Bulk Import;
// anything else is NDJSON. It looks at the first MiB and reads further only when that is not enough to decide.
func ingestSniff(r io.Reader) (string, io.Reader, error) {
	br := bufio.NewReaderSize(r, ingestSniffBytes)
	prefix, err := br.Peek(ingestSniffBytes)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	if f, ok := ingestDetect(prefix, err != nil); ok {
		return f, br, nil
	}
	all, err := io.ReadAll(br)
	if err != nil {
		return "", nil, err
	}
	f, _ := ingestDetect(all, true)
	return f, bytes.NewReader(all), nil
}

// ingestDetect inspects the top-level members of the first JSON object in data. complete says data is the whole
// input; when it is not and the object is cut off before a decision, ok is false.
func ingestDetect(data []byte, complete bool) (format string, ok bool) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		if complete {
			return "ndjson", true
		}
		return "", false
	}
	if trimmed[0] != '{' {
		return "ndjson", true
	}
	undecided := func() (string, bool) {
		if complete {
			return "ndjson", true
		}
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return undecided()
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return undecided()
		}
		key, _ := tok.(string)
		switch key {
		case "events":
			return "streams", true
		case "type":
			var v any
			if err := dec.Decode(&v); err != nil {
				return undecided()
			}
			switch v {
			case "event":
				return "track", true
			case "transition":
				return "bulk", true
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return undecided()
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace: a cut-off object cannot be decided yet
		return undecided()
	}
	return "ndjson", true
}

// sendNDJSON splits the input on line boundaries into batches of at most batchBytes (a single longer line is sent
// alone) and posts each as gzip-compressed application/x-ndjson. Blank lines are not sent but are counted, so
// rejections are reported with their 1-based line number in the original input.
func (ing *ingester) sendNDJSON(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var buf bytes.Buffer
	var lines []int
	lineNo := 0
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			long = append(long, chunk...)
			line, long = long, nil
		}
		if len(line) > 0 {
			lineNo++
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(bytes.TrimSpace(line)) > 0 {
				if buf.Len() > 0 && buf.Len()+len(line)+1 > ing.batchBytes {
					if ferr := ing.flushNDJSON(name, buf.Bytes(), lines); ferr != nil {
						return ferr
					}
					buf.Reset()
					lines = lines[:0]
				}
				buf.Write(line)
				buf.WriteByte('\n')
				lines = append(lines, lineNo)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &ingestFailure{where: fmt.Sprintf("%s:%d", name, lineNo+1), err: err}
		}
	}
	if buf.Len() > 0 {
		return ing.flushNDJSON(name, buf.Bytes(), lines)
	}
	return nil
}

func (ing *ingester) flushNDJSON(name string, body []byte, lines []int) error {
	res, err := ing.cl.IngestStreams(ing.ctx, ing.ws, ing.key, client.ContentTypeNDJSON, body, true)
	if err != nil {
		return &ingestFailure{where: fmt.Sprintf("%s:%d-%d", name, lines[0], lines[len(lines)-1]), err: err}
	}
	ing.record(name, res, func(i int) string {
		if i >= 0 && i < len(lines) {
			return strconv.Itoa(lines[i])
		}
		return "?"
	})
	ing.progress.batchDone(len(lines))
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

// sendEnvelope re-batches a Streams batch envelope {…, "events":[…], …}: events are read one at a time and sent as
// envelopes of at most batchBytes (a single larger event goes alone), each carrying the top-level members that
// precede `events` (app_name, source, moe_request_id); members that follow `events` reach only the last batch.
// Rejections are reported with the event's 0-based index in the original `events` array.
func (ing *ingester) sendEnvelope(name string, r io.Reader) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not a Streams batch envelope: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a Streams batch envelope: the input is not a JSON object")
	}
	var head []byte // members before "events", each followed by a comma
	var tail []byte // members after "events", each preceded by a comma
	var batch []json.RawMessage
	batchStart, next := 0, 0
	sawEvents := false
	const eventsKey = `"events":[`
	// size is the body size of an envelope holding evs (and the trailing members when withTail).
	size := func(evs []json.RawMessage, withTail bool) int {
		n := 1 + len(head) + len(eventsKey) + 2 + max(len(evs)-1, 0)
		for _, e := range evs {
			n += len(e)
		}
		if withTail {
			n += len(tail)
		}
		return n
	}
	flush := func(evs []json.RawMessage, withTail bool) error {
		var body bytes.Buffer
		body.Grow(size(evs, withTail))
		body.WriteByte('{')
		body.Write(head)
		body.WriteString(eventsKey)
		for i, e := range evs {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(e)
		}
		body.WriteByte(']')
		if withTail {
			body.Write(tail)
		}
		body.WriteByte('}')
		res, err := ing.cl.IngestStreams(ing.ctx, ing.ws, ing.key, client.ContentTypeJSON, body.Bytes(), true)
		if err != nil {
			return &ingestFailure{where: fmt.Sprintf("%s:%d-%d", name, batchStart, batchStart+len(evs)-1), err: err}
		}
		start := batchStart
		ing.record(name, res, func(i int) string {
			if i >= 0 && i < len(evs) {
				return strconv.Itoa(start + i)
			}
			return "?"
		})
		ing.progress.batchDone(len(evs))
		batchStart += len(evs)
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("reading the envelope: %v", err)
		}
		key, _ := tok.(string)
		if key == "events" {
			if sawEvents {
				return errors.New("the envelope has two events members")
			}
			sawEvents = true
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("reading events: %v", err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return errors.New("events should be an array")
			}
			for dec.More() {
				var ev json.RawMessage
				if err := dec.Decode(&ev); err != nil {
					return fmt.Errorf("reading events[%d]: %v", next, err)
				}
				if len(batch) > 0 && size(batch, false)+1+len(ev) > ing.batchBytes {
					if err := flush(batch, false); err != nil {
						return err
					}
					batch = batch[:0]
				}
				batch = append(batch, ev)
				next++
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("reading events: %v", err)
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("reading member %q: %v", key, err)
		}
		k, _ := json.Marshal(key)
		if sawEvents {
			tail = append(append(append(append(tail, ','), k...), ':'), v...)
		} else {
			head = append(append(append(append(head, k...), ':'), v...), ',')
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("reading the envelope: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the Streams batch envelope (use --format ndjson for one object per line)")
	}
	if !sawEvents {
		return errors.New("not a Streams batch envelope: no events member")
	}
	if len(batch) == 0 {
		return nil
	}
	// The trailing members go with the last events; send the first ones separately if they no longer fit.
	split := 0
	for split < len(batch)-1 && size(batch[split:], true) > ing.batchBytes {
		split++
	}
	if split > 0 {
		if err := flush(batch[:split], false); err != nil {
			return err
		}
	}
	return flush(batch[split:], true)
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

// ingestCountingReader counts bytes read from an input into the progress display.
type ingestCountingReader struct {
	r io.Reader
	p *ingestProgress
}

func (c *ingestCountingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.bytes += int64(n)
	return n, err
}

// ingestProgress draws "read / total, events, events/s" on one stderr line, only when stderr is a terminal and
// the run has lasted over a second.
type ingestProgress struct {
	w       io.Writer
	enabled bool
	total   int64 // bytes of all inputs; < 0 when stdin is among them
	bytes   int64
	events  int64
	start   time.Time
	last    time.Time
	shown   bool
}

func (p *ingestProgress) batchDone(events int) {
	p.events += int64(events)
	p.draw(false)
}

func (p *ingestProgress) draw(force bool) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if !force && (now.Sub(p.start) < time.Second || now.Sub(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = now
	total := "?"
	if p.total >= 0 {
		total = ingestHumanBytes(p.total)
	}
	rate := 0.0
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = float64(p.events) / el
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s / %s sent, %d events, %.0f events/s", ingestHumanBytes(p.bytes), total, p.events, rate)
	p.shown = true
}

func (p *ingestProgress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *ingestProgress) finish() {
	if !p.enabled || p.last.IsZero() {
		return
	}
	p.draw(true)
	fmt.Fprintln(p.w)
	p.shown = false
}

func ingestHumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
