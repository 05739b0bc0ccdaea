package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/storetest"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"
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
	storetest.Run(t, func(t *testing.T) storetest.SnapshotStore { return open(t, filepath.Join(t.TempDir(), "db.duckdb")) })
}

// migratedTo creates a database at path with the schema of migrations 1 to version only, as an older build left
// it, and returns it open (the caller closes it before opening the store).
func migratedTo(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= version; v++ {
		names, _ := fs.Glob(migrationFS, fmt.Sprintf("migrations/%04d_*.sql", v))
		body, err := migrationFS.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(context.Background(), string(body)); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
		if _, err := db.ExecContext(context.Background(), `INSERT INTO schema_migrations VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestCreditCellsMigration checks migration 0014 on credits written before it, in the log and in a chunk: they get
// cells of their own (not an event's, which shares the table), and conversions read their dimensions, the control
// group's variation, and new credits of the same dimensions reuse the cell.
func TestCreditCellsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	db := migratedTo(t, path, 13)
	const ts = 1740819600000 // 2025-03-01T09:00Z
	for _, q := range []string{
		`INSERT INTO cells VALUES (1, 'android', 0, 'en', 'v1')`,
		fmt.Sprintf(`INSERT INTO credits_sorted VALUES ('w', 'g1', 1, 1, %d, 'c', 'Buy', 4, 0, 'android', 'en', 'v1', 5000000, 1),
			('w', 'g2', 2, 2, %d, 'c', 'Buy', 0, 1, 'ios', 'fr', '', 0, 1)`, ts, ts),
		fmt.Sprintf(`INSERT INTO credits VALUES ('w', 'g3', 3, 3, %d, 'c', 'Buy', 4, 0, 'android', 'en', 'v1', 1000000, 2)`, ts),
		`UPDATE credits_watermark SET gen = 1, sorted_rows = 2`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := open(t, path)
	defer s.Close()
	var credited, eventCell int
	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT cell), count(*) FILTER (WHERE cell = 1) FROM
		(SELECT cell FROM credits UNION ALL SELECT cell FROM credits_sorted)`).Scan(&credited, &eventCell); err != nil {
		t.Fatal(err)
	}
	if credited != 2 || eventCell != 0 {
		t.Fatalf("credit cells after the migration: %d distinct, %d on the event's cell", credited, eventCell)
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{{WorkspaceID: "w", User: domain.UserID{Hi: 4, Lo: 4},
		Credit: attribution.Credit{GoalUUID: "g4", TimeMS: ts, Unit: "c", Goal: "Buy", Type: attribution.TotalConversions,
			Platform: "android", Locale: "en", Variation: "v1", RevenueMicros: 1}}}}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: "w", FromMS: ts - msPerDay, ToMS: ts + msPerDay,
		Type:    attribution.TotalConversions,
		Targets: []store.AggregateTarget{{ID: "c", Units: []store.AggregateUnit{{ID: "c", Channel: domain.ChannelPush}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		if r.AllPlatforms || r.AllLocales || r.AllVariations {
			continue // the finest nodes say it all here
		}
		got = append(got, fmt.Sprintf("%s/%s/%s %v: %d %d %d", r.Platform, r.Locale, r.Variation, r.Group, r.Total, r.Unique, r.RevenueMicros))
	}
	want := []string{"android/en/v1 regular: 3 3 6000001", "ios/fr/" + domain.CampaignControlGroup + " " + domain.CampaignControlGroup + ": 1 1 0"}
	if !slices.Equal(got, want) {
		t.Fatalf("conversions after the migration\ngot  %q\nwant %q", got, want)
	}
	var cells int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM cells`).Scan(&cells); err != nil || cells != 3 {
		t.Fatalf("cells after a credit of known dimensions: %d %v", cells, err)
	}
}

// TestReopenKeepsTheLog checks that appended events survive a reopen with their Seqs, that Seqs continue after
// them, and that a user's events before and after the restart count as one user.
func TestReopenKeepsTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	e := func(uuid, user string) domain.Event {
		return domain.Event{UUID: uuid, TimeMS: 1740819600000, Campaign: true, UserKey: user, User: domain.HashUser(user), CampaignID: "c",
			Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Source: "streams"}
	}
	s := open(t, path)
	if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{e("a", "uid:1")}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	if wm, err := s.Watermark(ctx); err != nil || wm != 1 {
		t.Fatalf("watermark after reopen %d %v", wm, err)
	}
	wm, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{e("b", "uid:1")}}})
	if err != nil || wm != 2 {
		t.Fatalf("append after reopen: %d %v", wm, err)
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

// Close waits for a connection still in use, so that the file can be opened again in this process at once after
// it (DuckDB's instance cache spins, holding its lock, until the previous instance is gone).
func TestCloseWaitsForConnectionsInUse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := open(t, path)
	conn, err := s.db.Conn(ctx) // a statement that outlives its caller's wait holds a connection like this
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a connection was in use", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close after the connection was released: %v", err)
	}
	s = open(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEventLogMigration checks migration 0006 on a database written by the schema before it: users become the
// SHA-256 UserIDs of their keys (in events and credits), events get Seqs in arrival order, and the derived data's
// progress starts after them.
func TestEventLogMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	db := migratedTo(t, path, 5)
	for _, q := range []string{
		`INSERT INTO users VALUES ('uid:alice', 1), ('uid:bob', 2)`,
		`INSERT INTO events VALUES ('w', 'second', 2, 1000, true, 'C', 'n', 2, 'c', '', 1, 1, 1, 'android', 0, 'en', '', '', NULL, 'streams', 20),
			('w', 'first', 1, 1000, true, 'C', 'n', 1, 'c', '', 1, 1, 1, 'android', 0, 'en', '', '', NULL, 'streams', 10)`,
		`INSERT INTO credits VALUES ('w', 'g', 2, 1000, 'c', 'Buy', 1, 0, 'android', 'en', '', 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := open(t, path)
	defer s.Close()
	evs, err := s.ReadEvents(ctx, 0, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events after the migration: %+v %v", evs, err)
	}
	if evs[0].UUID != "first" || evs[0].Seq != 1 || evs[0].User != domain.HashUser("uid:alice") ||
		evs[1].UUID != "second" || evs[1].Seq != 2 || evs[1].User != domain.HashUser("uid:bob") {
		t.Fatalf("migrated events: %+v", evs)
	}
	var hi, lo uint64
	if err := s.db.QueryRowContext(ctx, `SELECT user_hi, user_lo FROM credits`).Scan(&hi, &lo); err != nil {
		t.Fatal(err)
	}
	if (domain.UserID{Hi: hi, Lo: lo}) != domain.HashUser("uid:bob") {
		t.Fatalf("migrated credit user %x %x", hi, lo)
	}
	if p, err := s.Progress(ctx); err != nil || p != 2 {
		t.Fatalf("progress after the migration: %d %v", p, err)
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

// TestCompactionKeepsAnswers checks that moving the log's tail into facts changes no node query's answer, that
// events appended after a compaction are read from the tail, and that a snapshot opened before a compaction keeps
// answering as it did.
func TestCompactionKeepsAnswers(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer s.Close()
	s.compactChunk = 50 // several sorting statements per compaction
	// A stopped clock: appends never pause, so the last Maintain has only a tail to look for, however long the
	// test's queries take.
	stopped := time.Now()
	s.now = func() time.Time { return stopped }
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	sorted := func() {
		t.Helper()
		var n, unsorted int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE (ws, campaign_id, ts) < prev) FROM (
			SELECT ws, campaign_id, ts, lag((ws, campaign_id, ts)) OVER (ORDER BY rowid) AS prev FROM facts)`).Scan(&n, &unsorted); err != nil {
			t.Fatal(err)
		}
		if n == 0 || unsorted != 0 {
			t.Fatalf("facts holds %d rows, %d of them out of (workspace, campaign, time) order", n, unsorted)
		}
	}
	batch := func(from, n int) {
		var evs []domain.Event
		for i := from; i < from+n; i++ {
			user := fmt.Sprint("uid:u", i%17)
			evs = append(evs, domain.Event{UUID: fmt.Sprint("e", i), TimeMS: base + int64(i)*60_000, Campaign: true, UserKey: user,
				User: domain.HashUser(user), CampaignID: fmt.Sprint("c", i%5), Channels: domain.ChannelSetOf(domain.ChannelPush),
				Counter: domain.Counter(1 + i%3), Class: domain.ClassSend, Platform: []string{"", "ios", "web"}[i%3],
				PlatformDefault: domain.DefaultAndroid, Locale: []string{"", "en", "fr"}[i%3], Source: "streams"})
		}
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	targets := []store.AggregateTarget{{ID: "c1", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}},
		{ID: "P", Units: []store.AggregateUnit{{ID: "c2", Channel: domain.ChannelPush}, {ID: "c3", Channel: domain.ChannelPush}}}}
	answer := func(r store.Aggregator) map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, unique := range []bool{false, true} {
			rows, err := r.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "w", FromMS: base, ToMS: base + 400*60_000, Unique: unique, Targets: targets})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				out[fmt.Sprintf("%t/%+v/%s", unique, row.NodeRef, row.Metric)] += row.Value
			}
		}
		return out
	}
	batch(0, 120)
	before := answer(s)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, answer(s)); diff != "" {
		t.Fatalf("after a compaction (-before +after):\n%s", diff)
	}
	sorted()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch(120, 120)
	grown := answer(s)
	if cmp.Equal(before, grown) {
		t.Fatal("events appended after the compaction are not read")
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(grown, answer(s)); diff != "" {
		t.Fatalf("after the second compaction (-before +after):\n%s", diff)
	}
	sorted()
	if diff := cmp.Diff(before, answer(snap)); diff != "" {
		t.Fatalf("a snapshot opened before the compaction (-want +got):\n%s", diff)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if done, err := s.Maintain(ctx); err != nil || done {
		t.Fatalf("maintain without a tail: %t %v", done, err)
	}
}

// TestSettledStoreIsCheckpointed checks that appends leave their write-ahead log alone (the checkpoint threshold
// is well above a few batches) and that maintenance, once appends have paused and nothing is left to compact,
// writes it into the database file: the log is empty, and a reopened store has every event.
func TestSettledStoreIsCheckpointed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := open(t, path)
	for i := 0; i < 5; i++ {
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: benchBatch(i, 2000)}}); err != nil {
			t.Fatal(err)
		}
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + ".wal")
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if walSize() == 0 {
		t.Fatal("appends checkpointed at once: the write-ahead log is empty")
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	for i := 0; i < 5; i++ {
		done, err := s.Maintain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !done {
			break
		}
	}
	if n := walSize(); n != 0 {
		t.Fatalf("the write-ahead log holds %d bytes after maintenance settled", n)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	if wm, err := s.Watermark(ctx); err != nil || wm != 10000 {
		t.Fatalf("watermark after reopen %d %v, want 10000", wm, err)
	}
}

// TestFactsRewriteWaitsForAPauseInQueries checks that a due rewrite of facts waits while node queries run, and runs
// once they pause for queriesQuiet, or once it has waited yieldWait however they run.
func TestFactsRewriteWaitsForAPauseInQueries(t *testing.T) {
	ctx := context.Background()
	s, clock, appendEvents, query := yieldingStore(t)
	appendBatch := func() {
		t.Helper()
		appendEvents(100)
		if err := s.compactTail(ctx, false, true); err != nil { // a chunk: the rewrite becomes due
			t.Fatal(err)
		}
	}
	// step advances the clock, runs the policy, and reports whether facts is sorted whole afterwards.
	step := func(d time.Duration) bool {
		t.Helper()
		*clock = clock.Add(d)
		if _, err := s.rewriteFactsWhenDue(ctx, false); err != nil {
			t.Fatal(err)
		}
		var facts, sorted int64
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM facts), sorted_rows FROM facts_watermark`).Scan(&facts, &sorted); err != nil {
			t.Fatal(err)
		}
		return facts == sorted
	}
	appendBatch()
	waitsForAPause(t, "facts rewritten", query, step, 0)
	// Queries every second: the rewrite waits yieldWait from the first time it was put off (the first step).
	appendBatch()
	appendBatch()
	waitsAtMostYieldWait(t, "facts rewritten", query, step)
}

// TestSettlingWaitsForAPauseInQueries checks that what a pause in appends makes due (here the compaction of a short
// tail, once appends have paused for compactIdle) waits while node queries run, runs once they pause for
// queriesQuiet or once it has waited yieldWait however they run, and that the wait starts afresh at the next pause
// in appends; and that a tail of a 64th of facts or more is compacted as soon as appends pause, whatever the
// queries, without pausing for them.
func TestSettlingWaitsForAPauseInQueries(t *testing.T) {
	ctx := context.Background()
	s, clock, appendBatch, query := yieldingStore(t)
	// step advances the clock, runs maintenance, and reports whether the log's tail is compacted afterwards.
	step := func(d time.Duration) bool {
		t.Helper()
		*clock = clock.Add(d)
		if _, err := s.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		var watermark int64
		if err := s.db.QueryRowContext(ctx, `SELECT seq FROM facts_watermark WHERE id = 1`).Scan(&watermark); err != nil {
			t.Fatal(err)
		}
		return watermark == int64(s.seq)
	}
	// settle lets the store settle without queries: each phase below starts from a settled store, so that the
	// tails of the phases before it do not add up to the end of a burst (TestABurstEndsAStepsPauses).
	settle := func() {
		t.Helper()
		*clock = clock.Add(queriesQuiet)
		settleStore(t, s)
	}
	appendBatch(3000)
	if !step(compactQuiet) {
		t.Fatal("a pause in appends without node queries did not compact the tail")
	}
	settle()
	// Tails of less than a 64th of facts, due once appends have paused for compactIdle.
	appendBatch(40)
	if step(compactQuiet) {
		t.Fatal("a short tail compacted at a pause in appends shorter than compactIdle")
	}
	*clock = clock.Add(compactIdle)
	waitsForAPause(t, "tail compacted", query, step, 0)
	settle()
	// Queries every second: the compaction waits yieldWait from the first time it was put off (the first step).
	appendBatch(40)
	*clock = clock.Add(compactIdle)
	waitsAtMostYieldWait(t, "tail compacted", query, step)
	settle()
	// Appends resume and pause again: the wait starts afresh.
	appendBatch(40)
	if step(0) {
		t.Fatal("tail compacted while appends go on")
	}
	*clock = clock.Add(compactIdle)
	query()
	if step(0) {
		t.Fatal("tail compacted while node queries run, after a new pause in appends")
	}
	// A tail of a 64th of facts or more is compacted once appends pause, whatever the queries, and without pausing
	// for them.
	paused := pausesWithQueries(s, clock, query)
	appendBatch(100)
	query()
	if step(0) {
		t.Fatal("tail compacted while appends go on")
	}
	query()
	if !step(compactQuiet) {
		t.Fatal("a tail of more than a 64th of facts not compacted at a pause in appends while node queries run")
	}
	if *paused != 0 {
		t.Errorf("the compaction of a tail due at a pause in appends paused %v for node queries", *paused)
	}
}

// TestABurstEndsAStepsPauses checks that the end of a burst counts every event appended since the store last
// settled, not only the tail: a compaction due by the tail's size that is running when appends pause stops pausing
// for node queries compactQuiet after the last append, and the short tail appended while it ran is then compacted
// at once, and the set rows merged, while the queries go on.
func TestABurstEndsAStepsPauses(t *testing.T) {
	ctx := context.Background()
	s, clock, appendBatch, query := yieldingStore(t)
	paused := pausesWithQueries(s, clock, query)
	maintain := func() {
		t.Helper()
		if _, err := s.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendBatch(3000)
	*clock = clock.Add(compactIdle)
	settleStore(t, s)
	// A tail due by its size while appends go on, and node queries all along: the compaction pauses until the
	// burst has ended.
	s.minTail = 50
	appendBatch(200)
	query()
	maintain()
	if *paused != compactQuiet {
		t.Errorf("a compaction due by size paused %v while appends had paused, want %v", *paused, compactQuiet)
	}
	// The events appended while it ran: under a 64th of facts, but the burst's end compacts them at once.
	appendBatch(5)
	*paused = 0
	query()
	*clock = clock.Add(compactQuiet)
	maintain()
	var watermark, extra int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT seq FROM facts_watermark), (SELECT count(*) - count(DISTINCT (ws, campaign_id, day)) FROM user_sets)`).Scan(&watermark, &extra); err != nil {
		t.Fatal(err)
	}
	if watermark != int64(s.seq) || extra == 0 {
		t.Fatalf("at the end of a burst whose tail is short, while node queries run: compacted through %d of %d, %d extra rows of sets; want the tail compacted at once and the rows left to the merge", watermark, s.seq, extra)
	}
	query()
	maintain()
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) - count(DISTINCT (ws, campaign_id, day)) FROM user_sets`).Scan(&extra); err != nil {
		t.Fatal(err)
	}
	if extra != 0 || *paused != 0 {
		t.Errorf("after a burst whose tail is short, while node queries run: %d extra rows of sets, paused %v; want them merged at once", extra, *paused)
	}
}

// TestABurstSettlesAtOnce checks that after a burst of appends — a tail of a 64th of facts or more compacted at
// a pause — the rest of what the pause makes due runs at once while node queries run, and without pausing for
// them: the compaction leaves the day rows of user sets unmerged, the credits log moves into a chunk, and each day's
// rows are merged into one. Dropping the voids and the checkpoint wait for a pause in the queries, so do a burst's
// credits under a 64th of the sorted ones, and so does everything once appends resume and pause again with a short
// tail.
func TestABurstSettlesAtOnce(t *testing.T) {
	ctx := context.Background()
	s, clock, appendBatch, query := yieldingStore(t)
	paused := pausesWithQueries(s, clock, query)
	credit := func(goal string) store.Credit {
		return store.Credit{WorkspaceID: "w", User: domain.HashUser("uid:u1"), Credit: attribution.Credit{GoalUUID: goal,
			TimeMS: clock.UnixMilli(), Unit: "c1", Goal: "purchase", Type: attribution.ViewThrough, Platform: "ios"}}
	}
	// state reads the credits left in the log, the voids, and the rows of user sets beyond one per day.
	state := func() (log, voids, extraRows int64) {
		t.Helper()
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM credits WHERE gen > (SELECT gen FROM credits_watermark)),
			(SELECT count(*) FROM credit_voids), (SELECT count(*) - count(DISTINCT (ws, campaign_id, day)) FROM user_sets)`).Scan(&log, &voids, &extraRows); err != nil {
			t.Fatal(err)
		}
		return log, voids, extraRows
	}
	step := func(d time.Duration) {
		t.Helper()
		query()
		*clock = clock.Add(d)
		if _, err := s.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendBatch(3000)
	step(compactIdle) // no query within queriesQuiet: compacted, and what follows runs
	for range 3 {
		step(0)
	}
	// A second row of sets for the last day's campaigns, so that the burst's compaction would merge its three.
	appendBatch(10)
	if err := s.compactTail(ctx, false, false); err != nil {
		t.Fatal(err)
	}
	// The burst: 100 events (more than a 64th of 3010) on that day, and credits and a void.
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{credit("g1"), credit("g2")}}); err != nil {
		t.Fatal(err)
	}
	appendBatch(100)
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1"}}}); err != nil {
		t.Fatal(err)
	}
	if log, voids, extra := state(); log != 2 || voids != 1 || extra != 4 {
		t.Fatalf("before the burst's pause: %d credits in the log, %d voids, %d extra rows of sets; want 2, 1, 4", log, voids, extra)
	}
	// The first 3000 events settled; the 110 appended since have not.
	if n := s.Unsettled(); n != 110 {
		t.Errorf("before the burst's pause: %d events unsettled, want 110", n)
	}
	step(compactQuiet)
	if log, voids, extra := state(); log != 0 || voids != 1 || extra != 8 {
		t.Errorf("after the pause that ended a burst: %d credits in the log, %d voids, %d extra rows of sets; want 0, 1 and 8: the credits moved at once, the void and the rows left", log, voids, extra)
	}
	step(0)
	if _, _, extra := state(); extra != 0 {
		t.Errorf("after a burst, the day rows of user sets were not merged at once while node queries run (%d extra rows)", extra)
	}
	// Dropping the voids (a rewrite of the credit chunks) and the checkpoint, which make queries little cheaper,
	// wait for a pause in them.
	checkpointed := s.checkpointed
	step(0)
	if n := s.Unsettled(); n != 0 {
		t.Errorf("after the burst's merge: %d events unsettled, want 0", n)
	}
	// Maintenance reports itself running while it holds the compaction lock, and only then.
	if s.MaintenanceRunning() {
		t.Error("maintenance reported running between steps")
	}
	s.compactMu.Lock()
	running := s.MaintenanceRunning()
	s.compactMu.Unlock()
	if !running {
		t.Error("maintenance not reported running while a step holds the compaction lock")
	}
	if _, voids, _ := state(); voids != 1 || s.checkpointed != checkpointed {
		t.Errorf("after a burst, while node queries run: %d voids (want 1), checkpointed %v; want neither dropped nor checkpointed", voids, s.checkpointed != checkpointed)
	}
	*clock = clock.Add(queriesQuiet)
	for range 2 {
		if _, err := s.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, voids, _ := state(); voids != 0 || s.checkpointed != s.seq {
		t.Errorf("after a burst, once node queries paused: %d voids, checkpointed %v; want the voids dropped and a checkpoint", voids, s.checkpointed == s.seq)
	}
	if *paused != 0 {
		t.Errorf("settling after a burst paused %v for node queries", *paused)
	}
	// Another burst whose credits are under a 64th of the chunks: the move waits for a pause in the queries, as
	// at any pause.
	var many []store.Credit
	for i := range 200 {
		many = append(many, credit(fmt.Sprint("m", i)))
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: many}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.moveCredits(ctx, true, false, false); err != nil {
		t.Fatal(err)
	}
	appendBatch(100)
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{credit("g4")}}); err != nil {
		t.Fatal(err)
	}
	step(compactQuiet)
	step(0)
	if log, _, extra := state(); log != 1 || extra != 0 {
		t.Errorf("after a burst with one credit beside 201 in chunks: %d credits in the log, %d extra rows of sets; want the credit left, the rows merged", log, extra)
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{credit("g5")}}); err != nil {
		t.Fatal(err)
	}
	step(time.Second)
	if _, err := s.moveCredits(ctx, false, false, false); err != nil {
		t.Fatal(err)
	}
	// Appends resume with a short tail and pause: the credit move waits for a pause in the queries again.
	appendBatch(1)
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{credit("g3")}}); err != nil {
		t.Fatal(err)
	}
	step(0)
	*clock = clock.Add(compactIdle)
	step(time.Second)
	if log, _, _ := state(); log != 1 {
		t.Errorf("after a short tail's pause, %d credits in the log; want the move to wait for the queries", log)
	}
}

// TestStepsPauseForQueries checks that a step Maintain runs — here a compaction due by the tail's size, which runs
// whatever the queries — pauses between its statements while node queries run: until they have paused for
// queriesQuiet, and for stepYield at most in all however they run; an explicit Compact does not pause.
func TestStepsPauseForQueries(t *testing.T) {
	ctx := context.Background()
	s, clock, appendEvents, query := yieldingStore(t)
	s.compactChunk = 50 // several statements per step
	var paused time.Duration
	queryWhilePaused, appendWhilePaused := false, true
	s.sleep = func(_ context.Context, d time.Duration) {
		*clock = clock.Add(d)
		paused += d
		if queryWhilePaused {
			query()
		}
		if appendWhilePaused {
			appendEvents(1)
		}
	}
	// compacted reports whether the log's tail is in facts.
	compacted := func() bool {
		t.Helper()
		var watermark int64
		if err := s.db.QueryRowContext(ctx, `SELECT seq FROM facts_watermark WHERE id = 1`).Scan(&watermark); err != nil {
			t.Fatal(err)
		}
		return watermark == int64(s.seq)
	}
	maintain := func() {
		t.Helper()
		if _, err := s.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		if !compacted() {
			t.Fatal("a tail due by its size not compacted")
		}
	}
	appendEvents(1000)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// tail appends a tail due by its size, whatever the queries, while appends go on (a tail that is due because
	// appends have paused is compacted without pausing: TestSettlingWaitsForAPauseInQueries).
	s.minTail = 150
	tail := func() {
		appendEvents(200)
	}
	// No node query: no pause.
	tail()
	maintain()
	if paused != 0 {
		t.Errorf("the compaction paused %v without node queries", paused)
	}
	// One query half a second before: the step pauses until queriesQuiet after it.
	tail()
	query()
	*clock = clock.Add(500 * time.Millisecond)
	paused = 0
	maintain()
	if want := queriesQuiet - 500*time.Millisecond; paused != want {
		t.Errorf("the compaction paused %v after a node query %v before it, want %v", paused, 500*time.Millisecond, want)
	}
	// Queries all along: the step pauses stepYield in all, and finishes.
	tail()
	query()
	paused, queryWhilePaused = 0, true
	maintain()
	queryWhilePaused = false
	if paused != stepYield {
		t.Errorf("the compaction paused %v with node queries all along, want %v", paused, stepYield)
	}
	// Queries all along, but appends pause: the burst has ended compactQuiet after the last append, and the step
	// pauses no more.
	tail()
	query()
	paused, queryWhilePaused, appendWhilePaused = 0, true, false
	maintain()
	queryWhilePaused = false
	if paused != compactQuiet {
		t.Errorf("the compaction paused %v with node queries all along and appends paused, want %v", paused, compactQuiet)
	}
	// An explicit compaction does not pause.
	appendEvents(100)
	paused = 0
	query()
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if paused != 0 || !compacted() {
		t.Errorf("an explicit compaction with node queries running paused %v, compacted %t", paused, compacted())
	}
}

// yieldingStore opens a store on a fake clock for the tests of maintenance yielding to node queries, with a function
// appending n campaign events at the clock's time and one running a node query.
func yieldingStore(t *testing.T) (s *Store, clock *time.Time, appendEvents func(n int), query func()) {
	ctx := context.Background()
	s = open(t, filepath.Join(t.TempDir(), "db.duckdb"))
	t.Cleanup(func() { s.Close() })
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock = &now
	s.now = func() time.Time { return *clock }
	s.sleep = func(_ context.Context, d time.Duration) { *clock = clock.Add(d) } // a step's pauses pass on the clock
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	next := 0
	appendEvents = func(n int) {
		t.Helper()
		var evs []domain.Event
		for i := next; i < next+n; i++ {
			user := fmt.Sprint("uid:u", i%13)
			evs = append(evs, domain.Event{UUID: fmt.Sprint("e", i), TimeMS: base + int64(i)*60_000, Campaign: true, UserKey: user,
				User: domain.HashUser(user), CampaignID: fmt.Sprint("c", i%4), Channels: domain.ChannelSetOf(domain.ChannelPush),
				Counter: domain.CounterSent, Class: domain.ClassSend, Source: "streams"})
		}
		next += n
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: *clock, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	query = func() {
		t.Helper()
		if _, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "w", FromMS: base, ToMS: base + 86_400_000,
			Targets: []store.AggregateTarget{{ID: "c1", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	return s, clock, appendEvents, query
}

// pausesWithQueries makes s's pauses for node queries pass on clock, with a node query at each, and returns their
// total so far.
func pausesWithQueries(s *Store, clock *time.Time, query func()) *time.Duration {
	var paused time.Duration
	s.sleep = func(_ context.Context, d time.Duration) {
		*clock = clock.Add(d)
		paused += d
		query()
	}
	return &paused
}

// settleStore runs maintenance until it has nothing left to do.
func settleStore(t *testing.T, s *Store) {
	t.Helper()
	for {
		if did, err := s.Maintain(context.Background()); err != nil {
			t.Fatal(err)
		} else if !did {
			return
		}
	}
}

// waitsAtMostYieldWait runs a node query and then step (one second later) until step reports the work done, and
// checks that it was done once it had waited yieldWait since the first step, not before.
func waitsAtMostYieldWait(t *testing.T, done string, query func(), step func(time.Duration) bool) {
	t.Helper()
	for i := 0; ; i++ {
		query()
		finished := step(time.Second)
		waited := time.Duration(i) * time.Second
		if finished {
			if waited < yieldWait {
				t.Fatalf("%s after waiting %v for node queries, before %v", done, waited, yieldWait)
			}
			return
		}
		if waited >= yieldWait {
			t.Fatalf("not %s after waiting %v for node queries", done, waited)
		}
	}
}

// waitsForAPause runs a node query, then step after first, and checks that the work is not done then, nor one
// second after another query, and is done once queries have paused for queriesQuiet.
func waitsForAPause(t *testing.T, done string, query func(), step func(time.Duration) bool, first time.Duration) {
	t.Helper()
	query()
	if step(first) {
		t.Fatalf("%s while node queries run", done)
	}
	query()
	if step(time.Second) {
		t.Fatalf("%s one second after a node query", done)
	}
	if !step(queriesQuiet) {
		t.Fatalf("not %s once node queries paused", done)
	}
}
