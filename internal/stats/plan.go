package stats

import (
	"math/big"
	"slices"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// plan is what a node query decides before it reads the store: the reported campaigns (targets) with their units
// and effective channels, their goals, and which units' funnel entries count for which targets.
type plan struct {
	q    NodesQuery
	days *time.Location // the day split of NodesDaily; nil for one range
	// targets are the reported campaigns in query order, each with its units (itself and, for a parent, its
	// children) and every unit's effective channel.
	targets []store.AggregateTarget
	infos   map[string]*campaignInfo
	// channels holds the effective channel of every target and unit.
	channels map[string]domain.Channel
	// unitTargets lists the targets each unit counts for; funnelUnits every unit once.
	unitTargets map[string][]string
	funnelUnits []string
	anyGoals    bool
}

// campaignInfo is what building a campaign's nodes needs besides node data.
type campaignInfo struct {
	channel     domain.Channel
	goals       []string
	attribution attribution.Type
	unique      bool
	// control holds the campaign-wide control-group cvr of each goal per day (SPEC §5.12 uplift base), nil when 0.
	control map[dayConv]*big.Rat
}

func newPlan(q NodesQuery, daily bool) *plan {
	p := &plan{q: q, infos: map[string]*campaignInfo{}, channels: map[string]domain.Channel{}, unitTargets: map[string][]string{}}
	if daily {
		p.days = q.Workspace.Location()
	}
	for _, id := range q.CampaignIDs {
		p.channels[id] = q.View.Channel(id)
		info := &campaignInfo{channel: p.channels[id], attribution: q.Attribution, unique: q.Unique, control: map[dayConv]*big.Rat{}}
		goalSet := map[string]bool{}
		t := store.AggregateTarget{ID: id}
		for _, u := range q.View.Units(id) {
			p.channels[u] = q.View.Channel(u)
			t.Units = append(t.Units, store.AggregateUnit{ID: u, Channel: p.channels[u]})
			if len(p.unitTargets[u]) == 0 {
				p.funnelUnits = append(p.funnelUnits, u)
			}
			p.unitTargets[u] = append(p.unitTargets[u], id)
			if g := q.View.Goals(u); g != nil {
				for _, goal := range g.Goals {
					goalSet[goal.Name] = true
				}
			}
		}
		for g := range goalSet {
			info.goals = append(info.goals, g)
		}
		slices.Sort(info.goals)
		p.anyGoals = p.anyGoals || len(info.goals) > 0
		p.infos[id] = info
		p.targets = append(p.targets, t)
	}
	return p
}

// aggregateQuery is the counter query of the requested metric type.
func (p *plan) aggregateQuery() store.AggregateQuery {
	return store.AggregateQuery{WorkspaceID: p.q.Workspace.ID, FromMS: p.q.FromMS, ToMS: p.q.ToMS, Unique: p.q.Unique,
		Targets: p.targets, Days: p.days, Shapes: p.q.Shapes}
}

// uniqueBases are the cvr bases that are distinct users whatever the metric type (see cvrBase).
var uniqueBases = []string{domain.MetricOpened, domain.MetricHeldCampaign, domain.MetricHeldGlobal}

// uniqueBasesQuery asks a TOTAL query's cvr bases that are distinct users whatever the metric type: email opens
// and held-out users (SPEC §5.12).
func (p *plan) uniqueBasesQuery() store.AggregateQuery {
	q := p.aggregateQuery()
	q.Unique, q.Metrics = true, uniqueBases
	return q
}

// conversionQuery is the credits query.
func (p *plan) conversionQuery() store.ConversionQuery {
	return store.ConversionQuery{WorkspaceID: p.q.Workspace.ID, FromMS: p.q.FromMS, ToMS: p.q.ToMS, Type: p.q.Attribution,
		Targets: p.targets, Days: p.days, Shapes: p.q.Shapes}
}
