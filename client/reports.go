package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ReportsPrefix is the path prefix of the report-definition API (SPEC §8.1).
const ReportsPrefix = "/v1/reports"

// Run statuses (SPEC §8.4).
const (
	RunQueued     = "QUEUED"
	RunRunning    = "RUNNING"
	RunSuccessful = "SUCCESSFUL"
	RunFailed     = "FAILED"
)

// ReportDefinition is a report definition (SPEC §8.2), the body of create and update. Zero optional fields are
// omitted so that the server applies its defaults.
type ReportDefinition struct {
	Name            string              `json:"name"`
	Campaigns       *ReportCampaigns    `json:"campaigns,omitempty"`
	Range           ReportRange         `json:"range"`
	Granularity     string              `json:"granularity,omitempty"`
	SplitBy         []string            `json:"split_by,omitempty"`
	MetricType      string              `json:"metric_type,omitempty"`
	AttributionType string              `json:"attribution_type,omitempty"`
	Columns         map[string][]string `json:"columns,omitempty"`
	Separator       string              `json:"separator,omitempty"`
	Compression     string              `json:"compression,omitempty"`
	Schedule        *ReportSchedule     `json:"schedule,omitempty"`
	WebhookURL      string              `json:"webhook_url,omitempty"`
	// CSVFormulaGuard quotes text cells that a spreadsheet would evaluate as formulas (campaignstats only).
	CSVFormulaGuard bool `json:"csv_formula_guard,omitempty"`
}

// ReportCampaigns selects campaigns; nil IncludeChildren means the default (true).
type ReportCampaigns struct {
	IDs             []string `json:"ids,omitempty"`
	Channels        []string `json:"channels,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	DeliveryTypes   []string `json:"delivery_types,omitempty"`
	IncludeChildren *bool    `json:"include_children,omitempty"`
}

// ReportRange is either StartDate/EndDate (YYYY-MM-DD) or LastDays.
type ReportRange struct {
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	LastDays  int    `json:"last_days,omitempty"`
}

// ReportSchedule says when a report runs (SPEC §8.3).
type ReportSchedule struct {
	Type       string   `json:"type"`
	At         string   `json:"at,omitempty"`
	Date       string   `json:"date,omitempty"`
	Weekdays   []string `json:"weekdays,omitempty"`
	DayOfMonth int      `json:"day_of_month,omitempty"`
}

// Report is a stored report: its definition (with the server's defaults) plus report_id, timestamps and the last
// run. Timestamps are RFC 3339 strings as sent by the server.
type Report struct {
	ReportID string `json:"report_id"`
	ReportDefinition
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
	NextRunAt *string         `json:"next_run_at"`
	LastRun   *ReportRun      `json:"last_run"`
	Raw       json.RawMessage `json:"-"` // the object as received
}

// ReportRunRange is a run's data range.
type ReportRunRange struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// ReportRun is the run object of SPEC §8.4; nil pointers are JSON nulls.
type ReportRun struct {
	RunID         string          `json:"run_id"`
	ReportID      string          `json:"report_id"`
	Status        string          `json:"status"`
	Trigger       string          `json:"trigger"`
	ScheduledFor  *string         `json:"scheduled_for"`
	CreatedAt     string          `json:"created_at"`
	StartedAt     *string         `json:"started_at"`
	FinishedAt    *string         `json:"finished_at"`
	Range         ReportRunRange  `json:"range"`
	Filename      *string         `json:"filename"`
	Size          *int64          `json:"size"`
	SHA256        *string         `json:"sha256"`
	Rows          *int64          `json:"rows"`
	ExpiresAt     *string         `json:"expires_at"`
	Superseded    bool            `json:"superseded"`
	Error         *string         `json:"error"`
	WebhookStatus string          `json:"webhook_status"`
	Raw           json.RawMessage `json:"-"` // the object as received
}

// Finished reports whether the run reached SUCCESSFUL or FAILED.
func (r *ReportRun) Finished() bool { return r.Status == RunSuccessful || r.Status == RunFailed }

// UnmarshalJSON keeps the raw object.
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Report(p)
	r.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// UnmarshalJSON keeps the raw object.
func (r *ReportRun) UnmarshalJSON(b []byte) error {
	type plain ReportRun
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = ReportRun(p)
	r.Raw = append(json.RawMessage(nil), b...)
	return nil
}

func reportsPath(workspaceID string, parts ...string) string {
	p := ReportsPrefix + "/" + url.PathEscape(workspaceID)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// reportJSON calls the report API with Basic workspace_id:report_key. in may be a struct, a map, []byte or
// json.RawMessage (sent unchanged); nil sends no body.
func (c *Client) reportJSON(ctx context.Context, workspaceID, reportKey, method, path string, in, out any) (*http.Response, error) {
	h := basicHeader(workspaceID, reportKey)
	var body []byte
	if in != nil {
		b, err := jsonBody(in)
		if err != nil {
			return nil, err
		}
		body = b
		h.Set("Content-Type", ContentTypeJSON)
	}
	return c.callJSON(ctx, method, path, h, body, out)
}

// CreateReport creates a report (201). def is a ReportDefinition or raw JSON ([]byte, json.RawMessage).
func (c *Client) CreateReport(ctx context.Context, workspaceID, reportKey string, def any) (*Report, error) {
	var r Report
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodPost, reportsPath(workspaceID), def, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListReports lists the workspace's reports ordered by name.
func (c *Client) ListReports(ctx context.Context, workspaceID, reportKey string) ([]Report, error) {
	var out struct {
		Reports []Report `json:"reports"`
	}
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodGet, reportsPath(workspaceID), nil, &out); err != nil {
		return nil, err
	}
	if out.Reports == nil {
		out.Reports = []Report{}
	}
	return out.Reports, nil
}

// GetReport reads one report.
func (c *Client) GetReport(ctx context.Context, workspaceID, reportKey, reportID string) (*Report, error) {
	var r Report
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodGet, reportsPath(workspaceID, reportID), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateReport replaces a report's definition (the schedule is recomputed).
func (c *Client) UpdateReport(ctx context.Context, workspaceID, reportKey, reportID string, def any) (*Report, error) {
	var r Report
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodPut, reportsPath(workspaceID, reportID), def, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteReport deletes a report (204).
func (c *Client) DeleteReport(ctx context.Context, workspaceID, reportKey, reportID string) error {
	_, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodDelete, reportsPath(workspaceID, reportID), nil, nil)
	return err
}

// RunReport queues a manual run (202); an *APIError with Code() "run_in_progress" when one is QUEUED or RUNNING.
func (c *Client) RunReport(ctx context.Context, workspaceID, reportKey, reportID string) (*ReportRun, error) {
	var r ReportRun
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodPost, reportsPath(workspaceID, reportID, "run"), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReportRuns lists a report's runs newest first; limit 0 uses the server default (50), else 1–500.
func (c *Client) ReportRuns(ctx context.Context, workspaceID, reportKey, reportID string, limit int) ([]ReportRun, error) {
	p := reportsPath(workspaceID, reportID, "runs")
	if limit > 0 {
		p += "?limit=" + strconv.Itoa(limit)
	}
	var out struct {
		Runs []ReportRun `json:"runs"`
	}
	if _, err := c.reportJSON(ctx, workspaceID, reportKey, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	if out.Runs == nil {
		out.Runs = []ReportRun{}
	}
	return out.Runs, nil
}

// ErrRunNotFound is returned by WaitReportRun when the run is not among the report's newest 500 runs.
var ErrRunNotFound = errors.New("campaignstats: run not found")

// WaitReportRun polls the report's runs every poll (default 1 s) until run runID is SUCCESSFUL or FAILED, or ctx
// ends, and returns its last state.
func (c *Client) WaitReportRun(ctx context.Context, workspaceID, reportKey, reportID, runID string, poll time.Duration) (*ReportRun, error) {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		runs, err := c.ReportRuns(ctx, workspaceID, reportKey, reportID, 500)
		if err != nil {
			return nil, err
		}
		var found *ReportRun
		for i := range runs {
			if runs[i].RunID == runID {
				found = &runs[i]
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%w: %s", ErrRunNotFound, runID)
		}
		if found.Finished() {
			return found, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return found, ctx.Err()
		case <-t.C:
		}
	}
}
