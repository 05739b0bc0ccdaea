package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	cliTestWS      = "65f0a1b2c3d4e5f6a7b8c9d0"
	cliTestDataKey = "0123456789abcdef0123456789abcdef01234567"
	cliTestRepKey  = "fedcba9876543210fedcba9876543210fedcba98"
	cliTestToken   = "admin-token-0123456789"
)

// fakeIngestBatch is one request the fake ingest server received, body decompressed.
type fakeIngestBatch struct {
	Path        string
	ContentType string
	Encoding    string
	Body        []byte
}

// fakeIngest implements just enough of the ingest API (SPEC §3.2–§3.4, §3.8, §3.9, §3.12) to check what the CLI
// sends: events whose uuid starts with "bad" are rejected, repeated uuids are duplicates.
type fakeIngest struct {
	t       *testing.T
	mu      sync.Mutex
	reqs    []fakeIngestBatch
	seen    map[string]bool
	catalog map[string]bool
	srv     *httptest.Server
}

func newFakeIngest(t *testing.T) *fakeIngest {
	f := &fakeIngest{t: t, seen: map[string]bool{}, catalog: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIngest) fail(w http.ResponseWriter, status int, typ, attr, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":"fail","error":{"attribute":%q,"message":%q,"type":%q,"request_id":"fakereq"}}`, attr, msg, typ)
}

func (f *fakeIngest) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	enc := r.Header.Get("Content-Encoding")
	if enc == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			f.fail(w, 400, "Malformed JSON", "body", "Could not decompress the gzip request body")
			return
		}
		body, _ = io.ReadAll(zr)
	}
	f.reqs = append(f.reqs, fakeIngestBatch{Path: r.Method + " " + r.URL.EscapedPath(), ContentType: r.Header.Get("Content-Type"), Encoding: enc, Body: body})
	user, pass, ok := r.BasicAuth()
	if !ok || user != cliTestWS || pass != cliTestDataKey {
		f.fail(w, 401, "Authentication required", "SECRET_KEY", "Data API key mismatch for this workspace")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/streams/"+cliTestWS:
		f.streams(w, r.Header.Get("Content-Type"), body)
	case r.URL.Path == "/v1/event/"+cliTestWS || r.URL.Path == "/v1/transition/"+cliTestWS:
		if bytes.Contains(body, []byte(`"guest"`)) {
			f.fail(w, 400, "Blacklisted", "customer_id", "customer_id value is not allowed")
			return
		}
		fmt.Fprint(w, `{"status":"success","message":"Your request has been accepted and will be processed soon.","request_id":"r1"}`)
	case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/campaigns/"+cliTestWS+"/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/campaigns/"+cliTestWS+"/")
		if id == "bad" {
			f.fail(w, 400, "InvalidParams", "channel", "channel must be one of PUSH, EMAIL, SMS, WHATSAPP, IN_APP, ON_SITE, CARDS, CONNECTORS, FACEBOOK, GOOGLE_ADS")
			return
		}
		status := 200
		if !f.catalog[id] {
			status = 201
		}
		f.catalog[id] = true
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"campaign_id":%q}`, id)
	default:
		f.fail(w, 404, "NotFound", "path", "No such endpoint")
	}
}

func (f *fakeIngest) streams(w http.ResponseWriter, contentType string, body []byte) {
	type errT struct {
		Index     int    `json:"index"`
		EventUUID string `json:"event_uuid"`
		Message   string `json:"message"`
	}
	res := struct {
		Status     string `json:"status"`
		Accepted   int    `json:"accepted"`
		Duplicates int    `json:"duplicates"`
		Rejected   int    `json:"rejected"`
		Errors     []errT `json:"errors"`
	}{Status: "success", Errors: []errT{}}
	one := func(i int, raw []byte) {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			res.Rejected++
			res.Errors = append(res.Errors, errT{i, "", "line is not valid JSON"})
			return
		}
		if inner, ok := ev["event"].(map[string]any); ok {
			ev = inner
		}
		uuid, _ := ev["event_uuid"].(string)
		switch {
		case strings.HasPrefix(uuid, "bad"):
			res.Rejected++
			res.Errors = append(res.Errors, errT{i, uuid, "event_time is before 2000-01-01"})
		case f.seen[uuid]:
			res.Duplicates++
		default:
			f.seen[uuid] = true
			res.Accepted++
		}
	}
	if strings.HasPrefix(contentType, "application/x-ndjson") {
		for i, line := range strings.Split(string(body), "\n") {
			if strings.TrimSpace(line) != "" {
				one(i, []byte(line))
			}
		}
	} else {
		var env struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			f.fail(w, 400, "Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")
			return
		}
		for i, e := range env.Events {
			one(i, e)
		}
	}
	b, _ := json.Marshal(res)
	_, _ = w.Write(b)
}

func (f *fakeIngest) requests() []fakeIngestBatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeIngestBatch(nil), f.reqs...)
}

func cliEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func runIngestT(t *testing.T, args []string, env map[string]string, stdin io.Reader) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runIngest(context.Background(), args, cliEnv(env), stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipData(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ndjsonEvent(uuid string) string {
	return fmt.Sprintf(`{"event_code":"MOE_EMAIL_SENT","event_uuid":%q,"event_time":1740819600,"uid":"user-1","event_attributes":{"campaign_id":"c1","campaign_channel":"EMAIL"}}`, uuid)
}

func TestRunIngest_NDJSONBatchingLineNumbersAndExit3(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	var content strings.Builder
	wantLines := map[int]string{} // 1-based line number → expected stderr suffix
	var nonBlank []string
	for line := 1; line <= 300; line++ {
		var s string
		switch {
		case line%50 == 0:
			s = "" // blank line
		case line == 77:
			s = "   \t" // whitespace only
		case line == 123:
			s = "{not json"
			wantLines[line] = ": line is not valid JSON"
		case line%41 == 0:
			s = ndjsonEvent(fmt.Sprintf("bad-%d", line))
			wantLines[line] = fmt.Sprintf(" bad-%d: event_time is before 2000-01-01", line)
		case line == 210:
			s = ndjsonEvent("ev-10") // duplicate of line 10
		case line == 250:
			s = `{"app_name":"Shop","export_day":"2025-03-01","event":` + ndjsonEvent("wrapped-250") + `}`
		default:
			s = ndjsonEvent(fmt.Sprintf("ev-%d", line))
		}
		if line == 201 {
			content.WriteString(s + "\r\n") // CRLF line
		} else {
			content.WriteString(s + "\n")
		}
		if strings.TrimSpace(s) != "" {
			nonBlank = append(nonBlank, s)
		}
	}
	path := writeFile(t, dir, "events.ndjson", []byte(content.String()))
	code, stdout, stderr := runIngestT(t, []string{path, "--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, "--batch-bytes", "2KiB"}, nil, nil)
	if code != 3 {
		t.Fatalf("exit = %d, stderr:\n%s", code, stderr)
	}
	reqs := f.requests()
	if len(reqs) < 10 {
		t.Fatalf("only %d batches for ~45 KiB under a 2 KiB limit", len(reqs))
	}
	var sent []string
	for i, b := range reqs {
		if b.Path != "POST /v1/streams/"+cliTestWS || b.ContentType != "application/x-ndjson" || b.Encoding != "gzip" {
			t.Errorf("batch %d: %s %q %q", i, b.Path, b.ContentType, b.Encoding)
		}
		if len(b.Body) > 2048 {
			t.Errorf("batch %d is %d bytes, over --batch-bytes 2048", i, len(b.Body))
		}
		if !bytes.HasSuffix(b.Body, []byte("\n")) {
			t.Errorf("batch %d does not end on a line boundary", i)
		}
		sent = append(sent, strings.Split(strings.TrimSuffix(string(b.Body), "\n"), "\n")...)
	}
	if strings.Join(sent, "\n") != strings.Join(nonBlank, "\n") {
		t.Errorf("lines sent differ from the non-blank input lines (%d vs %d)", len(sent), len(nonBlank))
	}
	for line, suffix := range wantLines {
		want := fmt.Sprintf("%s:%d%s\n", path, line, suffix)
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q\nstderr:\n%s", want, stderr)
		}
	}
	if got := strings.Count(stderr, "\n"); got != len(wantLines) {
		t.Errorf("stderr has %d lines, want %d:\n%s", got, len(wantLines), stderr)
	}
	rejected := len(wantLines)
	accepted := len(nonBlank) - rejected - 1
	if want := fmt.Sprintf("accepted=%d duplicates=1 rejected=%d\n", accepted, rejected); stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}

func TestRunIngest_GzipFileEnvAndFlagPrecedence(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	var content strings.Builder
	for i := 0; i < 20; i++ {
		content.WriteString(ndjsonEvent(fmt.Sprintf("gz-%d", i)) + "\n")
	}
	path := writeFile(t, dir, "export.jsonl.gz", gzipData(t, []byte(content.String())))
	env := map[string]string{
		"CAMPAIGNSTATS_SERVER":    f.srv.URL,
		"CAMPAIGNSTATS_WORKSPACE": "ffffffffffffffffffffffff", // overridden by --workspace
		"CAMPAIGNSTATS_DATA_KEY":  cliTestDataKey,
	}
	code, stdout, stderr := runIngestT(t, []string{"--workspace", cliTestWS, path}, env, nil)
	if code != 0 {
		t.Fatalf("exit = %d, stderr: %s", code, stderr)
	}
	if stdout != "accepted=20 duplicates=0 rejected=0\n" || stderr != "" {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	reqs := f.requests()
	if len(reqs) != 1 || string(reqs[0].Body) != content.String() {
		t.Errorf("batches = %d, body decompressed locally and re-sent: %v", len(reqs), len(reqs) == 1 && string(reqs[0].Body) == content.String())
	}

	// Sending the same file again: everything is a duplicate, exit 0.
	code, stdout, _ = runIngestT(t, []string{"--workspace", cliTestWS, "--batch-bytes", "1000", path}, env, nil)
	if code != 0 || stdout != "accepted=0 duplicates=20 rejected=0\n" {
		t.Errorf("second run: exit %d stdout %q", code, stdout)
	}
}

func TestRunIngest_StreamsEnvelopeRebatched(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	var evs []string
	for i := 0; i < 60; i++ {
		uuid := fmt.Sprintf("env-%d", i)
		if i == 37 || i == 59 {
			uuid = fmt.Sprintf("bad-%d", i)
		}
		evs = append(evs, "    "+ndjsonEvent(uuid))
	}
	envelope := "{\n  \"app_name\": \"Shop\",\n  \"source\": \"MOENGAGE\",\n  \"events\": [\n" + strings.Join(evs, ",\n") +
		"\n  ],\n  \"moe_request_id\": \"req-17\"\n}\n"
	path := writeFile(t, dir, "batch.json", []byte(envelope))
	code, stdout, stderr := runIngestT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, "--batch-bytes", "1KiB", path}, nil, nil)
	if code != 3 {
		t.Fatalf("exit = %d stderr %s", code, stderr)
	}
	reqs := f.requests()
	if len(reqs) < 8 {
		t.Fatalf("%d batches, want the 60 events split under 1 KiB", len(reqs))
	}
	var uuids []string
	for i, b := range reqs {
		if b.ContentType != "application/json" || b.Encoding != "gzip" || len(b.Body) > 1024 {
			t.Errorf("batch %d: %q %q %d bytes", i, b.ContentType, b.Encoding, len(b.Body))
		}
		var env struct {
			AppName      string `json:"app_name"`
			Source       string `json:"source"`
			MoeRequestID string `json:"moe_request_id"`
			Events       []struct {
				EventUUID string `json:"event_uuid"`
			} `json:"events"`
		}
		if err := json.Unmarshal(b.Body, &env); err != nil {
			t.Fatalf("batch %d is not JSON: %v\n%s", i, err, b.Body)
		}
		if env.AppName != "Shop" || env.Source != "MOENGAGE" {
			t.Errorf("batch %d lost the provenance fields: %s", i, b.Body)
		}
		if (env.MoeRequestID == "req-17") != (i == len(reqs)-1) {
			t.Errorf("batch %d moe_request_id = %q", i, env.MoeRequestID)
		}
		for _, e := range env.Events {
			uuids = append(uuids, e.EventUUID)
		}
	}
	if len(uuids) != 60 || uuids[0] != "env-0" || uuids[36] != "env-36" || uuids[58] != "env-58" {
		t.Errorf("events sent out of order or lost: %v", uuids)
	}
	for _, want := range []string{path + ":37 bad-37: event_time is before 2000-01-01\n", path + ":59 bad-59: event_time is before 2000-01-01\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != "accepted=58 duplicates=0 rejected=2\n" {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestRunIngest_TrackBulkAutoAndRejectedFile(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	track := writeFile(t, dir, "track.json", []byte(`{"customer_id":"user-1","type":"event","actions":[{"action":"Purchase","attributes":{"amount":5}},{"action":"Signup"}]}`))
	bulk := writeFile(t, dir, "bulk.json.gz", gzipData(t, []byte(`{"elements":[{"type":"customer","customer_id":"u"},{"type":"event","customer_id":"u","actions":[{"action":"A"},{"action":"B"},{"action":"C"}]}],"type":"transition"}`)))
	guest := writeFile(t, dir, "guest.json", []byte(`{"type":"event","customer_id":"guest","actions":[{"action":"Purchase"}]}`))
	code, stdout, stderr := runIngestT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, track, bulk, guest}, nil, nil)
	if code != 3 {
		t.Fatalf("exit = %d, stderr %s", code, stderr)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[0].Path != "POST /v1/event/"+cliTestWS || reqs[1].Path != "POST /v1/transition/"+cliTestWS || reqs[2].Path != "POST /v1/event/"+cliTestWS {
		t.Fatalf("requests = %+v", reqs)
	}
	if reqs[0].ContentType != "application/json" || reqs[0].Encoding != "" {
		t.Errorf("track request headers %q %q", reqs[0].ContentType, reqs[0].Encoding)
	}
	if !bytes.HasPrefix(reqs[1].Body, []byte(`{"elements":`)) {
		t.Errorf("bulk body not decompressed locally: %q", reqs[1].Body)
	}
	if stdout != "accepted=5 duplicates=0 rejected=1\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if stderr != guest+": customer_id value is not allowed\n" {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestRunIngest_StdinAutoDetection(t *testing.T) {
	f := newFakeIngest(t)
	base := []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, "-"}

	// NDJSON (several objects) on stdin: detected as NDJSON, not as a single object.
	nd := ndjsonEvent("in-1") + "\n\n" + ndjsonEvent("bad-in") + "\n"
	code, stdout, stderr := runIngestT(t, base, nil, strings.NewReader(nd))
	if code != 3 || stdout != "accepted=1 duplicates=0 rejected=1\n" || stderr != "stdin:3 bad-in: event_time is before 2000-01-01\n" {
		t.Errorf("ndjson stdin: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	// A gzip-compressed envelope on stdin.
	env := `{"events":[` + ndjsonEvent("in-2") + `]}`
	code, stdout, stderr = runIngestT(t, base, nil, bytes.NewReader(gzipData(t, []byte(env))))
	if code != 0 || stdout != "accepted=1 duplicates=0 rejected=0\n" {
		t.Errorf("gzip envelope stdin: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1]; last.ContentType != "application/json" || string(last.Body) != env {
		t.Errorf("envelope request %q %s", last.ContentType, last.Body)
	}
	// A UTF-8 BOM before an envelope does not hide it.
	code, _, stderr = runIngestT(t, base, nil, strings.NewReader("\xEF\xBB\xBF"+`{"events":[`+ndjsonEvent("in-3")+`]}`))
	if code != 0 || f.requests()[len(f.requests())-1].ContentType != "application/json" {
		t.Errorf("BOM envelope: exit %d stderr %q", code, stderr)
	}
	// --format forces the shape: the same envelope as NDJSON is one line.
	code, _, _ = runIngestT(t, append([]string{"--format", "ndjson"}, base...), nil, strings.NewReader(env))
	if code != 0 || f.requests()[len(f.requests())-1].ContentType != "application/x-ndjson" {
		t.Errorf("--format ndjson: exit %d", code)
	}
}

func TestIngestDetect(t *testing.T) {
	cases := []struct {
		in       string
		complete bool
		want     string
		ok       bool
	}{
		{`{"events":[]}`, true, "streams", true},
		{`{"app_name":"x","source":{"a":[1,2]},"events":[{"event_uuid":"a"`, false, "streams", true},
		{`{"customer_id":"u","type":"event","actions":[]}`, true, "track", true},
		{`{"type":"transition","elements":[]}`, true, "bulk", true},
		{`{"event_uuid":"a","event_code":"X","event_time":1}`, true, "ndjson", true},
		{`{"event":{"event_uuid":"a"}}` + "\n" + `{"event":{}}`, true, "ndjson", true},
		{`{"type":"customer"}`, true, "ndjson", true},
		{`[1,2]`, true, "ndjson", true},
		{`not json`, false, "ndjson", true},
		{"", true, "ndjson", true},
		{`{"app_name":"x","meta":{"deep":"cut off`, false, "", false},
		{`{"app_name":"x"`, false, "", false},
		{`{"app_name":"x"`, true, "ndjson", true},
	}
	for _, c := range cases {
		got, ok := ingestDetect([]byte(c.in), c.complete)
		if got != c.want || ok != c.ok {
			t.Errorf("ingestDetect(%q, %v) = %q %v, want %q %v", c.in, c.complete, got, ok, c.want, c.ok)
		}
	}
	// The fallback when the first MiB does not decide: read everything.
	big := `{"meta":"` + strings.Repeat("x", ingestSniffBytes+10) + `","events":[]}`
	format, r, err := ingestSniff(strings.NewReader(big))
	if err != nil || format != "streams" {
		t.Fatalf("ingestSniff big = %q %v", format, err)
	}
	if all, _ := io.ReadAll(r); string(all) != big {
		t.Error("ingestSniff lost bytes")
	}
}

func TestRunIngest_LongLineSentAloneAndBatchSizes(t *testing.T) {
	f := newFakeIngest(t)
	long := `{"event_uuid":"long","pad":"` + strings.Repeat("p", 5000) + `"}`
	in := ndjsonEvent("s1") + "\n" + long + "\n" + ndjsonEvent("s2")
	code, stdout, stderr := runIngestT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, "--batch-bytes", "1024", "-"}, nil, strings.NewReader(in))
	if code != 0 || stdout != "accepted=3 duplicates=0 rejected=0\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	reqs := f.requests()
	if len(reqs) != 3 || string(reqs[1].Body) != long+"\n" {
		t.Errorf("%d batches; the long line should travel alone", len(reqs))
	}
}

func TestRunIngest_LinesLongerThanTheReadBuffer(t *testing.T) {
	f := newFakeIngest(t)
	huge := `{"event_uuid":"bad-huge","pad":"` + strings.Repeat("h", 600<<10) + `"}`
	in := ndjsonEvent("h1") + "\n" + huge + "\n\n" + ndjsonEvent("bad-after") + "\n"
	code, stdout, stderr := runIngestT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey, "--batch-bytes", "1MiB", "-"}, nil, strings.NewReader(in))
	if code != 3 || stdout != "accepted=1 duplicates=0 rejected=2\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	if stderr != "stdin:2 bad-huge: event_time is before 2000-01-01\nstdin:4 bad-after: event_time is before 2000-01-01\n" {
		t.Errorf("stderr = %q", stderr)
	}
	reqs := f.requests()
	if len(reqs) != 1 || len(reqs[0].Body) != len(in)-1 {
		t.Errorf("%d batches, body %d bytes, want 1 batch of %d", len(reqs), len(reqs[0].Body), len(in)-1)
	}
}

func TestRunIngest_Campaigns(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	base := []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey}

	wrapped := writeFile(t, dir, "catalog.json", []byte(`{"campaigns":[{"campaign_id":"c1","channel":"PUSH"},{"campaign_id":"c2","campaign_name":"Two"}]}`))
	events := writeFile(t, dir, "e.ndjson", []byte(ndjsonEvent("cat-1")+"\n"))
	code, stdout, stderr := runIngestT(t, append(base, "--campaigns", wrapped, events), nil, nil)
	if code != 0 || stdout != "campaigns created=2 updated=0\naccepted=1 duplicates=0 rejected=0\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[0].Path != "PUT /v1/campaigns/"+cliTestWS+"/c1" || reqs[1].Path != "PUT /v1/campaigns/"+cliTestWS+"/c2" ||
		string(reqs[0].Body) != `{"campaign_id":"c1","channel":"PUSH"}` || reqs[0].ContentType != "application/json" {
		t.Fatalf("requests = %+v", reqs)
	}
	if !strings.HasPrefix(reqs[2].Path, "POST /v1/streams/") {
		t.Errorf("events not sent after the catalog: %s", reqs[2].Path)
	}

	// A bare array, replacing c1 (200) and stopping at the first error; no events are sent after it.
	arr := writeFile(t, dir, "arr.json", []byte(`[{"campaign_id":"c1"},{"campaign_id":"bad","channel":"FAX"},{"campaign_id":"c3"}]`))
	code, stdout, stderr = runIngestT(t, append(base, "--campaigns", arr, events), nil, nil)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if stdout != "campaigns created=0 updated=1\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "campaigns[1] (bad)") || !strings.Contains(stderr, `"channel must be one of`) || !strings.Contains(stderr, "HTTP 400") {
		t.Errorf("stderr = %q", stderr)
	}
	if n := len(f.requests()); n != 5 {
		t.Errorf("%d requests, want 5 (c1, bad, then nothing)", n)
	}

	// An element without campaign_id: nothing is sent at all.
	noID := writeFile(t, dir, "noid.json", []byte(`[{"campaign_id":"c9"},{"channel":"PUSH"}]`))
	code, _, stderr = runIngestT(t, append(base, "--campaigns", noID), nil, nil)
	if code != 1 || !strings.Contains(stderr, "campaigns[1]: campaign_id is required") || len(f.requests()) != 5 {
		t.Errorf("exit %d stderr %q requests %d", code, stderr, len(f.requests()))
	}
}

func TestRunIngest_ErrorsAndUsage(t *testing.T) {
	f := newFakeIngest(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "e.ndjson", []byte(ndjsonEvent("x")+"\n"))
	ok := []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", cliTestDataKey}
	usage := [][]string{
		{"--server", f.srv.URL, "--data-key", cliTestDataKey, file},   // no workspace
		{"--server", f.srv.URL, "--workspace", cliTestWS, file},       // no key
		append(append([]string{}, ok...), "--format", "xml", file),    // bad format
		append(append([]string{}, ok...), "--batch-bytes", "0", file), // bad size
		append(append([]string{}, ok...), "--bogus", file),            // unknown flag
		ok, // no input
		append(append([]string{}, ok...), "-", "-"), // stdin twice
	}
	for i, args := range usage {
		if code, _, stderr := runIngestT(t, args, nil, strings.NewReader("")); code != 2 || stderr == "" {
			t.Errorf("case %d: exit %d stderr %q, want 2", i, code, stderr)
		}
	}
	if code, _, _ := runIngestT(t, append(append([]string{}, ok...), file), map[string]string{"CAMPAIGNSTATS_BATCH_BYTES": "lots"}, nil); code != 2 {
		t.Errorf("bad env value: exit %d", code)
	}
	if code, _, _ := runIngestT(t, []string{"-h"}, nil, nil); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	if len(f.requests()) != 0 {
		t.Errorf("usage errors sent %d requests", len(f.requests()))
	}

	// Missing file: runtime error, nothing sent.
	code, _, stderr := runIngestT(t, append(append([]string{}, ok...), file, filepath.Join(dir, "missing.ndjson")), nil, nil)
	if code != 1 || !strings.Contains(stderr, "missing.ndjson") || len(f.requests()) != 0 {
		t.Errorf("missing file: exit %d stderr %q", code, stderr)
	}

	// Wrong key: exit 1, the server's body on stderr, totals on stdout.
	code, stdout, stderr := runIngestT(t, []string{"--server", f.srv.URL, "--workspace", cliTestWS, "--data-key", "wrong", file}, nil, nil)
	if code != 1 || !strings.Contains(stderr, "HTTP 401") || !strings.Contains(stderr, `"message":"Data API key mismatch for this workspace"`) {
		t.Errorf("wrong key: exit %d stderr %q", code, stderr)
	}
	if stdout != "accepted=0 duplicates=0 rejected=0\n" {
		t.Errorf("wrong key stdout %q", stdout)
	}

	// Server down: exit 1.
	code, _, _ = runIngestT(t, []string{"--server", "http://127.0.0.1:1", "--workspace", cliTestWS, "--data-key", cliTestDataKey, file}, nil, nil)
	if code != 1 {
		t.Errorf("server down: exit %d", code)
	}

	// Trailing data after an envelope with --format streams.
	bad := writeFile(t, dir, "two.json", []byte(`{"events":[]} {"events":[]}`))
	code, _, stderr = runIngestT(t, append(append([]string{}, ok...), "--format", "streams", bad), nil, nil)
	if code != 1 || !strings.Contains(stderr, "unexpected data after") {
		t.Errorf("trailing data: exit %d stderr %q", code, stderr)
	}
}

func TestClientCLIParseSizeAndArgs(t *testing.T) {
	for in, want := range map[string]int64{"8MiB": 8 << 20, "512": 512, "64KiB": 64 << 10, "1gib": 1 << 30, "2 MB": 2 << 20, "1.5KiB": 1536, "3k": 3072} {
		if got, err := clientCLIParseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "0", "1TiB", "99GiB"} {
		if _, err := clientCLIParseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	s := clientCLISize(8 << 20)
	if s.String() != "8MiB" {
		t.Errorf("String = %q", s.String())
	}
}

func TestIngestProgressOnlyWhenEnabled(t *testing.T) {
	var buf bytes.Buffer
	p := &ingestProgress{w: &buf, enabled: false, total: 100, start: time.Now().Add(-2 * time.Second)}
	p.batchDone(10)
	p.finish()
	if buf.Len() != 0 {
		t.Errorf("disabled progress wrote %q", buf.String())
	}
	p = &ingestProgress{w: &buf, enabled: true, total: 3 << 20, start: time.Now().Add(-2 * time.Second), bytes: 1 << 20}
	p.batchDone(500)
	p.clear()
	p.batchDone(500) // throttled
	p.finish()
	out := buf.String()
	if !regexp.MustCompile(`1\.0 MiB / 3\.0 MiB sent, 500 events, \d+ events/s`).MatchString(out) || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q", out)
	}
	if clientCLIIsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}
