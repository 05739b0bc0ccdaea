package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// cellDict is the in-memory copy of the cells table: every distinct (platform, platform default, locale,
// variation) stored, by id. Node queries turn an event's cell into integer platform, locale and variation codes
// under its unit's channel (cellCodes), so that DuckDB groups on integers.
type cellDict struct {
	mu   sync.RWMutex
	byID map[int32]cellKey
}

func (d *cellDict) add(id int32, k cellKey) {
	d.mu.Lock()
	d.byID[id] = k
	d.mu.Unlock()
}

// key returns the cell of id.
func (d *cellDict) key(id int32) (cellKey, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	k, ok := d.byID[id]
	return k, ok
}

// cellCodes is one query's mapping of cells to codes. Codes are 1-based; locale and variation code 0 is "none".
type cellCodes struct {
	modes     map[string]int // platform resolution mode → number
	values_   []string
	platforms []string // code-1 → stored platform key
	locales   []string // code-1 → locale
	variation []string // code-1 → variation
	// finest maps (cell, mode) to the platform, locale and variation codes of the VALUES list.
	finest map[cellMode][3]int32
}

type cellMode struct{ cell, mode int32 }

// modeKey is how a unit's channel resolves platforms (domain.ResolvePlatform): its name for channels whose
// platform key is the channel, "onsite", or "device".
func modeKey(ch domain.Channel) string {
	switch {
	case ch.PlatformIsChannel():
		return string(ch)
	case ch == domain.ChannelOnSite:
		return "onsite"
	}
	return "device"
}

// codes builds the mapping for the units of targets.
func (d *cellDict) codes(targets []store.AggregateTarget) *cellCodes {
	c := &cellCodes{modes: map[string]int{}, finest: map[cellMode][3]int32{}}
	chans := map[string]domain.Channel{}
	for _, t := range targets {
		for _, u := range t.Units {
			k := modeKey(u.Channel)
			if _, ok := c.modes[k]; !ok {
				c.modes[k] = len(c.modes) + 1
				chans[k] = u.Channel
			}
		}
	}
	pCode, lCode, vCode := map[string]int{}, map[string]int{}, map[string]int{}
	code := func(m map[string]int, names *[]string, s string, zero bool) int {
		if zero && s == "" {
			return 0
		}
		n, ok := m[s]
		if !ok {
			*names = append(*names, s)
			n = len(*names)
			m[s] = n
		}
		return n
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for id, k := range d.byID {
		if k.pdef == creditCellPdef {
			continue // a credit's cell (conversions read those by id)
		}
		for mk, mode := range c.modes {
			p := domain.ResolvePlatform(chans[mk], k.platform, domain.PlatformDefault(k.pdef))
			codes := [3]int32{int32(code(pCode, &c.platforms, p, false)), int32(code(lCode, &c.locales, k.locale, true)),
				int32(code(vCode, &c.variation, k.variation, true))}
			c.finest[cellMode{id, int32(mode)}] = codes
			c.values_ = append(c.values_, fmt.Sprintf("(%d, %d, %d, %d, %d)", id, mode, codes[0], codes[1], codes[2]))
		}
	}
	return c
}

// maxCodes returns the largest platform, locale or variation code.
func (c *cellCodes) maxCodes() int { return max(len(c.platforms), len(c.locales), len(c.variation)) }

// mode returns the mode number of a unit's channel.
func (c *cellCodes) mode(ch domain.Channel) int { return c.modes[modeKey(ch)] }

// values is the VALUES list x(cell, mode, pc, lc, vc).
func (c *cellCodes) values() string {
	if len(c.values_) == 0 {
		return "(NULL::INTEGER, NULL::INTEGER, NULL::INTEGER, NULL::INTEGER, NULL::INTEGER)"
	}
	return strings.Join(c.values_, ", ")
}

func name(names []string, code sql.NullInt64) string {
	if !code.Valid || code.Int64 <= 0 || int(code.Int64) > len(names) {
		return ""
	}
	return names[code.Int64-1]
}

// scanNodes runs a node query whose first eight columns are (tgt, d, grouping(p), p, grouping(l), l, grouping(v),
// v) with integer codes, and hands each row's node (codes turned back into keys) and remaining columns (scanned
// into rest) to emit.
func (c *cellCodes) scanNodes(ctx context.Context, q queryer, query string, args []any, targets []store.AggregateTarget,
	emit func(store.NodeRef, []any), rest ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("node query: %w", err)
	}
	defer rows.Close()
	var tgt, gp, gl, gv int
	var d int32
	var p, l, v sql.NullInt64
	dest := append([]any{&tgt, &d, &gp, &p, &gl, &l, &gv, &v}, rest...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("node query scan: %w", err)
		}
		emit(store.NodeRef{Target: targets[tgt].ID, Day: d, AllPlatforms: gp == 1, Platform: name(c.platforms, p), AllLocales: gl == 1,
			Locale: name(c.locales, l), AllVariations: gv == 1, Variation: name(c.variation, v)}, rest)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("node query: %w", err)
	}
	return nil
}
