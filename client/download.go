package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReportSignature returns the signature of a report download (SPEC §8.9): lowercase hex SHA-256 of
// "APP_ID|FILENAME|SECRET_KEY", where APP_ID is the workspace id and SECRET_KEY its report key.
func ReportSignature(workspaceID, filename, reportKey string) string {
	sum := sha256.Sum256([]byte(workspaceID + "|" + filename + "|" + reportKey))
	return hex.EncodeToString(sum[:])
}

// ReportDownloadPath returns the download path of a report file: /campaign_reports/rest_api/{APP_ID}/{FILENAME}.
func ReportDownloadPath(workspaceID, filename string) string {
	return "/campaign_reports/rest_api/" + url.PathEscape(workspaceID) + "/" + url.PathEscape(filename)
}

// DownloadOptions tune DownloadReport.
type DownloadOptions struct {
	// Progress, when set, is called as the body arrives with the bytes received so far and the total size (-1 when
	// the server sent no Content-Length), and once more at the end.
	Progress func(received, total int64)
}

// DownloadInfo describes a downloaded report file.
type DownloadInfo struct {
	Filename     string
	Size         int64  // bytes written
	SHA256       string // lowercase hex of the bytes written; equal to the server's ETag
	ContentType  string
	LastModified time.Time
}

// DownloadReport streams a report file to w with a signed GET (SPEC §8.9). It checks that the bytes received
// have the SHA-256 the server announced in its ETag. A refusal (400, 401) is an *APIError with the body as sent;
// its IngestError method decodes the {"error":{attribute, message, type, request_id}} shape of a 400.
//
// The client's *http.Client timeout covers the whole transfer (DefaultTimeout unless WithHTTPClient): use your own
// client, or a context, for very large files.
func (c *Client) DownloadReport(ctx context.Context, workspaceID, reportKey, filename string, w io.Writer, opts *DownloadOptions) (*DownloadInfo, error) {
	path := ReportDownloadPath(workspaceID, filename)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("campaignstats: building request: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Signature", ReportSignature(workspaceID, filename, reportKey))
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("campaignstats: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, newAPIError(resp, body)
	}
	info := &DownloadInfo{Filename: filename, ContentType: resp.Header.Get("Content-Type")}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = t
	}
	total := int64(-1)
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		total = n
	}
	h := sha256.New()
	pw := &progressWriter{w: io.MultiWriter(w, h), total: total}
	if opts != nil {
		pw.progress = opts.Progress
	}
	n, err := io.Copy(pw, resp.Body)
	info.Size = n
	if pw.progress != nil {
		pw.progress(n, total)
	}
	if err != nil {
		return info, fmt.Errorf("campaignstats: GET %s: reading body: %w", path, err)
	}
	if total >= 0 && n != total {
		return info, fmt.Errorf("campaignstats: GET %s: received %d of %d bytes", path, n, total)
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	if etag := strings.Trim(resp.Header.Get("ETag"), `"`); etag != "" && !strings.EqualFold(etag, info.SHA256) {
		return info, fmt.Errorf("campaignstats: GET %s: SHA-256 of the received file %s differs from the ETag %s", path, info.SHA256, etag)
	}
	return info, nil
}

// progressWriter reports the bytes written.
type progressWriter struct {
	w        io.Writer
	n, total int64
	progress func(received, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.progress != nil {
		p.progress(p.n, p.total)
	}
	return n, err
}
