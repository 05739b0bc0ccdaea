package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// The hostile-input suite: malformed and oversized requests against every endpoint family of a real server
// process, each answered with the exact status and error body the SPEC prescribes; afterwards the server still
// serves, logged nothing at ERROR level and its memory stayed bounded.

// framing says how a hostile request's body is framed on the wire.
type framing int

const (
	frameLength  framing = iota // Content-Length: len(body) (none for a body-less GET, HEAD or DELETE)
	frameLie                    // Content-Length: clValue whatever the body; the write side is closed after the body
	frameChunked                // Transfer-Encoding: chunked; body is sent as is (already chunk-framed)
)

// hostileCase is one request and its exact expected answer.
type hostileCase struct {
	family, name string
	method       string
	target       string   // request-target exactly as sent (percent-encode it yourself)
	header       []string // header lines sent verbatim ("Name: value"); any bytes allowed
	body         []byte
	gen          func() []byte // large bodies, built when the case runs
	framing      framing
	clValue      string // Content-Length of frameLie

	status  int
	json    string            // expected JSON body; "{{rid}}" stands for the response's X-Request-Id
	text    string            // expected plain-text body
	raw     []byte            // expected exact body
	headers map[string]string // expected response header values
	noRID   bool              // answered by net/http before any handler: no X-Request-Id
}

const ridPlaceholder = "{{rid}}"

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ---- expected bodies ----

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ingestFail is the ingest error envelope of SPEC §3.1 / §3.11.
func ingestFail(typ, attr, msg string) string {
	return mustJSON(map[string]any{"status": "fail", "error": map[string]any{
		"attribute": attr, "message": msg, "type": typ, "request_id": ridPlaceholder}})
}

// apiFail is the {title, description, code} shape of SPEC §5.1 / §5.18; desc "" encodes as null.
func apiFail(title, desc, code string) string {
	var d any
	if desc != "" {
		d = desc
	}
	return mustJSON(map[string]any{"title": title, "description": d, "code": code})
}

func invalidValue(desc string) string {
	return apiFail("Invalid Field Value", desc, "invalid_field_value")
}
func invalidType(desc string) string { return apiFail("Invalid Field Value", desc, "invalid_type") }

// downloadFail is the download 400 body of SPEC §8.9.
func downloadFail(attr, msg string) string {
	return mustJSON(map[string]any{"error": map[string]any{
		"attribute": attr, "message": msg, "type": "BAD REQUEST", "request_id": ridPlaceholder}})
}

// ---- generated bodies ----

// nested returns n opening and n closing brackets around inner.
func nested(n int, open, inner, close string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

// padded returns a JSON object of exactly size bytes: prefix, a "pad" member of 'a's, then "}".
func padded(prefix string, size int) []byte {
	head := prefix + `"pad":"`
	n := size - len(head) - len(`"}`)
	return []byte(head + strings.Repeat("a", n) + `"}`)
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gzipBomb returns one gzip member that decompresses to mib MiB of zeros, in about mib KiB: 1 MiB of zeros is
// deflated once, and its sync-flushed block sequence, which only refers back into a window of zeros, is repeated.
func gzipBomb(mib int) []byte {
	var seg bytes.Buffer
	fw, _ := flate.NewWriter(&seg, flate.BestCompression)
	zero := make([]byte, 1<<20)
	fw.Write(zero)
	fw.Flush()
	first := bytes.Clone(seg.Bytes())
	seg.Reset()
	fw.Write(zero)
	fw.Flush()
	rest := bytes.Clone(seg.Bytes())
	seg.Reset()
	fw.Close()
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	out = append(out, first...)
	for i := 1; i < mib; i++ {
		out = append(out, rest...)
	}
	out = append(out, seg.Bytes()...)
	crc := uint32(0)
	for i := 0; i < mib; i++ {
		crc = crc32.Update(crc, crc32.IEEETable, zero)
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(mib<<20))
}

// repeated returns unit repeated until the result holds at least size bytes.
func repeated(unit []byte, size int) []byte {
	return bytes.Repeat(unit, (size+len(unit)-1)/len(unit))
}

// chunked frames body as HTTP/1.1 chunks of at most size bytes.
func chunked(body []byte, size int) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

func basicLine(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func signature(appID, filename, key string) string {
	sum := sha256.Sum256([]byte(appID + "|" + filename + "|" + key))
	return hex.EncodeToString(sum[:])
}

// ---- the wire ----

// hostileResponse is what came back.
type hostileResponse struct {
	status int
	header http.Header
	body   []byte
}

// sendRaw writes the case's request on a new connection and reads the answer. The body is written concurrently
// with the read, so an answer sent before the whole body was read (413, 415, …) is received either way.
func sendRaw(t *testing.T, addr string, c *hostileCase, body []byte) hostileResponse {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a hang fails the case instead of the whole run
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", c.method, c.target, addr)
	for _, h := range c.header {
		head.WriteString(h + "\r\n")
	}
	switch c.framing {
	case frameLength:
		if len(body) > 0 || (c.method != http.MethodGet && c.method != http.MethodHead && c.method != http.MethodDelete) {
			fmt.Fprintf(&head, "Content-Length: %d\r\n", len(body))
		}
	case frameLie:
		head.WriteString("Content-Length: " + c.clValue + "\r\n")
	case frameChunked:
		head.WriteString("Transfer-Encoding: chunked\r\n")
	}
	head.WriteString("\r\n")
	written := make(chan struct{})
	go func() {
		defer close(written)
		if _, err := conn.Write(head.Bytes()); err != nil {
			return
		}
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 256<<10)
			if _, err := conn.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		if c.framing == frameLie {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: c.method})
	if err != nil {
		conn.Close()
		<-written
		t.Fatalf("reading the answer: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	conn.Close()
	<-written
	if err != nil {
		t.Fatalf("reading the answer body: %v", err)
	}
	return hostileResponse{resp.StatusCode, resp.Header, out}
}

// replaceRID replaces the request id placeholder in a decoded JSON value.
func replaceRID(v any, rid string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = replaceRID(e, rid)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceRID(e, rid)
		}
	case string:
		if x == ridPlaceholder {
			return rid
		}
	}
	return v
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// firstDiff describes the first place where two decoded JSON values differ.
func firstDiff(got, want any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return path + "." + k + " is missing"
			}
			if !reflect.DeepEqual(gv, wv) {
				return firstDiff(gv, wv, path+"."+k)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return path + "." + k + " is not expected"
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		for i := range min(len(g), len(w)) {
			if !reflect.DeepEqual(g[i], w[i]) {
				return firstDiff(g[i], w[i], fmt.Sprintf("%s[%d]", path, i))
			}
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s has %d elements, want %d", path, len(g), len(w))
		}
	}
	return fmt.Sprintf("%s: %s, want %s", path, clip([]byte(mustJSON(got))), clip([]byte(mustJSON(want))))
}

func clip(b []byte) string {
	if len(b) > 600 {
		return fmt.Sprintf("%q… (%d bytes)", b[:600], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// sentRequestID returns the X-Request-Id the case sends, if any.
func (c *hostileCase) sentRequestID() (string, bool) {
	for _, h := range c.header {
		if name, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "X-Request-Id") {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// check compares an answer with the case's expectation.
func (c *hostileCase) check(t *testing.T, r hostileResponse) {
	t.Helper()
	if r.status != c.status {
		t.Fatalf("status %d, want %d; body %s", r.status, c.status, clip(r.body))
	}
	rid := r.header.Get("X-Request-Id")
	if !c.noRID {
		if !requestIDRe.MatchString(rid) {
			t.Errorf("X-Request-Id %q", rid)
		}
		if sent, ok := c.sentRequestID(); ok {
			if requestIDRe.MatchString(sent) && rid != sent {
				t.Errorf("X-Request-Id %q, want the request's %q", rid, sent)
			}
			if !requestIDRe.MatchString(sent) && (rid == sent || len(rid) != 16) {
				t.Errorf("X-Request-Id %q for the invalid request id %q: want 16 generated characters", rid, sent)
			}
		}
	}
	for k, v := range c.headers {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	switch {
	case c.json != "":
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		got, err := decodeJSON(r.body)
		if err != nil {
			t.Fatalf("body is not JSON (%v): %s", err, clip(r.body))
		}
		want, err := decodeJSON([]byte(c.json))
		if err != nil {
			t.Fatalf("bad expectation %s: %v", c.json, err)
		}
		if want = replaceRID(want, rid); !reflect.DeepEqual(got, want) {
			t.Fatalf("body differs at %s\nbody %s\nwant %s", firstDiff(got, want, "$"), clip(r.body), clip([]byte(mustJSON(want))))
		}
	case c.text != "":
		if string(r.body) != c.text {
			t.Fatalf("body %s, want %q", clip(r.body), c.text)
		}
	case c.raw != nil:
		if !bytes.Equal(r.body, c.raw) {
			t.Fatalf("body %s, want %s", clip(r.body), clip(c.raw))
		}
	default:
		if len(r.body) != 0 {
			t.Fatalf("body %s, want none", clip(r.body))
		}
	}
}

// fingerprint identifies a case's request, so that the suite can count distinct inputs.
func (c *hostileCase) fingerprint(body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00", c.method, c.target, c.framing, c.clValue)
	for _, l := range c.header {
		fmt.Fprintf(h, "%s\x00", l)
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *hostileCase) run(t *testing.T, addr string) string {
	t.Helper()
	body := c.body
	if c.gen != nil {
		body = c.gen()
	}
	c.check(t, sendRaw(t, addr, c, body))
	return c.fingerprint(body)
}

// ---- the suite ----

// hostileEnv is the state the cases refer to.
type hostileEnv struct {
	addr     string
	ws, off  *client.Workspace // an active and a disabled workspace
	campaign string            // a PUSH campaign of ws
	reportID string            // a report of ws
	file     string            // a file produced by a run of that report
	fileBody []byte
}

// TestHostileInputs sends every case of hostileCases, and the overload cases, to real server processes and checks
// each answer's exact status and body; then that the server still ingests and answers the Stats API correctly,
// logged nothing at ERROR level and grew its memory by less than 200 MiB over the whole suite.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	srv := startServerProcess(t, t.TempDir())
	c, ws := srv.newWorkspace(t, "hostile")
	off, err := c.CreateWorkspace(ctx, crashAdminToken, client.CreateWorkspaceRequest{Name: "hostile-off"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableWorkspace(ctx, crashAdminToken, off.WorkspaceID); err != nil {
		t.Fatal(err)
	}
	env := &hostileEnv{addr: strings.TrimPrefix(srv.Base, "http://"), ws: ws, off: off, campaign: "hc1"}
	if st, _, err := c.PutCampaign(ctx, ws.WorkspaceID, ws.DataKey, env.campaign, map[string]any{"channel": "PUSH", "campaign_name": "Hostile"}); err != nil || st != 201 {
		t.Fatalf("catalog PUT: %d %v", st, err)
	}
	// A quarantined event, so that the quarantine filters have something to filter.
	if res, err := c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, []any{json.RawMessage(
		`{"event_uuid":"q1","event_code":"Purchase","event_time":946684799,"uid":"u1"}`)}); err != nil || res.Rejected != 1 {
		t.Fatalf("seeding the quarantine: %+v %v", res, err)
	}
	// A report with a produced file, for the download cases.
	rep, err := c.CreateReport(ctx, ws.WorkspaceID, ws.ReportKey, map[string]any{"name": "Hostile", "range": map[string]any{"last_days": 1}})
	if err != nil {
		t.Fatal(err)
	}
	env.reportID = rep.ReportID
	run, err := c.RunReport(ctx, ws.WorkspaceID, ws.ReportKey, rep.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if run, err = c.WaitReportRun(wctx, ws.WorkspaceID, ws.ReportKey, rep.ReportID, run.RunID, 50*time.Millisecond); err != nil || run.Status != client.RunSuccessful || run.Filename == nil {
		t.Fatalf("report run: %+v %v", run, err)
	}
	env.file = *run.Filename
	var file bytes.Buffer
	if _, err := c.DownloadReport(ctx, ws.WorkspaceID, ws.ReportKey, env.file, &file, nil); err != nil {
		t.Fatal(err)
	}
	env.fileBody = file.Bytes()

	cases := hostileCases(env)
	rssBefore := srv.Status("VmRSS")
	names := map[string]bool{}
	inputs := map[string]string{}
	for i := range cases {
		hc := &cases[i]
		name := hc.family + "/" + hc.name
		if names[name] {
			t.Fatalf("duplicate case name %q", name)
		}
		names[name] = true
		t.Run(name, func(t *testing.T) {
			fp := hc.run(t, env.addr)
			if other, dup := inputs[fp]; dup {
				t.Errorf("sends the same request as %q", other)
			}
			inputs[fp] = name
		})
	}
	overload := overloadCases(t)
	for _, name := range overload {
		names[name] = true
	}
	perFamily := map[string]int{}
	for name := range names {
		family, _, _ := strings.Cut(name, "/")
		perFamily[family]++
	}
	t.Logf("%d distinct hostile inputs: %v", len(names), perFamily)
	if len(names) < 100 {
		t.Errorf("only %d distinct cases, want at least 100", len(names))
	}

	// The server still serves: a valid ingest is counted by the Stats API.
	eventTime := time.Now().Add(-time.Hour).UTC()
	res, err := c.IngestEvents(ctx, ws.WorkspaceID, ws.DataKey, []any{map[string]any{"event_uuid": "after-1", "event_code": "n_i_s",
		"event_time": eventTime.Unix(), "uid": "u-after", "event_attributes": map[string]any{"campaign_id": env.campaign}}})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("ingest after the hostile inputs: %+v %v", res, err)
	}
	day := eventTime.Format(time.DateOnly)
	st, err := c.CampaignStats(ctx, ws.WorkspaceID, ws.ReportKey, client.StatsRequest{RequestID: "after", CampaignIDs: []string{env.campaign},
		StartDate: day, EndDate: day, AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	if err != nil {
		t.Fatal(err)
	}
	node, ok := st.Data[env.campaign][0].Node("ALL_PLATFORMS", "all_locale", "all_variations")
	if !ok || node.PerformanceStats["sent"] != 1 {
		t.Fatalf("stats after the hostile inputs: %+v", st.Data[env.campaign])
	}
	if errs := srv.ErrorLogs(); len(errs) > 0 {
		t.Errorf("%d ERROR log lines, first: %s", len(errs), errs[0])
	}
	hwm := srv.Status("VmHWM")
	growth := hwm - rssBefore
	t.Logf("server RSS before %d KiB, peak after %d KiB: growth %d KiB", rssBefore, hwm, growth)
	if rssBefore == 0 || hwm == 0 {
		t.Logf("no /proc status: RSS not checked")
	} else if growth > 200<<10 {
		t.Errorf("server memory grew by %d MiB over the suite, want < 200 MiB", growth>>10)
	}
}

// Texts of SPEC §3.11.
const (
	msgDecode   = "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8."
	msgGunzip   = "Could not decompress the gzip request body"
	msgIdemKey  = "Idempotency-Key must be 1 to 255 printable ASCII characters"
	msgNoEndpnt = "No such endpoint"
)

// hostileCases returns the table. Bodies over a few hundred KiB are generated when their case runs.
func hostileCases(e *hostileEnv) []hostileCase {
	ws, dk, rk := e.ws.WorkspaceID, e.ws.DataKey, e.ws.ReportKey
	off := e.off.WorkspaceID
	jsonCT, ndjsonCT, gz := "Content-Type: application/json", "Content-Type: application/x-ndjson", "Content-Encoding: gzip"
	ing := func(extra ...string) []string { return append([]string{basicLine(ws, dk), jsonCT}, extra...) }
	stH := func(extra ...string) []string {
		return append([]string{basicLine(ws, rk), "MOE-APPKEY: " + ws}, extra...)
	}
	repH := []string{basicLine(ws, rk)}
	admH := []string{"Authorization: Bearer " + crashAdminToken}
	b := func(s string) []byte { return []byte(s) }

	var cs []hostileCase
	add := func(family string, list ...hostileCase) {
		for _, c := range list {
			c.family = family
			cs = append(cs, c)
		}
	}

	// Shared hostile fragments.
	deep := nested(100000, "[", "", "]")
	deep50k := nested(50000, "[", "", "]") // within the 128 KiB limit of Track Event, Bulk Import, user and device bodies
	kib := func(n int) string { return strings.Repeat("k", n<<10) }
	long257 := strings.Repeat("ü", 257)
	badUTF8 := "\xff\xfe\xfd"
	nulInID := ws[:12] + "\x00" + ws[13:]
	bomb := func() []byte { return gzipBomb(1024) } // 1 GiB of zeros in about 1 MiB
	multiBomb := func() []byte { return bytes.Repeat(gzipOf(make([]byte, 1<<20)), 64) }
	emptyMembers := func() []byte { return repeated(gzipOf(nil), 17<<20) }
	truncatedGzip := gzipOf(b(`{"events":[{"event_uuid":"t1","event_code":"Purchase","event_time":1740819600,"uid":"u1"}]}`))
	truncatedGzip = truncatedGzip[:len(truncatedGzip)/2]

	// ---- Streams (SPEC §3.1–§3.5, §3.11, §12.6, §12.10) ----
	S := "/v1/streams/" + ws
	okEnv := b(`{"events":[]}`)
	tooBig16 := ingestFail("PayloadTooLarge", "body", "Payload size exceeds 16384 KB")
	add("streams",
		hostileCase{name: "no Authorization", method: "POST", target: S, header: []string{jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "Authentication Header Required")},
		hostileCase{name: "Bearer scheme", method: "POST", target: S, header: []string{"Authorization: Bearer " + dk, jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "No identity information found")},
		hostileCase{name: "Basic with bad base64", method: "POST", target: S, header: []string{"Authorization: Basic %%%%", jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "No identity information found")},
		hostileCase{name: "Basic without colon", method: "POST", target: S,
			header: []string{"Authorization: Basic " + base64.StdEncoding.EncodeToString(b(ws+dk)), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "No identity information found")},
		hostileCase{name: "Basic username invalid UTF-8", method: "POST", target: S, header: []string{basicLine(badUTF8, dk), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")},
		hostileCase{name: "Basic username with NUL", method: "POST", target: S, header: []string{basicLine(nulInID, dk), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")},
		hostileCase{name: "Basic username of 512 KiB", method: "POST", target: S, header: []string{basicLine(kib(512), dk), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "APP_ID", "Invalid APP_ID used in Authentication Header")},
		hostileCase{name: "path names another workspace", method: "POST", target: "/v1/streams/" + off, header: ing(), body: okEnv,
			status: 409, json: ingestFail("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
		hostileCase{name: "path segment invalid UTF-8", method: "POST", target: "/v1/streams/%FF%FE", header: ing(), body: okEnv,
			status: 409, json: ingestFail("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
		hostileCase{name: "path segment with NUL", method: "POST", target: "/v1/streams/" + ws[:23] + "%00", header: ing(), body: okEnv,
			status: 409, json: ingestFail("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
		hostileCase{name: "path with encoded slash", method: "POST", target: S + "%2Fx", header: ing(), body: okEnv,
			status: 409, json: ingestFail("Authentication Mismatch", "APP_ID", "App key mismatch in params and authentication")},
		hostileCase{name: "wrong data key", method: "POST", target: S, header: []string{basicLine(ws, strings.Repeat("0", 40)), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		hostileCase{name: "report key as data key", method: "POST", target: S, header: []string{basicLine(ws, rk), jsonCT}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		hostileCase{name: "disabled workspace", method: "POST", target: "/v1/streams/" + off, header: []string{basicLine(off, e.off.DataKey), jsonCT}, body: okEnv,
			status: 403, json: ingestFail("Account Suspended", "APP_ID", "Workspace is disabled")},
		hostileCase{name: "disabled workspace before content type", method: "POST", target: "/v1/streams/" + off,
			header: []string{basicLine(off, e.off.DataKey), "Content-Type: text/plain"}, body: okEnv,
			status: 403, json: ingestFail("Account Suspended", "APP_ID", "Workspace is disabled")},
		hostileCase{name: "no Content-Type", method: "POST", target: S, header: []string{basicLine(ws, dk)}, body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "Content-Type text/plain", method: "POST", target: S, header: []string{basicLine(ws, dk), "Content-Type: text/plain"}, body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		// Parameters are ignored (SPEC §3.2), malformed ones too: the media type is application/json.
		hostileCase{name: "Content-Type with a malformed parameter", method: "POST", target: S, header: []string{basicLine(ws, dk), "Content-Type: application/json; =;"}, body: okEnv,
			status: 200, json: `{"status":"success","accepted":0,"duplicates":0,"rejected":0,"errors":[]}`},
		hostileCase{name: "Content-Type unparsable", method: "POST", target: S, header: []string{basicLine(ws, dk), "Content-Type: application json"}, body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "Content-Type invalid UTF-8", method: "POST", target: S, header: []string{basicLine(ws, dk), "Content-Type: application/" + badUTF8}, body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "Content-Encoding br", method: "POST", target: S, header: ing("Content-Encoding: br"), body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
		hostileCase{name: "Content-Encoding gzip twice", method: "POST", target: S, header: ing("Content-Encoding: gzip, gzip"), body: gzipOf(gzipOf(okEnv)),
			status: 415, json: ingestFail("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
		hostileCase{name: "bad Content-Type before bad Content-Encoding", method: "POST", target: S,
			header: []string{basicLine(ws, dk), "Content-Type: text/csv", "Content-Encoding: zstd"}, body: okEnv,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "bad Content-Encoding before size", method: "POST", target: S, header: ing("Content-Encoding: compress"),
			gen:    func() []byte { return padded(`{"events":[],`, 17<<20) },
			status: 415, json: ingestFail("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
		hostileCase{name: "empty body", method: "POST", target: S, header: ing(),
			status: 400, json: ingestFail("Empty request body", "body", "Request body is empty")},
		hostileCase{name: "white space only", method: "POST", target: S, header: ing(), body: b(" \r\n\t \n"),
			status: 400, json: ingestFail("Empty request body", "body", "Request body is empty")},
		hostileCase{name: "16 MiB plus one byte", method: "POST", target: S, header: ing(),
			gen:    func() []byte { return padded(`{"events":[],`, 16<<20+1) },
			status: 413, json: tooBig16},
		hostileCase{name: "NDJSON of 40 MiB", method: "POST", target: S, header: []string{basicLine(ws, dk), ndjsonCT},
			gen:    func() []byte { return repeated(b("{}\n"), 40<<20) },
			status: 413, json: tooBig16},
		hostileCase{name: "gzip bomb of 1 GiB", method: "POST", target: S, header: ing(gz), gen: bomb,
			status: 413, json: tooBig16},
		hostileCase{name: "64 gzip members of 1 MiB as x-gzip", method: "POST", target: S, header: ing("Content-Encoding: x-gzip"), gen: multiBomb,
			status: 413, json: tooBig16},
		hostileCase{name: "endless empty gzip members", method: "POST", target: S, header: ing(gz), gen: emptyMembers,
			status: 413, json: tooBig16},
		hostileCase{name: "gzip of random bytes", method: "POST", target: S, header: ing(gz), body: b("\x1f\x8b\x08\x00garbage-garbage-garbage"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgGunzip)},
		hostileCase{name: "not gzip at all", method: "POST", target: S, header: ing(gz), body: okEnv,
			status: 400, json: ingestFail("Malformed JSON", "body", msgGunzip)},
		hostileCase{name: "truncated gzip", method: "POST", target: S, header: ing(gz), body: truncatedGzip,
			status: 400, json: ingestFail("Malformed JSON", "body", msgGunzip)},
		hostileCase{name: "gzip of nothing", method: "POST", target: S, header: ing(gz), body: gzipOf(nil),
			status: 400, json: ingestFail("Empty request body", "body", "Request body is empty")},
		hostileCase{name: "gzip of invalid UTF-8", method: "POST", target: S, header: ing(gz), body: gzipOf(b(`{"events":[],"x":"` + badUTF8 + `"}`)),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "gzip bytes without Content-Encoding", method: "POST", target: S, header: ing(), body: gzipOf(okEnv),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "invalid UTF-8 in a string", method: "POST", target: S, header: ing(),
			body:   b(`{"events":[{"event_uuid":"x` + badUTF8 + `","event_code":"Purchase","event_time":1740819600,"uid":"u1"}]}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "raw NUL in a string", method: "POST", target: S, header: ing(),
			body:   b("{\"events\":[{\"event_uuid\":\"a\x00b\",\"event_code\":\"Purchase\",\"event_time\":1740819600,\"uid\":\"u1\"}]}"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "NUL between tokens", method: "POST", target: S, header: ing(), body: b("{\"events\":\x00[]}"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "top-level array", method: "POST", target: S, header: ing(), body: b(`[{"events":[]}]`),
			status: 400, json: ingestFail("InvalidParams", "body", "body should be a JSON object")},
		hostileCase{name: "top-level number 1e400", method: "POST", target: S, header: ing(), body: b(`1e400`),
			status: 400, json: ingestFail("InvalidParams", "body", "body should be a JSON object")},
		hostileCase{name: "events is an object", method: "POST", target: S, header: ing(), body: b(`{"events":{"0":{}}}`),
			status: 400, json: ingestFail("InvalidParams", "events", "events should be an array")},
		hostileCase{name: "events nested 100000 deep", method: "POST", target: S, header: ing(), body: b(`{"events":[` + deep + `]}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "object nested 100000 deep", method: "POST", target: S, header: ing(), body: b(nested(100000, `{"a":`, "1", "}")),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "trailing garbage", method: "POST", target: S, header: ing(), body: b(`{"events":[]}]`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "two objects", method: "POST", target: S, header: ing(), body: b(`{"events":[]}{"events":[]}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "unterminated string", method: "POST", target: S, header: ing(), body: b(`{"events":["`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "NDJSON with invalid UTF-8", method: "POST", target: S, header: []string{basicLine(ws, dk), ndjsonCT},
			body:   b("{\"event_uuid\":\"n0\",\"event_code\":\"Purchase\",\"event_time\":1740819600,\"uid\":\"u1\"}\n{\"x\":\"" + badUTF8 + "\"}\n"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "chunked with a bad chunk size", method: "POST", target: S, header: ing(), framing: frameChunked,
			body:   b("5\r\n{\"eve\r\nzz\r\nnts\":[]}\r\n0\r\n\r\n"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "chunked over 16 MiB", method: "POST", target: S, header: ing(), framing: frameChunked,
			gen:    func() []byte { return chunked(padded(`{"events":[],`, 17<<20), 1<<20) },
			status: 413, json: tooBig16},
		hostileCase{name: "Content-Length longer than the body", method: "POST", target: S, header: ing(), framing: frameLie, clValue: "1000", body: okEnv,
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "Content-Length of 1 GiB, short body", method: "POST", target: S, header: ing(), framing: frameLie, clValue: "1073741824", body: okEnv,
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "Content-Length shorter than the body", method: "POST", target: S, header: ing(), framing: frameLie, clValue: "5", body: okEnv,
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "X-Request-Id too long", method: "POST", target: S, header: []string{jsonCT, "X-Request-Id: " + strings.Repeat("r", 65)}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "Authentication Header Required")},
		hostileCase{name: "X-Request-Id invalid UTF-8", method: "POST", target: S, header: []string{jsonCT, "X-Request-Id: r" + badUTF8}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "Authentication Header Required")},
		hostileCase{name: "X-Request-Id path traversal", method: "POST", target: S, header: []string{jsonCT, "X-Request-Id: ../../etc/passwd"}, body: okEnv,
			status: 401, json: ingestFail("Authentication required", "Authorization", "Authentication Header Required")},
		hostileCase{name: "method GET", method: "GET", target: S, header: ing(),
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
		hostileCase{name: "method HEAD", method: "HEAD", target: S, header: ing(), status: 405},
		hostileCase{name: "duplicate events key, the last not an array", method: "POST", target: S, header: ing(), body: b(`{"events":[],"events":"[]"}`),
			status: 400, json: ingestFail("InvalidParams", "events", "events should be an array")},
		hostileCase{name: "method FOO", method: "FOO", target: S, header: ing(), body: okEnv,
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
		hostileCase{name: "no workspace segment", method: "POST", target: "/v1/streams/", header: ing(), body: okEnv,
			status: 404, json: ingestFail("NotFound", "path", msgNoEndpnt)},
		hostileCase{name: "extra path segment", method: "POST", target: S + "/x", header: ing(), body: okEnv,
			status: 404, json: ingestFail("NotFound", "path", msgNoEndpnt)},
	)
	// Individually bad events inside a well-formed body: 200, each rejected with its rule's message (SPEC §3.3,
	// §3.4), the 2 MiB uuid echoed as read.
	hugeUUID := strings.Repeat("u", 2<<20)
	ev := func(uuid, rest string) string {
		return `{"event_uuid":` + uuid + `,"event_code":"Purchase","uid":"u1"` + rest + `}`
	}
	type rej struct {
		Index     int    `json:"index"`
		EventUUID string `json:"event_uuid"`
		Message   string `json:"message"`
	}
	streamsOK := func(accepted int, errs ...rej) string {
		if errs == nil {
			errs = []rej{}
		}
		return mustJSON(map[string]any{"status": "success", "accepted": accepted, "duplicates": 0, "rejected": len(errs), "errors": errs})
	}
	ndLines := []string{
		deep,
		"\x00",
		ev(`"`+hugeUUID+`"`, `,"event_time":1740819600`),
		`"just a string"`,
		`{"app_name":"x","event":5}`,
		ev(`1e400`, `,"event_time":1e400`),
		ev(`"t-neg"`, `,"event_time":-1`),
		ev(`"t-far"`, `,"event_time":1e15`),
		ev(`"t-feb30"`, `,"event_time":"2025-02-30T00:00:00Z"`),
		ev(`"t-nul"`, `,"event_time":"2025-03-01\u0000"`),
		ev(`"attrs"`, `,"event_time":1740819600,"event_attributes":[]`),
		`{"event_uuid":"long-uid","event_code":"Purchase","event_time":1740819600,"uid":"` + long257 + `"}`,
		`{"event_uuid":"bad-cid","event_code":"MOE_EMAIL_SENT","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"a b"}}`,
		`{"event_uuid":"nul-cid","event_code":"MOE_EMAIL_SENT","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"\u0000"}}`,
		`{"event_uuid":"long-cid","event_code":"MOE_EMAIL_SENT","event_time":1740819600,"uid":"u1","event_attributes":{"campaign_id":"` + strings.Repeat("c", 129) + `"}}`,
		`{"event_uuid":"","event_code":"Purchase","event_time":1740819600,"uid":"u1"}`,
		`{"event_uuid":"no-code","event_time":1740819600,"uid":"u1"}`,
		`{"event_uuid":"no-user","event_code":"Purchase","event_time":1740819600}`,
		`{"event_uuid":"deep-ok","event_code":"Purchase","event_time":1740819600,"uid":"u1","event_attributes":{"x":` + nested(5000, "[", "", "]") + `}}`,
		ev(`"t-huge"`, `,"event_time":1e19`), // milliseconds past any representable instant
	}
	add("streams",
		hostileCase{name: "NDJSON of hostile events", method: "POST", target: S, header: []string{basicLine(ws, dk), ndjsonCT},
			gen:    func() []byte { return b(strings.Join(ndLines, "\n")) },
			status: 200, json: streamsOK(1,
				rej{0, "", "line is not valid JSON"},
				rej{1, "", "line is not valid JSON"},
				rej{2, hugeUUID, "event_uuid is longer than 128 characters"},
				rej{3, "", "event is not a JSON object"},
				rej{4, "", "event wrapper has no event object"},
				rej{5, "1e400", "event_time is not a valid epoch or ISO-8601 time"},
				rej{6, "t-neg", "event_time is not a valid epoch or ISO-8601 time"},
				rej{7, "t-far", "event_time is more than 5 minutes in the future"},
				rej{8, "t-feb30", "event_time is not a valid epoch or ISO-8601 time"},
				rej{9, "t-nul", "event_time is not a valid epoch or ISO-8601 time"},
				rej{10, "attrs", "event_attributes must be an object"},
				rej{11, "long-uid", "user identity is longer than 256 characters"},
				rej{12, "bad-cid", "event_attributes.campaign_id is invalid"},
				rej{13, "nul-cid", "event_attributes.campaign_id is invalid"},
				rej{14, "long-cid", "event_attributes.campaign_id is invalid"},
				rej{15, "", "event_uuid is required"},
				rej{16, "no-code", "event_code or event_name is required"},
				rej{17, "no-user", "no user identity (uid, user_attributes.moengage_user_id, device_attributes.moengage_device_id, push_id, email_id or mobile_number)"},
				rej{19, "t-huge", "event_time is not a valid epoch or ISO-8601 time"},
			)},
		// Escaped NUL characters and lone surrogates are valid JSON text: such events are stored and counted.
		hostileCase{name: "escaped NUL and lone surrogates", method: "POST", target: S, header: ing(),
			body: b(`{"events":[{"event_uuid":"\u0000","event_code":"Purchase\u0000","event_time":1740819600,"uid":"\u0000"},
				{"event_uuid":"\ud800","event_code":"Purchase","event_time":"1740819600","uid":"\udfff","event_attributes":{"\u0000":"\ud800\u0000"}},
				{"event_uuid":"nul-3","event_code":"MOE_EMAIL_SENT","event_time":1704067200,"uid":"u\u0000","event_attributes":{"campaign_id":"e-nul","campaign_name":"\u0000","moe_campaign_tags":"a\u0000,b"}}]}`),
			status: 200, json: streamsOK(3)},
		hostileCase{name: "envelope event nested 20 deep", method: "POST", target: S, header: ing(),
			body:   b(`{"events":[` + nested(20, "[", `{"event_uuid":"n20"}`, "]") + `,` + ev(`"deep-env"`, `,"event_time":1740819600,"user_attributes":`+nested(20, `{"a":`, "1", "}")) + `]}`),
			status: 200, json: streamsOK(1, rej{0, "", "event is not a JSON object"})},
	)

	// ---- Track Event (SPEC §3.8, §3.10, §3.11, §12.7, §12.11, §12.12) ----
	T := "/v1/event/" + ws
	track := func(actions string) []byte {
		return b(`{"type":"event","customer_id":"u1","actions":[` + actions + `]}`)
	}
	okTrack := track(`{"action":"Purchase"}`)
	tooBig128 := ingestFail("PayloadTooLarge", "body", "Payload size exceeds 128 KB")
	add("track",
		hostileCase{name: "Idempotency-Key of 256 characters", method: "POST", target: T, header: ing("Idempotency-Key: " + strings.Repeat("k", 256)), body: okTrack,
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
		hostileCase{name: "Idempotency-Key empty", method: "POST", target: T, header: ing("Idempotency-Key:"), body: okTrack,
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
		hostileCase{name: "Idempotency-Key with a tab", method: "POST", target: T, header: ing("Idempotency-Key: a\tb"), body: okTrack,
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
		hostileCase{name: "Idempotency-Key not ASCII", method: "POST", target: T, header: ing("Idempotency-Key: clé"), body: okTrack,
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
		hostileCase{name: "Idempotency-Key invalid UTF-8", method: "POST", target: T, header: ing("Idempotency-Key: k" + badUTF8), body: okTrack,
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
		hostileCase{name: "body of 128 KiB plus one byte", method: "POST", target: T, header: ing(),
			body: padded(`{"type":"event","customer_id":"u1","actions":[{"action":"P"}],`, 128<<10+1), status: 413, json: tooBig128},
		hostileCase{name: "customer_id of 2 MiB", method: "POST", target: T, header: ing(),
			gen: func() []byte {
				return b(`{"type":"event","customer_id":"` + strings.Repeat("c", 2<<20) + `","actions":[{"action":"P"}]}`)
			},
			status: 413, json: tooBig128},
		hostileCase{name: "gzip bomb", method: "POST", target: T, header: ing(gz), gen: bomb, status: 413, json: tooBig128},
		hostileCase{name: "Content-Type x-ndjson", method: "POST", target: T, header: []string{basicLine(ws, dk), ndjsonCT}, body: okTrack,
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "invalid UTF-8 in customer_id", method: "POST", target: T, header: ing(),
			body: b(`{"type":"event","customer_id":"u` + badUTF8 + `","actions":[{"action":"P"}]}`), status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "raw NUL in action", method: "POST", target: T, header: ing(), body: track("{\"action\":\"P\x00\"}"),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "nested 50000 deep", method: "POST", target: T, header: ing(), body: track(deep50k),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "top-level string", method: "POST", target: T, header: ing(), body: b(`"event"`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "type missing", method: "POST", target: T, header: ing(), body: b(`{"customer_id":"u1","actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("MissingAttributeError", "type", "type is not found in the payload")},
		hostileCase{name: "type 1e400", method: "POST", target: T, header: ing(), body: b(`{"type":1e400,"customer_id":"u1","actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("InvalidParams", "type", "type should be event")},
		hostileCase{name: "type with NUL", method: "POST", target: T, header: ing(), body: b(`{"type":"event\u0000","customer_id":"u1","actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("InvalidParams", "type", "type should be event")},
		hostileCase{name: "customer_id of 257 characters", method: "POST", target: T, header: ing(),
			body:   b(`{"type":"event","customer_id":"` + long257 + `","actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
		hostileCase{name: "customer_id of 100 KiB", method: "POST", target: T, header: ing(),
			body:   b(`{"type":"event","customer_id":"` + kib(100) + `","actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
		hostileCase{name: "customer_id placeholder with padding", method: "POST", target: T, header: ing(),
			body: b(`{"type":"event","customer_id":" NuLL\t","actions":[{"action":"P"}]}`), status: 400, json: ingestFail("Blacklisted", "customer_id", "customer_id value is not allowed")},
		hostileCase{name: "customer_id is an object", method: "POST", target: T, header: ing(),
			body: b(`{"type":"event","customer_id":{"id":"u1"},"actions":[{"action":"P"}]}`), status: 400, json: ingestFail("Blacklisted", "customer_id", "customer_id value is not allowed")},
		hostileCase{name: "customer_id missing", method: "POST", target: T, header: ing(), body: b(`{"type":"event","user_identifiers":{},"actions":[{"action":"P"}]}`),
			status: 400, json: ingestFail("MissingAttributeError", "customer_id", "customer_id is not found in the payload")},
		hostileCase{name: "actions nested 20 deep", method: "POST", target: T, header: ing(), body: track(nested(19, "[", `{"action":"P"}`, "]")),
			status: 400, json: ingestFail("MissingAttributeError", "action", "action is not found in the payload (at actions[0])")},
		hostileCase{name: "actions is an object", method: "POST", target: T, header: ing(), body: b(`{"type":"event","customer_id":"u1","actions":{"action":"P"}}`),
			status: 400, json: ingestFail("MissingAttributeError", "actions", "actions is not found in the payload")},
		hostileCase{name: "actions empty", method: "POST", target: T, header: ing(), body: track(``),
			status: 400, json: ingestFail("MissingAttributeError", "actions", "actions can not be empty Array")},
		hostileCase{name: "action 1e400", method: "POST", target: T, header: ing(), body: track(`{"action":1e400}`),
			status: 400, json: ingestFail("Malformed JSON", "action", "action should be a string (at actions[0])")},
		hostileCase{name: "action blank", method: "POST", target: T, header: ing(), body: track(`{"action":" \t "}`),
			status: 400, json: ingestFail("MissingAttributeError", "action", "action cannot be empty Unicode string (at actions[0])")},
		hostileCase{name: "attributes is an array", method: "POST", target: T, header: ing(), body: track(`{"action":"P","attributes":[1,2]}`),
			status: 400, json: ingestFail("InvalidParams", "attributes", "attributes should be an object (at actions[0])")},
		hostileCase{name: "current_time 1e400", method: "POST", target: T, header: ing(), body: track(`{"action":"P","current_time":1e400}`),
			status: 400, json: ingestFail("InvalidParams", "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])")},
		hostileCase{name: "current_time -1", method: "POST", target: T, header: ing(), body: track(`{"action":"P","current_time":-1}`),
			status: 400, json: ingestFail("InvalidParams", "current_time", "current_time is not a valid epoch or ISO-8601 time (at actions[0])")},
		hostileCase{name: "current_time in year 33658", method: "POST", target: T, header: ing(), body: track(`{"action":"P","current_time":1e15}`),
			status: 400, json: ingestFail("InvalidParams", "current_time", "current_time is more than 5 minutes in the future (at actions[0])")},
		hostileCase{name: "second action before 2000", method: "POST", target: T, header: ing(),
			body:   track(`{"action":"P","current_time":1740819600},{"action":"P","user_time":946684799}`),
			status: 400, json: ingestFail("InvalidParams", "user_time", "user_time is before 2000-01-01 (at actions[1])")},
		hostileCase{name: "user_time February 30", method: "POST", target: T, header: ing(), body: track(`{"action":"P","user_time":"2025-02-30T10:00:00"}`),
			status: 400, json: ingestFail("InvalidParams", "user_time", "user_time is not a valid epoch or ISO-8601 time (at actions[0])")},
		hostileCase{name: "escaped NUL and lone surrogates", method: "POST", target: T, header: ing(),
			body:   b(`{"type":"event","customer_id":"\u0000","actions":[{"action":"\u0000\ud800","attributes":{"\u0000":"\udfff"},"current_time":1740819600}]}`),
			status: 200, json: mustJSON(map[string]any{"status": "success", "message": "Your request has been accepted and will be processed soon.", "request_id": ridPlaceholder})},
		hostileCase{name: "method PUT", method: "PUT", target: T, header: ing(), body: okTrack,
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
		hostileCase{name: "Content-Length longer than the body", method: "POST", target: T, header: ing(), framing: frameLie, clValue: "100000", body: okTrack,
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
	)

	// ---- Bulk Import (SPEC §3.9, §3.11) ----
	BI := "/v1/transition/" + ws
	bulk := func(elements string) []byte { return b(`{"type":"transition","elements":[` + elements + `]}`) }
	add("bulk",
		hostileCase{name: "type event", method: "POST", target: BI, header: ing(), body: b(`{"type":"event","elements":[{"type":"customer"}]}`),
			status: 400, json: ingestFail("InvalidParams", "type", "type should be transition")},
		hostileCase{name: "elements missing", method: "POST", target: BI, header: ing(), body: b(`{"type":"transition"}`),
			status: 400, json: ingestFail("MissingAttributeError", "elements", "elements is not found in the payload")},
		hostileCase{name: "elements empty", method: "POST", target: BI, header: ing(), body: bulk(``),
			status: 400, json: ingestFail("MissingAttributeError", "elements", "elements cannot be empty array")},
		hostileCase{name: "element is a string", method: "POST", target: BI, header: ing(), body: bulk(`"customer"`),
			status: 400, json: ingestFail("AttributeError", "type", "type in elements should be customer/event/device (at elements[0])")},
		hostileCase{name: "element type with NUL", method: "POST", target: BI, header: ing(), body: bulk(`{"type":"event\u0000"}`),
			status: 400, json: ingestFail("AttributeError", "type", "type in elements should be customer/event/device (at elements[0])")},
		hostileCase{name: "blank action in the second element", method: "POST", target: BI, header: ing(),
			body:   bulk(`{"type":"customer"},{"type":"event","customer_id":"u1","actions":[{"action":""}]}`),
			status: 400, json: ingestFail("MissingAttributeError", "action", "action cannot be empty Unicode string (at elements[1].actions[0])")},
		hostileCase{name: "current_time 1e400", method: "POST", target: BI, header: ing(),
			body:   bulk(`{"type":"event","customer_id":"u1","actions":[{"action":"P","current_time":1e400}]}`),
			status: 400, json: ingestFail("InvalidParams", "current_time", "current_time is not a valid epoch or ISO-8601 time (at elements[0].actions[0])")},
		hostileCase{name: "bad element after 5000 good ones", method: "POST", target: BI, header: ing(),
			body:   bulk(strings.Repeat(`{"type":"device"},`, 5000) + `{"type":"event","customer_id":"u1","actions":[]}`),
			status: 400, json: ingestFail("MissingAttributeError", "actions", "actions can not be empty Array (at elements[5000])")},
		hostileCase{name: "elements nested 50000 deep", method: "POST", target: BI, header: ing(), body: bulk(deep50k),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "invalid UTF-8", method: "POST", target: BI, header: ing(), body: bulk(`{"type":"customer","attributes":{"n":"` + badUTF8 + `"}}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "over 128 KiB", method: "POST", target: BI, header: ing(),
			body: bulk(strings.Repeat(`{"type":"customer","customer_id":"u1"},`, 4000) + `{"type":"customer"}`), status: 413, json: tooBig128},
		hostileCase{name: "Content-Encoding deflate", method: "POST", target: BI, header: ing("Content-Encoding: deflate"), body: bulk(`{"type":"customer"}`),
			status: 415, json: ingestFail("MediaTypeError", "Content-Encoding", "Content encoding is not supported")},
		hostileCase{name: "Idempotency-Key of 1 KiB", method: "POST", target: BI, header: ing("Idempotency-Key: " + strings.Repeat("i", 1024)), body: bulk(`{"type":"customer"}`),
			status: 400, json: ingestFail("InvalidParams", "Idempotency-Key", msgIdemKey)},
	)

	// ---- user and device endpoints (SPEC §13.3) ----
	CU, DE := "/v1/customer/"+ws, "/v1/device/"+ws
	add("customer",
		hostileCase{name: "type device", method: "POST", target: CU, header: ing(), body: b(`{"type":"device","customer_id":"u1"}`),
			status: 400, json: ingestFail("InvalidParams", "type", "type should be customer")},
		hostileCase{name: "customer_id missing", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","user_identifiers":{"uid":"u1"}}`),
			status: 400, json: ingestFail("MissingAttributeError", "customer_id", "customer_id is not found in the payload")},
		hostileCase{name: "customer_id of 257 characters", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","customer_id":"` + long257 + `"}`),
			status: 400, json: ingestFail("InvalidParams", "customer_id", "customer_id is longer than 256 characters")},
		hostileCase{name: "attributes is a string", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","customer_id":"u1","attributes":"x"}`),
			status: 400, json: ingestFail("InvalidParams", "attributes", "attributes should be an object")},
		hostileCase{name: "invalid UTF-8 attribute", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","customer_id":"u1","attributes":{"n":"` + badUTF8 + `"}}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "attributes nested 50000 deep", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","customer_id":"u1","attributes":{"a":` + deep50k + `}}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "escaped NUL and lone surrogates", method: "POST", target: CU, header: ing(), body: b(`{"type":"customer","customer_id":"\ud800\u0000","attributes":{"\u0000":"\u0000"}}`),
			status: 200, json: `{"status":"success","message":"Your request has been accepted and will be processed soon."}`},
		hostileCase{name: "over 128 KiB", method: "POST", target: CU, header: ing(),
			body: padded(`{"type":"customer","customer_id":"u1",`, 200<<10), status: 413, json: tooBig128},
		hostileCase{name: "gzip bomb", method: "POST", target: CU, header: ing(gz), gen: multiBomb, status: 413, json: tooBig128},
	)
	add("device",
		hostileCase{name: "type missing", method: "POST", target: DE, header: ing(), body: b(`{"customer_id":"u1"}`),
			status: 400, json: ingestFail("MissingAttributeError", "type", "type is not found in the payload")},
		hostileCase{name: "customer_id is an array", method: "POST", target: DE, header: ing(), body: b(`{"type":"device","customer_id":["u1"]}`),
			status: 400, json: ingestFail("Blacklisted", "customer_id", "customer_id value is not allowed")},
		hostileCase{name: "empty body", method: "POST", target: DE, header: ing(),
			status: 400, json: ingestFail("Empty request body", "body", "Request body is empty")},
		hostileCase{name: "method GET", method: "GET", target: DE, header: ing(),
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
		hostileCase{name: "no Authorization", method: "POST", target: DE, header: []string{jsonCT}, body: b(`{"type":"device","customer_id":"u1"}`),
			status: 401, json: ingestFail("Authentication required", "Authorization", "Authentication Header Required")},
	)

	// ---- campaign catalog (SPEC §3.12) ----
	CA := "/v1/campaigns/" + ws + "/" + e.campaign
	caInvalid := func(attr, msg string) string { return ingestFail("InvalidParams", attr, msg) }
	add("catalog",
		hostileCase{name: "PUT without Content-Type", method: "PUT", target: CA, header: []string{basicLine(ws, dk)}, body: b(`{"channel":"PUSH"}`),
			status: 415, json: ingestFail("MediaTypeError", "Content-Type", "Content type is not supported")},
		hostileCase{name: "PUT over 1 MiB", method: "PUT", target: CA, header: ing(),
			gen: func() []byte { return padded(`{"channel":"PUSH",`, 1<<20+1) }, status: 413, json: ingestFail("PayloadTooLarge", "body", "Payload size exceeds 1024 KB")},
		hostileCase{name: "PUT gzip bomb", method: "PUT", target: CA, header: ing(gz), gen: bomb,
			status: 413, json: ingestFail("PayloadTooLarge", "body", "Payload size exceeds 1024 KB")},
		hostileCase{name: "PUT invalid UTF-8", method: "PUT", target: CA, header: ing(), body: b(`{"campaign_name":"` + badUTF8 + `"}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "PUT nested 100000 deep", method: "PUT", target: CA, header: ing(), body: b(`{"campaign_tags":` + deep + `}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "PUT campaign id of 129 characters", method: "PUT", target: "/v1/campaigns/" + ws + "/" + strings.Repeat("c", 129), header: ing(), body: b(`{}`),
			status: 400, json: caInvalid("campaign_id", "campaign_id is invalid")},
		hostileCase{name: "PUT campaign id invalid UTF-8", method: "PUT", target: "/v1/campaigns/" + ws + "/%FF%FE", header: ing(), body: b(`{}`),
			status: 400, json: caInvalid("campaign_id", "campaign_id is invalid")},
		hostileCase{name: "PUT campaign id with NUL", method: "PUT", target: "/v1/campaigns/" + ws + "/c%00", header: ing(), body: b(`{}`),
			status: 400, json: caInvalid("campaign_id", "campaign_id is invalid")},
		hostileCase{name: "PUT body is an array", method: "PUT", target: CA, header: ing(), body: b(`[{"channel":"PUSH"}]`),
			status: 400, json: caInvalid("body", "body should be a JSON object")},
		hostileCase{name: "PUT campaign_id differs from the path", method: "PUT", target: CA, header: ing(), body: b(`{"campaign_id":"hc1\u0000"}`),
			status: 400, json: caInvalid("campaign_id", "campaign_id does not match the path")},
		hostileCase{name: "PUT campaign_name of 257 characters", method: "PUT", target: CA, header: ing(), body: b(`{"campaign_name":"` + long257 + `"}`),
			status: 400, json: caInvalid("campaign_name", "campaign_name must be at most 256 characters")},
		hostileCase{name: "PUT 51 tags", method: "PUT", target: CA, header: ing(), body: b(`{"campaign_tags":[` + strings.Repeat(`"t",`, 50) + `"t"]}`),
			status: 400, json: caInvalid("campaign_tags", "campaign_tags must have at most 50 items")},
		hostileCase{name: "PUT channel with NUL", method: "PUT", target: CA, header: ing(), body: b(`{"channel":"PUSH\u0000"}`),
			status: 400, json: caInvalid("channel", "channel must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		hostileCase{name: "PUT parent id with NUL", method: "PUT", target: CA, header: ing(), body: b(`{"channel":"PUSH","parent_campaign_id":"p\u0000"}`),
			status: 400, json: caInvalid("parent_campaign_id", "parent_campaign_id is invalid")},
		hostileCase{name: "PUT attribution window 241 for EMAIL", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"EMAIL","conversion_goal_details":{"attribution_window_in_hours":241}}`),
			status: 400, json: caInvalid("conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be between 1 and 240 for EMAIL")},
		hostileCase{name: "PUT attribution window -1", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":-1}}`),
			status: 400, json: caInvalid("conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be between 1 and 36 for PUSH")},
		hostileCase{name: "PUT attribution window 36.0000000000000001", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"PUSH","conversion_goal_details":{"attribution_window_in_hours":36.0000000000000001}}`),
			status: 400, json: caInvalid("conversion_goal_details.attribution_window_in_hours", "attribution_window_in_hours must be an integer")},
		hostileCase{name: "PUT control group 101 percent", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"PUSH","control_group_details":{"campaign_control_group_percentage":101}}`),
			status: 400, json: caInvalid("control_group_details.campaign_control_group_percentage", "campaign_control_group_percentage must be a number between 0 and 100")},
		hostileCase{name: "PUT 11 goals", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"PUSH","conversion_goal_details":{"goals":[` + strings.Repeat(`{"goal_name":"g","goal_event_name":"e"},`, 10) + `{"goal_name":"z","goal_event_name":"e"}]}}`),
			status: 400, json: caInvalid("conversion_goal_details.goals", "goals must have at most 10 items")},
		hostileCase{name: "PUT unknown goal condition", method: "PUT", target: CA, header: ing(),
			body:   b(`{"channel":"PUSH","conversion_goal_details":{"goals":[{"goal_name":"g","goal_event_name":"e","goal_event_attribute":{"name":"a","condition":"nope"}}]}}`),
			status: 400, json: caInvalid("conversion_goal_details.goals[0].goal_event_attribute.condition", `condition "nope" is not supported`)},
		hostileCase{name: "PUT campaign_start_time 1e400", method: "PUT", target: CA, header: ing(), body: b(`{"channel":"PUSH","campaign_start_time":1e400}`),
			status: 400, json: caInvalid("campaign_start_time", "campaign_start_time is not a valid epoch or ISO-8601 time")},
		hostileCase{name: "GET unknown campaign", method: "GET", target: "/v1/campaigns/" + ws + "/nope", header: []string{basicLine(ws, dk)},
			status: 404, json: ingestFail("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		hostileCase{name: "GET campaign id invalid UTF-8", method: "GET", target: "/v1/campaigns/" + ws + "/%FF", header: []string{basicLine(ws, dk)},
			status: 404, json: ingestFail("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		hostileCase{name: "GET campaign id of 100 KiB", method: "GET", target: "/v1/campaigns/" + ws + "/" + kib(100), header: []string{basicLine(ws, dk)},
			status: 404, json: ingestFail("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		hostileCase{name: "GET with the report key", method: "GET", target: CA, header: []string{basicLine(ws, rk)},
			status: 401, json: ingestFail("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		hostileCase{name: "DELETE", method: "DELETE", target: CA, header: []string{basicLine(ws, dk)},
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
	)

	// ---- funnel (SPEC §3.13) ----
	FU := CA + "/funnel"
	entry := func(stages string) string {
		return `{"date":"2025-03-01","platform":"android","stages":{` + stages + `}}`
	}
	stageValue := "stage values must be integers between 0 and 2^53"
	add("funnel",
		hostileCase{name: "unknown campaign", method: "POST", target: "/v1/campaigns/" + ws + "/nope/funnel", header: ing(), body: b(entry(`"after_fc":1`)),
			status: 404, json: ingestFail("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		hostileCase{name: "campaign id invalid UTF-8", method: "POST", target: "/v1/campaigns/" + ws + "/%C3%28/funnel", header: ing(), body: b(entry(`"after_fc":1`)),
			status: 404, json: ingestFail("NotFound", "campaign_id", "campaign_id is not known in this workspace")},
		hostileCase{name: "empty array", method: "POST", target: FU, header: ing(), body: b(`[]`),
			status: 400, json: ingestFail("InvalidParams", "body", "body must hold 1 to 1000 entries")},
		hostileCase{name: "1001 entries", method: "POST", target: FU, header: ing(), body: b(`[` + strings.Repeat(entry(`"after_fc":1`)+`,`, 1000) + entry(`"after_fc":1`) + `]`),
			status: 400, json: ingestFail("InvalidParams", "body", "body must hold 1 to 1000 entries")},
		hostileCase{name: "stage value 1e400", method: "POST", target: FU, header: ing(), body: b(entry(`"after_fc":1e400`)),
			status: 400, json: ingestFail("InvalidParams", "stages.after_fc", stageValue)},
		hostileCase{name: "stage value -1", method: "POST", target: FU, header: ing(), body: b(entry(`"after_fc":-1`)),
			status: 400, json: ingestFail("InvalidParams", "stages.after_fc", stageValue)},
		hostileCase{name: "stage value 2^53+1", method: "POST", target: FU, header: ing(), body: b(entry(`"after_fc":9007199254740993`)),
			status: 400, json: ingestFail("InvalidParams", "stages.after_fc", stageValue)},
		hostileCase{name: "stage value 1e-400", method: "POST", target: FU, header: ing(), body: b(entry(`"after_fc":1e-400`)),
			status: 400, json: ingestFail("InvalidParams", "stages.after_fc", stageValue)},
		hostileCase{name: "stage value is a string", method: "POST", target: FU, header: ing(), body: b(entry(`"after_fc":"5"`)),
			status: 400, json: ingestFail("InvalidParams", "stages.after_fc", stageValue)},
		hostileCase{name: "stage name with upper case", method: "POST", target: FU, header: ing(), body: b(entry(`"After_FC":1`)),
			status: 400, json: ingestFail("InvalidParams", "stages.After_FC", "stage names must match ^[a-z][a-z0-9_]{0,63}$")},
		hostileCase{name: "stage name of 65 characters", method: "POST", target: FU, header: ing(), body: b(entry(`"` + strings.Repeat("s", 65) + `":1`)),
			status: 400, json: ingestFail("InvalidParams", "stages."+strings.Repeat("s", 65), "stage names must match ^[a-z][a-z0-9_]{0,63}$")},
		hostileCase{name: "derived stage", method: "POST", target: FU, header: ing(), body: b(entry(`"sent":1`)),
			status: 400, json: ingestFail("InvalidParams", "stages.sent", `stage "sent" is derived from events and cannot be posted`)},
		hostileCase{name: "stages empty", method: "POST", target: FU, header: ing(), body: b(entry(``)),
			status: 400, json: ingestFail("InvalidParams", "stages", "stages must be a non-empty object")},
		hostileCase{name: "date February 30", method: "POST", target: FU, header: ing(), body: b(`{"date":"2025-02-30","stages":{"after_fc":1}}`),
			status: 400, json: ingestFail("InvalidParams", "date", "date must be a date in YYYY-MM-DD format")},
		hostileCase{name: "date with NUL", method: "POST", target: FU, header: ing(), body: b(`{"date":"2025-03-01\u0000","stages":{"after_fc":1}}`),
			status: 400, json: ingestFail("InvalidParams", "date", "date must be a date in YYYY-MM-DD format")},
		hostileCase{name: "date missing in the second entry", method: "POST", target: FU, header: ing(), body: b(`[` + entry(`"after_fc":1`) + `,{"stages":{"after_fc":1}}]`),
			status: 400, json: ingestFail("InvalidParams", "[1].date", "date is required in YYYY-MM-DD format")},
		hostileCase{name: "entry is a number", method: "POST", target: FU, header: ing(), body: b(`[1e400]`),
			status: 400, json: ingestFail("InvalidParams", "[0].body", "entry must be a JSON object")},
		hostileCase{name: "invalid UTF-8", method: "POST", target: FU, header: ing(), body: b(`{"date":"2025-03-01","locale":"` + badUTF8 + `","stages":{"after_fc":1}}`),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "nested 100000 deep", method: "POST", target: FU, header: ing(), body: b(deep),
			status: 400, json: ingestFail("Malformed JSON", "body", msgDecode)},
		hostileCase{name: "over 1 MiB", method: "POST", target: FU, header: ing(),
			gen: func() []byte { return padded(`{"date":"2025-03-01",`, 1<<20+1) }, status: 413, json: ingestFail("PayloadTooLarge", "body", "Payload size exceeds 1024 KB")},
		hostileCase{name: "method GET", method: "GET", target: FU, header: ing(),
			status: 405, json: ingestFail("MethodNotAllowed", "method", "Method not allowed")},
	)

	// ---- Stats API (SPEC §5.1–§5.3, §5.18, §12.6) ----
	ST := "/core-services/v1/campaign-stats"
	stats := func(extra string) []byte {
		return b(`{"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"` + extra + `}`)
	}
	statsBody := func(fields string) []byte { return b(`{` + fields + `}`) }
	malformed := apiFail("Invalid Field Value", "request body - could not be parsed as a JSON object", "malformed_json")
	tooBigAPI := apiFail("Payload Too Large", "Request body exceeds 1 MiB.", "payload_too_large")
	emptyStats := func(rid string, page int) string {
		return mustJSON(map[string]any{"response_id": rid, "total_campaigns": 0, "current_page": page, "total_pages": 0, "data": map[string]any{}})
	}
	add("stats",
		hostileCase{name: "no Authorization", method: "POST", target: ST, header: []string{"MOE-APPKEY: " + ws}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "Authentication Header Required", "auth_header_required")},
		hostileCase{name: "no MOE-APPKEY", method: "POST", target: ST, header: []string{basicLine(ws, rk)}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
		hostileCase{name: "Digest scheme", method: "POST", target: ST, header: []string{"Authorization: Digest username=\"" + ws + "\"", "MOE-APPKEY: " + ws}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "No identity information found.", "auth_header_invalid")},
		hostileCase{name: "MOE-APPKEY of another workspace", method: "POST", target: ST, header: []string{basicLine(ws, rk), "MOE-APPKEY: " + off}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "MOE-APPKEY does not match the workspace in Authentication Header", "appkey_mismatch")},
		hostileCase{name: "username and MOE-APPKEY invalid UTF-8", method: "POST", target: ST, header: []string{basicLine(badUTF8, rk), "MOE-APPKEY: " + badUTF8}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "Invalid identity information found.", "invalid_credentials")},
		hostileCase{name: "username and MOE-APPKEY of 300 KiB", method: "POST", target: ST, header: []string{basicLine(kib(300), rk), "MOE-APPKEY: " + kib(300)}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "Invalid identity information found.", "invalid_credentials")},
		hostileCase{name: "data key as report key", method: "POST", target: ST, header: []string{basicLine(ws, dk), "MOE-APPKEY: " + ws}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "Invalid identity information found.", "invalid_credentials")},
		hostileCase{name: "disabled workspace", method: "POST", target: ST, header: []string{basicLine(off, e.off.ReportKey), "MOE-APPKEY: " + off}, body: stats(``),
			status: 403, json: apiFail("Forbidden Request", "", "workspace_disabled")},
		hostileCase{name: "over 1 MiB", method: "POST", target: ST, header: stH(), gen: func() []byte { return padded(`{"request_id":"r",`, 1<<20+1) },
			status: 413, json: tooBigAPI},
		hostileCase{name: "invalid UTF-8 in request_id", method: "POST", target: ST, header: stH(), body: statsBody(`"request_id":"r` + badUTF8 + `"`),
			status: 400, json: malformed},
		hostileCase{name: "raw NUL", method: "POST", target: ST, header: stH(), body: statsBody("\"request_id\":\"r\x00\""),
			status: 400, json: malformed},
		hostileCase{name: "nested 100000 deep", method: "POST", target: ST, header: stH(), body: statsBody(`"x":` + deep),
			status: 400, json: malformed},
		hostileCase{name: "empty body", method: "POST", target: ST, header: stH(), status: 400, json: malformed},
		hostileCase{name: "top-level array", method: "POST", target: ST, header: stH(), body: b(`[` + string(stats(``)) + `]`),
			status: 400, json: malformed},
		hostileCase{name: "trailing garbage", method: "POST", target: ST, header: stH(), body: append(stats(``), '}'),
			status: 400, json: malformed},
		hostileCase{name: "gzip-compressed body", method: "POST", target: ST, header: stH(gz), body: gzipOf(stats(``)),
			status: 400, json: malformed},
		hostileCase{name: "Content-Length longer than the body", method: "POST", target: ST, header: stH(), framing: frameLie, clValue: "4096", body: stats(``),
			status: 400, json: malformed},
		hostileCase{name: "request_id nested 20 deep", method: "POST", target: ST, header: stH(), body: statsBody(`"request_id":` + nested(20, "[", `"r"`, "]")),
			status: 400, json: invalidType("request_id - must be a string")},
		hostileCase{name: "request_id of 257 characters", method: "POST", target: ST, header: stH(), body: statsBody(`"request_id":"` + long257 + `"`),
			status: 400, json: invalidValue("request_id - must be at most 256 characters")},
		hostileCase{name: "request_id of white space", method: "POST", target: ST, header: stH(), body: statsBody(`"request_id":"\t\n "`),
			status: 400, json: invalidValue("request_id - must not be empty")},
		hostileCase{name: "11 campaign ids", method: "POST", target: ST, header: stH(), body: stats(`,"campaign_ids":["a","b","c","d","e","f","g","h","i","j","k"]`),
			status: 400, json: invalidValue("campaign_ids - must contain at most 10 campaign IDs")},
		hostileCase{name: "campaign id 1e400", method: "POST", target: ST, header: stH(), body: stats(`,"campaign_ids":[1e400]`),
			status: 400, json: invalidValue("campaign_ids - every element must be a non-empty string")},
		hostileCase{name: "campaign_ids is a string", method: "POST", target: ST, header: stH(), body: stats(`,"campaign_ids":"hc1"`),
			status: 400, json: invalidType("campaign_ids - must be an array of strings")},
		hostileCase{name: "campaign id of 900 KiB", method: "POST", target: ST, header: stH(), body: stats(`,"campaign_ids":["` + kib(900) + `"]`),
			status: 200, json: emptyStats("r", 1)},
		hostileCase{name: "escaped NUL and lone surrogate in request_id and ids", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"\u0000\ud800","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"UNIQUE","campaign_ids":["\u0000","\udfff"]`),
			status: 200, json: emptyStats("\x00\ufffd", 1)},
		hostileCase{name: "start_date February 30", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-02-30","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"`),
			status: 400, json: invalidValue("start_date - must be a date in YYYY-MM-DD format")},
		hostileCase{name: "start_date with NUL", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-03-01\u0000","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"`),
			status: 400, json: invalidValue("start_date - must be a date in YYYY-MM-DD format")},
		hostileCase{name: "end_date 1e400", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-03-01","end_date":1e400,"attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"`),
			status: 400, json: invalidType("end_date - must be a string")},
		hostileCase{name: "attribution_type with NUL", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH\u0000","metric_type":"TOTAL"`),
			status: 400, json: invalidValue("attribution_type - must be one of VIEW_THROUGH, CLICK_THROUGH, IN_SESSION, TOTAL_CONVERSIONS, CLICK_CONVERSIONS")},
		hostileCase{name: "metric_type 1e400", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":1e400`),
			status: 400, json: invalidType("metric_type - must be a string")},
		hostileCase{name: "offset -1", method: "POST", target: ST, header: stH(), body: stats(`,"offset":-1`),
			status: 400, json: invalidValue("offset - must be an integer greater than or equal to 0")},
		hostileCase{name: "offset 1e-400", method: "POST", target: ST, header: stH(), body: stats(`,"offset":1e-400`),
			status: 400, json: invalidValue("offset - must be an integer greater than or equal to 0")},
		hostileCase{name: "offset 2^31", method: "POST", target: ST, header: stH(), body: stats(`,"offset":2147483648`),
			status: 200, json: emptyStats("r", 214748365)},
		hostileCase{name: "offset 1e400", method: "POST", target: ST, header: stH(), body: stats(`,"offset":1e400`),
			status: 400, json: invalidValue("offset - must be an integer of at most 300 digits")},
		hostileCase{name: "offset 2^63", method: "POST", target: ST, header: stH(), body: stats(`,"offset":9223372036854775808`),
			status: 200, json: emptyStats("r", 922337203685477581)},
		hostileCase{name: "offset as a string", method: "POST", target: ST, header: stH(), body: stats(`,"offset":"10"`),
			status: 400, json: invalidType("offset - must be an integer")},
		hostileCase{name: "limit 1e400", method: "POST", target: ST, header: stH(), body: stats(`,"limit":1e400`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 10")},
		hostileCase{name: "limit 10.0000000000000001", method: "POST", target: ST, header: stH(), body: stats(`,"limit":10.0000000000000001`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 10")},
		hostileCase{name: "limit 0", method: "POST", target: ST, header: stH(), body: stats(`,"limit":0`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 10")},
		hostileCase{name: "limit true", method: "POST", target: ST, header: stH(), body: stats(`,"limit":true`),
			status: 400, json: invalidType("limit - must be an integer")},
		hostileCase{name: "span of 31 days", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"2025-01-01","end_date":"2025-02-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"`),
			status: 400, json: invalidValue("end_date - must be at most 30 days after start_date")},
		hostileCase{name: "end before start", method: "POST", target: ST, header: stH(),
			body:   statsBody(`"request_id":"r","start_date":"9999-12-31","end_date":"0001-01-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"`),
			status: 400, json: invalidValue("end_date - must not be before start_date")},
		hostileCase{name: "unknown field nested 500 deep", method: "POST", target: ST, header: stH(), body: stats(`,"x":` + nested(500, `{"y":`, "null", "}")),
			status: 200, json: emptyStats("r", 1)},
		hostileCase{name: "method GET", method: "GET", target: ST, header: stH(),
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "method TRACE", method: "TRACE", target: ST, header: stH(),
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "valid X-Request-Id is kept", method: "POST", target: ST, header: []string{basicLine(ws, rk), "X-Request-Id: hostile.req-1_A"}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
	)

	// ---- daily stats extension ----
	DS := "/v1/stats/" + ws + "/daily"
	add("daily",
		hostileCase{name: "path names another workspace", method: "POST", target: "/v1/stats/" + off + "/daily", header: stH(), body: stats(``),
			status: 403, json: apiFail("Forbidden Request", "", "workspace_mismatch")},
		hostileCase{name: "path workspace invalid UTF-8", method: "POST", target: "/v1/stats/%FF%00/daily", header: stH(), body: stats(``),
			status: 403, json: apiFail("Forbidden Request", "", "workspace_mismatch")},
		hostileCase{name: "no MOE-APPKEY", method: "POST", target: DS, header: []string{basicLine(ws, rk)}, body: stats(``),
			status: 401, json: apiFail("Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
		hostileCase{name: "over 1 MiB", method: "POST", target: DS, header: stH(), gen: func() []byte { return padded(`{"request_id":"r",`, 2<<20) },
			status: 413, json: tooBigAPI},
		hostileCase{name: "nested 100000 deep", method: "POST", target: DS, header: stH(), body: b(deep), status: 400, json: malformed},
		hostileCase{name: "limit 1e400", method: "POST", target: DS, header: stH(), body: stats(`,"limit":-1e400`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 10")},
		hostileCase{name: "method GET", method: "GET", target: DS, header: stH(),
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
	)

	// ---- Campaign Meta (SPEC §7.1) ----
	ME := "/core-services/v1/campaigns/meta"
	meta := func(extra string) []byte { return b(`{"request_id":"m","limit":15,"page":1` + extra + `}`) }
	add("meta",
		hostileCase{name: "limit 16", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":16,"page":1}`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 15")},
		hostileCase{name: "limit 1e400", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":1e400,"page":1}`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 15")},
		hostileCase{name: "page 0", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":1,"page":0}`),
			status: 400, json: invalidValue("page - must be an integer greater than or equal to 1")},
		hostileCase{name: "page -1e400", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":1,"page":-1e400}`),
			status: 400, json: invalidValue("page - must be an integer greater than or equal to 1")},
		hostileCase{name: "page 1.0000000000000000001", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":1,"page":1.0000000000000000001}`),
			status: 400, json: invalidValue("page - must be an integer greater than or equal to 1")},
		hostileCase{name: "page 1e400", method: "POST", target: ME, header: stH(), body: b(`{"request_id":"m","limit":1,"page":1e400}`),
			status: 200, json: `[]`},
		hostileCase{name: "request_id missing", method: "POST", target: ME, header: stH(), body: b(`{"limit":1,"page":1}`),
			status: 400, json: apiFail("Invalid Field Value", "request_id - is required", "missing_field")},
		hostileCase{name: "101 ids", method: "POST", target: ME, header: stH(),
			body: meta(`,"campaign_fields":{"id":[` + func() string {
				ids := make([]string, 101)
				for i := range ids {
					ids[i] = strconv.Quote("c" + strconv.Itoa(i))
				}
				return strings.Join(ids, ",")
			}() + `]}`),
			status: 400, json: invalidValue("campaign_fields.id - must contain at most 100 campaign IDs")},
		hostileCase{name: "ids nested 20 deep", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":{"id":` + nested(20, "[", `"hc1"`, "]") + `}`),
			status: 400, json: invalidValue("campaign_fields.id - every element must be a non-empty string")},
		hostileCase{name: "channel with NUL", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":{"channels":["PUSH\u0000"]}`),
			status: 400, json: invalidValue("campaign_fields.channels - must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")},
		hostileCase{name: "created_date February 30", method: "POST", target: ME, header: stH(),
			body:   meta(`,"campaign_fields":{"created_date":{"from_date":"2025-02-30","to_date":"2025-03-01"}}`),
			status: 400, json: invalidValue("campaign_fields.created_date.from_date - must be a date in YYYY-MM-DD format")},
		hostileCase{name: "campaign_fields is a string", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":"x"`),
			status: 400, json: invalidType("campaign_fields - must be an object")},
		hostileCase{name: "include_child_campaigns is a string", method: "POST", target: ME, header: stH(), body: meta(`,"include_child_campaigns":"yes"`),
			status: 400, json: invalidType("include_child_campaigns - must be a boolean")},
		hostileCase{name: "name of 900 KiB", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":{"name":"` + kib(900) + `"}`),
			status: 200, json: `[]`},
		hostileCase{name: "invalid UTF-8", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":{"name":"` + badUTF8 + `"}`),
			status: 400, json: malformed},
		hostileCase{name: "nested 100000 deep", method: "POST", target: ME, header: stH(), body: meta(`,"campaign_fields":{"tags":` + deep + `}`),
			status: 400, json: malformed},
		hostileCase{name: "over 1 MiB", method: "POST", target: ME, header: stH(), gen: func() []byte { return padded(`{"request_id":"m",`, 1<<20+100) },
			status: 413, json: tooBigAPI},
		hostileCase{name: "no Authorization", method: "POST", target: ME, header: []string{"MOE-APPKEY: " + ws}, body: meta(``),
			status: 401, json: apiFail("Authentication required", "Authentication Header Required", "auth_header_required")},
	)

	// ---- Executions (SPEC §7.2) ----
	EX := func(parent string) string { return "/core-services/v1/campaigns/" + parent + "/executions" }
	noExecutions := `{"executions":[],"total_instances":0}`
	execBody := b(`{"request_id":"e","page":1,"limit":15}`)
	add("executions",
		hostileCase{name: "parent id invalid UTF-8", method: "POST", target: EX("%FF%FE"), header: stH(), body: execBody, status: 200, json: noExecutions},
		hostileCase{name: "parent id with NUL", method: "POST", target: EX("hc1%00"), header: stH(), body: execBody, status: 200, json: noExecutions},
		hostileCase{name: "parent id of 200 KiB", method: "POST", target: EX(kib(200)), header: stH(), body: execBody, status: 200, json: noExecutions},
		hostileCase{name: "page 0", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":"e","page":0,"limit":1}`),
			status: 400, json: invalidValue("page - must be an integer greater than or equal to 1")},
		hostileCase{name: "limit 16", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":"e","page":1,"limit":16}`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 15")},
		hostileCase{name: "limit 1e400", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":"e","page":1,"limit":1e400}`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 15")},
		hostileCase{name: "limit 1.5", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":"e","page":1,"limit":1.5}`),
			status: 400, json: invalidValue("limit - must be an integer between 1 and 15")},
		hostileCase{name: "request_id 1e400", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":1e400,"page":1,"limit":1}`),
			status: 400, json: invalidType("request_id - must be a string")},
		hostileCase{name: "invalid UTF-8", method: "POST", target: EX("hc1"), header: stH(), body: b(`{"request_id":"` + badUTF8 + `","page":1,"limit":1}`),
			status: 400, json: malformed},
		hostileCase{name: "method PUT", method: "PUT", target: EX("hc1"), header: stH(), body: execBody,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "no MOE-APPKEY", method: "POST", target: EX("hc1"), header: []string{basicLine(ws, rk)}, body: execBody,
			status: 401, json: apiFail("Authentication required", "MOE-APPKEY missing in Authentication Header", "appkey_missing")},
	)

	// ---- report definitions and runs (SPEC §8.1, §8.2, §12.9, §12.14) ----
	RE := "/v1/reports/" + ws
	def := func(fields string) []byte { return b(`{"name":"Hostile Two","range":{"last_days":7}` + fields + `}`) }
	reportNotFound := apiFail("Not Found", "Report not found.", "not_found")
	add("reports",
		hostileCase{name: "no Authorization", method: "GET", target: RE,
			status: 401, json: apiFail("Authentication required", "Authentication Header Required", "auth_header_required")},
		hostileCase{name: "Basic with bad base64", method: "GET", target: RE, header: []string{"Authorization: Basic ***"},
			status: 401, json: apiFail("Authentication required", "No identity information found.", "auth_header_invalid")},
		hostileCase{name: "data key", method: "GET", target: RE, header: []string{basicLine(ws, dk)},
			status: 401, json: apiFail("Authentication required", "Invalid identity information found.", "invalid_credentials")},
		hostileCase{name: "username with NUL", method: "GET", target: RE, header: []string{basicLine(nulInID, rk)},
			status: 401, json: apiFail("Authentication required", "Invalid identity information found.", "invalid_credentials")},
		hostileCase{name: "path names another workspace", method: "GET", target: "/v1/reports/" + off, header: repH,
			status: 403, json: apiFail("Forbidden Request", "", "workspace_mismatch")},
		hostileCase{name: "path workspace invalid UTF-8", method: "GET", target: "/v1/reports/%FF", header: repH,
			status: 403, json: apiFail("Forbidden Request", "", "workspace_mismatch")},
		hostileCase{name: "disabled workspace", method: "GET", target: "/v1/reports/" + off, header: []string{basicLine(off, e.off.ReportKey)},
			status: 403, json: apiFail("Forbidden Request", "", "workspace_disabled")},
		hostileCase{name: "create with invalid UTF-8", method: "POST", target: RE, header: repH, body: b(`{"name":"R` + badUTF8 + `","range":{"last_days":7}}`),
			status: 400, json: malformed},
		hostileCase{name: "create nested 100000 deep", method: "POST", target: RE, header: repH, body: def(`,"split_by":` + deep),
			status: 400, json: malformed},
		hostileCase{name: "create over 1 MiB", method: "POST", target: RE, header: repH, gen: func() []byte { return padded(`{"name":"R",`, 1<<20+1) },
			status: 413, json: tooBigAPI},
		hostileCase{name: "create empty body", method: "POST", target: RE, header: repH, status: 400, json: malformed},
		hostileCase{name: "name of 200 characters", method: "POST", target: RE, header: repH, body: b(`{"name":"` + strings.Repeat("N", 200) + `","range":{"last_days":7}}`),
			status: 400, json: invalidValue("name - must be fewer than 128 characters")},
		hostileCase{name: "name with NUL", method: "POST", target: RE, header: repH, body: b(`{"name":"R\u0000","range":{"last_days":7}}`),
			status: 400, json: invalidValue("name - must start with a letter and contain only letters, digits, spaces, '_' and '-'")},
		hostileCase{name: "name with path traversal", method: "POST", target: RE, header: repH, body: b(`{"name":"../../etc/passwd","range":{"last_days":7}}`),
			status: 400, json: invalidValue("name - must start with a letter and contain only letters, digits, spaces, '_' and '-'")},
		hostileCase{name: "last_days 1e400", method: "POST", target: RE, header: repH, body: b(`{"name":"R","range":{"last_days":1e400}}`),
			status: 400, json: invalidValue("range.last_days - must be an integer between 1 and 90")},
		hostileCase{name: "last_days -1", method: "POST", target: RE, header: repH, body: b(`{"name":"R","range":{"last_days":-1}}`),
			status: 400, json: invalidValue("range.last_days - must be an integer between 1 and 90")},
		hostileCase{name: "last_days 90.0000000000000001", method: "POST", target: RE, header: repH, body: b(`{"name":"R","range":{"last_days":90.0000000000000001}}`),
			status: 400, json: invalidValue("range.last_days - must be an integer between 1 and 90")},
		hostileCase{name: "range of 365 days", method: "POST", target: RE, header: repH, body: b(`{"name":"R","range":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`),
			status: 400, json: invalidValue("range.end_date - must be at most 89 days after range.start_date (90 days inclusive)")},
		hostileCase{name: "webhook with user info", method: "POST", target: RE, header: repH, body: def(`,"webhook_url":"http://u:p@example.com/x"`),
			status: 400, json: invalidValue("webhook_url - must be an absolute http or https URL without user info")},
		hostileCase{name: "webhook file URL", method: "POST", target: RE, header: repH, body: def(`,"webhook_url":"file:///etc/passwd"`),
			status: 400, json: invalidValue("webhook_url - must be an absolute http or https URL without user info")},
		hostileCase{name: "webhook of 3000 characters", method: "POST", target: RE, header: repH, body: def(`,"webhook_url":"https://example.com/` + strings.Repeat("w", 3000) + `"`),
			status: 400, json: invalidValue("webhook_url - must be at most 2048 characters")},
		hostileCase{name: "unknown column", method: "POST", target: RE, header: repH, body: def(`,"columns":{"PUSH":["Nope\u0000"]}`),
			status: 400, json: invalidValue("columns.PUSH - unknown column \"Nope\\x00\" for PUSH (allowed: Attempted, Sent, Sent Rate, Failed, Failure Rate, Impressions, Unique Impressions, Impression Rate, Clicks, Unique Clicks, CTR, Goals)")},
		hostileCase{name: "schedule at 25:00", method: "POST", target: RE, header: repH, body: def(`,"schedule":{"type":"daily","at":"25:00"}`),
			status: 400, json: invalidValue("schedule.at - must be a time in HH:MM 24-hour format")},
		hostileCase{name: "GET report id invalid UTF-8", method: "GET", target: RE + "/%FF%FE", header: repH, status: 404, json: reportNotFound},
		hostileCase{name: "GET unknown report id", method: "GET", target: RE + "/0123456789abcdef01234567", header: repH, status: 404, json: reportNotFound},
		hostileCase{name: "GET report id of 100 KiB", method: "GET", target: RE + "/" + kib(100), header: repH, status: 404, json: reportNotFound},
		hostileCase{name: "PUT upper-case report id", method: "PUT", target: RE + "/" + strings.ToUpper(e.reportID), header: repH, body: def(``),
			status: 404, json: reportNotFound},
		hostileCase{name: "PUT with nested 100000 deep", method: "PUT", target: RE + "/" + e.reportID, header: repH, body: b(deep), status: 400, json: malformed},
		hostileCase{name: "DELETE report id with NUL", method: "DELETE", target: RE + "/" + e.reportID[:23] + "%00", header: repH, status: 404, json: reportNotFound},
		hostileCase{name: "run of a report id with control characters", method: "POST", target: RE + "/%01%1B%7F/run", header: repH, status: 404, json: reportNotFound},
		hostileCase{name: "runs limit 0", method: "GET", target: RE + "/" + e.reportID + "/runs?limit=0", header: repH,
			status: 400, json: invalidValue("limit - must be an integer between 1 and 500")},
		hostileCase{name: "runs limit 1e400", method: "GET", target: RE + "/" + e.reportID + "/runs?limit=1e400", header: repH,
			status: 400, json: invalidValue("limit - must be an integer between 1 and 500")},
		hostileCase{name: "runs limit 1.5", method: "GET", target: RE + "/" + e.reportID + "/runs?limit=1.5", header: repH,
			status: 400, json: invalidValue("limit - must be an integer between 1 and 500")},
		hostileCase{name: "runs limit invalid UTF-8", method: "GET", target: RE + "/" + e.reportID + "/runs?limit=%FF", header: repH,
			status: 400, json: invalidType("limit - must be an integer")},
		hostileCase{name: "runs limit NaN", method: "GET", target: RE + "/" + e.reportID + "/runs?limit=NaN", header: repH,
			status: 400, json: invalidType("limit - must be an integer")},
		hostileCase{name: "method PATCH", method: "PATCH", target: RE, header: repH, body: def(``),
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "unknown sub-path", method: "GET", target: RE + "/" + e.reportID + "/runs/x/y", header: repH,
			status: 404, json: apiFail("Not Found", "No such endpoint.", "not_found")},
	)

	// ---- report download (SPEC §8.9, §13.3, §12.14) ----
	DL := func(app, file string) string { return "/campaign_reports/rest_api/" + app + "/" + file }
	const name = "Weekly_20250310.zip"
	sig := func(app, file string) string { return "Signature: " + signature(app, file, rk) }
	badName := downloadFail("FILENAME", "Invalid report file name or file name format.")
	badApp := downloadFail("APP_ID", "Invalid APP ID.")
	notFound := downloadFail("FILENAME", "Report file not found.")
	size := strconv.Itoa(len(e.fileBody))
	add("download",
		hostileCase{name: "FILENAME with encoded traversal", method: "GET", target: DL(ws, "..%2F..%2Fetc%2Fpasswd"), status: 400, json: badName},
		hostileCase{name: "FILENAME with NUL", method: "GET", target: DL(ws, "Weekly%00_20250310.zip"), status: 400, json: badName},
		hostileCase{name: "FILENAME invalid UTF-8", method: "GET", target: DL(ws, "Weekly%FF_20250310.zip"), status: 400, json: badName},
		hostileCase{name: "FILENAME with a 7-digit date", method: "GET", target: DL(ws, "Weekly_2025031.zip"), status: 400, json: badName},
		hostileCase{name: "FILENAME with another extension", method: "GET", target: DL(ws, "Weekly_20250310.zip.exe"), status: 400, json: badName},
		hostileCase{name: "FILENAME check before APP_ID", method: "GET", target: DL("%FF", "%00"), status: 400, json: badName},
		hostileCase{name: "APP_ID invalid UTF-8", method: "GET", target: DL("%FF%FE", name), status: 400, json: badApp},
		hostileCase{name: "APP_ID with NUL", method: "GET", target: DL(ws[:23]+"%00", name), status: 400, json: badApp},
		hostileCase{name: "APP_ID upper case", method: "GET", target: DL(strings.ToUpper(ws), name), status: 400, json: badApp},
		hostileCase{name: "APP_ID of 200 KiB", method: "GET", target: DL(kib(200), name), status: 400, json: badApp},
		hostileCase{name: "HEAD with a bad APP_ID", method: "HEAD", target: DL("%FF", name), status: 400},
		hostileCase{name: "disabled workspace", method: "GET", target: DL(off, name), header: []string{"Signature: " + signature(off, name, e.off.ReportKey)},
			status: 400, json: downloadFail("APP_ID", "Workspace is disabled.")},
		hostileCase{name: "no signature", method: "GET", target: DL(ws, name), status: 401, json: `{}`},
		hostileCase{name: "signature of another file", method: "GET", target: DL(ws, name), header: []string{sig(ws, e.file)}, status: 401, json: `{}`},
		hostileCase{name: "signature with the data key", method: "GET", target: DL(ws, name), header: []string{"Signature: " + signature(ws, name, dk)}, status: 401, json: `{}`},
		hostileCase{name: "signature query invalid UTF-8", method: "GET", target: DL(ws, name) + "?signature=%FF%FE", status: 401, json: `{}`},
		hostileCase{name: "signature query with bad escapes", method: "GET", target: DL(ws, name) + "?SIGNATURE=%zz&a=%", status: 401, json: `{}`},
		hostileCase{name: "signature query with semicolons", method: "GET", target: DL(ws, name) + "?a=1;signature=" + signature(ws, name, rk), status: 401, json: `{}`},
		hostileCase{name: "signature header of 500 KiB", method: "GET", target: DL(ws, name), header: []string{"Signature: " + kib(500)}, status: 401, json: `{}`},
		hostileCase{name: "20000 query parameters", method: "GET", target: DL(ws, name) + "?" + strings.Repeat("sig=0&", 20000) + "x", status: 401, json: `{}`},
		hostileCase{name: "signed but never produced", method: "GET", target: DL(ws, name), header: []string{sig(ws, name)}, status: 400, json: notFound},
		hostileCase{name: "signed, no extension, never produced", method: "GET", target: DL(ws, "Weekly_20250310"), header: []string{sig(ws, "Weekly_20250310")}, status: 400, json: notFound},
		hostileCase{name: "method POST", method: "POST", target: DL(ws, e.file), header: []string{sig(ws, e.file)}, body: b(`{}`),
			status: 405, headers: map[string]string{"Allow": "GET, HEAD"},
			json: mustJSON(map[string]any{"error": map[string]any{"attribute": "method", "message": "Method not allowed.", "type": "METHOD NOT ALLOWED", "request_id": ridPlaceholder}})},
		hostileCase{name: "range past the end", method: "GET", target: DL(ws, e.file), header: []string{sig(ws, e.file), "Range: bytes=100000-200000"},
			status: 416, headers: map[string]string{"Content-Range": "bytes */" + size}, text: "invalid range: failed to overlap\n"},
		hostileCase{name: "range not a range", method: "GET", target: DL(ws, e.file), header: []string{sig(ws, e.file), "Range: bytes=-\x7e-,abc"},
			status: 416, text: "invalid range\n"},
		hostileCase{name: "10000 overlapping ranges", method: "GET", target: DL(ws, e.file),
			header: []string{sig(ws, e.file), "Range: bytes=0-" + strings.Repeat(",0-", 10000)},
			status: 200, headers: map[string]string{"Content-Length": size}, raw: e.fileBody},
		hostileCase{name: "If-None-Match of 500 KiB", method: "GET", target: DL(ws, e.file), header: []string{sig(ws, e.file), "If-None-Match: \"" + kib(500) + "\""},
			status: 200, raw: e.fileBody},
	)

	// ---- admin API (SPEC §9.1, §12.14) ----
	AD := "/admin/v1/workspaces"
	adminNotFound := apiFail("Not Found", "Not found.", "not_found")
	tokenInvalid := apiFail("Unauthorized", "Missing or invalid admin bearer token.", "admin_token_invalid")
	add("admin",
		hostileCase{name: "no token", method: "GET", target: AD, status: 401, json: tokenInvalid},
		hostileCase{name: "wrong token", method: "GET", target: AD, header: []string{"Authorization: Bearer " + crashAdminToken + "x"}, status: 401, json: tokenInvalid},
		hostileCase{name: "token with invalid UTF-8", method: "GET", target: AD, header: []string{"Authorization: Bearer " + badUTF8}, status: 401, json: tokenInvalid},
		hostileCase{name: "token of 900 KiB", method: "GET", target: AD, header: []string{"Authorization: Bearer " + kib(900)}, status: 401, json: tokenInvalid},
		hostileCase{name: "Basic credentials", method: "GET", target: AD, header: []string{basicLine("admin", crashAdminToken)}, status: 401, json: tokenInvalid},
		hostileCase{name: "create with invalid UTF-8", method: "POST", target: AD, header: admH, body: b(`{"name":"` + badUTF8 + `"}`), status: 400, json: malformed},
		hostileCase{name: "create nested 100000 deep", method: "POST", target: AD, header: admH, body: b(`{"name":` + deep + `}`), status: 400, json: malformed},
		hostileCase{name: "create over 1 MiB", method: "POST", target: AD, header: admH, gen: func() []byte { return padded(`{"name":"x",`, 1<<20+1) },
			status: 413, json: tooBigAPI},
		hostileCase{name: "create without a name", method: "POST", target: AD, header: admH, body: b(`{"timezone":"UTC"}`),
			status: 400, json: apiFail("Invalid Field Value", "name - is required", "missing_field")},
		hostileCase{name: "name of 129 characters", method: "POST", target: AD, header: admH, body: b(`{"name":"` + strings.Repeat("n", 129) + `"}`),
			status: 400, json: invalidValue("name - must be 1 to 128 characters")},
		hostileCase{name: "timezone traversal", method: "POST", target: AD, header: admH, body: b(`{"name":"x","timezone":"../../../../etc/passwd"}`),
			status: 400, json: invalidValue("timezone - must be an IANA time zone name")},
		hostileCase{name: "timezone Local", method: "POST", target: AD, header: admH, body: b(`{"name":"x","timezone":"Local"}`),
			status: 400, json: invalidValue("timezone - must be an IANA time zone name")},
		hostileCase{name: "timezone with NUL", method: "POST", target: AD, header: admH, body: b(`{"name":"x","timezone":"UTC\u0000"}`),
			status: 400, json: invalidValue("timezone - must be an IANA time zone name")},
		hostileCase{name: "workspace id not hex", method: "POST", target: AD, header: admH, body: b(`{"name":"x","workspace_id":"ZZZZZZZZZZZZZZZZZZZZZZZZ"}`),
			status: 400, json: invalidValue("workspace_id - must be 24 lowercase hex characters")},
		hostileCase{name: "workspace id that exists", method: "POST", target: AD, header: admH, body: b(`{"name":"x","workspace_id":"` + ws + `"}`),
			status: 409, json: apiFail("Conflict", "workspace_id - already exists", "already_exists")},
		hostileCase{name: "rate limit 1e400", method: "POST", target: AD, header: admH, body: b(`{"name":"x","rate_limit_per_minute":1e400}`),
			status: 400, json: invalidValue("rate_limit_per_minute - must be an integer between 1 and 100000")},
		hostileCase{name: "rate limit 0", method: "POST", target: AD, header: admH, body: b(`{"name":"x","rate_limit_per_minute":0}`),
			status: 400, json: invalidValue("rate_limit_per_minute - must be an integer between 1 and 100000")},
		hostileCase{name: "rate limit as a string", method: "POST", target: AD, header: admH, body: b(`{"name":"x","rate_limit_per_minute":"100"}`),
			status: 400, json: invalidType("rate_limit_per_minute - must be an integer")},
		hostileCase{name: "list with status invalid UTF-8", method: "GET", target: AD + "?status=%FF", header: admH,
			status: 400, json: invalidValue("status - must be one of active, disabled")},
		hostileCase{name: "GET unknown workspace", method: "GET", target: AD + "/0123456789abcdef01234567", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "GET workspace id invalid UTF-8", method: "GET", target: AD + "/%FF%FE", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "GET workspace id of 200 KiB", method: "GET", target: AD + "/" + kib(200), header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "PATCH name 1e400", method: "PATCH", target: AD + "/" + ws, header: admH, body: b(`{"name":1e400}`),
			status: 400, json: invalidType("name - must be a string")},
		hostileCase{name: "PATCH empty name", method: "PATCH", target: AD + "/" + ws, header: admH, body: b(`{"name":""}`),
			status: 400, json: invalidValue("name - must be 1 to 128 characters")},
		hostileCase{name: "PATCH rate limit -1", method: "PATCH", target: AD + "/" + ws, header: admH, body: b(`{"rate_limit_per_minute":-1}`),
			status: 400, json: invalidValue("rate_limit_per_minute - must be an integer between 1 and 100000")},
		hostileCase{name: "PATCH rate limit 100000.00000000001", method: "PATCH", target: AD + "/" + ws, header: admH, body: b(`{"rate_limit_per_minute":100000.00000000001}`),
			status: 400, json: invalidValue("rate_limit_per_minute - must be an integer between 1 and 100000")},
		hostileCase{name: "PATCH invalid UTF-8", method: "PATCH", target: AD + "/" + ws, header: admH, body: b(`{"name":"` + badUTF8 + `"}`), status: 400, json: malformed},
		hostileCase{name: "rotate unknown key", method: "POST", target: AD + "/" + ws + "/rotate-keys", header: admH, body: b(`{"keys":["report_key\u0000"]}`),
			status: 400, json: invalidValue("keys - must contain only report_key and data_key")},
		hostileCase{name: "rotate keys not an array", method: "POST", target: AD + "/" + ws + "/rotate-keys", header: admH, body: b(`{"keys":"report_key"}`),
			status: 400, json: invalidType("keys - must be an array of strings")},
		hostileCase{name: "rotate with GET", method: "GET", target: AD + "/" + ws + "/rotate-keys", header: admH,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "disable with GET", method: "GET", target: AD + "/" + ws + "/disable", header: admH,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "OPTIONS the collection", method: "OPTIONS", target: AD, header: admH,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "DELETE the collection", method: "DELETE", target: AD, header: admH,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
		hostileCase{name: "unknown collection", method: "GET", target: "/admin/v1/%FF", header: admH,
			status: 404, json: apiFail("Not Found", "No such endpoint.", "not_found")},
		hostileCase{name: "unknown action", method: "POST", target: AD + "/" + ws + "/explode", header: admH,
			status: 404, json: apiFail("Not Found", "No such endpoint.", "not_found")},
		hostileCase{name: "path too deep", method: "GET", target: AD + "/" + ws + "/quarantine/0123456789abcdef01234567/x", header: admH,
			status: 404, json: apiFail("Not Found", "No such endpoint.", "not_found")},
	)

	// ---- quarantine listing and records (SPEC §9.1, §12.14) ----
	Q := AD + "/" + ws + "/quarantine"
	qLimit := invalidValue("limit - must be an integer between 1 and 1000")
	qCursor := invalidValue("cursor - is not valid")
	qReason := invalidValue("reason - must be UTF-8 text without control characters")
	noItems := `{"items":[],"next_cursor":null}`
	add("quarantine",
		hostileCase{name: "since not a time", method: "GET", target: Q + "?since=yesterday", header: admH, status: 400, json: invalidValue("since - must be an RFC 3339 time")},
		hostileCase{name: "since invalid UTF-8", method: "GET", target: Q + "?since=%FF", header: admH, status: 400, json: invalidValue("since - must be an RFC 3339 time")},
		hostileCase{name: "until in month 13", method: "GET", target: Q + "?until=2025-13-01T00:00:00Z", header: admH, status: 400, json: invalidValue("until - must be an RFC 3339 time")},
		hostileCase{name: "until year 10000", method: "GET", target: Q + "?until=10000-01-01T00:00:00Z", header: admH, status: 400, json: invalidValue("until - must be an RFC 3339 time")},
		hostileCase{name: "reason with NUL", method: "GET", target: Q + "?reason=event%00", header: admH, status: 400, json: qReason},
		hostileCase{name: "reason invalid UTF-8", method: "GET", target: Q + "?reason=%FF%FE", header: admH, status: 400, json: qReason},
		hostileCase{name: "reason with a C1 control", method: "GET", target: Q + "?reason=%C2%85", header: admH, status: 400, json: qReason},
		hostileCase{name: "reason of 500 KiB", method: "GET", target: Q + "?reason=" + kib(500), header: admH, status: 200, json: noItems},
		hostileCase{name: "reason with LIKE wildcards", method: "GET", target: Q + "?reason=%25_%25", header: admH, status: 200, json: noItems},
		hostileCase{name: "limit 0", method: "GET", target: Q + "?limit=0", header: admH, status: 400, json: qLimit},
		hostileCase{name: "limit 1001", method: "GET", target: Q + "?limit=1001", header: admH, status: 400, json: qLimit},
		hostileCase{name: "limit 1e400", method: "GET", target: Q + "?limit=1e400", header: admH, status: 400, json: qLimit},
		hostileCase{name: "limit -1", method: "GET", target: Q + "?limit=-1", header: admH, status: 400, json: qLimit},
		hostileCase{name: "limit 2^64", method: "GET", target: Q + "?limit=18446744073709551616", header: admH, status: 400, json: qLimit},
		hostileCase{name: "cursor invalid UTF-8", method: "GET", target: Q + "?cursor=1:%FF", header: admH, status: 400, json: qCursor},
		hostileCase{name: "cursor garbage", method: "GET", target: Q + "?cursor=zzz", header: admH, status: 400, json: qCursor},
		hostileCase{name: "cursor with a huge timestamp", method: "GET", target: Q + "?cursor=99999999999999999999999:0123456789abcdef01234567", header: admH, status: 400, json: qCursor},
		hostileCase{name: "cursor of 100 KiB", method: "GET", target: Q + "?cursor=" + kib(100), header: admH, status: 400, json: qCursor},
		hostileCase{name: "purge without before", method: "DELETE", target: Q, header: admH,
			status: 400, json: apiFail("Invalid Field Value", "before - is required", "missing_field")},
		hostileCase{name: "purge before garbage", method: "DELETE", target: Q + "?before=%00", header: admH, status: 400, json: invalidValue("before - must be an RFC 3339 time")},
		hostileCase{name: "GET unknown record", method: "GET", target: Q + "/0123456789abcdef01234567", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "GET record id invalid UTF-8", method: "GET", target: Q + "/%FF", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "DELETE record id with NUL", method: "DELETE", target: Q + "/0123456789abcdef0123456%00", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "list of an unknown workspace", method: "GET", target: AD + "/0123456789abcdef01234567/quarantine?limit=0", header: admH, status: 404, json: adminNotFound},
		hostileCase{name: "POST the list", method: "POST", target: Q, header: admH,
			status: 405, json: apiFail("Method Not Allowed", "Method not allowed.", "method_not_allowed")},
	)

	// ---- the dashboard's static files ----
	add("ui",
		hostileCase{name: "file name invalid UTF-8", method: "GET", target: "/ui/%FF%FE", status: 404, text: "not found\n"},
		hostileCase{name: "file name with NUL", method: "GET", target: "/ui/index.html%00", status: 404, text: "not found\n"},
		hostileCase{name: "file name of 200 KiB", method: "GET", target: "/ui/" + kib(200), status: 404, text: "not found\n"},
		hostileCase{name: "encoded traversal", method: "GET", target: "/ui/..%2F..%2Fgo.mod", status: 404, text: "not found\n"},
		hostileCase{name: "method POST", method: "POST", target: "/ui/", body: b(`x`), status: 405, text: "method not allowed\n",
			headers: map[string]string{"Allow": "GET, HEAD"}},
	)

	// ---- unknown paths and requests net/http refuses itself ----
	apiNotFound := apiFail("Not Found", "No such endpoint.", "not_found")
	add("unknown",
		hostileCase{name: "root", method: "GET", target: "/", status: 404, json: apiNotFound},
		hostileCase{name: "invalid UTF-8 path", method: "GET", target: "/%FF%FE", status: 404, json: apiNotFound},
		hostileCase{name: "raw invalid UTF-8 in the path", method: "GET", target: "/\xff\xfe", status: 404, json: apiNotFound},
		hostileCase{name: "path of 500 KiB", method: "GET", target: "/" + kib(500), status: 404, json: apiNotFound},
		hostileCase{name: "unknown ingest path", method: "POST", target: "/v1/nope", header: ing(), body: okEnv,
			status: 404, json: ingestFail("NotFound", "path", msgNoEndpnt)},
		hostileCase{name: "ingest path with NUL", method: "POST", target: "/v1/%00", status: 404, json: ingestFail("NotFound", "path", msgNoEndpnt)},
		hostileCase{name: "unknown core-services path", method: "POST", target: "/core-services/v1/campaigns/", header: stH(), body: meta(``), status: 404, json: apiNotFound},
		hostileCase{name: "request line with NUL", method: "GET", target: "/health\x00z", status: 400, noRID: true, text: "400 Bad Request"},
		hostileCase{name: "header value with NUL", method: "GET", target: "/healthz", header: []string{"X-Pad: a\x00b"}, status: 400, noRID: true,
			text: "400 Bad Request"},
		hostileCase{name: "header name with a space", method: "GET", target: "/healthz", header: []string{"X Pad: a"}, status: 400, noRID: true,
			text: "400 Bad Request: invalid header name"},
		hostileCase{name: "header of 2 MiB", method: "GET", target: "/healthz", header: []string{"X-Pad: " + strings.Repeat("p", 2<<20)}, status: 431, noRID: true,
			text: "431 Request Header Fields Too Large"},
		hostileCase{name: "headers of 1 MiB and a byte", method: "GET", target: "/healthz", header: []string{"X-Pad: " + strings.Repeat("p", 1<<20-len("GET /healthz HTTP/1.1\r\nX-Pad: \r\n")+1)},
			status: 431, noRID: true, text: "431 Request Header Fields Too Large"},
		hostileCase{name: "headers just under 1 MiB", method: "GET", target: "/healthz", header: []string{"X-Pad: " + strings.Repeat("p", 1<<20-2048)},
			status: 200, json: `{"status":"ok"}`},
		hostileCase{name: "path of 2 MiB", method: "GET", target: "/" + strings.Repeat("p", 2<<20), status: 431, noRID: true,
			text: "431 Request Header Fields Too Large"},
		hostileCase{name: "5000 headers within the bound", method: "POST", target: ST,
			header: func() []string {
				h := []string{"MOE-APPKEY: " + ws}
				for i := 0; i < 5000; i++ {
					h = append(h, fmt.Sprintf("X-Pad-%d: %d", i, i))
				}
				return h
			}(), body: stats(``),
			status: 401, json: apiFail("Authentication required", "Authentication Header Required", "auth_header_required")},
		// net/http answers these before reading any body and closes at once: no body is sent, so that no unread byte
		// turns the close into a reset that would drop the answer.
		hostileCase{name: "conflicting Content-Lengths", method: "POST", target: S, header: append(ing(), "Content-Length: 2"), framing: frameLie, clValue: "13",
			status: 400, noRID: true,
			text: "400 Bad Request"},
		hostileCase{name: "negative Content-Length", method: "POST", target: S, header: ing(), framing: frameLie, clValue: "-1", status: 400, noRID: true,
			text: "400 Bad Request"},
		hostileCase{name: "Content-Length 1e400", method: "POST", target: S, header: ing(), framing: frameLie, clValue: "1e400", status: 400, noRID: true,
			text: "400 Bad Request"},
	)
	return cs
}

// overloadCases runs the admission cases of SPEC §12.13 against a second server that admits one ingest request
// at a time: while one request holds the slot, every ingest endpoint answers 503 ServiceUnavailable with
// Retry-After and stores nothing — authentication still comes first, and the other APIs are not affected. A
// refused Track request's Idempotency-Key is not remembered. It returns the names of the cases run.
func overloadCases(t *testing.T) []string {
	srv := startServerProcess(t, t.TempDir(), "--max-ingest-requests", "1")
	addr := strings.TrimPrefix(srv.Base, "http://")
	ctx := context.Background()
	c, ws := srv.newWorkspace(t, "overload")
	id, dk := ws.WorkspaceID, ws.DataKey
	if st, _, err := c.PutCampaign(ctx, id, dk, "oc1", map[string]any{"channel": "EMAIL"}); err != nil || st != 201 {
		t.Fatalf("catalog PUT: %d %v", st, err)
	}
	ing := []string{basicLine(id, dk), "Content-Type: application/json"}
	busy := ingestFail("ServiceUnavailable", "server", "server is busy; retry later")
	retry := map[string]string{"Retry-After": "1"}
	probe := hostileCase{method: "POST", target: "/v1/streams/" + id, header: ing}
	const idemKey = "hostile-overload-1"
	trackBody := []byte(`{"type":"event","customer_id":"u1","actions":[{"action":"Purchase"}]}`)

	// hold takes the only slot: an authenticated Streams request whose body never ends.
	var holdConn net.Conn
	holdAnswered := make(chan struct{})
	hold := func() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/streams/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n%s\r\nContent-Length: 1000\r\n\r\n{\"events\":[", id, addr, ing[0], ing[1])
		holdConn = conn
		answered := make(chan struct{})
		holdAnswered = answered
		go func() {
			// The first byte of an answer, or the end when the test closes conn. A hold refused with 503 is not
			// closed by the server, which waits for the rest of its body to keep the connection.
			conn.Read(make([]byte, 1))
			close(answered)
			io.Copy(io.Discard, conn)
		}()
	}
	// Until the hold owns the slot, an empty-bodied probe is admitted and answered 400.
	hold()
	held := time.Now()
	// A probe that holds the slot when the hold arrives has it refused; it is then sent again. The refusal may
	// never reach the test: net/http reads the rest of an unread small body before it writes the answer, and the
	// hold's never ends. So a hold that no probe has found owning the slot within a second is sent again too.
	deadline := time.Now().Add(time.Minute)
	for {
		r := sendRaw(t, addr, &probe, nil)
		if r.status == 503 {
			break
		}
		select {
		case <-holdAnswered: // the probe had the slot when the hold arrived: hold again
			holdConn.Close()
			hold()
			held = time.Now()
		default:
			if time.Since(held) > time.Second {
				holdConn.Close()
				hold()
				held = time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the holding request never took the slot; last probe %d %s", r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	cases := []hostileCase{
		{name: "streams", method: "POST", target: "/v1/streams/" + id, header: ing, body: []byte(`{"events":[]}`), status: 503, headers: retry, json: busy},
		{name: "streams gzip bomb", method: "POST", target: "/v1/streams/" + id, header: append(ing, "Content-Encoding: gzip"),
			gen: func() []byte { return gzipBomb(64) }, status: 503, headers: retry, json: busy},
		{name: "track with Idempotency-Key", method: "POST", target: "/v1/event/" + id, header: append(ing, "Idempotency-Key: "+idemKey), body: trackBody,
			status: 503, headers: retry, json: busy},
		{name: "bulk", method: "POST", target: "/v1/transition/" + id, header: ing, body: []byte(`{"type":"transition","elements":[{"type":"customer"}]}`),
			status: 503, headers: retry, json: busy},
		{name: "customer", method: "POST", target: "/v1/customer/" + id, header: ing, body: []byte(`{"type":"customer","customer_id":"u1"}`),
			status: 503, headers: retry, json: busy},
		{name: "device with invalid UTF-8", method: "POST", target: "/v1/device/" + id, header: ing, body: []byte("{\"type\":\"device\",\"customer_id\":\"\xff\"}"),
			status: 503, headers: retry, json: busy},
		{name: "catalog PUT", method: "PUT", target: "/v1/campaigns/" + id + "/oc1", header: ing, body: []byte(`{"channel":"EMAIL"}`),
			status: 503, headers: retry, json: busy},
		{name: "catalog GET", method: "GET", target: "/v1/campaigns/" + id + "/oc1", header: ing[:1], status: 503, headers: retry, json: busy},
		{name: "funnel", method: "POST", target: "/v1/campaigns/" + id + "/oc1/funnel", header: ing,
			body: []byte(`{"date":"2025-03-01","stages":{"after_fc":1}}`), status: 503, headers: retry, json: busy},
		{name: "authentication before admission", method: "POST", target: "/v1/streams/" + id, header: []string{basicLine(id, ws.ReportKey), ing[1]},
			body: []byte(`{"events":[]}`), status: 401, json: ingestFail("Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")},
		{name: "Stats API unaffected", method: "POST", target: "/core-services/v1/campaign-stats", header: []string{basicLine(id, ws.ReportKey), "MOE-APPKEY: " + id},
			body:   []byte(`{"request_id":"o","start_date":"2025-03-01","end_date":"2025-03-01","attribution_type":"VIEW_THROUGH","metric_type":"TOTAL"}`),
			status: 200, json: `{"response_id":"o","total_campaigns":0,"current_page":1,"total_pages":0,"data":{}}`},
	}
	var names []string
	for i := range cases {
		oc := &cases[i]
		oc.family = "overload"
		name := oc.family + "/" + oc.name
		names = append(names, name)
		t.Run(name, func(t *testing.T) { oc.run(t, addr) })
	}

	// Release the slot: the held request ends with a malformed body.
	holdConn.(*net.TCPConn).CloseWrite()
	<-holdAnswered
	holdConn.Close()
	for i := 0; ; i++ {
		if r := sendRaw(t, addr, &probe, nil); r.status == 400 {
			break
		} else if i == 1000 {
			t.Fatalf("the slot was not released; last probe %d %s", r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The refused request's Idempotency-Key was not remembered: its retry is processed.
	res, err := c.TrackEvent(ctx, id, dk, trackBody, idemKey)
	if err != nil || res.Status != "success" {
		t.Fatalf("track retry after the 503: %+v %v", res, err)
	}
	if errs := srv.ErrorLogs(); len(errs) > 0 {
		t.Errorf("overload server: %d ERROR log lines, first: %s", len(errs), errs[0])
	}
	return names
}
