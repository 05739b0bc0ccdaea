package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/google/go-cmp/cmp"
)

// TestUserSetsAnswerLikeFacts checks that UNIQUE node queries read the user sets exactly when they cover them (whole
// local days of the workspace's zone) and then answer as a store that never compacted does — whose answers the
// conformance suite checks against a count from the definitions — before and after more events arrive.
func TestUserSetsAnswerLikeFacts(t *testing.T) {
	// New York's days of 2025-03-07..13 include the 23-hour day of its switch to summer time.
	for _, zoneName := range []string{"Asia/Kolkata", "America/New_York"} {
		t.Run(zoneName, func(t *testing.T) { testUserSetsAnswerLikeFacts(t, zoneName) })
	}
}

func testUserSetsAnswerLikeFacts(t *testing.T, zoneName string) {
	ctx := context.Background()
	dir := t.TempDir()
	s, plain := open(t, filepath.Join(dir, "a.duckdb")), open(t, filepath.Join(dir, "b.duckdb"))
	defer s.Close()
	defer plain.Close()
	s.compactChunk = 300 // several statements per compaction
	loc, err := time.LoadLocation(zoneName)
	if err != nil {
		t.Fatal(err)
	}
	w := domain.Workspace{ID: "k", Name: "k", Timezone: zoneName, Status: domain.WorkspaceActive, RateLimitPerMinute: 100,
		CreatedAt: time.Now(), ReportKey: "rk", DataKey: "dk"}
	if err := s.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 7, 0, 0, 0, 0, loc)
	rng := rand.New(rand.NewPCG(3, 5))
	counters := []domain.Counter{domain.CounterNone, domain.CounterSent, domain.CounterSent, domain.CounterDelivered, domain.CounterImpression,
		domain.CounterClick, domain.CounterFailedSend, domain.CounterFailedDelivery, domain.CounterHeldOutGlobal}
	seq := 0
	appendBoth := func(n, users int) {
		t.Helper()
		var evs []domain.Event
		for range n {
			seq++
			user := fmt.Sprint("uid:u", rng.IntN(users))
			e := domain.Event{UUID: fmt.Sprint("e", seq), TimeMS: base.Add(time.Duration(rng.IntN(6*24*60)) * time.Minute).UnixMilli(),
				Campaign: true, UserKey: user, User: domain.HashUser(user), CampaignID: fmt.Sprint("c", rng.IntN(4)),
				Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: counters[rng.IntN(len(counters))], Class: domain.ClassSend,
				Platform: []string{"", "ios", "web"}[rng.IntN(3)], PlatformDefault: domain.DefaultAndroid,
				Locale: []string{"", "en", "fr"}[rng.IntN(3)], Variation: []string{"", "variation_1"}[rng.IntN(2)], Source: "streams"}
			if e.Counter == domain.CounterFailedSend || e.Counter == domain.CounterFailedDelivery {
				e.FailureKey = []string{"Timeout", "Bad token"}[rng.IntN(2)]
			}
			if rng.IntN(8) == 0 {
				e.Channels = domain.ChannelSetOf(domain.ChannelEmail)
			}
			evs = append(evs, e)
		}
		for _, st := range []*Store{s, plain} {
			if _, err := st.Append(ctx, []store.EventBatch{{WorkspaceID: "k", ReceivedAt: time.Now(), Events: evs}}); err != nil {
				t.Fatal(err)
			}
		}
		// The same users in another workspace of s, with half the events and users of its own, so that the same user
		// has other numbers there: its sets and user numbers must stay its own.
		other := slices.Clone(evs[:len(evs)/2])
		for i := range other {
			if i%2 == 0 {
				other[i].UserKey = fmt.Sprint("uid:other", i)
				other[i].User = domain.HashUser(other[i].UserKey)
			}
		}
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "other", ReceivedAt: time.Now(), Events: other}}); err != nil {
			t.Fatal(err)
		}
	}
	targets := []store.AggregateTarget{{ID: "c1", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}},
		{ID: "P", Units: []store.AggregateUnit{{ID: "c2", Channel: domain.ChannelPush}, {ID: "c3", Channel: domain.ChannelPush}}},
		// c1 again, under another channel (its email events count here), beside c2 of P.
		{ID: "Q", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelEmail}, {ID: "c2", Channel: domain.ChannelPush}}}}
	type query struct {
		name string
		q    store.AggregateQuery
		sets bool // in the zone the user sets were built in
	}
	queries := func(zone *time.Location) []query {
		day := func(n int) int64 {
			d := base.In(zone)
			return time.Date(d.Year(), d.Month(), d.Day()+n, 0, 0, 0, 0, zone).UnixMilli()
		}
		q := func(from, to int64, days *time.Location, metrics ...string) store.AggregateQuery {
			return store.AggregateQuery{WorkspaceID: "k", FromMS: from, ToMS: to, Unique: true, Targets: targets, Days: days, Metrics: metrics}
		}
		shaped := q(day(0), day(7), nil)
		shaped.Shapes = store.NodeShapes{OnlyAllPlatforms: true, OnlyAllLocales: true}
		return []query{
			{"whole days", q(day(1), day(4), nil), true},
			{"all days", q(day(-1), day(8), nil), true},
			{"by day", q(day(0), day(6), zone), true},
			{"some metrics", q(day(1), day(5), nil, domain.MetricSent, domain.MetricClick), true},
			{"shapes", shaped, true},
			{"by day in another zone", q(day(0), day(6), time.UTC), false},
			{"not at midnight", q(day(1)+3_600_000, day(4), nil), false},
			{"total", store.AggregateQuery{WorkspaceID: "k", FromMS: day(0), ToMS: day(6), Targets: targets, Days: zone}, false},
		}
	}
	check := func(stage string, zone *time.Location) {
		t.Helper()
		for _, c := range queries(zone) {
			var read string
			s.reader.onQuery = func(q string, _ []any) { read = q }
			got, err := s.Aggregate(ctx, c.q)
			s.reader.onQuery = nil
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.Aggregate(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rowMap(want), rowMap(got)); diff != "" {
				t.Errorf("%s, %s (-facts +sets):\n%s", stage, c.name, diff)
			}
			if len(want) == 0 {
				t.Errorf("%s, %s: no rows", stage, c.name)
			}
			if used := strings.Contains(read, "FROM user_sets"); used != c.sets {
				t.Errorf("%s, %s: user sets read %t, want %t", stage, c.name, used, c.sets)
			}
			// The tail's users are numbered from memory once the numbers are loaded, else by a join.
			if joined := strings.Contains(read, "JOIN user_ids"); c.sets && joined == s.numbers.loaded() {
				t.Errorf("%s, %s: user_ids joined %t with the numbers in memory %t", stage, c.name, joined, s.numbers.loaded())
			}
			// With the numbers and the tail index loaded, the tail is read from the index, not the log.
			indexed := s.numbers.loaded() && s.tail.active()
			if fromIndex := strings.Contains(read, "AND false"); c.sets && fromIndex != indexed {
				t.Errorf("%s, %s: tail read from the index %t with the index and numbers loaded %t", stage, c.name, fromIndex, indexed)
			}
		}
	}
	// userIDs reads the user numbers, checking that each workspace's are 1..n.
	userIDs := func() map[string]uint32 {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, `SELECT ws, user_hi, user_lo, uid FROM user_ids ORDER BY ws, uid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		ids, last := map[string]uint32{}, map[string]uint32{}
		for rows.Next() {
			var ws string
			var hi, lo uint64
			var uid uint32
			if err := rows.Scan(&ws, &hi, &lo, &uid); err != nil {
				t.Fatal(err)
			}
			if uid != last[ws]+1 {
				t.Fatalf("workspace %s: user number %d after %d", ws, uid, last[ws])
			}
			last[ws] = uid
			ids[fmt.Sprint(ws, "/", hi, "/", lo)] = uid
		}
		return ids
	}
	// Which source each compaction built its tail's sets from: the log, or the tail index once it and the user
	// numbers are in memory.
	var built []bool
	s.onTailSets = func(indexed bool) { built = append(built, indexed) }
	appendBoth(800, 60)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted", loc)
	before := userIDs()
	appendBoth(300, 90) // a tail beside the user sets, with users new since the compaction
	check("with a tail", loc)
	if err := s.numbers.load(ctx, s.db); err != nil { // as maintenance does
		t.Fatal(err)
	}
	check("with a tail, user numbers in memory", loc)
	if err := s.loadTail(ctx); err != nil { // as maintenance does
		t.Fatal(err)
	}
	check("with a tail, from the tail index", loc)
	appendBoth(40, 100) // appended to the loaded index, with users new since the compaction
	check("with a longer tail, from the tail index", loc)

	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted again", loc)
	if want := []bool{false, true}; !slices.Equal(built, want) {
		t.Errorf("tail sets built from the index %v, want %v (the user numbers were loaded between the two)", built, want)
	}
	// The second compaction appended the tail to facts as a chunk (facts is rewritten once the chunks reach half of
	// what the last rewrite left) and added it to the sets: the users numbered by the first keep their numbers, the
	// new ones are numbered after them.
	var factsRows, sortedRows int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM facts), sorted_rows FROM facts_watermark`).Scan(&factsRows, &sortedRows); err != nil {
		t.Fatal(err)
	}
	if sortedRows >= factsRows || sortedRows == 0 {
		t.Errorf("after the second compaction facts has %d rows, %d of them sorted by the last rewrite: want a chunk appended", factsRows, sortedRows)
	}
	after := userIDs()
	for k, id := range before {
		if after[k] != id {
			t.Errorf("user %s: number %d after the second compaction, %d before", k, after[k], id)
		}
	}
	if len(after) <= len(before) {
		t.Errorf("%d users numbered after the second compaction, %d before: the tail's new users are missing", len(after), len(before))
	}
	appendBoth(200, 120)
	check("a tail after two compactions, from the tail index", loc)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted a third time", loc)
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM facts), sorted_rows FROM facts_watermark`).Scan(&factsRows, &sortedRows); err != nil {
		t.Fatal(err)
	}
	if sortedRows != factsRows {
		t.Errorf("after the third compaction facts has %d rows, %d of them sorted by the last rewrite: want a rewrite", factsRows, sortedRows)
	}

	// Each compaction adds its tail's sets as rows of their own and merges the days that reach setRowsMerge rows; a
	// quiet Maintain merges every day. More small tails, each compacted, keep answering exactly.
	setRows := func() (rows, days, most int64) {
		t.Helper()
		if err := s.db.QueryRowContext(ctx, `SELECT sum(n), count(*), max(n) FROM (SELECT count(*) AS n FROM user_sets GROUP BY ws, campaign_id, day)`).Scan(&rows, &days, &most); err != nil {
			t.Fatal(err)
		}
		return rows, days, most
	}
	if rows, days, most := setRows(); rows <= days || most >= setRowsMerge {
		t.Errorf("after three compactions %d rows of user sets for %d days, at most %d a day: want days of more than one row, fewer than %d",
			rows, days, most, setRowsMerge)
	}
	for round := range 3 {
		appendBoth(12, 120)
		if err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprint("a small tail compacted, round ", round+1), loc)
		if _, _, most := setRows(); most >= setRowsMerge {
			t.Errorf("after small tail %d, %d rows of user sets in a day: want fewer than %d", round+1, most, setRowsMerge)
		}
	}
	s.now = func() time.Time { return time.Now().Add(time.Minute) }
	if done, err := s.Maintain(ctx); err != nil || !done {
		t.Fatalf("maintain with unmerged user sets: merged %t, %v", done, err)
	}
	check("merged", loc)
	if rows, days, _ := setRows(); rows != days {
		t.Errorf("after a quiet maintenance %d rows of user sets for %d days, want one each", rows, days)
	}

	// A store written before the user sets existed: facts, no sets. Maintain builds them once appends are quiet.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM user_set_zones; DELETE FROM user_sets; DELETE FROM user_ids`); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) } // appends and node queries paused
	if done, err := s.Maintain(ctx); err != nil || !done {
		t.Fatalf("maintain without user sets: compacted %t, %v", done, err)
	}
	check("user sets built by maintenance", loc)
	appendBoth(200, 200) // a tail whose users' numbers are found in the rebuilt facts
	check("with a tail after the rebuild", loc)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// Node queries paused (the check's ran on the earlier clock): Maintain merges the days the tail added a row to.
	// On the same clock it would wait for them, and whether the last Maintain below found the merge still to do
	// would depend on how long the check took.
	s.now = func() time.Time { return time.Now().Add(3 * time.Minute) }
	if done, err := s.Maintain(ctx); err != nil || !done {
		t.Fatalf("maintain with the tail's set rows unmerged: merged %t, %v", done, err)
	}
	s.reader.wideFrom = 1 // finest nodes packed into a HUGEINT, as when there are 2^20 locales or more
	check("codes packed wide", loc)
	s.reader.wideFrom = 0
	if done, err := s.Maintain(ctx); err != nil || done {
		t.Fatalf("maintain with nothing to do: compacted %t, %v", done, err)
	}
}

// rowMap keys rows by node and metric.
func rowMap(rows []store.AggregateRow) map[string]int64 {
	out := map[string]int64{}
	for _, r := range rows {
		if r.Value != 0 {
			out[fmt.Sprintf("%+v/%s", r.NodeRef, r.Metric)] += r.Value
		}
	}
	return out
}

// TestMovedCreditsKeepAnswers checks that maintenance moves the credits log into chunks sorted by (workspace, unit,
// time), rewriting them whole once the chunks grow (or once appends have paused, dropping void credits), without
// changing a conversion answer: at every stage a store that never moves its credits answers the same.
func TestMovedCreditsKeepAnswers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, plain := open(t, filepath.Join(dir, "a.duckdb")), open(t, filepath.Join(dir, "b.duckdb"))
	defer func() { s.Close() }()
	defer plain.Close()
	s.compactChunk = 40 // several sorting statements
	rng := rand.New(rand.NewPCG(5, 8))
	units := []string{"c3", "c1", "c2", "c0"}
	base := time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC).UnixMilli()
	apply := func(u store.CreditUpdate) {
		t.Helper()
		for _, st := range []*Store{s, plain} {
			if err := st.ApplyCredits(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	update := func(step, n int) store.CreditUpdate {
		var u store.CreditUpdate
		for i := range n {
			user := fmt.Sprint("u", rng.IntN(20))
			u.Credits = append(u.Credits, store.Credit{WorkspaceID: "w", User: domain.HashUser(user), Credit: attribution.Credit{
				GoalUUID: fmt.Sprintf("g%d-%d", step, i), TimeMS: base + int64(rng.IntN(3*86400))*1000, Unit: units[rng.IntN(len(units))],
				Goal: "purchase", Type: attribution.ViewThrough, Platform: []string{"ios", "android"}[rng.IntN(2)], RevenueMicros: 1_000_000}})
		}
		return u
	}
	for step := range 6 {
		apply(update(step, 30))
	}
	targets := []store.AggregateTarget{{ID: "c1", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}},
		{ID: "P", Units: []store.AggregateUnit{{ID: "c2", Channel: domain.ChannelPush}, {ID: "c0", Channel: domain.ChannelPush}}}}
	q := store.ConversionQuery{WorkspaceID: "w", FromMS: base, ToMS: base + 3*86_400_000, Type: attribution.ViewThrough, Targets: targets}
	same := func(stage string) {
		t.Helper()
		want, err := plain.Conversions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Conversions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("%s: no conversions", stage)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: conversions (-never moved +moved):\n%s", stage, diff)
		}
		active, err := s.ActiveCampaigns(ctx, "w", q.FromMS, q.ToMS, q.Type)
		if err != nil {
			t.Fatal(err)
		}
		wantActive, err := plain.ActiveCampaigns(ctx, "w", q.FromMS, q.ToMS, q.Type)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(active)
		slices.Sort(wantActive)
		if !slices.Equal(active, wantActive) {
			t.Errorf("%s: active campaigns %v, want %v", stage, active, wantActive)
		}
	}
	// sortedChunks reads credits_sorted in its physical order, split where the order breaks, and counts the rows
	// of the log and the voids.
	sortedChunks := func() (chunks [][]string, log, voids int) {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, `SELECT unit, ts FROM credits_sorted ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var unit string
			var ts int64
			if err := rows.Scan(&unit, &ts); err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprintf("%s/%015d", unit, ts)
			if n := len(chunks); n == 0 || k < chunks[n-1][len(chunks[n-1])-1] {
				chunks = append(chunks, nil)
			}
			chunks[len(chunks)-1] = append(chunks[len(chunks)-1], k)
		}
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM credits), (SELECT count(*) FROM credit_voids)`).Scan(&log, &voids); err != nil {
			t.Fatal(err)
		}
		return chunks, log, voids
	}
	same("in the log")
	// An event just appended: appends have not paused (a stopped clock, however long the appends and Maintain's
	// loading take), and the log is short of a move.
	stopped := time.Now()
	s.now = func() time.Time { return stopped }
	for _, st := range []*Store{s, plain} {
		if _, err := st.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{{UUID: "e", TimeMS: base,
			Campaign: true, UserKey: "u", User: domain.HashUser("u"), CampaignID: "c1", Channels: domain.ChannelSetOf(domain.ChannelPush),
			Counter: domain.CounterSent, Source: "streams"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := s.Maintain(ctx); err != nil || done {
		t.Fatalf("maintain while appends go on, 180 credits in the log: %t %v", done, err)
	}
	// The first move rewrites (nothing is sorted yet); a credit written meanwhile stays in the log and counts.
	s.onCreditsSorted = func() {
		extra := store.Credit{WorkspaceID: "w", User: domain.HashUser("u1"), Credit: attribution.Credit{GoalUUID: "late", TimeMS: base,
			Unit: "c1", Goal: "purchase", Type: attribution.ViewThrough, Platform: "ios"}}
		if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{extra}}); err != nil {
			t.Error(err)
		}
		if err := plain.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{extra}}); err != nil {
			t.Error(err)
		}
	}
	if done, err := s.moveCredits(ctx, false, false, false); err != nil || !done {
		t.Fatalf("first move: %t %v", done, err)
	}
	s.onCreditsSorted = nil
	if chunks, log, _ := sortedChunks(); len(chunks) != 1 || len(chunks[0]) != 180 || log != 1 {
		t.Fatalf("after the first move: %d sorted chunks (%v), %d credits in the log; want one of 180, and the late one", len(chunks), chunks, log)
	}
	same("moved")
	// A replacement and new credits: the next move appends a chunk, without the void credit.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "late"}, {WorkspaceID: "w", UUID: "g0-0"}}})
	apply(update(6, 20))
	same("a tail beside a chunk")
	if done, err := s.moveCredits(ctx, false, false, false); err != nil || !done {
		t.Fatalf("second move: %t %v", done, err)
	}
	chunks, _, voids := sortedChunks()
	if len(chunks) != 2 || len(chunks[0]) != 180 || len(chunks[1]) != 20 || voids != 2 {
		t.Fatalf("after the second move: %d sorted chunks, %d voids; want 180 and 20 credits, and both voids kept", len(chunks), voids)
	}
	same("two chunks")
	if done, err := s.moveCredits(ctx, false, false, false); err != nil || done {
		t.Fatalf("a move with nothing to move: %t %v", done, err)
	}
	// Once appends have paused, maintenance rewrites the chunks as one, dropping void credits and the voids: a
	// whole goal event's, and one unit's credits of a goal event credited to two units (the other unit's stays).
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1-0"}}})
	var two []store.Credit
	for _, unit := range []string{"c1", "c2"} {
		two = append(two, store.Credit{WorkspaceID: "w", User: domain.HashUser("u1"), Credit: attribution.Credit{GoalUUID: "two", TimeMS: base,
			Unit: unit, Goal: "purchase", Type: attribution.ViewThrough, Platform: "ios"}})
	}
	apply(store.CreditUpdate{Credits: two})
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "two", Unit: "c1"}}})
	same("a unit's credits voided")
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if done, err := s.Maintain(ctx); err != nil || !done {
		t.Fatalf("maintain once appends have paused: %t %v", done, err)
	}
	chunks, log, voids := sortedChunks()
	if len(chunks) != 1 || len(chunks[0]) != 199 || log != 0 || voids != 0 {
		t.Fatalf("after the rewrite: %d sorted chunks (first of %d), %d in the log, %d voids; want one of 199, none, none", len(chunks), len(chunks[0]), log, voids)
	}
	same("rewritten")
	if done, err := s.Maintain(ctx); err != nil || done {
		t.Fatalf("maintain with nothing to do: %t %v", done, err)
	}
	// A rebuilt workspace loses its credits, moved or not.
	apply(update(7, 5))
	apply(store.CreditUpdate{Rebuild: []string{"w"}, Credits: update(8, 3).Credits})
	same("rebuilt")
	// A reopened store carries on with later generations: a replacement still voids the moved credits.
	s.Close()
	s = open(t, filepath.Join(dir, "a.duckdb"))
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g8-0"}}})
	same("reopened")
}

// TestCompactionDropsItsTemporaryTables checks that a compaction leaves no temporary table behind in the
// connection it used, which the pool keeps (the tail grouped per user would stay in memory until the next one).
func TestCompactionDropsItsTemporaryTables(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "a.duckdb"))
	defer s.Close()
	for round := range 2 { // the first builds the sets, the second merges into them
		e := domain.Event{UUID: fmt.Sprint("e", round), TimeMS: 1_700_000_000_000, Campaign: true, UserKey: "u", User: domain.HashUser("u"),
			CampaignID: "c1", Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Source: "streams"}
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: []domain.Event{e}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		// Every pooled connection, the compaction's among them: all are handed out before a new one is opened.
		var conns []*sql.Conn
		for range 20 {
			c, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var temps int
			if err := c.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE temporary`).Scan(&temps); err != nil {
				t.Fatal(err)
			}
			if temps != 0 {
				t.Errorf("compaction %d left %d temporary tables", round+1, temps)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
}

// TestCreditRewriteYieldsToQueries checks that a due rewrite of the credit chunks waits while node queries run (the
// move appends a chunk instead), for yieldWait at most.
func TestCreditRewriteYieldsToQueries(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "a.duckdb"))
	defer s.Close()
	clock := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	next := 0
	credit := func(n int) {
		t.Helper()
		var u store.CreditUpdate
		for range n {
			next++
			u.Credits = append(u.Credits, store.Credit{WorkspaceID: "w", User: domain.HashUser(fmt.Sprint("u", next%7)), Credit: attribution.Credit{
				GoalUUID: fmt.Sprint("g", next), TimeMS: clock.UnixMilli(), Unit: fmt.Sprint("c", next%3), Goal: "purchase",
				Type: attribution.ViewThrough, Platform: "ios"}})
		}
		if err := s.ApplyCredits(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// move moves the log's tail with node queries busy or not, and reports whether the chunks were rewritten as one.
	move := func(busy bool) bool {
		t.Helper()
		if done, err := s.moveCredits(ctx, false, busy, false); err != nil || !done {
			t.Fatalf("move: %t %v", done, err)
		}
		var rows, sorted int64
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM credits_sorted), sorted_rows FROM credits_watermark`).Scan(&rows, &sorted); err != nil {
			t.Fatal(err)
		}
		return rows == sorted
	}
	credit(100)
	if !move(false) {
		t.Fatal("the first move did not write the chunks as one")
	}
	credit(60) // more than half of what the rewrite left: a rewrite is due
	if move(true) {
		t.Fatal("credit chunks rewritten while node queries run")
	}
	clock = clock.Add(yieldWait - time.Second)
	credit(10)
	if move(true) {
		t.Fatalf("credit chunks rewritten after waiting %v for node queries", yieldWait-time.Second)
	}
	clock = clock.Add(time.Second)
	credit(10)
	if !move(true) {
		t.Fatalf("credit chunks not rewritten after waiting %v for node queries", yieldWait)
	}
	credit(100)
	if !move(false) {
		t.Fatal("a due rewrite of the credit chunks did not run with node queries paused")
	}
}

// TestTailIndexBesideCompactions checks the tail index's hand-over with compactions while appends and queries run:
// a UNIQUE query counts every user whose append was acknowledged before it started, and no user not yet appended,
// whatever the compactions do meanwhile (an index dropping entries before a query's snapshot sees them in facts
// would count fewer).
func TestTailIndexBesideCompactions(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer s.Close()
	if err := s.CreateWorkspace(ctx, domain.Workspace{ID: "k", Name: "k", Timezone: "UTC", Status: domain.WorkspaceActive,
		RateLimitPerMinute: 100, CreatedAt: time.Now(), ReportKey: "rk", DataKey: "dk"}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC).UnixMilli()
	const perBatch, batches = 40, 60
	var started atomic.Int64 // users of appends begun
	appendUsers := func(from int) {
		var evs []domain.Event
		for i := range perBatch {
			user := fmt.Sprint("uid:u", from+i)
			evs = append(evs, domain.Event{UUID: fmt.Sprint("e", from+i), TimeMS: day + int64(i)*60_000, Campaign: true, UserKey: user,
				User: domain.HashUser(user), CampaignID: "c1", Channels: domain.ChannelSetOf(domain.ChannelPush),
				Counter: domain.CounterSent, Class: domain.ClassSend, Source: "streams"})
		}
		started.Store(int64(from + perBatch))
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "k", ReceivedAt: time.Now(), Events: evs}}); err != nil {
			t.Error(err)
		}
	}
	sent := func() int64 {
		rows, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "k", FromMS: day, ToMS: day + 86_400_000, Unique: true,
			Metrics: []string{domain.MetricSent}, Targets: []store.AggregateTarget{{ID: "c1", Units: []store.AggregateUnit{{ID: "c1", Channel: domain.ChannelPush}}}}})
		if err != nil {
			t.Error(err)
			return -1
		}
		for _, r := range rows {
			if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Metric == domain.MetricSent {
				return r.Value
			}
		}
		return 0
	}
	appendUsers(0)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Maintain(ctx); err != nil { // loads the user numbers and the tail index
		t.Fatal(err)
	}
	if !s.tail.active() || !s.numbers.loaded() {
		t.Fatal("maintenance did not load the tail index and the user numbers")
	}
	var acked atomic.Int64 // users of acknowledged appends
	acked.Store(perBatch)
	done := make(chan struct{})
	// The appends wait for a query after each of them, so that queries run beside them however fast each one is.
	var queried atomic.Int64
	quit := make(chan struct{}) // the test has ended (a failed query): the appends stop waiting
	defer close(quit)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // appends
		defer wg.Done()
		defer close(done)
		for b := 1; b < batches; b++ {
			appendUsers(b * perBatch)
			acked.Store(int64((b + 1) * perBatch))
			for at := queried.Load(); queried.Load() < at+1; {
				select {
				case <-quit:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
	}()
	go func() { // compactions
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := s.compactTail(ctx, false, true); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	queries := 0
	for stop := false; !stop; queries++ {
		select {
		case <-done:
			stop = true
		default:
		}
		low := acked.Load()
		got := sent()
		if high := started.Load(); got < low || got > high {
			t.Fatalf("query %d: %d users sent to, want between %d (acknowledged before it) and %d (appended)", queries, got, low, high)
		}
		queried.Add(1)
	}
	wg.Wait()
	if got := sent(); got != batches*perBatch {
		t.Errorf("after the appends: %d users sent to, want %d", got, batches*perBatch)
	}
	if queries < 10 {
		t.Errorf("only %d queries beside the appends and compactions", queries)
	}
}
