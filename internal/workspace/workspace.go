// Package workspace creates and administers workspaces (SPEC §2.1, §9): ids and keys from a cryptographic source,
// validation, enable/disable and key rotation. The admin API and the CLI both go through it.
package workspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// InvalidError is a validation failure of an admin request; Field names the offending field.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + " - " + e.Message }

// Service administers workspaces.
type Service struct {
	store            store.Workspaces
	now              func() time.Time
	defaultRateLimit int
}

// New returns a service.
func New(st store.Workspaces, now func() time.Time, defaultRateLimit int) *Service {
	return &Service{store: st, now: now, defaultRateLimit: defaultRateLimit}
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// ValidID reports whether s is a workspace id (24 lowercase hex).
func ValidID(s string) bool { return idPattern.MatchString(s) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// NewID returns a random 24-hex id (workspaces, quarantine records, reports, runs).
func NewID() string { return randomHex(12) }

// NewKey returns a random 40-hex key.
func NewKey() string { return randomHex(20) }

// CreateRequest is the admin create body (SPEC §9.1).
type CreateRequest struct {
	Name               string
	Timezone           string
	WorkspaceID        string
	RateLimitPerMinute *int
}

// ValidateName checks the name rule of SPEC §2.1.
func ValidateName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 128 {
		return &InvalidError{"name", "must be 1 to 128 characters"}
	}
	return nil
}

// ValidateTimezone checks the timezone rule of SPEC §2.1: an IANA zone name, not Local (nor "").
func ValidateTimezone(tz string) error {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return &InvalidError{"timezone", "must be an IANA time zone name"}
	}
	return nil
}

// ValidateID checks the workspace_id rule of SPEC §2.1 for a given id.
func ValidateID(id string) error {
	if !ValidID(id) {
		return &InvalidError{"workspace_id", "must be 24 lowercase hex characters"}
	}
	return nil
}

// ValidateRateLimit checks the rate-limit rule of SPEC §2.1.
func ValidateRateLimit(n int) error {
	if n < 1 || n > 100000 {
		return &InvalidError{"rate_limit_per_minute", "must be an integer between 1 and 100000"}
	}
	return nil
}

// Create validates and stores a new workspace with fresh keys.
func (s *Service) Create(ctx context.Context, req CreateRequest) (domain.Workspace, error) {
	if err := ValidateName(req.Name); err != nil {
		return domain.Workspace{}, err
	}
	tz := req.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if err := ValidateTimezone(tz); err != nil {
		return domain.Workspace{}, err
	}
	id := req.WorkspaceID
	if id == "" {
		id = NewID()
	} else if err := ValidateID(id); err != nil {
		return domain.Workspace{}, err
	}
	limit := s.defaultRateLimit
	if req.RateLimitPerMinute != nil {
		limit = *req.RateLimitPerMinute
		if err := ValidateRateLimit(limit); err != nil {
			return domain.Workspace{}, err
		}
	}
	ws := domain.Workspace{ID: id, Name: req.Name, Timezone: tz, Status: domain.WorkspaceActive, RateLimitPerMinute: limit,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond), ReportKey: NewKey(), DataKey: NewKey()}
	if err := s.store.CreateWorkspace(ctx, ws); err != nil {
		return domain.Workspace{}, fmt.Errorf("create workspace: %w", err)
	}
	return ws, nil
}

// Update changes the name and/or rate limit.
func (s *Service) Update(ctx context.Context, id string, name *string, rateLimit *int) (domain.Workspace, error) {
	ws, err := s.store.Workspace(ctx, id)
	if err != nil {
		return ws, err
	}
	if name != nil {
		if err := ValidateName(*name); err != nil {
			return ws, err
		}
		ws.Name = *name
	}
	if rateLimit != nil {
		if err := ValidateRateLimit(*rateLimit); err != nil {
			return ws, err
		}
		ws.RateLimitPerMinute = *rateLimit
	}
	return ws, s.store.UpdateWorkspace(ctx, ws)
}

// SetActive enables or disables a workspace; idempotent.
func (s *Service) SetActive(ctx context.Context, id string, active bool) (domain.Workspace, error) {
	ws, err := s.store.Workspace(ctx, id)
	if err != nil {
		return ws, err
	}
	switch {
	case active && !ws.Active():
		ws.Status, ws.DisabledAt = domain.WorkspaceActive, nil
	case !active && ws.Active():
		t := s.now().UTC().Truncate(time.Millisecond)
		ws.Status, ws.DisabledAt = domain.WorkspaceDisabled, &t
	default:
		return ws, nil
	}
	return ws, s.store.UpdateWorkspace(ctx, ws)
}

// Rotate replaces the named keys ("report_key", "data_key"; both when empty).
func (s *Service) Rotate(ctx context.Context, id string, keys []string) (domain.Workspace, error) {
	ws, err := s.store.Workspace(ctx, id)
	if err != nil {
		return ws, err
	}
	if len(keys) == 0 {
		keys = []string{"report_key", "data_key"}
	}
	for _, k := range keys {
		switch k {
		case "report_key":
			ws.ReportKey = NewKey()
		case "data_key":
			ws.DataKey = NewKey()
		default:
			return ws, &InvalidError{"keys", "must contain only report_key and data_key"}
		}
	}
	return ws, s.store.UpdateWorkspace(ctx, ws)
}
