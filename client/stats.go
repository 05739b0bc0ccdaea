package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// StatsPath is the path of the Campaign Stats API (SPEC §5).
const StatsPath = "/core-services/v1/campaign-stats"

// StatsRequest is the Campaign Stats request body (SPEC §5.3). Nil Offset / Limit are omitted (server defaults 0 /
// 10); an empty CampaignIDs is omitted (all active campaigns).
type StatsRequest struct {
	RequestID       string   `json:"request_id"`
	CampaignIDs     []string `json:"campaign_ids,omitempty"`
	StartDate       string   `json:"start_date"`
	EndDate         string   `json:"end_date"`
	AttributionType string   `json:"attribution_type"`
	MetricType      string   `json:"metric_type"`
	Offset          *int     `json:"offset,omitempty"`
	Limit           *int     `json:"limit,omitempty"`
}

// Keys of the Stats response nesting data[cid][0].platforms[P].locales[L].variations[V], in the live wire format of
// SPEC §13.1.
const (
	// AllPlatforms is the platform key of the node over every platform of a campaign. Every campaign in a response
	// has it, listed first; for channels without device platforms (EMAIL, SMS, WHATSAPP, CONNECTORS, FACEBOOK,
	// GOOGLE_ADS) it is the only platform key.
	AllPlatforms = "ALL_PLATFORMS"
	// AllLocale is the locale key of the node over every locale, listed first.
	AllLocale = "all_locale"
	// AllVariations is the variation key of the node over every variation (control groups excluded).
	AllVariations = "all_variations"
	// CampaignControlGroup and GlobalControlGroup are the control-group variation keys.
	CampaignControlGroup = "campaign_control_group"
	GlobalControlGroup   = "global_control_group"
)

// Device-platform keys of PUSH, IN_APP, ON_SITE and CARDS campaigns (SPEC §13.1: upper case), listed after
// AllPlatforms in ascending order.
const (
	PlatformAndroid = "ANDROID"
	PlatformIOS     = "IOS"
	PlatformWeb     = "WEB"
	PlatformWindows = "WINDOWS"
	PlatformUnknown = "UNKNOWN"
)

// StatsResponse is the 200 body of the Campaign Stats API (SPEC §5.8, with the keys of §13.1).
type StatsResponse struct {
	ResponseID     string                     `json:"response_id"`
	TotalCampaigns int                        `json:"total_campaigns"`
	CurrentPage    int                        `json:"current_page"`
	TotalPages     int                        `json:"total_pages"`
	Data           map[string][]CampaignStats `json:"data"`
	DataOrder      []string                   `json:"-"` // campaign ids in the order of the JSON `data` object
	Raw            json.RawMessage            `json:"-"` // the whole body as received

	dataRaw map[string]json.RawMessage // each campaign's value as received, for order-preserving merges
}

// CampaignStats is the single element of data[campaign_id]. Platforms is keyed by AllPlatforms and the device
// platforms (PlatformAndroid, …); a campaign selected with nothing in range still has the node
// AllPlatforms/AllLocale/AllVariations, with zeros (SPEC §13.1).
type CampaignStats struct {
	Platforms map[string]PlatformStats `json:"platforms"`
}

// Node returns the variation node at platform, locale and variation, and whether it is present. For example
// Node(AllPlatforms, AllLocale, AllVariations) is the campaign's overall node.
func (c CampaignStats) Node(platform, locale, variation string) (VariationNode, bool) {
	n, ok := c.Platforms[platform].Locales[locale].Variations[variation]
	return n, ok
}

// PlatformStats is platforms[P].
type PlatformStats struct {
	Locales map[string]LocaleStats `json:"locales"`
}

// LocaleStats is locales[L]: AllLocale, then the locale keys of the events.
type LocaleStats struct {
	Variations map[string]VariationNode `json:"variations"`
}

// VariationNode is variations[V] (SPEC §5.8). Control-group nodes have no performance_stats: PerformanceStats is
// then nil and HasPerformanceStats false.
//
// PerformanceStats holds the campaign channel's fields of SPEC §5.9 under their wire names, which §13.1 fixes for
// the live format: the email open counter is "open" (not "opened"), next to "open_rate" = open/delivered and
// "ctor" = click/open; the other names are unchanged ("bounced", "impression", "click", "read", …).
type VariationNode struct {
	PerformanceStats    map[string]float64   `json:"performance_stats,omitempty"`
	ConversionGoalStats map[string]GoalStats `json:"conversion_goal_stats"`
	DeliveryFunnel      map[string]int64     `json:"delivery_funnel"`
	FailureBreakdown    map[string]int64     `json:"failure_breakdown"`
	HasPerformanceStats bool                 `json:"-"` // the performance_stats key was present in the JSON
}

type variationNodeJSON struct {
	PerformanceStats    json.RawMessage      `json:"performance_stats,omitempty"`
	ConversionGoalStats map[string]GoalStats `json:"conversion_goal_stats"`
	DeliveryFunnel      map[string]int64     `json:"delivery_funnel"`
	FailureBreakdown    map[string]int64     `json:"failure_breakdown"`
}

// UnmarshalJSON decodes a node and records whether performance_stats was present.
func (n *VariationNode) UnmarshalJSON(b []byte) error {
	var aux variationNodeJSON
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*n = VariationNode{
		ConversionGoalStats: aux.ConversionGoalStats,
		DeliveryFunnel:      aux.DeliveryFunnel,
		FailureBreakdown:    aux.FailureBreakdown,
		HasPerformanceStats: aux.PerformanceStats != nil,
	}
	if aux.PerformanceStats != nil && string(aux.PerformanceStats) != "null" {
		if err := json.Unmarshal(aux.PerformanceStats, &n.PerformanceStats); err != nil {
			return fmt.Errorf("performance_stats: %w", err)
		}
	}
	return nil
}

// MarshalJSON emits performance_stats when HasPerformanceStats is set or the map is non-nil (so an empty `{}` of an
// UNKNOWN-channel campaign survives a round trip), and never for control-group nodes.
func (n VariationNode) MarshalJSON() ([]byte, error) {
	aux := variationNodeJSON{
		ConversionGoalStats: n.ConversionGoalStats,
		DeliveryFunnel:      n.DeliveryFunnel,
		FailureBreakdown:    n.FailureBreakdown,
	}
	if n.HasPerformanceStats || n.PerformanceStats != nil {
		ps := n.PerformanceStats
		if ps == nil {
			ps = map[string]float64{}
		}
		b, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		aux.PerformanceStats = b
	}
	return json.Marshal(aux)
}

// GoalStats is one conversion_goal_stats entry (SPEC §5.12).
type GoalStats struct {
	GoalName              string  `json:"goal_name"`
	Conversions           int64   `json:"conversions"`
	Total                 int64   `json:"total"`
	Unique                int64   `json:"unique"`
	Revenue               float64 `json:"revenue"`
	AverageOrderValue     float64 `json:"average_order_value"`
	AverageRevenuePerUser float64 `json:"average_revenue_per_user"`
	CVR                   float64 `json:"cvr"`
	Uplift                float64 `json:"uplift"`
	GCGUplift             float64 `json:"gcg_uplift"`
}

type statsResponseHead struct {
	ResponseID     string          `json:"response_id"`
	TotalCampaigns int             `json:"total_campaigns"`
	CurrentPage    int             `json:"current_page"`
	TotalPages     int             `json:"total_pages"`
	Data           json.RawMessage `json:"data"`
}

// UnmarshalJSON decodes a Stats response, keeping the order of the `data` keys in DataOrder and the body in Raw.
func (r *StatsResponse) UnmarshalJSON(b []byte) error {
	var head statsResponseHead
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	*r = StatsResponse{
		ResponseID:     head.ResponseID,
		TotalCampaigns: head.TotalCampaigns,
		CurrentPage:    head.CurrentPage,
		TotalPages:     head.TotalPages,
		Raw:            append(json.RawMessage(nil), b...),
	}
	if len(head.Data) == 0 || string(head.Data) == "null" {
		return nil
	}
	keys, vals, err := orderedObject(head.Data)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	r.Data = make(map[string][]CampaignStats, len(keys))
	r.dataRaw = vals
	r.DataOrder = keys
	for _, k := range keys {
		var v []CampaignStats
		if err := json.Unmarshal(vals[k], &v); err != nil {
			return fmt.Errorf("data[%q]: %w", k, err)
		}
		r.Data[k] = v
	}
	return nil
}

// MarshalJSON writes the response with `data` keys in DataOrder (ids missing from DataOrder follow, sorted).
func (r StatsResponse) MarshalJSON() ([]byte, error) {
	vals := make(map[string]json.RawMessage, len(r.Data))
	for k, v := range r.Data {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		vals[k] = b
	}
	return buildStatsJSON(r.ResponseID, r.TotalCampaigns, r.CurrentPage, r.TotalPages, r.DataOrder, vals)
}

// buildStatsJSON writes {"response_id","total_campaigns","current_page","total_pages","data"} with data keys in
// order (keys absent from order but present in vals are appended sorted; keys in order without a value are skipped).
func buildStatsJSON(responseID string, total, current, pages int, order []string, vals map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	id, err := json.Marshal(responseID)
	if err != nil {
		return nil, err
	}
	buf.WriteString(`{"response_id":`)
	buf.Write(id)
	buf.WriteString(`,"total_campaigns":` + strconv.Itoa(total))
	buf.WriteString(`,"current_page":` + strconv.Itoa(current))
	buf.WriteString(`,"total_pages":` + strconv.Itoa(pages))
	buf.WriteString(`,"data":{`)
	seen := make(map[string]bool, len(vals))
	keys := make([]string, 0, len(vals))
	for _, k := range order {
		if _, ok := vals[k]; ok && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range vals {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vals[k])
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

// orderedObject decodes a JSON object into its keys (in order of first appearance) and raw values (the last value
// wins for a repeated key, as with encoding/json).
func orderedObject(raw []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, nil, errors.New("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := vals[k]; !dup {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return keys, vals, nil
}

// StatsHeader returns the authentication headers of the Stats, Meta and Executions APIs (SPEC §5.1):
// Authorization: Basic base64(workspaceID:reportKey) and MOE-APPKEY: workspaceID.
func StatsHeader(workspaceID, reportKey string) http.Header {
	h := basicHeader(workspaceID, reportKey)
	h.Set("MOE-APPKEY", workspaceID)
	h.Set("Content-Type", ContentTypeJSON)
	return h
}

// CampaignStats calls POST /core-services/v1/campaign-stats (SPEC §5) once.
func (c *Client) CampaignStats(ctx context.Context, workspaceID, reportKey string, req StatsRequest) (*StatsResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("campaignstats: encoding stats request: %w", err)
	}
	resp, data, err := c.call(ctx, http.MethodPost, StatsPath, StatsHeader(workspaceID, reportKey), body)
	if err != nil {
		return nil, err
	}
	var out StatsResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("campaignstats: decoding stats response (HTTP %d): %w", resp.StatusCode, err)
	}
	out.Raw = data // exactly as received, surrounding whitespace included
	return &out, nil
}

// CampaignStatsAllPages visits every page (SPEC §5.6): it starts at req.Offset (default 0), steps the offset by
// req.Limit (default 10, sent explicitly) and stops when current_page >= total_pages or data is empty. The result
// holds the data of all pages in order of first appearance (an id seen on two pages keeps its first value),
// ResponseID of the first page, TotalCampaigns / CurrentPage / TotalPages of the last page, and Raw re-encoded from
// the campaigns' JSON as received (so key order inside each campaign is the server's). Every page uses the same
// request_id. A limit <= 0 makes a single call (which the server refuses).
func (c *Client) CampaignStatsAllPages(ctx context.Context, workspaceID, reportKey string, req StatsRequest) (*StatsResponse, error) {
	offset, limit := 0, 10
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit <= 0 {
		return c.CampaignStats(ctx, workspaceID, reportKey, req)
	}
	merged := &StatsResponse{Data: map[string][]CampaignStats{}, dataRaw: map[string]json.RawMessage{}}
	for page := 0; ; page++ {
		o, l := offset, limit
		r := req
		r.Offset, r.Limit = &o, &l
		resp, err := c.CampaignStats(ctx, workspaceID, reportKey, r)
		if err != nil {
			return nil, err
		}
		if page == 0 {
			merged.ResponseID = resp.ResponseID
		}
		merged.TotalCampaigns, merged.CurrentPage, merged.TotalPages = resp.TotalCampaigns, resp.CurrentPage, resp.TotalPages
		for _, id := range resp.DataOrder {
			if _, seen := merged.Data[id]; seen {
				continue
			}
			merged.Data[id] = resp.Data[id]
			merged.dataRaw[id] = resp.dataRaw[id]
			merged.DataOrder = append(merged.DataOrder, id)
		}
		if len(resp.Data) == 0 || resp.CurrentPage >= resp.TotalPages {
			break
		}
		offset += limit
	}
	raw, err := buildStatsJSON(merged.ResponseID, merged.TotalCampaigns, merged.CurrentPage, merged.TotalPages, merged.DataOrder, merged.dataRaw)
	if err != nil {
		return nil, err
	}
	merged.Raw = raw
	return merged, nil
}
