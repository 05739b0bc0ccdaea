package duckdb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// UNIQUE node metrics: the distinct users of a node whose events there include one of a metric's counters.
//
// A user's counters at a node are the bit_or of its counters over the node's events. Most users of a target and
// day have events in one finest node (platform, locale, variation) only: every node containing that one sees them
// with the same bits, so one SQL aggregation per user finds them and a second counts them per (finest node, bits)
// — a few hundred rows, rolled up here to every node shape. Only the users seen in several finest nodes are read
// with their bits per finest node (ordered by user), and rolled up here user by user; so are the (finest node,
// failure key) pairs of users with failure events. The statement reads the events once (materialized), and no
// aggregation keyed by user runs once per node shape.

// Parts of the UNIQUE statement's result.
const (
	uniqueSingles  = iota // (tgt, d, p, l, v, mask, k): k users seen in one finest node, with these bits
	uniqueMulti           // (tgt, d, p, l, v, mask, uh, ul): a user seen in several finest nodes, per finest node
	uniqueFailures        // (tgt, d, p, l, v, uh, ul, fk): a user with failure key fk at a finest node
)

// uniqueSelect is the rest of a UNIQUE node statement after with, which defines ev (tgt, d, p, l, v, uh, ul, mask,
// fk: a user's counter bits at a finest node, from one event). A finest node's three codes
// (non-negative INTEGERs) are packed into one integer, so that one min and one max per user say whether it was seen
// in one finest node: a BIGINT of 20 bits per code when every code is below 2^20 (wide false), else a HUGEINT.
func uniqueSelect(withFailures, wide bool) string {
	pack, unpack := `(p::BIGINT << 40) | (l::BIGINT << 20) | v::BIGINT`,
		`(c >> 40)::INTEGER AS p, ((c >> 20) & 1048575)::INTEGER AS l, (c & 1048575)::INTEGER AS v`
	if wide {
		pack, unpack = `(p::HUGEINT << 64) | (l::HUGEINT << 32) | v::HUGEINT`,
			`(c >> 64)::INTEGER AS p, ((c >> 32) & 4294967295)::INTEGER AS l, (c & 4294967295)::INTEGER AS v`
	}
	query := `,
users AS MATERIALIZED (SELECT tgt, d, uh, ul, min(c) AS c, max(c) AS c2, bit_or(mask) AS mask
	FROM (SELECT tgt, d, uh, ul, mask, ` + pack + ` AS c FROM ev) GROUP BY tgt, d, uh, ul)
SELECT ` + strconv.Itoa(uniqueSingles) + ` AS part, tgt, d, ` + unpack + `, mask, count(*) AS k, 0::UBIGINT AS uh, 0::UBIGINT AS ul, '' AS fk
FROM users WHERE c = c2 GROUP BY tgt, d, c, mask
UNION ALL
SELECT ` + strconv.Itoa(uniqueMulti) + `, e.tgt, e.d, e.p, e.l, e.v, bit_or(e.mask), 0, e.uh, e.ul, ''
FROM ev e SEMI JOIN (SELECT tgt, d, uh, ul FROM users WHERE c <> c2) mu ON e.tgt = mu.tgt AND e.d = mu.d AND e.uh = mu.uh AND e.ul = mu.ul
GROUP BY e.tgt, e.d, e.p, e.l, e.v, e.uh, e.ul`
	if withFailures {
		query += `
UNION ALL
SELECT ` + strconv.Itoa(uniqueFailures) + `, tgt, d, p, l, v, 0::UINTEGER, 0, uh, ul, fk FROM ev WHERE fk <> '' GROUP BY tgt, d, p, l, v, uh, ul, fk`
	}
	return query + `
ORDER BY part, tgt, d, uh, ul`
}

// nodeCode is a node of a node query in codes: the target's index, the day, and the platform, locale and variation
// codes of cellCodes, allCode for the aggregate over every key.
type nodeCode struct {
	tgt     int
	d       int32
	p, l, v int32
}

const allCode = -1

// project returns the node of set that contains the finest node n.
func (n nodeCode) project(set nodeSet) nodeCode {
	if !set.p {
		n.p = allCode
	}
	if !set.l {
		n.l = allCode
	}
	if !set.v {
		n.v = allCode
	}
	return n
}

// uniqueRollup rolls the rows of a UNIQUE statement up to every node of sets.
type uniqueRollup struct {
	sets    []nodeSet
	metrics []domain.CounterMetric
	counts  map[nodeCode][]int64
	fails   map[failureCode]int64

	// The user whose rows are being read (multi and failure parts): its bits per node, its failure keys per node
	// (a few entries: linear search beats a map).
	user     userRef
	hasUser  bool
	bits     []nodeBits
	failKeys []failureCode
}

type nodeBits struct {
	node nodeCode
	mask uint32
}

type failureCode struct {
	node nodeCode
	fk   string
}

type userRef struct {
	part, tgt int
	d         int32
	uh, ul    uint64
}

func newUniqueRollup(sets []nodeSet, metrics []domain.CounterMetric) *uniqueRollup {
	return &uniqueRollup{sets: sets, metrics: metrics, counts: map[nodeCode][]int64{}, fails: map[failureCode]int64{}}
}

// count adds k users with counter bits mask to node.
func (r *uniqueRollup) count(node nodeCode, mask uint32, k int64) {
	c, ok := r.counts[node]
	if !ok {
		c = make([]int64, len(r.metrics))
		r.counts[node] = c
	}
	for i, m := range r.metrics {
		if uint32(m.Counters)&mask != 0 {
			c[i] += k
		}
	}
}

// flush counts the user read so far.
func (r *uniqueRollup) flush() {
	for _, b := range r.bits {
		r.count(b.node, b.mask, 1)
	}
	for _, f := range r.failKeys {
		r.fails[f]++
	}
	r.bits, r.failKeys, r.hasUser = r.bits[:0], r.failKeys[:0], false
}

// add takes one row of the statement.
func (r *uniqueRollup) add(part int, finest nodeCode, mask uint32, k int64, uh, ul uint64, fk string) {
	if part == uniqueSingles {
		for _, set := range r.sets {
			r.count(finest.project(set), mask, k)
		}
		return
	}
	if u := (userRef{part: part, tgt: finest.tgt, d: finest.d, uh: uh, ul: ul}); !r.hasUser || u != r.user {
		r.flush()
		r.user, r.hasUser = u, true
	}
	for _, set := range r.sets {
		node := finest.project(set)
		if part == uniqueMulti {
			if i := slices.IndexFunc(r.bits, func(b nodeBits) bool { return b.node == node }); i >= 0 {
				r.bits[i].mask |= mask
			} else {
				r.bits = append(r.bits, nodeBits{node, mask})
			}
		} else if f := (failureCode{node, fk}); !slices.Contains(r.failKeys, f) {
			r.failKeys = append(r.failKeys, f)
		}
	}
}

// rows returns the metrics of every node, in node order.
func (r *uniqueRollup) rows(codes *cellCodes, targets []store.AggregateTarget) []store.AggregateRow {
	r.flush()
	ref := func(n nodeCode) store.NodeRef {
		key := func(names []string, code int32) string {
			if code <= 0 || int(code) > len(names) {
				return ""
			}
			return names[code-1]
		}
		return store.NodeRef{Target: targets[n.tgt].ID, Day: n.d, AllPlatforms: n.p == allCode, Platform: key(codes.platforms, n.p),
			AllLocales: n.l == allCode, Locale: key(codes.locales, n.l), AllVariations: n.v == allCode, Variation: key(codes.variation, n.v)}
	}
	nodes := make([]nodeCode, 0, len(r.counts))
	for n := range r.counts {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, compareNodes)
	var out []store.AggregateRow
	for _, n := range nodes {
		node := ref(n)
		for i, m := range r.metrics {
			out = append(out, store.AggregateRow{NodeRef: node, Metric: m.Name, Value: r.counts[n][i]})
		}
	}
	fails := make([]failureCode, 0, len(r.fails))
	for f := range r.fails {
		fails = append(fails, f)
	}
	slices.SortFunc(fails, func(a, b failureCode) int { return cmp.Or(compareNodes(a.node, b.node), cmp.Compare(a.fk, b.fk)) })
	for _, f := range fails {
		out = append(out, store.AggregateRow{NodeRef: ref(f.node), Metric: domain.FailurePrefix + f.fk, Value: r.fails[f]})
	}
	return out
}

func compareNodes(a, b nodeCode) int {
	return cmp.Or(cmp.Compare(a.tgt, b.tgt), cmp.Compare(a.d, b.d), cmp.Compare(a.p, b.p), cmp.Compare(a.l, b.l), cmp.Compare(a.v, b.v))
}

// aggregateUnique answers a UNIQUE AggregateQuery: values is the VALUES list of m (unit, tgt, chbit, mode);
// metricMask, when not 0, the counters of the asked metrics (no failure keys then).
//
// The user sets answer it when they cover the query (userSetDays); otherwise the events come from facts and from
// the log's tail not yet compacted into it, as (campaign, day, user, bits, channels, cell, failure key) rows.
func (r *reader) aggregateUnique(ctx context.Context, q store.AggregateQuery, codes *cellCodes, values string,
	metrics []domain.CounterMetric, metricMask uint32) ([]store.AggregateRow, error) {
	if fromDay, toDay, ok, err := r.userSetDays(ctx, q); err != nil {
		return nil, err
	} else if ok {
		return r.aggregateUniqueSets(ctx, q, codes, metrics, metricMask, fromDay, toDay)
	}
	withFailures := metricMask == 0
	failureKey := "''"
	if withFailures {
		failureKey = fmt.Sprintf("CASE WHEN counter IN (%d, %d) THEN failure_key ELSE '' END", domain.CounterFailedSend, domain.CounterFailedDelivery)
	}
	day := "0"
	if q.Days != nil {
		day = dayExpr("ts", q.Days, q.FromMS, q.ToMS)
	}
	args := []any{q.WorkspaceID, q.FromMS, q.ToMS}
	const units = `ws = $1 AND campaign_id IN (SELECT unit FROM m)`
	tail := `SELECT campaign_id, ` + day + ` AS day, user_hi, user_lo, 1::UINTEGER << counter AS mask, channels, cell, ` + failureKey + ` AS fk
	FROM events WHERE seq > (SELECT seq FROM facts_watermark WHERE id = 1) AND ` + units + ` AND is_campaign AND counter <> 0
		AND ts >= $2 AND ts < $3`
	src := `SELECT campaign_id, ` + day + ` AS day, user_hi, user_lo, 1::UINTEGER << counter AS mask, channels, cell, ` + failureKey + ` AS fk
	FROM facts WHERE ` + units + ` AND counter <> 0 AND ts >= $2 AND ts < $3`
	filter := "true"
	if metricMask != 0 {
		filter = fmt.Sprintf("(e.mask & %d) <> 0", metricMask)
	}
	query := `WITH m(unit, tgt, chbit, mode) AS (VALUES ` + values + `),
x(cell, mode, pc, lc, vc) AS (VALUES ` + codes.values() + `),
src AS (
	` + src + `
	UNION ALL
	` + tail + `
),
ev AS MATERIALIZED (
	SELECT m.tgt AS tgt, e.day AS d, x.pc AS p, x.lc AS l, x.vc AS v, e.user_hi AS uh, e.user_lo AS ul, e.mask AS mask, e.fk AS fk
	FROM src e JOIN m ON e.campaign_id = m.unit JOIN x ON x.cell = e.cell AND x.mode = m.mode
	WHERE ` + filter + ` AND (e.channels & m.chbit) <> 0
)` + uniqueSelect(withFailures, codes.maxCodes() >= cmp.Or(r.wideFrom, 1<<20))
	if r.onQuery != nil {
		r.onQuery(query, args)
	}
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("node query: %w", err)
	}
	defer rows.Close()
	roll := newUniqueRollup(nodeSets(q.Shapes), metrics)
	var part int
	var n nodeCode
	var mask uint32
	var k int64
	var uh, ul uint64
	var fk string
	for rows.Next() {
		if err := rows.Scan(&part, &n.tgt, &n.d, &n.p, &n.l, &n.v, &mask, &k, &uh, &ul, &fk); err != nil {
			return nil, fmt.Errorf("node query scan: %w", err)
		}
		roll.add(part, n, mask, k, uh, ul, fk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node query: %w", err)
	}
	return roll.rows(codes, q.Targets), nil
}
