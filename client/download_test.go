package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestDownloadReport(t *testing.T) {
	content := []byte("PK\x03\x04 a report")
	sum := sha256.Sum256(content)
	etag := hex.EncodeToString(sum[:])
	const name = "Weekly_Push_Report_20250310.zip"
	mode := "ok"
	c, reqs := newServer(t, func(w http.ResponseWriter, r *recorded) {
		switch mode {
		case "ok", "bad etag":
			w.Header().Set("Content-Type", "application/zip")
			w.Header().Set("Last-Modified", "Mon, 10 Mar 2025 06:00:04 GMT")
			if mode == "ok" {
				w.Header().Set("ETag", `"`+etag+`"`)
			} else {
				w.Header().Set("ETag", `"`+strings.Repeat("0", 64)+`"`)
			}
			w.Write(content)
		case "missing":
			writeJSON(w, 400, `{"error":{"attribute":"FILENAME","message":"Report file not found.","type":"BAD REQUEST","request_id":"reqid0123456789A"}}`)
		case "unauthorized":
			writeJSON(w, 401, `{}`)
		}
	})
	var buf bytes.Buffer
	var progress []int64
	info, err := c.DownloadReport(context.Background(), testWS, testRepKey, name, &buf, &DownloadOptions{Progress: func(r, _ int64) { progress = append(progress, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), content) || info.SHA256 != etag || info.Size != int64(len(content)) || info.ContentType != "application/zip" ||
		info.LastModified.IsZero() || len(progress) == 0 || progress[len(progress)-1] != int64(len(content)) {
		t.Fatalf("info %+v progress %v", info, progress)
	}
	r := (*reqs)[0]
	sig := sha256.Sum256([]byte(testWS + "|" + name + "|" + testRepKey))
	if r.Method != "GET" || r.Path != "/campaign_reports/rest_api/"+testWS+"/"+name || r.Header.Get("Signature") != hex.EncodeToString(sig[:]) ||
		r.Header.Get("Authorization") != "" {
		t.Fatalf("request %+v", r)
	}
	if ReportSignature(testWS, name, testRepKey) != hex.EncodeToString(sig[:]) {
		t.Fatal("ReportSignature")
	}

	mode = "bad etag"
	if _, err := c.DownloadReport(context.Background(), testWS, testRepKey, name, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "ETag") {
		t.Fatalf("ETag mismatch: %v", err)
	}
	mode = "missing"
	_, err = c.DownloadReport(context.Background(), testWS, testRepKey, name, io.Discard, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Message() != "Report file not found." || apiErr.RequestID != "reqid0123456789A" {
		t.Fatalf("400: %v", err)
	}
	mode = "unauthorized"
	_, err = c.DownloadReport(context.Background(), testWS, testRepKey, name, io.Discard, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || string(apiErr.Body) != `{}` {
		t.Fatalf("401: %v", err)
	}
}
