package duckdb

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/storetest"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{MemoryLimit: "1GB", Threads: 2}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, filepath.Join(t.TempDir(), "db.duckdb")) })
}

// TestReopenKeepsDedupAndUsers checks that a committed batch survives a reopen: uuids stay reserved and user ids
// stay stable (UNIQUE counts across the restart).
func TestReopenKeepsDedupAndUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	e := func(uuid, user string) domain.Event {
		return domain.Event{UUID: uuid, TimeMS: 1740819600000, Campaign: true, UserKey: user, CampaignID: "c",
			Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Source: "streams"}
	}
	s := open(t, path)
	if _, err := s.Append(ctx, store.Batch{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{e("a", "uid:1")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	res, err := s.Append(ctx, store.Batch{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{e("a", "uid:2"), e("b", "uid:1")}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate[0] || res.Duplicate[1] {
		t.Fatalf("duplicates after reopen: %v", res.Duplicate)
	}
	rows, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62, Unique: true,
		Targets: []store.AggregateTarget{{ID: "c", Units: []store.AggregateUnit{{ID: "c", Channel: domain.ChannelPush}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.AllLocales && r.AllVariations && r.Metric == domain.MetricSent && r.Value != 1 {
			t.Fatalf("unique sent across restart = %d, want 1 (same user)", r.Value)
		}
	}
}

// TestReportLayoutMigration checks migration 0005 on stored definitions: one stored before layouts existed gets
// the rows layout (SPEC §13.2), one that names its layout keeps it.
func TestReportLayoutMigration(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer s.Close()
	now := time.Now().UTC()
	for id, def := range map[string]string{
		"aaaaaaaaaaaaaaaaaaaaaaaa": `{"name":"Old","range":{"last_days":7},"separator":","}`,
		"bbbbbbbbbbbbbbbbbbbbbbbb": `{"name":"New","range":{"last_days":7},"layout":"moengage"}`,
	} {
		if err := s.CreateReport(ctx, store.Report{ID: id, WorkspaceID: "w", Name: id, Stem: id, Definition: []byte(def),
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	migration, err := migrationFS.ReadFile("migrations/0005_report_layout.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, string(migration)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"aaaaaaaaaaaaaaaaaaaaaaaa": "rows", "bbbbbbbbbbbbbbbbbbbbbbbb": "moengage"} {
		r, err := s.Report(ctx, "w", id)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			Name      string `json:"name"`
			Layout    string `json:"layout"`
			Separator string `json:"separator"`
		}
		if err := json.Unmarshal(r.Definition, &def); err != nil || def.Layout != want || def.Name == "" {
			t.Errorf("%s: definition %s after the migration (%v), want layout %q", id, r.Definition, err, want)
		}
	}
}
