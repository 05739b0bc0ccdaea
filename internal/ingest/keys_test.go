package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// TestUserKeyStreams covers §2.8 for Streams events: order, namespaces, trimming, numbers, lower-cased email.
func TestUserKeyStreams(t *testing.T) {
	all := map[string]any{
		"uid": "user-1", "push_id": "tok", "email_id": "A@B.com", "mobile_number": "+15550100",
		"user_attributes":   map[string]any{"moengage_user_id": "moe-1"},
		"device_attributes": map[string]any{"moengage_device_id": "dev-1"},
	}
	without := func(drop ...string) map[string]any {
		f := map[string]any{"event_uuid": "u", "event_code": "X", "event_time": testTimeSec}
		for k, v := range all {
			f[k] = v
		}
		for _, d := range drop {
			delete(f, d)
		}
		return f
	}
	tests := []struct {
		name   string
		fields map[string]any
		want   string // "" = no identity
	}{
		{"uid first", without(), "uid:user-1"},
		{"moengage_user_id second", without("uid"), "moe:moe-1"},
		{"moengage_device_id third", without("uid", "user_attributes"), "dev:dev-1"},
		{"push_id fourth", without("uid", "user_attributes", "device_attributes"), "push:tok"},
		{"email fifth, lower-cased", without("uid", "user_attributes", "device_attributes", "push_id"), "email:a@b.com"},
		{"mobile sixth", without("uid", "user_attributes", "device_attributes", "push_id", "email_id"), "mobile:+15550100"},
		{"none", without("uid", "user_attributes", "device_attributes", "push_id", "email_id", "mobile_number"), ""},
		{"blank uid skipped", merge(without(), map[string]any{"uid": "   "}), "moe:moe-1"},
		{"trimmed", merge(without(), map[string]any{"uid": "  user-9 \t"}), "uid:user-9"},
		{"numeric uid", merge(without(), map[string]any{"uid": json.RawMessage(`1042`)}), "uid:1042"},
		{"numeric uid with fraction", merge(without(), map[string]any{"uid": json.RawMessage(`4.50`)}), "uid:4.5"},
		{"numeric uid exponent", merge(without(), map[string]any{"uid": json.RawMessage(`1e3`)}), "uid:1000"},
		{"boolean uid ignored", merge(without(), map[string]any{"uid": true}), "moe:moe-1"},
		{"null uid ignored", merge(without(), map[string]any{"uid": nil}), "moe:moe-1"},
		{"numeric mobile", merge(without("uid", "user_attributes", "device_attributes", "push_id", "email_id"),
			map[string]any{"mobile_number": json.RawMessage(`919876543210`)}), "mobile:919876543210"},
		{"email trimmed and lower-cased", merge(without("uid", "user_attributes", "device_attributes", "push_id"),
			map[string]any{"email_id": "  Ann.Lee@Example.COM "}), "email:ann.lee@example.com"},
		{"empty user_attributes value", merge(without("uid"), map[string]any{
			"user_attributes": map[string]any{"moengage_user_id": ""}}), "dev:dev-1"},
		{"null attribute objects are absent", merge(without("uid"), map[string]any{
			"user_attributes": nil, "device_attributes": nil}), "push:tok"},
		{"same value, different namespaces", merge(without("uid", "user_attributes", "device_attributes"),
			map[string]any{"push_id": "user-1"}), "push:user-1"},
	}
	for _, tc := range tests {
		it := decodeOne(t, ev(tc.fields))
		if tc.want == "" {
			if it.Reject != RejectNoUserIdentity {
				t.Errorf("%s: Reject = %q, want rule 15", tc.name, it.Reject)
			}
		} else if it.Event == nil || it.Event.UserKey != tc.want {
			t.Errorf("%s: got %+v (reject %q), want user key %q", tc.name, it.Event, it.Reject, tc.want)
		}
		// The exported helper agrees.
		k, ok := UserKeyStreams(json.RawMessage(ev(tc.fields)))
		if k != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: UserKeyStreams = %q, %v; want %q", tc.name, k, ok, tc.want)
		}
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestTrackUserKey(t *testing.T) {
	raw := func(m map[string]string) map[string]json.RawMessage {
		out := map[string]json.RawMessage{}
		for k, v := range m {
			out[k] = json.RawMessage(v)
		}
		return out
	}
	tests := []struct {
		customer string
		ids      map[string]string
		want     string
	}{
		{"  c-1 ", map[string]string{"moe_email": `"a@b.c"`}, "uid:c-1"},
		{"", map[string]string{"moe_email": `" A@B.com "`, "moe_mobile": `"1"`}, "email:a@b.com"},
		{"   ", map[string]string{"moe_mobile": `919876543210`}, "mobile:919876543210"},
		{"", map[string]string{"moe_mobile": `" +1 555 "`, "x": `"y"`}, "mobile:+1 555"},
		{"", map[string]string{"z": `"1"`, "b": `"2"`, "a": `"  "`, "B": `"3"`}, "id:B:3"},
		{"", map[string]string{"moe_email": `""`, "zz": `7`}, "id:zz:7"},
		{"", map[string]string{"k": `true`, "l": `null`, "m": `{"a":1}`}, ""},
		{"", nil, ""},
	}
	for _, tc := range tests {
		got, ok := TrackUserKey(tc.customer, raw(tc.ids))
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("TrackUserKey(%q, %v) = %q, %v; want %q", tc.customer, tc.ids, got, ok, tc.want)
		}
	}
}

// TestLocaleVariation covers §2.6.
func TestLocaleVariation(t *testing.T) {
	tests := []struct {
		attrs     map[string]any
		locale    string
		variation string
	}{
		{map[string]any{"locale_name": "en", "variation_id": "1"}, "en", "variation_1"},
		{map[string]any{"locale_name": " en ", "locale_id": "fr"}, "en", ""},
		{map[string]any{"locale_id": json.RawMessage(`7`)}, "7", ""},
		{map[string]any{"locale_name": "", "locale_id": "fr"}, "fr", ""},
		{map[string]any{"locale_name": "  ", "locale_id": " fr "}, "fr", ""},
		{map[string]any{"locale_name": "all_locales"}, "", ""},
		{map[string]any{"locale_name": true, "locale_id": "de"}, "de", ""},
		{map[string]any{"variation_id": json.RawMessage(`2`)}, "", "variation_2"},
		{map[string]any{"variation_id": "02"}, "", "variation_2"},
		{map[string]any{"variation_id": " 0010 "}, "", "variation_10"},
		{map[string]any{"variation_id": "0"}, "", "variation_0"},
		{map[string]any{"variation_id": "00"}, "", "variation_0"},
		{map[string]any{"variation_id": json.RawMessage(`0`)}, "", "variation_0"},
		{map[string]any{"variation_id": "123456789012345678901234567890"}, "", "variation_123456789012345678901234567890"},
		{map[string]any{"variation_id": "A"}, "", "A"},
		{map[string]any{"variation_id": " Variant B "}, "", "Variant B"},
		{map[string]any{"variation_id": "-1"}, "", "-1"},
		{map[string]any{"variation_id": "1.5"}, "", "1.5"},
		{map[string]any{"variation_id": "variation_3"}, "", "variation_3"},
		{map[string]any{"variation_id": "all_variations"}, "", ""},
		{map[string]any{"variation_id": "campaign_control_group"}, "", ""},
		{map[string]any{"variation_id": "global_control_group"}, "", ""},
		{map[string]any{"variation_id": ""}, "", ""},
		{map[string]any{"variation_id": false}, "", ""},
		{map[string]any{}, "", ""},
	}
	for _, tc := range tests {
		e := accepted(t, ev(base("MOE_EMAIL_SENT", "", "cmp-1", tc.attrs)))
		if e.Locale != tc.locale || e.Variation != tc.variation {
			t.Errorf("attrs %v: locale %q variation %q; want %q %q", tc.attrs, e.Locale, e.Variation, tc.locale,
				tc.variation)
		}
	}
	// Exported helpers.
	if got := VariationKey(" 007 "); got != "variation_7" {
		t.Errorf("VariationKey(007) = %q", got)
	}
	if got := VariationKey("global_control_group"); got != "" {
		t.Errorf("VariationKey(gcg) = %q", got)
	}
	if got := LocaleKey(" ", "fr"); got != "fr" {
		t.Errorf("LocaleKey = %q", got)
	}
	if got := LocaleKey("all_locales", "fr"); got != "" {
		t.Errorf("LocaleKey(all_locales) = %q", got)
	}
}

func TestNormalisePlatform(t *testing.T) {
	tests := map[string]string{
		"android": "android", " Android ": "android", "ANDROID": "android",
		"ios": "ios", "iOS": "ios", "iphone": "ios", "iPhone": "ios", "ipad": "ios", "iPadOS": "ios", "ipados": "ios",
		"web": "web", "mweb": "web", "MWEB": "web", "mobile web": "web", "Desktop Web": "web", "desktop": "web",
		"windows": "windows", "Windows": "windows",
		"tv": "", "unknown": "", "": "", "mobile  web": "", "mobile_web": "", "linux": "", "iosx": "",
		"ioſ": "ios", // Unicode case folding: ſ folds to s
	}
	for in, want := range tests {
		got, ok := NormalisePlatform(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalisePlatform(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestPlatformDerivation covers §4.4 through decoded events.
func TestPlatformDerivation(t *testing.T) {
	dev := func(m map[string]any) map[string]any { return m }
	tests := []struct {
		code, name string
		attrs      map[string]any
		device     map[string]any
		platform   string                 // Event.Platform
		def        domain.PlatformDefault // Event.PlatformDefault
		resolved   map[domain.Channel]string
	}{
		{"NOTIFICATION_RECEIVED_MOE", "", nil, nil, "", domain.DefaultAndroid,
			map[domain.Channel]string{domain.ChannelPush: "android"}},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"platform": "iOS"}, nil, "ios", domain.DefaultAndroid,
			map[domain.Channel]string{domain.ChannelPush: "ios"}},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"os": "iPhone"}, nil, "ios", domain.DefaultAndroid, nil},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"platform": "tv", "os": "ipad"}, nil, "ios",
			domain.DefaultAndroid, nil},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"platform": "mweb", "os": "android"}, nil, "web",
			domain.DefaultAndroid, nil},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"platform": "tv"}, dev(map[string]any{"platform": "Web"}),
			"web", domain.DefaultAndroid, nil},
		{"NOTIFICATION_RECEIVED_MOE", "", nil, dev(map[string]any{"platform": "unknown", "os": "windows"}),
			"windows", domain.DefaultAndroid, nil},
		{"NOTIFICATION_RECEIVED_MOE", "", map[string]any{"platform": 5}, dev(map[string]any{"os": "tv"}), "",
			domain.DefaultAndroid, map[domain.Channel]string{domain.ChannelPush: "android"}},
		// A fixed platform cannot be overridden.
		{"NOTIFICATION_CLICKED_MOE", "", map[string]any{"platform": "ios"}, dev(map[string]any{"os": "ios"}),
			"android", domain.DefaultUnknown, map[domain.Channel]string{domain.ChannelPush: "android"}},
		{"", "Notification Sent Web", map[string]any{"platform": "android"}, nil, "web", domain.DefaultUnknown, nil},
		// attr → unknown.
		{"", "Notification Dropped", nil, nil, "", domain.DefaultUnknown,
			map[domain.Channel]string{domain.ChannelPush: "unknown"}},
		{"MOE_CARD_CLICKED", "", nil, dev(map[string]any{"os": "iPadOS"}), "ios", domain.DefaultUnknown,
			map[domain.Channel]string{domain.ChannelCards: "ios"}},
		// Codes shared by IN_APP and ON_SITE.
		{"MOE_IN_APP_SHOWN", "", nil, nil, "", domain.DefaultInAppOrOnSite,
			map[domain.Channel]string{domain.ChannelInApp: "android", domain.ChannelOnSite: "web"}},
		{"MOE_IN_APP_CLICKED", "", map[string]any{"os": "iOS"}, nil, "ios", domain.DefaultInAppOrOnSite,
			map[domain.Channel]string{domain.ChannelInApp: "ios", domain.ChannelOnSite: "ios"}},
		{"MOE_ONSITE_MESSAGE_SHOWN", "", nil, nil, "", domain.DefaultWeb,
			map[domain.Channel]string{domain.ChannelOnSite: "web"}},
		// CH: the platform key is the channel name.
		{"MOE_EMAIL_SENT", "", nil, nil, "", domain.DefaultUnknown,
			map[domain.Channel]string{domain.ChannelEmail: "EMAIL"}},
		{"SMS_SENT", "", nil, nil, "", domain.DefaultUnknown, map[domain.Channel]string{domain.ChannelSMS: "SMS"}},
		// Control groups: per campaign channel.
		{"MOE_CAMPAIGN_CONTROL_GROUP", "", nil, nil, "", domain.DefaultUnknown, map[domain.Channel]string{
			domain.ChannelPush: "unknown", domain.ChannelEmail: "EMAIL", domain.ChannelWhatsApp: "WHATSAPP"}},
		{"MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", map[string]any{"platform": "android"}, nil,
			"android", domain.DefaultUnknown, map[domain.Channel]string{domain.ChannelPush: "android",
				domain.ChannelGoogleAds: "GOOGLE_ADS"}},
	}
	for _, tc := range tests {
		f := base(tc.code, tc.name, "cmp-1", tc.attrs)
		if tc.device != nil {
			f["device_attributes"] = tc.device
		}
		e := accepted(t, ev(f))
		label := tc.code + tc.name
		if tc.code != "MOE_EMAIL_SENT" && tc.code != "SMS_SENT" && e.Platform != tc.platform {
			t.Errorf("%s %v %v: Platform = %q, want %q", label, tc.attrs, tc.device, e.Platform, tc.platform)
		}
		if e.PlatformDefault != tc.def {
			t.Errorf("%s: PlatformDefault = %d, want %d", label, e.PlatformDefault, tc.def)
		}
		for ch, want := range tc.resolved {
			if got := e.PlatformFor(ch); got != want {
				t.Errorf("%s %v: PlatformFor(%s) = %q, want %q", label, tc.attrs, ch, got, want)
			}
		}
	}
}

func TestSnakeCase(t *testing.T) {
	tests := map[string]string{
		// The three SPEC examples.
		"Users removed due to Frequency Capping": "users_removed_due_to_frequency_capping",
		"HARD_BOUNCE_DROPPED_REASON":             "hard_bounce_dropped_reason",
		"SMTP error: 550 mailbox unavailable":    "smtp_error_550_mailbox_unavailable",
		// More.
		"  --Hello--World--  ":           "hello_world",
		"":                               "",
		"!!! ... ___":                    "",
		"a__b":                           "a_b",
		"Ünïcödé Straße":                 "ünïcödé_straße",
		"日本語 エラー (503)":                  "日本語_エラー_503",
		"Token\tInvalid\n":               "token_invalid",
		strings.Repeat("a", 120):         strings.Repeat("a", 100),
		strings.Repeat("a", 99) + " b":   strings.Repeat("a", 99), // cut leaves a trailing '_', stripped
		strings.Repeat("a", 98) + " b c": strings.Repeat("a", 98) + "_b",
		strings.Repeat("é", 100) + "xyz": strings.Repeat("é", 100), // 100 characters, not bytes
		"--" + strings.Repeat("ab ", 40): strings.Repeat("ab_", 33) + "a",
	}
	for in, want := range tests {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFailureKey covers §4.6: the code table, attribute-name normalisation, snake_case fallback, "unknown".
func TestFailureKey(t *testing.T) {
	table := map[string]string{
		"101": "users_removed_as_no_device_was_found",
		"102": "users_removed_as_no_active_device_token_was_found",
		"201": "users_removed_due_to_frequency_capping",
		"202": "users_removed_due_to_dnd",
		"203": "user_removed_due_to_global_control_group",
		"204": "user_removed_due_to_campaing_control_group",
		"205": "users_removed_due_to_minimum_delay",
		"206": "users_removed_due_to_campaign_level_minimum_delay",
		"207": "users_removed_due_to_atmost_notification",
		"208": "users_removed_due_to_deduplication",
		"301": "personalization_failure_errors",
		"302": "timer_and_timer_with_progress_bar_template_errors",
		"501": "rejected_by_sending_service",
	}
	for code, want := range table {
		for _, attrs := range []string{`{"code":` + code + `}`, `{"code":"` + code + `"}`,
			`{"reason_code":" ` + code + ` ","reason":"something else"}`, `{"Failure Code":` + code + `}`,
			`{"REASON-CODE":"` + code + `"}`, `{"code":` + code + `.0}`, `{"code":"` + code + `.00"}`, `{"code":` + code[:1] + `.` + code[1:] + `e2}`} {
			if got := FailureKey(json.RawMessage(attrs)); got != want {
				t.Errorf("FailureKey(%s) = %q, want %q", attrs, got, want)
			}
		}
	}
	tests := map[string]string{
		`{"reason":"SMTP error: 550 mailbox unavailable"}`:            "smtp_error_550_mailbox_unavailable",
		`{"failure_reason":"HARD_BOUNCE_DROPPED_REASON"}`:             "hard_bounce_dropped_reason",
		`{"Failure-Reason":"Users removed due to Frequency Capping"}`: "users_removed_due_to_frequency_capping",
		`{"reasons":"Quota exceeded"}`:                                "quota_exceeded",
		`{"reasons":["", "!!", "Quota exceeded"]}`:                    "quota_exceeded",
		`{"code":999,"reason":"Bad Token"}`:                           "bad_token",
		`{"code":999}`:                                                "unknown",
		`{"code":"abc","reason":"x y"}`:                               "x_y",
		`{"code":2.5,"reason":"x y"}`:                                 "x_y",
		`{"code":"204.5","reason":"x y"}`:                             "x_y",
		`{"reason":"!!!"}`:                                            "unknown",
		`{"reason_group":"Reachability"}`:                             "unknown",
		`{}`:                                                          "unknown",
		`null`:                                                        "unknown",
		``:                                                            "unknown",
		`{"code":"abc","reason_code":201}`:                            "users_removed_due_to_frequency_capping",
		`{"failure_code":101,"code":202}`:                             "users_removed_due_to_dnd", // code preferred
		`{"failurereason":"b","reason":"a"}`:                          "a",                        // reason preferred
		`{"error_code":202,"error":"x"}`:                              "unknown",                  // other names
	}
	for attrs, want := range tests {
		if got := FailureKey(json.RawMessage(attrs)); got != want {
			t.Errorf("FailureKey(%s) = %q, want %q", attrs, got, want)
		}
	}
	if got := FailureKeyFor(202, true, "x"); got != "users_removed_due_to_dnd" {
		t.Errorf("FailureKeyFor = %q", got)
	}
	if got := FailureKeyFor(0, false, ""); got != "unknown" {
		t.Errorf("FailureKeyFor = %q", got)
	}
}

// TestFailureEvents checks counters and failure keys of failure rows through decoding.
func TestFailureEvents(t *testing.T) {
	tests := []struct {
		code, name string
		attrs      map[string]any
		counter    domain.Counter
		key        string
	}{
		{"MOE_EMAIL_DROP", "", map[string]any{"reason": "HARD_BOUNCE_DROPPED_REASON"}, domain.CounterFailedSend,
			"hard_bounce_dropped_reason"},
		{"MOE_EMAIL_DROPPED_UNSUBSCRIBE", "", nil, domain.CounterFailedSend, "unknown"},
		{"MOE_EMAIL_DROP", "", map[string]any{"code": 202}, domain.CounterFailedSend, "users_removed_due_to_dnd"},
		// Held-out handling applies to push failures only; the key still follows the code table.
		{"MOE_EMAIL_DROP", "", map[string]any{"code": 203}, domain.CounterFailedSend,
			"user_removed_due_to_global_control_group"},
		{"MOE_SMS_DELIVERY_FAILED", "", map[string]any{"code": "501"}, domain.CounterFailedDelivery,
			"rejected_by_sending_service"},
		{"MOE_WHATSAPP_DELIVERY_FAILED", "", map[string]any{"failure_reason": "Number not on WhatsApp"},
			domain.CounterFailedDelivery, "number_not_on_whatsapp"},
		{"", "Notification Failed Android", map[string]any{"reason": "SMTP error: 550 mailbox unavailable"},
			domain.CounterFailedSend, "smtp_error_550_mailbox_unavailable"},
		{"", "Notification Failed iOS", map[string]any{"reason_code": 102}, domain.CounterFailedSend,
			"users_removed_as_no_active_device_token_was_found"},
		// Rows without failure_breakdown get no key.
		{"MOE_EMAIL_HARD_BOUNCE", "", map[string]any{"reason": "mailbox full"}, domain.CounterHardBounce, ""},
		{"MOE_EMAIL_SOFT_BOUNCE", "", map[string]any{"code": 101}, domain.CounterSoftBounce, ""},
		{"MOE_EMAIL_SENT", "", map[string]any{"reason": "x"}, domain.CounterSent, ""},
	}
	for _, tc := range tests {
		e := accepted(t, ev(base(tc.code, tc.name, "cmp-1", tc.attrs)))
		wantClass := domain.ClassNone
		if tc.counter == domain.CounterSent {
			wantClass = domain.ClassSend
		}
		if e.Counter != tc.counter || e.FailureKey != tc.key || e.Class != wantClass {
			t.Errorf("%s%s %v: counter %d key %q class %d; want %d %q", tc.code, tc.name, tc.attrs, e.Counter,
				e.FailureKey, e.Class, tc.counter, tc.key)
		}
	}
}

// TestHeldOut covers §4.7 and §2.5.
func TestHeldOut(t *testing.T) {
	type want struct {
		counter   domain.Counter
		variation string
		key       string
		platform  string
	}
	global := want{domain.CounterHeldOutGlobal, "global_control_group", "user_removed_due_to_global_control_group", ""}
	campaign := want{domain.CounterHeldOutCampaign, "campaign_control_group",
		"user_removed_due_to_campaing_control_group", ""}
	with := func(w want, platform string) want { w.platform = platform; return w }
	tests := []struct {
		code, name string
		attrs      map[string]any
		want       want
	}{
		{"", "Notification Failed Android", map[string]any{"code": 203, "variation_id": "1"}, with(global, "android")},
		{"", "Notification Failed iOS", map[string]any{"reason_code": "204"}, with(campaign, "ios")},
		{"", "Notification Failed Web", map[string]any{"Failure Code": " 203 "}, with(global, "web")},
		{"", "Notification Dropped", map[string]any{"code": "204", "variation_id": "2", "platform": "ios"},
			with(campaign, "ios")},
		{"", "notification dropped", map[string]any{"code": 203, "reason": "whatever"}, global},
		{"MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", map[string]any{"cg_type": "Global"}, global},
		{"MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", map[string]any{"controlGroupType": "CAMPAIGN"}, campaign},
		{"MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", map[string]any{"variation_id": "3"}, campaign},
		{"MOE_CAMPAIGN_CONTROL_GROUP", "", map[string]any{"Control Group Type": " GLOBAL "}, global},
		{"MOE_CAMPAIGN_CONTROL_GROUP", "", map[string]any{"CG-TYPE": "global", "variation_id": "all_variations"}, global},
		{"MOE_CAMPAIGN_CONTROL_GROUP", "", map[string]any{"cgtype": "globally"}, campaign},
		{"", "User Added to Control Group", map[string]any{"control_group_type": "global", "code": 204}, global},
		{"", "User removed from campaign due to control group", nil, campaign},
	}
	for _, tc := range tests {
		e := accepted(t, ev(base(tc.code, tc.name, "cmp-1", tc.attrs)))
		got := want{e.Counter, e.Variation, e.FailureKey, e.Platform}
		if got != tc.want || e.Class != domain.ClassHeldOut {
			t.Errorf("%s%s %v: got %+v class %d; want %+v class H", tc.code, tc.name, tc.attrs, got, e.Class, tc.want)
		}
		if !e.Campaign {
			t.Errorf("%s%s: not a campaign event", tc.code, tc.name)
		}
		// Held-out events never count as attempted or failed.
		for _, m := range domain.CounterMetrics(e.Counter) {
			if m == domain.MetricAttempted || m == domain.MetricFailed {
				t.Errorf("held-out counter feeds %s", m)
			}
		}
	}
	// Push failures with other codes are failed-to-send with class none.
	for _, code := range []any{202, "205", 999, nil} {
		e := accepted(t, ev(base("", "Notification Failed Android", "cmp-1", map[string]any{"code": code,
			"variation_id": "1"})))
		if e.Counter != domain.CounterFailedSend || e.Class != domain.ClassNone || e.Variation != "variation_1" {
			t.Errorf("code %v: %+v", code, e)
		}
	}
	// Control-group events keep their locale.
	e := accepted(t, ev(base("MOE_CAMPAIGN_CONTROL_GROUP", "", "cmp-1", map[string]any{"locale_name": "fr"})))
	if e.Locale != "fr" || e.Channels != domain.AllChannelsSet() {
		t.Errorf("control group: %+v", e)
	}
	// MOE_CAMPAIGN_CONTROL_GROUP without campaign_id is a user event (§3.3 exception to rule 12).
	for _, attrs := range []map[string]any{nil, {"cgtype": "global"}, {"campaign_id": ""}, {"campaign_id": nil}} {
		for _, code := range []string{"MOE_CAMPAIGN_CONTROL_GROUP", "moe_campaign_control_group"} {
			e := accepted(t, ev(base(code, "", "", attrs)))
			// ... with no effect: no action name for a goal to match.
			if e.Campaign || e.Counter != domain.CounterNone || e.CampaignID != "" || e.Variation != "" || e.Code != "" || e.Name != "" {
				t.Errorf("%s %v without campaign_id: %+v", code, attrs, e)
			}
		}
	}
	e = accepted(t, ev(base("", "User Added to Control Group", "", nil)))
	if e.Campaign || e.Code != "" || e.Name != "" {
		t.Errorf("name lookup of MOE_CAMPAIGN_CONTROL_GROUP without campaign_id: campaign event")
	}
	// The other control-group code has no such exception.
	it := decodeOne(t, ev(base("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", "", nil)))
	if it.Reject != RejectCampaignIDMissing {
		t.Errorf("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP without campaign_id: %q", it.Reject)
	}
}
