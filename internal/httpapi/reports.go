package httpapi

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Report-definition API (SPEC §8.1): /v1/reports/{workspace_id}[/{report_id}[/run|/runs]].
//
// Order of checks: method (405), then SPEC §5.2 rows 1, 3, 5, 6 (MOE-APPKEY is neither required nor compared),
// then 403 workspace_mismatch when the path workspace is not the Basic username, then the `reports` rate limit,
// then the body.

const reportsFamily = "reports"

var (
	apiWorkspaceMismatch = apiError{403, "Forbidden Request", nil, "workspace_mismatch"}
	apiReportNotFound    = notFound("Report not found.")
	apiRunInProgress     = apiError{409, "Conflict", desc("A run of this report is already queued or running."), "run_in_progress"}
	apiTooManyReports    = invalidField("invalid_field_value",
		"request body - a workspace holds at most 200 report definitions; delete one first")
)

// reportHandler serves one method of a report route for an authenticated, rate-limited workspace.
type reportHandler func(w http.ResponseWriter, r *http.Request, ws domain.Workspace)

// reportRoute dispatches by method and applies the report API's authentication and rate limit.
func (s *Server) reportRoute(handlers map[string]reportHandler) http.HandlerFunc {
	methods := slices.Sorted(maps.Keys(handlers))
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.Method]
		if !ok {
			methodNotAllowed(w, methods...)
			return
		}
		ws, ok := s.apiAuth(w, r, false)
		if !ok {
			return
		}
		// Every request of an authenticated, active workspace counts, whatever its outcome (SPEC §5.4).
		if !s.rateLimit(w, r, ws, reportsFamily) {
			return
		}
		if r.PathValue("workspace_id") != ws.ID {
			writeAPIError(w, apiWorkspaceMismatch)
			return
		}
		if s.Reports == nil {
			writeAPIError(w, apiUnavailable)
			return
		}
		// Report ids are 24 lowercase hex: any other value names no report and never reaches the store (§12.14).
		if id := r.PathValue("report_id"); id != "" && !validHexID(id) {
			writeAPIError(w, apiReportNotFound)
			return
		}
		h(w, r, ws)
	}
}

// ---- JSON shapes ----

// runRangeJSON is a run's range.
type runRangeJSON struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// runJSON is the run object of SPEC §8.4, keys in the SPEC's order. File fields are null unless the run is
// SUCCESSFUL; error is null unless set.
type runJSON struct {
	RunID         string       `json:"run_id"`
	ReportID      string       `json:"report_id"`
	Status        string       `json:"status"`
	Trigger       string       `json:"trigger"`
	ScheduledFor  *string      `json:"scheduled_for"`
	CreatedAt     string       `json:"created_at"`
	StartedAt     *string      `json:"started_at"`
	FinishedAt    *string      `json:"finished_at"`
	Range         runRangeJSON `json:"range"`
	Filename      *string      `json:"filename"`
	Size          *int64       `json:"size"`
	SHA256        *string      `json:"sha256"`
	Rows          *int64       `json:"rows"`
	ExpiresAt     *string      `json:"expires_at"`
	Superseded    bool         `json:"superseded"`
	Error         *string      `json:"error"`
	WebhookStatus string       `json:"webhook_status"`
}

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := rfc3339(*t)
	return &s
}

func newRunJSON(run report.Run) runJSON {
	j := runJSON{RunID: run.ID, ReportID: run.ReportID, Status: run.Status, Trigger: run.Trigger,
		ScheduledFor: optTime(run.ScheduledFor), CreatedAt: rfc3339(run.CreatedAt), StartedAt: optTime(run.StartedAt),
		FinishedAt: optTime(run.FinishedAt), Range: runRangeJSON{run.RangeStart, run.RangeEnd}, Superseded: run.Superseded,
		WebhookStatus: run.WebhookStatus}
	if run.Status == store.RunSuccessful {
		filename, size, sum, rows := run.Filename, run.Size, run.SHA256, run.Rows
		j.Filename, j.Size, j.SHA256, j.Rows, j.ExpiresAt = &filename, &size, &sum, &rows, optTime(run.ExpiresAt)
	}
	if run.Error != "" {
		e := run.Error
		j.Error = &e
	}
	return j
}

// reportJSON is a stored report (SPEC §8.2): report_id, the definition with its defaults, created_at, updated_at,
// next_run_at and last_run.
type reportJSON struct {
	ReportID string `json:"report_id"`
	report.Definition
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
	NextRunAt *string  `json:"next_run_at"`
	LastRun   *runJSON `json:"last_run"`
}

func newReportJSON(rep report.Report) reportJSON {
	j := reportJSON{ReportID: rep.ID, Definition: rep.Definition, CreatedAt: rfc3339(rep.CreatedAt), UpdatedAt: rfc3339(rep.UpdatedAt),
		NextRunAt: optTime(rep.NextRunAt)}
	if rep.LastRun != nil {
		lr := newRunJSON(*rep.LastRun)
		j.LastRun = &lr
	}
	return j
}

// ---- errors ----

// reportError writes the SPEC §5.18 body of a report service error.
func (s *Server) reportError(w http.ResponseWriter, r *http.Request, err error, def *report.Definition) {
	var ie *report.InvalidError
	switch {
	case errors.As(err, &ie):
		writeAPIError(w, invalidField(ie.Code, ie.Description))
	case errors.Is(err, report.ErrNameConflict):
		text := "name - a report with this file name stem already exists"
		if def != nil {
			text = "name - a report with the file name stem " + def.FileStem() + " already exists"
		}
		writeAPIError(w, apiError{409, "Conflict", desc(text), "name_conflict"})
	case errors.Is(err, report.ErrRunInProgress):
		writeAPIError(w, apiRunInProgress)
	case errors.Is(err, report.ErrTooManyReports):
		writeAPIError(w, apiTooManyReports)
	case errors.Is(err, domain.ErrNotFound):
		writeAPIError(w, apiReportNotFound)
	default:
		s.storeAPIError(w, r, err)
	}
}

// readDefinition reads and validates a report definition body; ok is false when a response was written.
func (s *Server) readDefinition(w http.ResponseWriter, r *http.Request) (report.Definition, bool) {
	body, ok := readAPIBody(w, r)
	if !ok {
		return report.Definition{}, false
	}
	def, err := report.ParseDefinition(body)
	if err != nil {
		s.reportError(w, r, err, nil)
		return report.Definition{}, false
	}
	return def, true
}

// ---- handlers ----

func (s *Server) reportRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/v1/reports/{workspace_id}": s.reportRoute(map[string]reportHandler{
			http.MethodPost: s.handleReportCreate, http.MethodGet: s.handleReportList}),
		"/v1/reports/{workspace_id}/{report_id}": s.reportRoute(map[string]reportHandler{
			http.MethodGet: s.handleReportGet, http.MethodPut: s.handleReportUpdate, http.MethodDelete: s.handleReportDelete}),
		"/v1/reports/{workspace_id}/{report_id}/run": s.reportRoute(map[string]reportHandler{
			http.MethodPost: s.handleReportRun}),
		"/v1/reports/{workspace_id}/{report_id}/runs": s.reportRoute(map[string]reportHandler{
			http.MethodGet: s.handleReportRuns}),
	}
}

func (s *Server) handleReportCreate(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	def, ok := s.readDefinition(w, r)
	if !ok {
		return
	}
	rep, err := s.Reports.Create(r.Context(), ws, def)
	if err != nil {
		s.reportError(w, r, err, &def)
		return
	}
	writeJSON(w, http.StatusCreated, newReportJSON(rep))
}

func (s *Server) handleReportList(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	reps, err := s.Reports.List(r.Context(), ws)
	if err != nil {
		s.reportError(w, r, err, nil)
		return
	}
	out := make([]reportJSON, 0, len(reps))
	for _, rep := range reps {
		out = append(out, newReportJSON(rep))
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": out})
}

func (s *Server) handleReportGet(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	rep, err := s.Reports.Get(r.Context(), ws, r.PathValue("report_id"))
	if err != nil {
		s.reportError(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, newReportJSON(rep))
}

func (s *Server) handleReportUpdate(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	def, ok := s.readDefinition(w, r)
	if !ok {
		return
	}
	rep, err := s.Reports.Update(r.Context(), ws, r.PathValue("report_id"), def)
	if err != nil {
		s.reportError(w, r, err, &def)
		return
	}
	writeJSON(w, http.StatusOK, newReportJSON(rep))
}

func (s *Server) handleReportDelete(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	if err := s.Reports.Delete(r.Context(), ws, r.PathValue("report_id")); err != nil {
		s.reportError(w, r, err, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleReportRun(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	run, err := s.Reports.RunNow(r.Context(), ws, r.PathValue("report_id"))
	if err != nil {
		s.reportError(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusAccepted, newRunJSON(run))
}

// Run list limits (SPEC §8.1).
const (
	defaultRunsLimit = 50
	maxRunsLimit     = 500
)

func (s *Server) handleReportRuns(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	limit := defaultRunsLimit
	if v := strings.TrimSpace(r.URL.Query().Get("limit")); v != "" {
		// Read exactly: 1e400 is a number out of range, 1.0000000000000000001 a fraction (SPEC §5.18).
		d, ok := jsonscan.ParseDecimal([]byte(v))
		if !ok {
			writeAPIError(w, invalidField("invalid_type", "limit - must be an integer"))
			return
		}
		n, ok := d.Int64()
		if !ok || n < 1 || n > maxRunsLimit {
			writeAPIError(w, invalidField("invalid_field_value", "limit - must be an integer between 1 and 500"))
			return
		}
		limit = int(n)
	}
	runs, err := s.Reports.Runs(r.Context(), ws, r.PathValue("report_id"), limit)
	if err != nil {
		s.reportError(w, r, err, nil)
		return
	}
	out := make([]runJSON, 0, len(runs))
	for _, run := range runs {
		out = append(out, newRunJSON(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}
