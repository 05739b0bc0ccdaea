package stats

import (
	"math/big"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
)

const microsPerUnit = 1_000_000

// cvrBase is the denominator of a node's cvr (SPEC §5.12).
func cvrBase(group attribution.Group, info *campaignInfo, d *nodeData) int64 {
	switch group {
	case attribution.CampaignControl:
		return d.unique[domain.MetricHeldCampaign]
	case attribution.GlobalControl:
		return d.unique[domain.MetricHeldGlobal]
	}
	viewBased := info.attribution == attribution.ViewThrough || info.attribution == attribution.TotalConversions
	if !viewBased {
		return d.metrics[domain.MetricClick]
	}
	switch info.channel {
	case domain.ChannelPush, domain.ChannelInApp, domain.ChannelOnSite, domain.ChannelCards:
		return d.metrics[domain.MetricImpression]
	case domain.ChannelEmail:
		return d.unique[domain.MetricOpened]
	case domain.ChannelSMS, domain.ChannelWhatsApp:
		return d.metrics[domain.MetricDelivered]
	case domain.ChannelConnectors:
		return d.metrics[domain.MetricSent]
	case domain.ChannelFacebook, domain.ChannelGoogleAds:
		return d.metrics[domain.MetricSynced]
	}
	return 0
}

// goalStats computes one conversion_goal_stats entry of a node (SPEC §5.12), rounding once at output.
func goalStats(goal string, group attribution.Group, day int32, info *campaignInfo, d *nodeData) GoalResult {
	r := d.conv[convKey{group, goal}]
	g := GoalResult{Name: goal, Total: r.Total, Unique: r.Unique, Conversions: r.Total}
	if info.unique {
		g.Conversions = r.Unique
	}
	g.Revenue = Ratio(r.RevenueMicros, microsPerUnit, 1)
	g.AverageOrderValue = Ratio(r.RevenueMicros, r.Total*microsPerUnit, 1)
	g.AverageRevenuePerUser = Ratio(r.RevenueMicros, r.Unique*microsPerUnit, 1)
	base := cvrBase(group, info, d)
	g.CVR = Ratio(r.Unique, base, 100)
	if group != attribution.Regular {
		return g // uplift and gcg_uplift are 0 in control-group nodes
	}
	cvr := new(big.Rat)
	if base != 0 {
		cvr.SetFrac64(r.Unique, base)
	}
	uplift := func(ctl *big.Rat) Decimal {
		if ctl == nil || ctl.Sign() == 0 {
			return 0
		}
		u := new(big.Rat).Sub(cvr, ctl)
		u.Quo(u, ctl)
		return RatRound(u.Mul(u, big.NewRat(100, 1)))
	}
	g.Uplift = uplift(info.control[dayConv{day, convKey{attribution.CampaignControl, goal}}])
	g.GCGUplift = uplift(info.control[dayConv{day, convKey{attribution.GlobalControl, goal}}])
	return g
}
