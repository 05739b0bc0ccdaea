package clickhouse

import (
	"context"
	"errors"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/store"
)

// ActiveCampaigns implements store.Aggregator.
func (s *Store) ActiveCampaigns(ctx context.Context, ws string, fromMS, toMS int64, t attribution.Type) ([]string, error) {
	return nil, errors.New("not yet")
}

// Conversions implements store.Aggregator.
func (s *Store) Conversions(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error) {
	return nil, errors.New("not yet")
}

// Aggregate implements store.Aggregator.
func (s *Store) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	return nil, errors.New("not yet")
}
