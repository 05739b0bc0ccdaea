package report

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/catalog"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/embedded"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// fixture is a real DuckDB store with one workspace, the engine over it and a generator writing to a temporary
// directory.
type fixture struct {
	sys   *embedded.System
	st    *duckdb.Store
	eng   *stats.Engine
	ws    domain.Workspace
	files *blob.Dir
	gen   *FileGenerator
	now   time.Time
	seq   int
	// events are the campaign events ingested, for the test's own reference computations.
	events []refEvent
}

func newFixture(t *testing.T, timezone string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	sys, err := embedded.Open(ctx, embedded.Options{DataDir: t.TempDir(), DuckDB: duckdb.Options{MemoryLimit: "1GB", Threads: 2}, Now: clock,
		FreshnessWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	st := sys.Store
	f.sys, f.st, f.eng = sys, st, sys.Engine
	f.ws, err = workspace.New(st, clock, 100).Create(ctx, workspace.CreateRequest{Name: "reports", Timezone: timezone,
		WorkspaceID: "abcdefabcdefabcdefabcdef"})
	if err != nil {
		t.Fatal(err)
	}
	f.files, err = blob.OpenDir(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.files.Close() })
	f.gen = NewFileGenerator(GeneratorConfig{Engine: f.eng, Files: f.files, CampaignsPerQuery: 3})
	return f
}

// putCampaign writes a catalog entry as PUT /v1/campaigns would (SPEC §3.12).
func (f *fixture) putCampaign(t *testing.T, id, body string) {
	t.Helper()
	ctx := context.Background()
	fields, ferr := catalog.ParsePut([]byte(body), id, ingest.ParseTime)
	if ferr != nil {
		t.Fatalf("put %s: %v", id, ferr)
	}
	err := f.sys.Intake.UpdateCatalog(ctx, f.ws.ID, func(cs []domain.Campaign) ([]domain.Campaign, error) {
		records, _, ferr := catalog.Apply(domain.NewCatalogView(cs), id, fields, f.now)
		if ferr != nil {
			return nil, ferr
		}
		return records, nil
	})
	if err != nil {
		t.Fatalf("put %s: %v", id, err)
	}
	if err := f.sys.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// refEvent is a campaign event as the test knows it.
type refEvent struct {
	campaign, parent        string
	channel                 domain.Channel
	kind                    string // sent, failed, impression, click, delivered, opened, closed, hard_bounce, unsubscribe, held
	platform                string // android / ios for device channels
	locale, variation, user string
	at                      time.Time
}

// metrics returns the TOTAL counter metrics an event feeds (SPEC §4.2, §4.3).
func (e refEvent) metrics() []string {
	switch e.kind {
	case "sent":
		if e.channel == domain.ChannelConnectors || e.channel == domain.ChannelCards {
			return []string{"sent"}
		}
		return []string{"sent", "attempted"}
	case "failed":
		if e.channel == domain.ChannelSMS || e.channel == domain.ChannelWhatsApp {
			return []string{"failed"}
		}
		return []string{"failed", "attempted"}
	case "closed":
		return []string{"closed_click"}
	case "hard_bounce":
		return []string{"hard_bounce", "bounced"}
	case "held":
		return []string{"held"}
	case "opened":
		return []string{"open"} // the Stats field (SPEC §13.1)
	}
	return []string{e.kind}
}

// streamsEvent renders a refEvent as a Streams event.
func (f *fixture) streamsEvent(e refEvent) map[string]any {
	f.seq++
	attrs := map[string]any{"campaign_id": e.campaign}
	if e.parent != "" {
		attrs["parent_campaign_id"] = e.parent
	}
	if e.locale != "" {
		attrs["locale_name"] = e.locale
	}
	if e.variation != "" {
		attrs["variation_id"] = e.variation
	}
	ev := map[string]any{"event_uuid": fmt.Sprintf("ev-%06d", f.seq), "event_time": e.at.UnixMilli(), "uid": e.user,
		"event_attributes": attrs}
	ios := e.platform == "ios"
	pick := func(android, iosCode string) string {
		if ios {
			return iosCode
		}
		return android
	}
	code, name := "", ""
	switch e.channel {
	case domain.ChannelPush:
		switch e.kind {
		case "sent":
			code, name = pick("", "n_i_s"), pick("Notification Sent Android", "")
		case "impression":
			code = pick("NOTIFICATION_RECEIVED_MOE", "NOTIFICATION_RECEIVED_IOS_MOE")
		case "click":
			code = pick("NOTIFICATION_CLICKED_MOE", "NOTIFICATION_CLICKED_IOS_MOE")
		case "failed":
			name = pick("Notification Failed Android", "Notification Failed iOS")
			attrs["reason_code"] = pick("201", "501")
		case "held":
			code = "MOE_CAMPAIGN_CONTROL_GROUP"
			attrs["platform"] = e.platform
		}
	case domain.ChannelInApp:
		code = map[string]string{"impression": pick("MOE_IN_APP_SHOWN", "iOS_IN_APP_SHOWN"),
			"click": pick("MOE_IN_APP_CLICKED", "iOS_IN_APP_CLICKED"), "closed": pick("MOE_IN_APP_DISMISSED", "iOS_IN_APP_CLOSE_CLICKED")}[e.kind]
	case domain.ChannelEmail:
		code = map[string]string{"sent": "MOE_EMAIL_SENT", "delivered": "MOE_EMAIL_DELIVERED", "opened": "MOE_EMAIL_OPEN",
			"click": "MOE_EMAIL_CLICK", "failed": "MOE_EMAIL_DROP", "hard_bounce": "MOE_EMAIL_HARD_BOUNCE",
			"unsubscribe": "MOE_EMAIL_UNSUBSCRIBE"}[e.kind]
		if e.kind == "failed" {
			attrs["reason"] = "HARD_BOUNCE_DROPPED_REASON"
		}
	case domain.ChannelSMS:
		code = map[string]string{"sent": "SMS_SENT", "delivered": "SMS_DELIVERED", "click": "MOE_SMS_CLICKED",
			"failed": "MOE_SMS_DELIVERY_FAILED"}[e.kind]
	case domain.ChannelConnectors:
		code = "MOE_CONNECTOR_SENT"
	}
	if code != "" {
		ev["event_code"] = code
	}
	if name != "" {
		ev["event_name"] = name
	}
	if code == "" && name == "" {
		panic(fmt.Sprintf("no code for %+v", e))
	}
	return ev
}

// goalEvent renders a user (goal) event.
func (f *fixture) goalEvent(name, user string, at time.Time, attrs map[string]any) map[string]any {
	f.seq++
	if attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{"event_uuid": fmt.Sprintf("ev-%06d", f.seq), "event_name": name, "event_time": at.UnixMilli(),
		"uid": user, "event_attributes": attrs}
}

// ingest decodes Streams events with internal/ingest and appends them to the store, in batches.
func (f *fixture) ingest(t *testing.T, events []map[string]any) {
	t.Helper()
	for start := 0; start < len(events); start += 2000 {
		chunk := events[start:min(start+2000, len(events))]
		body, err := json.Marshal(map[string]any{"app_name": "test", "source": "test", "events": chunk})
		if err != nil {
			t.Fatal(err)
		}
		items, err := ingest.DecodeStreams(body, false, f.now)
		if err != nil {
			t.Fatal(err)
		}
		var evs []domain.Event
		for _, it := range items {
			if it.Event == nil {
				t.Fatalf("event %d rejected: %s (%s)", it.Index, it.Reject, it.Payload)
			}
			evs = append(evs, *it.Event)
		}
		res, err := f.sys.Ingest(context.Background(), f.ws.ID, f.now, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range res.Duplicate {
			if d {
				t.Fatalf("event %d duplicate", i)
			}
		}
	}
}

// campaignEvents renders and remembers campaign events.
func (f *fixture) campaignEvents(evs []refEvent) []map[string]any {
	out := make([]map[string]any, 0, len(evs))
	for _, e := range evs {
		out = append(out, f.streamsEvent(e))
		f.events = append(f.events, e)
	}
	return out
}

// generate runs the generator and returns the file and the CSVs it holds.
func (f *fixture) generate(t *testing.T, def Definition, start, end string) (GeneratedFile, []csvFile) {
	t.Helper()
	out, err := f.gen.GenerateFile(context.Background(), GenerateJob{Workspace: f.ws, Definition: def,
		CreatedAt: time.Date(2025, 4, 2, 3, 0, 0, 0, time.UTC), StartDate: start, EndDate: end})
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.files.Open(context.Background(), f.ws.ID, out.Filename)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != out.Size {
		t.Fatalf("size %d, file has %d bytes", out.Size, len(data))
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != out.SHA256 {
		t.Fatalf("sha256 %s, file has %x", out.SHA256, sum)
	}
	return out, readArchive(t, data, strings.HasSuffix(out.Filename, ".gz"))
}

// csvFile is one CSV of an archive.
type csvFile struct {
	name string
	text string
}

func readArchive(t *testing.T, data []byte, gz bool) []csvFile {
	t.Helper()
	if gz {
		br := bytes.NewReader(data)
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if br.Len() != 0 {
			t.Fatalf("gzip file has %d bytes after its first member", br.Len())
		}
		return []csvFile{{zr.Name, string(b)}}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []csvFile
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, csvFile{e.Name, string(b)})
	}
	return out
}

// parseCSV splits a CSV into its header and records.
func parseCSV(t *testing.T, text string, sep rune) ([]string, [][]string) {
	t.Helper()
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, text)
	}
	if len(recs) == 0 {
		t.Fatalf("CSV without header")
	}
	return recs[0], recs[1:]
}
