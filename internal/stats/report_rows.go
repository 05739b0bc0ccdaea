package stats

import (
	"context"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// This file holds what report generation (SPEC §8.7, §8.8) needs from the engine besides Nodes: the campaign
// catalog and the Stats selection over ranges longer than the Stats API allows. Every number still comes from
// Nodes and the store queries behind it.

// Catalog returns the workspace's campaign catalog.
func (e *Engine) Catalog(ctx context.Context, workspaceID string) (*domain.CatalogView, error) {
	cs, err := e.src.Campaigns(ctx, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return domain.NewCatalogView(cs), nil
}

// SelectActive returns the campaigns a Stats call without campaign_ids selects for [fromMS, toMS) (SPEC §5.5,
// §12.2): campaigns with a campaign event or a credit under t in the range, and the parents of such children, in
// §5.5 order. Unlike the Stats API it accepts any range length.
func (e *Engine) SelectActive(ctx context.Context, workspaceID string, view *domain.CatalogView, fromMS, toMS int64, t attribution.Type) ([]string, error) {
	active, err := e.src.ActiveCampaigns(ctx, workspaceID, fromMS, toMS, t)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	set := map[string]bool{}
	for _, id := range active {
		if _, ok := view.Get(id); !ok {
			continue
		}
		set[id] = true
		if p := view.Parent(id); p != "" {
			set[p] = true
		}
	}
	selected := make([]string, 0, len(set))
	for id := range set {
		selected = append(selected, id)
	}
	view.OrderByStart(selected)
	return selected, nil
}
