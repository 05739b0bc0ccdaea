package derive

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/store"
)

// TestSharedWorkerFollowsCatalogChangesItWasNotTold checks Config.Shared, the worker of a node leading several: a
// catalog change made through another node (announced to no one) is picked up while it runs, and a worker that
// takes the lead with an index of its own recomputes credits computed elsewhere under an older catalog.
func TestSharedWorkerFollowsCatalogChangesItWasNotTold(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := open(t, dir, false) // the store, its intake and a (never started) single-node worker
	defer e.close(t)
	if err := e.st.CreateWorkspace(ctx, domain.Workspace{ID: "w", Name: "w", Timezone: "UTC", Status: domain.WorkspaceActive,
		RateLimitPerMinute: 100, CreatedAt: t0, ReportKey: "rk", DataKey: "dk"}); err != nil {
		t.Fatal(err)
	}
	shared := func(index string) (*Worker, context.CancelFunc, chan struct{}) {
		w, err := Open(ctx, Config{Meta: e.st, Events: e.st, Dir: filepath.Join(dir, index), CacheBytes: 8 << 20,
			PollInterval: 20 * time.Millisecond, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.Run(rctx)
		}()
		return w, cancel, done
	}
	setGoals := func(on bool) {
		// A direct catalog write, as another node's PUT is: nobody calls CatalogChanged.
		if err := e.st.UpdateCampaigns(ctx, "w", func(cs []domain.Campaign) ([]domain.Campaign, error) {
			c := domain.Campaign{ID: "c1", CreatedAt: t0, UpdatedAt: t0}
			if len(cs) > 0 {
				c = cs[0]
			}
			ch := domain.ChannelPush
			c.Explicit, c.HasExplicit = domain.CampaignFields{Channel: &ch}, true
			if on {
				c.Explicit.Goals = &domain.GoalDetails{Goals: []domain.Goal{{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "amount"}}}
			}
			return []domain.Campaign{c}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	eventually := func(what string, want int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			n := e.credited(t, "c1")
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: credited %d, want %d", what, n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if _, err := e.in.Commit(ctx, intake.Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{
		push("v1", "u1", "c1", 0, domain.CounterImpression, domain.ClassView), purchase("b1", "u1", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	setGoals(true)
	a, stopA, doneA := shared("index-a")
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := a.Wait(wctx, e.in.Watermark()); err != nil {
		t.Fatal(err)
	}
	eventually("leader a, goal set", 1)
	setGoals(false)
	eventually("leader a, goal removed through another node", 0)
	stopA()
	<-doneA
	a.Close()

	// While no node leads, the goal comes back; the next leader has an index of its own (another node's disk).
	setGoals(true)
	var p store.Seq
	var err error
	if p, err = e.st.Progress(ctx); err != nil || p != e.in.Watermark() {
		t.Fatalf("progress %d (%v), watermark %d", p, err, e.in.Watermark())
	}
	b, stopB, doneB := shared("index-b")
	defer func() {
		stopB()
		<-doneB
		b.Close()
	}()
	eventually("leader b, goal restored while no one led", 1)
}
