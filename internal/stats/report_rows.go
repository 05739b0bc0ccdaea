package stats

import (
	"context"
	"errors"
	"fmt"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// This file holds what report generation (SPEC §8.7, §8.8) needs from the engine besides Nodes: the campaign
// catalog, the Stats selection over ranges longer than the Stats API allows, and all-platform nodes. Every number
// still comes from Nodes and the store queries behind it.

// AllPlatformsKey is the platform key of the single platform of NodesAllPlatforms results.
const AllPlatformsKey = "*"

// ErrNoAllPlatforms is returned by NodesAllPlatforms when the store cannot fold platforms.
var ErrNoAllPlatforms = errors.New("stats: the store cannot compute all-platform nodes")

// AllPlatformsSource is implemented by stores that can run the node queries with every platform folded into one
// key: the same queries as Aggregate and Conversions, so TOTAL counts add up across platforms, UNIQUE counts are
// distinct users across platforms, and a goal event credited on several platforms counts once in a node.
type AllPlatformsSource interface {
	AggregateAllPlatforms(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error)
	ConversionsAllPlatforms(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error)
}

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

// foldedSource answers the engine's node queries with every platform folded into AllPlatformsKey.
type foldedSource struct {
	Source
	ap AllPlatformsSource
}

func (f foldedSource) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	rows, err := f.ap.AggregateAllPlatforms(ctx, q)
	for i := range rows {
		rows[i].Platform = AllPlatformsKey
	}
	return rows, err
}

func (f foldedSource) Conversions(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error) {
	rows, err := f.ap.ConversionsAllPlatforms(ctx, q)
	for i := range rows {
		if !rows[i].AllPlatforms {
			rows[i].Platform = AllPlatformsKey
		}
	}
	return rows, err
}

func (f foldedSource) FunnelEntries(ctx context.Context, workspaceID string, campaignIDs []string, fromDate, toDate string) ([]store.FunnelEntry, error) {
	entries, err := f.Source.FunnelEntries(ctx, workspaceID, campaignIDs, fromDate, toDate)
	for i := range entries {
		entries[i].Platform = AllPlatformsKey
	}
	return entries, err
}

// mergePlatforms folds the platforms of a folded Nodes result into one. Counters and credits all come keyed
// AllPlatformsKey; only posted funnel entries of a unit whose channel keys platforms by channel name (a parent
// and child of different channel kinds) can land under another key. Such nodes carry no counters, so their
// performance and goal numbers are zero; their posted funnel stages are added to the merged node.
func mergePlatforms(ps []PlatformResult) []PlatformResult {
	if len(ps) <= 1 {
		for i := range ps {
			ps[i].Key = AllPlatformsKey
		}
		return ps
	}
	// The primary platform (the one holding counters and credits) comes first; the others only add funnel stages.
	primary := 0
	for i, p := range ps {
		if p.Key == AllPlatformsKey {
			primary = i
		}
	}
	order := append([]PlatformResult{ps[primary]}, append(append([]PlatformResult{}, ps[:primary]...), ps[primary+1:]...)...)
	type lv struct{ l, v string }
	nodes := map[lv]*VariationResult{}
	locales := map[string]bool{}
	variations := map[string]map[string]bool{}
	for _, p := range order {
		for _, l := range p.Locales {
			locales[l.Key] = true
			if variations[l.Key] == nil {
				variations[l.Key] = map[string]bool{}
			}
			for _, v := range l.Variations {
				variations[l.Key][v.Key] = true
				k := lv{l.Key, v.Key}
				n, ok := nodes[k]
				if !ok {
					c := v
					c.Funnel = append([]Count(nil), v.Funnel...)
					nodes[k] = &c
					continue
				}
				n.Funnel = addCounts(n.Funnel, v.Funnel)
			}
		}
	}
	out := PlatformResult{Key: AllPlatformsKey}
	for _, l := range orderLocales(sortedKeys(locales)) {
		lr := LocaleResult{Key: l}
		for _, v := range orderVariations(sortedKeys(variations[l])) {
			if n := nodes[lv{l, v}]; n != nil {
				lr.Variations = append(lr.Variations, *n)
			}
		}
		out.Locales = append(out.Locales, lr)
	}
	return []PlatformResult{out}
}

// addCounts adds b's values to a's entries of the same name and appends b's other entries.
func addCounts(a, b []Count) []Count {
	for _, c := range b {
		found := false
		for i := range a {
			if a[i].Name == c.Name {
				a[i].Value += c.Value
				found = true
				break
			}
		}
		if !found {
			a = append(a, c)
		}
	}
	return a
}
