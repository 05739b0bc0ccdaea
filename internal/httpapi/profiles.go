package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/store"
)

// profileEndpoint is POST /v1/customer/{workspace_id} (kind ingest.ProfileCustomer) or POST /v1/device/{workspace_id}
// (ingest.ProfileDevice), SPEC §13.3: the auth, limits, checks and error shapes of Track Event (§3.8, §3.11), with
// Idempotency-Key support as Track Event's (§3.10, scoped by path). The posted attributes are merged into the
// profile of (workspace, user key "uid:"+customer_id, kind) and durably stored before the 200, which carries no
// request_id. Profiles feed no stats.
func (s *Server) profileEndpoint(kind, path string) trackEndpoint {
	return trackEndpoint{name: kind, path: path,
		accept: func(ws domain.Workspace, body []byte, now time.Time) (func(context.Context, *store.IdempotentResponse) error, error) {
			post, err := ingest.DecodeProfile(body, kind)
			if err != nil {
				return nil, err
			}
			p := store.Profile{UserKey: post.UserKey, Kind: store.ProfileKind(post.Kind), DeviceID: post.DeviceID,
				Attributes: post.Attributes, UpdatedAt: now}
			return func(ctx context.Context, idem *store.IdempotentResponse) error {
				if err := s.Intake.PutProfiles(ctx, ws.ID, []store.Profile{p}, idem); err != nil {
					return fmt.Errorf("store %s profile: %w", kind, err)
				}
				return nil
			}, nil
		}}
}
