package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// formulaFixture has text that a spreadsheet would evaluate in every kind of identity cell — a campaign id and a
// parent id starting with '-', names starting with '=', '+', '@', a tab and a carriage return, tags, a locale and
// a variation starting with '@' or '=', a goal name starting with '+' — and a control group that converts better
// than the campaign, so the uplift cells hold a negative number.
func formulaFixture(t *testing.T) *fixture {
	f := newFixture(t, "UTC")
	goals := `"conversion_goal_details":{"attribution_window_in_hours":36,"goals":[
		{"goal_name":"+Purchase","goal_event_name":"Purchase","revenue_attribute":"amount","is_primary_goal":true}]}`
	f.putCampaign(t, "-cmd", `{"campaign_name":"=HYPERLINK(\"http://evil.example\",\"open\")","channel":"PUSH",
		"campaign_delivery_type":"PERIODIC","campaign_start_time":"2025-03-01T00:00:00Z","campaign_tags":["@risk","ok"],`+goals+`}`)
	f.putCampaign(t, "-cmd_1", `{"campaign_name":"+1+2","channel":"PUSH","campaign_delivery_type":"PERIODIC",
		"parent_campaign_id":"-cmd","campaign_start_time":"2025-03-02T00:00:00Z"}`)
	f.putCampaign(t, "mail", `{"campaign_name":"\tTabbed, \"quoted\"","channel":"EMAIL","campaign_tags":["-x"]}`)
	f.putCampaign(t, "sms", `{"campaign_name":"\rcarriage","channel":"SMS"}`)
	f.putCampaign(t, "plain", `{"campaign_name":"Plain @ name = fine","channel":"SMS"}`)
	at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	var evs []refEvent
	add := func(c, parent string, ch domain.Channel, kind, platform, locale, variation, user string) {
		evs = append(evs, refEvent{campaign: c, parent: parent, channel: ch, kind: kind, platform: platform, locale: locale,
			variation: variation, user: user, at: at})
	}
	add("-cmd_1", "-cmd", domain.ChannelPush, "sent", "android", "@fr", "=v", "a")
	add("-cmd_1", "-cmd", domain.ChannelPush, "impression", "android", "@fr", "=v", "a")
	add("-cmd_1", "-cmd", domain.ChannelPush, "sent", "ios", "en", "2", "b")
	add("-cmd_1", "-cmd", domain.ChannelPush, "impression", "ios", "en", "2", "b")
	add("-cmd_1", "-cmd", domain.ChannelPush, "held", "android", "@fr", "", "g")
	add("mail", "", domain.ChannelEmail, "sent", "", "", "", "a")
	add("sms", "", domain.ChannelSMS, "sent", "", "", "", "a")
	add("plain", "", domain.ChannelSMS, "sent", "", "", "", "b")
	events := f.campaignEvents(evs)
	// Only the control-group user converts: the campaign's cvr is 0, its control group's 100, uplift -100.
	events = append(events, f.goalEvent("Purchase", "g", at.Add(time.Hour), map[string]any{"amount": 5}))
	f.ingest(t, events)
	return f
}

// TestCSVFormulaGuard checks the exact bytes of both layouts with csv_formula_guard off (cells as they are) and on
// (text cells that start with =, +, -, @, tab or CR get a leading '), against golden files (regenerate with
// go test ./internal/report -run TestCSVFormulaGuard -update). Numeric cells are never changed: -100 stays -100.
func TestCSVFormulaGuard(t *testing.T) {
	f := formulaFixture(t)
	for _, c := range []struct {
		name string
		def  Definition
		// cells are text cells of the fixture that start with a formula trigger; numbers are numeric cells
		// starting with '-' (preceded by the separator).
		cells, numbers []string
	}{
		{"formula_guard_rows", Definition{Name: "Guarded Rows", Layout: LayoutRows, Granularity: "daily",
			SplitBy: []string{"platform", "locale", "variation"}, MetricType: "TOTAL", AttributionType: "VIEW_THROUGH",
			Separator: ",", Compression: "gzip", Campaigns: &CampaignFilter{IncludeChildren: true}},
			[]string{"-cmd", "-cmd_1", "=HYPERLINK", "+1+2", "@fr", "=v", "\tTabbed", "\rcarriage"}, nil},
		{"formula_guard_moengage", Definition{Name: "Guarded MoE", Layout: LayoutMoEngage, Granularity: "aggregate",
			SplitBy: []string{"locale"}, MetricType: "TOTAL", AttributionType: "VIEW_THROUGH", Separator: ",",
			Compression: "zip", Campaigns: &CampaignFilter{IncludeChildren: true}},
			[]string{"-cmd", "-cmd_1", "=HYPERLINK", "+1+2", "@fr", "@risk;ok", "-x", "+Purchase", "\tTabbed", "\rcarriage"},
			[]string{",-100"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			texts := map[bool]string{}
			for _, guard := range []bool{false, true} {
				def := c.def
				def.CSVFormulaGuard = guard
				_, files := f.generate(t, def, "2025-03-01", "2025-03-07")
				var one strings.Builder
				for _, cf := range files {
					fmt.Fprintf(&one, "== %s ==\n%s", cf.name, cf.text)
				}
				texts[guard] = one.String()
				fmt.Fprintf(&b, "###### csv_formula_guard: %t\n%s", guard, one.String())
			}
			off, on := texts[false], texts[true]
			if strings.Contains(off, "'") {
				t.Errorf("guard off changed cells:\n%s", off)
			}
			for _, cell := range c.cells {
				if !strings.Contains(off, cell) || !strings.Contains(on, "'"+cell) {
					t.Errorf("cell %q: as is without the guard, quoted with it? off:\n%s\non:\n%s", cell, off, on)
				}
			}
			for _, n := range c.numbers {
				if !strings.Contains(off, n) || !strings.Contains(on, n) || strings.Contains(on, "'"+n[1:]) {
					t.Errorf("numeric cell %q changed by the guard:\n%s", n, on)
				}
			}
			if strings.ReplaceAll(on, "'", "") != off {
				t.Errorf("guard on differs from off by more than leading quotes")
			}
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
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

func TestCSVEncoderText(t *testing.T) {
	guard, plain := newCSVEncoder(",", true), newCSVEncoder(",", false)
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-cmd": "'-cmd", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "a=b": "a=b", " =x": " =x", "'=x": "'=x", "plain": "plain", "é=": "é=",
	} {
		if got := guard.text(in); got != want {
			t.Errorf("guard.text(%q) = %q, want %q", in, got, want)
		}
		if got := plain.text(in); got != in {
			t.Errorf("plain.text(%q) = %q", in, got)
		}
	}
	// The quote goes inside the CSV quoting when the cell needs quoting.
	if got := string(guard.appendRecord(nil, guard.texts([]string{"=a,b", "\rx", "-1"}))); got != "\"'=a,b\",\"'\rx\",'-1\n" {
		t.Errorf("record %q", got)
	}
}
