package client

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultBatchBytes is the batch size a zero Batcher uses: half the server's default Streams body limit of 16 MiB
// (SPEC §3.2), which applies after decompression.
const DefaultBatchBytes = 8 << 20

// Batch is one Streams request body cut from a larger input by a Batcher.
type Batch struct {
	// ContentType is ContentTypeNDJSON for batches of NDJSON lines and ContentTypeJSON for batch envelopes.
	ContentType string
	// Body is the uncompressed request body.
	Body []byte
	// Positions says where each event of Body comes from in the input: Positions[i] is the position of the event
	// at index i of the body (the index a StreamsError reports) — its 1-based line number in NDJSON input, its
	// 0-based index in the input's "events" array for an envelope.
	Positions []int
}

// Position returns the input position of the event at index i of the body (see Positions); ok is false when the
// body has no such event.
func (b *Batch) Position(i int) (pos int, ok bool) {
	if i < 0 || i >= len(b.Positions) {
		return 0, false
	}
	return b.Positions[i], true
}

// PositionText is Position as text, "?" when the body has no event at index i.
func (b *Batch) PositionText(i int) string {
	if p, ok := b.Position(i); ok {
		return strconv.Itoa(p)
	}
	return "?"
}

// Batcher splits an input of events into Streams request bodies (SPEC §3.2) of at most MaxBytes bytes before
// compression; an event that is larger on its own is sent alone. The zero value uses DefaultBatchBytes.
//
// NDJSON splits on line boundaries; Envelope re-batches one batch envelope {"events":[…]}. Each batch is handed to
// a send function, typically one that calls Client.SendBatch; the Batch and its slices are reused afterwards, so
// send must not keep them. An error returned by send stops the input there and is returned unchanged.
type Batcher struct {
	MaxBytes int
}

func (bt Batcher) limit() int {
	if bt.MaxBytes <= 0 {
		return DefaultBatchBytes
	}
	return bt.MaxBytes
}

// LineError is a failure to read NDJSON input, at a 1-based line number.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

// NDJSON reads newline-delimited events from r and sends them in batches of whole lines (ContentTypeNDJSON). A
// trailing "\r" is dropped from each line, and lines of only white space are not sent but are counted, so
// Positions are line numbers in the original input. Lines may be of any length. A read error is a *LineError.
func (bt Batcher) NDJSON(r io.Reader, send func(*Batch) error) error {
	maxBytes := bt.limit()
	br := bufio.NewReaderSize(r, 256<<10)
	var buf bytes.Buffer
	batch := &Batch{ContentType: ContentTypeNDJSON}
	flush := func() error {
		batch.Body = buf.Bytes()
		err := send(batch)
		buf.Reset()
		batch.Positions = batch.Positions[:0]
		return err
	}
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
				if buf.Len() > 0 && buf.Len()+len(line)+1 > maxBytes {
					if ferr := flush(); ferr != nil {
						return ferr
					}
				}
				buf.Write(line)
				buf.WriteByte('\n')
				batch.Positions = append(batch.Positions, lineNo)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &LineError{Line: lineNo + 1, Err: err}
		}
	}
	if buf.Len() > 0 {
		return flush()
	}
	return nil
}

// Envelope reads one Streams batch envelope {…, "events":[…], …} from r and sends its events one batch envelope
// at a time (ContentTypeJSON), reading one event at a time. Each batch carries the top-level members that precede
// "events" (app_name, source, moe_request_id, …); members that follow "events" reach only the last batch. Input
// that is not a single JSON object with one "events" array is an error; batches sent before the problem was found
// stay sent.
func (bt Batcher) Envelope(r io.Reader, send func(*Batch) error) error {
	maxBytes := bt.limit()
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
	out := &Batch{ContentType: ContentTypeJSON}
	var body bytes.Buffer
	flush := func(evs []json.RawMessage, withTail bool) error {
		body.Reset()
		body.Grow(size(evs, withTail))
		body.WriteByte('{')
		body.Write(head)
		body.WriteString(eventsKey)
		out.Positions = out.Positions[:0]
		for i, e := range evs {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(e)
			out.Positions = append(out.Positions, batchStart+i)
		}
		body.WriteByte(']')
		if withTail {
			body.Write(tail)
		}
		body.WriteByte('}')
		out.Body = body.Bytes()
		if err := send(out); err != nil {
			return err
		}
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
				if len(batch) > 0 && size(batch, false)+1+len(ev) > maxBytes {
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
	for split < len(batch)-1 && size(batch[split:], true) > maxBytes {
		split++
	}
	if split > 0 {
		if err := flush(batch[:split], false); err != nil {
			return err
		}
	}
	return flush(batch[split:], true)
}

// SendBatch posts one batch to the Streams endpoint, gzip-compressed (IngestStreams with compress = true).
func (c *Client) SendBatch(ctx context.Context, workspaceID, dataKey string, b *Batch) (*StreamsResult, error) {
	return c.IngestStreams(ctx, workspaceID, dataKey, b.ContentType, b.Body, true)
}

// DecodeInput returns a reader of r's content for a Batcher: gunzipped when it starts with the gzip magic bytes
// (so "x.ndjson.gz" and gzip piped into stdin both work), and without a leading UTF-8 byte-order mark, which some
// editors write and which is not JSON. It reads ahead from r.
func DecodeInput(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return skipBOM(zr), nil
	}
	return skipBOM(br), nil
}

// skipBOM drops a leading UTF-8 byte-order mark.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br
}
