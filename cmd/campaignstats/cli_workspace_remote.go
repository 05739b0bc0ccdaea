package main

import (
	"context"
	"io"
	"time"

	"github.com/campaignstats/campaignstats/client"
)

// remoteAdmin runs the workspace commands through the admin API of a server (SPEC §9.1) with the admin token.
type remoteAdmin struct {
	cl    *client.Client
	token string
}

func (a *remoteAdmin) Create(ctx context.Context, req client.CreateWorkspaceRequest) (*client.Workspace, error) {
	return a.cl.CreateWorkspace(ctx, a.token, req)
}

func (a *remoteAdmin) List(ctx context.Context, status string) ([]client.Workspace, error) {
	return a.cl.ListWorkspaces(ctx, a.token, status)
}

func (a *remoteAdmin) Get(ctx context.Context, id string) (*client.Workspace, error) {
	return a.cl.GetWorkspace(ctx, a.token, id)
}

func (a *remoteAdmin) Update(ctx context.Context, id string, name *string, rateLimit *int) (*client.Workspace, error) {
	return a.cl.UpdateWorkspace(ctx, a.token, id, name, rateLimit)
}

func (a *remoteAdmin) Disable(ctx context.Context, id string) (*client.Workspace, error) {
	return a.cl.DisableWorkspace(ctx, a.token, id)
}

func (a *remoteAdmin) Enable(ctx context.Context, id string) (*client.Workspace, error) {
	return a.cl.EnableWorkspace(ctx, a.token, id)
}

func (a *remoteAdmin) Rotate(ctx context.Context, id string, keys []string) (*client.Workspace, error) {
	return a.cl.RotateKeys(ctx, a.token, id, keys)
}

func (a *remoteAdmin) Quarantine(ctx context.Context, id string, q client.QuarantineQuery) (*client.QuarantinePage, error) {
	return a.cl.ListQuarantine(ctx, a.token, id, q)
}

func (a *remoteAdmin) QuarantineRecord(ctx context.Context, id, quarantineID string) (*client.QuarantineRecord, error) {
	return a.cl.GetQuarantine(ctx, a.token, id, quarantineID)
}

func (a *remoteAdmin) PurgeQuarantine(ctx context.Context, id string, before time.Time) (int, error) {
	return a.cl.PurgeQuarantine(ctx, a.token, id, before)
}

func (a *remoteAdmin) Close() error { return nil }

// runWorkspaceRemote runs a workspace command against the admin API of server (SPEC §9.1, §9.2); --server on the
// command line or CAMPAIGNSTATS_SERVER overrides it.
func runWorkspaceRemote(ctx context.Context, server string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runWorkspaceOn(ctx, server, args, getenv, stdout, stderr)
}
