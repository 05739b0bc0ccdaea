package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

const campaignCols = `id, explicit, has_explicit, inferred, created_at, updated_at`

// readCampaigns returns the workspace's campaigns sorted by id.
func readCampaigns(ctx context.Context, q querier, workspaceID string) ([]domain.Campaign, error) {
	rows, err := q.Query(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE ws = $1 ORDER BY id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Campaign, error) {
		var c domain.Campaign
		var explicit, inferred string
		var created, updated int64
		if err := row.Scan(&c.ID, &explicit, &c.HasExplicit, &inferred, &created, &updated); err != nil {
			return c, err
		}
		if err := json.Unmarshal([]byte(explicit), &c.Explicit); err != nil {
			return c, fmt.Errorf("campaign %s explicit: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(inferred), &c.Inferred); err != nil {
			return c, fmt.Errorf("campaign %s inferred: %w", c.ID, err)
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	if out == nil {
		out = []domain.Campaign{}
	}
	return out, nil
}

// Campaigns returns every campaign of the workspace, sorted by id.
func (s *Store) Campaigns(ctx context.Context, workspaceID string) ([]domain.Campaign, error) {
	cs, err := readCampaigns(ctx, s.pool, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return cs, nil
}

// UpdateCampaigns implements store.Catalog. One transaction takes the workspace's catalog lock (an advisory lock
// every UpdateCampaigns of the workspace takes, in any process), reads the catalog as committed, calls update and
// upserts its records; the lock is held until commit, so concurrent read-modify-writes take turns.
func (s *Store) UpdateCampaigns(ctx context.Context, workspaceID string, update func([]domain.Campaign) ([]domain.Campaign, error)) error {
	var updateErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockWorkspace(ctx, tx, catalogLockClass, workspaceID); err != nil {
			return err
		}
		current, err := readCampaigns(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		cs, err := update(current)
		if err != nil {
			updateErr = err
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		batch := &pgx.Batch{}
		for i := range cs {
			c := &cs[i]
			explicit, err := json.Marshal(c.Explicit)
			if err != nil {
				return fmt.Errorf("campaign %s explicit: %w", c.ID, err)
			}
			inferred, err := json.Marshal(c.Inferred)
			if err != nil {
				return fmt.Errorf("campaign %s inferred: %w", c.ID, err)
			}
			batch.Queue(`INSERT INTO campaigns (ws, `+campaignCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (ws, id) DO UPDATE SET explicit = excluded.explicit, has_explicit = excluded.has_explicit,
					inferred = excluded.inferred, created_at = excluded.created_at, updated_at = excluded.updated_at`,
				workspaceID, c.ID, string(explicit), c.HasExplicit, string(inferred), ms(c.CreatedAt), ms(c.UpdatedAt))
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("write campaigns: %w", err)
		}
		return nil
	})
	if updateErr != nil {
		return updateErr
	}
	if err != nil {
		return fmt.Errorf("postgres: update campaigns: %w", err)
	}
	return nil
}

// PutFunnel sets (not adds) the entries in one transaction.
func (s *Store) PutFunnel(ctx context.Context, workspaceID string, entries []store.FunnelEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, e := range entries {
			batch.Queue(`INSERT INTO funnel (ws, campaign_id, day, platform, locale, variation, stage, value)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (ws, campaign_id, day, platform, locale, variation, stage) DO UPDATE SET value = excluded.value`,
				workspaceID, e.CampaignID, e.Date, e.Platform, e.Locale, e.Variation, e.Stage, e.Value)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: put funnel: %w", err)
	}
	return nil
}

// FunnelEntries returns the entries of the campaigns with fromDate <= Date <= toDate.
func (s *Store) FunnelEntries(ctx context.Context, workspaceID string, campaignIDs []string, fromDate, toDate string) ([]store.FunnelEntry, error) {
	if len(campaignIDs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT campaign_id, day, platform, locale, variation, stage, value FROM funnel
		WHERE ws = $1 AND campaign_id = ANY($2) AND day >= $3 AND day <= $4
		ORDER BY campaign_id, day, platform, locale, variation, stage`, workspaceID, campaignIDs, fromDate, toDate)
	if err != nil {
		return nil, fmt.Errorf("postgres: funnel entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.FunnelEntry, error) {
		var e store.FunnelEntry
		err := row.Scan(&e.CampaignID, &e.Date, &e.Platform, &e.Locale, &e.Variation, &e.Stage, &e.Value)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: funnel entries: %w", err)
	}
	return out, nil
}
