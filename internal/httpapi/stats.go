package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// maxStatsOffset is the largest Stats offset the engine is asked for: the largest integer JSON numbers carry exactly
// (RFC 8259 §6). SPEC §5.3 sets no upper bound: a larger integral offset is past every campaign list, so it is
// served as this one (an empty page) with its own current_page, computed exactly here — as long as the offset has
// at most maxOffsetDigits digits, so that the page is a number a JSON reader that decodes numbers as 64-bit floats
// (at most about 1.8e308) can still read; a longer one is refused with a text that says so.
const (
	maxStatsOffset  = 1<<53 - 1
	maxOffsetDigits = 300
)

// attributionTypes are the accepted attribution_type values (SPEC §5.3).
var attributionTypes = []string{"VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS", "CLICK_CONVERSIONS"}

// readAPIBody reads a JSON API body of at most 1 MiB; ok is false when 413 was written.
func readAPIBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, jsonBodyLimit+1))
	if len(body) > jsonBodyLimit {
		writeAPIError(w, apiTooLarge)
		return nil, false
	}
	if err != nil {
		writeAPIError(w, invalidField("malformed_json", "request body - could not be parsed as a JSON object"))
		return nil, false
	}
	return body, true
}

// fields is a decoded JSON object whose members are inspected one by one in validation order.
type fields map[string]json.RawMessage

// parseObject decodes a JSON object; ok is false when the body is not one.
func parseObject(body []byte) (fields, bool) {
	if !utf8.Valid(body) {
		return nil, false // SPEC §12.6: invalid UTF-8 is malformed, never silently replaced
	}
	var f fields
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f); err != nil || f == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return f, true
}

// present reports whether a member is present and not null.
func (f fields) present(name string) bool {
	raw, ok := f[name]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// requiredString validates a required string member (SPEC §5.3 texts).
func (f fields) requiredString(name string) (string, *apiError) {
	if !f.present(name) {
		e := invalidField("missing_field", name+" - is required")
		return "", &e
	}
	var s string
	if err := json.Unmarshal(f[name], &s); err != nil {
		e := invalidField("invalid_type", name+" - must be a string")
		return "", &e
	}
	return s, nil
}

// optionalInt validates an optional integer member: not a JSON number → invalid_type; not an integer within
// [lo, hi] → rangeText. Numbers are read exactly (jsonscan.Integer): 10.0 is 10, 10.0000000000000001 is a fraction.
func (f fields) optionalInt(name string, def, lo, hi int, typeText, rangeText string) (int, *apiError) {
	if !f.present(name) {
		return def, nil
	}
	v, isNumber, ok := jsonscan.Integer(f[name], int64(lo), int64(hi))
	if !isNumber {
		e := invalidField("invalid_type", name+" - "+typeText)
		return 0, &e
	}
	if !ok {
		e := invalidField("invalid_field_value", name+" - "+rangeText)
		return 0, &e
	}
	return int(v), nil
}

// parseDate validates a YYYY-MM-DD member.
func (f fields) parseDate(name string) (time.Time, *apiError) {
	s, e := f.requiredString(name)
	if e != nil {
		return time.Time{}, e
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || !datePattern.MatchString(s) {
		e := invalidField("invalid_field_value", name+" - must be a date in YYYY-MM-DD format")
		return time.Time{}, &e
	}
	return t, nil
}

// enum validates a required case-insensitive enum member.
func (f fields) enum(name string, values []string) (string, *apiError) {
	s, e := f.requiredString(name)
	if e != nil {
		return "", e
	}
	up := strings.ToUpper(s)
	for _, v := range values {
		if v == up {
			return v, nil
		}
	}
	err := invalidField("invalid_field_value", name+" - must be one of "+strings.Join(values, ", "))
	return "", &err
}

// parseStatsRequest validates a Stats body in the order of SPEC §5.3. page is the answer's current_page when the
// offset is past maxStatsOffset ("" otherwise: the engine's).
func parseStatsRequest(body []byte, ws domain.Workspace) (reqID string, q stats.Query, page string, _ *apiError) {
	reqID, q, bigOffset, e := parseStatsBody(body, ws)
	if e != nil || bigOffset == nil {
		return reqID, q, "", e
	}
	return reqID, q, new(big.Int).Add(new(big.Int).Quo(bigOffset, big.NewInt(int64(q.Limit))), big.NewInt(1)).String(), nil
}

// parseStatsBody is parseStatsRequest; bigOffset is the offset when it is past maxStatsOffset (q.Offset is
// maxStatsOffset then).
func parseStatsBody(body []byte, ws domain.Workspace) (string, stats.Query, *big.Int, *apiError) {
	q := stats.Query{Workspace: ws}
	f, ok := parseObject(body)
	if !ok {
		e := invalidField("malformed_json", "request body - could not be parsed as a JSON object")
		return "", q, nil, &e
	}
	reqID, e := f.requiredString("request_id")
	if e != nil {
		return "", q, nil, e
	}
	if strings.TrimSpace(reqID) == "" {
		err := invalidField("invalid_field_value", "request_id - must not be empty")
		return "", q, nil, &err
	}
	if len([]rune(reqID)) > 256 {
		err := invalidField("invalid_field_value", "request_id - must be at most 256 characters")
		return "", q, nil, &err
	}
	if f.present("campaign_ids") {
		var items []json.RawMessage
		if err := json.Unmarshal(f["campaign_ids"], &items); err != nil {
			e := invalidField("invalid_type", "campaign_ids - must be an array of strings")
			return "", q, nil, &e
		}
		seen := map[string]bool{}
		for _, it := range items {
			var s string
			if err := json.Unmarshal(it, &s); err != nil || s == "" {
				e := invalidField("invalid_field_value", "campaign_ids - every element must be a non-empty string")
				return "", q, nil, &e
			}
			if !seen[s] {
				seen[s] = true
				q.CampaignIDs = append(q.CampaignIDs, s)
			}
		}
		if len(q.CampaignIDs) > 10 {
			e := invalidField("invalid_field_value", "campaign_ids - must contain at most 10 campaign IDs")
			return "", q, nil, &e
		}
	}
	if q.Start, e = f.parseDate("start_date"); e != nil {
		return "", q, nil, e
	}
	if q.End, e = f.parseDate("end_date"); e != nil {
		return "", q, nil, e
	}
	at, e := f.enum("attribution_type", attributionTypes)
	if e != nil {
		return "", q, nil, e
	}
	q.Attribution, _ = attribution.ParseType(at)
	metric, e := f.enum("metric_type", []string{"TOTAL", "UNIQUE"})
	if e != nil {
		return "", q, nil, e
	}
	q.Unique = metric == "UNIQUE"
	var bigOffset *big.Int
	if q.Offset, e = f.optionalInt("offset", 0, 0, maxStatsOffset, "must be an integer", "must be an integer greater than or equal to 0"); e != nil {
		raw := bytes.TrimSpace(f["offset"])
		d, ok := jsonscan.ParseDecimal(raw)
		if !ok || e.Code != "invalid_field_value" || !d.IsInt() || d.Sign() <= 0 {
			return "", q, nil, e
		}
		var isInt bool
		if bigOffset, isInt = new(big.Int).SetString(jsonscan.DecimalText(raw), 10); !isInt || len(bigOffset.String()) > maxOffsetDigits {
			return "", q, nil, fieldError("invalid_field_value", "offset - must be an integer of at most "+strconv.Itoa(maxOffsetDigits)+" digits")
		}
		q.Offset = maxStatsOffset
	}
	if q.Limit, e = f.optionalInt("limit", 10, 1, 10, "must be an integer", "must be an integer between 1 and 10"); e != nil {
		return "", q, nil, e
	}
	if q.End.Before(q.Start) {
		err := invalidField("invalid_field_value", "end_date - must not be before start_date")
		return "", q, nil, &err
	}
	if q.End.Sub(q.Start) > 30*24*time.Hour {
		err := invalidField("invalid_field_value", "end_date - must be at most 30 days after start_date")
		return "", q, nil, &err
	}
	return reqID, q, bigOffset, nil
}

// handleStats is POST /core-services/v1/campaign-stats (SPEC §5).
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	reqID, q, page, ok := s.statsRequest(w, r, false)
	if !ok {
		return
	}
	res, err := s.Engine.Stats(r.Context(), q)
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	writeRawJSON(w, http.StatusOK, encodeStats(reqID, res, page))
}

// statsRequest applies the Stats API's checks in order — authentication (§5.2), the `stats` rate limit (§5.4), for
// the daily extension the path workspace (403 workspace_mismatch), the body (§5.3) — and writes the error
// response when one fails; ok is false then. page is as parseStatsRequest's.
func (s *Server) statsRequest(w http.ResponseWriter, r *http.Request, pathWorkspace bool) (reqID string, q stats.Query, page string, ok bool) {
	ws, authed := s.apiAuth(w, r, true)
	if !authed {
		return "", stats.Query{}, "", false
	}
	if !s.rateLimit(w, r, ws, "stats") { // every request of an authenticated, active workspace counts (SPEC §5.4)
		return "", stats.Query{}, "", false
	}
	if pathWorkspace && r.PathValue("workspace_id") != ws.ID {
		writeAPIError(w, apiWorkspaceMismatch)
		return "", stats.Query{}, "", false
	}
	body, read := readAPIBody(w, r)
	if !read {
		return "", stats.Query{}, "", false
	}
	reqID, q, page, verr := parseStatsRequest(body, ws)
	if verr != nil {
		writeAPIError(w, *verr)
		return "", stats.Query{}, "", false
	}
	return reqID, q, page, true
}

// handleStatsDaily is POST /v1/stats/{workspace_id}/daily, the daily series extension: the Stats API's auth, body,
// errors and rate-limit family (one call counts once), the path workspace must be the Basic username, and the
// answer holds for every date of the range the tree a single-date Stats call gives the page's campaigns.
func (s *Server) handleStatsDaily(w http.ResponseWriter, r *http.Request) {
	reqID, q, page, ok := s.statsRequest(w, r, true)
	if !ok {
		return
	}
	res, err := s.Engine.StatsDaily(r.Context(), q)
	if err != nil {
		s.storeAPIError(w, r, err)
		return
	}
	var b jsonWriter
	b.WriteString(`{"response_id":`)
	b.str(reqID)
	b.WriteString(`,"start_date":"` + q.Start.Format(time.DateOnly) + `","end_date":"` + q.End.Format(time.DateOnly) + `","days":[`)
	for i, d := range res.Days {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"date":"` + d.Date + `","data":`)
		encodeCampaigns(&b, d.Campaigns)
		b.WriteByte('}')
	}
	b.WriteString(`],"total_campaigns":` + strconv.Itoa(res.TotalCampaigns))
	b.WriteString(`,"current_page":` + cmp.Or(page, strconv.Itoa(res.CurrentPage)))
	b.WriteString(`,"total_pages":` + strconv.Itoa(res.TotalPages) + `}`)
	writeRawJSON(w, http.StatusOK, b.Bytes())
}

// jsonWriter writes JSON with a fixed key order.
type jsonWriter struct{ bytes.Buffer }

func (b *jsonWriter) str(s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

func (b *jsonWriter) key(first bool, k string) {
	if !first {
		b.WriteByte(',')
	}
	b.str(k)
	b.WriteByte(':')
}

// encodeStats writes the Stats response body (SPEC §5.8) with keys in SPEC order; page, when set, is its
// current_page (parseStatsRequest).
func encodeStats(reqID string, res *stats.Result, page string) []byte {
	var b jsonWriter
	b.WriteString(`{"response_id":`)
	b.str(reqID)
	b.WriteString(`,"total_campaigns":` + strconv.Itoa(res.TotalCampaigns))
	b.WriteString(`,"current_page":` + cmp.Or(page, strconv.Itoa(res.CurrentPage)))
	b.WriteString(`,"total_pages":` + strconv.Itoa(res.TotalPages))
	b.WriteString(`,"data":`)
	encodeCampaigns(&b, res.Campaigns)
	b.WriteString(`}`)
	return b.Bytes()
}

// encodeCampaigns writes a `data` object: campaign id → [{"platforms": …}] in the given order.
func encodeCampaigns(b *jsonWriter, campaigns []stats.CampaignResult) {
	b.WriteByte('{')
	for i, c := range campaigns {
		b.key(i == 0, c.ID)
		b.WriteString(`[{"platforms":{`)
		for j, p := range c.Platforms {
			b.key(j == 0, p.Key)
			b.WriteString(`{"locales":{`)
			for k, l := range p.Locales {
				b.key(k == 0, l.Key)
				b.WriteString(`{"variations":{`)
				for m, v := range l.Variations {
					b.key(m == 0, v.Key)
					encodeNode(b, v)
				}
				b.WriteString(`}}`)
			}
			b.WriteString(`}}`)
		}
		b.WriteString(`}}]`)
	}
	b.WriteByte('}')
}

func encodeNode(b *jsonWriter, v stats.VariationResult) {
	b.WriteByte('{')
	if !v.Control {
		b.WriteString(`"performance_stats":{`)
		for i, f := range v.Performance {
			b.key(i == 0, f.Name)
			if f.IsRate {
				b.WriteString(f.Rate.String())
			} else {
				b.WriteString(strconv.FormatInt(f.Count, 10))
			}
		}
		b.WriteString(`},`)
	}
	b.WriteString(`"conversion_goal_stats":{`)
	for i, g := range v.Goals {
		b.key(i == 0, g.Name)
		b.WriteString(`{"goal_name":`)
		b.str(g.Name)
		for _, f := range []struct {
			name string
			v    string
		}{
			{"conversions", strconv.FormatInt(g.Conversions, 10)}, {"total", strconv.FormatInt(g.Total, 10)},
			{"unique", strconv.FormatInt(g.Unique, 10)}, {"revenue", g.Revenue.String()},
			{"average_order_value", g.AverageOrderValue.String()}, {"average_revenue_per_user", g.AverageRevenuePerUser.String()},
			{"cvr", g.CVR.String()}, {"uplift", g.Uplift.String()}, {"gcg_uplift", g.GCGUplift.String()},
		} {
			b.WriteString(`,"` + f.name + `":` + f.v)
		}
		b.WriteByte('}')
	}
	b.WriteString(`},"delivery_funnel":{`)
	for i, c := range v.Funnel {
		b.key(i == 0, c.Name)
		b.WriteString(strconv.FormatInt(c.Value, 10))
	}
	b.WriteString(`},"failure_breakdown":{`)
	for i, c := range v.Failures {
		b.key(i == 0, c.Name)
		b.WriteString(strconv.FormatInt(c.Value, 10))
	}
	b.WriteString(`}}`)
}
