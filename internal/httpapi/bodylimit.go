package httpapi

import "io"

// compressedLimit bounds the compressed bytes read from a gzip body whose decompressed limit is limit. Deflate
// never grows data by more than 5 bytes per 64 KiB stored block, and a gzip member adds a header and an 8-byte
// trailer, so any body within the limit once decompressed is within limit + limit/1024 + 64 KiB once compressed
// (the 64 KiB also leave room for optional header fields). A body past this bound is too large, compressed or not
// (SPEC §3.2, §12.10); without it a stream that decompresses to little — thousands of empty gzip members, say —
// could be read for as long as the client keeps sending.
func compressedLimit(limit int64) int64 { return limit + limit/1024 + 64<<10 }

// cappedReader reads at most n bytes from r; over is set once the source holds more than n bytes, and from then
// on reads report io.ErrUnexpectedEOF.
type cappedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, io.ErrUnexpectedEOF
	}
	if c.n <= 0 {
		// The cap is reached: one more byte tells a body that ends exactly here from a longer one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}
