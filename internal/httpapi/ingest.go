package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/catalog"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/intake"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// maxQuarantinePayload is the payload size kept per quarantine record (SPEC §3.5).
const maxQuarantinePayload = 1 << 20

// jsonBodyLimit is the limit of catalog, funnel, stats, meta and report-definition bodies (SPEC §10.4).
const jsonBodyLimit = 1 << 20

var errTooLarge = errors.New("body too large")

// readBody applies the Content-Encoding and size checks of SPEC §3.1 in order and returns the decompressed body.
// It writes the error response itself; ok is false when it did.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	return s.readBodyOr(w, r, limit, func(e ingestError) { s.writeIngestError(w, r, e) })
}

// readBodyOr is readBody with the error response written by fail.
func (s *Server) readBodyOr(w http.ResponseWriter, r *http.Request, limit int64, fail func(ingestError)) ([]byte, bool) {
	var src io.Reader = r.Body
	tooLarge := func() {
		fail(ingestError{413, "PayloadTooLarge", "body", fmt.Sprintf("Payload size exceeds %d KB", limit/1024)})
	}
	compressed := &cappedReader{r: r.Body, n: compressedLimit(limit)}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(compressed)
		if compressed.over {
			tooLarge()
			return nil, false
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				fail(errEmptyBody)
			} else {
				fail(errBadGzip)
			}
			return nil, false
		}
		defer zr.Close()
		src = zr
	default:
		fail(errContentEncoding)
		return nil, false
	}
	src, admitted := charged(r, src, enc != "" && enc != "identity", limit)
	if !admitted {
		s.writeBusy(w, r)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	if errors.As(err, new(errOverBudget)) {
		// A body read past its limit is too large whatever the budget: the byte that shows it may be the one that
		// did not fit (--max-ingest-inflight equal to the limit).
		if t, ok := r.Context().Value(ticketKey{}).(*ticket); ok && t.read > limit {
			tooLarge()
			return nil, false
		}
		s.writeBusy(w, r) // the ingest envelope, never fail: a 503 is not an idempotent answer to keep
		return nil, false
	}
	if int64(len(body)) > limit || compressed.over {
		tooLarge()
		return nil, false
	}
	if err != nil {
		if enc != "" && enc != "identity" {
			fail(errBadGzip)
		} else {
			fail(errBadJSON)
		}
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		fail(errEmptyBody)
		return nil, false
	}
	return body, true
}

// refusedCampaigns admits the campaign and parent ids of the valid campaign events of items into the workspace's
// catalog and returns those refused because it is full.
func (s *Server) refusedCampaigns(ctx context.Context, ws string, items []ingest.Item) (map[string]bool, error) {
	if s.Intake.CampaignLimit() == 0 {
		return nil, nil
	}
	var ids []string
	for _, it := range items {
		if e := it.Event; e != nil && e.Campaign {
			for _, id := range []string{e.CampaignID, e.ParentCampaignID} {
				if id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	return s.Intake.AdmitCampaigns(ctx, ws, ids)
}

// campaignLimitMessage refuses a campaign that would pass the workspace's campaign limit (--max-campaigns).
func (s *Server) campaignLimitMessage() string {
	return fmt.Sprintf("the workspace already has the maximum of %d campaigns", s.Intake.CampaignLimit())
}

// mediaType returns the request's media type without parameters, lower-cased.
func mediaType(r *http.Request) string {
	// Parameters are ignored (SPEC §3.2), malformed ones too: ParseMediaType returns the media type with
	// ErrInvalidMediaParameter then.
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return ""
	}
	return strings.ToLower(mt)
}

// handleStreams is POST /v1/streams/{workspace_id} (SPEC §3.2–3.6).
func (s *Server) handleStreams(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	var ndjson bool
	switch mediaType(r) {
	case "application/json":
	case "application/x-ndjson", "application/ndjson":
		ndjson = true
	default:
		s.writeIngestError(w, r, errContentType)
		return
	}
	body, ok := s.readBody(w, r, s.Config.MaxStreamBody)
	if !ok {
		return
	}
	now := s.Now()
	items, err := ingest.DecodeStreams(body, ndjson, now)
	if err != nil {
		var be *ingest.BodyError
		if errors.As(err, &be) {
			s.writeIngestError(w, r, ingestError{400, be.Type, be.Attribute, be.Message})
			return
		}
		s.storeIngestError(w, r, err)
		return
	}
	batch := intake.Request{WorkspaceID: ws.ID, ReceivedAt: now}
	type rejection struct {
		Index     int    `json:"index"`
		EventUUID string `json:"event_uuid"`
		Message   string `json:"message"`
	}
	rejections := []rejection{}
	full, err := s.refusedCampaigns(r.Context(), ws.ID, items)
	if err != nil {
		s.storeIngestError(w, r, err)
		return
	}
	for _, it := range items {
		if it.Event != nil && len(full) > 0 && (full[it.Event.CampaignID] || full[it.Event.ParentCampaignID]) {
			it.Event, it.Reject = nil, s.campaignLimitMessage()
		}
		if it.Event != nil {
			batch.Events = append(batch.Events, *it.Event)
			continue
		}
		rejections = append(rejections, rejection{it.Index, it.UUID, it.Reject})
		payload, truncated := it.Payload, false
		if len(payload) > maxQuarantinePayload {
			cut := maxQuarantinePayload
			for cut > 0 && !utf8.RuneStart(payload[cut]) {
				cut-- // never split a UTF-8 sequence
			}
			payload, truncated = payload[:cut], true
		}
		batch.Quarantine = append(batch.Quarantine, store.QuarantineRecord{ID: workspace.NewID(), WorkspaceID: ws.ID,
			ReceivedAt: now, RequestID: requestID(r.Context()), Endpoint: "streams", Index: it.Index, EventUUID: it.UUID,
			Reason: it.Reject, Payload: payload, PayloadTruncated: truncated})
	}
	res, err := s.Intake.Commit(r.Context(), batch)
	if err != nil {
		s.storeIngestError(w, r, err)
		return
	}
	accepted := res.Accepted()
	dups := len(batch.Events) - accepted
	s.metrics.ingestEvents.WithLabelValues("streams", "accepted").Add(float64(accepted))
	s.metrics.ingestEvents.WithLabelValues("streams", "duplicate").Add(float64(dups))
	s.metrics.ingestEvents.WithLabelValues("streams", "rejected").Add(float64(len(rejections)))
	writeJSON(w, http.StatusOK, struct {
		Status     string      `json:"status"`
		Accepted   int         `json:"accepted"`
		Duplicates int         `json:"duplicates"`
		Rejected   int         `json:"rejected"`
		Errors     []rejection `json:"errors"`
	}{"success", accepted, dups, len(rejections), rejections})
}

// handleCampaign is PUT|GET /v1/campaigns/{workspace_id}/{campaign_id} (SPEC §3.12).
func (s *Server) handleCampaign(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	id := r.PathValue("campaign_id")
	switch r.Method {
	case http.MethodGet:
		cs, err := s.campaigns(r.Context(), ws.ID)
		if err != nil {
			s.storeIngestError(w, r, err)
			return
		}
		view := domain.NewCatalogView(cs)
		if _, ok := view.Get(id); !ok {
			s.writeIngestError(w, r, errUnknownCampaign)
			return
		}
		writeJSON(w, http.StatusOK, effectiveCampaign(view, id))
	case http.MethodPut:
		if mediaType(r) != "application/json" {
			s.writeIngestError(w, r, errContentType)
			return
		}
		body, ok := s.readBody(w, r, jsonBodyLimit)
		if !ok {
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			s.writeIngestError(w, r, errBadJSON)
			return
		}
		if !catalog.ValidID(id) {
			s.writeIngestError(w, r, invalidParams("campaign_id", "campaign_id is invalid"))
			return
		}
		fields, ferr := catalog.ParsePut(body, id, ingest.ParseTime)
		if ferr != nil {
			s.writeIngestError(w, r, invalidParams(ferr.Attribute, ferr.Message))
			return
		}
		if err := s.waitFresh(r.Context()); err != nil {
			s.storeIngestError(w, r, err)
			return
		}
		var created bool
		var rejected *catalog.FieldError
		err := s.Intake.UpdateCatalog(r.Context(), ws.ID, func(cs []domain.Campaign) ([]domain.Campaign, error) {
			records, isNew, ferr := catalog.Apply(domain.NewCatalogView(cs), id, fields, s.Now().UTC())
			if ferr != nil {
				rejected = ferr
				return nil, ferr
			}
			ids := make([]string, len(records))
			for i, c := range records {
				ids[i] = c.ID
			}
			if full, err := s.Intake.AdmitCampaigns(r.Context(), ws.ID, ids); err != nil {
				return nil, err
			} else if len(full) > 0 {
				rejected = &catalog.FieldError{Attribute: "campaign_id", Message: s.campaignLimitMessage()}
				return nil, rejected
			}
			created = isNew
			return records, nil
		})
		if rejected != nil {
			s.writeIngestError(w, r, invalidParams(rejected.Attribute, rejected.Message))
			return
		}
		if err != nil {
			s.storeIngestError(w, r, err)
			return
		}
		cs, err := s.Store.Campaigns(r.Context(), ws.ID)
		if err != nil {
			s.storeIngestError(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, effectiveCampaign(domain.NewCatalogView(cs), id))
	default:
		allow(w, http.MethodGet, http.MethodPut)
		s.writeIngestError(w, r, errMethod)
	}
}

// rfc3339 formats a campaignstats-only timestamp (SPEC §1.6).
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// effectiveCampaign is the body of catalog PUT and GET (SPEC §3.12.2).
func effectiveCampaign(view *domain.CatalogView, id string) map[string]any {
	c, _ := view.Get(id)
	var start any
	if ms, ok := c.StartTimeMS(); ok {
		start = rfc3339(time.UnixMilli(ms))
	}
	var parent any
	if p := view.Parent(id); p != "" {
		parent = p
	} else if p := c.DeclaredParent(); p != "" {
		parent = p
	}
	explicit := c.Explicit.ExplicitFieldNames()
	if explicit == nil {
		explicit = []string{}
	}
	return map[string]any{
		"campaign_id": c.ID, "campaign_name": view.Name(id), "channel": view.Channel(id), "campaign_delivery_type": view.DeliveryType(id),
		"parent_campaign_id": parent, "campaign_status": c.Status(), "campaign_tags": c.Tags(),
		"campaign_team": c.Team(), "created_by": c.CreatedBy(), "platform": c.Platform(), "campaign_start_time": start,
		"conversion_goal_details": view.EffectiveGoals(id), "control_group_details": view.ControlGroup(id),
		"explicit_fields": explicit, "children": len(view.Children(id)),
		"created_at": rfc3339(c.CreatedAt), "updated_at": rfc3339(c.UpdatedAt),
	}
}

var (
	stagePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// handleFunnel is POST /v1/campaigns/{workspace_id}/{campaign_id}/funnel (SPEC §3.13).
func (s *Server) handleFunnel(w http.ResponseWriter, r *http.Request, ws domain.Workspace) {
	if mediaType(r) != "application/json" {
		s.writeIngestError(w, r, errContentType)
		return
	}
	body, ok := s.readBody(w, r, jsonBodyLimit)
	if !ok {
		return
	}
	if !json.Valid(body) || !utf8.Valid(body) {
		s.writeIngestError(w, r, errBadJSON)
		return
	}
	id := r.PathValue("campaign_id")
	cs, err := s.campaigns(r.Context(), ws.ID)
	if err != nil {
		s.storeIngestError(w, r, err)
		return
	}
	view := domain.NewCatalogView(cs)
	if _, ok := view.Get(id); !ok {
		s.writeIngestError(w, r, errUnknownCampaign)
		return
	}
	var elems []json.RawMessage
	prefix := func(i int) string { return "" }
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] == '[' {
		json.Unmarshal(trimmed, &elems)
		if len(elems) == 0 || len(elems) > 1000 {
			s.writeIngestError(w, r, invalidParams("body", "body must hold 1 to 1000 entries"))
			return
		}
		prefix = func(i int) string { return "[" + strconv.Itoa(i) + "]." }
	} else {
		elems = []json.RawMessage{trimmed}
	}
	derived := map[string]bool{}
	for _, st := range stats.DerivedFunnelStages(view.Channel(id)) {
		derived[st] = true
	}
	var entries []store.FunnelEntry
	for i, el := range elems {
		es, ferr := parseFunnelEntry(el, prefix(i), derived)
		if ferr != nil {
			s.writeIngestError(w, r, *ferr)
			return
		}
		for j := range es {
			es[j].CampaignID = id
		}
		entries = append(entries, es...)
	}
	if err := s.Intake.PutFunnel(r.Context(), ws.ID, entries); err != nil {
		s.storeIngestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "accepted": len(elems), "request_id": requestID(r.Context())})
}

func parseFunnelEntry(raw json.RawMessage, at string, derived map[string]bool) ([]store.FunnelEntry, *ingestError) {
	fail := func(attr, msg string) ([]store.FunnelEntry, *ingestError) {
		e := invalidParams(at+attr, msg)
		return nil, &e
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return fail("body", "entry must be a JSON object")
	}
	var date string
	if err := json.Unmarshal(m["date"], &date); err != nil || m["date"] == nil {
		return fail("date", "date is required in YYYY-MM-DD format")
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil || !datePattern.MatchString(date) {
		return fail("date", "date must be a date in YYYY-MM-DD format")
	}
	platform := domain.PlatformUnknown
	if p := m["platform"]; len(p) > 0 && string(p) != "null" {
		var ps string
		if err := json.Unmarshal(p, &ps); err != nil {
			return fail("platform", "platform must be a string")
		}
		if n, ok := ingest.NormalisePlatform(ps); ok {
			platform = n
		}
	}
	locale := ingest.LocaleKey(scalarText(m["locale"]), "")
	variation := strings.TrimSpace(scalarText(m["variation"]))
	if variation != domain.CampaignControlGroup && variation != domain.GlobalControlGroup {
		variation = ingest.VariationKey(variation)
	}
	var stages map[string]json.RawMessage
	if err := json.Unmarshal(m["stages"], &stages); err != nil || len(stages) == 0 {
		return fail("stages", "stages must be a non-empty object")
	}
	var out []store.FunnelEntry
	for name, v := range stages {
		if !stagePattern.MatchString(name) {
			return fail("stages."+name, "stage names must match ^[a-z][a-z0-9_]{0,63}$")
		}
		if derived[name] {
			return fail("stages."+name, fmt.Sprintf("stage %q is derived from events and cannot be posted", name))
		}
		n, _, ok := jsonscan.Integer(v, 0, 1<<53) // exactly: 9007199254740993 is not 2^53, 1e-400 is not 0
		if !ok {
			return fail("stages."+name, "stage values must be integers between 0 and 2^53")
		}
		out = append(out, store.FunnelEntry{Date: date, Platform: platform, Locale: locale, Variation: variation, Stage: name, Value: n})
	}
	return out, nil
}

// scalarText returns a JSON string's value or a JSON number's decimal text; "" for anything else.
func scalarText(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) == 0 || dec.Decode(&v) != nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

// waitFresh waits until the catalog values inferred from events reflect every event acknowledged before the call
// (Deps.Fresh), so that a campaign registered by an acknowledged event is known.
func (s *Server) waitFresh(ctx context.Context) error {
	if s.Fresh == nil {
		return nil
	}
	return s.Fresh(ctx)
}

// campaigns returns the workspace's catalog once it reflects every event acknowledged before the call.
func (s *Server) campaigns(ctx context.Context, ws string) ([]domain.Campaign, error) {
	if err := s.waitFresh(ctx); err != nil {
		return nil, err
	}
	return s.Store.Campaigns(ctx, ws)
}
