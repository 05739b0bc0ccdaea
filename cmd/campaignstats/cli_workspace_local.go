package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/campaignstats/campaignstats/client"
	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// localAdmin runs the workspace commands directly on the embedded store, with the same checks and results as the
// admin API (SPEC §9.1) where the store leaves them to the caller.
type localAdmin struct {
	stores app.Stores
	st     store.MetaStore
	svc    *workspace.Service
}

// openLocalAdmin opens the store of cfg (--data-dir, --store); it fails while a server holds the embedded store.
func openLocalAdmin(ctx context.Context, cfg config.Config) (*localAdmin, error) {
	stores, err := app.OpenStores(ctx, cfg, time.Now)
	if err != nil {
		return nil, err
	}
	return &localAdmin{stores: stores, st: stores.Meta, svc: workspace.New(stores.Meta, time.Now, cfg.DefaultRateLimit)}, nil
}

func (a *localAdmin) Close() error { return a.stores.Close() }

// adminWorkspace is ws as the admin API shows it; keys only when withKeys.
func adminWorkspace(ws domain.Workspace, withKeys bool) *client.Workspace {
	out := &client.Workspace{WorkspaceID: ws.ID, Name: ws.Name, Timezone: ws.Timezone, Status: ws.Status,
		RateLimitPerMinute: ws.RateLimitPerMinute, CreatedAt: ws.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if ws.DisabledAt != nil {
		t := ws.DisabledAt.UTC().Format(time.RFC3339Nano)
		out.DisabledAt = &t
	}
	if withKeys {
		out.ReportKey, out.DataKey = ws.ReportKey, ws.DataKey
	}
	return out
}

// adminQuarantineRecord is q as the admin API shows it; the payload (a JSON string of the text received) only when
// withPayload.
func adminQuarantineRecord(q store.QuarantineRecord, withPayload bool) client.QuarantineRecord {
	out := client.QuarantineRecord{QuarantineID: q.ID, WorkspaceID: q.WorkspaceID, ReceivedAt: q.ReceivedAt.UTC().Format(time.RFC3339Nano),
		RequestID: q.RequestID, Endpoint: q.Endpoint, Index: q.Index, EventUUID: q.EventUUID, Reason: q.Reason,
		PayloadTruncated: q.PayloadTruncated}
	if withPayload {
		out.Payload, _ = json.Marshal(string(q.Payload))
	}
	return out
}

func (a *localAdmin) Create(ctx context.Context, req client.CreateWorkspaceRequest) (*client.Workspace, error) {
	r := workspace.CreateRequest{Name: req.Name, Timezone: req.Timezone, WorkspaceID: req.WorkspaceID}
	if req.RateLimitPerMinute != 0 {
		r.RateLimitPerMinute = &req.RateLimitPerMinute
	}
	ws, err := a.svc.Create(ctx, r)
	if err != nil {
		return nil, err
	}
	return adminWorkspace(ws, true), nil
}

func (a *localAdmin) List(ctx context.Context, status string) ([]client.Workspace, error) {
	if status != "" && status != domain.WorkspaceActive && status != domain.WorkspaceDisabled {
		return nil, fmt.Errorf("status must be %s or %s, not %q", domain.WorkspaceActive, domain.WorkspaceDisabled, status)
	}
	list, err := a.st.ListWorkspaces(ctx, status)
	if err != nil {
		return nil, err
	}
	out := make([]client.Workspace, 0, len(list))
	for _, ws := range list {
		out = append(out, *adminWorkspace(ws, false))
	}
	return out, nil
}

func (a *localAdmin) Get(ctx context.Context, id string) (*client.Workspace, error) {
	return a.result(a.st.Workspace(ctx, id))
}

func (a *localAdmin) Update(ctx context.Context, id string, name *string, rateLimit *int) (*client.Workspace, error) {
	return a.result(a.svc.Update(ctx, id, name, rateLimit))
}

func (a *localAdmin) Disable(ctx context.Context, id string) (*client.Workspace, error) {
	return a.result(a.svc.SetActive(ctx, id, false))
}

func (a *localAdmin) Enable(ctx context.Context, id string) (*client.Workspace, error) {
	return a.result(a.svc.SetActive(ctx, id, true))
}

func (a *localAdmin) Rotate(ctx context.Context, id string, keys []string) (*client.Workspace, error) {
	ws, err := a.svc.Rotate(ctx, id, keys)
	if err != nil {
		return nil, err
	}
	return adminWorkspace(ws, true), nil
}

// result converts a workspace read or change without keys.
func (a *localAdmin) result(ws domain.Workspace, err error) (*client.Workspace, error) {
	if err != nil {
		return nil, err
	}
	return adminWorkspace(ws, false), nil
}

func (a *localAdmin) Quarantine(ctx context.Context, id string, q client.QuarantineQuery) (*client.QuarantinePage, error) {
	if _, err := a.st.Workspace(ctx, id); err != nil {
		return nil, err
	}
	items, next, err := a.st.ListQuarantine(ctx, id, store.QuarantineFilter{Since: q.Since, Until: q.Until, Reason: q.Reason, Limit: q.Limit, Cursor: q.Cursor})
	if errors.Is(err, domain.ErrConflict) {
		return nil, fmt.Errorf("cursor %q is not valid", q.Cursor)
	}
	if err != nil {
		return nil, err
	}
	page := &client.QuarantinePage{Items: make([]client.QuarantineRecord, 0, len(items))}
	for _, it := range items {
		page.Items = append(page.Items, adminQuarantineRecord(it, false))
	}
	if next != "" {
		page.NextCursor = &next
	}
	return page, nil
}

func (a *localAdmin) QuarantineRecord(ctx context.Context, id, quarantineID string) (*client.QuarantineRecord, error) {
	rec, err := a.st.GetQuarantine(ctx, id, quarantineID)
	if err != nil {
		return nil, err
	}
	out := adminQuarantineRecord(rec, true)
	return &out, nil
}

func (a *localAdmin) PurgeQuarantine(ctx context.Context, id string, before time.Time) (int, error) {
	if _, err := a.st.Workspace(ctx, id); err != nil {
		return 0, err
	}
	return a.st.PurgeQuarantine(ctx, id, before)
}
