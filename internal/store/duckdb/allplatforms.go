package duckdb

import (
	"context"

	"github.com/campaignstats/campaignstats/internal/store"
)

// allPlatformsExpr replaces the platform key of every event and credit, so that the node queries fold all
// platforms into one node per (locale, variation): TOTAL counts add up, UNIQUE counts distinct users across
// platforms, and a goal event credited on two platforms counts once (SPEC §8.7 all-platform report rows).
const allPlatformsExpr = `'*'`

// AggregateAllPlatforms is Aggregate with every platform folded into one platform key ("*"). It runs the same
// query as Aggregate.
func (r *reader) AggregateAllPlatforms(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	return r.aggregate(ctx, q, allPlatformsExpr)
}

// ConversionsAllPlatforms is Conversions with every platform folded into one platform key ("*"). It runs the same
// query as Conversions.
func (r *reader) ConversionsAllPlatforms(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error) {
	return r.conversions(ctx, q, allPlatformsExpr)
}
