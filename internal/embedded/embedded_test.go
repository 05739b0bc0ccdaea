package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/catalog"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

func openSystem(t testing.TB, o Options) *System {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	o.DuckDB = duckdb.Options{MemoryLimit: "512MB", Threads: 2}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var end = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// demoEvents decodes the demo generator's Streams events (campaign events and goal events of its users) and
// hands them to each in batches of about batchBytes of JSON.
func demoEvents(t testing.TB, o demo.Options, batchBytes int, each func([]domain.Event)) {
	t.Helper()
	var buf bytes.Buffer
	flush := func() {
		if buf.Len() == 0 {
			return
		}
		items, err := ingest.DecodeStreams(buf.Bytes(), true, end)
		if err != nil {
			t.Fatal(err)
		}
		evs := make([]domain.Event, 0, len(items))
		for _, it := range items {
			if it.Event != nil {
				evs = append(evs, *it.Event)
			}
		}
		each(evs)
		buf.Reset()
	}
	if err := demo.New(o).Generate(func(line []byte) error {
		buf.Write(line)
		if buf.Len() >= batchBytes {
			flush()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flush()
}

// TestFreshnessWaitsForTheWorker checks the read side of the visibility contract: System.Fresh (what Stats calls
// first) returns only once the worker has derived everything acknowledged before the call, and with the worker
// stuck it gives up after FreshnessWait without failing the read.
func TestFreshnessWaitsForTheWorker(t *testing.T) {
	ctx := context.Background()
	hold := make(chan struct{})
	s := openSystem(t, Options{FreshnessWait: time.Minute, holdWorker: hold})
	evs := []domain.Event{
		{UUID: "a", TimeMS: end.UnixMilli() - 3600_000, Campaign: true, CampaignID: "c", UserKey: "uid:1", User: domain.HashUser("uid:1"),
			Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Class: domain.ClassSend, Source: "streams"},
		{UUID: "b", TimeMS: end.UnixMilli() - 60_000, Name: "Purchase", UserKey: "uid:1", User: domain.HashUser("uid:1"), Source: "streams"},
	}
	if _, err := s.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
		t.Fatal(err)
	}
	wm := s.Intake.Watermark()
	done := make(chan error, 1)
	go func() { done <- s.Fresh(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Fresh returned (%v) while the worker had not started; progress %d, watermark %d", err, s.Worker.Progress(), wm)
	case <-time.After(300 * time.Millisecond):
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := s.Worker.Progress(); p < wm {
		t.Fatalf("Fresh returned with the worker at %d, before the watermark %d of the events acknowledged earlier", p, wm)
	}

	stuck := openSystem(t, Options{FreshnessWait: 50 * time.Millisecond, holdWorker: make(chan struct{})})
	if _, err := stuck.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
		t.Fatal(err)
	}
	if err := stuck.Fresh(ctx); err != nil {
		t.Fatalf("a read with the worker behind failed: %v", err)
	}
}

// TestIngestWaitsForAWorkerFarBehind checks the backpressure: with the worker stopped, a request that leaves it
// more than the allowed lag behind is committed (durable, counted) but not acknowledged until the worker catches
// up; requests within the lag are acknowledged at once.
func TestIngestWaitsForAWorkerFarBehind(t *testing.T) {
	ctx := context.Background()
	hold := make(chan struct{})
	s := openSystem(t, Options{holdWorker: hold, deriveLag: 10})
	batch := func(prefix string, n int) []domain.Event {
		evs := make([]domain.Event, n)
		for i := range evs {
			user := fmt.Sprint("uid:", i)
			evs[i] = domain.Event{UUID: fmt.Sprint(prefix, i), TimeMS: end.UnixMilli() - 3600_000, Campaign: true, CampaignID: "c",
				UserKey: user, User: domain.HashUser(user), Channels: domain.ChannelSetOf(domain.ChannelPush),
				Counter: domain.CounterSent, Class: domain.ClassSend, Source: "streams"}
		}
		return evs
	}
	if _, err := s.Intake.Commit(ctx, intakeRequest(batch("a", 8))); err != nil {
		t.Fatalf("a request within the lag: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Intake.Commit(ctx, intakeRequest(batch("b", 8)))
		done <- err
	}()
	// The second request is durable (the watermark moves) but its acknowledgement waits for the worker.
	for s.Intake.Watermark() < 16 {
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("acknowledged (%v) with the worker 16 events behind, allowed 10", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := s.Worker.Progress(); p < 6 {
		t.Fatalf("acknowledged with the worker at %d", p)
	}
}

// TestDeriveLagFollowsTheWorkersRate checks the backpressure's bound: the events the worker processes in half the
// freshness wait, within [MinDeriveLag, MaxDeriveLag], and the whole queue before the worker has a rate.
func TestDeriveLagFollowsTheWorkersRate(t *testing.T) {
	if got := deriveLagTime * 2; got != DefaultFreshnessWait {
		t.Fatalf("the lag's time is %v, want half the freshness wait (%v)", deriveLagTime, DefaultFreshnessWait)
	}
	for _, c := range []struct {
		rate float64
		want store.Seq
	}{{0, MaxDeriveLag}, {1_000, MinDeriveLag}, {40_000, 20_000}, {150_000, 75_000}, {1e9, MaxDeriveLag}} {
		if got := deriveLagBound(c.rate); got != c.want {
			t.Errorf("deriveLagBound(%v) = %d, want %d", c.rate, got, c.want)
		}
	}
}

// TestIngestCostDoesNotGrowWithTheStore measures, in one run, the per-event cost of ingesting the same kind of
// traffic (demo events: campaign events and goal events of the same users, through the intake and the derivation
// worker until it has caught up) into an empty store and into one already holding CAMPAIGNSTATS_STORE_EVENTS
// events (default 2,000,000; compacted, as the background policy leaves it). The ratio must stay under 2: no step
// of the append path may scan what is stored. Skipped with -short and under the race detector.
func TestIngestCostDoesNotGrowWithTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with millions of events")
	}
	if raceDetector {
		t.Skip("measures cost ratios on millions of events; run without -race (as .ci/run does)")
	}
	stored := 2_000_000
	if v := os.Getenv("CAMPAIGNSTATS_STORE_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("CAMPAIGNSTATS_STORE_EVENTS: %v", err)
		}
		stored = n
	}
	ctx := context.Background()
	empty, large := openSystem(t, Options{}), openSystem(t, Options{})
	users, campaigns := stored/10+10_000, 200
	fill := demo.Options{Campaigns: campaigns, Users: users, Days: 90, Events: stored, Seed: 1, End: end}
	putDemoCatalog(t, empty, fill)
	putDemoCatalog(t, large, fill)
	start := time.Now()
	demoEvents(t, fill, 4<<20, func(evs []domain.Event) {
		if _, err := large.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
			t.Fatal(err)
		}
	})
	if err := large.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := large.Store.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// Maintenance finishes what the fill left (once appends pause it merges the user sets and checkpoints the
	// fill's log, which holds the writer for a while): the measurement compares appends, not that one-off upkeep.
	// Maintain reports no work three times over 1.5 s only once appends have paused and the checkpoint is done.
	for idle, deadline := 0, time.Now().Add(time.Minute); idle < 3 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		did, err := large.Store.Maintain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if idle++; did {
			idle = 0
		}
	}
	t.Logf("filled the store with %d events in %v", large.Intake.Watermark(), time.Since(start).Round(time.Millisecond))

	// The measured traffic: 100K new events of the same campaigns in requests of about 1,400 events.
	var batches [][]domain.Event
	demoEvents(t, demo.Options{Campaigns: campaigns, Users: users, Days: 90, Events: 100_000, Seed: 2, End: end}, 400<<10,
		func(evs []domain.Event) {
			for i := range evs {
				// Users of their own: the work per event (attribution looks at a user's history) is then the same
				// in both stores, and only the size of what is stored differs.
				evs[i].UserKey = "measured-" + evs[i].UserKey
				evs[i].User = domain.HashUser(evs[i].UserKey)
			}
			batches = append(batches, evs)
		})
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	ingestAll := func(s *System, batches [][]domain.Event) time.Duration {
		runtime.GC()
		start := time.Now()
		for _, b := range batches {
			res, err := s.Intake.Commit(ctx, intakeRequest(b))
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted() != len(b) {
				t.Fatalf("accepted %d of %d", res.Accepted(), len(b))
			}
		}
		committed := time.Since(start)
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("committed in %v, derived %v later", committed, time.Since(start)-committed)
		return time.Since(start)
	}
	// Alternate halves between the stores so that a noisy moment of the machine hits both.
	half := len(batches) / 2
	e1, l1 := ingestAll(empty, batches[:half]), ingestAll(large, batches[:half])
	l2, e2 := ingestAll(large, batches[half:]), ingestAll(empty, batches[half:])
	emptyCost, largeCost := e1+e2, l1+l2
	ratio := float64(largeCost) / float64(emptyCost)
	t.Logf("%d events: %.1f µs/event into the empty store, %.1f µs/event into the store of %d events: ratio %.2f",
		n, float64(emptyCost.Microseconds())/float64(n), float64(largeCost.Microseconds())/float64(n), stored, ratio)
	if ratio > 2 {
		t.Errorf("ingest into a store of %d events costs %.2f× the cost into an empty one (limit 2×)", stored, ratio)
	}
}

// TestMemoryDoesNotGrowWithUserKeyLength ingests 10,000 users (five events each) with 16-byte keys into one system
// and with 2 KiB keys into another, and compares what each ingest left on the Go heap. The 2 KiB keys total 20 MiB;
// nothing in the process may keep a structure keyed by user key (the worker's index and the store key users by a
// 128-bit hash), so the long keys may not cost more than a few MiB beyond the short ones. DuckDB's own memory
// (table data it buffers) stays within its configured limit.
func TestMemoryDoesNotGrowWithUserKeyLength(t *testing.T) {
	ctx := context.Background()
	const users = 10_000
	heapAfter := func(keyLen int) (growth int64, duckdbBytes int64) {
		s := openSystem(t, Options{})
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		pad := bytes.Repeat([]byte("k"), keyLen)
		for chunk := 0; chunk < users; chunk += 1000 {
			evs := make([]domain.Event, 0, 5000)
			for u := chunk; u < chunk+1000; u++ {
				key := "uid:" + strconv.Itoa(u) + "-" + string(pad[:keyLen-len(strconv.Itoa(u))-5])
				for i := range 5 {
					campaign := "c" + strconv.Itoa(i)
					if i == 4 {
						campaign = ""
					}
					evs = append(evs, userEvent(strconv.Itoa(u)+"-"+strconv.Itoa(i), key, end.UnixMilli()-int64(i+1)*3600_000, campaign))
				}
			}
			if _, err := s.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// A read of the last acknowledged event returns once the store holds nothing acknowledged but unloaded
		// (its loader's queue is part of ingest's transient memory, bounded apart).
		wm, err := s.Events.Watermark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Events.ReadEvents(ctx, wm-1, 1); err != nil {
			t.Fatal(err)
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		byTag, _, err := s.Store.MemoryUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var mem int64
		for _, n := range byTag {
			mem += n
		}
		return int64(after.HeapAlloc) - int64(before.HeapAlloc), mem
	}
	short, shortDB := heapAfter(16)
	long, longDB := heapAfter(2048)
	t.Logf("Go heap growth: %.1f MiB with 16-byte keys, %.1f MiB with 2 KiB keys (20 MiB of keys); DuckDB memory %.1f / %.1f MiB",
		float64(short)/(1<<20), float64(long)/(1<<20), float64(shortDB)/(1<<20), float64(longDB)/(1<<20))
	if long-short > 4<<20 {
		t.Errorf("2 KiB user keys grew the Go heap by %.1f MiB more than 16-byte keys (limit 4 MiB)", float64(long-short)/(1<<20))
	}
	if longDB > 512<<20 {
		t.Errorf("DuckDB holds %.1f MiB, beyond its configured limit of 512 MiB", float64(longDB)/(1<<20))
	}
}

// userEvent returns a push send of campaign campaignID by the user of key at ms, or, when campaignID is "", a
// Purchase of that user.
func userEvent(uuid, key string, ms int64, campaignID string) domain.Event {
	e := domain.Event{UUID: uuid, TimeMS: ms, UserKey: key, User: domain.HashUser(key), Source: "streams"}
	if campaignID == "" {
		e.Name = "Purchase"
		return e
	}
	e.Campaign, e.CampaignID, e.Channels, e.Counter, e.Class = true, campaignID, domain.ChannelSetOf(domain.ChannelPush),
		domain.CounterSent, domain.ClassSend
	return e
}

func intakeRequest(evs []domain.Event) intake.Request {
	return intake.Request{WorkspaceID: "w", ReceivedAt: end, Events: evs}
}

// putDemoCatalog writes the demo generator's catalog (goals, channels, parents) as explicit catalog values.
func putDemoCatalog(t testing.TB, s *System, o demo.Options) {
	t.Helper()
	var cs []domain.Campaign
	for _, c := range demo.New(o).Campaigns() {
		body, err := json.Marshal(c.Body)
		if err != nil {
			t.Fatal(err)
		}
		fields, ferr := catalog.ParsePut(body, c.ID, ingest.ParseTime)
		if ferr != nil {
			t.Fatalf("demo campaign %s: %v", c.ID, ferr)
		}
		cs = append(cs, domain.Campaign{ID: c.ID, Explicit: fields, HasExplicit: true, CreatedAt: end, UpdatedAt: end})
	}
	if err := s.PutCampaigns(context.Background(), "w", cs); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogReadsDoNotWaitForCatalogUpkeep checks the two freshness waits: with the worker held, a catalog write
// leaves Fresh (Stats: credits under the new catalog) waiting for the worker, while FreshCatalog (the catalog
// endpoints) returns at once, as nothing acknowledged is left to infer; once events are acknowledged, FreshCatalog
// waits for the worker to process them too. Catalog writes used to wait for the worker's handling of the write
// before them, whose cost grows with the catalog.
func TestCatalogReadsDoNotWaitForCatalogUpkeep(t *testing.T) {
	ctx := context.Background()
	hold := make(chan struct{})
	s := openSystem(t, Options{FreshnessWait: time.Minute, holdWorker: hold})
	put := func(id string) {
		t.Helper()
		err := s.Intake.UpdateCatalog(ctx, "w", func([]domain.Campaign) ([]domain.Campaign, error) {
			return []domain.Campaign{{ID: id, HasExplicit: true, CreatedAt: end, UpdatedAt: end}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	returns := func(wait func(context.Context) error) chan error {
		done := make(chan error, 1)
		go func() { done <- wait(ctx) }()
		return done
	}
	put("a")
	fresh := returns(s.Fresh)
	select {
	case err := <-returns(s.FreshCatalog):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // it would wait FreshnessWait, a minute
		t.Fatal("FreshCatalog waited for the worker's handling of a catalog write")
	}
	put("b") // the next write does not wait either
	select {
	case err := <-fresh:
		t.Fatalf("Fresh returned (%v) before the worker handled the catalog write", err)
	case <-time.After(300 * time.Millisecond):
	}
	evs := []domain.Event{{UUID: "e", TimeMS: end.UnixMilli() - 60_000, Campaign: true, CampaignID: "c", UserKey: "uid:1",
		User: domain.HashUser("uid:1"), Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent,
		Class: domain.ClassSend, Source: "streams"}}
	if _, err := s.Intake.Commit(ctx, intakeRequest(evs)); err != nil {
		t.Fatal(err)
	}
	catalogFresh := returns(s.FreshCatalog)
	select {
	case err := <-catalogFresh:
		t.Fatalf("FreshCatalog returned (%v) before the worker inferred the acknowledged event's campaign", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(hold)
	for _, done := range []chan error{fresh, catalogFresh} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	cs, err := s.Meta.Campaigns(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := domain.NewCatalogView(cs).Get("c"); !ok {
		t.Fatal("FreshCatalog returned before campaign c, registered by an acknowledged event, was in the catalog")
	}
}
