package duckdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// Conversion credits are maintained incrementally inside the append transaction (SPEC §6): a new goal event is
// evaluated at once; a new interaction or held-out view re-evaluates the goal events of its user that it could
// explain ([s, s + longest window]). A catalog change that affects attribution (goals, windows, channels,
// parents) rebuilds the workspace's credits. Credits therefore never depend on arrival order, and a Stats call
// right after a 200 sees them.

// creditState is the per-workspace attribution state kept in memory. It is replaced (never mutated) and installed
// only after the transaction that made the credits match it has committed.
type creditState struct {
	// catalog is the cached catalog map the view, attribution catalog and signatures were derived from: the cache
	// replaces its map on every change, so an identical map means they can be reused as they are.
	catalog    map[string]domain.Campaign
	view       *domain.CatalogView
	attrib     *attribution.Catalog
	signatures map[string]string // per campaign: the attribution-relevant catalog state its credits were computed for
	// goalTimes holds, per user, the sorted times of their stored events whose action name is a goal event name.
	// It may hold extra entries (from a transaction that rolled back): that only costs an extra evaluation.
	goalTimes map[int64][]int64
	goalNames map[string]bool // the goal event names goalTimes was built for
}

// signatures digests, per campaign, everything in the catalog that changes its credits: effective channel,
// parent and (inherited) goals with their window.
func signatures(view *domain.CatalogView) map[string]string {
	out := map[string]string{}
	for _, c := range view.All() {
		goals, _ := json.Marshal(view.Goals(c.ID))
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s", view.Channel(c.ID), view.Parent(c.ID), goals))
		out[c.ID] = string(sum[:])
	}
	return out
}

// needsRebuild reports whether a campaign the credits were computed for changed or disappeared. New campaigns do
// not need one: their events are evaluated incrementally as they arrive.
func (st *creditState) needsRebuild(sigs map[string]string, names map[string]bool) bool {
	if !sameNames(st.goalNames, names) {
		return true
	}
	for id, old := range st.signatures {
		if sigs[id] != old {
			return true
		}
	}
	return false
}

// window is a time range [from, to] of goal events of one user to re-evaluate.
type window struct{ from, to int64 }

// updateCredits maintains the credits of workspace ws for the events stored in this transaction; changed are the
// catalog records written in it (not yet in the cache). It returns the state to install after the commit.
func (s *Store) updateCredits(ctx context.Context, conn *sql.Conn, ws string, stored []domain.Event, changed []domain.Campaign,
	userID func(string) int64) (*creditState, error) {
	cs, err := s.cachedCatalog(ctx, ws)
	if err != nil {
		return nil, err
	}
	st, err := s.creditStateOf(ctx, ws)
	if err != nil {
		return nil, err
	}
	var next *creditState
	if len(changed) == 0 && st != nil && st.catalog != nil && reflect.ValueOf(st.catalog).UnsafePointer() == reflect.ValueOf(cs).UnsafePointer() {
		// The catalog is the one the state was computed for: nothing to rebuild, and its derived forms still hold.
		next = &creditState{catalog: cs, view: st.view, attrib: st.attrib, signatures: st.signatures, goalTimes: st.goalTimes,
			goalNames: st.goalNames}
	} else {
		byID := make(map[string]domain.Campaign, len(cs)+len(changed))
		for id, c := range cs {
			byID[id] = c
		}
		for _, c := range changed {
			byID[c.ID] = c
		}
		list := make([]domain.Campaign, 0, len(byID))
		for _, c := range byID {
			list = append(list, c)
		}
		view := domain.NewCatalogView(list)
		cat := attribution.NewCatalog(view)
		sigs := signatures(view)
		if st == nil || st.needsRebuild(sigs, cat.GoalNames()) {
			rebuilt, err := s.rebuildCredits(ctx, conn, ws, view, cat, sigs)
			if err == nil && len(changed) == 0 {
				rebuilt.catalog = cs
			}
			return rebuilt, err
		}
		next = &creditState{view: view, attrib: cat, signatures: sigs, goalTimes: st.goalTimes, goalNames: cat.GoalNames()}
		if len(changed) == 0 {
			next.catalog = cs
		}
	}
	view, cat, names := next.view, next.attrib, next.goalNames
	if len(names) == 0 {
		return next, nil
	}
	affected := map[int64][]window{}
	maxW := cat.MaxWindowMS()
	for i := range stored {
		e := &stored[i]
		if !e.Campaign && (names[e.Name] || names[e.Code]) {
			uid := userID(e.UserKey)
			next.goalTimes[uid] = insertSorted(next.goalTimes[uid], e.TimeMS)
			affected[uid] = append(affected[uid], window{e.TimeMS, e.TimeMS})
		}
	}
	for i := range stored {
		e := &stored[i]
		if !e.Campaign || e.Class == domain.ClassNone {
			continue
		}
		// An interaction at s can only change goal events of its user in [s, s + longest window].
		uid := userID(e.UserKey)
		if times := next.goalTimes[uid]; hasTimeIn(times, e.TimeMS, e.TimeMS+maxW) {
			affected[uid] = append(affected[uid], window{e.TimeMS, e.TimeMS + maxW})
		}
	}
	if len(affected) == 0 {
		return next, nil
	}
	return next, s.evaluateUsers(ctx, conn, ws, view, cat, affected, false)
}

// creditStateOf returns the workspace's attribution state; nil when it has not been computed in this process.
func (s *Store) creditStateOf(ctx context.Context, ws string) (*creditState, error) {
	s.catalogMu.RLock()
	defer s.catalogMu.RUnlock()
	return s.credits[ws], nil
}

// insertSorted inserts t into the sorted slice.
func insertSorted(times []int64, t int64) []int64 {
	i := sort.Search(len(times), func(i int) bool { return times[i] >= t })
	times = append(times, 0)
	copy(times[i+1:], times[i:])
	times[i] = t
	return times
}

// hasTimeIn reports whether a sorted slice holds a time in [from, to].
func hasTimeIn(times []int64, from, to int64) bool {
	i := sort.Search(len(times), func(i int) bool { return times[i] >= from })
	return i < len(times) && times[i] <= to
}

func sameNames(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// rebuildCredits recomputes every credit of the workspace.
func (s *Store) rebuildCredits(ctx context.Context, conn *sql.Conn, ws string, view *domain.CatalogView, cat *attribution.Catalog,
	sigs map[string]string) (*creditState, error) {
	names := cat.GoalNames()
	st := &creditState{view: view, attrib: cat, signatures: sigs, goalTimes: map[int64][]int64{}, goalNames: names}
	if _, err := conn.ExecContext(ctx, `DELETE FROM credits WHERE ws = ?`, ws); err != nil {
		return nil, fmt.Errorf("rebuild credits: %w", err)
	}
	if len(names) > 0 {
		rows, err := conn.QueryContext(ctx, `SELECT user_id, ts FROM events WHERE ws = ? AND NOT is_campaign
			AND (name IN (SELECT unnest(?::VARCHAR[])) OR code IN (SELECT unnest(?::VARCHAR[]))) ORDER BY user_id, ts`, ws, keys(names), keys(names))
		if err != nil {
			return nil, fmt.Errorf("rebuild credits: %w", err)
		}
		for rows.Next() {
			var u, t int64
			if err := rows.Scan(&u, &t); err != nil {
				rows.Close()
				return nil, fmt.Errorf("rebuild credits: %w", err)
			}
			st.goalTimes[u] = append(st.goalTimes[u], t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("rebuild credits: %w", err)
		}
		all := map[int64][]window{}
		for u := range st.goalTimes {
			all[u] = []window{{-1 << 62, 1 << 62}}
		}
		if err := s.evaluateUsers(ctx, conn, ws, view, cat, all, true); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// installCredits records committed attribution states.
func (s *Store) installCredits(states map[string]*creditState) {
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	for ws, st := range states {
		if st != nil {
			s.credits[ws] = st
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evaluateUsers recomputes the credits of the goal events of the given users that lie in their windows.
// fresh is true when the workspace's credits were just deleted.
func (s *Store) evaluateUsers(ctx context.Context, conn *sql.Conn, ws string, view *domain.CatalogView, cat *attribution.Catalog,
	affected map[int64][]window, fresh bool) error {
	users := make([]int64, 0, len(affected))
	for u := range affected {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	names := keys(cat.GoalNames())
	maxW := cat.MaxWindowMS()
	const chunk = 2000
	for start := 0; start < len(users); start += chunk {
		part := users[start:min(start+chunk, len(users))]
		lo, hi := int64(1<<62), int64(-1<<62)
		for _, u := range part {
			for _, w := range affected[u] {
				lo, hi = min(lo, w.from), max(hi, w.to)
			}
		}
		// One scan reads both the goal events in the windows and the interactions that could explain them.
		goals, interactions, err := loadUserEvents(ctx, conn, ws, part, view, names, lo, hi, lo-maxW, hi)
		if err != nil {
			return err
		}
		var todo []goalRow
		for _, g := range goals {
			for _, w := range affected[g.user] {
				if g.event.TimeMS >= w.from && g.event.TimeMS <= w.to {
					todo = append(todo, g)
					break
				}
			}
		}
		if len(todo) == 0 {
			continue
		}
		var credits []attribution.Credit
		var userOf []int64
		uuids := make([]string, 0, len(todo))
		for _, g := range todo {
			uuids = append(uuids, g.event.UUID)
			for _, c := range cat.Evaluate(g.event, interactions[g.user]) {
				credits = append(credits, c)
				userOf = append(userOf, g.user)
			}
		}
		if !fresh {
			if _, err := conn.ExecContext(ctx, `DELETE FROM credits WHERE ws = ? AND goal_uuid IN (SELECT unnest(?::VARCHAR[]))`, ws, uuids); err != nil {
				return fmt.Errorf("replace credits: %w", err)
			}
		}
		if err := appendCredits(conn, ws, credits, userOf); err != nil {
			return err
		}
	}
	return nil
}

type goalRow struct {
	user  int64
	event attribution.GoalEvent
}

// loadUserEvents reads, in one scan of the events table, the users' stored user events whose action names are
// goal event names with times in [goalLo, goalHi], and their interactions and held-out views with times in
// [interLo, interHi] that feed a counter for their unit's channel, with dimensions resolved under that channel.
func loadUserEvents(ctx context.Context, conn *sql.Conn, ws string, users []int64, view *domain.CatalogView, names []string,
	goalLo, goalHi, interLo, interHi int64) ([]goalRow, map[int64][]attribution.Interaction, error) {
	rows, err := conn.QueryContext(ctx, `SELECT user_id, is_campaign, uuid, ts, name, code, attributes, campaign_id, class,
			counter, channels, platform, pdef, locale, variation
		FROM events WHERE ws = ? AND user_id IN (SELECT unnest(?::BIGINT[])) AND (
			(NOT is_campaign AND ts >= ? AND ts <= ? AND (name IN (SELECT unnest(?::VARCHAR[])) OR code IN (SELECT unnest(?::VARCHAR[]))))
			OR (is_campaign AND class <> 0 AND ts >= ? AND ts <= ?))`,
		ws, users, goalLo, goalHi, names, names, interLo, interHi)
	if err != nil {
		return nil, nil, fmt.Errorf("load user events: %w", err)
	}
	defer rows.Close()
	var goals []goalRow
	interactions := map[int64][]attribution.Interaction{}
	channels := map[string]domain.Channel{}
	for rows.Next() {
		var u, ts int64
		var campaign bool
		var uuid, name, code, unit, platform, locale, variation string
		var attrs sql.NullString
		var class, counter, pdef uint8
		var chans uint16
		if err := rows.Scan(&u, &campaign, &uuid, &ts, &name, &code, &attrs, &unit, &class, &counter, &chans, &platform, &pdef,
			&locale, &variation); err != nil {
			return nil, nil, fmt.Errorf("load user events: %w", err)
		}
		if !campaign {
			g := goalRow{user: u, event: attribution.GoalEvent{UUID: uuid, TimeMS: ts}}
			for _, n := range []string{name, code} {
				if n != "" {
					g.event.Names = append(g.event.Names, n)
				}
			}
			if attrs.Valid {
				g.event.Attributes = json.RawMessage(attrs.String)
			}
			goals = append(goals, g)
			continue
		}
		ch, ok := channels[unit]
		if !ok {
			ch = view.Channel(unit)
			channels[unit] = ch
		}
		if !domain.ChannelSet(chans).Has(ch) {
			continue
		}
		in := attribution.Interaction{Unit: unit, UUID: uuid, TimeMS: ts, Class: domain.InteractionClass(class), Locale: locale,
			Variation: variation, Platform: domain.ResolvePlatform(ch, platform, domain.PlatformDefault(pdef))}
		switch domain.Counter(counter) {
		case domain.CounterHeldOutCampaign:
			in.Group = attribution.CampaignControl
		case domain.CounterHeldOutGlobal:
			in.Group = attribution.GlobalControl
		}
		interactions[u] = append(interactions[u], in)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load user events: %w", err)
	}
	return goals, interactions, nil
}

func appendCredits(conn *sql.Conn, ws string, credits []attribution.Credit, userOf []int64) error {
	if len(credits) == 0 {
		return nil
	}
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "credits")
		if err != nil {
			return fmt.Errorf("credits appender: %w", err)
		}
		for i, c := range credits {
			if err := app.AppendRow(ws, c.GoalUUID, userOf[i], c.TimeMS, c.Unit, c.Goal, uint8(c.Type), uint8(c.Group),
				c.Platform, c.Locale, c.Variation, c.RevenueMicros); err != nil {
				app.Close()
				return fmt.Errorf("append credit: %w", err)
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush credits: %w", err)
		}
		return nil
	})
}
