package domain

import (
	"errors"
	"time"
)

// Workspace statuses (SPEC §2.1).
const (
	WorkspaceActive   = "active"
	WorkspaceDisabled = "disabled"
)

// Workspace is the unit of tenancy (SPEC §2.1). Keys are held by the store; HTTP layers show them only on create
// and rotate.
type Workspace struct {
	ID                 string
	Name               string
	Timezone           string
	Status             string
	RateLimitPerMinute int
	CreatedAt          time.Time
	DisabledAt         *time.Time
	ReportKey          string
	DataKey            string
}

// Active reports whether the workspace accepts requests.
func (w Workspace) Active() bool { return w.Status == WorkspaceActive }

// Location returns the workspace's time zone; UTC when the stored name does not load.
func (w Workspace) Location() *time.Location {
	if loc, err := time.LoadLocation(w.Timezone); err == nil && w.Timezone != "" && w.Timezone != "Local" {
		return loc
	}
	return time.UTC
}

// Errors shared by every layer; wrap them with context and test with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrUnavailable   = errors.New("store unavailable")
	ErrConflict      = errors.New("conflict")
)
