package domain

// Metric names produced by store aggregates and consumed by the metric engine. They are the Stats API's counter
// names (SPEC §5.9); FailurePrefix+key carries failure_breakdown entries (SPEC §5.14).
const (
	MetricAttempted    = "attempted"
	MetricSent         = "sent"
	MetricFailed       = "failed"
	MetricImpression   = "impression"
	MetricClick        = "click"
	MetricDelivered    = "delivered"
	MetricOpened       = "open"
	MetricRead         = "read"
	MetricUnsubscribe  = "unsubscribe"
	MetricComplaint    = "complaint"
	MetricHardBounce   = "hard_bounce"
	MetricSoftBounce   = "soft_bounce"
	MetricBounced      = "bounced"
	MetricClosedClick  = "closed_click"
	MetricSynced       = "successfully_synced"
	MetricHeldCampaign = "held_out_campaign"
	MetricHeldGlobal   = "held_out_global"
	FailurePrefix      = "failure:"
)

// CounterMetrics lists the metrics an event with counter c contributes to, derived counters included (SPEC §4.3).
// Failure-breakdown metrics are added separately from the event's FailureKey.
func CounterMetrics(c Counter) []string {
	switch c {
	case CounterSent:
		return []string{MetricSent, MetricAttempted}
	case CounterImpression:
		return []string{MetricImpression}
	case CounterClick:
		return []string{MetricClick}
	case CounterFailedSend:
		return []string{MetricFailed, MetricAttempted}
	case CounterFailedDelivery:
		return []string{MetricFailed}
	case CounterDelivered:
		return []string{MetricDelivered}
	case CounterOpened:
		return []string{MetricOpened}
	case CounterRead:
		return []string{MetricRead}
	case CounterHardBounce:
		return []string{MetricHardBounce, MetricBounced}
	case CounterSoftBounce:
		return []string{MetricSoftBounce, MetricBounced}
	case CounterUnsubscribe:
		return []string{MetricUnsubscribe}
	case CounterComplaint:
		return []string{MetricComplaint}
	case CounterClosedClick:
		return []string{MetricClosedClick}
	case CounterSynced:
		return []string{MetricSynced}
	case CounterHeldOutCampaign:
		return []string{MetricHeldCampaign}
	case CounterHeldOutGlobal:
		return []string{MetricHeldGlobal}
	}
	return nil
}

// HasFailureBreakdown reports whether events with counter c appear in failure_breakdown (SPEC §5.14).
func HasFailureBreakdown(c Counter) bool {
	switch c {
	case CounterFailedSend, CounterFailedDelivery, CounterHeldOutCampaign, CounterHeldOutGlobal:
		return true
	}
	return false
}

// CounterMetric is a metric with the set of stored counters whose events it counts (a bit per Counter value).
type CounterMetric struct {
	Name     string
	Counters uint32
}

// CounterMetricSets lists every counter metric with its counters, derived from CounterMetrics. TOTAL of a metric
// is the number of events with one of its counters; UNIQUE is the number of users with at least one such event.
func CounterMetricSets() []CounterMetric {
	var out []CounterMetric
	index := map[string]int{}
	for c := CounterSent; c <= CounterHeldOutGlobal; c++ {
		for _, m := range CounterMetrics(c) {
			i, ok := index[m]
			if !ok {
				i = len(out)
				index[m] = i
				out = append(out, CounterMetric{Name: m})
			}
			out[i].Counters |= 1 << uint(c)
		}
	}
	return out
}
