package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sync/errgroup"
)

// User sets: what UNIQUE node queries over whole local days read instead of events.
//
// Compaction numbers the users of each workspace densely (user_ids) and stores, per (workspace, campaign, local
// day), one row whose sets column holds, for every (cell, channel set) of the day, the Roaring bitmap of the user
// numbers of each counter and of each failure key. A query unions the bitmaps of its days per finest node
// (platform, locale, variation under each unit's channel) and counter, then per node of every shape, and counts:
// the cost is the size of the asked campaigns' sets, not of their events, and no aggregation keyed by user runs.
// Events of the log's tail not yet compacted are read per user, mapped to their numbers (a user new since the
// compaction gets a number above every stored one) and added to the same bitmaps.

// setKind of a user set: the number of a counter, or failureSet for the users of one failure key.
const failureSet = 0

// setKey addresses one user set of a (campaign, day).
type setKey struct {
	cell     int32
	channels uint16
	kind     uint8  // a domain.Counter, or failureSet
	fk       string // the failure key of a failureSet
}

// encodeSets writes the sets of one (campaign, day): per set its key (cell, channels and kind as uvarints, the
// failure key with its length) and its portable Roaring serialization with its length, in key order. Sets in raw
// are written as they are (serializations read from storage and left unchanged); a key is in sets or raw, not both.
func encodeSets(sets map[setKey]*roaring.Bitmap, raw map[setKey][]byte) ([]byte, error) {
	keys := make([]setKey, 0, len(sets)+len(raw))
	for k := range sets {
		keys = append(keys, k)
	}
	for k := range raw {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b setKey) int {
		if a.cell != b.cell {
			return int(a.cell - b.cell)
		}
		if a.channels != b.channels {
			return int(a.channels) - int(b.channels)
		}
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return strings.Compare(a.fk, b.fk)
	})
	var out []byte
	for _, k := range keys {
		b, ok := raw[k]
		if !ok {
			bm := sets[k]
			bm.RunOptimize()
			var err error
			if b, err = bm.ToBytes(); err != nil {
				return nil, fmt.Errorf("user set: %w", err)
			}
		}
		out = binary.AppendUvarint(out, uint64(k.cell))
		out = binary.AppendUvarint(out, uint64(k.channels))
		out = append(out, k.kind)
		out = binary.AppendUvarint(out, uint64(len(k.fk)))
		out = append(out, k.fk...)
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out, nil
}

// decodeSets calls fn with every set of an encoded (campaign, day); raw is its serialization (a slice of data,
// which must not change while bitmaps read from it are in use).
func decodeSets(data []byte, fn func(k setKey, raw []byte) error) error {
	errCorrupt := errors.New("user sets: corrupt encoding")
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return 0, errCorrupt
		}
		data = data[n:]
		return v, nil
	}
	for len(data) > 0 {
		cell, err := uvarint()
		if err != nil {
			return err
		}
		channels, err := uvarint()
		if err != nil || len(data) < 1 {
			return errCorrupt
		}
		kind := data[0]
		data = data[1:]
		n, err := uvarint()
		if err != nil || uint64(len(data)) < n {
			return errCorrupt
		}
		fk := string(data[:n])
		data = data[n:]
		if n, err = uvarint(); err != nil || uint64(len(data)) < n {
			return errCorrupt
		}
		if err := fn(setKey{cell: int32(cell), channels: uint16(channels), kind: kind, fk: fk}, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// buildUserSets fills user_sets_next and user_set_zones_next, with local days in each workspace's time zone. From a
// store that has user sets (incremental), user_sets_next gets the sets of the log's tail only (tail, "FROM events
// WHERE …" of the compacted events), one row per (campaign, day) of the tail, which the swap appends to user_sets
// beside the rows already there (see setRowsMerge); the tail's users not yet numbered are numbered in user_ids now,
// after their workspace's last number, and the numbers of the others do not change. So a compaction's cost for the
// sets is the tail's, not the store's. Otherwise (a store whose facts predate the user sets) it numbers the users
// of facts_next in user_ids_next and builds every set from it.
//
// An incremental build reads the tail's events from the tail index (tailindex.go) when it and the user numbers are
// in memory (indexedTailSets) rather than from the log: the tail is then not read back from the database at all.
func (s *Store) buildUserSets(ctx context.Context, conn *sql.Conn, ranges []campaignRange, tail string, after, through int64, incremental bool,
	step *maintenanceStep) error {
	if incremental && s.numbers.loaded() {
		if entries, failures, ok := s.tail.span(after, through); ok {
			if s.onTailSets != nil {
				s.onTailSets(true)
			}
			return s.indexedTailSets(ctx, conn, ranges, entries, failures, step)
		}
	}
	if incremental && s.onTailSets != nil {
		s.onTailSets(false)
	}
	source, idsTable := `FROM facts_next WHERE true`, "user_ids_next"
	ids := `CREATE OR REPLACE TABLE user_ids_next AS SELECT ws, user_hi, user_lo, (row_number() OVER (PARTITION BY ws ORDER BY user_hi, user_lo))::UINTEGER AS uid
		FROM (SELECT DISTINCT ws, user_hi, user_lo FROM facts_next WHERE counter <> 0) ORDER BY ws, user_hi, user_lo`
	zones := `CREATE OR REPLACE TABLE user_set_zones_next AS SELECT * FROM user_set_zones LIMIT 0`
	if incremental {
		source, idsTable = tail, "user_ids"
		// A number given to a user whose sets a failed compaction did not store stays unused: numbers are unique,
		// not dense, and readers map a tail user to the number it has or, when it has none yet, to one of their own.
		ids = `CREATE OR REPLACE TEMPORARY TABLE new_user_ids AS SELECT n.ws, n.user_hi, n.user_lo,
				(coalesce(m.top, 0) + row_number() OVER (PARTITION BY n.ws ORDER BY n.user_hi, n.user_lo))::UINTEGER AS uid
			FROM (SELECT DISTINCT ws, user_hi, user_lo ` + tail + ` AND counter <> 0) n
			LEFT JOIN (SELECT ws, max(uid) AS top FROM user_ids GROUP BY ws) m ON m.ws = n.ws
			WHERE NOT EXISTS (SELECT 1 FROM user_ids u WHERE u.ws = n.ws AND u.user_hi = n.user_hi AND u.user_lo = n.user_lo);
			INSERT INTO user_ids SELECT * FROM new_user_ids`
		zones = `CREATE OR REPLACE TABLE user_set_zones_next AS SELECT * FROM user_set_zones`
	}
	// The temporary tables would outlive the compaction in the pooled connection.
	defer func() {
		for _, t := range []string{"grouped_users", "new_user_ids"} {
			conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.main.`+t)
		}
	}()
	// The tail's sets are a temporary table: they are written to the database once, by the swap that appends them
	// to user_sets, not once more into a table the swap then drops. Sets that replace user_sets whole are renamed.
	sets, create := setsNext{}, `CREATE OR REPLACE TABLE user_sets_next AS SELECT * FROM user_sets LIMIT 0`
	if incremental {
		sets, create = tailSets, `CREATE OR REPLACE TEMPORARY TABLE user_sets_next AS SELECT * FROM user_sets LIMIT 0`
	}
	for _, q := range []string{zones, create, ids} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if incremental {
		// The new numbers are in memory before the swap adds sets that use them (userNumbers).
		rows, err := conn.QueryContext(ctx, `SELECT ws, user_hi, user_lo, uid FROM new_user_ids ORDER BY ws, user_hi, user_lo`)
		if err != nil {
			return err
		}
		err = s.numbers.add(rows)
		rows.Close()
		if err != nil {
			return err
		}
	}
	step.mark("number")
	known := map[string]bool{}
	if incremental {
		var err error
		if known, err = workspacesWithSets(ctx, conn); err != nil {
			return err
		}
	}
	zoneOf := map[string]*time.Location{}
	for _, r := range ranges {
		step.pause(ctx)
		loc, ok := zoneOf[r.ws]
		if !ok {
			// A workspace's time zone does not change (SPEC §2.1); one unknown here gets UTC days.
			loc = time.UTC
			if w, err := s.Workspace(ctx, r.ws); err == nil {
				loc = w.Location()
			}
			zoneOf[r.ws] = loc
			// A workspace new since the last compaction has all its events in the tail: its sets are the tail's.
			if !known[r.ws] {
				if _, err := conn.ExecContext(ctx, `INSERT INTO user_set_zones_next VALUES (?, ?)`, r.ws, loc.String()); err != nil {
					return err
				}
			}
			if err := groupUsers(ctx, conn, r.ws, loc, source, idsTable, incremental); err != nil {
				return err
			}
			step.mark("group")
		}
		// A short tail was grouped and numbered once for the workspace (groupUsers); facts are, range by range.
		query := `SELECT * FROM grouped_users WHERE campaign_id >= ? AND campaign_id <= ? ORDER BY campaign_id, day`
		args := []any{r.from, r.to}
		if !incremental {
			query = groupedUsers(source+` AND ws = ? AND campaign_id >= ? AND campaign_id <= ?`, idsTable) + ` ORDER BY f.campaign_id, f.day`
			args = []any{r.ws, r.from, r.to, r.ws}
		}
		days, err := sourceSets(ctx, conn, query, args)
		if err != nil {
			return err
		}
		if err := appendSets(conn, sets, r.ws, days); err != nil {
			return err
		}
	}
	step.mark("sets")
	return nil
}

// indexedTailSets is buildUserSets for a tail read from the tail index (entries, with the failure keys their fk
// refers to): it numbers the tail's new users after their workspace's last number, in user_ids and in memory, and
// builds the tail's sets campaign by campaign into user_sets_next, as the statements of the log's path do. The
// workspaces of ranges (every workspace with campaign events in the tail) new since the last compaction get their
// time zone in user_set_zones_next.
func (s *Store) indexedTailSets(ctx context.Context, conn *sql.Conn, ranges []campaignRange, entries map[string]map[string][]tailEntry,
	failures []string, step *maintenanceStep) error {
	for _, q := range []string{`CREATE OR REPLACE TABLE user_set_zones_next AS SELECT * FROM user_set_zones`,
		`CREATE OR REPLACE TEMPORARY TABLE user_sets_next AS SELECT * FROM user_sets LIMIT 0`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	var workspaces []string
	for _, r := range ranges {
		if len(workspaces) == 0 || workspaces[len(workspaces)-1] != r.ws {
			workspaces = append(workspaces, r.ws)
		}
	}
	// New users first: the swap adds sets that use their numbers, which must be in user_ids and in memory by then.
	numbered := map[string][]numberedUser{}
	uids := map[string]map[domain.UserID]uint32{} // the tail's new users (bounded by the tail)
	for _, ws := range workspaces {
		table, _ := s.numbers.table(ws)
		fresh := map[domain.UserID]uint32{}
		for _, list := range entries[ws] {
			for i := range list {
				e := &list[i]
				if _, ok := table.find(e.hi, e.lo); !ok {
					fresh[domain.UserID{Hi: e.hi, Lo: e.lo}] = 0
				}
			}
		}
		if len(fresh) == 0 {
			continue
		}
		var top sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT max(uid) FROM user_ids WHERE ws = ?`, ws).Scan(&top); err != nil {
			return err
		}
		users := make([]numberedUser, 0, len(fresh))
		for u := range fresh {
			users = append(users, numberedUser{hi: u.Hi, lo: u.Lo})
		}
		slices.SortFunc(users, func(a, b numberedUser) int { return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)) })
		for i := range users {
			users[i].uid = uint32(top.Int64) + uint32(i) + 1
			fresh[domain.UserID{Hi: users[i].hi, Lo: users[i].lo}] = users[i].uid
		}
		numbered[ws], uids[ws] = users, fresh
	}
	if len(numbered) > 0 {
		// A number given to a user whose sets a failed compaction did not store stays unused, as on the log's path.
		if err := conn.Raw(func(dc any) error {
			app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "user_ids")
			if err != nil {
				return err
			}
			for ws, users := range numbered {
				for _, u := range users {
					if err := app.AppendRow(ws, u.hi, u.lo, u.uid); err != nil {
						app.Close()
						return err
					}
				}
			}
			return app.Close()
		}); err != nil {
			return err
		}
		s.numbers.addUsers(numbered)
	}
	step.mark("number")
	known, err := workspacesWithSets(ctx, conn)
	if err != nil {
		return err
	}
	for _, ws := range workspaces {
		// A workspace's time zone does not change (SPEC §2.1); one unknown here gets UTC days.
		loc := time.UTC
		if w, err := s.Workspace(ctx, ws); err == nil {
			loc = w.Location()
		}
		if !known[ws] {
			if _, err := conn.ExecContext(ctx, `INSERT INTO user_set_zones_next VALUES (?, ?)`, ws, loc.String()); err != nil {
				return err
			}
		}
		campaigns := slices.Sorted(maps.Keys(entries[ws]))
		if len(campaigns) == 0 { // campaign events in the tail, none of them counted
			continue
		}
		minTS, maxTS := int64(math.MaxInt64), int64(math.MinInt64)
		for _, c := range campaigns {
			for _, e := range entries[ws][c] {
				minTS, maxTS = min(minTS, e.ts), max(maxTS, e.ts)
			}
		}
		dayOf := dayFunc(loc, minTS, maxTS+1)
		table, _ := s.numbers.table(ws)
		var days []daySets
		size := 0
		for _, c := range campaigns {
			byDay := map[int32]map[setKey]*roaring.Bitmap{}
			for _, e := range entries[ws][c] {
				id, ok := table.find(e.hi, e.lo)
				if !ok {
					if id, ok = uids[ws][domain.UserID{Hi: e.hi, Lo: e.lo}]; !ok {
						return fmt.Errorf("tail user %016x%016x has no number", e.hi, e.lo)
					}
				}
				d := dayOf(e.ts)
				sets := byDay[d]
				if sets == nil {
					sets = map[setKey]*roaring.Bitmap{}
					byDay[d] = sets
				}
				addUser(sets, setKey{cell: e.cell, channels: e.channels, kind: e.counter}, id)
				if e.fk != 0 {
					addUser(sets, setKey{cell: e.cell, channels: e.channels, kind: failureSet, fk: failures[e.fk]}, id)
				}
			}
			for _, d := range slices.Sorted(maps.Keys(byDay)) {
				data, err := encodeSets(byDay[d], nil)
				if err != nil {
					return err
				}
				days, size = append(days, daySets{campaign: c, day: d, data: data}), size+len(data)
			}
			if size >= setMergeBytes {
				if err := appendSets(conn, tailSets, ws, days); err != nil {
					return err
				}
				days, size = days[:0], 0
			}
		}
		if err := appendSets(conn, tailSets, ws, days); err != nil {
			return err
		}
	}
	step.mark("sets")
	return nil
}

// workspacesWithSets returns the workspaces of user_set_zones.
func workspacesWithSets(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT ws FROM user_set_zones`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			return nil, err
		}
		known[ws] = true
	}
	return known, rows.Err()
}

// groupUsers prepares the reading of a workspace's user sets from the events of source ("FROM … WHERE …"): the
// temporary macro day_of (of the compaction's connection) maps a time to its local day in loc, and, with once,
// the temporary table grouped_users gets the rows of groupedUsers for the whole workspace, sorted by campaign — one
// aggregation and one join with the user numbers (of ids) for the whole tail, not one per range of campaigns.
func groupUsers(ctx context.Context, conn *sql.Conn, ws string, loc *time.Location, source, ids string, once bool) error {
	var minTS, maxTS sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT min(ts), max(ts) `+source+` AND ws = ?`, ws).Scan(&minTS, &maxTS); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMPORARY MACRO day_of(ts) AS `+dayExpr("ts", loc, minTS.Int64, maxTS.Int64+1)); err != nil {
		return err
	}
	if !once {
		return nil
	}
	_, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMPORARY TABLE grouped_users AS `+groupedUsers(source+` AND ws = ?`, ids)+
		` ORDER BY f.campaign_id, f.day`, ws, ws)
	return err
}

// groupedUsers is the query of the user sets of the events of from ("FROM … WHERE …", whose parameters are followed
// by one more, the workspace): (campaign, day, cell, channels, failure key or empty, counters bit set, user number)
// rows, users numbered by the table ids, days by day_of (groupUsers).
func groupedUsers(from, ids string) string {
	return `SELECT f.campaign_id, f.day, f.cell, f.channels, f.fk, f.mask, u.uid FROM (
			SELECT campaign_id, day_of(ts) AS day, cell, channels, user_hi, user_lo,
				CASE WHEN counter IN (` + fmt.Sprintf("%d, %d", domain.CounterFailedSend, domain.CounterFailedDelivery) + `) THEN failure_key ELSE '' END AS fk,
				bit_or(1::UINTEGER << counter) AS mask
			` + from + ` AND counter <> 0
			GROUP BY campaign_id, day, cell, channels, user_hi, user_lo, fk
		) f JOIN ` + ids + ` u ON u.ws = ? AND u.user_hi = f.user_hi AND u.user_lo = f.user_lo`
}

// daySets is one encoded row of user sets: a (campaign, day) and its sets (encodeSets).
type daySets struct {
	campaign string
	day      int32
	data     []byte
}

// setsNext names a table of user_sets' shape that sets are built in before they replace or join user_sets.
type setsNext struct{ catalog, table string }

var (
	// tailSets holds a compaction's tail's sets (temporary), appended to user_sets by its swap.
	tailSets = setsNext{"temp", "user_sets_next"}
	// mergedSetRows holds the merged rows of mergeSetRows (temporary), which replace the rows they merge.
	mergedSetRows = setsNext{"temp", "user_sets_merged"}
)

// appendSets appends the rows days of workspace ws to the table to.
func appendSets(conn *sql.Conn, to setsNext, ws string, days []daySets) error {
	return conn.Raw(func(dc any) error {
		table := cmp.Or(to.table, "user_sets_next")
		schema := ""
		if to.catalog != "" {
			schema = "main"
		}
		app, err := duckdb.NewAppender(dc.(driver.Conn), to.catalog, schema, table)
		if err != nil {
			return err
		}
		for _, d := range days {
			if err := app.AppendRow(ws, d.campaign, d.day, d.data); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
}

// sourceSets reads the user sets of the rows of query (groupedUsers' columns, in (campaign, day) order), each
// (campaign, day) encoded as soon as it is read. A range of the compaction is at most compactChunkRows events, or
// one campaign, and its sets are held until it is read.
func sourceSets(ctx context.Context, conn *sql.Conn, query string, args []any) ([]daySets, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var days []daySets
	var cur *daySets
	var sets map[setKey]*roaring.Bitmap
	finish := func() error {
		if cur == nil {
			return nil
		}
		data, err := encodeSets(sets, nil)
		cur.data = data
		return err
	}
	var campaign, fk string
	var day, cell int32
	var channels uint16
	var mask, uid uint32
	for rows.Next() {
		if err := rows.Scan(&campaign, &day, &cell, &channels, &fk, &mask, &uid); err != nil {
			return nil, err
		}
		if cur == nil || cur.campaign != campaign || cur.day != day {
			if err := finish(); err != nil {
				return nil, err
			}
			days = append(days, daySets{campaign: campaign, day: day})
			cur, sets = &days[len(days)-1], map[setKey]*roaring.Bitmap{}
		}
		for m := mask; m != 0; m &= m - 1 {
			addUser(sets, setKey{cell: cell, channels: channels, kind: uint8(bits.TrailingZeros32(m))}, uid)
		}
		if fk != "" {
			addUser(sets, setKey{cell: cell, channels: channels, kind: failureSet, fk: fk}, uid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return days, finish()
}

// setRowsMerge is the rows of one (campaign, day) that make a compaction merge them into one. Each compaction
// appends its tail's sets as rows of their own, so that its cost is the tail's; a query unions a day's rows as it
// unions the sets of different cells, so more rows cost it only more bitmaps to read. Merging a day once it has
// this many keeps them few (a backfill touching every day merges every day every second compaction); once appends
// pause, Maintain merges every day into one row (mergeSetRows with 2).
//
// Merging by size instead (a row merged with the smaller rows of its day once they hold as many bytes, as a binary
// counter) rewrote a third fewer bytes per compaction at 10M events, but left more rows per day for the queries
// that follow an ingest, and did not make the ingest faster: the compaction's growing part is not the rewrite of the
// merged sets (docs/benchmarks.md).
const setRowsMerge = 3

// setMergeBytes bounds the stored sets one step of mergeSetRows holds (a larger campaign is a step of its own).
const setMergeBytes = 32 << 20

// mergeSetRows merges the rows of every (workspace, campaign, day) of user_sets that has at least minRows of them
// into one row, and replaces them in one transaction: readers see the rows before or after, which hold the same
// users. The merged rows are built one range of campaigns at a time in a temporary table; the sets only one row of a
// day has keep their serialization, pausing between ranges as step allows. It returns the days merged and the
// bytes of their rows, and marks its phases.
func (s *Store) mergeSetRows(ctx context.Context, conn *sql.Conn, minRows int, step *maintenanceStep) (days, bytes int64, err error) {
	defer func() {
		for _, t := range []string{"temp.main.user_sets_merging", "temp.main.user_sets_merged"} {
			conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+t)
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMPORARY TABLE user_sets_merging AS
		SELECT ws, campaign_id, day, sum(octet_length(sets)) AS size FROM user_sets GROUP BY ws, campaign_id, day HAVING count(*) >= ?`, minRows); err != nil {
		return 0, 0, err
	}
	var merging, mergingBytes int64
	err = conn.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM user_sets_merging`).Scan(&merging, &mergingBytes)
	step.mark("merge_select")
	if err != nil || merging == 0 {
		return 0, 0, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMPORARY TABLE user_sets_merged AS SELECT * FROM user_sets LIMIT 0`); err != nil {
		return 0, 0, err
	}
	ranges, err := compactionRanges(ctx, conn, setMergeBytes, `SELECT ws, campaign_id, sum(size) FROM user_sets_merging
		GROUP BY ws, campaign_id ORDER BY ws, campaign_id`)
	if err != nil {
		return 0, 0, err
	}
	const merged = ` EXISTS (SELECT 1 FROM user_sets_merging m WHERE m.ws = s.ws AND m.campaign_id = s.campaign_id AND m.day = s.day)`
	for _, r := range ranges {
		step.pause(ctx)
		days, err := mergedSets(ctx, conn, `SELECT s.campaign_id, s.day, s.sets FROM user_sets s
			WHERE s.ws = ? AND s.campaign_id >= ? AND s.campaign_id <= ? AND`+merged+` ORDER BY s.campaign_id, s.day`, r.ws, r.from, r.to)
		if err != nil {
			return 0, 0, err
		}
		if err := appendSets(conn, mergedSetRows, r.ws, days); err != nil {
			return 0, 0, err
		}
	}
	step.mark("merge_sets")
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return 0, 0, err
	}
	for _, q := range []string{`DELETE FROM user_sets s WHERE` + merged, `INSERT INTO user_sets SELECT * FROM temp.main.user_sets_merged`, `COMMIT`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			return 0, 0, err
		}
	}
	step.mark("merge_swap")
	return merging, mergingBytes, nil
}

// mergedSets reads the (campaign, day, sets) rows of query, in (campaign, day) order, and returns one row per
// (campaign, day) holding the union of its rows' sets.
func mergedSets(ctx context.Context, conn *sql.Conn, query string, args ...any) ([]daySets, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var days []daySets
	var parts map[setKey][][]byte // the serializations of each set in the day's rows (each row's own copy)
	finish := func() error {
		if len(days) == 0 {
			return nil
		}
		sets, raw := map[setKey]*roaring.Bitmap{}, map[setKey][]byte{}
		for k, p := range parts {
			if len(p) == 1 {
				raw[k] = p[0]
				continue
			}
			bms := make([]*roaring.Bitmap, len(p))
			for i, b := range p {
				bms[i] = roaring.New()
				if _, err := bms[i].FromBuffer(b); err != nil {
					return fmt.Errorf("user set: %w", err)
				}
			}
			sets[k] = roaring.FastOr(bms...)
		}
		data, err := encodeSets(sets, raw)
		days[len(days)-1].data = data
		return err
	}
	for rows.Next() {
		var campaign string
		var day int32
		var data []byte
		if err := rows.Scan(&campaign, &day, &data); err != nil {
			return nil, err
		}
		if n := len(days); n == 0 || days[n-1].campaign != campaign || days[n-1].day != day {
			if err := finish(); err != nil {
				return nil, err
			}
			days, parts = append(days, daySets{campaign: campaign, day: day}), map[setKey][][]byte{}
		}
		if err := decodeSets(data, func(k setKey, raw []byte) error {
			parts[k] = append(parts[k], raw)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return days, finish()
}

// userSetDays reports whether the user sets answer q — their days are local days of the zone they were built in,
// so the range must start and end at the first instant of a local day of that zone (midnight, or the end of a DST
// gap, SPEC §2.9), and a split by day must be in that zone — and the range's first and end (excluded) day numbers.
func (r *reader) userSetDays(ctx context.Context, q store.AggregateQuery) (from, to int32, ok bool, err error) {
	var zone string
	switch err := r.q.QueryRowContext(ctx, `SELECT zone FROM user_set_zones WHERE ws = ?`, q.WorkspaceID).Scan(&zone); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, false, nil
	case err != nil:
		return 0, 0, false, fmt.Errorf("user set zone: %w", err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || (q.Days != nil && q.Days.String() != loc.String()) {
		return 0, 0, false, nil
	}
	midnight := func(ms int64) (int32, bool) {
		y, m, d := time.UnixMilli(ms).In(loc).Date()
		_, _, before := time.UnixMilli(ms - 1).In(loc).Date()
		return store.DayNumber(y, m, d), before != d
	}
	from, okFrom := midnight(q.FromMS)
	to, okTo := midnight(q.ToMS)
	return from, to, okFrom && okTo, nil
}

// unitRef is one unit of a query's targets: the target's index, its channel bit and platform mode.
type unitRef struct {
	tgt   int
	chbit uint16
	mode  int32
}

// nodeSetLists gathers the bitmaps of one node, per counter and per failure key, to be unioned once.
type nodeSetLists struct {
	counters [32][]*roaring.Bitmap
	fails    map[string][]*roaring.Bitmap
}

func (n *nodeSetLists) add(kind uint8, fk string, bm *roaring.Bitmap) {
	if kind != failureSet {
		n.counters[kind] = append(n.counters[kind], bm)
		return
	}
	if n.fails == nil {
		n.fails = map[string][]*roaring.Bitmap{}
	}
	n.fails[fk] = append(n.fails[fk], bm)
}

// union returns the node's users: the union of each counter's and each failure key's bitmaps.
func (n *nodeSetLists) union() *nodeUsers {
	u := &nodeUsers{}
	for c, bms := range n.counters {
		if len(bms) > 0 {
			u.counters[c] = union(bms)
		}
	}
	for fk, bms := range n.fails {
		if u.fails == nil {
			u.fails = map[string]*roaring.Bitmap{}
		}
		u.fails[fk] = union(bms)
	}
	return u
}

// union returns the union of bms (one of them when there is one).
func union(bms []*roaring.Bitmap) *roaring.Bitmap {
	if len(bms) == 1 {
		return bms[0]
	}
	return roaring.FastOr(bms...)
}

// aggregateUniqueSets answers a UNIQUE AggregateQuery from the user sets of days [fromDay, toDay) and the log's
// tail (see userSetDays). metricMask, when not 0, is the counters of the asked metrics (no failure keys then).
func (r *reader) aggregateUniqueSets(ctx context.Context, q store.AggregateQuery, codes *cellCodes, metrics []domain.CounterMetric,
	metricMask uint32, fromDay, toDay int32) ([]store.AggregateRow, error) {
	units := map[string][]unitRef{}
	var list []string
	for ti, t := range q.Targets {
		for _, u := range t.Units {
			if _, ok := units[u.ID]; !ok {
				list = append(list, sqlString(u.ID))
			}
			units[u.ID] = append(units[u.ID], unitRef{tgt: ti, chbit: uint16(u.Channel.Bit()), mode: int32(codes.mode(u.Channel))})
		}
	}
	tailDay := "0"
	if q.Days != nil {
		tailDay = dayExpr("ts", q.Days, q.FromMS, q.ToMS)
	}
	// The sets, the user numbers and the tail are read in one snapshot. The tail index's entries, when loaded, are
	// taken before it: a compaction drops entries only once its swap has committed, so they hold every event newer
	// than the snapshot's watermark; those up to the watermark are skipped (tailindex.go).
	var tailed map[string][]tailEntry
	var failures []string
	indexed := false
	if r.tail != nil {
		r.tail.mu.RLock()
		if indexed = r.tail.loaded; indexed {
			tailed, failures = make(map[string][]tailEntry, len(units)), r.tail.failures
			for c := range units {
				if list := r.tail.entries[q.WorkspaceID][c]; len(list) > 0 {
					tailed[c] = list
				}
			}
		}
		r.tail.mu.RUnlock()
	}
	qr, done, watermark, err := r.snapshotWatermark(ctx)
	if err != nil {
		return nil, fmt.Errorf("node query: %w", err)
	}
	defer done()
	in := strings.Join(list, ", ")
	tailEvents := `FROM events WHERE seq > ` + strconv.FormatInt(watermark, 10) + ` AND ws = $1 AND is_campaign AND counter <> 0
		AND campaign_id IN (` + in + `) AND ts >= $2 AND ts < $3`
	// The tail's users get their numbers from memory once loaded (after the snapshot's first statement, above, so
	// that they include every number its sets use); until then the tail is joined to user_ids.
	var numbers *numberTable
	inMemory := false
	if r.numbers != nil {
		numbers, inMemory = r.numbers.table(q.WorkspaceID)
	}
	numbered, uidCol := `LEFT JOIN user_ids u ON u.ws = $1 AND u.user_hi = t.uh AND u.user_lo = t.ul`, `u.uid`
	if inMemory {
		numbered, uidCol = ``, `NULL::UINTEGER`
	}
	// With the tail index and the numbers in memory, the statement reads the sets only.
	fromIndex := indexed && inMemory
	setsOnly := ``
	if fromIndex {
		setsOnly = ` AND false`
	}
	// The tail's events are read once, grouped per user, and numbered (none for a user new since the compaction).
	query := `SELECT 0 AS part, campaign_id, day, sets, 0 AS cell, 0::USMALLINT AS channels, ''::VARCHAR AS fk, 0::UINTEGER AS mask,
	0::UBIGINT AS uh, 0::UBIGINT AS ul, NULL::UINTEGER AS uid
FROM user_sets WHERE ws = $1 AND campaign_id IN (` + in + `) AND day >= $4 AND day < $5
UNION ALL
SELECT 1, t.*, ` + uidCol + ` FROM (
	SELECT campaign_id, ` + tailDay + ` AS day, NULL::BLOB, cell, channels,
		CASE WHEN counter IN (` + fmt.Sprintf("%d, %d", domain.CounterFailedSend, domain.CounterFailedDelivery) + `) THEN failure_key ELSE '' END AS fk,
		bit_or(1::UINTEGER << counter), user_hi AS uh, user_lo AS ul
	` + tailEvents + setsOnly + `
	GROUP BY campaign_id, day, cell, channels, user_hi, user_lo, fk
) t ` + numbered
	args := []any{q.WorkspaceID, q.FromMS, q.ToMS, fromDay, toDay}
	if r.onQuery != nil {
		r.onQuery(query, args)
	}
	rows, err := qr.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("node query: %w", err)
	}
	defer rows.Close()
	finest := map[nodeCode]*nodeSetLists{}
	// wanted reports whether a set of this kind counts in the query.
	wanted := func(kind uint8) bool {
		if kind == failureSet {
			return metricMask == 0
		}
		return metricMask == 0 || metricMask&(1<<kind) != 0
	}
	// nodes calls fn with the finest node of every unit of campaign whose channel the events of (cell, channels)
	// feed.
	nodes := func(campaign string, d int32, cell int32, channels uint16, fn func(nodeCode)) {
		for _, u := range units[campaign] {
			if channels&u.chbit == 0 {
				continue
			}
			c, ok := codes.finest[cellMode{cell, u.mode}]
			if !ok {
				continue
			}
			fn(nodeCode{tgt: u.tgt, d: d, p: c[0], l: c[1], v: c[2]})
		}
	}
	lists := func(n nodeCode) *nodeSetLists {
		l, ok := finest[n]
		if !ok {
			l = &nodeSetLists{}
			finest[n] = l
		}
		return l
	}
	// The tail's users, per finest node and set: one bitmap each.
	tail := map[nodeCode]map[setKey]*roaring.Bitmap{}
	newUsers := map[[2]uint64]uint32{}
	// newUser numbers a user new since the compaction: a number above every stored one.
	newUser := func(uh, ul uint64) uint32 {
		id, ok := newUsers[[2]uint64{uh, ul}]
		if !ok {
			id = math.MaxUint32 - uint32(len(newUsers))
			newUsers[[2]uint64{uh, ul}] = id
		}
		return id
	}
	// addTail adds user id to the tail's sets of its counters (mask) and failure key.
	addTail := func(campaign string, d, cell int32, channels uint16, fk string, mask uint32, id uint32) {
		nodes(campaign, d, cell, channels, func(n nodeCode) {
			m := tail[n]
			if m == nil {
				m = map[setKey]*roaring.Bitmap{}
				tail[n] = m
			}
			add := func(k setKey) {
				if wanted(k.kind) {
					addUser(m, k, id)
				}
			}
			for b := mask; b != 0; b &= b - 1 {
				add(setKey{kind: uint8(bits.TrailingZeros32(b))})
			}
			if fk != "" {
				add(setKey{kind: failureSet, fk: fk})
			}
		})
	}
	var part int
	var campaign, fk string
	var d, cell int32
	var sets []byte
	var channels uint16
	var mask uint32
	var uh, ul uint64
	var uid sql.Null[uint32]
	for rows.Next() {
		if err := rows.Scan(&part, &campaign, &d, &sets, &cell, &channels, &fk, &mask, &uh, &ul, &uid); err != nil {
			return nil, fmt.Errorf("node query scan: %w", err)
		}
		if q.Days == nil {
			d = 0
		}
		if part == 0 {
			data := sets
			err := decodeSets(data, func(k setKey, raw []byte) error {
				if !wanted(k.kind) {
					return nil
				}
				var bm *roaring.Bitmap
				var err error
				nodes(campaign, d, k.cell, k.channels, func(n nodeCode) {
					if bm == nil && err == nil {
						bm = roaring.New()
						_, err = bm.FromBuffer(raw)
					}
					lists(n).add(k.kind, k.fk, bm)
				})
				return err
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		id := uid.V
		if inMemory {
			id, uid.Valid = numbers.find(uh, ul)
		}
		if !uid.Valid {
			id = newUser(uh, ul)
		}
		addTail(campaign, d, cell, channels, fk, mask, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node query: %w", err)
	}
	if fromIndex {
		dayOf := dayFunc(q.Days, q.FromMS, q.ToMS)
		for campaign, list := range tailed {
			for i := range list {
				e := &list[i]
				if e.seq <= watermark || e.ts < q.FromMS || e.ts >= q.ToMS {
					continue
				}
				id, ok := numbers.find(e.hi, e.lo)
				if !ok {
					id = newUser(e.hi, e.lo)
				}
				addTail(campaign, dayOf(e.ts), e.cell, e.channels, failures[e.fk], 1<<e.counter, id)
			}
		}
	}
	for n, m := range tail {
		for k, bm := range m {
			lists(n).add(k.kind, k.fk, bm)
		}
	}
	return rollUpSets(finest, nodeSets(q.Shapes), metrics).rows(codes, q.Targets), nil
}

// addUser adds user id to the set k of sets, creating it.
func addUser(sets map[setKey]*roaring.Bitmap, k setKey, id uint32) {
	bm, ok := sets[k]
	if !ok {
		bm = roaring.New()
		sets[k] = bm
	}
	bm.Add(id)
}

// snapshotWatermark opens a read snapshot (reader.snapshot) and reads facts_watermark in it. On error the snapshot
// is closed.
func (r *reader) snapshotWatermark(ctx context.Context) (queryer, func(), int64, error) {
	qr, done, err := r.snapshot(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	// The watermark as a literal lets the scan of the tail skip the log's older row groups; a subquery there would
	// read them all.
	var watermark int64
	if err := qr.QueryRowContext(ctx, `SELECT seq FROM facts_watermark WHERE id = 1`).Scan(&watermark); err != nil {
		done()
		return nil, nil, 0, err
	}
	return qr, done, watermark, nil
}

// nodeUsers is the users of one node: per counter, and per failure key.
type nodeUsers struct {
	counters [32]*roaring.Bitmap
	fails    map[string]*roaring.Bitmap
}

// rollUpSets unions the finest nodes' sets into every node of sets and counts each metric's users there. Each
// shape is unioned from the finest shape already computed that refines it (platform, locale, variation from
// platform, locale, variation; platform from platform, locale; …), whose sets are fewer and denser than the
// finest nodes'; the shapes of one level are computed concurrently, up to GOMAXPROCS at once (the bitmaps they
// read are not modified).
func rollUpSets(finest map[nodeCode]*nodeSetLists, sets []nodeSet, metrics []domain.CounterMetric) *uniqueRollup {
	base := make(map[nodeCode]*nodeUsers, len(finest))
	order := make([]nodeCode, 0, len(finest))
	for n := range finest {
		order = append(order, n)
	}
	users := make([]*nodeUsers, len(order))
	parallel(len(order), func(part, parts int) {
		for i := part; i < len(order); i += parts {
			users[i] = finest[order[i]].union()
		}
	})
	for i, n := range order {
		base[n] = users[i]
	}
	all := nodeSet{true, true, true}
	done := map[nodeSet]map[nodeCode]*nodeUsers{all: base}
	out := newUniqueRollup(sets, metrics)
	// Shapes by level (keys dropped): each level's source shapes are computed by the previous one. The finest
	// shape is always computed, as the source of the others, and counted only if asked for.
	for level := 0; level <= 3; level++ {
		var todo []nodeSet
		for _, set := range []nodeSet{{true, true, true}, {true, true, false}, {true, false, true}, {false, true, true},
			{true, false, false}, {false, true, false}, {false, false, true}, {false, false, false}} {
			if keys(set) == 3-level && (slices.Contains(sets, set) || needed(set, sets)) {
				todo = append(todo, set)
			}
		}
		results := make([]map[nodeCode]*nodeUsers, len(todo))
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i, set := range todo {
			if set == all {
				results[i] = base
				continue
			}
			src := done[source(set, done)]
			g.Go(func() error {
				results[i] = projectUsers(src, set)
				return nil
			})
		}
		g.Wait()
		for i, set := range todo {
			done[set] = results[i]
			if slices.Contains(sets, set) {
				countUsers(out, results[i], metrics)
			}
		}
	}
	return out
}

// keys returns the number of dimensions set keeps as keys.
func keys(set nodeSet) int {
	n := 0
	for _, k := range []bool{set.p, set.l, set.v} {
		if k {
			n++
		}
	}
	return n
}

// refines reports whether every node of coarse is a union of nodes of fine.
func refines(fine, coarse nodeSet) bool {
	return (fine.p || !coarse.p) && (fine.l || !coarse.l) && (fine.v || !coarse.v)
}

// needed reports whether set is the source of a coarser shape of sets (it is then computed even if not asked).
func needed(set nodeSet, sets []nodeSet) bool {
	for _, s := range sets {
		if s != set && refines(set, s) && keys(s) == keys(set)-1 {
			return true
		}
	}
	return false
}

// source returns the computed shape with the fewest nodes that refines set.
func source(set nodeSet, done map[nodeSet]map[nodeCode]*nodeUsers) nodeSet {
	best, n := nodeSet{true, true, true}, -1
	for s, nodes := range done {
		if s != set && refines(s, set) && (n < 0 || len(nodes) < n) {
			best, n = s, len(nodes)
		}
	}
	return best
}

// projectUsers unions the nodes of src into the nodes of set.
func projectUsers(src map[nodeCode]*nodeUsers, set nodeSet) map[nodeCode]*nodeUsers {
	lists := map[nodeCode]*nodeSetLists{}
	for n, u := range src {
		p := n.project(set)
		l, ok := lists[p]
		if !ok {
			l = &nodeSetLists{}
			lists[p] = l
		}
		for c, bm := range u.counters {
			if bm != nil {
				l.counters[c] = append(l.counters[c], bm)
			}
		}
		for fk, bm := range u.fails {
			l.add(failureSet, fk, bm)
		}
	}
	out := make(map[nodeCode]*nodeUsers, len(lists))
	for n, l := range lists {
		out[n] = l.union()
	}
	return out
}

// countUsers adds the metrics of nodes to out: a metric's users are the union of its counters' users.
func countUsers(out *uniqueRollup, nodes map[nodeCode]*nodeUsers, metrics []domain.CounterMetric) {
	for n, u := range nodes {
		values := make([]int64, len(metrics))
		present := false
		for _, bm := range u.counters {
			present = present || bm != nil
		}
		if !present {
			continue
		}
		for i, m := range metrics {
			var of []*roaring.Bitmap
			for b := m.Counters; b != 0; b &= b - 1 {
				if bm := u.counters[bits.TrailingZeros32(b)]; bm != nil {
					of = append(of, bm)
				}
			}
			switch len(of) {
			case 0:
			case 1:
				values[i] = int64(of[0].GetCardinality())
			case 2:
				values[i] = int64(of[0].OrCardinality(of[1]))
			default:
				values[i] = int64(roaring.FastOr(of...).GetCardinality())
			}
		}
		out.counts[n] = values
		for fk, bm := range u.fails {
			out.fails[failureCode{n, fk}] = int64(bm.GetCardinality())
		}
	}
}

// parallel runs fn(part, parts) for parts = min(GOMAXPROCS, n) parts at once and waits for them.
func parallel(n int, fn func(part, parts int)) {
	parts := max(1, min(runtime.GOMAXPROCS(0), n))
	var g errgroup.Group
	for part := range parts {
		g.Go(func() error {
			fn(part, parts)
			return nil
		})
	}
	g.Wait()
}
