package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

const reportDownloadUsage = `usage: campaignstats report download FILENAME [-o PATH] [flags]

Downloads a report file (SPEC §8.9), signing the request with the report key. The file is written to PATH
(default: FILENAME in the current directory; a directory receives FILENAME inside it; "-" writes to stdout).
The file appears only once it is complete and its SHA-256 matches the server's ETag. A progress line is shown
on stderr when it is a terminal.

flags (also CAMPAIGNSTATS_SERVER, CAMPAIGNSTATS_WORKSPACE, CAMPAIGNSTATS_REPORT_KEY):`

// reportDownloadName is the file name format the server accepts (SPEC §8.9 check 1).
var reportDownloadName = regexp.MustCompile(`^[A-Za-z0-9_-]+_[0-9]{8}\.(zip|gz)$`)

// runReportDownload implements `campaignstats report download FILENAME [-o PATH]` (SPEC §9.2).
func runReportDownload(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := clientCLIFlagSet("report download", reportDownloadUsage, stderr)
	server := fs.String("server", clientCLIDefaultServer, "server base URL")
	workspace := fs.String("workspace", "", "workspace id")
	reportKey := fs.String("report-key", "", "the workspace's Campaign report API key")
	output := fs.String("o", "", `output path ("-" for stdout; default FILENAME)`)
	pos, code, ok := clientCLIParse(fs, args, getenv, stderr)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		if len(pos) == 0 {
			fmt.Fprintln(stderr, "report download: missing FILENAME")
		} else {
			fmt.Fprintf(stderr, "report download: unexpected argument %q\n", pos[1])
		}
		return exitUsage
	}
	filename := pos[0]
	if !reportDownloadName.MatchString(filename) {
		fmt.Fprintf(stderr, "report download: %q is not a report file name (<stem>_YYYYMMDD.zip or .gz)\n", filename)
		return exitUsage
	}
	if *workspace == "" || *reportKey == "" {
		fmt.Fprintln(stderr, "report download: missing --workspace (or CAMPAIGNSTATS_WORKSPACE) and --report-key (or CAMPAIGNSTATS_REPORT_KEY)")
		return exitUsage
	}
	// No overall client timeout: a large file may take longer than a JSON call; ctx (Ctrl-C) still stops it.
	cl := client.New(*server, client.WithUserAgent(clientCLIUserAgent), client.WithHTTPClient(&http.Client{}))
	var opts client.DownloadOptions
	endProgress := func() {}
	if clientCLIIsTerminal(stderr) {
		p := &downloadProgress{w: stderr, name: filename}
		opts.Progress, endProgress = p.update, p.finish
	}

	if *output == "-" {
		info, err := cl.DownloadReport(ctx, *workspace, *reportKey, filename, stdout, &opts)
		endProgress()
		if err != nil {
			reportDownloadError(stderr, err)
			return exitRuntime
		}
		fmt.Fprintf(stderr, "%s: %d bytes, sha256 %s\n", filename, info.Size, info.SHA256)
		return exitOK
	}
	dest := *output
	if dest == "" {
		dest = filename
	} else if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dest = filepath.Join(dest, filename)
	}
	// Write next to the destination, then rename: a failed or interrupted download leaves no partial file.
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		fmt.Fprintf(stderr, "report download: %v\n", err)
		return exitRuntime
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	info, err := cl.DownloadReport(ctx, *workspace, *reportKey, filename, tmp, &opts)
	endProgress()
	if err != nil {
		reportDownloadError(stderr, err)
		return exitRuntime
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		fmt.Fprintf(stderr, "report download: %v\n", err)
		return exitRuntime
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		fmt.Fprintf(stderr, "report download: %v\n", err)
		return exitRuntime
	}
	keep = true
	if !info.LastModified.IsZero() {
		os.Chtimes(dest, info.LastModified, info.LastModified)
	}
	fmt.Fprintf(stdout, "%s\t%d bytes\tsha256 %s\n", dest, info.Size, info.SHA256)
	return exitOK
}

// reportDownloadError prints a refusal: the body as received, and for a 401 (whose body is {}) what it means.
func reportDownloadError(stderr io.Writer, err error) {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		fmt.Fprintf(stderr, "report download: HTTP 401: signature refused (check --workspace and --report-key): %s\n",
			bytes.TrimSpace(apiErr.Body))
		return
	}
	clientCLIPrintError(stderr, "report download: ", err)
}

// downloadProgress draws one self-overwriting progress line, at most every 100 ms.
type downloadProgress struct {
	w     io.Writer
	name  string
	last  time.Time
	drawn bool
}

func (p *downloadProgress) update(received, total int64) {
	now := time.Now()
	if p.drawn && now.Sub(p.last) < 100*time.Millisecond && received != total {
		return
	}
	p.last, p.drawn = now, true
	if total > 0 {
		fmt.Fprintf(p.w, "\r%s  %3d%%  %s / %s   ", p.name, received*100/total, humanBytes(received), humanBytes(total))
	} else {
		fmt.Fprintf(p.w, "\r%s  %s   ", p.name, humanBytes(received))
	}
}

func (p *downloadProgress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// humanBytes formats a size with binary units (SPEC §1.6: KiB = 1024 bytes).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
