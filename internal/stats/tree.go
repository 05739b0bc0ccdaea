package stats

import (
	"slices"
	"strings"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

// computed is the node data of one Nodes or NodesDaily query.
type computed struct {
	infos map[string]*campaignInfo
	trees map[campaignDay]tree
}

type campaignDay struct {
	campaign string
	day      int32
}

// tree is one campaign's node data on one day: platform → locale → variation.
type tree map[string]map[string]map[string]*nodeData

// platforms builds one campaign's ordered node tree on one day (SPEC §13.1 order): ALL_PLATFORMS, then device
// platforms ascending; all_locale, then locales ascending; variations as orderVariations.
func (c *computed) platforms(id string, day int32) []PlatformResult {
	t := c.trees[campaignDay{id, day}]
	if len(t) == 0 {
		return nil
	}
	info := c.infos[id]
	fields := fieldsFor(info.channel)
	var out []PlatformResult
	for _, p := range orderFirst(domain.AllPlatforms, sortedKeys(t)) {
		pr := PlatformResult{Key: p}
		locs := t[p]
		for _, l := range orderFirst(domain.AllLocales, sortedKeys(locs)) {
			lr := LocaleResult{Key: l}
			vars := locs[l]
			if vars == nil {
				vars = map[string]*nodeData{}
			}
			if vars[domain.AllVariations] == nil {
				vars[domain.AllVariations] = newNodeData()
			}
			for _, v := range orderVariations(sortedKeys(vars)) {
				lr.Variations = append(lr.Variations, buildNode(v, day, fields, info, vars[v]))
			}
			pr.Locales = append(pr.Locales, lr)
		}
		out = append(out, pr)
	}
	return out
}

// zeroTree is the tree of a campaign with nothing in range (SPEC §13.1): one node at ALL_PLATFORMS / all_locale /
// all_variations with the channel's performance fields, goals and derived funnel stages at zero.
func (c *computed) zeroTree(id string) []PlatformResult {
	info := c.infos[id]
	node := buildNode(domain.AllVariations, 0, fieldsFor(info.channel), info, newNodeData())
	return []PlatformResult{{Key: domain.AllPlatforms, Locales: []LocaleResult{{Key: domain.AllLocales, Variations: []VariationResult{node}}}}}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// orderFirst puts the aggregate key first (whether or not keys holds it), the rest in the given order.
func orderFirst(aggregate string, keys []string) []string {
	out := []string{aggregate}
	for _, k := range keys {
		if k != aggregate {
			out = append(out, k)
		}
	}
	return out
}

// orderVariations: all_variations, specific ones ascending, campaign_control_group, global_control_group.
func orderVariations(keys []string) []string {
	out := []string{domain.AllVariations}
	var ccg, gcg bool
	for _, k := range keys {
		switch k {
		case domain.AllVariations:
		case domain.CampaignControlGroup:
			ccg = true
		case domain.GlobalControlGroup:
			gcg = true
		default:
			out = append(out, k)
		}
	}
	if ccg {
		out = append(out, domain.CampaignControlGroup)
	}
	if gcg {
		out = append(out, domain.GlobalControlGroup)
	}
	return out
}

func buildNode(key string, day int32, fields channelFields, info *campaignInfo, d *nodeData) VariationResult {
	vr := VariationResult{Key: key}
	group := attribution.Regular
	switch key {
	case domain.CampaignControlGroup:
		group = attribution.CampaignControl
	case domain.GlobalControlGroup:
		group = attribution.GlobalControl
	}
	vr.Control = group != attribution.Regular
	if !vr.Control {
		for _, c := range fields.counts {
			vr.Performance = append(vr.Performance, Field{Name: c, Count: d.metrics[c]})
		}
		for _, r := range fields.rates {
			vr.Performance = append(vr.Performance, Field{Name: r.name, IsRate: true, Rate: Ratio(d.metrics[r.num], d.metrics[r.den], 100)})
		}
		for _, f := range fields.funnel {
			vr.Funnel = append(vr.Funnel, Count{f[0], d.metrics[f[1]]})
		}
	}
	for _, goal := range info.goals {
		vr.Goals = append(vr.Goals, goalStats(goal, group, day, info, d))
	}
	for _, stage := range sortedKeys(d.posted) {
		vr.Funnel = append(vr.Funnel, Count{stage, d.posted[stage]})
	}
	if vr.Control {
		metric, name := domain.MetricHeldCampaign, domain.FailureKeyCampaignControlGroup
		if group == attribution.GlobalControl {
			metric, name = domain.MetricHeldGlobal, domain.FailureKeyGlobalControlGroup
		}
		if n := d.metrics[metric]; n > 0 {
			vr.Failures = append(vr.Failures, Count{name, n})
		}
	} else {
		for _, m := range sortedKeys(d.metrics) {
			if k, ok := strings.CutPrefix(m, domain.FailurePrefix); ok && d.metrics[m] > 0 {
				vr.Failures = append(vr.Failures, Count{k, d.metrics[m]})
			}
		}
	}
	return vr
}
