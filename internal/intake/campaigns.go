package intake

import (
	"context"
	"fmt"
	"sync"

	"github.com/campaignstats/campaignstats/internal/store"
)

// campaignQuota bounds the number of campaigns in each workspace's catalog. It knows, per workspace, the ids of
// the catalog (loaded on first use) and of the campaigns admitted since; a new id is admitted while the workspace
// holds fewer than max. Its memory is bounded by max ids per workspace.
type campaignQuota struct {
	meta store.MetaStore
	max  int

	mu    sync.Mutex
	known map[string]map[string]struct{}
}

// admit admits the campaigns ids of workspace ws, in order, and returns the ids refused because the workspace's
// catalog is full; ids already known are always admitted.
func (q *campaignQuota) admit(ctx context.Context, ws string, ids []string) (map[string]bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	known, ok := q.known[ws]
	if !ok {
		cs, err := q.meta.Campaigns(ctx, ws)
		if err != nil {
			return nil, fmt.Errorf("intake: campaign quota: %w", err)
		}
		known = make(map[string]struct{}, len(cs))
		for _, c := range cs {
			known[c.ID] = struct{}{}
		}
		q.known[ws] = known
	}
	var refused map[string]bool
	for _, id := range ids {
		if _, ok := known[id]; ok {
			continue
		}
		if len(known) >= q.max {
			if refused == nil {
				refused = map[string]bool{}
			}
			refused[id] = true
			continue
		}
		known[id] = struct{}{}
	}
	return refused, nil
}

// CampaignLimit is the most campaigns a workspace's catalog may hold (0: no limit).
func (s *Service) CampaignLimit() int {
	if s.quota == nil {
		return 0
	}
	return s.quota.max
}

// AdmitCampaigns reserves room in workspace ws's catalog for the campaign ids (explicit writes, and the campaign
// and parent ids of events, which inference adds to the catalog) and returns those refused because the catalog
// holds CampaignLimit campaigns. Known ids are never refused. Callers store nothing that would add a refused id.
func (s *Service) AdmitCampaigns(ctx context.Context, ws string, ids []string) (refused map[string]bool, err error) {
	if s.quota == nil || len(ids) == 0 {
		return nil, nil
	}
	return s.quota.admit(ctx, ws, ids)
}
