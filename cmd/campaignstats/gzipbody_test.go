package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// gzipTemplate is a Streams body compressed once and re-issued many times with a different id patched into every
// event_uuid, without compressing again. Compressing a 16 MiB body takes most of a second in a race-built test
// binary, so the overload test cannot afford one compression per request.
//
// The trick is DEFLATE's back-references. Every event_uuid of the plain body holds the same placeholder, whose
// letters occur nowhere else. The first line is sent as a stored (uncompressed) block, and the rest is compressed
// with that line as the preset dictionary: each later copy of the placeholder is then a back-reference to an
// earlier copy, ultimately to the stored line. Patching the id into the stored line therefore changes it in every
// event of the decompressed body; only the gzip trailer's CRC-32 is computed again. newGzipTemplate checks that
// this holds for the body it built.
type gzipTemplate struct {
	plain    []byte // the decompressed body, with the placeholder in every id
	marks    []int  // offsets of the placeholder in plain, ascending
	head     int    // plain[:head] is the first line, sent stored
	deflated []byte // plain[head:] compressed with plain[:head] as dictionary
}

// gzipPlaceholder is patched with an id of the same length; its letters must not occur elsewhere in the body.
const gzipPlaceholder = "QZXJKWVY"

// newGzipTemplate builds a template from plain, whose first line is at most 64 KiB long and holds the placeholder.
func newGzipTemplate(plain []byte) (*gzipTemplate, error) {
	t := &gzipTemplate{plain: plain, head: bytes.IndexByte(plain, '\n') + 1}
	if t.head <= 0 || t.head > 0xffff {
		return nil, fmt.Errorf("first line is %d bytes; want 1..65535", t.head)
	}
	for off := 0; ; {
		i := bytes.Index(plain[off:], []byte(gzipPlaceholder))
		if i < 0 {
			break
		}
		t.marks = append(t.marks, off+i)
		off += i + len(gzipPlaceholder)
	}
	if len(t.marks) == 0 || t.marks[0] >= t.head {
		return nil, fmt.Errorf("the first line has no placeholder")
	}
	var buf bytes.Buffer
	zw, err := flate.NewWriterDict(&buf, flate.DefaultCompression, plain[:t.head])
	if err != nil {
		return nil, err
	}
	zw.Write(plain[t.head:])
	if err := zw.Close(); err != nil {
		return nil, err
	}
	t.deflated = buf.Bytes()
	// Every placeholder must come out patched: a literal copy of one would keep the placeholder's letters.
	const probe = "01234567"
	zr, err := gzip.NewReader(t.body(probe))
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompressing a patched body: %w", err)
	}
	want := bytes.Clone(plain)
	for _, m := range t.marks {
		copy(want[m:], probe)
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("a patched body does not decompress to the patched text")
	}
	return t, nil
}

// compressedLen is the size of every body of the template.
func (t *gzipTemplate) compressedLen() int64 { return int64(10 + 5 + t.head + len(t.deflated) + 8) }

// body returns the gzip body whose decompressed text is plain with id in place of every placeholder. It shares
// the compressed bytes with every other body of the template.
func (t *gzipTemplate) body(id string) io.Reader {
	if len(id) != len(gzipPlaceholder) {
		panic("gzipTemplate: id of the wrong length")
	}
	head := make([]byte, 0, 15+t.head)
	head = append(head, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff) // gzip header: deflate, no flags, unknown OS
	head = append(head, 0)                                     // stored block, not final
	head = binary.LittleEndian.AppendUint16(head, uint16(t.head))
	head = binary.LittleEndian.AppendUint16(head, ^uint16(t.head))
	line := len(head)
	head = append(head, t.plain[:t.head]...)
	for _, m := range t.marks {
		if m >= t.head {
			break
		}
		copy(head[line+m:], id)
	}
	// The trailer's CRC-32 covers the whole patched text; it is computed only if the reader gets that far (most
	// bodies of the overload test are refused long before).
	trailer := &lazyReader{fill: func() []byte {
		crc, prev := uint32(0), 0
		for _, m := range t.marks {
			crc = crc32.Update(crc, crc32.IEEETable, t.plain[prev:m])
			crc = crc32.Update(crc, crc32.IEEETable, []byte(id))
			prev = m + len(id)
		}
		crc = crc32.Update(crc, crc32.IEEETable, t.plain[prev:])
		b := binary.LittleEndian.AppendUint32(nil, crc)
		return binary.LittleEndian.AppendUint32(b, uint32(len(t.plain)))
	}}
	return io.MultiReader(bytes.NewReader(head), bytes.NewReader(t.deflated), trailer)
}

// lazyReader reads the bytes fill returns, calling it on the first Read.
type lazyReader struct {
	fill func() []byte
	r    *bytes.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil {
		l.r = bytes.NewReader(l.fill())
	}
	return l.r.Read(p)
}
