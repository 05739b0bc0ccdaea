package duckdb

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// TestJournalRecordRoundTrip checks that a record gives back every field the events table stores, including the
// differences between absent and empty attributes and tags.
func TestJournalRecordRoundTrip(t *testing.T) {
	received := time.UnixMilli(1_740_000_000_123)
	events := []domain.Event{
		{UUID: "e1", TimeMS: -5, Campaign: true, Code: "MOE_NOTIFICATION_SHOWN", Name: "Notification Shown", UserKey: "uid:u1",
			CampaignID: "c1", ParentCampaignID: "p1", Channels: domain.ChannelSetOf(domain.ChannelPush, domain.ChannelEmail),
			Counter: domain.CounterSent, Class: domain.ClassSend, Platform: "ios", PlatformDefault: domain.DefaultWeb, Locale: "fr",
			Variation: "v2", FailureKey: "bounce", CampaignName: "Été ✓", InferredChannel: domain.ChannelPush,
			DeliveryType: domain.DeliveryOneTime, Tags: []string{"a", ""}, HasTags: true, Source: "streams"},
		{UUID: "e2", TimeMS: 1 << 50, Name: "purchase", User: domain.UserID{Hi: 1<<64 - 1, Lo: 7},
			Attributes: json.RawMessage(`{"amount":1.5}`), Source: "track"},
		{UUID: "e3", Attributes: json.RawMessage{}, Tags: []string{}, HasTags: true, Source: "bulk"},
	}
	batches := []store.EventBatch{{WorkspaceID: "w1", ReceivedAt: received, Events: events},
		{WorkspaceID: "w2", ReceivedAt: received.Add(time.Second), Events: events[1:2]}}
	buf := encodeRecord(nil, 42, batches)
	rec, err := decodeRecord(buf[8:])
	if err != nil {
		t.Fatal(err)
	}
	want := make([]store.EventBatch, len(batches))
	for i, b := range batches {
		want[i] = store.EventBatch{WorkspaceID: b.WorkspaceID, ReceivedAt: b.ReceivedAt, Events: make([]domain.Event, len(b.Events))}
		for j, e := range b.Events {
			if e.User.IsZero() {
				e.User = domain.HashUser(e.UserKey)
			}
			e.UserKey = "" // the log keeps the UserID only
			want[i].Events[j] = e
		}
	}
	if rec.first != 42 {
		t.Errorf("first Seq %d, want 42", rec.first)
	}
	if diff := cmp.Diff(want, rec.batches); diff != "" {
		t.Errorf("record read back (-want +got):\n%s", diff)
	}
	for cut := 0; cut < len(buf)-8; cut += 7 {
		if _, err := decodeRecord(buf[8 : 8+cut]); err == nil {
			t.Fatalf("a payload cut to %d bytes decoded without error", cut)
		}
	}
}

// TestJournalDropsATornRecord checks that a record cut short by a crash (and anything after it) is dropped and the
// records before it are kept.
func TestJournalDropsATornRecord(t *testing.T) {
	dir := t.TempDir()
	j, recs, err := openJournal(dir)
	if err != nil || len(recs) != 0 {
		t.Fatalf("new journal: %d records, %v", len(recs), err)
	}
	batch := func(from int) []store.EventBatch {
		return []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.UnixMilli(1), Events: benchBatch(from, 3)}}
	}
	for i := range 3 {
		if err := j.append(store.Seq(1+3*i), encodeRecord(nil, store.Seq(1+3*i), batch(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	good := j.size
	j.close()
	seg := filepath.Join(dir, segmentName(1))
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The third record cut in its middle, as by a crash during its write.
	second := encodeRecord(nil, 4, batch(1))
	firstTwo := int64(len(encodeRecord(nil, 1, batch(0))) + len(second))
	if err := os.WriteFile(seg, full[:firstTwo+(good-firstTwo)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	j, recs, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].first != 4 || recs[1].batches[0].Events[2].UUID != "ev-5" {
		t.Fatalf("after a torn third record: %d records, want the first two", len(recs))
	}
	if st, _ := os.Stat(seg); st.Size() != firstTwo {
		t.Errorf("segment holds %d bytes after the torn record was dropped, want %d", st.Size(), firstTwo)
	}
	// Appends go on after the kept records.
	if err := j.append(7, encodeRecord(nil, 7, batch(2)), 0); err != nil {
		t.Fatal(err)
	}
	j.close()
	// The append after reopening started a segment of its own: both segments are read, in order.
	if _, recs, err = openJournal(dir); err != nil || len(recs) != 3 || recs[2].first != 7 {
		t.Fatalf("after appending again: %d records, %v; want 3", len(recs), err)
	}
}

// TestAcknowledgedEventsSurviveACrashBeforeTheirLoad checks that events acknowledged by Append but not yet loaded
// into the events table (the loader held back) are loaded from the journal when the store opens again over the
// files as a crash left them, once, with their Seqs.
func TestAcknowledgedEventsSurviveACrashBeforeTheirLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "db.duckdb")
	s := open(t, path)
	if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: benchBatch(0, 500)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.awaitLog(ctx); err != nil {
		t.Fatal(err)
	}
	s.writeMu.Lock() // the loader cannot load: the next appends stay in the journal only
	for i := 1; i <= 3; i++ {
		wm, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: benchBatch(i, 500)}})
		if err != nil || wm != store.Seq(500*(i+1)) {
			t.Fatalf("append %d: watermark %d, %v", i, wm, err)
		}
	}
	// The files as a crash at this moment leaves them.
	crashed := filepath.Join(t.TempDir(), "db.duckdb")
	copyPath(t, path, crashed)
	copyPath(t, path+".wal", crashed+".wal")
	copyPath(t, path+".journal", crashed+".journal")
	var inTable int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&inTable); err != nil || inTable != 500 {
		t.Fatalf("the events table holds %d events while the loader is held back (%v), want 500", inTable, err)
	}
	s.writeMu.Unlock()
	s.Close()

	r := open(t, crashed)
	defer r.Close()
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&inTable); err != nil {
		t.Fatal(err)
	}
	var distinct, maxSeq int64
	if err := r.db.QueryRowContext(ctx, `SELECT count(DISTINCT uuid), max(seq) FROM events`).Scan(&distinct, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if inTable != 2000 || distinct != 2000 || maxSeq != 2000 {
		t.Fatalf("after reopening: %d events (%d distinct), max Seq %d; want 2000 each", inTable, distinct, maxSeq)
	}
	if wm, _ := r.Watermark(ctx); wm != 2000 {
		t.Errorf("watermark %d, want 2000", wm)
	}
	if entries, _ := os.ReadDir(crashed + ".journal"); len(entries) != 0 {
		t.Errorf("the journal keeps %d segments once its events are loaded", len(entries))
	}
	got, err := r.StoredUUIDs(ctx, "w", []string{"ev-0", "ev-1999", "ev-2000"})
	if err != nil || !got["ev-0"] || !got["ev-1999"] || got["ev-2000"] {
		t.Errorf("stored uuids after the replay: %v, %v", got, err)
	}
}

// copyPath copies a file, or a directory of files, from to to (a missing source copies nothing).
func copyPath(t *testing.T, from, to string) {
	t.Helper()
	st, err := os.Stat(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.IsDir() {
		err = os.CopyFS(to, os.DirFS(from))
	} else {
		var data []byte
		if data, err = os.ReadFile(from); err == nil {
			err = os.WriteFile(to, data, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}
