package intake

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), path, duckdb.Options{MemoryLimit: "512MB", Threads: 2}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// openService opens a Service over a new store, closed when the test ends.
func openService(t *testing.T) (*Service, *duckdb.Store) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	t.Cleanup(func() { st.Close() })
	s, err := New(context.Background(), Config{Meta: st, Events: st})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func sent(uuid, user string) domain.Event {
	return domain.Event{UUID: uuid, TimeMS: t0.UnixMilli(), Campaign: true, UserKey: "uid:" + user, CampaignID: "c1",
		Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Class: domain.ClassSend, Source: "streams"}
}

// stored returns the uuids in the log, in Seq order.
func stored(t *testing.T, st store.EventStore) []string {
	t.Helper()
	evs, err := st.ReadEvents(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.WorkspaceID+"/"+e.UUID)
	}
	return out
}

// TestDedup checks SPEC §3.6: the first copy of a uuid wins, within a request, across requests and across a
// restart; the same uuid in another workspace is another event.
func TestDedup(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	st := openStore(t, path)
	var notified []store.Seq
	s, err := New(ctx, Config{Meta: st, Events: st, OnAppend: func(_ []store.StoredEvent, wm store.Seq) { notified = append(notified, wm) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e1", "u1"), sent("e2", "u2"), sent("e1", "u3")}})
	if err != nil || fmt.Sprint(res.Duplicate) != "[false false true]" || res.Accepted() != 2 {
		t.Fatalf("first request: %+v %v", res, err)
	}
	res, err = s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e2", "u9"), sent("e3", "u3")}})
	if err != nil || fmt.Sprint(res.Duplicate) != "[true false]" {
		t.Fatalf("second request: %+v %v", res, err)
	}
	res, err = s.Commit(ctx, Request{WorkspaceID: "w2", ReceivedAt: t0, Events: []domain.Event{sent("e1", "u1")}})
	if err != nil || res.Duplicate[0] {
		t.Fatalf("another workspace: %+v %v", res, err)
	}
	if s.Watermark() != 4 || fmt.Sprint(notified) != "[2 3 4]" {
		t.Fatalf("watermark %d, notifications %v", s.Watermark(), notified)
	}
	st.Close()
	st = openStore(t, path)
	defer st.Close()
	s, err = New(ctx, Config{Meta: st, Events: st})
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e1", "u1"), sent("e4", "u4")}})
	if err != nil || fmt.Sprint(res.Duplicate) != "[true false]" {
		t.Fatalf("after a restart: %+v %v", res, err)
	}
	if got := fmt.Sprint(stored(t, st)); got != "[w/e1 w/e2 w/e3 w2/e1 w/e4]" {
		t.Fatalf("log %s", got)
	}
}

// TestConcurrentDedup commits one uuid from many goroutines: exactly one copy is stored.
func TestConcurrentDedup(t *testing.T) {
	ctx := context.Background()
	s, st := openService(t)
	const n = 16
	var wg sync.WaitGroup
	accepted := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("same", fmt.Sprint("u", i)), sent(fmt.Sprint("own", i), "u")}})
			if err != nil {
				t.Error(err)
				return
			}
			accepted[i] = res.Accepted()
		}(i)
	}
	wg.Wait()
	total := 0
	for _, a := range accepted {
		total += a
	}
	if total != n+1 || len(stored(t, st)) != n+1 {
		t.Fatalf("accepted %d, stored %d; want %d", total, len(stored(t, st)), n+1)
	}
}

// failingEvents is the real store with appends of one workspace failing.
type failingEvents struct {
	*duckdb.Store
	failWS string
}

var errInjected = errors.New("injected append failure")

func (f failingEvents) Append(ctx context.Context, batches []store.EventBatch) (store.Seq, error) {
	for _, b := range batches {
		if b.WorkspaceID == f.failWS {
			return 0, errInjected
		}
	}
	return f.Store.Append(ctx, batches)
}

// TestFailingRequestFailsAlone checks group-commit isolation: when requests are committed together and one of them
// cannot be stored, the others are committed and acknowledged, and only the failing one gets the error.
func TestFailingRequestFailsAlone(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	s, err := New(ctx, Config{Meta: st, Events: failingEvents{Store: st, failWS: "bad"}})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the lead so that the requests queue up and are committed as one group.
	s.lead <- struct{}{}
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for _, ws := range []string{"ok1", "bad", "ok2"} {
		wg.Add(1)
		go func(ws string) {
			defer wg.Done()
			_, err := s.Commit(ctx, Request{WorkspaceID: ws, ReceivedAt: t0, Events: []domain.Event{sent("e-"+ws, "u")}})
			mu.Lock()
			errs[ws] = err
			mu.Unlock()
		}(ws)
	}
	for {
		s.queueMu.Lock()
		n := len(s.queue)
		s.queueMu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	<-s.lead
	wg.Wait()
	if errs["ok1"] != nil || errs["ok2"] != nil || !errors.Is(errs["bad"], errInjected) {
		t.Fatalf("errors %v", errs)
	}
	got := stored(t, st)
	slices.Sort(got)
	if fmt.Sprint(got) != "[ok1/e-ok1 ok2/e-ok2]" {
		t.Fatalf("log %v", got)
	}
}

// TestQuarantineStored checks that a request's quarantine records are stored with its events.
func TestQuarantineStored(t *testing.T) {
	ctx := context.Background()
	s, st := openService(t)
	rec := store.QuarantineRecord{ID: "q00000000000000000000001", WorkspaceID: "w", ReceivedAt: t0, RequestID: "r", Endpoint: "streams",
		Index: 1, EventUUID: "bad", Reason: "event_time is required", Payload: []byte(`{"event_uuid":"bad"}`)}
	if _, err := s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e1", "u")},
		Quarantine: []store.QuarantineRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetQuarantine(ctx, "w", rec.ID)
	if err != nil || got.Reason != rec.Reason || string(got.Payload) != string(rec.Payload) {
		t.Fatalf("quarantine record: %+v %v", got, err)
	}
}

// TestWritersSharingALog runs two services over one event log, as two nodes sharing a store do, each appending under
// one shared lock: a uuid stored through one is a duplicate through the other, also when the other service was
// opened before it was stored (its dedup index catches up from the log under the lock).
func TestWritersSharingALog(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var lock sync.Mutex
	exclusive := func(ctx context.Context, fn func(context.Context) error) error {
		lock.Lock()
		defer lock.Unlock()
		return fn(ctx)
	}
	a, err := New(ctx, Config{Meta: st, Events: st, Exclusive: exclusive})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, Config{Meta: st, Events: st, Exclusive: exclusive})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := a.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e1", "u1"), sent("e2", "u2")}}); err != nil || res.Accepted() != 2 {
		t.Fatalf("a: %+v %v", res, err)
	}
	res, err := b.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e2", "u9"), sent("e3", "u3")}})
	if err != nil || fmt.Sprint(res.Duplicate) != "[true false]" {
		t.Fatalf("b after a: %+v %v", res, err)
	}
	res, err = a.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent("e3", "u3"), sent("e1", "u1"), sent("e4", "u4")}})
	if err != nil || fmt.Sprint(res.Duplicate) != "[true true false]" {
		t.Fatalf("a after b: %+v %v", res, err)
	}
	// Many requests through both at once: every uuid is stored once.
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if _, err := s.Commit(ctx, Request{WorkspaceID: "w", ReceivedAt: t0, Events: []domain.Event{sent(fmt.Sprint("x", i/4), "u")}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := len(stored(t, st)); got != 4+10 {
		t.Fatalf("stored %d events, want 14: %v", got, stored(t, st))
	}
}
