// Package e2e holds the end-to-end tests of campaignstats and an independent reference implementation of the Stats
// API numbers, written from /work/shared/SPEC.md alone (§2, §3.3, §3.8–§3.14, §4, §5, §6, §12, §13). The reference
// never looks at the engine: it keeps every accepted event in memory and recomputes each Stats response from scratch,
// conversions included (reference_conv_test.go), in the live wire format of §13.1 (ALL_PLATFORMS first, upper-case
// device platforms, all_locale, the email counter open).
package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	_ "time/tzdata" // the workspace time zones must resolve on any machine
)

// ---------------------------------------------------------------------------------------------------------------
// Channels (§2.10)

const (
	chPush       = "PUSH"
	chEmail      = "EMAIL"
	chSMS        = "SMS"
	chWhatsApp   = "WHATSAPP"
	chInApp      = "IN_APP"
	chOnSite     = "ON_SITE"
	chCards      = "CARDS"
	chConnectors = "CONNECTORS"
	chFacebook   = "FACEBOOK"
	chGoogleAds  = "GOOGLE_ADS"
	chUnknown    = "UNKNOWN"
)

var channelAliases = map[string]string{
	"PUSH": chPush, "MOBILE_PUSH": chPush, "WEB_PUSH": chPush,
	"EMAIL": chEmail, "E_MAIL": chEmail,
	"SMS": chSMS, "SMS_RCS": chSMS, "RCS": chSMS,
	"WHATSAPP": chWhatsApp,
	"IN_APP":   chInApp, "INAPP": chInApp, "MOBILE_IN_APP": chInApp,
	"ON_SITE": chOnSite, "ONSITE": chOnSite, "OSM": chOnSite, "ON_SITE_MESSAGING": chOnSite, "WEB_PERSONALIZATION": chOnSite,
	"CARDS": chCards, "CARD": chCards,
	"CONNECTORS": chConnectors, "CONNECTOR": chConnectors, "WEBHOOK": chConnectors, "CUSTOM_CONNECTOR": chConnectors,
	"FACEBOOK": chFacebook, "FACEBOOK_AUDIENCE": chFacebook,
	"GOOGLE_ADS": chGoogleAds, "GOOGLE_ADS_AUDIENCE": chGoogleAds,
}

// normChannel normalises a channel input (§2.10): upper-case, spaces and hyphens become '_'. "" when unknown.
// The SPEC does not say that the value is trimmed; the workload never sends surrounding spaces.
func normChannel(s string) string {
	u := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToUpper(s))
	return channelAliases[u]
}

// nonDeviceChannel reports the channels without device platforms (§4.4 rule 1): their only platform key is
// ALL_PLATFORMS (§13.1).
func nonDeviceChannel(ch string) bool {
	switch ch {
	case chEmail, chSMS, chWhatsApp, chConnectors, chFacebook, chGoogleAds:
		return true
	}
	return false
}

// ---------------------------------------------------------------------------------------------------------------
// Event-code table (§4.2)

type platformMode int

const (
	pmFixed  platformMode = iota // the code fixes the platform
	pmAttr                       // attributes, else default (may be "" = unknown)
	pmShared                     // attributes, else android for IN_APP / web for ON_SITE
	pmCH                         // channel name (§4.4 rule 1): only ALL_PLATFORMS (§13.1)
	pmPerCh                      // held-out rows: none for non-device channels (ALL_PLATFORMS only), else attributes
)

type codeRow struct {
	Code     string
	Names    []string
	User     bool     // kind U
	Channels []string // nil = any channel (control-group rows)
	Counters []string // stored counters fed
	// FailedToSend: counts in failed and attempted and failure_breakdown (push failures, email drops).
	FailedToSend bool
	// DeliveryFailure: counts in failed and failure_breakdown, not attempted (SMS / WhatsApp).
	DeliveryFailure bool
	PushFailure     bool // 203/204 make the event held-out
	ControlGroup    bool // held-out row
	Mode            platformMode
	Platform        string // fixed platform or attribute default
}

func pushRow(code string, names []string, counters []string, mode platformMode, platform string) codeRow {
	return codeRow{Code: code, Names: names, Channels: []string{chPush}, Counters: counters, Mode: mode, Platform: platform}
}

func chRow(ch, code string, names []string, counters ...string) codeRow {
	return codeRow{Code: code, Names: names, Channels: []string{ch}, Counters: counters, Mode: pmCH}
}

func names(n ...string) []string { return n }

var codeTable = func() []codeRow {
	sent, imp, click, closed := []string{"sent"}, []string{"impression"}, []string{"click"}, []string{"closed_click"}
	rows := []codeRow{
		pushRow("n_i_s", names("Notification Sent iOS"), sent, pmFixed, platIOS),
		pushRow("", names("Notification Sent Android"), sent, pmFixed, platAndroid),
		pushRow("", names("Notification Sent Web"), sent, pmFixed, platWeb),
		pushRow("", names("Notification Sent Windows"), sent, pmFixed, platWindows),
		pushRow("NOTIFICATION_RECEIVED_MOE", names("Notification Received Android"), imp, pmAttr, platAndroid),
		pushRow("NOTIFICATION_RECEIVED_IOS_MOE", names("Notification Received iOS"), imp, pmFixed, platIOS),
		pushRow("NOTIFICATION_RECEIVED_IOS_APP_ACTIVE", names("Notification Received iOS App Active"), imp, pmFixed, platIOS),
		pushRow("NOTIFICATION_RECEIVED_WEB_MOE", names("Notification Received Web"), imp, pmFixed, platWeb),
		pushRow("MOE_NOTIFICATION_SHOWN", nil, imp, pmAttr, platAndroid),
		pushRow("NOTIFICATION_CLICKED_MOE", names("Notification Clicked Android"), click, pmFixed, platAndroid),
		pushRow("NOTIFICATION_CLICKED_IOS_MOE", names("Notification Clicked iOS"), click, pmFixed, platIOS),
		pushRow("NOTIFICATION_CLICKED_WEB_MOE", names("Notification Clicked Web"), click, pmFixed, platWeb),
		pushRow("NOTIFICATION_CLICKED_WINDOWS_MOE", names("Notification Clicked Windows"), click, pmFixed, platWindows),
		pushRow("NOTIFICATION_CLEARED_MOE", names("Notification Swiped Android"), nil, pmFixed, platAndroid),
		pushRow("NOTIFICATION_DISMISSED_IOS_MOE", names("Notification Dismissed iOS"), nil, pmFixed, platIOS),

		chRow(chEmail, "MOE_EMAIL_SENT", names("Email Sent"), "sent"),
		chRow(chEmail, "MOE_EMAIL_DELIVERED", names("Email Delivered"), "delivered"),
		chRow(chEmail, "MOE_EMAIL_DEFERRED", names("Email Deferred")),
		chRow(chEmail, "MOE_EMAIL_HARD_BOUNCE", names("Email Bounced", "Email Hard Bounced"), "hard_bounce"),
		chRow(chEmail, "MOE_EMAIL_SOFT_BOUNCE", names("Email Soft Bounced"), "soft_bounce"),
		chRow(chEmail, "MOE_EMAIL_OPEN", names("Email Opened"), "open"), // §13.1: the counter is `open`
		chRow(chEmail, "MOE_EMAIL_CLICK", names("Email Clicked"), "click"),
		chRow(chEmail, "MOE_EMAIL_UNSUBSCRIBE", names("Email Unsubscribed"), "unsubscribe"),
		chRow(chEmail, "MOE_EMAIL_SPAM", names("Email Spam Complained", "Email Complained"), "complaint"),
		chRow(chEmail, "MOE_EMAIL_VIB", names("Email Viewed in Browser")),
		chRow(chEmail, "MOE_EMAIL_SUBSCRIPTION_UPDATED", names("Email Subscription Category Updated")),

		chRow(chSMS, "SMS_SENT", names("SMS Sent"), "sent"),
		chRow(chSMS, "SMS_DELIVERED", names("SMS Delivered"), "delivered"),
		chRow(chSMS, "MOE_SMS_CLICKED", names("SMS Clicked"), "click"),

		chRow(chWhatsApp, "MOE_WHATSAPP_SENT", names("WhatsApp Message Sent"), "sent"),
		chRow(chWhatsApp, "MOE_WHATSAPP_DELIVERED", names("WhatsApp Message Delivered"), "delivered"),
		chRow(chWhatsApp, "MOE_WHATSAPP_READ", names("WhatsApp Message Read"), "read"),
		chRow(chWhatsApp, "MOE_WHATSAPP_CLICKED", names("WhatsApp Message Clicked"), "click"),

		{Code: "MOE_IN_APP_SHOWN", Names: names("Mobile In-App Shown", "In-App Shown Android", "Onsite Message Template shown"),
			Channels: []string{chInApp, chOnSite}, Counters: imp, Mode: pmShared},
		{Code: "iOS_IN_APP_SHOWN", Names: names("In-App Shown iOS"), Channels: []string{chInApp}, Counters: imp, Mode: pmFixed, Platform: platIOS},
		{Code: "WINDOWS_IN_APP_SHOWN", Names: names("In-App Shown Windows"), Channels: []string{chInApp}, Counters: imp, Mode: pmFixed, Platform: platWindows},
		{Code: "MOE_IN_APP_CLICKED", Names: names("Mobile In-App Clicked", "In-App Clicked Android"),
			Channels: []string{chInApp, chOnSite}, Counters: click, Mode: pmShared},
		{Code: "iOS_IN_APP_CLICKED", Names: names("In-App Clicked iOS"), Channels: []string{chInApp}, Counters: click, Mode: pmFixed, Platform: platIOS},
		{Code: "WINDOWS_IN_APP_CLICKED", Names: names("In-App Clicked Windows"), Channels: []string{chInApp}, Counters: click, Mode: pmFixed, Platform: platWindows},
		{Code: "MOE_IN_APP_DISMISSED", Names: names("Mobile In-App Closed", "In-App Closed Android"),
			Channels: []string{chInApp, chOnSite}, Counters: closed, Mode: pmShared},
		{Code: "iOS_IN_APP_CLOSE_CLICKED", Names: names("In-App Closed iOS"), Channels: []string{chInApp}, Counters: closed, Mode: pmFixed, Platform: platIOS},
		{Code: "WINDOWS_IN_APP_CLOSE_CLICKED", Names: names("In-App Closed Windows"), Channels: []string{chInApp}, Counters: closed, Mode: pmFixed, Platform: platWindows},
		{Code: "MOE_IN_APP_AUTO_DISMISS", Names: names("Mobile In-App Auto Dismissed"), Channels: []string{chInApp}, Mode: pmAttr, Platform: platAndroid},

		{Code: "MOE_ONSITE_MESSAGE_SHOWN", Names: names("On-site Message Shown"), Channels: []string{chOnSite}, Counters: imp, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_ONSITE_MESSAGE_CLICKED", Names: names("On-site Message Clicked"), Channels: []string{chOnSite}, Counters: click, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_ONSITE_MESSAGE_DISMISSED", Names: names("On-site Message Closed"), Channels: []string{chOnSite}, Counters: closed, Mode: pmAttr, Platform: platWeb},
		{Code: "", Names: names("On-site Message auto Dismissed"), Channels: []string{chOnSite}, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_WEBP_MESSAGE_SHOWN", Names: names("Web Personalization Message Shown"), Channels: []string{chOnSite}, Counters: imp, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_WEBP_MESSAGE_CLICKED", Names: names("Web Personalization Message Clicked"), Channels: []string{chOnSite}, Counters: click, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_WEBP_MESSAGE_DISMISSED", Names: names("Web Personalization Message Closed"), Channels: []string{chOnSite}, Counters: closed, Mode: pmAttr, Platform: platWeb},
		{Code: "MOE_WEBP_MESSAGE_DELIVERED", Names: names("Web Personalization Message Delivered"), Channels: []string{chOnSite}, Mode: pmAttr, Platform: platWeb},

		{Code: "MOE_CARD_SENT", Names: names("Card Sent"), Channels: []string{chCards}, Counters: sent, Mode: pmAttr},
		{Code: "MOE_CARD_DELIVERED", Names: names("Card Delivered"), Channels: []string{chCards}, Counters: []string{"delivered"}, Mode: pmAttr},
		{Code: "MOE_CARD_VIEWED", Names: names("Card Viewed"), Channels: []string{chCards}, Counters: imp, Mode: pmAttr},
		{Code: "MOE_CARD_IMPRESSION", Channels: []string{chCards}, Counters: imp, Mode: pmAttr},
		{Code: "MOE_CARD_CLICKED", Names: names("Card Clicked"), Channels: []string{chCards}, Counters: click, Mode: pmAttr},

		chRow(chConnectors, "MOE_CONNECTOR_SENT", names("Connector Sent"), "sent"),
		chRow(chConnectors, "WEBHOOK_SENT", nil, "sent"),
		chRow(chFacebook, "MOE_FB_AUDIENCE_SYNC", names("Facebook Audience Synced"), "successfully_synced"),
		chRow(chGoogleAds, "MOE_GOOGLE_ADS_AUDIENCE_SYNC", names("Google Ads Audience Synced"), "successfully_synced"),

		{Code: "MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", Names: names("User removed from campaign due to control group"),
			ControlGroup: true, Mode: pmPerCh},
		{Code: "MOE_CAMPAIGN_CONTROL_GROUP", Names: names("User Added to Control Group"), ControlGroup: true, Mode: pmPerCh},

		{Code: "MOE_USER_REMOVED_FROM_CONTROL_GROUP", Names: names("User removed from control group"), User: true},
		{Code: "USER_ENTERED_FLOW", Names: names("User Entered Flow"), User: true},
		{Code: "USER_EXITED_FLOW", Names: names("User Exited Flow"), User: true},
		{Code: "", Names: names("SMS Keyword Received", "SMS Keyword Response Sent", "Offering Sent"), User: true},
	}
	// Push failures (add-on events known only by name).
	for _, f := range []struct{ name, platform string }{
		{"Notification Failed Android", platAndroid}, {"Notification Failed iOS", platIOS},
		{"Notification Failed Web", platWeb}, {"Notification Dropped", ""},
	} {
		mode := pmFixed
		if f.platform == "" {
			mode = pmAttr
		}
		rows = append(rows, codeRow{Names: names(f.name), Channels: []string{chPush}, Counters: []string{"failed"},
			FailedToSend: true, PushFailure: true, Mode: mode, Platform: f.platform})
	}
	rows = append(rows,
		codeRow{Code: "MOE_EMAIL_DROP", Names: names("Email Dropped"), Channels: []string{chEmail},
			Counters: []string{"failed"}, FailedToSend: true, Mode: pmCH},
		codeRow{Code: "MOE_EMAIL_DROPPED_UNSUBSCRIBE", Names: names("Email Unsubscribe Drop", "ESP Dropped Request"),
			Channels: []string{chEmail}, Counters: []string{"failed"}, FailedToSend: true, Mode: pmCH},
		codeRow{Code: "MOE_SMS_DELIVERY_FAILED", Names: names("SMS Delivery Failed"), Channels: []string{chSMS},
			Counters: []string{"failed"}, DeliveryFailure: true, Mode: pmCH},
		codeRow{Code: "MOE_WHATSAPP_DELIVERY_FAILED", Names: names("WhatsApp Message Delivery Failed"),
			Channels: []string{chWhatsApp}, Counters: []string{"failed"}, DeliveryFailure: true, Mode: pmCH},
	)
	return rows
}()

var (
	rowByCode     = map[string]*codeRow{}
	rowByCodeFold = map[string]*codeRow{}
	rowByName     = map[string]*codeRow{}
)

func init() {
	for i := range codeTable {
		r := &codeTable[i]
		if r.Code != "" {
			rowByCode[r.Code] = r
			rowByCodeFold[strings.ToLower(r.Code)] = r
		}
		for _, n := range r.Names {
			rowByName[strings.ToLower(n)] = r
		}
	}
}

// lookupRow implements §4.1. nil means unknown code (a user event).
func lookupRow(code, name string) *codeRow {
	c := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if c != "" {
		if r := rowByCode[c]; r != nil {
			return r
		}
		if r := rowByCodeFold[strings.ToLower(c)]; r != nil {
			return r
		}
	}
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	if n != "" {
		return rowByName[n]
	}
	return nil
}

func (r *codeRow) feedsChannel(ch string) bool {
	if r.ControlGroup {
		return true
	}
	for _, c := range r.Channels {
		if c == ch {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------------------------------
// Small value helpers

// jsonText converts a JSON scalar to text: strings as they are, numbers as decimal text. ok=false for other types.
func jsonText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return numberText(x), true
	case float64:
		return numberText(json.Number(strconv.FormatFloat(x, 'f', -1, 64))), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// numberText renders a JSON number as decimal text ("42", "1.5"), never in exponent form.
func numberText(n json.Number) string {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := n.Float64()
	if err != nil {
		return string(n)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func objectField(obj map[string]any, name string) map[string]any {
	m, _ := obj[name].(map[string]any)
	return m
}

// campaignIDOK checks the §2.2 campaign id syntax.
func campaignIDOK(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == ':':
		default:
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------------------------------
// Time (§3.7, §2.9)

const minEventMs = 946684800000 // 2000-01-01T00:00:00Z

func isEpochText(s string) bool {
	dot := false
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// parseEpochText parses "<digits>[.<digits>]" per §3.7: > 1e11 → milliseconds, else seconds; sub-millisecond
// fractions truncated; zero → invalid.
func parseEpochText(s string) (int64, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	ip, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, false
	}
	fracNonZero := strings.Trim(frac, "0") != ""
	if ip == 0 && !fracNonZero {
		return 0, false
	}
	if ip > 1e11 || (ip == 1e11 && fracNonZero) {
		return ip, true
	}
	f3 := (frac + "000")[:3]
	fm, _ := strconv.ParseInt(f3, 10, 64)
	return ip*1000 + fm, true
}

var isoLayoutsUTC = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// parseTimeValue parses an event_time / campaign_start_time value into epoch milliseconds.
func parseTimeValue(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !isEpochText(s) {
			return 0, false
		}
		return parseEpochText(s)
	case string:
		if isEpochText(x) {
			return parseEpochText(x)
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UnixMilli(), true
		}
		for _, l := range isoLayoutsUTC {
			if t, err := time.ParseInLocation(l, x, time.UTC); err == nil {
				return t.UnixMilli(), true
			}
		}
	}
	return 0, false
}

// dayStartMs returns the first instant (ms) of the local calendar day date (YYYY-MM-DD) in loc (§2.9): local
// midnight, or the first instant that exists after it when midnight falls in a DST gap.
func dayStartMs(date string, loc *time.Location) int64 {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		panic(err)
	}
	target := d.Year()*10000 + int(d.Month())*100 + d.Day()
	localDate := func(sec int64) int {
		t := time.Unix(sec, 0).In(loc)
		return t.Year()*10000 + int(t.Month())*100 + t.Day()
	}
	guess := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).Unix()
	lo, hi := guess-48*3600, guess+48*3600 // localDate(lo) < target <= localDate(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if localDate(mid) >= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi * 1000
}

func addDays(date string, n int) string {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		panic(err)
	}
	return d.AddDate(0, 0, n).Format("2006-01-02")
}

// ---------------------------------------------------------------------------------------------------------------
// User key (§2.8), locale and variation (§2.6), platform (§4.4), failure key (§4.6), control-group type (§4.7)

func userKeyOf(ev map[string]any) (string, bool) {
	ns, v, lower, ok := userKeyParts(ev)
	if lower {
		v = strings.ToLower(v)
	}
	return ns + v, ok
}

// userKeyParts returns the namespace and trimmed value of the §2.8 user key, and whether the value is lower-cased
// in the key.
func userKeyParts(ev map[string]any) (ns, value string, lower, ok bool) {
	ua := objectField(ev, "user_attributes")
	da := objectField(ev, "device_attributes")
	cands := []struct {
		ns    string
		v     any
		lower bool
	}{
		{"uid:", ev["uid"], false},
		{"moe:", ua["moengage_user_id"], false},
		{"dev:", da["moengage_device_id"], false},
		{"push:", ev["push_id"], false},
		{"email:", ev["email_id"], true},
		{"mobile:", ev["mobile_number"], false},
	}
	for _, c := range cands {
		s, ok := jsonText(c.v)
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		return c.ns, s, c.lower, true
	}
	return "", "", false, false
}

// Aggregate and fixed node keys (§5.8, §13.1).
const (
	allPlatforms  = "ALL_PLATFORMS" // §13.1: the node over every platform, listed first
	allLocale     = "all_locale"    // §13.1: the locale aggregate (was all_locales)
	allVariations = "all_variations"
	ccgVariation  = "campaign_control_group"
	gcgVariation  = "global_control_group"
	ccgKey        = "user_removed_due_to_campaing_control_group"
	gcgKey        = "user_removed_due_to_global_control_group"

	// legacyAllLocales is the aggregate key of §1.3/§5.8, replaced by all_locale in responses (§13.1).
	legacyAllLocales = "all_locales"
)

// Device-platform keys as emitted (§13.1: upper case).
const (
	platAndroid = "ANDROID"
	platIOS     = "IOS"
	platWeb     = "WEB"
	platWindows = "WINDOWS"
	platUnknown = "UNKNOWN"
)

// localeKey turns a locale value into its key ("" = absent). §2.6 treats a locale equal to the aggregate key
// (`all_locales`) as absent; §13.1 renames the aggregate `all_locale` without restating §2.6. campaignstats choice:
// both spellings are treated as absent, so no event can create a locale key that collides with the aggregate.
func localeKey(v any) string {
	s, ok := jsonText(v)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == allLocale || s == legacyAllLocales {
		return ""
	}
	return s
}

func eventLocale(ea map[string]any) string {
	if l := localeKey(ea["locale_name"]); l != "" {
		return l
	}
	return localeKey(ea["locale_id"])
}

// variationKey turns a variation value into its key ("" = absent). allowCG keeps the control-group names (funnel).
func variationKey(v any, allowCG bool) string {
	s, ok := jsonText(v)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	numeric := true
	for _, r := range s {
		if r < '0' || r > '9' {
			numeric = false
			break
		}
	}
	if numeric {
		n := strings.TrimLeft(s, "0")
		if n == "" {
			n = "0"
		}
		s = "variation_" + n
	}
	switch s {
	case allVariations:
		return ""
	case ccgVariation, gcgVariation:
		if !allowCG {
			return ""
		}
	}
	return s
}

// normPlatform normalises a platform value (§4.4; input normalisation is unchanged by §13.1) and returns its
// emitted key (§13.1: upper case); "" when it is not a known platform.
func normPlatform(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "android":
		return platAndroid
	case "ios", "iphone", "ipad", "ipados":
		return platIOS
	case "web", "mweb", "mobile web", "desktop web", "desktop":
		return platWeb
	case "windows":
		return platWindows
	}
	return ""
}

func attrPlatform(ea, da map[string]any) string {
	for _, v := range []any{ea["platform"], ea["os"], da["platform"], da["os"]} {
		if p := normPlatform(v); p != "" {
			return p
		}
	}
	return ""
}

// normAttrName is the §4.6 attribute-name normalisation: lower-case, delete spaces, '_' and '-'.
func normAttrName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// normAttrs indexes event attributes by normalised name (first key in byte order wins on a collision).
func normAttrs(ea map[string]any) map[string]any {
	keys := make([]string, 0, len(ea))
	for k := range ea {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		n := normAttrName(k)
		if _, dup := out[n]; !dup {
			out[n] = ea[k]
		}
	}
	return out
}

var reasonCodeKeys = map[int]string{
	101: "users_removed_as_no_device_was_found",
	102: "users_removed_as_no_active_device_token_was_found",
	201: "users_removed_due_to_frequency_capping",
	202: "users_removed_due_to_dnd",
	203: gcgKey,
	204: ccgKey,
	205: "users_removed_due_to_minimum_delay",
	206: "users_removed_due_to_campaign_level_minimum_delay",
	207: "users_removed_due_to_atmost_notification",
	208: "users_removed_due_to_deduplication",
	301: "personalization_failure_errors",
	302: "timer_and_timer_with_progress_bar_template_errors",
	501: "rejected_by_sending_service",
}

// reasonCode returns the failure reason code of an event (§4.6), ok=false when there is none.
func reasonCode(na map[string]any) (int, bool) {
	for _, k := range []string{"code", "reasoncode", "failurecode"} {
		v, present := na[k]
		if !present {
			continue
		}
		switch x := v.(type) {
		case json.Number:
			if i, err := strconv.Atoi(string(x)); err == nil {
				return i, true
			}
		case string:
			if x != "" && strings.Trim(x, "0123456789") == "" {
				if i, err := strconv.Atoi(x); err == nil {
					return i, true
				}
			}
		}
	}
	return 0, false
}

// snakeCase is the §4.6 snake_case rule.
func snakeCase(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
		} else {
			pendingSep = true
		}
	}
	out := b.String() // no leading or trailing '_' by construction
	if utf8.RuneCountInString(out) > 100 {
		out = string([]rune(out)[:100])
		out = strings.TrimRight(out, "_")
	}
	return out
}

func failureKey(na map[string]any) string {
	if c, ok := reasonCode(na); ok {
		if k, known := reasonCodeKeys[c]; known {
			return k
		}
	}
	for _, k := range []string{"reason", "reasons", "failurereason"} {
		if s, ok := na[k].(string); ok {
			if sc := snakeCase(s); sc != "" {
				return sc
			}
		}
	}
	return "unknown"
}

func cgIsGlobal(na map[string]any) bool {
	for _, k := range []string{"controlgrouptype", "cgtype"} {
		if s, ok := na[k].(string); ok {
			return strings.EqualFold(s, "global")
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------------------------------
// The model

type refEvent struct {
	Seq        int
	UUID       string
	TimeMs     int64
	Row        *codeRow // nil for unknown codes
	Campaign   bool     // kind C
	CampaignID string
	ParentID   string // "" when absent or equal to CampaignID
	UserKey    string
	Platform   string // attribute platform ("" when none is known)
	Locale     string
	Variation  string
	FailureKey string
	Code       int
	HasCode    bool
	CGGlobal   bool
	ChanAttrs  []string // normalised campaign_channel, moe_campaign_channel (only those that normalise)
	// User events only (§2.7): the action names (event_name and event_code as sent) and event_attributes.
	Names []string
	Attrs map[string]any
}

// yieldChannel is the channel an event contributes to channel inference (§3.14), "" when none.
func (e *refEvent) yieldChannel() string {
	r := e.Row
	switch {
	case r.ControlGroup:
		if len(e.ChanAttrs) > 0 {
			return e.ChanAttrs[0]
		}
		return ""
	case len(r.Channels) == 1:
		return r.Channels[0]
	default: // IN_APP / ON_SITE shared codes
		for _, c := range e.ChanAttrs {
			if c == chOnSite {
				return chOnSite
			}
		}
		return chInApp
	}
}

func (e *refEvent) later(o *refEvent) bool {
	if e.TimeMs != o.TimeMs {
		return e.TimeMs > o.TimeMs
	}
	return e.UUID > o.UUID
}

type funnelKey struct {
	Campaign, Date, Platform, Locale, Variation, Stage string
}

type refModel struct {
	loc      *time.Location
	events   []*refEvent
	seen     map[string]bool
	exists   map[string]bool
	puts     map[string]map[string]any // last PUT body per campaign
	funnel   map[funnelKey]int64
	sequence int

	goalEvents  []*refGoalEvent // Streams user events, Track Event and Bulk Import actions (§2.7)
	idem        map[string]bool // endpoint|Idempotency-Key already used (§3.10)
	version     int             // bumped on every change; keys the credit cache
	creditCache map[string]creditCacheEntry
}

func newRefModel(timezone string) (*refModel, error) {
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return nil, err
	}
	return &refModel{loc: loc, seen: map[string]bool{}, exists: map[string]bool{}, puts: map[string]map[string]any{},
		funnel: map[funnelKey]int64{}, idem: map[string]bool{}, creditCache: map[string]creditCacheEntry{}}, nil
}

const (
	outcomeAccepted  = "accepted"
	outcomeDuplicate = "duplicate"
	outcomeRejected  = "rejected"
)

type ingestOutcome struct {
	Index   int
	UUID    string
	Outcome string
	Message string
}

type ingestSummary struct {
	Accepted, Duplicates, Rejected int
	Outcomes                       []ingestOutcome
}

// Errors lists the rejected events, in input order (§3.4).
func (s ingestSummary) Errors() []ingestOutcome {
	var out []ingestOutcome
	for _, o := range s.Outcomes {
		if o.Outcome == outcomeRejected {
			out = append(out, o)
		}
	}
	return out
}

// Ingest feeds one Streams batch (the exact JSON elements of "events", in order) and returns what the server must
// answer (§3.3, §3.4).
func (m *refModel) Ingest(events []json.RawMessage, receipt time.Time) ingestSummary {
	var sum ingestSummary
	for i, raw := range events {
		ev, uuid, msg := m.validate(raw, receipt)
		o := ingestOutcome{Index: i, UUID: uuid}
		switch {
		case msg != "":
			o.Outcome, o.Message = outcomeRejected, msg
			sum.Rejected++
		case m.seen[ev.UUID]:
			o.Outcome = outcomeDuplicate
			sum.Duplicates++
		default:
			o.Outcome = outcomeAccepted
			sum.Accepted++
			m.seen[ev.UUID] = true
			m.sequence++
			ev.Seq = m.sequence
			m.events = append(m.events, ev)
			m.version++
			if ev.Campaign {
				m.exists[ev.CampaignID] = true
				if ev.ParentID != "" {
					m.exists[ev.ParentID] = true
				}
			} else {
				m.goalEvents = append(m.goalEvents, &refGoalEvent{Seq: ev.Seq, Source: "streams", UUID: ev.UUID,
					TimeMs: ev.TimeMs, UserKey: ev.UserKey, Names: ev.Names, Attrs: ev.Attrs})
			}
		}
		sum.Outcomes = append(sum.Outcomes, o)
	}
	return sum
}

func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func (m *refModel) validate(raw json.RawMessage, receipt time.Time) (*refEvent, string, string) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, "", "line is not valid JSON"
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, "", "event is not a JSON object"
	}
	uuid := ""
	switch x := obj["event_uuid"].(type) {
	case string:
		uuid = x
	case json.Number:
		uuid = numberText(x)
	}
	if uuid == "" {
		return nil, "", "event_uuid is required"
	}
	if utf8.RuneCountInString(uuid) > 128 {
		return nil, uuid, "event_uuid is longer than 128 characters"
	}
	code, _ := obj["event_code"].(string)
	name, _ := obj["event_name"].(string)
	if code == "" && name == "" {
		return nil, uuid, "event_code or event_name is required"
	}
	tv, present := obj["event_time"]
	if !present {
		return nil, uuid, "event_time is required"
	}
	ms, ok := parseTimeValue(tv)
	if !ok {
		return nil, uuid, "event_time is not a valid epoch or ISO-8601 time"
	}
	if ms < minEventMs {
		return nil, uuid, "event_time is before 2000-01-01"
	}
	if ms > receipt.Add(5*time.Minute).UnixMilli() {
		return nil, uuid, "event_time is more than 5 minutes in the future"
	}
	for _, n := range []string{"event_attributes", "user_attributes", "device_attributes"} {
		if x, present := obj[n]; present {
			if _, isObj := x.(map[string]any); !isObj {
				return nil, uuid, n + " must be an object"
			}
		}
	}
	ea := objectField(obj, "event_attributes")
	da := objectField(obj, "device_attributes")
	row := lookupRow(code, name)
	ev := &refEvent{UUID: uuid, TimeMs: ms, Row: row}
	if row != nil && !row.User {
		cid, _ := ea["campaign_id"].(string)
		_, hasCID := ea["campaign_id"]
		switch {
		case row.Code == "MOE_CAMPAIGN_CONTROL_GROUP" && !hasCID:
			// accepted as a user event with no effect (§3.3)
		case cid == "":
			return nil, uuid, "event_attributes.campaign_id is required for campaign events"
		case !campaignIDOK(cid):
			return nil, uuid, "event_attributes.campaign_id is invalid"
		default:
			if p, _ := ea["parent_campaign_id"].(string); p != "" && !campaignIDOK(p) {
				return nil, uuid, "event_attributes.parent_campaign_id is invalid"
			}
			ev.Campaign = true
			ev.CampaignID = cid
			if p, _ := ea["parent_campaign_id"].(string); p != "" && p != cid {
				ev.ParentID = p
			}
		}
	}
	uk, ok := userKeyOf(obj)
	if !ok {
		return nil, uuid, "no user identity (uid, user_attributes.moengage_user_id, device_attributes.moengage_device_id, push_id, email_id or mobile_number)"
	}
	if _, v, _, _ := userKeyParts(obj); utf8.RuneCountInString(v) > 256 { // rule 16 (§12.11)
		return nil, uuid, "user identity is longer than 256 characters"
	}
	ev.UserKey = uk
	if !ev.Campaign { // a user event: its action names are event_name and event_code, exactly as sent (§2.7)
		if name != "" {
			ev.Names = append(ev.Names, name)
		}
		if code != "" {
			ev.Names = append(ev.Names, code)
		}
		ev.Attrs = ea
		if ev.Attrs == nil {
			ev.Attrs = map[string]any{}
		}
	}
	if ev.Campaign {
		na := normAttrs(ea)
		ev.Platform = attrPlatform(ea, da)
		ev.Locale = eventLocale(ea)
		ev.Variation = variationKey(ea["variation_id"], false)
		ev.FailureKey = failureKey(na)
		ev.Code, ev.HasCode = reasonCode(na)
		ev.CGGlobal = cgIsGlobal(na)
		for _, k := range []string{"campaign_channel", "moe_campaign_channel"} {
			if s, ok := ea[k].(string); ok {
				if c := normChannel(s); c != "" {
					ev.ChanAttrs = append(ev.ChanAttrs, c)
				}
			}
		}
	}
	return ev, uuid, ""
}

// PutCampaign applies a catalog PUT (§3.12) for the fields that shape stats (channel, parent_campaign_id,
// campaign_start_time, conversion_goal_details) and returns the expected status: 201 new, 200 existing, 400 for a
// parent rule violation or invalid goal details (a refused PUT changes nothing).
func (m *refModel) PutCampaign(id string, body map[string]any) int {
	decoded, err := decodeJSON(mustJSON(body)) // the body as the server reads it (numbers as json.Number)
	if err != nil {
		panic(err)
	}
	body = decoded.(map[string]any)
	if p, ok := body["parent_campaign_id"].(string); ok && p != "" {
		cat := m.catalog()
		if p == id || !campaignIDOK(p) || cat.parent[p] != "" || len(cat.children[id]) > 0 {
			return 400
		}
	}
	if c, ok := body["channel"].(string); ok && normChannel(c) == "" {
		return 400
	}
	channel := m.catalog().channel[id]
	if c, ok := body["channel"].(string); ok {
		channel = normChannel(c)
	}
	if _, ok := parseGoalDetails(body["conversion_goal_details"], channel); !ok {
		return 400
	}
	m.version++
	status := 200
	if !m.exists[id] {
		status = 201
	}
	m.exists[id] = true
	m.puts[id] = body
	if p, ok := body["parent_campaign_id"].(string); ok && p != "" {
		m.exists[p] = true
	}
	return status
}

// PostFunnel applies a funnel post (§3.13); entries are JSON objects. It returns the expected status and accepted
// count. Only valid bodies are modelled (the workload sends no invalid entries).
func (m *refModel) PostFunnel(id string, entries []map[string]any) (int, int) {
	if !m.exists[id] {
		return 404, 0
	}
	for _, e := range entries {
		date, _ := e["date"].(string)
		platform := platUnknown // §3.13: absent → unknown (emitted UNKNOWN, §13.1)
		if p, present := e["platform"]; present {
			if np := normPlatform(p); np != "" {
				platform = np
			}
		}
		loc := localeKey(e["locale"])
		vr := variationKey(e["variation"], true)
		stages, _ := e["stages"].(map[string]any)
		m.version++
		for st, v := range stages {
			var n int64
			switch x := v.(type) {
			case json.Number:
				n, _ = x.Int64()
			case int:
				n = int64(x)
			case int64:
				n = x
			case float64:
				n = int64(x)
			}
			m.funnel[funnelKey{id, date, platform, loc, vr, st}] = n
		}
	}
	return 200, len(entries)
}

// ---------------------------------------------------------------------------------------------------------------
// Catalog (§2.2, §2.3, §3.12, §3.14)

type catalogView struct {
	parent   map[string]string
	children map[string][]string
	channel  map[string]string
	start    map[string]int64           // absent = no start time
	goals    map[string]*refGoalDetails // own (explicit) conversion_goal_details
}

func (m *refModel) catalog() *catalogView {
	cv := &catalogView{parent: map[string]string{}, children: map[string][]string{}, channel: map[string]string{},
		start: map[string]int64{}, goals: map[string]*refGoalDetails{}}
	latestParent := map[string]*refEvent{}
	latestChan := map[string]*refEvent{}
	for _, e := range m.events {
		if !e.Campaign {
			continue
		}
		if e.ParentID != "" {
			if cur := latestParent[e.CampaignID]; cur == nil || e.later(cur) {
				latestParent[e.CampaignID] = e
			}
		}
		if e.yieldChannel() != "" {
			if cur := latestChan[e.CampaignID]; cur == nil || e.later(cur) {
				latestChan[e.CampaignID] = e
			}
		}
		if s, ok := cv.start[e.CampaignID]; !ok || e.TimeMs < s {
			cv.start[e.CampaignID] = e.TimeMs
		}
	}
	for id := range m.exists {
		body := m.puts[id]
		if p, ok := body["parent_campaign_id"].(string); ok && p != "" && p != id {
			cv.parent[id] = p
		} else if e := latestParent[id]; e != nil {
			cv.parent[id] = e.ParentID
		}
		if st, present := body["campaign_start_time"]; present {
			var v any = st
			switch x := st.(type) {
			case float64:
				v = json.Number(strconv.FormatFloat(x, 'f', -1, 64))
			case int:
				v = json.Number(strconv.Itoa(x))
			case int64:
				v = json.Number(strconv.FormatInt(x, 10))
			}
			if ms, ok := parseTimeValue(v); ok {
				cv.start[id] = ms
			}
		}
	}
	for id, p := range cv.parent {
		cv.children[p] = append(cv.children[p], id)
	}
	for _, ch := range cv.children {
		sort.Strings(ch)
	}
	for id := range m.exists {
		if c, ok := m.puts[id]["channel"].(string); ok && normChannel(c) != "" {
			cv.channel[id] = normChannel(c)
			continue
		}
		best := latestChan[id]
		if best == nil { // a placeholder parent: the same rules over its children's events
			for _, c := range cv.children[id] {
				if e := latestChan[c]; e != nil && (best == nil || e.later(best)) {
					best = e
				}
			}
		}
		if best != nil {
			cv.channel[id] = best.yieldChannel()
		} else {
			cv.channel[id] = chUnknown
		}
	}
	for id, body := range m.puts {
		if d, ok := parseGoalDetails(body["conversion_goal_details"], cv.channel[id]); ok && d != nil {
			cv.goals[id] = d
		}
	}
	return cv
}

// members returns the campaigns whose data a campaign's entry aggregates: itself and, for a parent, its children.
func (cv *catalogView) members(id string) []string {
	return append([]string{id}, cv.children[id]...)
}

// ---------------------------------------------------------------------------------------------------------------
// Stats (§5)

// StatsRequest is the part of a Stats API request the reference needs.
type StatsRequest struct {
	RequestID       string
	CampaignIDs     []string
	StartDate       string
	EndDate         string
	AttributionType string
	MetricType      string
	Offset, Limit   *int
}

type expNode struct {
	HasPerf  bool
	Perf     map[string]float64
	Funnel   map[string]int64
	Failures map[string]int64
	Goals    map[string]*expGoal // conversion_goal_stats by goal_name
}

// expCampaign is data[cid][0]: platform → locale → variation → node.
type expCampaign struct {
	Platforms map[string]map[string]map[string]*expNode
}

type expectedResponse struct {
	ResponseID     string
	TotalCampaigns int
	CurrentPage    int
	TotalPages     int
	Order          []string
	Data           map[string]expCampaign
}

type counter struct {
	total int64
	users map[string]struct{}
}

func (c *counter) add(user string) {
	c.total++
	if c.users == nil {
		c.users = map[string]struct{}{}
	}
	c.users[user] = struct{}{}
}

func (c *counter) value(unique bool) int64 {
	if c == nil {
		return 0
	}
	if unique {
		return int64(len(c.users))
	}
	return c.total
}

type nodeAcc struct {
	counters map[string]*counter
	failures map[string]*counter
	posted   map[string]int64
	goals    map[string]*goalAcc
}

type nodeKey struct{ P, L, V string }

func isCG(v string) bool { return v == ccgVariation || v == gcgVariation }

// Stats computes the expected Stats API response for req.
func (m *refModel) Stats(req StatsRequest) expectedResponse {
	cv := m.catalog()
	fromMs := dayStartMs(req.StartDate, m.loc)
	toMs := dayStartMs(addDays(req.EndDate, 1), m.loc)
	unique := strings.EqualFold(req.MetricType, "UNIQUE")
	credits := m.credits(cv, req.AttributionType)

	var list []string
	if len(req.CampaignIDs) > 0 {
		seen := map[string]bool{}
		for _, id := range req.CampaignIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			if m.exists[id] {
				list = append(list, id)
			}
		}
	} else {
		sel := map[string]bool{}
		for _, e := range m.events {
			if !e.Campaign || e.TimeMs < fromMs || e.TimeMs >= toMs {
				continue
			}
			sel[e.CampaignID] = true
			if p := cv.parent[e.CampaignID]; p != "" {
				sel[p] = true
			}
		}
		// Credited goal events select the credited unit and its parent (§5.5, §12.2).
		for _, c := range credits {
			if c.GE.TimeMs < fromMs || c.GE.TimeMs >= toMs {
				continue
			}
			sel[c.Unit] = true
			if p := cv.parent[c.Unit]; p != "" {
				sel[p] = true
			}
		}
		for id := range sel {
			list = append(list, id)
		}
		sort.Slice(list, func(i, j int) bool {
			si, iok := cv.start[list[i]]
			sj, jok := cv.start[list[j]]
			if iok != jok {
				return iok
			}
			if iok && si != sj {
				return si > sj
			}
			return list[i] < list[j]
		})
	}
	offset, limit := 0, 10
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit != nil {
		limit = *req.Limit
	}
	resp := expectedResponse{ResponseID: req.RequestID, TotalCampaigns: len(list), CurrentPage: offset/limit + 1,
		TotalPages: (len(list) + limit - 1) / limit, Data: map[string]expCampaign{}}
	for i := offset; i < len(list) && i < offset+limit; i++ {
		id := list[i]
		resp.Order = append(resp.Order, id)
		resp.Data[id] = m.campaignStats(cv, credits, id, fromMs, toMs, req.StartDate, req.EndDate, unique,
			normAttribution(req.AttributionType))
	}
	return resp
}

func (m *refModel) campaignStats(cv *catalogView, credits []refCredit, id string, fromMs, toMs int64, fromDate,
	toDate string, unique bool, attribution string) expCampaign {
	channel := cv.channel[id]
	members := map[string]bool{}
	for _, c := range cv.members(id) {
		members[c] = true
	}
	nodes := map[nodeKey]*nodeAcc{}
	get := func(k nodeKey) *nodeAcc {
		n := nodes[k]
		if n == nil {
			n = &nodeAcc{counters: map[string]*counter{}, failures: map[string]*counter{}, posted: map[string]int64{},
				goals: map[string]*goalAcc{}}
			nodes[k] = n
		}
		return n
	}
	// §13.1: every datum lands under its device platform (when it has one) and under ALL_PLATFORMS, the node over
	// every platform of the campaign. ALL_PLATFORMS is accumulated from the same data as the platform nodes, not
	// from their numbers: TOTAL adds up, UNIQUE is distinct over users of every platform, a goal event counts once
	// (§12.1), funnel entries of every platform add up, and rates, cvr and uplift come from its own counts.
	//
	// §13.1 gives device keys to device channels only and does not say where the data of a unit without device
	// platforms goes when it is aggregated into a campaign with them (an EMAIL child of a PUSH parent), nor the
	// reverse. campaignstats choice: such data counts only in the target's ALL_PLATFORMS node, never under a
	// device key, and a campaign of a non-device channel never shows a device key.
	deviceTarget := !nonDeviceChannel(channel)
	placements := func(p, l, v string) []nodeKey {
		ps := []string{allPlatforms}
		if p != "" && deviceTarget {
			ps = append(ps, p)
		}
		ls := []string{allLocale}
		if l != "" {
			ls = append(ls, l)
		}
		var vs []string
		switch {
		case isCG(v):
			vs = []string{v}
		case v != "":
			vs = []string{allVariations, v}
		default:
			vs = []string{allVariations}
		}
		var out []nodeKey
		for _, P := range ps {
			for _, L := range ls {
				for _, V := range vs {
					out = append(out, nodeKey{P, L, V})
				}
			}
		}
		return out
	}

	for _, e := range m.events {
		if !e.Campaign || !members[e.CampaignID] || e.TimeMs < fromMs || e.TimeMs >= toMs {
			continue
		}
		ech := cv.channel[e.CampaignID]
		r := e.Row
		if !r.feedsChannel(ech) {
			continue
		}
		platform := eventPlatform(e, ech)
		heldOut, global := false, false
		switch {
		case r.ControlGroup:
			heldOut, global = true, e.CGGlobal
		case r.PushFailure && e.HasCode && (e.Code == 203 || e.Code == 204):
			heldOut, global = true, e.Code == 203
		}
		if heldOut {
			v, key := ccgVariation, ccgKey
			if global {
				v, key = gcgVariation, gcgKey
			}
			for _, k := range placements(platform, e.Locale, v) {
				n := get(k)
				if n.failures[key] == nil {
					n.failures[key] = &counter{}
				}
				n.failures[key].add(e.UserKey)
			}
			continue
		}
		if len(r.Counters) == 0 {
			continue // feeds no counter: creates no node (§12.3)
		}
		fed := append([]string(nil), r.Counters...)
		if r.FailedToSend || contains(r.Counters, "sent") {
			fed = append(fed, "attempted")
		}
		if contains(r.Counters, "hard_bounce") || contains(r.Counters, "soft_bounce") {
			fed = append(fed, "bounced")
		}
		for _, k := range placements(platform, e.Locale, e.Variation) {
			n := get(k)
			for _, c := range fed {
				if n.counters[c] == nil {
					n.counters[c] = &counter{}
				}
				n.counters[c].add(e.UserKey)
			}
			if r.FailedToSend || r.DeliveryFailure {
				if n.failures[e.FailureKey] == nil {
					n.failures[e.FailureKey] = &counter{}
				}
				n.failures[e.FailureKey].add(e.UserKey)
			}
		}
	}
	for fk, val := range m.funnel {
		if !members[fk.Campaign] || fk.Date < fromDate || fk.Date > toDate {
			continue
		}
		platform := fk.Platform
		if nonDeviceChannel(cv.channel[fk.Campaign]) { // §3.13: the platform is ignored
			platform = ""
		}
		for _, k := range placements(platform, fk.Locale, fk.Variation) {
			get(k).posted[fk.Stage] += val
		}
	}
	// Credits (§5.12, §5.15, §12.1): a node counts each goal event once per goal name, whichever units of the
	// entry (and, in ALL_PLATFORMS, whichever platforms) it was credited to.
	for _, c := range credits {
		if !members[c.Unit] || c.GE.TimeMs < fromMs || c.GE.TimeMs >= toMs {
			continue
		}
		micros := c.GE.revenueMicros(c.Goal)
		for _, k := range placements(c.P, c.L, c.V) {
			n := get(k)
			if n.goals[c.Goal.Name] == nil {
				n.goals[c.Goal.Name] = &goalAcc{}
			}
			n.goals[c.Goal.Name].add(c.GE, micros)
		}
	}
	// Every platform has all_locale/all_variations; every locale under it has all_variations.
	for k := range nodes {
		get(nodeKey{k.P, allLocale, allVariations})
		get(nodeKey{k.P, k.L, allVariations})
	}
	// §13.1: a selected campaign with nothing in range gets one zero node, ALL_PLATFORMS/all_locale/all_variations
	// (an empty accumulator renders the channel's performance fields, goals and derived stages at 0 and an empty
	// failure_breakdown). This replaces the `{"platforms":{}}` of §5.5 and §12.3.
	if len(nodes) == 0 {
		get(nodeKey{allPlatforms, allLocale, allVariations})
	}
	// Campaign-wide control-group cvr per goal (§5.12 uplift): the cvr of the control-group node over all platforms
	// and all locales, i.e. of ALL_PLATFORMS/all_locale/<group> (§13.1). No such node: 0/0 (uplift 0).
	goalNames := cv.goalNames(id)
	cgRates := map[string]map[string]cgRate{ccgVariation: {}, gcgVariation: {}}
	for _, group := range []string{ccgVariation, gcgVariation} {
		acc := nodes[nodeKey{allPlatforms, allLocale, group}]
		for _, name := range goalNames {
			if acc == nil {
				cgRates[group][name] = cgRate{}
				continue
			}
			var users int64
			if g := acc.goals[name]; g != nil {
				users = int64(len(g.users))
			}
			cgRates[group][name] = cgRate{users, int64(len(acc.heldOutUsers()))}
		}
	}
	out := expCampaign{Platforms: map[string]map[string]map[string]*expNode{}}
	for k, acc := range nodes {
		locs := out.Platforms[k.P]
		if locs == nil {
			locs = map[string]map[string]*expNode{}
			out.Platforms[k.P] = locs
		}
		vars := locs[k.L]
		if vars == nil {
			vars = map[string]*expNode{}
			locs[k.L] = vars
		}
		n := acc.render(channel, isCG(k.V), unique)
		base := acc.cvrBase(channel, isCG(k.V), unique, attribution)
		for _, name := range goalNames {
			g := acc.goals[name]
			if g == nil {
				g = &goalAcc{}
			}
			n.Goals[name] = g.render(base, unique, cgRates[ccgVariation][name], cgRates[gcgVariation][name], isCG(k.V))
		}
		vars[k.V] = n
	}
	return out
}

// heldOutUsers are the distinct users of the node's held-out events.
func (acc *nodeAcc) heldOutUsers() map[string]struct{} {
	out := map[string]struct{}{}
	for _, key := range []string{ccgKey, gcgKey} {
		if c := acc.failures[key]; c != nil {
			for u := range c.users {
				out[u] = struct{}{}
			}
		}
	}
	return out
}

// cvrBase is the denominator of cvr in a node (§5.12 base table).
func (acc *nodeAcc) cvrBase(channel string, cg, unique bool, attribution string) int64 {
	if cg {
		return int64(len(acc.heldOutUsers()))
	}
	val := func(c string) int64 { return acc.counters[c].value(unique) }
	if attribution != "VIEW_THROUGH" && attribution != "TOTAL_CONVERSIONS" {
		return val("click")
	}
	switch channel {
	case chPush, chInApp, chOnSite, chCards:
		return val("impression")
	case chEmail:
		return acc.counters["open"].value(true) // unique `open` (§5.12, §13.1), whatever the metric type
	case chSMS, chWhatsApp:
		return val("delivered")
	case chConnectors:
		return val("sent")
	case chFacebook, chGoogleAds:
		return val("successfully_synced")
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eventPlatform derives the device-platform key of a campaign event (§4.4, emitted upper case per §13.1) for a
// unit of channel ch; "" for channels without device platforms, whose data counts only in ALL_PLATFORMS (§13.1).
func eventPlatform(e *refEvent, ch string) string {
	r := e.Row
	if nonDeviceChannel(ch) {
		return ""
	}
	switch r.Mode {
	case pmFixed:
		return r.Platform
	case pmCH: // a CH row can only feed a non-device channel, handled above
		return ""
	}
	if e.Platform != "" {
		return e.Platform
	}
	switch r.Mode {
	case pmAttr:
		if r.Platform != "" {
			return r.Platform
		}
	case pmShared:
		if ch == chOnSite {
			return platWeb
		}
		return platAndroid
	}
	return platUnknown
}

// perfFields lists, per channel, the counters then the rates (name, numerator, denominator) of §5.9, with §13.1's
// `open` for the email open counter.
var perfFields = map[string]struct {
	counts []string
	rates  [][3]string
}{
	chPush: {[]string{"attempted", "sent", "failed", "impression", "click"}, [][3]string{
		{"ctr", "click", "impression"}, {"delivery_rate", "impression", "sent"}, {"sent_rate", "sent", "attempted"},
		{"failure_rate", "failed", "attempted"}}},
	chEmail: {[]string{"attempted", "sent", "failed", "delivered", "open", "click", "unsubscribe", "complaint",
		"hard_bounce", "soft_bounce", "bounced"}, [][3]string{
		{"ctr", "click", "delivered"}, {"open_rate", "open", "delivered"}, {"delivery_rate", "delivered", "sent"},
		{"ctor", "click", "open"}, {"unsub_rate", "unsubscribe", "delivered"}, {"bounce_rate", "bounced", "sent"},
		{"complaints_rate", "complaint", "delivered"}, {"sent_rate", "sent", "attempted"},
		{"failure_rate", "failed", "attempted"}}},
	chSMS: {[]string{"attempted", "sent", "failed", "delivered", "click"}, [][3]string{
		{"ctr", "click", "delivered"}, {"delivery_rate", "delivered", "sent"}, {"sent_rate", "sent", "attempted"},
		{"failure_rate", "failed", "attempted"}}},
	chWhatsApp: {[]string{"attempted", "sent", "failed", "delivered", "read", "click"}, [][3]string{
		{"ctr", "click", "delivered"}, {"delivery_rate", "delivered", "sent"}, {"read_rate", "read", "delivered"},
		{"sent_rate", "sent", "attempted"}, {"failure_rate", "failed", "attempted"}}},
	chInApp:      {[]string{"impression", "click", "closed_click"}, [][3]string{{"ctr", "click", "impression"}}},
	chOnSite:     {[]string{"impression", "click", "closed_click"}, [][3]string{{"ctr", "click", "impression"}}},
	chCards:      {[]string{"sent", "delivered", "impression", "click"}, [][3]string{{"ctr", "click", "impression"}, {"delivery_rate", "delivered", "sent"}}},
	chConnectors: {[]string{"sent"}, nil},
	chFacebook:   {[]string{"successfully_synced"}, nil},
	chGoogleAds:  {[]string{"successfully_synced"}, nil},
}

// derivedStages maps funnel stage → counter per channel (§5.13).
var derivedStages = map[string][][2]string{
	chPush:       {{"sent", "sent"}, {"impressions", "impression"}},
	chEmail:      {{"sent", "sent"}, {"delivered", "delivered"}},
	chSMS:        {{"sent", "sent"}, {"delivered", "delivered"}},
	chWhatsApp:   {{"sent", "sent"}, {"delivered", "delivered"}},
	chCards:      {{"sent", "sent"}, {"delivered", "delivered"}, {"impressions", "impression"}},
	chInApp:      {{"impressions", "impression"}},
	chOnSite:     {{"impressions", "impression"}},
	chConnectors: {{"sent", "sent"}},
}

// rate computes num/den × 100 rounded half away from zero to 2 decimals from exact integers (§5.10).
func rate(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	q := (2*num*10000 + den) / (2 * den)
	return float64(q) / 100
}

func (acc *nodeAcc) render(channel string, cg, unique bool) *expNode {
	n := &expNode{Funnel: map[string]int64{}, Failures: map[string]int64{}, Goals: map[string]*expGoal{}}
	val := func(c string) int64 { return acc.counters[c].value(unique) }
	if !cg {
		n.HasPerf = true
		n.Perf = map[string]float64{}
		if f, ok := perfFields[channel]; ok {
			for _, c := range f.counts {
				n.Perf[c] = float64(val(c))
			}
			for _, r := range f.rates {
				n.Perf[r[0]] = rate(val(r[1]), val(r[2]))
			}
		}
		for _, s := range derivedStages[channel] {
			n.Funnel[s[0]] = val(s[1])
		}
	}
	for st, v := range acc.posted {
		n.Funnel[st] = v
	}
	for k, c := range acc.failures {
		n.Failures[k] = c.value(unique)
	}
	return n
}

// ---------------------------------------------------------------------------------------------------------------
// Generic trees and the comparator

// tree renders the response as a JSON-like tree (maps, []any, int64, float64, string) mirroring the wire paths.
func (r expectedResponse) tree() map[string]any {
	data := map[string]any{}
	for id, c := range r.Data {
		data[id] = c.tree()
	}
	order := make([]any, len(r.Order))
	for i, id := range r.Order {
		order[i] = id
	}
	return map[string]any{
		"response_id": r.ResponseID, "total_campaigns": int64(r.TotalCampaigns), "current_page": int64(r.CurrentPage),
		"total_pages": int64(r.TotalPages), "data_order": order, "data": data,
	}
}

func (c expCampaign) tree() map[string]any {
	plats := map[string]any{}
	for p, locs := range c.Platforms {
		lm := map[string]any{}
		for l, vars := range locs {
			vm := map[string]any{}
			for v, n := range vars {
				vm[v] = n.tree()
			}
			lm[l] = map[string]any{"variations": vm}
		}
		plats[p] = map[string]any{"locales": lm}
	}
	return map[string]any{"platforms": plats}
}

// isZeroCampaign reports whether c is the §13.1 answer for a selected campaign with nothing in range: one node,
// ALL_PLATFORMS/all_locale/all_variations, whose numbers are all 0 and whose failure_breakdown is empty.
func isZeroCampaign(c expCampaign) bool {
	if len(c.Platforms) != 1 || len(c.Platforms[allPlatforms]) != 1 || len(c.Platforms[allPlatforms][allLocale]) != 1 {
		return false
	}
	n := c.Platforms[allPlatforms][allLocale][allVariations]
	if n == nil || !n.HasPerf || len(n.Failures) != 0 {
		return false
	}
	for _, v := range n.Perf {
		if v != 0 {
			return false
		}
	}
	for _, v := range n.Funnel {
		if v != 0 {
			return false
		}
	}
	for _, g := range n.Goals {
		if *g != (expGoal{}) {
			return false
		}
	}
	return true
}

func (n *expNode) tree() map[string]any {
	goals := map[string]any{}
	for name, g := range n.Goals {
		goals[name] = g.tree(name)
	}
	t := map[string]any{"delivery_funnel": int64Tree(n.Funnel), "failure_breakdown": int64Tree(n.Failures),
		"conversion_goal_stats": goals}
	if n.HasPerf {
		pm := map[string]any{}
		for k, v := range n.Perf {
			pm[k] = v
		}
		t["performance_stats"] = pm
	}
	return t
}

func int64Tree(m map[string]int64) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// diffTrees compares two JSON-like trees and returns readable differences ("path: want X, got Y"), at most max.
func diffTrees(want, got any, max int) []string {
	var out []string
	diffAt("$", want, got, &out, max)
	return out
}

func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func diffAt(path string, want, got any, out *[]string, max int) {
	if len(*out) >= max {
		return
	}
	if wn, ok := numeric(want); ok {
		gn, ok2 := numeric(got)
		if !ok2 || wn != gn {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, describe(got)))
		}
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, got %v", path, describe(got)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := fmt.Sprintf("%s[%q]", path, k)
			if !isIdent(k) {
				p = fmt.Sprintf("%s[%q]", path, k)
			} else {
				p = path + "." + k
			}
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				*out = append(*out, fmt.Sprintf("%s: missing (want %s)", p, describe(wv)))
			case !wok:
				*out = append(*out, fmt.Sprintf("%s: unexpected %s", p, describe(gv)))
			default:
				diffAt(p, wv, gv, out, max)
			}
			if len(*out) >= max {
				return
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an array, got %v", path, describe(got)))
			return
		}
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: want %d elements %v, got %d %v", path, len(w), describe(w), len(g), describe(g)))
			return
		}
		for i := range w {
			diffAt(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out, max)
		}
	default:
		if want != got {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", path, describe(want), describe(got)))
		}
	}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// ---------------------------------------------------------------------------------------------------------------
// Validation of the reference against the SPEC's worked examples and rules

// specTree decodes a JSON literal (numbers as float64) for comparison with a tree().
func specTree(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad literal: %v", err)
	}
	return v
}

// specToLive reads a Stats response (or any subtree of one) written in the keys of §1.3/§5.8, as the SPEC's
// examples §5.16 and §5.17 are, through §13.1's table: lower-case device platforms become upper case
// (`android` → `ANDROID`), a channel-name platform key becomes `ALL_PLATFORMS` (`EMAIL` → `ALL_PLATFORMS`),
// `all_locales` becomes `all_locale` and the email counter `opened` becomes `open`. A platforms object without
// `ALL_PLATFORMS` that holds exactly one platform gains `ALL_PLATFORMS` as a copy of it (§13.1: "for a
// single-platform campaign [it] equals that platform's node"); with several platforms the node cannot be read off
// the example and specToLive panics. The input is not modified; numbers keep their representation.
func specToLive(v any) any { return specToLiveAt("", v) }

// specPlatformsToLive is specToLive for a `platforms` object.
func specPlatformsToLive(v any) any { return specToLiveAt("platforms", v) }

func specToLiveAt(parent string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, c := range x {
			nk := k
			switch parent {
			case "platforms":
				nk = livePlatformKey(k)
			case "locales":
				if k == legacyAllLocales {
					nk = allLocale
				}
			case "performance_stats":
				if k == "opened" {
					nk = "open"
				}
			}
			if _, dup := out[nk]; dup {
				panic("specToLive: two keys become " + nk)
			}
			out[nk] = specToLiveAt(k, c)
		}
		if _, has := out[allPlatforms]; parent == "platforms" && !has && len(out) > 0 {
			if len(out) > 1 {
				panic("specToLive: the ALL_PLATFORMS node of a multi-platform example cannot be copied")
			}
			for _, c := range out {
				out[allPlatforms] = specToLiveAt("", c) // a deep copy
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = specToLiveAt(parent, c)
		}
		return out
	}
	return v
}

// livePlatformKey maps a platform key of §1.3/§4.4 to its §13.1 spelling.
func livePlatformKey(k string) string {
	switch k {
	case "android", "ios", "web", "windows", "unknown":
		return strings.ToUpper(k)
	case chEmail, chSMS, chWhatsApp, chConnectors, chFacebook, chGoogleAds:
		return allPlatforms
	}
	return k
}

func assertTree(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diffTrees(want, got, 40); len(d) > 0 {
		t.Errorf("%s differs:\n  %s", what, strings.Join(d, "\n  "))
	}
}

func ptrInt(i int) *int { return &i }

// §5.16, every number, taken literally from the SPEC's response (keys as printed there; specToLive reads them
// through §13.1).
const spec516Platforms = `{"android": {"locales": {
  "all_locales": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":124,"sent":120,"failed":4,"impression":109,"click":25,"ctr":22.94,"delivery_rate":90.83,"sent_rate":96.77,"failure_rate":3.23},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":12,"total":12,"unique":11,"revenue":1040,"average_order_value":86.67,"average_revenue_per_user":94.55,"cvr":10.09,"uplift":61.47,"gcg_uplift":0}},
      "delivery_funnel": {"sent":120,"impressions":109,"reachable_users_in_segment":150,"after_fc":140},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":3,"rejected_by_sending_service":1}},
    "variation_1": {
      "performance_stats": {"attempted":63,"sent":60,"failed":3,"impression":54,"click":12,"ctr":22.22,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":8,"total":8,"unique":7,"revenue":750,"average_order_value":93.75,"average_revenue_per_user":107.14,"cvr":12.96,"uplift":107.41,"gcg_uplift":0}},
      "delivery_funnel": {"sent":60,"impressions":54},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2,"rejected_by_sending_service":1}},
    "variation_2": {
      "performance_stats": {"attempted":61,"sent":60,"failed":1,"impression":55,"click":13,"ctr":23.64,"delivery_rate":91.67,"sent_rate":98.36,"failure_rate":1.64},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":4,"total":4,"unique":4,"revenue":290,"average_order_value":72.5,"average_revenue_per_user":72.5,"cvr":7.27,"uplift":16.36,"gcg_uplift":0}},
      "delivery_funnel": {"sent":60,"impressions":55},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":80,"average_order_value":80,"average_revenue_per_user":80,"cvr":6.25,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":16}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":3}}}},
  "en": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":80,"sent":78,"failed":2,"impression":71,"click":16,"ctr":22.54,"delivery_rate":91.03,"sent_rate":97.5,"failure_rate":2.5},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":9,"total":9,"unique":8,"revenue":840,"average_order_value":93.33,"average_revenue_per_user":105,"cvr":11.27,"uplift":80.28,"gcg_uplift":0}},
      "delivery_funnel": {"sent":78,"impressions":71},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2}},
    "variation_1": {
      "performance_stats": {"attempted":42,"sent":40,"failed":2,"impression":36,"click":9,"ctr":25,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":6,"total":6,"unique":5,"revenue":600,"average_order_value":100,"average_revenue_per_user":120,"cvr":13.89,"uplift":122.22,"gcg_uplift":0}},
      "delivery_funnel": {"sent":40,"impressions":36},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":2}},
    "variation_2": {
      "performance_stats": {"attempted":38,"sent":38,"failed":0,"impression":35,"click":7,"ctr":20,"delivery_rate":92.11,"sent_rate":100,"failure_rate":0},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":3,"total":3,"unique":3,"revenue":240,"average_order_value":80,"average_revenue_per_user":80,"cvr":8.57,"uplift":37.14,"gcg_uplift":0}},
      "delivery_funnel": {"sent":38,"impressions":35},
      "failure_breakdown": {}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":80,"average_order_value":80,"average_revenue_per_user":80,"cvr":10,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":10}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":2}}}},
  "fr": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":44,"sent":42,"failed":2,"impression":38,"click":9,"ctr":23.68,"delivery_rate":90.48,"sent_rate":95.45,"failure_rate":4.55},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":3,"total":3,"unique":3,"revenue":200,"average_order_value":66.67,"average_revenue_per_user":66.67,"cvr":7.89,"uplift":26.32,"gcg_uplift":0}},
      "delivery_funnel": {"sent":42,"impressions":38},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1,"rejected_by_sending_service":1}},
    "variation_1": {
      "performance_stats": {"attempted":21,"sent":20,"failed":1,"impression":18,"click":3,"ctr":16.67,"delivery_rate":90,"sent_rate":95.24,"failure_rate":4.76},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":2,"total":2,"unique":2,"revenue":150,"average_order_value":75,"average_revenue_per_user":75,"cvr":11.11,"uplift":77.78,"gcg_uplift":0}},
      "delivery_funnel": {"sent":20,"impressions":18},
      "failure_breakdown": {"rejected_by_sending_service":1}},
    "variation_2": {
      "performance_stats": {"attempted":23,"sent":22,"failed":1,"impression":20,"click":6,"ctr":30,"delivery_rate":90.91,"sent_rate":95.65,"failure_rate":4.35},
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":1,"total":1,"unique":1,"revenue":50,"average_order_value":50,"average_revenue_per_user":50,"cvr":5,"uplift":-20,"gcg_uplift":0}},
      "delivery_funnel": {"sent":22,"impressions":20},
      "failure_breakdown": {"users_removed_due_to_frequency_capping":1}},
    "campaign_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_campaing_control_group":6}},
    "global_control_group": {
      "conversion_goal_stats": {"Purchase":{"goal_name":"Purchase","conversions":0,"total":0,"unique":0,"revenue":0,"average_order_value":0,"average_revenue_per_user":0,"cvr":0,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":1}}}}}}}`

// buildSpec516 returns the events of §5.16 (plus noise that must not count) and the funnel entry.
func buildSpec516() ([]json.RawMessage, []map[string]any) {
	const cid = "65f1c0a2b3c4d5e6f7a8b9c0"
	base := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	var evs []json.RawMessage
	n := 0
	mk := func(code, name, user, loc, vr string, extra map[string]any, at time.Duration) map[string]any {
		n++
		a := map[string]any{"campaign_id": cid, "campaign_name": "Spring Sale", "campaign_channel": "Push",
			"locale_name": loc, "variation_id": vr}
		for k, v := range extra {
			a[k] = v
		}
		ev := map[string]any{"event_uuid": fmt.Sprintf("ex516-%04d", n), "event_time": base.Add(at).UnixMilli(),
			"uid": user, "event_attributes": a}
		if code != "" {
			ev["event_code"] = code
		}
		if name != "" {
			ev["event_name"] = name
		}
		evs = append(evs, mustJSON(ev))
		return ev
	}
	cells := []struct {
		loc, vr                      string
		sent, failed, imp, click, rc int
	}{
		{"en", "1", 40, 2, 36, 9, 201}, {"en", "2", 38, 0, 35, 7, 0}, {"fr", "1", 20, 1, 18, 3, 501}, {"fr", "2", 22, 1, 20, 6, 201},
	}
	for ci, c := range cells {
		for i := 0; i < c.sent; i++ {
			u := fmt.Sprintf("%s-%s-u%02d", c.loc, c.vr, i)
			at := time.Duration(ci*100+i) * time.Minute
			mk("", "Notification Sent Android", u, c.loc, c.vr, nil, at)
			if i < c.imp {
				mk("NOTIFICATION_RECEIVED_MOE", "", u, c.loc, c.vr, nil, at+time.Minute)
			}
			if i < c.click {
				mk("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", u, c.loc, c.vr, nil, at+2*time.Minute)
			}
		}
		for i := 0; i < c.failed; i++ {
			u := fmt.Sprintf("%s-%s-f%02d", c.loc, c.vr, i)
			mk("", "Notification Failed Android", u, c.loc, c.vr, map[string]any{"reason_code": c.rc},
				time.Duration(ci*100+i)*time.Minute)
		}
	}
	held := []struct {
		loc    string
		n      int
		global bool
	}{{"en", 10, false}, {"fr", 6, false}, {"en", 2, true}, {"fr", 1, true}}
	for hi, h := range held {
		for i := 0; i < h.n; i++ {
			extra := map[string]any{"platform": "ANDROID"}
			if h.global {
				extra["control_group_type"] = "global"
			}
			vr := "1"
			if i%2 == 1 {
				vr = "2"
			}
			mk("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "", fmt.Sprintf("held-%d-%02d", hi, i), h.loc, vr, extra,
				time.Duration(hi*20+i)*time.Minute)
		}
	}
	// Noise: a duplicate with other content, an event after the range, a user event and a rejected event.
	dup := mk("NOTIFICATION_CLICKED_MOE", "", "someone", "en", "1", nil, time.Hour)
	dup["event_uuid"] = "ex516-0001"
	evs[len(evs)-1] = mustJSON(dup)
	mk("", "Notification Sent Android", "late", "en", "1", nil, 3*24*time.Hour)
	// Credited purchases (Streams user events named by event_code or event_name), one bought by a held-out user,
	// and purchases that must not count: outside the window, another user key, a lower-case name.
	buy := func(user string, amount any, at time.Duration, byName bool) {
		n++
		ev := map[string]any{"event_uuid": fmt.Sprintf("ex516-%04d", n), "event_time": base.Add(at).UnixMilli(),
			"uid": user, "event_attributes": map[string]any{"amount": amount}}
		if byName {
			ev["event_name"] = "Purchase"
		} else {
			ev["event_code"] = "Purchase"
		}
		evs = append(evs, mustJSON(ev))
	}
	for _, p := range []struct {
		cell   string
		users  int
		extra  int // the first user buys this many more times
		amount any
	}{{"en-1", 5, 1, 100}, {"en-2", 3, 0, "80"}, {"fr-1", 2, 0, 75.0}, {"fr-2", 1, 0, "50.000000"}} {
		for i := 0; i < p.users; i++ {
			buy(fmt.Sprintf("%s-u%02d", p.cell, i), p.amount, 6*time.Hour+time.Duration(i)*time.Minute, i%2 == 0)
		}
		for k := 0; k < p.extra; k++ {
			buy(p.cell+"-u00", p.amount, 8*time.Hour, false)
		}
	}
	buy("held-0-00", json.Number("80"), 7*time.Hour, true)
	buy("held-1-00", 999, 60*time.Hour, true)   // held-out 60 h earlier: outside W = 36 h
	buy("someone-else", 500, 7*time.Hour, true) // no interaction
	{
		n++
		evs = append(evs, mustJSON(map[string]any{"event_uuid": fmt.Sprintf("ex516-%04d", n), "event_name": "purchase",
			"event_time": base.Add(7 * time.Hour).UnixMilli(), "uid": "en-1-u01", "event_attributes": map[string]any{"amount": 1}}))
	}
	bad := mk("", "Notification Sent Android", "x", "en", "1", nil, 0)
	bad["event_time"] = "yesterday"
	evs[len(evs)-1] = mustJSON(bad)
	funnel := []map[string]any{{"date": "2025-03-01", "platform": "android",
		"stages": map[string]any{"reachable_users_in_segment": 150, "after_fc": 140}}}
	return evs, funnel
}

func TestReferenceSpecExample516(t *testing.T) {
	m, err := newRefModel("UTC")
	if err != nil {
		t.Fatal(err)
	}
	const cid = "65f1c0a2b3c4d5e6f7a8b9c0"
	evs, funnel := buildSpec516()
	sum := m.Ingest(evs, time.Now())
	if sum.Duplicates != 1 || sum.Rejected != 1 || sum.Accepted != len(evs)-2 {
		t.Fatalf("ingest: %+v", sum.Errors())
	}
	if st := m.PutCampaign(cid, map[string]any{"campaign_name": "Spring Sale", "channel": "PUSH",
		"conversion_goal_details": map[string]any{"attribution_window_in_hours": 36, "goals": []any{
			map[string]any{"goal_name": "Purchase", "goal_event_name": "Purchase", "is_primary_goal": true,
				"revenue_attribute": "amount", "revenue_currency": "USD"}}}}); st != 200 {
		t.Fatalf("PUT status %d, want 200 (the campaign exists from its events)", st)
	}
	if st, n := m.PostFunnel(cid, funnel); st != 200 || n != 1 {
		t.Fatalf("funnel: %d %d", st, n)
	}
	resp := m.Stats(StatsRequest{RequestID: "daily-2025-03-01", CampaignIDs: []string{cid}, StartDate: "2025-03-01",
		EndDate: "2025-03-02", AttributionType: "VIEW_THROUGH", MetricType: "TOTAL"})
	want := map[string]any{
		"response_id": "daily-2025-03-01", "total_campaigns": 1.0, "current_page": 1.0, "total_pages": 1.0,
		"data_order": []any{cid},
		"data":       map[string]any{cid: map[string]any{"platforms": specPlatformsToLive(specTree(t, spec516Platforms))}},
	}
	assertTree(t, "§5.16 response", want, any(resp.tree()))
	// Every event is Android: ALL_PLATFORMS equals ANDROID (§13.1), and its campaign control group is the
	// campaign-wide one that every uplift compares with (§5.16: 1/16 = 6.25 %).
	plats := resp.Data[cid].tree()["platforms"].(map[string]any)
	if len(plats) != 2 {
		t.Errorf("§5.16 platforms: %d keys, want ALL_PLATFORMS and ANDROID", len(plats))
	}
	assertTree(t, "§5.16 ALL_PLATFORMS (want: the ANDROID node)", plats[platAndroid], plats[allPlatforms])
	if g := resp.Data[cid].Platforms[allPlatforms][allLocale][ccgVariation].Goals["Purchase"]; g.CVR != 6.25 {
		t.Errorf("§5.16 ALL_PLATFORMS/all_locale/campaign_control_group cvr = %v, want 6.25", g.CVR)
	}
}

// §5.17, UNIQUE: every number from the SPEC's response (keys as printed there; specToLive reads them through
// §13.1: EMAIL → ALL_PLATFORMS, all_locales → all_locale, opened → open).
const spec517Platforms = `{"EMAIL": {"locales": {
  "all_locales": {"variations": {
    "all_variations": {
      "performance_stats": {"attempted":1000,"sent":950,"failed":50,"delivered":920,"opened":400,"click":60,"unsubscribe":4,"complaint":1,"hard_bounce":10,"soft_bounce":20,"bounced":30,"ctr":6.52,"open_rate":43.48,"delivery_rate":96.84,"ctor":15,"unsub_rate":0.43,"bounce_rate":3.16,"complaints_rate":0.11,"sent_rate":95,"failure_rate":5},
      "conversion_goal_stats": {"Order Placed":{"goal_name":"Order Placed","conversions":20,"total":25,"unique":20,"revenue":3000.5,"average_order_value":120.02,"average_revenue_per_user":150.03,"cvr":33.33,"uplift":0,"gcg_uplift":1566.67}},
      "delivery_funnel": {"sent":950,"delivered":920,"user_with_email":1100,"after_fc":1000},
      "failure_breakdown": {"hard_bounce_dropped_reason":30,"unknown":20}},
    "global_control_group": {
      "conversion_goal_stats": {"Order Placed":{"goal_name":"Order Placed","conversions":1,"total":1,"unique":1,"revenue":99,"average_order_value":99,"average_revenue_per_user":99,"cvr":2,"uplift":0,"gcg_uplift":0}},
      "delivery_funnel": {},
      "failure_breakdown": {"user_removed_due_to_global_control_group":50}}}}}}}`

func buildSpec517() ([]json.RawMessage, []map[string]any) {
	const cid = "6763f09a1f53871780a63623"
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var evs []json.RawMessage
	n := 0
	emit := func(code, user string, extra map[string]any) {
		n++
		a := map[string]any{"campaign_id": cid, "campaign_channel": "EMAIL", "moe_delivery_type": "One Time"}
		for k, v := range extra {
			a[k] = v
		}
		// The same person is spelled in several cases; the email user key is lower-cased (§2.8).
		email := user + "@example.com"
		if n%3 == 0 {
			email = " " + strings.ToUpper(user) + "@Example.COM "
		}
		at := base.Add(time.Duration(n*4) * time.Minute) // spread over the first 8 days of the range
		ev := map[string]any{"event_uuid": fmt.Sprintf("ex517-%05d", n), "event_code": code, "event_time": at.Unix(),
			"email_id": email, "event_attributes": a}
		evs = append(evs, mustJSON(ev))
	}
	times := func(k, i, twiceBelow int) int {
		if i < twiceBelow {
			return 2
		}
		return 1
	}
	for i := 0; i < 950; i++ {
		u := fmt.Sprintf("e%03d", i)
		for k := 0; k < times(0, i, 30); k++ {
			emit("MOE_EMAIL_SENT", u, nil)
		}
		if i < 920 {
			emit("MOE_EMAIL_DELIVERED", u, nil)
		}
		if i < 400 {
			for k := 0; k < times(0, i, 100); k++ {
				emit("MOE_EMAIL_OPEN", u, nil)
			}
		}
		if i < 60 {
			for k := 0; k < times(0, i, 10); k++ {
				emit("MOE_EMAIL_CLICK", u, nil)
			}
		}
		if i < 4 {
			emit("MOE_EMAIL_UNSUBSCRIBE", u, nil)
		}
		if i == 4 {
			emit("MOE_EMAIL_SPAM", u, nil)
		}
		if i >= 920 && i < 930 {
			emit("MOE_EMAIL_HARD_BOUNCE", u, nil)
		}
		if i >= 930 {
			for k := 0; k < times(0, i, 932); k++ {
				emit("MOE_EMAIL_SOFT_BOUNCE", u, nil)
			}
		}
	}
	for i := 0; i < 50; i++ {
		u := fmt.Sprintf("d%02d", i)
		var extra map[string]any
		if i < 30 {
			extra = map[string]any{"reason": "HARD_BOUNCE_DROPPED_REASON"}
		}
		for k := 0; k < times(0, i, 1); k++ {
			emit("MOE_EMAIL_DROP", u, extra)
		}
	}
	for i := 0; i < 50; i++ {
		for k := 0; k < times(0, i, 5); k++ {
			emit("MOE_CAMPAIGN_CONTROL_GROUP", fmt.Sprintf("g%02d", i), map[string]any{"cg_type": "GLOBAL"})
		}
	}
	funnel := []map[string]any{{"date": "2025-03-05", "stages": map[string]any{"user_with_email": 1100, "after_fc": 1000}}}
	return evs, funnel
}

type trackBody struct {
	endpoint string // "event" (Track Event) or "transition" (Bulk Import)
	body     []byte
}

// spec517Orders are the §5.17 goal events: 25 orders by 20 clickers worth 3000.50 (Track Event and Bulk Import,
// the email user key from user_identifiers.moe_email), one order of 99 by a held-out user, and orders that must not
// count (a user who only opened, a different action name).
func spec517Orders() []trackBody {
	at := time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
	var out []trackBody
	for i := 0; i < 20; i++ {
		n := 1
		if i < 5 {
			n = 2
		}
		var acts []any
		for k := 0; k < n; k++ {
			var v any = json.Number("120")
			switch {
			case i == 0 && k == 1:
				v = "120.50"
			case i%3 == 1:
				v = "120"
			}
			acts = append(acts, map[string]any{"action": "Order Placed", "attributes": map[string]any{"value": v},
				"current_time": at.Add(time.Duration(i*10+k) * time.Minute).UnixMilli()})
		}
		email := fmt.Sprintf("E%03d@Example.com", i)
		if i%2 == 0 {
			out = append(out, trackBody{"event", mustJSON(map[string]any{"type": "event",
				"user_identifiers": map[string]any{"moe_email": email}, "actions": acts})})
		} else {
			out = append(out, trackBody{"transition", mustJSON(map[string]any{"type": "transition", "elements": []any{
				map[string]any{"type": "customer", "customer_id": "x"},
				map[string]any{"type": "event", "user_identifiers": map[string]any{"moe_email": email}, "actions": acts}}})})
		}
	}
	out = append(out,
		trackBody{"event", mustJSON(map[string]any{"type": "event", "user_identifiers": map[string]any{"moe_email": "g00@example.com"},
			"actions": []any{map[string]any{"action": "Order Placed", "attributes": map[string]any{"value": 99},
				"current_time": at.Format(time.RFC3339)}}})},
		trackBody{"event", mustJSON(map[string]any{"type": "event", "user_identifiers": map[string]any{"moe_email": "e300@example.com"},
			"actions": []any{map[string]any{"action": "Order Placed", "attributes": map[string]any{"value": 7},
				"current_time": at.Format(time.RFC3339)}}})},
		trackBody{"event", mustJSON(map[string]any{"type": "event", "user_identifiers": map[string]any{"moe_email": "e001@example.com"},
			"actions": []any{map[string]any{"action": "order placed", "attributes": map[string]any{"value": 7},
				"current_time": at.Format(time.RFC3339)}}})},
	)
	return out
}

func TestReferenceSpecExample517(t *testing.T) {
	m, err := newRefModel("UTC")
	if err != nil {
		t.Fatal(err)
	}
	const cid = "6763f09a1f53871780a63623"
	evs, funnel := buildSpec517()
	if sum := m.Ingest(evs, time.Now()); sum.Accepted != len(evs) {
		t.Fatalf("ingest: %+v", sum.Errors())
	}
	if st, _ := m.PostFunnel(cid, funnel); st != 200 {
		t.Fatalf("funnel status %d", st)
	}
	if st := m.PutCampaign(cid, map[string]any{"channel": "EMAIL", "conversion_goal_details": map[string]any{
		"goals": []any{map[string]any{"goal_name": "Order Placed", "goal_event_name": "Order Placed",
			"revenue_attribute": "value"}}}}); st != 200 {
		t.Fatalf("PUT status %d", st)
	}
	for _, b := range spec517Orders() {
		if st, msg, _ := m.TrackRequest(b.endpoint, "", b.body, time.Now()); st != 200 {
			t.Fatalf("%s: %d %s", b.body, st, msg)
		}
	}
	req := StatsRequest{RequestID: "email-check-7", CampaignIDs: []string{cid}, StartDate: "2025-03-01",
		EndDate: "2025-03-10", AttributionType: "click_through", MetricType: "UNIQUE"}
	resp := m.Stats(req)
	want := map[string]any{
		"response_id": "email-check-7", "total_campaigns": 1.0, "current_page": 1.0, "total_pages": 1.0,
		"data_order": []any{cid},
		"data":       map[string]any{cid: map[string]any{"platforms": specPlatformsToLive(specTree(t, spec517Platforms))}},
	}
	assertTree(t, "§5.17 response", want, any(resp.tree()))
	if len(resp.Data[cid].Platforms) != 1 {
		t.Errorf("§5.17: an EMAIL campaign has only ALL_PLATFORMS, got %d platform keys", len(resp.Data[cid].Platforms))
	}

	// The same data under TOTAL counts the repeated events (not in the SPEC; derived by hand).
	req.MetricType = "TOTAL"
	node := m.Stats(req).Data[cid].Platforms[allPlatforms][allLocale][allVariations]
	for k, v := range map[string]float64{"sent": 980, "attempted": 1031, "failed": 51, "open": 500, "click": 70,
		"soft_bounce": 22, "bounced": 32} {
		if node.Perf[k] != v {
			t.Errorf("TOTAL %s = %v, want %v", k, node.Perf[k], v)
		}
	}
	if node.Failures["hard_bounce_dropped_reason"] != 31 || node.Failures["unknown"] != 20 {
		t.Errorf("TOTAL failure_breakdown = %v", node.Failures)
	}
	// Conversions under TOTAL: conversions = total; cvr over TOTAL clicks; the control group's base stays distinct.
	if g := node.Goals["Order Placed"]; g == nil || g.Conversions != 25 || g.Total != 25 || g.Unique != 20 ||
		g.CVR != 28.57 || g.GCGUplift != 1328.57 || g.Revenue != 3000.5 {
		t.Errorf("TOTAL Order Placed = %+v", g)
	}
	gcg := m.Stats(req).Data[cid].Platforms[allPlatforms][allLocale][gcgVariation]
	if gcg.HasPerf || gcg.Failures[gcgKey] != 55 {
		t.Errorf("TOTAL global_control_group = %+v", gcg)
	}
}

func TestReferenceHelpers(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	for _, c := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{json.Number("1740819600"), ms("2025-03-01T09:00:00Z"), true},
		{"1708939453396", 1708939453396, true},
		{json.Number("1740819600.25"), ms("2025-03-01T09:00:00.25Z"), true},
		{"1740819600.2569", ms("2025-03-01T09:00:00.256Z"), true},
		{json.Number("100000000000"), 100000000000000, true}, // exactly 1e11 is still seconds
		{json.Number("100000000001"), 100000000001, true},
		{"2025-03-01T14:30:00.5+05:30", ms("2025-03-01T09:00:00.5Z"), true},
		{"2025-03-01T09:00:00", ms("2025-03-01T09:00:00Z"), true},
		{"2025-03-01 09:00:00", ms("2025-03-01T09:00:00Z"), true},
		{"2025-03-01", ms("2025-03-01T00:00:00Z"), true},
		{json.Number("0"), 0, false}, {json.Number("-5"), 0, false}, {"soon", 0, false}, {true, 0, false},
		{"2025-02-30", 0, false}, {"", 0, false},
	} {
		got, ok := parseTimeValue(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("parseTimeValue(%#v) = %d %v, want %d %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for in, want := range map[string]string{
		"Users removed due to Frequency Capping": "users_removed_due_to_frequency_capping",
		"HARD_BOUNCE_DROPPED_REASON":             "hard_bounce_dropped_reason",
		"SMTP error: 550 mailbox unavailable":    "smtp_error_550_mailbox_unavailable",
		"  --Quota exceeded!!  ":                 "quota_exceeded",
		"Échec — numéro":                         "échec_numéro",
		"???":                                    "",
		strings.Repeat("x", 99) + " y":           strings.Repeat("x", 99),
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		in   any
		want string
	}{{"2", "variation_2"}, {"02", "variation_2"}, {json.Number("2"), "variation_2"}, {" B ", "B"},
		{"variation_1", "variation_1"}, {"007", "variation_7"}, {"all_variations", ""}, {"campaign_control_group", ""}, {"", ""}} {
		if got := variationKey(c.in, false); got != c.want {
			t.Errorf("variationKey(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
	if variationKey("global_control_group", true) != gcgVariation {
		t.Error("funnel variation global_control_group")
	}
	if eventLocale(map[string]any{"locale_id": json.Number("5")}) != "5" ||
		eventLocale(map[string]any{"locale_name": " en ", "locale_id": "9"}) != "en" ||
		eventLocale(map[string]any{"locale_name": "all_locales"}) != "" || eventLocale(map[string]any{"locale_id": " all_locale "}) != "" {
		t.Error("eventLocale")
	}
	for _, c := range []struct {
		ev   string
		want string
	}{
		{`{"uid":"u1","push_id":"p"}`, "uid:u1"},
		{`{"uid":"  ","push_id":" p "}`, "push:p"},
		{`{"uid":12345}`, "uid:12345"},
		{`{"user_attributes":{"moengage_user_id":"m"},"device_attributes":{"moengage_device_id":"d"}}`, "moe:m"},
		{`{"device_attributes":{"moengage_device_id":"d"},"email_id":"A@B.c"}`, "dev:d"},
		{`{"email_id":" A@B.COM "}`, "email:a@b.com"},
		{`{"mobile_number":919876500001}`, "mobile:919876500001"},
		{`{}`, ""},
	} {
		v, _ := decodeJSON([]byte(c.ev))
		got, _ := userKeyOf(v.(map[string]any))
		if got != c.want {
			t.Errorf("userKeyOf(%s) = %q, want %q", c.ev, got, c.want)
		}
	}
	for _, c := range []struct{ code, name, want string }{
		{"NOTIFICATION_CLICKED_MOE", "", "NOTIFICATION_CLICKED_MOE"},
		{" moe_email _sent\t", "", "MOE_EMAIL_SENT"},
		{"IOS_IN_APP_SHOWN", "", "iOS_IN_APP_SHOWN"},
		{"", "  notification   FAILED ios ", "Notification Failed iOS"},
		{"UNKNOWN_X", "Email Sent", "MOE_EMAIL_SENT"},
		{"MOE_EMAIL_SENT", "SMS Sent", "MOE_EMAIL_SENT"},
		{"MOE_APP_OPENED", "", ""},
	} {
		r := lookupRow(c.code, c.name)
		got := ""
		if r != nil {
			got = r.Code
			if got == "" {
				got = r.Names[0]
			}
		}
		if got != c.want {
			t.Errorf("lookupRow(%q, %q) = %q, want %q", c.code, c.name, got, c.want)
		}
	}
	if rate(2, 42) != 4.76 || rate(150025, 100000) != 150.03 || rate(1, 0) != 0 || rate(1, 8) != 12.5 || rate(1, 3) != 33.33 {
		t.Error("rate rounding")
	}
	for in, want := range map[string]string{"Push": chPush, "web-push": chPush, "e-mail": chEmail, "On Site": chOnSite,
		"osm": chOnSite, "Google Ads": chGoogleAds, "facebook audience": chFacebook, "GENERAL": ""} {
		if got := normChannel(in); got != want {
			t.Errorf("normChannel(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct{ attrs, want string }{
		{`{"reason_code":201}`, "users_removed_due_to_frequency_capping"},
		{`{"Failure Code":"501","reason":"x"}`, "rejected_by_sending_service"},
		{`{"code":999,"Failure-Reason":"Quota exceeded"}`, "quota_exceeded"},
		{`{"reasons":"???"}`, "unknown"},
		{`{}`, "unknown"},
	} {
		v, _ := decodeJSON([]byte(c.attrs))
		if got := failureKey(normAttrs(v.(map[string]any))); got != c.want {
			t.Errorf("failureKey(%s) = %q, want %q", c.attrs, got, c.want)
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	if got := dayStartMs("2025-03-09", ny); got != ms("2025-03-09T05:00:00Z") {
		t.Errorf("NY 2025-03-09 starts at %v", time.UnixMilli(got).UTC())
	}
	if got := dayStartMs("2025-03-10", ny); got != ms("2025-03-10T04:00:00Z") {
		t.Errorf("NY 2025-03-10 starts at %v", time.UnixMilli(got).UTC())
	}
	// A zone whose midnight does not exist on its DST day: the day starts at 01:00 local.
	if sp, err := time.LoadLocation("America/Santiago"); err == nil {
		if got := dayStartMs("2024-09-08", sp); got != ms("2024-09-08T04:00:00Z") {
			t.Errorf("Santiago 2024-09-08 starts at %v", time.UnixMilli(got).UTC())
		}
	}
}

// TestReferenceIngestValidation checks §3.3 rule order, messages and duplicate handling on a hand-built batch.
func TestReferenceIngestValidation(t *testing.T) {
	m, _ := newRefModel("UTC")
	ok := `"event_code":"MOE_EMAIL_SENT","event_time":1740819600,"uid":"u","event_attributes":{"campaign_id":"c1"}`
	cases := []struct {
		ev, outcome, msg string
	}{
		{`{"event_uuid":"a",` + ok + `}`, outcomeAccepted, ""},
		{`{"event_uuid":"a","event_code":"SMS_SENT","event_time":1,"uid":"u"}`, outcomeRejected, "event_time is before 2000-01-01"},
		{`{"event_uuid":"a","event_code":"SMS_SENT","event_time":1740819600,"uid":"v","event_attributes":{"campaign_id":"c2"}}`, outcomeDuplicate, ""},
		{`7`, outcomeRejected, "event is not a JSON object"},
		{`{"event_uuid":12,` + ok + `}`, outcomeAccepted, ""},
		{`{"event_uuid":"12",` + ok + `}`, outcomeDuplicate, ""},
		{`{"event_uuid":true,` + ok + `}`, outcomeRejected, "event_uuid is required"},
		{`{"event_uuid":"` + strings.Repeat("é", 129) + `"}`, outcomeRejected, "event_uuid is longer than 128 characters"},
		{`{"event_uuid":"` + strings.Repeat("é", 128) + `",` + ok + `}`, outcomeAccepted, ""},
		{`{"event_uuid":"b","event_time":"x"}`, outcomeRejected, "event_code or event_name is required"},
		{`{"event_uuid":"b","event_name":"x"}`, outcomeRejected, "event_time is required"},
		{`{"event_uuid":"b","event_name":"x","event_time":"2025-02-30T00:00:00Z"}`, outcomeRejected, "event_time is not a valid epoch or ISO-8601 time"},
		{`{"event_uuid":"b","event_name":"x","event_time":"2099-01-01T00:00:00Z"}`, outcomeRejected, "event_time is more than 5 minutes in the future"},
		{`{"event_uuid":"b","event_name":"x","event_time":1740819600,"user_attributes":[]}`, outcomeRejected, "user_attributes must be an object"},
		{`{"event_uuid":"b","event_name":"Email Sent","event_time":1740819600,"uid":"u"}`, outcomeRejected, "event_attributes.campaign_id is required for campaign events"},
		{`{"event_uuid":"b","event_code":"MOE_CAMPAIGN_CONTROL_GROUP","event_time":1740819600,"uid":"u"}`, outcomeAccepted, ""},
		{`{"event_uuid":"c","event_code":"X","event_time":1740819600,"uid":"u","event_attributes":{"campaign_id":"bad id"}}`, outcomeAccepted, ""},
		{`{"event_uuid":"d","event_code":"SMS_SENT","event_time":1740819600,"event_attributes":{"campaign_id":"bad id"}}`, outcomeRejected, "event_attributes.campaign_id is invalid"},
		{`{"event_uuid":"d","event_code":"SMS_SENT","event_time":1740819600,"event_attributes":{"campaign_id":"ok","parent_campaign_id":"a/b"}}`, outcomeRejected, "event_attributes.parent_campaign_id is invalid"},
		{`{"event_uuid":"d","event_code":"SMS_SENT","event_time":1740819600,"uid":" ","event_attributes":{"campaign_id":"ok"}}`, outcomeRejected,
			"no user identity (uid, user_attributes.moengage_user_id, device_attributes.moengage_device_id, push_id, email_id or mobile_number)"},
		{`{"event_uuid":"d","event_code":"SMS_SENT","event_time":1740819600,"email_id":" ` + strings.Repeat("É", 257) + ` ","event_attributes":{"campaign_id":"ok"}}`, outcomeRejected,
			"user identity is longer than 256 characters"},
	}
	var batch []json.RawMessage
	for _, c := range cases {
		batch = append(batch, json.RawMessage(c.ev))
	}
	sum := m.Ingest(batch, time.Now())
	for i, c := range cases {
		o := sum.Outcomes[i]
		if o.Outcome != c.outcome || o.Message != c.msg {
			t.Errorf("event %d %s: got %s %q, want %s %q", i, c.ev, o.Outcome, o.Message, c.outcome, c.msg)
		}
	}
	if !m.exists["c1"] || m.exists["c2"] || m.exists["bad id"] {
		t.Errorf("registration: %v", m.exists)
	}
}

// TestReferenceSelectionAndPaging checks §5.5 and the §5.6 table.
func TestReferenceSelectionAndPaging(t *testing.T) {
	m, _ := newRefModel("Asia/Kolkata")
	var batch []json.RawMessage
	for i := 0; i < 23; i++ {
		batch = append(batch, mustJSON(map[string]any{"event_uuid": fmt.Sprintf("s%d", i), "event_code": "SMS_SENT",
			"event_time": fmt.Sprintf("2025-03-01T%02d:00:00+05:30", i), "uid": "u",
			"event_attributes": map[string]any{"campaign_id": fmt.Sprintf("c%02d", i)}}))
	}
	// A child selects its parent; a deferred email (no counter) selects its campaign but creates no node.
	batch = append(batch, mustJSON(map[string]any{"event_uuid": "k1", "event_code": "MOE_EMAIL_DEFERRED",
		"event_time": "2025-03-02T01:00:00+05:30", "uid": "u",
		"event_attributes": map[string]any{"campaign_id": "child", "parent_campaign_id": "parent"}}))
	m.Ingest(batch, time.Now())
	q := func(ids []string, start, end string, off, lim *int) expectedResponse {
		return m.Stats(StatsRequest{RequestID: "r", CampaignIDs: ids, StartDate: start, EndDate: end, MetricType: "TOTAL",
			Offset: off, Limit: lim})
	}
	for _, c := range []struct {
		off, lim, page, pages int
		first, n              int
	}{{0, 10, 1, 3, 0, 10}, {20, 10, 3, 3, 20, 3}, {30, 10, 4, 3, 0, 0}, {6, 4, 2, 6, 6, 4}} {
		r := q(nil, "2025-03-01", "2025-03-01", ptrInt(c.off), ptrInt(c.lim))
		if r.TotalCampaigns != 23 || r.CurrentPage != c.page || r.TotalPages != c.pages || len(r.Order) != c.n {
			t.Errorf("offset %d limit %d: %d %d %d %v", c.off, c.lim, r.TotalCampaigns, r.CurrentPage, r.TotalPages, r.Order)
		}
		for i, id := range r.Order { // start time descending = campaign index descending
			if want := fmt.Sprintf("c%02d", 22-(c.first+i)); id != want {
				t.Errorf("offset %d: item %d = %s, want %s", c.off, i, id, want)
			}
		}
	}
	r := q([]string{"c05", "nope", "c01", "c05"}, "2025-03-01", "2025-03-01", nil, nil)
	if r.TotalCampaigns != 2 || r.TotalPages != 1 || strings.Join(r.Order, ",") != "c05,c01" {
		t.Errorf("ids: %+v", r)
	}
	r = q(nil, "2025-04-01", "2025-04-01", nil, nil)
	if r.TotalCampaigns != 0 || r.CurrentPage != 1 || r.TotalPages != 0 || len(r.Data) != 0 {
		t.Errorf("empty: %+v", r)
	}
	r = q(nil, "2025-03-02", "2025-03-02", nil, nil)
	if strings.Join(r.Order, ",") != "child,parent" {
		t.Errorf("child/parent selection: %v", r.Order)
	}
	// §12.3 with §13.1: the campaigns are returned with the zero node only.
	if !isZeroCampaign(r.Data["child"]) || !isZeroCampaign(r.Data["parent"]) {
		t.Errorf("a counter-less event created nodes: %s %s", describe(r.Data["child"].tree()), describe(r.Data["parent"].tree()))
	}
	if got := r.Data["child"].Platforms[allPlatforms][allLocale][allVariations]; len(got.Perf) != len(perfFields[chEmail].counts)+
		len(perfFields[chEmail].rates) || len(got.Funnel) != 2 || got.Funnel["sent"] != 0 || got.Funnel["delivered"] != 0 {
		t.Errorf("zero node of an EMAIL campaign: %s", describe(got.tree()))
	}
	// Kolkata days: 2025-03-01 00:00 IST is 2025-02-28T18:30Z.
	r = q([]string{"c00"}, "2025-02-28", "2025-02-28", nil, nil)
	if !isZeroCampaign(r.Data["c00"]) {
		t.Errorf("c00 counted on the previous local day")
	}
}

// TestReferenceCatalog checks re-parenting by PUT, explicit channel and placeholder parents (§2.3, §3.12, §3.14).
func TestReferenceCatalog(t *testing.T) {
	m, _ := newRefModel("UTC")
	ev := func(uuid, code, cid, parent, at string, extra map[string]any) json.RawMessage {
		a := map[string]any{"campaign_id": cid}
		if parent != "" {
			a["parent_campaign_id"] = parent
		}
		for k, v := range extra {
			a[k] = v
		}
		return mustJSON(map[string]any{"event_uuid": uuid, "event_code": code, "event_time": at, "uid": uuid, "event_attributes": a})
	}
	m.Ingest([]json.RawMessage{
		ev("1", "MOE_IN_APP_SHOWN", "kid", "old", "2025-03-01T10:00:00Z", nil),
		ev("2", "MOE_IN_APP_SHOWN", "kid", "new", "2025-03-02T10:00:00Z", map[string]any{"platform": "iphone"}),
		ev("3", "iOS_IN_APP_SHOWN", "kid", "", "2025-03-03T10:00:00Z", nil),
	}, time.Now())
	cv := m.catalog()
	if cv.parent["kid"] != "new" || cv.channel["kid"] != chInApp || cv.channel["new"] != chInApp || cv.channel["old"] != chUnknown {
		t.Fatalf("inference: parent %q channels %v", cv.parent["kid"], cv.channel)
	}
	req := StatsRequest{RequestID: "r", CampaignIDs: []string{"new", "old", "kid"}, StartDate: "2025-03-01", EndDate: "2025-03-03", MetricType: "TOTAL"}
	r := m.Stats(req)
	if got := r.Data["new"].Platforms[platAndroid][allLocale][allVariations].Perf["impression"]; got != 1 {
		t.Errorf("parent new: android impressions %v", got)
	}
	if got := r.Data["new"].Platforms[platIOS][allLocale][allVariations].Perf["impression"]; got != 2 {
		t.Errorf("parent new: ios impressions %v", got)
	}
	if got := r.Data["new"].Platforms[allPlatforms][allLocale][allVariations].Perf["impression"]; got != 3 {
		t.Errorf("parent new: ALL_PLATFORMS impressions %v", got)
	}
	if !isZeroCampaign(r.Data["old"]) {
		t.Errorf("old parent has data: %s", describe(r.Data["old"].tree()))
	}
	if st := m.PutCampaign("kid", map[string]any{"channel": "on site", "parent_campaign_id": "old"}); st != 200 {
		t.Fatalf("PUT status %d", st)
	}
	if st := m.PutCampaign("new", map[string]any{"parent_campaign_id": "kid"}); st != 400 {
		t.Fatalf("PUT making a parent of a child: %d, want 400", st)
	}
	if st := m.PutCampaign("fresh", map[string]any{"channel": "EMAIL"}); st != 201 {
		t.Fatalf("PUT new campaign: %d", st)
	}
	r = m.Stats(req)
	// ON_SITE: the shared code defaults to web, the iOS-only IN_APP code feeds nothing.
	kid := r.Data["kid"].Platforms
	if len(kid) != 3 || kid[platWeb][allLocale][allVariations].Perf["impression"] != 1 ||
		kid[platIOS][allLocale][allVariations].Perf["impression"] != 1 ||
		kid[allPlatforms][allLocale][allVariations].Perf["impression"] != 2 {
		t.Errorf("kid after PUT: %s", describe(r.Data["kid"].tree()))
	}
	if len(r.Data["old"].Platforms) != 3 || !isZeroCampaign(r.Data["new"]) {
		t.Errorf("re-parenting did not move past events: old=%s new=%s", describe(r.Data["old"].tree()), describe(r.Data["new"].tree()))
	}
}
