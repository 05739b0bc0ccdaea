package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenFixture is a small catalog and event set in Asia/Kolkata exercising names that need quoting, parents and
// children, control groups, several platforms, locales and variations, and a campaign without events.
func goldenFixture(t *testing.T) *fixture {
	f := newFixture(t, "Asia/Kolkata")
	goals := `"conversion_goal_details":{"attribution_window_in_hours":36,"goals":[
		{"goal_name":"Purchase","goal_event_name":"Purchase","revenue_attribute":"amount","is_primary_goal":true},
		{"goal_name":"Signup","goal_event_name":"Signup"}]}`
	f.putCampaign(t, "push_1", `{"campaign_name":"Spring \"Sale\"; 2025, part|1","channel":"PUSH","campaign_delivery_type":"ONE_TIME",
		"campaign_start_time":"2025-03-01T00:00:00Z","campaign_tags":["sale"],`+goals+`}`)
	f.putCampaign(t, "email_1", `{"campaign_name":"Newsletter: March","channel":"EMAIL","campaign_start_time":"2025-02-25T00:00:00Z",
		"conversion_goal_details":{"goals":[{"goal_name":"Order","goal_event_name":"Order","revenue_attribute":"value"}]}}`)
	f.putCampaign(t, "sms_1", `{"campaign_name":"SMS blast","channel":"SMS","campaign_start_time":"2025-02-20T00:00:00Z"}`)
	f.putCampaign(t, "conn_1", `{"campaign_name":"Webhook","channel":"CONNECTORS"}`)
	f.putCampaign(t, "parent_1", `{"campaign_name":"Daily digest","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"campaign_start_time":"2025-01-01T00:00:00Z",`+goals+`}`)
	f.putCampaign(t, "parent_1_c1", `{"campaign_name":"Daily digest #1","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"parent_campaign_id":"parent_1","campaign_start_time":"2025-03-03T00:00:00Z"}`)
	f.putCampaign(t, "idle_1", `{"campaign_name":"Idle","channel":"EMAIL"}`)

	// 2025-03-03 18:00 UTC is 23:30 in Kolkata; 19:00 UTC is already 2025-03-04 there.
	d1 := time.Date(2025, 3, 3, 18, 0, 0, 0, time.UTC)
	d2 := time.Date(2025, 3, 3, 19, 0, 0, 0, time.UTC)
	var evs []refEvent
	add := func(c, parent string, ch domain.Channel, kind, platform, locale, variation, user string, at time.Time) {
		evs = append(evs, refEvent{campaign: c, parent: parent, channel: ch, kind: kind, platform: platform, locale: locale,
			variation: variation, user: user, at: at})
	}
	for i, u := range []string{"a", "b", "c", "d"} {
		p := "android"
		if i%2 == 1 {
			p = "ios"
		}
		loc, v := "en", "1"
		if i >= 2 {
			loc, v = "fr", "2"
		}
		at := d1
		if i == 3 {
			at = d2
		}
		add("push_1", "", domain.ChannelPush, "sent", p, loc, v, u, at)
		add("push_1", "", domain.ChannelPush, "impression", p, loc, v, u, at.Add(time.Minute))
		if i < 3 {
			add("push_1", "", domain.ChannelPush, "click", p, loc, v, u, at.Add(2*time.Minute))
		}
	}
	add("push_1", "", domain.ChannelPush, "failed", "android", "en", "1", "e", d1)
	add("push_1", "", domain.ChannelPush, "held", "android", "en", "", "g", d1)
	add("push_1", "", domain.ChannelPush, "held", "android", "", "", "h", d2)
	for _, u := range []string{"a", "b", "c"} {
		add("email_1", "", domain.ChannelEmail, "sent", "", "", "", u, d1)
		add("email_1", "", domain.ChannelEmail, "delivered", "", "", "", u, d1.Add(time.Minute))
	}
	add("email_1", "", domain.ChannelEmail, "opened", "", "", "", "a", d1.Add(2*time.Minute))
	add("email_1", "", domain.ChannelEmail, "click", "", "", "", "a", d1.Add(3*time.Minute))
	add("sms_1", "", domain.ChannelSMS, "sent", "", "", "", "a", d2)
	add("sms_1", "", domain.ChannelSMS, "failed", "", "", "", "b", d2)
	add("conn_1", "", domain.ChannelConnectors, "sent", "", "", "", "c", d2)
	add("parent_1_c1", "parent_1", domain.ChannelPush, "sent", "android", "", "", "a", d2)
	add("parent_1_c1", "parent_1", domain.ChannelPush, "impression", "android", "", "", "a", d2.Add(time.Minute))
	events := f.campaignEvents(evs)
	events = append(events,
		f.goalEvent("Purchase", "a", d2.Add(time.Hour), map[string]any{"amount": 19.99}),
		f.goalEvent("Purchase", "b", d1.Add(time.Hour), map[string]any{"amount": "5"}),
		f.goalEvent("Purchase", "g", d1.Add(time.Hour), map[string]any{"amount": 7}),
		f.goalEvent("Order", "a", d1.Add(time.Hour), map[string]any{"value": 100.5}),
	)
	f.ingest(t, events)
	return f
}

// TestGoldenLayouts checks the exact bytes of the CSVs of several layouts against golden files (regenerate them
// with go test ./internal/report -run TestGoldenLayouts -update).
func TestGoldenLayouts(t *testing.T) {
	f := goldenFixture(t)
	for _, c := range []struct {
		name       string
		def        Definition
		start, end string
	}{
		{"aggregate_zip", Definition{Name: "Weekly Report", Granularity: "aggregate", MetricType: "TOTAL",
			AttributionType: "VIEW_THROUGH", Separator: ",", Compression: "zip"}, "2025-03-01", "2025-03-07"},
		{"daily_split_zip", Definition{Name: "Daily Split", Granularity: "daily", SplitBy: []string{"platform", "locale", "variation"},
			MetricType: "UNIQUE", AttributionType: "VIEW_THROUGH", Separator: ";", Compression: "zip",
			Campaigns: &CampaignFilter{Channels: []string{"PUSH", "WHATSAPP"}, IncludeChildren: false}}, "2025-03-01", "2025-03-07"},
		{"variation_gzip_custom", Definition{Name: "Custom Columns", Granularity: "aggregate", SplitBy: []string{"variation"},
			MetricType: "TOTAL", AttributionType: "CLICK_THROUGH", Separator: "|", Compression: "gzip",
			Columns:   map[string][]string{"EMAIL": {"Opened", "CTR", "Revenue"}, "PUSH": {"Click", "Conversions", "Sent"}},
			Campaigns: &CampaignFilter{IncludeChildren: true}}, "2025-03-01", "2025-03-07"},
		{"listed_ids_colon", Definition{Name: "Listed", Granularity: "aggregate", SplitBy: []string{"locale"}, MetricType: "TOTAL",
			AttributionType: "VIEW_THROUGH", Separator: ":", Compression: "zip",
			// ids is a filter: parent_1 is listed first, but push_1 starts later and comes first (SPEC §8.7, §5.5).
			Campaigns: &CampaignFilter{IDs: []string{"idle_1", "nope", "parent_1", "push_1", "idle_1"}, IncludeChildren: true}}, "2025-03-01", "2025-03-07"},
		{"tags_daily_gzip", Definition{Name: "Tagged", Granularity: "daily", MetricType: "TOTAL", AttributionType: "VIEW_THROUGH",
			Separator: ",", Compression: "gzip", Campaigns: &CampaignFilter{Tags: []string{"SALE"}, IncludeChildren: true}},
			"2025-03-01", "2025-03-07"},
		// The moengage layout (SPEC §13.2).
		{"moengage_aggregate_zip", Definition{Name: "MoE Export", Layout: LayoutMoEngage, Granularity: "aggregate", MetricType: "TOTAL",
			AttributionType: "VIEW_THROUGH", Separator: ",", Compression: "zip",
			Campaigns: &CampaignFilter{IDs: []string{"idle_1", "parent_1", "push_1", "email_1", "sms_1", "conn_1"}, IncludeChildren: true}},
			"2025-03-01", "2025-03-07"},
		{"moengage_daily_locale_gzip", Definition{Name: "MoE Daily", Layout: LayoutMoEngage, Granularity: "daily", SplitBy: []string{"locale", "platform"},
			MetricType: "UNIQUE", AttributionType: "CLICK_CONVERSIONS", Separator: ";", Compression: "gzip",
			Campaigns: &CampaignFilter{IncludeChildren: true}}, "2025-03-01", "2025-03-07"},
		{"moengage_columns_zip", Definition{Name: "MoE Columns", Layout: LayoutMoEngage, Granularity: "aggregate", MetricType: "TOTAL",
			AttributionType: "TOTAL_CONVERSIONS", Separator: "|", Compression: "zip",
			Columns:   map[string][]string{"PUSH": {"Clicks", "Goals", "Sent"}, "EMAIL": {"Unique Opens", "CTR"}},
			Campaigns: &CampaignFilter{Channels: []string{"PUSH", "EMAIL", "WHATSAPP"}, IncludeChildren: true}}, "2025-03-01", "2025-03-07"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, files := f.generate(t, c.def, c.start, c.end)
			var b strings.Builder
			fmt.Fprintf(&b, "file %s, %d rows\n", out.Filename, out.Rows)
			var rows int64
			for _, cf := range files {
				fmt.Fprintf(&b, "== %s ==\n%s", cf.name, cf.text)
				rows += int64(strings.Count(cf.text, "\n") - 1)
			}
			if rows != out.Rows {
				t.Errorf("Rows = %d, the CSVs hold %d data rows", out.Rows, rows)
			}
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", c.name, path, b.String(), want)
			}
		})
	}
}

func TestCSVEncoding(t *testing.T) {
	for _, c := range []struct {
		sep    string
		fields []string
		want   string
	}{
		{",", []string{"a", "b c", " lead", "x;y"}, "a,b c, lead,x;y\n"},
		{",", []string{"a,b", `say "hi"`, "line\nbreak", "cr\rx", ""}, "\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"cr\rx\",\n"},
		{";", []string{"a,b", "a;b", "é"}, "a,b;\"a;b\";é\n"},
		{"|", []string{"a|b", "a:b"}, "\"a|b\"|a:b\n"},
		{":", []string{"12:30", "x"}, "\"12:30\":x\n"},
		{"", []string{"a,b"}, "\"a,b\"\n"},
	} {
		if got := string(newCSVEncoder(c.sep, false).appendRecord(nil, c.fields)); got != c.want {
			t.Errorf("sep %q %q: got %q, want %q", c.sep, c.fields, got, c.want)
		}
	}
}

func TestFileNameAndRange(t *testing.T) {
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	created := time.Date(2025, 3, 9, 20, 0, 0, 0, time.UTC) // 2025-03-10 01:30 in Kolkata
	if got := FileNameFor(Definition{Name: "Weekly Push Report", Compression: "zip"}, created, kolkata); got != "Weekly_Push_Report_20250310.zip" {
		t.Errorf("zip name %q", got)
	}
	if got := FileNameFor(Definition{Name: "a b", Compression: "gzip"}, created, time.UTC); got != "a_b_20250309.gz" {
		t.Errorf("gzip name %q", got)
	}
	if s, e := (Range{LastDays: 7}).Dates(created, kolkata); s != "2025-03-03" || e != "2025-03-09" {
		t.Errorf("last_days 7: %s..%s", s, e)
	}
	if s, e := (Range{StartDate: "2025-01-01", EndDate: "2025-03-31"}).Dates(created, kolkata); s != "2025-01-01" || e != "2025-03-31" {
		t.Errorf("fixed: %s..%s", s, e)
	}
}

// TestColumnsMatchEngineFields checks that every default metric column of every channel names a performance_stats
// field the engine emits for that channel, in the same order.
func TestColumnsMatchEngineFields(t *testing.T) {
	f := newFixture(t, "UTC")
	for i, ch := range domain.AllChannels() {
		id := fmt.Sprintf("c%d", i)
		f.putCampaign(t, id, `{"channel":"`+string(ch)+`"}`)
		// A funnel entry creates a node without any event, so every channel gets its full performance_stats.
		if err := f.st.PutFunnel(t.Context(), f.ws.ID, []store.FunnelEntry{{CampaignID: id, Date: "2025-03-03", Stage: "x", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	view, err := f.eng.Catalog(t.Context(), f.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	for i, ch := range domain.AllChannels() {
		id := fmt.Sprintf("c%d", i)
		from, to := stats.Range(day, day, time.UTC)
		res, err := f.eng.Nodes(t.Context(), stats.NodesQuery{Workspace: f.ws, View: view, CampaignIDs: []string{id},
			FromMS: from, ToMS: to, FromDate: "2025-03-03", ToDate: "2025-03-03"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || len(res[0].Platforms) == 0 || res[0].Platforms[0].Key != domain.AllPlatforms {
			t.Fatalf("%s: no node: %+v", ch, res)
		}
		var fields []string
		for _, p := range res[0].Platforms[0].Locales[0].Variations[0].Performance {
			fields = append(fields, p.Name)
		}
		var cols []string
		for _, c := range MetricColumns(ch) {
			cols = append(cols, MetricField(c))
		}
		if strings.Join(fields, ",") != strings.Join(cols, ",") {
			t.Errorf("%s: engine fields %v, report columns %v", ch, fields, cols)
		}
	}
}

// TestMoEngageRunWithoutRows: a run that selects no campaign is header-only (SPEC §8.4). Its gzip CSV still has the
// goal columns of goal 1 (G is at least 1, §13.2), without platform prefixes since no device channel is included;
// a zip holds a header-only CSV for each channel the filter lists, PUSH's goal block with the prefixes at the end.
func TestMoEngageRunWithoutRows(t *testing.T) {
	f := goldenFixture(t)
	identity := "Campaign ID,Campaign Version Name,Variation,Campaign Name,Campaign Type,Campaign Delivery Type," +
		"Campaign Channel,Campaign Status,Campaign Sent Time,Parent Campaign ID,Campaign Tags"
	goal := func(prefixes ...string) string {
		cols := []string{"Goal 1 Name"}
		for _, field := range []string{"Converted Users", "Conversion Events", "CVR", "Total Revenue", "Average Order Value", "Control Group Uplift"} {
			if len(prefixes) == 0 {
				cols = append(cols, "Goal 1 View Through "+field)
			}
			for _, p := range prefixes {
				cols = append(cols, "Goal 1 View Through "+field+" "+p)
			}
		}
		return strings.Join(cols, ",")
	}
	def := Definition{Name: "Nothing", Layout: LayoutMoEngage, Granularity: "aggregate", MetricType: "TOTAL",
		AttributionType: "VIEW_THROUGH", Separator: ",", Compression: "gzip", Campaigns: &CampaignFilter{IDs: []string{"nope"}}}
	out, files := f.generate(t, def, "2025-03-01", "2025-03-07")
	if want := identity + "," + goal() + "\n"; out.Rows != 0 || len(files) != 1 || files[0].text != want {
		t.Fatalf("gzip: %d rows, files %+v, want one with\n%s", out.Rows, files, want)
	}
	def.Compression, def.Campaigns.Channels = "zip", []string{"PUSH"}
	out, files = f.generate(t, def, "2025-03-01", "2025-03-07")
	var push []string
	for _, m := range []string{"Attempted", "Sent", "Sent Rate", "Failed", "Failure Rate", "Impressions", "Unique Impressions",
		"Impression Rate", "Clicks", "Unique Clicks", "CTR"} {
		for _, p := range []string{"Android", "Ios", "Web", "All Platform"} {
			push = append(push, p+" "+m)
		}
	}
	want := identity + "," + strings.Join(push, ",") + "," + goal("Android", "Ios", "Web", "All Platform") + "\n"
	if out.Rows != 0 || len(files) != 1 || files[0].text != want {
		t.Fatalf("zip: %d rows, files %+v, want one with\n%s", out.Rows, files, want)
	}
}
