package ingest

import (
	"encoding/json"
	"testing"
)

// TestAttributeAliases covers SPEC §13.5 through the real decoder: every moe_ alias is read, the unprefixed member
// wins when it is present (not null), even empty, and rules 12–14 apply to the value used with their unprefixed messages.
func TestAttributeAliases(t *testing.T) {
	type want struct {
		reject                 string
		campaign, parent, name string
		locale, variation      string
		isCampaign             bool
	}
	ok := func(campaign, parent, name, locale, variation string) want {
		return want{campaign: campaign, parent: parent, name: name, locale: locale, variation: variation, isCampaign: true}
	}
	rej := func(msg string) want { return want{reject: msg} }
	tests := []struct {
		name  string
		code  string // "" = MOE_EMAIL_SENT
		attrs map[string]any
		want  want
	}{
		// campaign_id ← moe_campaign_id
		{"moe_campaign_id alone", "", map[string]any{"moe_campaign_id": "c-moe"}, ok("c-moe", "", "", "", "")},
		{"campaign_id wins", "", map[string]any{"campaign_id": "c-1", "moe_campaign_id": "c-moe"}, ok("c-1", "", "", "", "")},
		{"empty campaign_id wins", "", map[string]any{"campaign_id": "", "moe_campaign_id": "c-moe"}, rej(RejectCampaignIDMissing)},
		{"blank campaign_id wins", "", map[string]any{"campaign_id": "  ", "moe_campaign_id": "c-moe"}, rej(RejectCampaignIDInvalid)}, // as without the alias
		{"null campaign_id falls back", "", map[string]any{"campaign_id": nil, "moe_campaign_id": "c-moe"}, ok("c-moe", "", "", "", "")},
		{"numeric moe_campaign_id", "", map[string]any{"moe_campaign_id": json.RawMessage(`42`)}, ok("42", "", "", "", "")},
		{"rule 12 on the alias", "", map[string]any{"moe_campaign_id": ""}, rej(RejectCampaignIDMissing)},
		{"rule 12 with neither", "", map[string]any{"moe_campaign_name": "n"}, rej(RejectCampaignIDMissing)},
		{"rule 13 on the alias", "", map[string]any{"moe_campaign_id": "bad id!"}, rej(RejectCampaignIDInvalid)},
		{"rule 13 on the alias type", "", map[string]any{"moe_campaign_id": true}, rej(RejectCampaignIDInvalid)},
		{"invalid campaign_id is not rescued", "", map[string]any{"campaign_id": "bad id!", "moe_campaign_id": "c-moe"}, rej(RejectCampaignIDInvalid)},
		{"non-string campaign_id is not rescued", "", map[string]any{"campaign_id": false, "moe_campaign_id": "c-moe"}, rej(RejectCampaignIDInvalid)},
		{"invalid alias unused", "", map[string]any{"campaign_id": "c-1", "moe_campaign_id": "bad id!"}, ok("c-1", "", "", "", "")},
		{"control-group code with the alias", "MOE_CAMPAIGN_CONTROL_GROUP", map[string]any{"moe_campaign_id": "c-moe"},
			want{campaign: "c-moe", variation: "campaign_control_group", isCampaign: true}},
		// parent_campaign_id ← moe_c_pid
		{"moe_c_pid alone", "", map[string]any{"campaign_id": "c-1", "moe_c_pid": "p-moe"}, ok("c-1", "p-moe", "", "", "")},
		{"parent_campaign_id wins", "", map[string]any{"campaign_id": "c-1", "parent_campaign_id": "p-1", "moe_c_pid": "p-moe"}, ok("c-1", "p-1", "", "", "")},
		{"empty parent wins", "", map[string]any{"campaign_id": "c-1", "parent_campaign_id": "", "moe_c_pid": "p-moe"}, ok("c-1", "", "", "", "")},
		{"null parent falls back", "", map[string]any{"campaign_id": "c-1", "parent_campaign_id": nil, "moe_c_pid": "p-moe"}, ok("c-1", "p-moe", "", "", "")},
		{"rule 14 on the alias", "", map[string]any{"campaign_id": "c-1", "moe_c_pid": "bad id!"}, rej(RejectParentIDInvalid)},
		{"rule 14 on the alias type", "", map[string]any{"campaign_id": "c-1", "moe_c_pid": []int{1}}, rej(RejectParentIDInvalid)},
		{"invalid moe_c_pid unused", "", map[string]any{"campaign_id": "c-1", "parent_campaign_id": "p-1", "moe_c_pid": "bad id!"}, ok("c-1", "p-1", "", "", "")},
		{"moe_c_pid equal to the campaign", "", map[string]any{"moe_campaign_id": "c-1", "moe_c_pid": "c-1"}, ok("c-1", "", "", "", "")},
		// campaign_name ← moe_campaign_name
		{"moe_campaign_name alone", "", map[string]any{"campaign_id": "c-1", "moe_campaign_name": " Spring "}, ok("c-1", "", "Spring", "", "")},
		{"campaign_name wins", "", map[string]any{"campaign_id": "c-1", "campaign_name": "A", "moe_campaign_name": "B"}, ok("c-1", "", "A", "", "")},
		{"blank campaign_name wins", "", map[string]any{"campaign_id": "c-1", "campaign_name": " ", "moe_campaign_name": "B"}, ok("c-1", "", "", "", "")},
		// locale_name / locale_id ← moe_locale_name / moe_locale_id, then §2.6 order
		{"moe_locale_name alone", "", map[string]any{"campaign_id": "c-1", "moe_locale_name": " en "}, ok("c-1", "", "", "en", "")},
		{"locale_name wins", "", map[string]any{"campaign_id": "c-1", "locale_name": "fr", "moe_locale_name": "en"}, ok("c-1", "", "", "fr", "")},
		{"moe_locale_name before locale_id", "", map[string]any{"campaign_id": "c-1", "moe_locale_name": "en", "locale_id": "de"}, ok("c-1", "", "", "en", "")},
		{"moe_locale_id alone", "", map[string]any{"campaign_id": "c-1", "moe_locale_id": json.RawMessage(`7`)}, ok("c-1", "", "", "7", "")},
		{"locale_id wins over moe_locale_id", "", map[string]any{"campaign_id": "c-1", "locale_id": "de", "moe_locale_id": "pt"}, ok("c-1", "", "", "de", "")},
		{"empty locale_name, moe_locale_id", "", map[string]any{"campaign_id": "c-1", "locale_name": "", "moe_locale_id": "pt"}, ok("c-1", "", "", "pt", "")},
		{"moe_locale_name aggregate key", "", map[string]any{"campaign_id": "c-1", "moe_locale_name": "all_locale"}, ok("c-1", "", "", "", "")},
		// variation_id ← moe_variation_id
		{"moe_variation_id alone", "", map[string]any{"campaign_id": "c-1", "moe_variation_id": "02"}, ok("c-1", "", "", "", "variation_2")},
		{"variation_id wins", "", map[string]any{"campaign_id": "c-1", "variation_id": "1", "moe_variation_id": "2"}, ok("c-1", "", "", "", "variation_1")},
		{"empty variation_id wins", "", map[string]any{"campaign_id": "c-1", "variation_id": "", "moe_variation_id": json.RawMessage(`3`)}, ok("c-1", "", "", "", "")},
		{"null variation_id falls back", "", map[string]any{"campaign_id": "c-1", "variation_id": nil, "moe_variation_id": json.RawMessage(`3`)}, ok("c-1", "", "", "", "variation_3")},
		{"empty locale_name wins", "", map[string]any{"campaign_id": "c-1", "locale_name": "", "moe_locale_name": "en"}, ok("c-1", "", "", "", "")},
		// Everything at once, as a partner forward would send it.
		{"all aliases", "", map[string]any{"moe_campaign_id": "c-9", "moe_c_pid": "p-9", "moe_campaign_name": "Nine",
			"moe_locale_name": "hi", "moe_variation_id": "4", "moe_campaign_channel": "email"}, ok("c-9", "p-9", "Nine", "hi", "variation_4")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := tc.code
			if code == "" {
				code = "MOE_EMAIL_SENT"
			}
			it := decodeOne(t, ev(base(code, "", "", tc.attrs)))
			if tc.want.reject != "" {
				if it.Reject != tc.want.reject || it.Event != nil {
					t.Fatalf("Reject = %q, want %q", it.Reject, tc.want.reject)
				}
				return
			}
			e := it.Event
			if e == nil {
				t.Fatalf("rejected: %q", it.Reject)
			}
			got := want{campaign: e.CampaignID, parent: e.ParentCampaignID, name: e.CampaignName, locale: e.Locale,
				variation: e.Variation, isCampaign: e.Campaign}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestAttributeAliasesExportLine: the aliases are read in export-wrapped NDJSON lines and bare lines too, and a
// user event keeps its attributes as sent.
func TestAttributeAliasesExportLine(t *testing.T) {
	body := `{"app_name":"Shop","event":{"event_code":"MOE_EMAIL_SENT","event_uuid":"w1","event_time":1740819600,"uid":"u","event_attributes":{"moe_campaign_id":"c-w","moe_locale_id":"fr"}}}` + "\n" +
		`{"event_code":"MOE_EMAIL_OPEN","event_uuid":"b1","event_time":1740819600,"uid":"u","event_attributes":{"moe_campaign_id":"c-b","moe_variation_id":"7"}}` + "\n" +
		`{"event_name":"Purchase","event_uuid":"p1","event_time":1740819600,"uid":"u","event_attributes":{"moe_campaign_id":"c-b"}}`
	items, err := DecodeStreams([]byte(body), true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	for i, it := range items {
		if it.Event == nil {
			t.Fatalf("line %d rejected: %s", i, it.Reject)
		}
	}
	if e := items[0].Event; e.CampaignID != "c-w" || e.Locale != "fr" {
		t.Errorf("export line: %+v", e)
	}
	if e := items[1].Event; e.CampaignID != "c-b" || e.Variation != "variation_7" {
		t.Errorf("bare line: %+v", e)
	}
	if e := items[2].Event; e.Campaign || e.CampaignID != "" || string(e.Attributes) != `{"moe_campaign_id":"c-b"}` {
		t.Errorf("user event: %+v", e)
	}
}

// TestAllLocaleKeySpellings: both spellings of the locale aggregate key (SPEC §13.1 all_locale, §2.6 all_locales)
// are treated as absent, on events and in the exported helper the funnel uses.
func TestAllLocaleKeySpellings(t *testing.T) {
	for _, attrs := range []map[string]any{
		{"locale_name": "all_locale"}, {"locale_name": " all_locale "}, {"locale_id": "all_locale"},
		{"locale_name": "all_locales"}, {"moe_locale_name": "all_locales"}, {"locale_name": "all_locale", "locale_id": "fr"},
	} {
		if e := accepted(t, ev(base("MOE_EMAIL_SENT", "", "cmp-1", attrs))); e.Locale != "" {
			t.Errorf("attrs %v: locale %q, want absent", attrs, e.Locale)
		}
	}
	for _, s := range []string{"all_locale", "all_locales", " all_locale\t"} {
		if got := LocaleKey(s, "fr"); got != "" {
			t.Errorf("LocaleKey(%q) = %q, want absent", s, got)
		}
	}
	// Other spellings are ordinary locales (compared exactly, as all_variations is).
	for _, s := range []string{"ALL_LOCALE", "all-locale", "all_localess"} {
		if got := LocaleKey(s, ""); got != s {
			t.Errorf("LocaleKey(%q) = %q", s, got)
		}
	}
}
