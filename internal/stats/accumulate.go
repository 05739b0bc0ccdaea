package stats

import (
	"fmt"
	"math/big"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// nodeKey addresses one variation node of one campaign on one day (day 0 without a day split), by its output keys.
type nodeKey struct {
	day                                   int32
	campaign, platform, locale, variation string
}

// nodeData accumulates a node's numbers.
type nodeData struct {
	metrics map[string]int64 // counter metrics of the requested metric type
	unique  map[string]int64 // UNIQUE counter metrics (cvr bases that are always distinct users)
	posted  map[string]int64
	conv    map[convKey]store.ConversionRow
}

type convKey struct {
	group attribution.Group
	goal  string
}

// dayConv is a campaign-wide control-group goal on one day.
type dayConv struct {
	day int32
	convKey
}

func newNodeData() *nodeData {
	return &nodeData{metrics: map[string]int64{}, unique: map[string]int64{}, posted: map[string]int64{}, conv: map[convKey]store.ConversionRow{}}
}

// isHeldOut reports whether a metric counts held-out users.
func isHeldOut(metric string) bool {
	return metric == domain.MetricHeldCampaign || metric == domain.MetricHeldGlobal
}

// accumulator turns the store's rows into node data keyed by output keys.
type accumulator struct {
	p    *plan
	data map[nodeKey]*nodeData
}

func newAccumulator(p *plan) *accumulator {
	return &accumulator{p: p, data: map[nodeKey]*nodeData{}}
}

// key maps a store node to its output keys (SPEC §13.1): the aggregate keys ALL_PLATFORMS, all_locale and
// all_variations; device platforms upper-case. ok is false for nodes a response never shows: events without a
// locale or variation count only in the aggregate keys, and so do events without a device platform (channels
// whose only platform key is ALL_PLATFORMS, §13.1) — as do all specific platforms of such a target.
func (a *accumulator) key(n store.NodeRef) (nodeKey, bool) {
	k := nodeKey{day: n.Day, campaign: n.Target, platform: domain.AllPlatforms, locale: domain.AllLocales, variation: domain.AllVariations}
	if !n.AllPlatforms {
		p, ok := domain.PlatformKey(n.Platform)
		if !ok || a.p.channels[n.Target].PlatformIsChannel() {
			return nodeKey{}, false
		}
		k.platform = p
	}
	if !n.AllLocales {
		if n.Locale == "" {
			return nodeKey{}, false
		}
		k.locale = n.Locale
	}
	if !n.AllVariations {
		if n.Variation == "" {
			return nodeKey{}, false
		}
		k.variation = n.Variation
	}
	return k, true
}

// node returns the data of a node, creating it.
func (a *accumulator) node(k nodeKey) *nodeData {
	d, ok := a.data[k]
	if !ok {
		d = newNodeData()
		a.data[k] = d
	}
	return d
}

// addMetrics adds counter rows of the requested metric type; every row creates its node.
func (a *accumulator) addMetrics(rows []store.AggregateRow) {
	for _, r := range rows {
		if k, ok := a.key(r.NodeRef); ok {
			d := a.node(k)
			if !(r.AllVariations && isHeldOut(r.Metric)) { // held-out users never count in all_variations
				d.metrics[r.Metric] += r.Value
			}
		}
	}
}

// addUniqueBases adds UNIQUE rows used as cvr bases to the nodes that exist.
func (a *accumulator) addUniqueBases(rows []store.AggregateRow) {
	for _, r := range rows {
		if k, ok := a.key(r.NodeRef); ok && a.data[k] != nil && !(r.AllVariations && isHeldOut(r.Metric)) {
			a.data[k].unique[r.Metric] += r.Value
		}
	}
}

// addConversions adds conversion rows; every row creates its node.
func (a *accumulator) addConversions(rows []store.ConversionRow) {
	for _, r := range rows {
		if k, ok := a.key(r.NodeRef); ok {
			d := a.node(k)
			if !r.AllVariations || r.Group == attribution.Regular { // control-group credits never count in all_variations
				d.conv[convKey{r.Group, r.Goal}] = r
			}
		}
	}
}

// addFunnel adds posted funnel entries (SPEC §5.13): each counts in its platform (for device channels) and in
// ALL_PLATFORMS, at its locale and variation and in the aggregate keys, for every target its unit counts for.
func (a *accumulator) addFunnel(entries []store.FunnelEntry) error {
	for _, fe := range entries {
		var day int32
		if a.p.days != nil {
			d, err := time.Parse(time.DateOnly, fe.Date)
			if err != nil {
				return fmt.Errorf("stats: funnel entry date %q: %w", fe.Date, err)
			}
			day = store.DayNumber(d.Date())
		}
		control := fe.Variation == domain.CampaignControlGroup || fe.Variation == domain.GlobalControlGroup
		locales := []string{domain.AllLocales}
		if fe.Locale != "" {
			locales = append(locales, fe.Locale)
		}
		var variations []string
		if !control {
			variations = append(variations, domain.AllVariations)
		}
		if fe.Variation != "" {
			variations = append(variations, fe.Variation)
		}
		for _, t := range a.p.unitTargets[fe.CampaignID] {
			platforms := []string{domain.AllPlatforms}
			if !a.p.channels[fe.CampaignID].PlatformIsChannel() && !a.p.channels[t].PlatformIsChannel() {
				stored := fe.Platform
				if stored == "" {
					stored = domain.PlatformUnknown
				}
				if p, ok := domain.PlatformKey(stored); ok {
					platforms = append(platforms, p)
				}
			}
			for _, p := range platforms {
				for _, l := range locales {
					for _, v := range variations {
						a.node(nodeKey{day, t, p, l, v}).posted[fe.Stage] += fe.Value
					}
				}
			}
		}
	}
	return nil
}

// controlRates sets each campaign's campaign-wide control-group cvr per goal and day (SPEC §5.12 uplift base):
// the cvr of its control-group node at ALL_PLATFORMS / all_locale.
func (a *accumulator) controlRates() {
	for k, d := range a.data {
		if k.platform != domain.AllPlatforms || k.locale != domain.AllLocales {
			continue
		}
		group, metric := attribution.CampaignControl, domain.MetricHeldCampaign
		switch k.variation {
		case domain.CampaignControlGroup:
		case domain.GlobalControlGroup:
			group, metric = attribution.GlobalControl, domain.MetricHeldGlobal
		default:
			continue
		}
		base := d.unique[metric]
		for ck, r := range d.conv {
			if ck.group == group && base > 0 && r.Unique > 0 {
				a.p.infos[k.campaign].control[dayConv{k.day, ck}] = big.NewRat(r.Unique, base)
			}
		}
	}
}

// result arranges the node data by campaign and day.
func (a *accumulator) result() *computed {
	c := &computed{infos: a.p.infos, trees: map[campaignDay]tree{}}
	for k, d := range a.data {
		t := c.trees[campaignDay{k.campaign, k.day}]
		if t == nil {
			t = tree{}
			c.trees[campaignDay{k.campaign, k.day}] = t
		}
		if t[k.platform] == nil {
			t[k.platform] = map[string]map[string]*nodeData{}
		}
		if t[k.platform][k.locale] == nil {
			t[k.platform][k.locale] = map[string]*nodeData{}
		}
		t[k.platform][k.locale][k.variation] = d
	}
	return c
}
