package clickhouse

import (
	"context"
	"errors"

	"github.com/campaignstats/campaignstats/internal/store"
)

// ApplyCredits implements store.Credits.
func (s *Store) ApplyCredits(ctx context.Context, u store.CreditUpdate) error { return errors.New("not yet") }

// Progress implements store.Credits.
func (s *Store) Progress(ctx context.Context) (store.Seq, error) { return 0, errors.New("not yet") }
