package duckdb

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/store"
)

// TestProfilesSurviveReopen: a profile acknowledged by PutProfiles is in the database file, not only in memory.
func TestProfilesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	s := open(t, path)
	if err := s.PutProfiles(ctx, "w", []store.Profile{{UserKey: "uid:ann", Kind: store.ProfileDevice, DeviceID: "d1",
		Attributes: json.RawMessage(`{"os":"ios"}`), UpdatedAt: at}}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	p, err := s.Profile(ctx, "w", "uid:ann", store.ProfileDevice)
	if err != nil || p.DeviceID != "d1" || string(p.Attributes) != `{"os":"ios"}` || !p.UpdatedAt.Equal(at) {
		t.Fatalf("after reopen: %+v %v", p, err)
	}
}

// TestMigrationVersionsUnique: migrations are applied by their number, so two files with one number would leave
// one of them unapplied. This catches such a clash (for example from two branches adding a migration each).
func TestMigrationVersionsUnique(t *testing.T) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	seen := map[int]string{}
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			t.Fatalf("%s: bad version prefix", base)
		}
		if other, ok := seen[v]; ok {
			t.Fatalf("migrations %s and %s share version %d", other, base, v)
		}
		seen[v] = base
	}
}
