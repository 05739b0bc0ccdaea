package main

// Input format detection for `campaignstats ingest --format auto` (SPEC §9.2): by file name, else by content.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
)

// ingestSniffBytes is how much of an input ingestSniff looks at before reading further.
const ingestSniffBytes = 1 << 20

// ingestFormat resolves --format for one input: "auto" becomes ndjson for .ndjson / .jsonl names (optionally .gz),
// else the format ingestSniff finds in the content; other values are returned as given. r is replaced by a reader
// that still yields every byte of the input.
func ingestFormat(format, path string, r io.Reader) (string, io.Reader, error) {
	if format != "auto" {
		return format, r, nil
	}
	if ingestIsNDJSONName(path) {
		return "ndjson", r, nil
	}
	return ingestSniff(r)
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
