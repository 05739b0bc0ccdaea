package ingest

import (
	"strings"
	"testing"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// specRow is one row of SPEC §4.2, transcribed by hand from the SPEC (not from the implementation's table).
type specRow struct {
	codes    []string
	names    []string
	campaign bool
	channels domain.ChannelSet
	counter  domain.Counter // for push failures and control groups: the counter without reason attributes
	class    domain.InteractionClass
	platform string                 // fixed platform ("" when attributes decide or CH)
	def      domain.PlatformDefault // default when attributes decide
	inferred domain.Channel         // inferred channel without attributes
}

func specTable() []specRow {
	const (
		P  = domain.ChannelPush
		E  = domain.ChannelEmail
		S  = domain.ChannelSMS
		W  = domain.ChannelWhatsApp
		IA = domain.ChannelInApp
		OS = domain.ChannelOnSite
		CA = domain.ChannelCards
		CO = domain.ChannelConnectors
		FB = domain.ChannelFacebook
		GA = domain.ChannelGoogleAds

		and = "android"
		ios = "ios"
		web = "web"
		win = "windows"

		dA = domain.DefaultAndroid
		dW = domain.DefaultWeb
		dU = domain.DefaultUnknown
		dS = domain.DefaultInAppOrOnSite
	)
	c := func(codes, names string, ch domain.Channel, counter domain.Counter, class domain.InteractionClass,
		platform string, def domain.PlatformDefault) specRow {
		return specRow{codes: list(codes), names: list(names), campaign: true, channels: channelsOf(ch),
			counter: counter, class: class, platform: platform, def: def, inferred: ch}
	}
	shared := func(codes, names string, counter domain.Counter, class domain.InteractionClass) specRow {
		return specRow{codes: list(codes), names: list(names), campaign: true, channels: channelsOf(IA, OS),
			counter: counter, class: class, def: dS, inferred: IA}
	}
	cg := func(codes, names string) specRow {
		return specRow{codes: list(codes), names: list(names), campaign: true, channels: domain.AllChannelsSet(),
			counter: domain.CounterHeldOutCampaign, class: domain.ClassHeldOut, def: dU}
	}
	u := func(codes, names string) specRow { return specRow{codes: list(codes), names: list(names)} }
	const (
		none  = domain.CounterNone
		sent  = domain.CounterSent
		imp   = domain.CounterImpression
		click = domain.CounterClick
		fs    = domain.CounterFailedSend
		fd    = domain.CounterFailedDelivery
		dl    = domain.CounterDelivered
		op    = domain.CounterOpened
		rd    = domain.CounterRead
		hb    = domain.CounterHardBounce
		sb    = domain.CounterSoftBounce
		un    = domain.CounterUnsubscribe
		cp    = domain.CounterComplaint
		cc    = domain.CounterClosedClick
		sy    = domain.CounterSynced
		xN    = domain.ClassNone
		xS    = domain.ClassSend
		xV    = domain.ClassView
		xK    = domain.ClassClick
	)
	return []specRow{
		c("n_i_s", "Notification Sent iOS", P, sent, xS, ios, dU),
		c("", "Notification Sent Android", P, sent, xS, and, dU),
		c("", "Notification Sent Web", P, sent, xS, web, dU),
		c("", "Notification Sent Windows", P, sent, xS, win, dU),
		c("NOTIFICATION_RECEIVED_MOE", "Notification Received Android", P, imp, xV, "", dA),
		c("NOTIFICATION_RECEIVED_IOS_MOE", "Notification Received iOS", P, imp, xV, ios, dU),
		c("NOTIFICATION_RECEIVED_IOS_APP_ACTIVE", "Notification Received iOS App Active", P, imp, xV, ios, dU),
		c("NOTIFICATION_RECEIVED_WEB_MOE", "Notification Received Web", P, imp, xV, web, dU),
		c("MOE_NOTIFICATION_SHOWN", "", P, imp, xV, "", dA),
		c("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", P, click, xK, and, dU),
		c("NOTIFICATION_CLICKED_IOS_MOE", "Notification Clicked iOS", P, click, xK, ios, dU),
		c("NOTIFICATION_CLICKED_WEB_MOE", "Notification Clicked Web", P, click, xK, web, dU),
		c("NOTIFICATION_CLICKED_WINDOWS_MOE", "Notification Clicked Windows", P, click, xK, win, dU),
		c("NOTIFICATION_CLEARED_MOE", "Notification Swiped Android", P, none, xN, and, dU),
		c("NOTIFICATION_DISMISSED_IOS_MOE", "Notification Dismissed iOS", P, none, xN, ios, dU),
		c("", "Notification Failed Android", P, fs, xN, and, dU),
		c("", "Notification Failed iOS", P, fs, xN, ios, dU),
		c("", "Notification Failed Web", P, fs, xN, web, dU),
		c("", "Notification Dropped", P, fs, xN, "", dU),
		c("MOE_EMAIL_SENT", "Email Sent", E, sent, xS, "", dU),
		c("MOE_EMAIL_DELIVERED", "Email Delivered", E, dl, xV, "", dU),
		c("MOE_EMAIL_DEFERRED", "Email Deferred", E, none, xN, "", dU),
		c("MOE_EMAIL_DROP", "Email Dropped", E, fs, xN, "", dU),
		c("MOE_EMAIL_DROPPED_UNSUBSCRIBE", "Email Unsubscribe Drop; ESP Dropped Request", E, fs, xN, "", dU),
		c("MOE_EMAIL_HARD_BOUNCE", "Email Bounced; Email Hard Bounced", E, hb, xN, "", dU),
		c("MOE_EMAIL_SOFT_BOUNCE", "Email Soft Bounced", E, sb, xN, "", dU),
		c("MOE_EMAIL_OPEN", "Email Opened", E, op, xV, "", dU),
		c("MOE_EMAIL_CLICK", "Email Clicked", E, click, xK, "", dU),
		c("MOE_EMAIL_UNSUBSCRIBE", "Email Unsubscribed", E, un, xN, "", dU),
		c("MOE_EMAIL_SPAM", "Email Spam Complained; Email Complained", E, cp, xN, "", dU),
		c("MOE_EMAIL_VIB", "Email Viewed in Browser", E, none, xN, "", dU),
		c("MOE_EMAIL_SUBSCRIPTION_UPDATED", "Email Subscription Category Updated", E, none, xN, "", dU),
		c("SMS_SENT", "SMS Sent", S, sent, xS, "", dU),
		c("SMS_DELIVERED", "SMS Delivered", S, dl, xV, "", dU),
		c("MOE_SMS_DELIVERY_FAILED", "SMS Delivery Failed", S, fd, xN, "", dU),
		c("MOE_SMS_CLICKED", "SMS Clicked", S, click, xK, "", dU),
		c("MOE_WHATSAPP_SENT", "WhatsApp Message Sent", W, sent, xS, "", dU),
		c("MOE_WHATSAPP_DELIVERED", "WhatsApp Message Delivered", W, dl, xV, "", dU),
		c("MOE_WHATSAPP_DELIVERY_FAILED", "WhatsApp Message Delivery Failed", W, fd, xN, "", dU),
		c("MOE_WHATSAPP_READ", "WhatsApp Message Read", W, rd, xV, "", dU),
		c("MOE_WHATSAPP_CLICKED", "WhatsApp Message Clicked", W, click, xK, "", dU),
		shared("MOE_IN_APP_SHOWN", "Mobile In-App Shown; In-App Shown Android; Onsite Message Template shown", imp, xV),
		c("iOS_IN_APP_SHOWN", "In-App Shown iOS", IA, imp, xV, ios, dU),
		c("WINDOWS_IN_APP_SHOWN", "In-App Shown Windows", IA, imp, xV, win, dU),
		shared("MOE_IN_APP_CLICKED", "Mobile In-App Clicked; In-App Clicked Android", click, xK),
		c("iOS_IN_APP_CLICKED", "In-App Clicked iOS", IA, click, xK, ios, dU),
		c("WINDOWS_IN_APP_CLICKED", "In-App Clicked Windows", IA, click, xK, win, dU),
		shared("MOE_IN_APP_DISMISSED", "Mobile In-App Closed; In-App Closed Android", cc, xN),
		c("iOS_IN_APP_CLOSE_CLICKED", "In-App Closed iOS", IA, cc, xN, ios, dU),
		c("WINDOWS_IN_APP_CLOSE_CLICKED", "In-App Closed Windows", IA, cc, xN, win, dU),
		c("MOE_IN_APP_AUTO_DISMISS", "Mobile In-App Auto Dismissed", IA, none, xN, "", dA),
		c("MOE_ONSITE_MESSAGE_SHOWN", "On-site Message Shown", OS, imp, xV, "", dW),
		c("MOE_ONSITE_MESSAGE_CLICKED", "On-site Message Clicked", OS, click, xK, "", dW),
		c("MOE_ONSITE_MESSAGE_DISMISSED", "On-site Message Closed", OS, cc, xN, "", dW),
		c("", "On-site Message auto Dismissed", OS, none, xN, "", dW),
		c("MOE_WEBP_MESSAGE_SHOWN", "Web Personalization Message Shown", OS, imp, xV, "", dW),
		c("MOE_WEBP_MESSAGE_CLICKED", "Web Personalization Message Clicked", OS, click, xK, "", dW),
		c("MOE_WEBP_MESSAGE_DISMISSED", "Web Personalization Message Closed", OS, cc, xN, "", dW),
		c("MOE_WEBP_MESSAGE_DELIVERED", "Web Personalization Message Delivered", OS, none, xN, "", dW),
		c("MOE_CARD_SENT", "Card Sent", CA, sent, xS, "", dU),
		c("MOE_CARD_DELIVERED", "Card Delivered", CA, dl, xV, "", dU),
		c("MOE_CARD_VIEWED", "Card Viewed", CA, imp, xV, "", dU),
		c("MOE_CARD_IMPRESSION", "", CA, imp, xV, "", dU),
		c("MOE_CARD_CLICKED", "Card Clicked", CA, click, xK, "", dU),
		c("MOE_CONNECTOR_SENT", "Connector Sent", CO, sent, xS, "", dU),
		c("WEBHOOK_SENT", "", CO, sent, xS, "", dU),
		c("MOE_FB_AUDIENCE_SYNC", "Facebook Audience Synced", FB, sy, xS, "", dU),
		c("MOE_GOOGLE_ADS_AUDIENCE_SYNC", "Google Ads Audience Synced", GA, sy, xS, "", dU),
		cg("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "User removed from campaign due to control group"),
		cg("MOE_CAMPAIGN_CONTROL_GROUP", "User Added to Control Group"),
		u("MOE_USER_REMOVED_FROM_CONTROL_GROUP", "User removed from control group"),
		u("USER_ENTERED_FLOW; USER_EXITED_FLOW", "User Entered Flow; User Exited Flow"),
		u("", "SMS Keyword Received; SMS Keyword Response Sent; Offering Sent"),
	}
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkRow compares an accepted event with the SPEC row.
func checkRow(t *testing.T, label string, e *domain.Event, r specRow) {
	t.Helper()
	if e.Campaign != r.campaign {
		t.Fatalf("%s: Campaign = %v, want %v", label, e.Campaign, r.campaign)
	}
	if !r.campaign {
		if e.CampaignID != "" || e.Counter != domain.CounterNone || e.Channels != 0 {
			t.Errorf("%s: user event carries campaign fields: %+v", label, e)
		}
		return
	}
	if e.Channels != r.channels {
		t.Errorf("%s: Channels = %b, want %b", label, e.Channels, r.channels)
	}
	if e.Counter != r.counter {
		t.Errorf("%s: Counter = %d, want %d", label, e.Counter, r.counter)
	}
	if e.Class != r.class {
		t.Errorf("%s: Class = %d, want %d", label, e.Class, r.class)
	}
	if e.Platform != r.platform {
		t.Errorf("%s: Platform = %q, want %q", label, e.Platform, r.platform)
	}
	if e.PlatformDefault != r.def {
		t.Errorf("%s: PlatformDefault = %d, want %d", label, e.PlatformDefault, r.def)
	}
	if e.InferredChannel != r.inferred {
		t.Errorf("%s: InferredChannel = %q, want %q", label, e.InferredChannel, r.inferred)
	}
	if e.CampaignID != "cmp-1" {
		t.Errorf("%s: CampaignID = %q", label, e.CampaignID)
	}
}

// TestEventCodeTable checks every §4.2 row by each of its codes and accepted names, exactly, in other cases and
// with white space (§4.1).
func TestEventCodeTable(t *testing.T) {
	for _, r := range specTable() {
		for _, code := range r.codes {
			variants := []string{code, strings.ToLower(code), strings.ToUpper(code), swapCase(code),
				" " + code + "\t", code[:len(code)/2] + " \t\n" + code[len(code)/2:]}
			for _, v := range variants {
				e := accepted(t, ev(base(v, "", "cmp-1", nil)))
				checkRow(t, "code "+jsonQuote(v), e, r)
				if e.Code != v {
					t.Errorf("code %q: Code = %q, want it exactly as received", v, e.Code)
				}
			}
		}
		for _, name := range r.names {
			variants := []string{name, strings.ToLower(name), strings.ToUpper(name), swapCase(name),
				"  " + name + " ", strings.ReplaceAll(name, " ", " \t  ")}
			for _, v := range variants {
				e := accepted(t, ev(base("", v, "cmp-1", nil)))
				checkRow(t, "name "+jsonQuote(v), e, r)
				if e.Name != v {
					t.Errorf("name %q: Name = %q, want it exactly as received (goals match action names exactly)", v, e.Name)
				}
				// An unknown code does not stop the name lookup.
				e = accepted(t, ev(base("MOE_APP_OPENED", v, "cmp-1", nil)))
				checkRow(t, "unknown code + name "+jsonQuote(v), e, r)
			}
		}
	}
}

func TestLookupCodeWinsOverName(t *testing.T) {
	// A known code decides even when the name names another row.
	e := accepted(t, ev(base("MOE_EMAIL_SENT", "Notification Clicked Android", "cmp-1", nil)))
	if e.Counter != domain.CounterSent || e.Channels != channelsOf(domain.ChannelEmail) {
		t.Errorf("code did not win: %+v", e)
	}
}

func TestUnknownCodesAreUserEvents(t *testing.T) {
	for _, code := range []string{"MOE_APP_OPENED", "MOE_PAGE_VIEWED", "INSTALL", "Purchase", "MOE EMAIL SENTX"} {
		e := accepted(t, ev(base(code, "", "cmp-1", nil)))
		if e.Campaign {
			t.Errorf("%s: Campaign = true", code)
		}
		if e.Code != code {
			t.Errorf("%s: Code = %q", code, e.Code)
		}
	}
	// Unknown name without code.
	e := accepted(t, ev(base("", "Order Placed", "", nil)))
	if e.Campaign || e.Name != "Order Placed" || e.Code != "" {
		t.Errorf("user event: %+v", e)
	}
	// Name lookup is not a substring or whitespace-free match.
	e = accepted(t, ev(base("", "EmailSent", "cmp-1", nil)))
	if e.Campaign {
		t.Errorf("EmailSent matched a row")
	}
}

func TestLookupExported(t *testing.T) {
	m, ok := Lookup(" moe_email_open ", "")
	if !ok || !m.Campaign || m.Counter != domain.CounterOpened || m.Channel() != domain.ChannelEmail {
		t.Errorf("Lookup(moe_email_open) = %+v, %v", m, ok)
	}
	if _, ok := Lookup("MOE_APP_OPENED", "App Opened"); ok {
		t.Errorf("unknown code found")
	}
	m, ok = Lookup("", "user entered   flow")
	if !ok || m.Campaign {
		t.Errorf("kind U row: %+v %v", m, ok)
	}
	if len(EventCodeTable()) != len(specTable()) {
		t.Errorf("table has %d rows, SPEC has %d", len(EventCodeTable()), len(specTable()))
	}
}

// TestUnicodeCaseFolding: "ignoring case" is Unicode case folding (ſ folds to s, K (Kelvin) to k).
func TestUnicodeCaseFolding(t *testing.T) {
	e := accepted(t, ev(base("MOE_EMAIL_ſENT", "", "cmp-1", nil)))
	if !e.Campaign || e.Counter != domain.CounterSent {
		t.Errorf("folded code not matched: %+v", e)
	}
	if e.Code != "MOE_EMAIL_ſENT" {
		t.Errorf("Code = %q", e.Code)
	}
	e = accepted(t, ev(base("", "Email\u00a0Sent", "cmp-1", nil))) // NBSP is white space
	if !e.Campaign {
		t.Errorf("NBSP not collapsed")
	}
}
