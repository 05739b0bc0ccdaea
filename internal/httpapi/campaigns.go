package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// This file serves the read side of the campaign catalog: Campaign Meta (SPEC §7.1) and child-campaign Executions
// (SPEC §7.2). Both share the Stats authentication (§5.2), the `campaigns` rate-limit family (§5.4) and the
// {title, description, code} error shape with the validation codes of §5.18.

// maxMetaLimit is the largest page size of Meta and Executions (SPEC §7.1, §7.2).
const maxMetaLimit = 15

// maxMetaIDs is the largest number of distinct ids in campaign_fields.id (SPEC §7.1).
const maxMetaIDs = 100

// metaStartLayout and executionLayout are MoEngage's timestamp formats (SPEC §7.1, §7.2): UTC, no zone suffix.
const (
	metaStartLayout = "2006-01-02T15:04:05"
	executionLayout = "2006-01-02T15:04:05.000000"
)

// ---- validation helpers ----

func fieldError(code, description string) *apiError {
	e := invalidField(code, description)
	return &e
}

// metaRequestID validates the required, non-empty request_id (SPEC §7.1, §7.2).
func metaRequestID(f fields) (string, *apiError) {
	id, e := f.requiredString("request_id")
	if e != nil {
		return "", e
	}
	if strings.TrimSpace(id) == "" {
		return "", fieldError("invalid_field_value", "request_id - must not be empty")
	}
	return id, nil
}

// requiredInt validates a required integer member: absent or null → missing_field; not a JSON number →
// invalid_type; not an integer, below lo or (when hi > 0) above hi → rangeText. Numbers are read exactly
// (jsonscan.Integer): 2.0 is accepted, 1.0000000000000000001 and numeric strings are not (SPEC §5.3). Values beyond
// math.MaxInt32 are clamped (only possible without an upper bound, i.e. for page, where they simply address a page
// past the end), however large.
func requiredInt(f fields, name string, lo, hi int, rangeText string) (int, *apiError) {
	if !f.present(name) {
		return 0, fieldError("missing_field", name+" - is required")
	}
	upper := int64(math.MaxInt64)
	if hi > 0 {
		upper = int64(hi)
	}
	v, isNumber, ok := jsonscan.Integer(f[name], int64(lo), upper)
	if !isNumber {
		return 0, fieldError("invalid_type", name+" - must be an integer")
	}
	if !ok {
		if d, _ := jsonscan.ParseDecimal(bytes.TrimSpace(f[name])); hi <= 0 && d.IsInt() && d.Sign() > 0 {
			return math.MaxInt32, nil // beyond int64: a page past the end
		}
		return 0, fieldError("invalid_field_value", name+" - "+rangeText)
	}
	return int(min(v, math.MaxInt32)), nil
}

// optionalBool validates an optional boolean member (null = absent).
func optionalBool(f fields, name string) (bool, *apiError) {
	if !f.present(name) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(f[name], &b); err != nil {
		return false, fieldError("invalid_type", name+" - must be a boolean")
	}
	return b, nil
}

// optionalObject decodes an optional object member; nil when absent or null.
func optionalObject(f fields, name, label string) (fields, *apiError) {
	if !f.present(name) {
		return nil, nil
	}
	raw := bytes.TrimSpace(f[name])
	var obj fields
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, fieldError("invalid_type", label+" - must be an object")
	}
	return obj, nil
}

// stringArray validates an optional array of non-empty strings with the texts of SPEC §5.3's campaign_ids; duplicates
// are collapsed keeping the first occurrence. Absent, null and [] give nil (no filter).
func stringArray(f fields, name, label string) ([]string, *apiError) {
	if !f.present(name) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(f[name], &items); err != nil {
		return nil, fieldError("invalid_type", label+" - must be an array of strings")
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil || s == "" {
			return nil, fieldError("invalid_field_value", label+" - every element must be a non-empty string")
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// metaDate validates a required YYYY-MM-DD member of created_date.
func metaDate(f fields, name, label string) (string, *apiError) {
	if !f.present(name) {
		return "", fieldError("missing_field", label+" - is required")
	}
	var s string
	if err := json.Unmarshal(f[name], &s); err != nil {
		return "", fieldError("invalid_type", label+" - must be a string")
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil || !datePattern.MatchString(s) {
		return "", fieldError("invalid_field_value", label+" - must be a date in YYYY-MM-DD format")
	}
	return s, nil
}

// ---- Meta (SPEC §7.1) ----

// metaQuery is a validated Meta request.
type metaQuery struct {
	limit, page    int
	includeChild   bool
	ids            map[string]bool // nil = no id filter
	channels       map[domain.Channel]bool
	createdBy      []string
	fromDay, toDay string // "" = no created_date filter
	deliveryTypes  map[domain.DeliveryType]bool
	name           *string
	statuses       map[string]bool
	tags           []string
}

func channelNames() string {
	var names []string
	for _, c := range domain.AllChannels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

var deliveryTypeNames = strings.Join([]string{
	string(domain.DeliveryOneTime), string(domain.DeliveryPeriodic), string(domain.DeliveryEventTriggered),
	string(domain.DeliveryBusinessEvent), string(domain.DeliveryDeviceTriggered), string(domain.DeliveryLocationTriggered),
	string(domain.DeliveryBroadcastLive), string(domain.DeliveryAPITriggered),
}, ", ")

// parseMetaRequest validates a Meta body in the order of the SPEC §7.1 table, stopping at the first violation.
func parseMetaRequest(body []byte) (metaQuery, *apiError) {
	var q metaQuery
	f, ok := parseObject(body)
	if !ok {
		return q, fieldError("malformed_json", "request body - could not be parsed as a JSON object")
	}
	var e *apiError
	if _, e = metaRequestID(f); e != nil {
		return q, e
	}
	if q.limit, e = requiredInt(f, "limit", 1, maxMetaLimit, "must be an integer between 1 and 15"); e != nil {
		return q, e
	}
	if q.page, e = requiredInt(f, "page", 1, 0, "must be an integer greater than or equal to 1"); e != nil {
		return q, e
	}
	if q.includeChild, e = optionalBool(f, "include_child_campaigns"); e != nil {
		return q, e
	}
	cf, e := optionalObject(f, "campaign_fields", "campaign_fields")
	if e != nil || cf == nil {
		return q, e
	}

	// id: one string or an array of at most 100 strings.
	if cf.present("id") {
		const label = "campaign_fields.id"
		var one string
		var ids []string
		if err := json.Unmarshal(cf["id"], &one); err == nil {
			if one == "" {
				return q, fieldError("invalid_field_value", label+" - must not be empty")
			}
			ids = []string{one}
		} else {
			raw := bytes.TrimSpace(cf["id"])
			if len(raw) == 0 || raw[0] != '[' {
				return q, fieldError("invalid_type", label+" - must be a string or an array of strings")
			}
			if ids, e = stringArray(cf, "id", label); e != nil {
				return q, e
			}
			if len(ids) > maxMetaIDs {
				return q, fieldError("invalid_field_value", label+" - must contain at most 100 campaign IDs")
			}
		}
		if len(ids) > 0 {
			q.ids = map[string]bool{}
			for _, id := range ids {
				q.ids[id] = true
			}
		}
	}

	const chLabel = "campaign_fields.channels"
	chs, e := stringArray(cf, "channels", chLabel)
	if e != nil {
		return q, e
	}
	for _, s := range chs {
		c, ok := domain.ParseChannel(s)
		if !ok {
			return q, fieldError("invalid_field_value", chLabel+" - must be one of "+channelNames())
		}
		if q.channels == nil {
			q.channels = map[domain.Channel]bool{}
		}
		q.channels[c] = true
	}

	if q.createdBy, e = stringArray(cf, "created_by", "campaign_fields.created_by"); e != nil {
		return q, e
	}

	cd, e := optionalObject(cf, "created_date", "campaign_fields.created_date")
	if e != nil {
		return q, e
	}
	if cd != nil {
		if q.fromDay, e = metaDate(cd, "from_date", "campaign_fields.created_date.from_date"); e != nil {
			return q, e
		}
		if q.toDay, e = metaDate(cd, "to_date", "campaign_fields.created_date.to_date"); e != nil {
			return q, e
		}
		if q.toDay < q.fromDay {
			return q, fieldError("invalid_field_value", "campaign_fields.created_date.to_date - must not be before from_date")
		}
	}

	const dtLabel = "campaign_fields.delivery_type"
	dts, e := stringArray(cf, "delivery_type", dtLabel)
	if e != nil {
		return q, e
	}
	for _, s := range dts {
		d, ok := domain.ParseDeliveryType(s)
		if !ok {
			return q, fieldError("invalid_field_value", dtLabel+" - must be one of "+deliveryTypeNames)
		}
		if q.deliveryTypes == nil {
			q.deliveryTypes = map[domain.DeliveryType]bool{}
		}
		q.deliveryTypes[d] = true
	}

	if cf.present("name") {
		var name string
		if err := json.Unmarshal(cf["name"], &name); err != nil {
			return q, fieldError("invalid_type", "campaign_fields.name - must be a string")
		}
		lower := strings.ToLower(name)
		q.name = &lower
	}

	const stLabel = "campaign_fields.status"
	sts, e := stringArray(cf, "status", stLabel)
	if e != nil {
		return q, e
	}
	for _, s := range sts {
		up := strings.ToUpper(strings.TrimSpace(s))
		known := false
		for _, v := range domain.CampaignStatuses() {
			known = known || v == up
		}
		if !known {
			return q, fieldError("invalid_field_value", stLabel+" - must be one of "+strings.Join(domain.CampaignStatuses(), ", "))
		}
		if q.statuses == nil {
			q.statuses = map[string]bool{}
		}
		q.statuses[up] = true
	}

	if q.tags, e = stringArray(cf, "tags", "campaign_fields.tags"); e != nil {
		return q, e
	}
	return q, nil
}

// anyEqualFold reports whether some element of want equals some element of have, ignoring case.
func anyEqualFold(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// matches applies every given filter (AND); values inside one filter combine with OR.
func (q *metaQuery) matches(view *domain.CatalogView, c *domain.Campaign, loc *time.Location) bool {
	id := c.ID
	if !q.includeChild && view.Parent(id) != "" {
		return false
	}
	if q.ids != nil && !q.ids[id] {
		return false
	}
	if q.channels != nil && !q.channels[view.Channel(id)] {
		return false
	}
	if q.createdBy != nil && !anyEqualFold([]string{c.CreatedBy()}, q.createdBy) {
		return false
	}
	if q.fromDay != "" {
		day := c.CreatedAt.In(loc).Format(time.DateOnly)
		if day < q.fromDay || day > q.toDay {
			return false
		}
	}
	if q.deliveryTypes != nil && !q.deliveryTypes[view.DeliveryType(id)] {
		return false
	}
	if q.name != nil && !strings.Contains(strings.ToLower(view.Name(id)), *q.name) {
		return false
	}
	if q.statuses != nil && !q.statuses[strings.ToUpper(c.Status())] {
		return false
	}
	if q.tags != nil && !anyEqualFold(c.Tags(), q.tags) {
		return false
	}
	return true
}

// metaCampaign is one element of the Meta response, fields in the order of the SPEC §7.1 example.
type metaCampaign struct {
	CampaignID          string   `json:"campaign_id"`
	Channel             string   `json:"channel"`
	Platform            []string `json:"platform"`
	CreatedBy           string   `json:"created_by"`
	DeliveryType        string   `json:"campaign_delivery_type"`
	Name                string   `json:"campaign_name"`
	Team                string   `json:"campaign_team"`
	Tags                []string `json:"campaign_tags"`
	Status              string   `json:"campaign_status"`
	StartTime           *string  `json:"campaign_start_time"`
	ParentCampaignID    string   `json:"parent_campaign_id,omitempty"`
	TotalChildCampaigns int      `json:"total_child_campaigns,omitempty"`
}

// titleCase turns an upper-case status into MoEngage's title case (ACTIVE → Active).
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

func metaEntry(view *domain.CatalogView, c *domain.Campaign) metaCampaign {
	id := c.ID
	m := metaCampaign{
		CampaignID: id, Channel: string(view.Channel(id)), Platform: c.Platform(), CreatedBy: c.CreatedBy(),
		DeliveryType: string(view.DeliveryType(id)), Name: view.Name(id), Team: c.Team(), Tags: c.Tags(),
		Status: titleCase(c.Status()), ParentCampaignID: view.Parent(id), TotalChildCampaigns: len(view.Children(id)),
	}
	if ms, ok := c.StartTimeMS(); ok {
		s := time.UnixMilli(ms).UTC().Format(metaStartLayout)
		m.StartTime = &s
	}
	return m
}

// pageBounds returns the half-open item range [from, to) of page p (1-based) with the given limit over n items.
func pageBounds(n, page, limit int) (int, int) {
	from := int64(page-1) * int64(limit)
	if from >= int64(n) {
		return n, n
	}
	return int(from), int(min(from+int64(limit), int64(n)))
}

// handleMeta is POST /core-services/v1/campaigns/meta (SPEC §7.1).
func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.apiAuth(w, r, true)
	if !ok || !s.rateLimit(w, r, ws, "campaigns") {
		return
	}
	body, ok := readAPIBody(w, r)
	if !ok {
		return
	}
	q, verr := parseMetaRequest(body)
	if verr != nil {
		writeAPIError(w, *verr)
		return
	}
	cs, err := s.campaigns(r.Context(), ws.ID)
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	view := domain.NewCatalogView(cs)
	loc := ws.Location()
	var ids []string
	for _, c := range view.All() {
		if q.matches(view, c, loc) {
			ids = append(ids, c.ID)
		}
	}
	view.OrderByStart(ids)
	from, to := pageBounds(len(ids), q.page, q.limit)
	out := make([]metaCampaign, 0, to-from)
	for _, id := range ids[from:to] {
		c, _ := view.Get(id)
		out = append(out, metaEntry(view, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- Executions (SPEC §7.2) ----

// parseExecutionsRequest validates an Executions body: request_id, page and limit, all required, in that order.
func parseExecutionsRequest(body []byte) (page, limit int, e *apiError) {
	f, ok := parseObject(body)
	if !ok {
		return 0, 0, fieldError("malformed_json", "request body - could not be parsed as a JSON object")
	}
	if _, e = metaRequestID(f); e != nil {
		return 0, 0, e
	}
	if page, e = requiredInt(f, "page", 1, 0, "must be an integer greater than or equal to 1"); e != nil {
		return 0, 0, e
	}
	if limit, e = requiredInt(f, "limit", 1, maxMetaLimit, "must be an integer between 1 and 15"); e != nil {
		return 0, 0, e
	}
	return page, limit, nil
}

// execution is one element of the Executions response, fields in the order of the SPEC §7.2 example.
type execution struct {
	CampaignID string  `json:"campaign_id"`
	SentTime   *string `json:"sent_time"`
	Status     string  `json:"status"`
}

type executionsResponse struct {
	Executions     []execution `json:"executions"`
	TotalInstances int         `json:"total_instances"`
}

// sentTimeMS is the child's sent_time instant: its earliest send-class event, else its campaign_start_time; ok is
// false when neither is known (SPEC §7.2).
func sentTimeMS(c *domain.Campaign) (int64, bool) {
	if c.Inferred.FirstSendMS != 0 {
		return c.Inferred.FirstSendMS, true
	}
	return c.StartTimeMS()
}

// executionStatus applies the status rule of SPEC §7.2.
func executionStatus(c *domain.Campaign) string {
	if c.Explicit.Status != nil {
		switch strings.ToUpper(*c.Explicit.Status) {
		case "SCHEDULED":
			return "Scheduled"
		case "ACTIVE":
			return "Sending"
		case "STOPPED":
			return "Failed"
		}
	}
	if c.Inferred.HasEvents {
		return "Sent"
	}
	return "Scheduled"
}

// handleExecutions is POST /core-services/v1/campaigns/{parent_campaign_id}/executions (SPEC §7.2).
func (s *Server) handleExecutions(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.apiAuth(w, r, true)
	if !ok || !s.rateLimit(w, r, ws, "campaigns") {
		return
	}
	body, ok := readAPIBody(w, r)
	if !ok {
		return
	}
	page, limit, verr := parseExecutionsRequest(body)
	if verr != nil {
		writeAPIError(w, *verr)
		return
	}
	cs, err := s.campaigns(r.Context(), ws.ID)
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	view := domain.NewCatalogView(cs)
	children := append([]string(nil), view.Children(r.PathValue("parent_campaign_id"))...)
	// sent_time ascending; children without a sent_time come last (chosen here), ties by campaign_id ascending.
	sort.SliceStable(children, func(i, j int) bool {
		a, _ := view.Get(children[i])
		b, _ := view.Get(children[j])
		ta, oka := sentTimeMS(a)
		tb, okb := sentTimeMS(b)
		if oka != okb {
			return oka
		}
		if oka && ta != tb {
			return ta < tb
		}
		return a.ID < b.ID
	})
	from, to := pageBounds(len(children), page, limit)
	resp := executionsResponse{Executions: make([]execution, 0, to-from), TotalInstances: len(children)}
	for _, id := range children[from:to] {
		c, _ := view.Get(id)
		ex := execution{CampaignID: id, Status: executionStatus(c)}
		if ms, ok := sentTimeMS(c); ok {
			st := time.UnixMilli(ms).UTC().Format(executionLayout)
			ex.SentTime = &st
		}
		resp.Executions = append(resp.Executions, ex)
	}
	writeJSON(w, http.StatusOK, resp)
}
