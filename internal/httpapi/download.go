package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report download (SPEC §8.9): GET|HEAD /campaign_reports/rest_api/{APP_ID}/{FILENAME}, MoEngage's Campaign Report
// download API. Not rate limited; Basic auth and MOE-APPKEY headers are ignored. FILENAME may omit the extension
// (§13.3): the signature then covers the name as requested and the response serves the stored file.

// ReportRunFinder finds the run that produced a report file. store.Reports implements it.
type ReportRunFinder interface {
	// RunByFilename returns the latest SUCCESSFUL, non-superseded run of the workspace that produced filename
	// (expired ones included until their metadata is purged); domain.ErrNotFound when none.
	RunByFilename(ctx context.Context, workspaceID, filename string) (store.ReportRun, error)
}

// downloadFilenamePattern is check 1 of SPEC §8.9 as widened by §13.3: live download URLs also name the file
// without its extension.
var downloadFilenamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+_[0-9]{8}(\.(zip|gz))?$`)

// reportFileExtensions are the extensions of report files (SPEC §8.5), in the order an extensionless name tries
// them when two runs finished at the same instant.
var reportFileExtensions = []string{".zip", ".gz"}

// downloadError is the 400 body of SPEC §8.9.
type downloadError struct {
	Attribute string `json:"attribute"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
}

func (s *Server) writeDownloadError(w http.ResponseWriter, r *http.Request, status int, typ, attribute, message string) {
	writeJSON(w, status, struct {
		Error downloadError `json:"error"`
	}{downloadError{Attribute: attribute, Message: message, Type: typ, RequestID: requestID(r.Context())}})
}

func (s *Server) downloadBadRequest(w http.ResponseWriter, r *http.Request, attribute, message string) {
	s.writeDownloadError(w, r, http.StatusBadRequest, "BAD REQUEST", attribute, message)
}

// ReportSignature returns the download signature of SPEC §8.9: lowercase hex SHA-256 of "APP_ID|FILENAME|SECRET_KEY".
func ReportSignature(appID, filename, secretKey string) string {
	sum := sha256.Sum256([]byte(appID + "|" + filename + "|" + secretKey))
	return hex.EncodeToString(sum[:])
}

// presentedSignature returns the Signature header, else the first query parameter whose name is "signature"
// ignoring case; ok is false when neither is present.
func presentedSignature(r *http.Request) (string, bool) {
	if v := r.Header.Values("Signature"); len(v) > 0 {
		return strings.TrimSpace(v[0]), true
	}
	for name, vals := range r.URL.Query() {
		if strings.EqualFold(name, "signature") && len(vals) > 0 {
			return strings.TrimSpace(vals[0]), true
		}
	}
	return "", false
}

// signatureValid compares in constant time; upper-case hex is accepted.
func signatureValid(presented, appID, filename, secretKey string) bool {
	if secretKey == "" {
		return false
	}
	want := ReportSignature(appID, filename, secretKey)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(presented)), []byte(want)) == 1
}

// retentionText renders --report-retention for the expiry message: "7 days", "1 day", "36 hours", "90 minutes".
func retentionText(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d > 0 && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d > 0 && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	}
	return unit(int64(d.Round(time.Second)/time.Second), "second")
}

// findReportRun returns the run that produced the requested file (check 5 of SPEC §8.9). A name with an extension
// is looked up as is. A name without one (§13.3) resolves to the run file of that stem and date: <name>.zip or
// <name>.gz, and when both exist (the report's format changed between runs) the one of the most recent successful
// run, by finished_at (ties: .zip). domain.ErrNotFound when there is none.
func findReportRun(ctx context.Context, finder ReportRunFinder, workspaceID, name string) (store.ReportRun, error) {
	if strings.HasSuffix(name, ".zip") || strings.HasSuffix(name, ".gz") {
		return finder.RunByFilename(ctx, workspaceID, name)
	}
	var best store.ReportRun
	found := false
	for _, ext := range reportFileExtensions {
		run, err := finder.RunByFilename(ctx, workspaceID, name+ext)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return run, err
		}
		if !found || finishedAfter(run, best) {
			best, found = run, true
		}
	}
	if !found {
		return best, fmt.Errorf("report file %s: %w", name, domain.ErrNotFound)
	}
	return best, nil
}

// finishedAfter reports whether run a finished strictly after run b (an unknown finish time counts as earliest).
func finishedAfter(a, b store.ReportRun) bool {
	switch {
	case a.FinishedAt == nil:
		return false
	case b.FinishedAt == nil:
		return true
	}
	return a.FinishedAt.After(*b.FinishedAt)
}

func (s *Server) reportRunFinder() ReportRunFinder {
	if s.ReportRuns != nil {
		return s.ReportRuns
	}
	if s.Store != nil {
		return s.Store
	}
	return nil
}

// handleDownload serves a report file, checking SPEC §8.9's table in order.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeDownloadError(w, r, http.StatusMethodNotAllowed, "METHOD NOT ALLOWED", "method", "Method not allowed.")
		return
	}
	appID, filename := r.PathValue("APP_ID"), r.PathValue("FILENAME")
	// 1. file name format
	if !downloadFilenamePattern.MatchString(filename) {
		s.downloadBadRequest(w, r, "FILENAME", "Invalid report file name or file name format.")
		return
	}
	// 2. existing workspace
	ws, found, err := s.workspaceByID(r.Context(), appID)
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	if !found {
		s.downloadBadRequest(w, r, "APP_ID", "Invalid APP ID.")
		return
	}
	info(r.Context()).workspaceID = ws.ID
	// 3. active workspace
	if !ws.Active() {
		s.downloadBadRequest(w, r, "APP_ID", "Workspace is disabled.")
		return
	}
	// 4. signature, over the name exactly as requested (with or without extension, §13.3)
	if sig, ok := presentedSignature(r); !ok || !signatureValid(sig, appID, filename, ws.ReportKey) {
		writeRawJSON(w, http.StatusUnauthorized, []byte(`{}`))
		return
	}
	// 5. a run of this workspace produced the file
	finder := s.reportRunFinder()
	if finder == nil || s.ReportFiles == nil {
		s.downloadBadRequest(w, r, "FILENAME", "Report file not found.")
		return
	}
	run, err := findReportRun(r.Context(), finder, ws.ID, filename)
	if errors.Is(err, domain.ErrNotFound) {
		s.downloadBadRequest(w, r, "FILENAME", "Report file not found.")
		return
	}
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	// 6. not expired (refused from the moment it expires, even before the sweeper deletes it)
	if run.ExpiresAt != nil && !s.Now().Before(*run.ExpiresAt) {
		s.downloadBadRequest(w, r, "FILENAME", "Report file has expired. Reports are available for "+
			retentionText(s.Config.ReportRetention)+" after generation.")
		return
	}
	// From here on the file is the stored one: an extensionless request is served under the run's file name.
	stored := run.Filename
	if stored == "" {
		stored = filename
	}
	obj, err := s.ReportFiles.Open(r.Context(), ws.ID, stored)
	if errors.Is(err, blob.ErrNotFound) {
		s.downloadBadRequest(w, r, "FILENAME", "Report file not found.")
		return
	}
	if err != nil {
		s.logError(r, err)
		writeAPIError(w, apiInternal)
		return
	}
	defer obj.Close()
	if obj.Info().Size != run.Size {
		// A later run of the same report and day replaced the file after the lookup: describe the file opened.
		if again, err := finder.RunByFilename(r.Context(), ws.ID, stored); err == nil && again.Size == obj.Info().Size {
			run = again
		}
	}
	// 7. the file, with conditional and range requests handled by http.ServeContent.
	h := w.Header()
	contentType := "application/zip"
	if strings.HasSuffix(stored, ".gz") {
		contentType = "application/gzip"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+stored+`"`)
	h.Set("ETag", `"`+run.SHA256+`"`)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private, max-age=0")
	modified := obj.Info().ModTime
	if run.FinishedAt != nil {
		modified = *run.FinishedAt
	}
	http.ServeContent(w, r, stored, modified.UTC(), obj)
}
