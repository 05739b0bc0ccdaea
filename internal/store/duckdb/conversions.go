package duckdb

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// Conversions aggregates credits per node: each credited goal event counts once per node (Total, with its revenue),
// each user once (Unique).
//
// As for UNIQUE counters (aggregateUnique), most goal events and most users of a (target, day, group, goal) have
// credits in one finest node only: SQL counts them per finest node, and they are rolled up here to every node
// shape by sums. The goal events and users credited in several finest nodes are read one by one (ordered), and
// rolled up here node by node. A finest node is a credit's cell (creditCell), an integer.
func (r *reader) Conversions(ctx context.Context, q store.ConversionQuery) ([]store.ConversionRow, error) {
	if len(q.Targets) == 0 {
		return nil, nil
	}
	if r.await != nil {
		if err := r.await(ctx); err != nil {
			return nil, err
		}
	}
	r.countRead()
	qr, watermark, done, err := r.creditSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("conversions: %w", err)
	}
	defer done()
	units := unitList(q.Targets)
	voids, err := creditVoidKinds(ctx, qr, q.WorkspaceID, units)
	if err != nil {
		return nil, fmt.Errorf("conversions: %w", err)
	}
	query := fmt.Sprintf(`WITH m(unit, tgt) AS (VALUES %s),
cr AS MATERIALIZED (
	SELECT m.tgt AS tgt, `+dayExpr("c.ts", q.Days, q.FromMS, q.ToMS)+` AS d, c.cell AS cell, c.grp AS grp, c.goal AS goal,
		c.goal_uuid AS eid, c.user_hi AS uh, c.user_lo AS ul, c.revenue AS revenue
	FROM `+creditsFrom(watermark)+` JOIN m ON c.unit = m.unit `+liveCreditJoins(units, voids)+`
	WHERE c.ws = ? AND c.unit IN (`+units+`) AND c.ts >= ? AND c.ts < ? AND (c.type = ? OR c.type = 0)
),
goals AS MATERIALIZED (SELECT tgt, d, grp, goal, eid, min(cell) AS k1, max(cell) AS k2, any_value(revenue) AS revenue
	FROM cr GROUP BY tgt, d, grp, goal, eid),
users AS MATERIALIZED (SELECT tgt, d, grp, goal, uh, ul, min(cell) AS k1, max(cell) AS k2 FROM cr GROUP BY tgt, d, grp, goal, uh, ul)
SELECT %d AS part, tgt, d, grp, goal, k1 AS cell, count(*) AS n, sum(revenue)::BIGINT AS revenue, '' AS eid, 0::UBIGINT AS uh,
	0::UBIGINT AS ul
FROM goals WHERE k1 = k2 GROUP BY tgt, d, grp, goal, k1
UNION ALL
SELECT %d, tgt, d, grp, goal, k1, count(*), 0, '', 0, 0 FROM users WHERE k1 = k2 GROUP BY tgt, d, grp, goal, k1
UNION ALL
SELECT DISTINCT %d, c.tgt, c.d, c.grp, c.goal, c.cell, 0, c.revenue, c.eid, 0, 0
FROM cr c SEMI JOIN (SELECT * FROM goals WHERE k1 <> k2) g ON c.tgt = g.tgt AND c.d = g.d AND c.grp = g.grp AND c.goal = g.goal AND c.eid = g.eid
UNION ALL
SELECT DISTINCT %d, c.tgt, c.d, c.grp, c.goal, c.cell, 0, 0, '', c.uh, c.ul
FROM cr c SEMI JOIN (SELECT * FROM users WHERE k1 <> k2) u ON c.tgt = u.tgt AND c.d = u.d AND c.grp = u.grp AND c.goal = u.goal
	AND c.uh = u.uh AND c.ul = u.ul
ORDER BY part, tgt, d, grp, goal, eid, uh, ul`, unitValues(q.Targets), convSingleGoals, convSingleUsers, convMultiGoals, convMultiUsers)
	args := []any{q.WorkspaceID, q.FromMS, q.ToMS, uint8(q.Type)}
	if r.onQuery != nil {
		r.onQuery(query, args)
	}
	rows, err := qr.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("conversions: %w", err)
	}
	defer rows.Close()
	roll := &conversionRollup{sets: nodeSets(q.Shapes), nodes: map[convNode]*convCounts{}}
	cells := map[int32]cellKey{} // the query's cells, looked up once each
	var row convRow
	var cell int32
	for rows.Next() {
		if err := rows.Scan(&row.part, &row.tgt, &row.d, &row.grp, &row.goal, &cell, &row.n, &row.revenue, &row.eid, &row.uh, &row.ul); err != nil {
			return nil, fmt.Errorf("conversions scan: %w", err)
		}
		k, ok := cells[cell]
		if !ok {
			if k, ok = r.cells.key(cell); !ok { // a committed cell is in the dictionary (cellIDs.insert)
				return nil, fmt.Errorf("conversions: credit cell %d is not in the dictionary", cell)
			}
			cells[cell] = k
		}
		row.p, row.l, row.v = k.platform, k.locale, k.variation
		switch attribution.Group(row.grp) {
		case attribution.CampaignControl:
			row.v = domain.CampaignControlGroup
		case attribution.GlobalControl:
			row.v = domain.GlobalControlGroup
		}
		roll.add(row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("conversions: %w", err)
	}
	return roll.rows(q.Targets), nil
}

// Parts of the conversion statement's result.
const (
	convSingleGoals = iota // n goal events credited in one finest node, with their revenue
	convSingleUsers        // n users credited in one finest node
	convMultiGoals         // a goal event (eid) credited in several finest nodes, per finest node
	convMultiUsers         // a user (uh, ul) credited in several finest nodes, per finest node
)

type convRow struct {
	part       int
	tgt        int
	d          int32
	grp        uint8
	goal       string
	p, l, v    string
	n, revenue int64
	eid        string
	uh, ul     uint64
}

// convNode is a node of one (group, goal); "all" keys are flagged.
type convNode struct {
	tgt              int
	d                int32
	grp              uint8
	goal             string
	allP, allL, allV bool
	p, l, v          string
}

type convCounts struct{ total, unique, revenue int64 }

// conversionRollup rolls the rows of a conversion statement up to every node of sets.
type conversionRollup struct {
	sets  []nodeSet
	nodes map[convNode]*convCounts

	// The goal event or user being read (multi parts), and its nodes.
	key     convRow
	hasKey  bool
	current []convNode
	revenue int64
}

func (r *conversionRollup) counts(n convNode) *convCounts {
	c, ok := r.nodes[n]
	if !ok {
		c = &convCounts{}
		r.nodes[n] = c
	}
	return c
}

func (r *conversionRollup) project(row convRow, set nodeSet) convNode {
	n := convNode{tgt: row.tgt, d: row.d, grp: row.grp, goal: row.goal, allP: !set.p, allL: !set.l, allV: !set.v}
	if set.p {
		n.p = row.p
	}
	if set.l {
		n.l = row.l
	}
	if set.v {
		n.v = row.v
	}
	return n
}

// flush counts the goal event or user read so far once in each of its nodes.
func (r *conversionRollup) flush() {
	for _, n := range r.current {
		c := r.counts(n)
		if r.key.part == convMultiGoals {
			c.total++
			c.revenue += r.revenue
		} else {
			c.unique++
		}
	}
	r.current, r.hasKey = r.current[:0], false
}

func (r *conversionRollup) add(row convRow) {
	switch row.part {
	case convSingleGoals, convSingleUsers:
		for _, set := range r.sets {
			c := r.counts(r.project(row, set))
			if row.part == convSingleGoals {
				c.total += row.n
				c.revenue += row.revenue
			} else {
				c.unique += row.n
			}
		}
		return
	}
	if !r.hasKey || row.part != r.key.part || row.tgt != r.key.tgt || row.d != r.key.d || row.grp != r.key.grp ||
		row.goal != r.key.goal || row.eid != r.key.eid || row.uh != r.key.uh || row.ul != r.key.ul {
		r.flush()
		r.key, r.hasKey, r.revenue = row, true, row.revenue
	}
	for _, set := range r.sets {
		if n := r.project(row, set); !slices.Contains(r.current, n) {
			r.current = append(r.current, n)
		}
	}
}

// rows returns the conversion rows of every node, in node order.
func (r *conversionRollup) rows(targets []store.AggregateTarget) []store.ConversionRow {
	r.flush()
	out := make([]store.ConversionRow, 0, len(r.nodes))
	for n, c := range r.nodes {
		out = append(out, store.ConversionRow{NodeRef: store.NodeRef{Target: targets[n.tgt].ID, Day: n.d, AllPlatforms: n.allP, Platform: n.p,
			AllLocales: n.allL, Locale: n.l, AllVariations: n.allV, Variation: n.v}, Group: attribution.Group(n.grp), Goal: n.goal,
			Total: c.total, Unique: c.unique, RevenueMicros: c.revenue})
	}
	slices.SortFunc(out, func(a, b store.ConversionRow) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Goal, b.Goal),
			compareKey(a.AllPlatforms, a.Platform, b.AllPlatforms, b.Platform), compareKey(a.AllLocales, a.Locale, b.AllLocales, b.Locale),
			compareKey(a.AllVariations, a.Variation, b.AllVariations, b.Variation))
	})
	return out
}

// compareKey orders node keys, "all" first.
func compareKey(allA bool, a string, allB bool, b string) int {
	if allA != allB {
		if allA {
			return -1
		}
		return 1
	}
	return cmp.Compare(a, b)
}
