package derive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// env is a real store, intake and worker in a temporary directory.
type env struct {
	dir    string
	st     *duckdb.Store
	in     *intake.Service
	w      *Worker
	cancel context.CancelFunc
	done   chan struct{}
}

func open(t *testing.T, dir string, run bool) *env { return openWith(t, dir, run, nil) }

// openWith is open with the worker's event store wrapped by wrap (when not nil).
func openWith(t *testing.T, dir string, run bool, wrap func(store.EventStore) store.EventStore) *env {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, filepath.Join(dir, "db.duckdb"), duckdb.Options{MemoryLimit: "512MB", Threads: 2}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var events store.EventStore = st
	if wrap != nil {
		events = wrap(st)
	}
	w, err := Open(ctx, Config{Meta: st, Events: events, Dir: filepath.Join(dir, "index"), CacheBytes: 8 << 20, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in, err := intake.New(ctx, intake.Config{Meta: st, Events: st, OnAppend: func(evs []store.StoredEvent, _ store.Seq) { w.Offer(evs) }, OnCatalog: w.CatalogChanged})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, st: st, in: in, w: w}
	if run {
		e.start()
	}
	return e
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		e.w.Run(ctx)
	}()
}

func (e *env) close(t *testing.T) {
	t.Helper()
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	if err := e.w.Close(); err != nil {
		t.Error(err)
	}
	if err := e.st.Close(); err != nil {
		t.Error(err)
	}
}

// restart closes e and opens its files again at a new path, as a restarted service would find them, after down
// (when not nil) has changed them. Reopening the same path in one process can wait forever in DuckDB's instance
// cache when the closed instance outlives its handle (duckdb/duckdb-go#17); a restarted service is a new process
// and never meets it.
func (e *env) restart(t *testing.T, run bool, down func(dir string)) *env {
	t.Helper()
	e.close(t)
	dir := copyData(t, e.dir)
	if down != nil {
		down(dir)
	}
	return open(t, dir, run)
}

// copyData copies a closed env's directory to a new path and returns it.
func copyData(t *testing.T, from string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (e *env) commit(t *testing.T, events ...domain.Event) {
	t.Helper()
	if _, err := e.in.Commit(context.Background(), intake.Request{WorkspaceID: "w", ReceivedAt: t0, Events: events}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.w.Wait(ctx, e.in.Watermark()); err != nil {
		t.Fatal(err)
	}
}

func push(uuid, user, campaign string, at time.Duration, counter domain.Counter, class domain.InteractionClass) domain.Event {
	return domain.Event{UUID: uuid, TimeMS: t0.Add(at).UnixMilli(), Campaign: true, UserKey: "uid:" + user, CampaignID: campaign,
		Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: counter, Class: class, PlatformDefault: domain.DefaultAndroid,
		CampaignName: "Name of " + campaign, InferredChannel: domain.ChannelPush, Source: "streams"}
}

func purchase(uuid, user string, at time.Duration) domain.Event {
	return domain.Event{UUID: uuid, TimeMS: t0.Add(at).UnixMilli(), Name: "Purchase", UserKey: "uid:" + user,
		Attributes: json.RawMessage(`{"amount":2}`), Source: "track"}
}

// credited returns the view-through conversions of campaign c over everything (TOTAL).
func (e *env) credited(t *testing.T, c string) int64 {
	t.Helper()
	return e.conversions(t, attribution.ViewThrough, c)
}

// conversions returns the conversions of type typ credited to campaign c over everything (TOTAL).
func (e *env) conversions(t *testing.T, typ attribution.Type, c string) int64 {
	t.Helper()
	rows, err := e.st.Conversions(context.Background(), store.ConversionQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62,
		Type: typ, Targets: []store.AggregateTarget{{ID: c, Units: []store.AggregateUnit{{ID: c, Channel: domain.ChannelPush}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Group == attribution.Regular {
			n += r.Total
		}
	}
	return n
}

// putGoals gives push campaign c a Purchase goal, with an attribution window of windowHours[0] hours when given
// (else the channel's maximum).
func (e *env) putGoals(t *testing.T, c string, windowHours ...int) {
	t.Helper()
	ch := domain.ChannelPush
	goals := &domain.GoalDetails{Goals: []domain.Goal{{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "amount"}}}
	if len(windowHours) > 0 {
		goals.AttributionWindowHours = &windowHours[0]
	}
	if err := e.in.UpdateCatalog(context.Background(), "w", func(cs []domain.Campaign) ([]domain.Campaign, error) {
		for _, cur := range cs {
			if cur.ID == c {
				cur.Explicit, cur.HasExplicit = domain.CampaignFields{Channel: &ch, Goals: goals}, true
				return []domain.Campaign{cur}, nil
			}
		}
		return []domain.Campaign{{ID: c, Explicit: domain.CampaignFields{Channel: &ch, Goals: goals}, HasExplicit: true, CreatedAt: t0, UpdatedAt: t0}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestInferenceAndCredits checks the worker end to end on a real store: events register and name their campaign
// (SPEC §3.14), a goal event is credited whether it arrives before or after the interaction that explains it
// (SPEC §6.2: results never depend on arrival order), and a goal written later by a catalog change credits past
// events (SPEC §3.6).
func TestInferenceAndCredits(t *testing.T) {
	e := open(t, t.TempDir(), true)
	defer e.close(t)
	// A purchase arrives before the impression that explains it.
	e.commit(t, purchase("b1", "u1", time.Hour))
	e.commit(t, push("v1", "u1", "c1", 0, domain.CounterImpression, domain.ClassView))
	e.sync(t)
	cs, err := e.st.Campaigns(context.Background(), "w")
	if err != nil || len(cs) != 1 || domain.NewCatalogView(cs).Name("c1") != "Name of c1" {
		t.Fatalf("inferred catalog: %+v %v", cs, err)
	}
	if n := e.credited(t, "c1"); n != 0 {
		t.Fatalf("credited %d before any goal exists", n)
	}
	e.putGoals(t, "c1") // the goal applies to the stored events: the workspace's credits are recomputed
	e.sync(t)
	if n := e.credited(t, "c1"); n != 1 {
		t.Fatalf("credited %d after the goal was added, want 1", n)
	}
	// Now an interaction first, then the purchase.
	e.commit(t, push("v2", "u2", "c1", 2*time.Hour, domain.CounterImpression, domain.ClassView))
	e.commit(t, purchase("b2", "u2", 3*time.Hour))
	e.sync(t)
	if n := e.credited(t, "c1"); n != 2 {
		t.Fatalf("credited %d, want 2", n)
	}
	// A purchase outside the 36-hour window is not credited.
	e.commit(t, purchase("b3", "u2", 60*time.Hour))
	e.sync(t)
	if n := e.credited(t, "c1"); n != 2 {
		t.Fatalf("credited %d after an out-of-window purchase, want 2", n)
	}
}

// TestIndexRecoversAfterLoss removes the per-user index while the service is down: at the next start the worker
// indexes the stored log again, and goal events that arrive later are credited from interactions stored before.
func TestIndexRecoversAfterLoss(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, true)
	e.putGoals(t, "c1")
	e.commit(t, push("v1", "u1", "c1", 0, domain.CounterImpression, domain.ClassView))
	e.sync(t)
	e = e.restart(t, true, func(dir string) {
		if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
			t.Fatal(err)
		}
	})
	defer e.close(t)
	e.commit(t, purchase("b1", "u1", time.Hour))
	e.sync(t)
	if n := e.credited(t, "c1"); n != 1 {
		t.Fatalf("credited %d after the index was rebuilt, want 1", n)
	}
}

// TestWaitFollowsTheWorker checks read-your-writes: Wait returns only once the derived data reflects the events
// acknowledged before it, and a bounded wait gives up (leaving the data as it is) while the worker is stopped.
func TestWaitFollowsTheWorker(t *testing.T) {
	e := open(t, t.TempDir(), false)
	defer e.close(t)
	e.putGoals(t, "c1")
	e.commit(t, push("v1", "u1", "c1", 0, domain.CounterImpression, domain.ClassView), purchase("b1", "u1", time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.w.Wait(ctx, e.in.Watermark()); err != context.DeadlineExceeded {
		t.Fatalf("wait while the worker is stopped: %v", err)
	}
	if n := e.credited(t, "c1"); n != 0 {
		t.Fatalf("credited %d before the worker ran", n)
	}
	e.start()
	e.sync(t)
	if n := e.credited(t, "c1"); n != 1 {
		t.Fatalf("credited %d once the worker caught up, want 1", n)
	}
}

// TestRateMeasuresSteps checks the worker's rate on a clock that advances 10 ms whenever it is read: a step of
// 100 events then takes 10 ms (10,000 events/s), and the average moves a quarter of the way to each new step's rate.
func TestRateMeasuresSteps(t *testing.T) {
	e := open(t, t.TempDir(), false)
	defer e.close(t)
	var mu sync.Mutex
	clock := t0
	e.w.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(10 * time.Millisecond)
		return clock
	}
	if r := e.w.Rate(); r != 0 {
		t.Fatalf("rate %v before any step", r)
	}
	sends := func(prefix string, n int) []domain.Event {
		evs := make([]domain.Event, n)
		for i := range evs {
			evs[i] = push(fmt.Sprint(prefix, i), fmt.Sprint("u", i), "c1", 0, domain.CounterSent, domain.ClassSend)
		}
		return evs
	}
	e.commit(t, sends("a", 100)...)
	e.start()
	e.sync(t)
	if r := e.w.Rate(); r != 10_000 {
		t.Fatalf("rate %v after one step of 100 events in 10 ms, want 10000", r)
	}
	e.commit(t, sends("b", 20)...)
	e.sync(t)
	if r := e.w.Rate(); r != 10_000+0.25*(2_000-10_000) {
		t.Fatalf("rate %v after a step of 20 events in 10 ms, want %v", r, 10_000+0.25*(2_000-10_000))
	}
}

// recordedCredits is an event store that records the credit updates applied through it.
type recordedCredits struct {
	store.EventStore
	mu      sync.Mutex
	updates []store.CreditUpdate
}

func (r *recordedCredits) ApplyCredits(ctx context.Context, u store.CreditUpdate) error {
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.mu.Unlock()
	return r.EventStore.ApplyCredits(ctx, u)
}

// take returns the replacements and credits recorded since the last take.
func (r *recordedCredits) take() (replace []store.GoalRef, units []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.updates {
		replace = append(replace, u.Replace...)
		for _, c := range u.Credits {
			units = append(units, c.Unit)
		}
	}
	r.updates = nil
	return replace, units
}

// TestNewInteractionRewritesOnlyTheUnitsItChanges checks that a new interaction replaces a stored goal event's
// credits unit by unit: those of its own unit when they change, and those of a unit it takes the total-conversions
// credit from; a unit whose credits stay the same is not written again.
func TestNewInteractionRewritesOnlyTheUnitsItChanges(t *testing.T) {
	rec := &recordedCredits{}
	e := openWith(t, t.TempDir(), true, func(s store.EventStore) store.EventStore { rec.EventStore = s; return rec })
	defer e.close(t)
	e.putGoals(t, "A")
	e.putGoals(t, "B")
	// A purchase explained by A's impression (view-through and total conversions: the deepest, then the latest)
	// and B's send (view-through).
	e.commit(t, push("a1", "u1", "A", 0, domain.CounterImpression, domain.ClassView),
		push("b1", "u1", "B", time.Hour, domain.CounterSent, domain.ClassSend), purchase("g", "u1", 3*time.Hour))
	e.sync(t)
	rec.take()
	ws := func(units ...string) []store.GoalRef {
		var out []store.GoalRef
		for _, u := range units {
			out = append(out, store.GoalRef{WorkspaceID: "w", UUID: "g", Unit: u})
		}
		return out
	}
	// B's later impression, in another locale: B's view-through credit changes, and the total-conversions credit
	// moves from A to B.
	b2 := push("b2", "u1", "B", 2*time.Hour, domain.CounterImpression, domain.ClassView)
	b2.Locale = "fr"
	e.commit(t, b2)
	e.sync(t)
	replace, units := rec.take()
	if !slices.Equal(replace, ws("A", "B")) || slices.Contains(units, "") || !slices.Contains(units, "A") || !slices.Contains(units, "B") {
		t.Fatalf("after B's impression: replaced %v, credits of units %v; want A's and B's", replace, units)
	}
	// A's later send, in another locale: A's view-through credit changes; B keeps the total conversions.
	a2 := push("a2", "u1", "A", 90*time.Minute, domain.CounterSent, domain.ClassSend)
	a2.Locale = "de"
	e.commit(t, a2)
	e.sync(t)
	replace, units = rec.take()
	if !slices.Equal(replace, ws("A")) || len(units) != 1 || units[0] != "A" {
		t.Fatalf("after A's send: replaced %v, credits of units %v; want A's one credit only", replace, units)
	}
	// A send of A before its impression changes nothing: nothing is written.
	e.commit(t, push("a0", "u1", "A", -time.Hour, domain.CounterSent, domain.ClassSend))
	e.sync(t)
	if replace, units = rec.take(); len(replace) != 0 || len(units) != 0 {
		t.Fatalf("after an earlier send: replaced %v, credits of units %v; want nothing", replace, units)
	}
	if a, b := e.credited(t, "A"), e.credited(t, "B"); a != 1 || b != 1 {
		t.Fatalf("view-through conversions of A, B: %d, %d; want 1, 1", a, b)
	}
}

// failingCredits is an event store whose next ApplyCredits fails once armed.
type failingCredits struct {
	store.EventStore
	armed atomic.Bool
}

func (f *failingCredits) ApplyCredits(ctx context.Context, u store.CreditUpdate) error {
	if f.armed.CompareAndSwap(true, false) {
		return errors.New("injected failure")
	}
	return f.EventStore.ApplyCredits(ctx, u)
}

// TestRetryAfterAFailedStepCoversWhatItIndexed checks that a step retried after its credits failed to store covers
// every event the failed step indexed, even when the queue by then holds fewer of them (the failed step read the
// log before the appends were offered): else an interaction indexed ahead counts as stored, and the credit it takes
// from another campaign is never replaced. Here the failed step indexed C's click and B's click; a retry of C's
// click alone would see B's click as the previous total-conversions source, replace B's credits and C's, and leave
// A's stale total-conversions credit beside C's.
func TestRetryAfterAFailedStepCoversWhatItIndexed(t *testing.T) {
	ctx := context.Background()
	fail := &failingCredits{}
	e := openWith(t, t.TempDir(), false, func(s store.EventStore) store.EventStore { fail.EventStore = s; return fail })
	defer e.close(t)
	if err := e.w.loadFilter(); err != nil {
		t.Fatal(err)
	}
	if err := e.w.catchUpIndex(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"A", "B", "C"} {
		e.putGoals(t, c)
	}
	e.commit(t, push("a1", "u1", "A", 0, domain.CounterImpression, domain.ClassView), purchase("g", "u1", 3*time.Hour))
	if err := e.w.runOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if a := e.conversions(t, attribution.TotalConversions, "A"); a != 1 {
		t.Fatalf("total conversions of A before the clicks: %d, want 1", a)
	}
	e.commit(t, push("c1", "u1", "C", 170*time.Minute, domain.CounterClick, domain.ClassClick))
	e.commit(t, push("b1", "u1", "B", 160*time.Minute, domain.CounterClick, domain.ClassClick))
	after := e.w.Progress()
	clicks, err := e.st.ReadEvents(ctx, after, 10)
	if err != nil || len(clicks) != 2 {
		t.Fatalf("read the two clicks: %v, %d events", err, len(clicks))
	}
	// The appends were committed but not yet offered when the step began: it reads them from the log.
	e.w.queueMu.Lock()
	e.w.queue, e.w.queued = nil, 0
	e.w.queueMu.Unlock()
	fail.armed.Store(true)
	if _, err := e.w.step(ctx); err == nil {
		t.Fatal("the armed failure did not fail the step")
	}
	// Now the first append is offered, then the second; the worker steps after each.
	for _, ev := range clicks {
		e.w.Offer([]store.StoredEvent{ev})
		if _, err := e.w.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if e.w.Progress() != clicks[1].Seq {
		t.Fatalf("progress %d, want %d", e.w.Progress(), clicks[1].Seq)
	}
	a, b, c := e.conversions(t, attribution.TotalConversions, "A"), e.conversions(t, attribution.TotalConversions, "B"), e.conversions(t, attribution.TotalConversions, "C")
	if a != 0 || b != 0 || c != 1 {
		t.Fatalf("total conversions of A, B, C: %d, %d, %d; want 0, 0, 1 (the latest click)", a, b, c)
	}
}

// TestRetryAfterAFailedStepUsesTheInferredCatalog checks that a step retried after its credits failed to store
// computes them under the catalog values the failed step inferred and stored: here the failed step learnt the
// channel of a campaign put without one (which makes its send count for its push goal); a retry under the state
// from before the failure would find nothing to infer and credit nothing.
func TestRetryAfterAFailedStepUsesTheInferredCatalog(t *testing.T) {
	ctx := context.Background()
	fail := &failingCredits{}
	e := openWith(t, t.TempDir(), false, func(s store.EventStore) store.EventStore { fail.EventStore = s; return fail })
	defer e.close(t)
	if err := e.w.catchUpIndex(ctx); err != nil {
		t.Fatal(err)
	}
	goals := &domain.GoalDetails{Goals: []domain.Goal{{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "amount"}}}
	if err := e.in.UpdateCatalog(ctx, "w", func([]domain.Campaign) ([]domain.Campaign, error) {
		return []domain.Campaign{{ID: "A", Explicit: domain.CampaignFields{Goals: goals}, HasExplicit: true, CreatedAt: t0, UpdatedAt: t0}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.w.runOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e.commit(t, push("a1", "u1", "A", 0, domain.CounterSent, domain.ClassSend), purchase("g", "u1", time.Hour))
	fail.armed.Store(true)
	if _, err := e.w.step(ctx); err == nil {
		t.Fatal("the armed failure did not fail the step")
	}
	if err := e.w.runOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.credited(t, "A"); n != 1 {
		t.Fatalf("view-through conversions of A after the retry: %d, want 1", n)
	}
}
