package derive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// highUser returns a user whose hashed key starts with the byte 0xFF: its index keys sort after every other user's
// of the workspace.
func highUser() string {
	for i := 0; ; i++ {
		u := fmt.Sprintf("u%d", i)
		if domain.HashUser("uid:"+u).Hi>>56 == 0xff {
			return u
		}
	}
}

// TestRebuildCreditsEveryUser recomputes every credit of a workspace (a goal change) and checks that the goal events
// of a user whose index keys sort last are credited again, like everyone else's.
func TestRebuildCreditsEveryUser(t *testing.T) {
	e := open(t, t.TempDir(), true)
	defer e.close(t)
	high := highUser()
	e.putGoals(t, "c1")
	e.commit(t, push("v1", high, "c1", 0, domain.CounterImpression, domain.ClassView), push("v2", "low", "c1", 0, domain.CounterImpression, domain.ClassView),
		purchase("b1", high, time.Hour), purchase("b2", "low", time.Hour))
	e.sync(t)
	if n := e.credited(t, "c1"); n != 2 {
		t.Fatalf("credited %d, want 2", n)
	}
	// A new revenue attribute changes the goal: every credit of the workspace is recomputed.
	ch := domain.ChannelPush
	goals := &domain.GoalDetails{Goals: []domain.Goal{{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "price"}}}
	if err := e.in.UpdateCatalog(context.Background(), "w", func(cs []domain.Campaign) ([]domain.Campaign, error) {
		c := cs[0]
		c.Explicit, c.HasExplicit = domain.CampaignFields{Channel: &ch, Goals: goals}, true
		return []domain.Campaign{c}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
	if n := e.credited(t, "c1"); n != 2 {
		t.Fatalf("credited %d after the credits were recomputed, want 2 (user %s lost its credit)", n, high)
	}
}

// creditedAndClosed returns the data directory of a worker that credited a purchase of u1 to a view of c1, after
// closing it, at a path of its own (env.restart says why).
func creditedAndClosed(t *testing.T) string {
	e := open(t, t.TempDir(), true)
	e.putGoals(t, "c1")
	e.commit(t, push("v1", "u1", "c1", 0, domain.CounterImpression, domain.ClassView), purchase("b1", "u1", time.Hour))
	e.sync(t)
	e.close(t)
	return copyData(t, e.dir)
}

// TestRestartKeepsSignatures checks that the signatures stored with the credits match the catalog they were
// computed for after a restart, so that a start-up does not recompute every credit.
func TestRestartKeepsSignatures(t *testing.T) {
	dir := creditedAndClosed(t)
	e := open(t, dir, false)
	defer e.close(t)
	stored, err := e.w.storedSignatures("w")
	if err != nil || stored == nil {
		t.Fatalf("stored signatures: %v, %v", stored, err)
	}
	cs, err := e.st.Campaigns(context.Background(), "w")
	if err != nil {
		t.Fatal(err)
	}
	if needsRebuild(stored, newState(cs)) {
		t.Errorf("after a restart the stored signatures differ from the unchanged catalog's: every credit would be recomputed")
	}
}

// TestIndexOfAnOlderLayoutIsRebuilt replaces the index with one written under an older layout (another comparer
// name): the worker drops it and indexes the log again, so that a goal event arriving afterwards is credited to
// an interaction stored before.
func TestIndexOfAnOlderLayoutIsRebuilt(t *testing.T) {
	dir := creditedAndClosed(t)

	index := filepath.Join(dir, "index")
	if err := os.RemoveAll(index); err != nil {
		t.Fatal(err)
	}
	old := *pebble.DefaultComparer
	old.Name = "campaignstats.userindex.v1"
	db, err := pebble.Open(index, &pebble.Options{Comparer: &old, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("I-an-entry-of-the-old-layout"), []byte("x"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	e := open(t, dir, true)
	defer e.close(t)
	e.commit(t, purchase("b2", "u1", 2*time.Hour))
	e.sync(t)
	if n := e.credited(t, "c1"); n != 2 {
		t.Fatalf("credited %d goal events, want 2: the view stored before the index was replaced is not indexed again", n)
	}
	if _, closer, err := e.w.index.db.Get([]byte("I-an-entry-of-the-old-layout")); err == nil {
		closer.Close()
		t.Error("an entry of the old index survived")
	}
}
