package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ProfileKind says which endpoint a profile came from (SPEC §13.3).
type ProfileKind string

// Profile kinds.
const (
	ProfileCustomer ProfileKind = "customer" // POST /v1/customer/{workspace_id}
	ProfileDevice   ProfileKind = "device"   // POST /v1/device/{workspace_id}
)

// Profile holds the latest attributes posted for one user key (SPEC §2.8, §13.3) and kind. Profiles are kept for
// later use; they feed no stats.
type Profile struct {
	UserKey string
	Kind    ProfileKind
	// DeviceID is the latest non-empty device_id of a device profile ("" when none was sent).
	DeviceID string
	// Attributes is a JSON object. In PutProfiles it holds the attributes of one post (nil = none); read back, the
	// merged attributes of every post (at least {}).
	Attributes json.RawMessage
	UpdatedAt  time.Time
}

// Profiles persists user and device profiles.
type Profiles interface {
	// PutProfiles merges each profile, in order, into the stored profile of (workspace, UserKey, Kind) with
	// MergeAttributes, replaces DeviceID when the new one is not empty and sets UpdatedAt, all in one durable
	// transaction. idem, when not nil, is stored in the same transaction (SPEC §3.10), so the response and the
	// data it acknowledged become durable together; PutProfiles(ctx, ws, nil, idem) stores only the response.
	PutProfiles(ctx context.Context, workspaceID string, ps []Profile, idem *IdempotentResponse) error
	// Profile returns the stored profile of (workspace, userKey, kind); domain.ErrNotFound when there is none.
	Profile(ctx context.Context, workspaceID, userKey string, kind ProfileKind) (Profile, error)
}

// MergeAttributes merges the JSON object update into the JSON object stored (either may be empty, meaning {}):
// every key update names takes update's value, including null; every other key of stored is kept. The result is
// compact JSON with keys in byte order, so equal merges give equal text.
func MergeAttributes(stored, update json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	for _, part := range []json.RawMessage{stored, update} {
		if len(bytes.TrimSpace(part)) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(part, &obj); err != nil {
			return nil, fmt.Errorf("merge profile attributes: %w", err)
		}
		if obj == nil {
			return nil, fmt.Errorf("merge profile attributes: not a JSON object")
		}
		for k, v := range obj {
			m[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<", ">" and "&" as sent
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("merge profile attributes: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
