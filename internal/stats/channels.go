package stats

import "github.com/campaignstats/campaignstats/internal/domain"

// rate is a performance rate field: numerator / denominator × 100.
type rate struct{ name, num, den string }

// channelFields is a channel's performance_stats layout (SPEC §5.9): counts, then rates, in output order.
type channelFields struct {
	counts []string
	rates  []rate
	// funnel lists the derived delivery_funnel stages (SPEC §5.13) as stage name → counter metric.
	funnel [][2]string
}

// fieldsFor returns the performance_stats layout of a channel; the zero layout for UNKNOWN.
func fieldsFor(ch domain.Channel) channelFields {
	const (
		attempted, sent, failed, impression, click = domain.MetricAttempted, domain.MetricSent, domain.MetricFailed, domain.MetricImpression, domain.MetricClick
		delivered, opened, read                    = domain.MetricDelivered, domain.MetricOpened, domain.MetricRead
	)
	sentRate := rate{"sent_rate", sent, attempted}
	failureRate := rate{"failure_rate", failed, attempted}
	switch ch {
	case domain.ChannelPush:
		return channelFields{
			counts: []string{attempted, sent, failed, impression, click},
			rates:  []rate{{"ctr", click, impression}, {"delivery_rate", impression, sent}, sentRate, failureRate},
			funnel: [][2]string{{"sent", sent}, {"impressions", impression}},
		}
	case domain.ChannelEmail:
		return channelFields{
			counts: []string{attempted, sent, failed, delivered, opened, click, domain.MetricUnsubscribe, domain.MetricComplaint,
				domain.MetricHardBounce, domain.MetricSoftBounce, domain.MetricBounced},
			rates: []rate{{"ctr", click, delivered}, {"open_rate", opened, delivered}, {"delivery_rate", delivered, sent},
				{"ctor", click, opened}, {"unsub_rate", domain.MetricUnsubscribe, delivered}, {"bounce_rate", domain.MetricBounced, sent},
				{"complaints_rate", domain.MetricComplaint, delivered}, sentRate, failureRate},
			funnel: [][2]string{{"sent", sent}, {"delivered", delivered}},
		}
	case domain.ChannelSMS:
		return channelFields{
			counts: []string{attempted, sent, failed, delivered, click},
			rates:  []rate{{"ctr", click, delivered}, {"delivery_rate", delivered, sent}, sentRate, failureRate},
			funnel: [][2]string{{"sent", sent}, {"delivered", delivered}},
		}
	case domain.ChannelWhatsApp:
		return channelFields{
			counts: []string{attempted, sent, failed, delivered, read, click},
			rates: []rate{{"ctr", click, delivered}, {"delivery_rate", delivered, sent}, {"read_rate", read, delivered},
				sentRate, failureRate},
			funnel: [][2]string{{"sent", sent}, {"delivered", delivered}},
		}
	case domain.ChannelInApp, domain.ChannelOnSite:
		return channelFields{
			counts: []string{impression, click, domain.MetricClosedClick},
			rates:  []rate{{"ctr", click, impression}},
			funnel: [][2]string{{"impressions", impression}},
		}
	case domain.ChannelCards:
		return channelFields{
			counts: []string{sent, delivered, impression, click},
			rates:  []rate{{"ctr", click, impression}, {"delivery_rate", delivered, sent}},
			funnel: [][2]string{{"sent", sent}, {"delivered", delivered}, {"impressions", impression}},
		}
	case domain.ChannelConnectors:
		return channelFields{counts: []string{sent}, funnel: [][2]string{{"sent", sent}}}
	case domain.ChannelFacebook, domain.ChannelGoogleAds:
		return channelFields{counts: []string{domain.MetricSynced}}
	}
	return channelFields{}
}

// DerivedFunnelStages returns the delivery_funnel stage names derived from events for a channel (SPEC §5.13);
// they cannot be posted.
func DerivedFunnelStages(ch domain.Channel) []string {
	var out []string
	for _, f := range fieldsFor(ch).funnel {
		out = append(out, f[0])
	}
	return out
}
