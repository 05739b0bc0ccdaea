package main

// The progress line of `campaignstats ingest`.

import (
	"fmt"
	"io"
	"time"
)

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
