package duckdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// The journal makes an append durable without waiting for DuckDB: Append writes its batches as one record to a
// file of the store's own and syncs it, and the loader (loader.go) moves them into the events table later, in
// larger transactions. A record is [length u32][CRC-32C of the payload u32][payload]; the payload is the Seq of
// its first event and its batches. The journal is a directory of segments, each named by the first Seq it holds;
// a segment whose events are all in the events table is deleted. At start-up the records past the table's
// watermark are loaded before the store answers anything, and a record cut short by a crash (never acknowledged:
// its sync did not return) is dropped with whatever follows it.

// journalSegmentBytes is the size past which the journal starts a new segment.
const journalSegmentBytes = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journal is the open journal; its methods are called under the store's journalMu.
type journal struct {
	dir string
	// segments are the first Seqs of the segments on disk, ascending; the last is open for appends as f.
	segments []store.Seq
	f        *os.File
	size     int64
}

// journalRecord is one record read back.
type journalRecord struct {
	first   store.Seq
	batches []store.EventBatch
}

func segmentName(first store.Seq) string { return fmt.Sprintf("%020d.log", int64(first)) }

// openJournal opens the journal in dir, creating it, and returns the records it holds, in order.
func openJournal(dir string) (*journal, []journalRecord, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	j := &journal{dir: dir}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		j.segments = append(j.segments, store.Seq(n))
	}
	slices.Sort(j.segments)
	var records []journalRecord
	for i, first := range j.segments {
		path := filepath.Join(dir, segmentName(first))
		recs, good, err := readSegment(path)
		if err != nil {
			return nil, nil, err
		}
		records = append(records, recs...)
		if st, err := os.Stat(path); err == nil && st.Size() > good {
			// A record cut short (or anything after one) was never acknowledged; later segments cannot exist
			// past it, as a segment starts only after the previous one's last record was synced.
			if err := os.Truncate(path, good); err != nil {
				return nil, nil, fmt.Errorf("journal: drop a torn record: %w", err)
			}
			for _, later := range j.segments[i+1:] {
				os.Remove(filepath.Join(dir, segmentName(later)))
			}
			j.segments = j.segments[:i+1]
			break
		}
	}
	return j, records, nil
}

// readSegment reads the whole records of a segment and the length they take.
func readSegment(path string) ([]journalRecord, int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("journal: %w", err)
	}
	var out []journalRecord
	off := 0
	for len(data)-off >= 8 {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > len(data)-off-8 || crc32.Checksum(data[off+8:off+8+n], crcTable) != sum {
			break
		}
		rec, err := decodeRecord(data[off+8 : off+8+n])
		if err != nil {
			return nil, 0, fmt.Errorf("journal %s at %d: %w", filepath.Base(path), off, err)
		}
		out = append(out, rec)
		off += 8 + n
	}
	return out, int64(off), nil
}

// append writes record (encodeRecord), whose first event has Seq first, and syncs it; a new segment it starts
// deletes those whose events are all loaded (Seq at most loaded). On error the segment is cut back to where it
// was, so that a later record does not follow a partial one.
func (j *journal) append(first store.Seq, record []byte, loaded store.Seq) error {
	if j.f == nil || j.size >= journalSegmentBytes {
		if err := j.rotate(first); err != nil {
			return err
		}
		j.release(loaded)
	}
	if _, err := j.f.Write(record); err != nil {
		return j.undo(fmt.Errorf("journal: write: %w", err))
	}
	if err := j.f.Sync(); err != nil {
		return j.undo(fmt.Errorf("journal: sync: %w", err))
	}
	j.size += int64(len(record))
	return nil
}

func (j *journal) undo(err error) error {
	if terr := j.f.Truncate(j.size); terr != nil {
		j.f.Close()
		j.f = nil // the next append starts a new segment
		return errors.Join(err, fmt.Errorf("journal: cut back: %w", terr))
	}
	if _, serr := j.f.Seek(j.size, io.SeekStart); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// rotate starts a new segment whose first event has Seq first.
func (j *journal) rotate(first store.Seq) error {
	if j.f != nil {
		if err := j.f.Close(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		j.f = nil
	}
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(first)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if d, err := os.Open(j.dir); err == nil { // the new name must survive a crash too
		d.Sync()
		d.Close()
	}
	j.f, j.size = f, 0
	j.segments = append(j.segments, first)
	return nil
}

// release deletes the segments whose events all have Seqs at most loaded (the segment open for appends stays).
func (j *journal) release(loaded store.Seq) {
	keep := 0
	for keep+1 < len(j.segments) && j.segments[keep+1] <= loaded+1 {
		os.Remove(filepath.Join(j.dir, segmentName(j.segments[keep])))
		keep++
	}
	j.segments = j.segments[keep:]
}

// reset deletes every segment: their events are all in the events table.
func (j *journal) reset() error {
	if err := j.close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, first := range j.segments {
		if err := os.Remove(filepath.Join(j.dir, segmentName(first))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
	}
	j.segments = nil
	return nil
}

// close closes the open segment.
func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// encodeRecord appends the framed record of batches to buf.
func encodeRecord(buf []byte, first store.Seq, batches []store.EventBatch) []byte {
	buf = append(buf, make([]byte, 8)...)
	buf = binary.AppendUvarint(buf, uint64(first))
	buf = binary.AppendUvarint(buf, uint64(len(batches)))
	for _, b := range batches {
		buf = appendString(buf, b.WorkspaceID)
		buf = binary.AppendVarint(buf, b.ReceivedAt.UnixMilli())
		buf = binary.AppendUvarint(buf, uint64(len(b.Events)))
		for i := range b.Events {
			buf = appendEvent(buf, &b.Events[i])
		}
	}
	payload := buf[8:]
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, crcTable))
	return buf
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// appendEvent encodes what the events table stores of e (not its user key: the log keeps its UserID).
func appendEvent(buf []byte, e *domain.Event) []byte {
	user := e.User
	if user.IsZero() {
		user = domain.HashUser(e.UserKey)
	}
	var flags byte
	if e.Campaign {
		flags |= 1
	}
	if e.HasTags {
		flags |= 2
	}
	if e.Attributes != nil {
		flags |= 4
	}
	if e.Tags != nil {
		flags |= 8
	}
	buf = append(buf, flags, byte(e.Counter), byte(e.Class), byte(e.PlatformDefault))
	buf = binary.AppendVarint(buf, e.TimeMS)
	buf = binary.LittleEndian.AppendUint64(buf, user.Hi)
	buf = binary.LittleEndian.AppendUint64(buf, user.Lo)
	buf = binary.AppendUvarint(buf, uint64(e.Channels))
	for _, s := range [...]string{e.UUID, e.Code, e.Name, e.CampaignID, e.ParentCampaignID, e.Platform, e.Locale, e.Variation,
		e.FailureKey, e.CampaignName, string(e.InferredChannel), string(e.DeliveryType), e.Source, string(e.Attributes)} {
		buf = appendString(buf, s)
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.Tags)))
	for _, t := range e.Tags {
		buf = appendString(buf, t)
	}
	return buf
}

// recordReader decodes a record's payload.
type recordReader struct {
	data []byte
	err  error
}

func (r *recordReader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }

func (r *recordReader) varint() int64 { return readVarint(r, binary.Varint) }

// readVarint reads one varint with decode (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](r *recordReader, decode func([]byte) (T, int)) T {
	v, n := decode(r.data)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *recordReader) bytes(n int) []byte {
	if n < 0 || n > len(r.data) {
		r.fail()
		return nil
	}
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}

func (r *recordReader) string() string {
	return string(r.bytes(int(min(r.uvarint(), uint64(len(r.data)+1)))))
}

func (r *recordReader) fail() {
	if r.err == nil {
		r.err = errors.New("malformed record")
	}
	r.data = nil
}

// count reads a length that cannot exceed what is left of the record.
func (r *recordReader) count() int { return int(min(r.uvarint(), uint64(len(r.data)))) }

func decodeRecord(payload []byte) (journalRecord, error) {
	r := &recordReader{data: payload}
	rec := journalRecord{first: store.Seq(r.uvarint())}
	nb := r.count()
	for range nb {
		b := store.EventBatch{WorkspaceID: r.string()}
		b.ReceivedAt = time.UnixMilli(r.varint())
		ne := r.count()
		b.Events = make([]domain.Event, 0, ne)
		for range ne {
			b.Events = append(b.Events, readEvent(r))
		}
		rec.batches = append(rec.batches, b)
	}
	if r.err == nil && len(r.data) > 0 {
		r.fail()
	}
	return rec, r.err
}

func readEvent(r *recordReader) domain.Event {
	var e domain.Event
	h := r.bytes(4)
	if h == nil {
		return e
	}
	flags := h[0]
	e.Campaign, e.HasTags = flags&1 != 0, flags&2 != 0
	e.Counter, e.Class, e.PlatformDefault = domain.Counter(h[1]), domain.InteractionClass(h[2]), domain.PlatformDefault(h[3])
	e.TimeMS = r.varint()
	if u := r.bytes(16); u != nil {
		e.User = domain.UserID{Hi: binary.LittleEndian.Uint64(u), Lo: binary.LittleEndian.Uint64(u[8:])}
	}
	e.Channels = domain.ChannelSet(r.uvarint())
	e.UUID, e.Code, e.Name, e.CampaignID, e.ParentCampaignID = r.string(), r.string(), r.string(), r.string(), r.string()
	e.Platform, e.Locale, e.Variation, e.FailureKey, e.CampaignName = r.string(), r.string(), r.string(), r.string(), r.string()
	e.InferredChannel, e.DeliveryType, e.Source = domain.Channel(r.string()), domain.DeliveryType(r.string()), r.string()
	if attrs := r.string(); flags&4 != 0 {
		e.Attributes = []byte(attrs)
	}
	if n := r.count(); flags&8 != 0 {
		e.Tags = make([]string, 0, n)
		for range n {
			e.Tags = append(e.Tags, r.string())
		}
	}
	return e
}
