package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// sent is a copy of one batch handed to a send function.
type sent struct {
	contentType string
	body        string
	positions   []int
}

func collect(out *[]sent) func(*Batch) error {
	return func(b *Batch) error {
		*out = append(*out, sent{b.ContentType, string(b.Body), append([]int(nil), b.Positions...)})
		return nil
	}
}

func TestBatcherNDJSONSplitsOnLinesAndCountsBlankLines(t *testing.T) {
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf(`{"event_uuid":"e-%02d","pad":"%s"}`, i, strings.Repeat("x", i%7)))
	}
	// Line 3 is blank, line 5 holds only spaces, line 8 ends with CRLF.
	in := strings.Join(lines[:2], "\n") + "\n\n" + lines[2] + "\n   \n" + lines[3] + "\n" + lines[4] + "\n" + lines[5] + "\r\n" +
		strings.Join(lines[6:], "\n") // no final newline
	var got []sent
	if err := (Batcher{MaxBytes: 200}).NDJSON(strings.NewReader(in), collect(&got)); err != nil {
		t.Fatal(err)
	}
	var all []string
	var positions []int
	for _, b := range got {
		if b.contentType != ContentTypeNDJSON {
			t.Errorf("content type %q", b.contentType)
		}
		if len(b.body) > 200 {
			t.Errorf("batch of %d bytes over the limit", len(b.body))
		}
		if !strings.HasSuffix(b.body, "\n") || strings.Contains(b.body, "\r") {
			t.Errorf("body %q", b.body)
		}
		body := strings.Split(strings.TrimSuffix(b.body, "\n"), "\n")
		if len(body) != len(b.positions) {
			t.Fatalf("%d lines, %d positions", len(body), len(b.positions))
		}
		all = append(all, body...)
		positions = append(positions, b.positions...)
	}
	if len(got) < 5 || strings.Join(all, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("%d batches; lines out of order or lost", len(got))
	}
	// Input line numbers: 1, 2, (3 blank), 4, (5 blank), 6, 7, 8, 9, …
	want := []int{1, 2, 4, 6, 7, 8}
	for i, w := range want {
		if positions[i] != w {
			t.Fatalf("positions %v, want prefix %v", positions[:len(want)], want)
		}
	}
	if positions[len(positions)-1] != 42 {
		t.Errorf("last position %d, want 42", positions[len(positions)-1])
	}
}

func TestBatcherNDJSONLongLinesGoAlone(t *testing.T) {
	long := `{"event_uuid":"long","pad":"` + strings.Repeat("y", 600<<10) + `"}` // longer than the read buffer
	in := "{\"a\":1}\n" + long + "\n{\"b\":2}\n"
	var got []sent
	if err := (Batcher{MaxBytes: 1024}).NDJSON(strings.NewReader(in), collect(&got)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].body != long+"\n" || got[1].positions[0] != 2 || got[2].positions[0] != 3 {
		t.Fatalf("%d batches, second %d bytes", len(got), len(got[1].body))
	}
}

func TestBatcherNDJSONErrors(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := (Batcher{MaxBytes: 10}).NDJSON(strings.NewReader("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"), func(*Batch) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("send error: %v after %d calls", err, calls)
	}

	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("{\"a\":1}\n{\"b\":2}\n"), iotest.ErrReader(boom))
	var got []sent
	err = (Batcher{}).NDJSON(r, collect(&got))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || !errors.Is(err, boom) || err.Error() != "line 3: disk on fire" {
		t.Fatalf("read error: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("lines before a read error in the same batch were sent: %v", got)
	}

	got = nil
	if err := (Batcher{}).NDJSON(strings.NewReader("\n \n"), collect(&got)); err != nil || len(got) != 0 {
		t.Errorf("blank input: %v %v", err, got)
	}
}

func TestBatcherEnvelopeKeepsMembersAndPositions(t *testing.T) {
	var events []string
	for i := 0; i < 30; i++ {
		events = append(events, fmt.Sprintf(`{"event_uuid":"e-%02d"}`, i))
	}
	in := `{"app_name":"shop","events":[` + strings.Join(events, ", ") + `],"moe_request_id":"r-1"}`
	var got []sent
	if err := (Batcher{MaxBytes: 150}).Envelope(strings.NewReader(in), collect(&got)); err != nil {
		t.Fatal(err)
	}
	next := 0
	for i, b := range got {
		if b.contentType != ContentTypeJSON || len(b.body) > 150 {
			t.Errorf("batch %d: %s, %d bytes", i, b.contentType, len(b.body))
		}
		var env struct {
			AppName   string            `json:"app_name"`
			Events    []json.RawMessage `json:"events"`
			RequestID *string           `json:"moe_request_id"`
		}
		if err := json.Unmarshal([]byte(b.body), &env); err != nil {
			t.Fatalf("batch %d: %v: %s", i, err, b.body)
		}
		if env.AppName != "shop" || (env.RequestID != nil) != (i == len(got)-1) {
			t.Errorf("batch %d: members %s", i, b.body)
		}
		for k, e := range env.Events {
			if string(e) != events[next] || b.positions[k] != next {
				t.Fatalf("batch %d event %d: %s at %d, want %s at %d", i, k, e, b.positions[k], events[next], next)
			}
			next++
		}
	}
	if next != len(events) || len(got) < 3 {
		t.Fatalf("%d events in %d batches", next, len(got))
	}

	// A trailing member that no longer fits with the last events sends them first.
	got = nil
	in = `{"events":[{"n":1},{"n":2}],"tail":"` + strings.Repeat("t", 40) + `"}`
	if err := (Batcher{MaxBytes: 70}).Envelope(strings.NewReader(in), collect(&got)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].body != `{"events":[{"n":1}]}` || got[1].positions[0] != 1 || !strings.Contains(got[1].body, `"tail"`) {
		t.Fatalf("tail split: %+v", got)
	}
}

func TestBatcherEnvelopeErrors(t *testing.T) {
	for in, want := range map[string]string{
		`[1]`:                          "not a Streams batch envelope: the input is not a JSON object",
		``:                             "not a Streams batch envelope: EOF",
		`{"a":1}`:                      "not a Streams batch envelope: no events member",
		`{"events":{}}`:                "events should be an array",
		`{"events":[],"events":[]}`:    "the envelope has two events members",
		`{"events":[]} {}`:             "unexpected data after the Streams batch envelope (use --format ndjson for one object per line)",
		`{"events":[{"a":1},{"b":}]}`:  "reading events[1]: invalid character '}' looking for beginning of value",
		`{"events":[{"a":1}], "x": ]}`: `reading member "x": invalid character ']' looking for beginning of value`,
	} {
		var got []sent
		err := (Batcher{}).Envelope(strings.NewReader(in), collect(&got))
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
		if len(got) != 0 {
			t.Errorf("%s: sent %v", in, got)
		}
	}
	var got []sent
	if err := (Batcher{}).Envelope(strings.NewReader(`{"events":[]}`), collect(&got)); err != nil || len(got) != 0 {
		t.Errorf("empty events: %v %v", err, got)
	}
}

func TestBatchPosition(t *testing.T) {
	b := &Batch{Positions: []int{4, 9}}
	if p, ok := b.Position(1); !ok || p != 9 || b.PositionText(0) != "4" {
		t.Errorf("Position(1) = %d %v", p, ok)
	}
	if _, ok := b.Position(2); ok || b.PositionText(-1) != "?" || b.PositionText(2) != "?" {
		t.Error("out of range positions")
	}
	if (Batcher{}).limit() != DefaultBatchBytes {
		t.Error("the zero Batcher must use DefaultBatchBytes")
	}
}

func TestDecodeInput(t *testing.T) {
	const text = "{\"a\":1}\n"
	bom := "\xEF\xBB\xBF"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(bom + text))
	_ = zw.Close()
	for name, in := range map[string][]byte{"plain": []byte(text), "bom": []byte(bom + text), "gzip+bom": gz.Bytes(), "empty": nil} {
		r, err := DecodeInput(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		want := text
		if name == "empty" {
			want = ""
		}
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
	if _, err := DecodeInput(bytes.NewReader([]byte{0x1f, 0x8b, 0})); err == nil || !strings.HasPrefix(err.Error(), "gzip: ") {
		t.Errorf("bad gzip header: %v", err)
	}
}

func TestSendBatch(t *testing.T) {
	var gotType, gotEncoding, gotBody, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotType, gotEncoding = r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding")
		user, pass, _ := r.BasicAuth()
		gotAuth = r.URL.Path + " " + user + ":" + pass
		zr, err := gzip.NewReader(r.Body)
		if err == nil {
			b, _ := io.ReadAll(zr)
			gotBody = string(b)
		}
		_, _ = io.WriteString(w, `{"status":"success","accepted":2,"duplicates":0,"rejected":0,"errors":[]}`)
	}))
	defer srv.Close()
	b := &Batch{ContentType: ContentTypeNDJSON, Body: []byte("{\"a\":1}\n{\"b\":2}\n"), Positions: []int{1, 2}}
	res, err := New(srv.URL).SendBatch(context.Background(), "ws", "key", b)
	if err != nil || res.Accepted != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if gotType != ContentTypeNDJSON || gotEncoding != "gzip" || gotBody != string(b.Body) || gotAuth != "/v1/streams/ws ws:key" {
		t.Errorf("request: %q %q %q %q", gotType, gotEncoding, gotBody, gotAuth)
	}
}
