package ingest

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Mapping is the SPEC §4.2 row an event maps to.
type Mapping struct {
	// Codes and Names are the row's codes and accepted event names (either may be empty).
	Codes []string
	Names []string
	// Campaign is true for kind-C rows. MOE_CAMPAIGN_CONTROL_GROUP is kind C here; it is a user event only when it
	// has no campaign_id (decided by the decoder).
	Campaign bool
	// Channels is the row's channel set (every channel for control-group rows); 0 for kind-U rows.
	Channels domain.ChannelSet
	Counter  domain.Counter
	Class    domain.InteractionClass
	// Platform is the platform fixed by the code ("" when attributes decide or the key is the channel name).
	Platform string
	// Default is the platform default when attributes decide (§4.4).
	Default domain.PlatformDefault
	// Shared is true for codes shared by IN_APP and ON_SITE.
	Shared bool
	// PushFailure marks push Failed / Dropped rows (failed to send, or held out with reason 203 / 204).
	PushFailure bool
	// Failure marks rows whose events carry a failure_breakdown key (§4.6).
	Failure bool
	// ControlGroup marks the control-group rows of §4.7.
	ControlGroup bool

	single                domain.Channel // the row's only channel ("" for shared, control-group and user rows)
	userWithoutCampaignID bool           // MOE_CAMPAIGN_CONTROL_GROUP: a user event when it has no campaign_id
}

// Channel returns the row's single channel, or "" for shared, control-group and user rows.
func (m *Mapping) Channel() domain.Channel { return m.single }

// platform spellings of the §4.2 table.
const (
	pAndroid = domain.PlatformAndroid
	pIOS     = domain.PlatformIOS
	pWeb     = domain.PlatformWeb
	pWindows = domain.PlatformWindows
)

// rowKind selects the defaults of a row constructor.
type rowOpt func(*Mapping)

func fixed(p string) rowOpt { return func(m *Mapping) { m.Platform = p } }
func attrDefault(d domain.PlatformDefault) rowOpt {
	return func(m *Mapping) { m.Default = d }
}

var (
	attrAndroid = attrDefault(domain.DefaultAndroid)
	attrWeb     = attrDefault(domain.DefaultWeb)
	attrOnly    = attrDefault(domain.DefaultUnknown)
	sharedInApp = func(m *Mapping) {
		m.Shared = true
		m.Default = domain.DefaultInAppOrOnSite
		m.Channels = domain.ChannelSetOf(domain.ChannelInApp, domain.ChannelOnSite)
	}
	failure     = func(m *Mapping) { m.Failure = true }
	pushFailure = func(m *Mapping) { m.Failure, m.PushFailure = true, true }
)

// codes and names are given as ";"-separated lists, as in the SPEC table.
func crow(codes, names string, ch domain.Channel, counter domain.Counter, class domain.InteractionClass,
	opts ...rowOpt) Mapping {
	m := Mapping{Codes: splitList(codes), Names: splitList(names), Campaign: true,
		Channels: domain.ChannelSetOf(ch), Counter: counter, Class: class}
	for _, o := range opts {
		o(&m)
	}
	if !m.Shared {
		m.single = ch
	}
	return m
}

func urow(codes, names string) Mapping {
	return Mapping{Codes: splitList(codes), Names: splitList(names)}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// eventCodeTable is SPEC §4.2, row by row.
func eventCodeTable() []Mapping {
	const (
		push   = domain.ChannelPush
		email  = domain.ChannelEmail
		sms    = domain.ChannelSMS
		wa     = domain.ChannelWhatsApp
		inapp  = domain.ChannelInApp
		onsite = domain.ChannelOnSite
		cards  = domain.ChannelCards
		conn   = domain.ChannelConnectors
		fb     = domain.ChannelFacebook
		gads   = domain.ChannelGoogleAds

		none        = domain.CounterNone
		sent        = domain.CounterSent
		impression  = domain.CounterImpression
		click       = domain.CounterClick
		failedSend  = domain.CounterFailedSend
		failedDeliv = domain.CounterFailedDelivery
		delivered   = domain.CounterDelivered
		opened      = domain.CounterOpened
		read        = domain.CounterRead
		hardBounce  = domain.CounterHardBounce
		softBounce  = domain.CounterSoftBounce
		unsubscribe = domain.CounterUnsubscribe
		complaint   = domain.CounterComplaint
		closedClick = domain.CounterClosedClick
		synced      = domain.CounterSynced

		cN = domain.ClassNone
		cS = domain.ClassSend
		cV = domain.ClassView
		cK = domain.ClassClick
	)
	controlGroup := func(codes, names string) Mapping {
		return Mapping{Codes: splitList(codes), Names: splitList(names), Campaign: true,
			Channels: domain.AllChannelsSet(), Counter: domain.CounterHeldOutCampaign, Class: domain.ClassHeldOut,
			Default: domain.DefaultUnknown, ControlGroup: true}
	}
	return []Mapping{
		crow("n_i_s", "Notification Sent iOS", push, sent, cS, fixed(pIOS)),
		crow("", "Notification Sent Android", push, sent, cS, fixed(pAndroid)),
		crow("", "Notification Sent Web", push, sent, cS, fixed(pWeb)),
		crow("", "Notification Sent Windows", push, sent, cS, fixed(pWindows)),
		crow("NOTIFICATION_RECEIVED_MOE", "Notification Received Android", push, impression, cV, attrAndroid),
		crow("NOTIFICATION_RECEIVED_IOS_MOE", "Notification Received iOS", push, impression, cV, fixed(pIOS)),
		crow("NOTIFICATION_RECEIVED_IOS_APP_ACTIVE", "Notification Received iOS App Active", push, impression, cV, fixed(pIOS)),
		crow("NOTIFICATION_RECEIVED_WEB_MOE", "Notification Received Web", push, impression, cV, fixed(pWeb)),
		crow("MOE_NOTIFICATION_SHOWN", "", push, impression, cV, attrAndroid),
		crow("NOTIFICATION_CLICKED_MOE", "Notification Clicked Android", push, click, cK, fixed(pAndroid)),
		crow("NOTIFICATION_CLICKED_IOS_MOE", "Notification Clicked iOS", push, click, cK, fixed(pIOS)),
		crow("NOTIFICATION_CLICKED_WEB_MOE", "Notification Clicked Web", push, click, cK, fixed(pWeb)),
		crow("NOTIFICATION_CLICKED_WINDOWS_MOE", "Notification Clicked Windows", push, click, cK, fixed(pWindows)),
		crow("NOTIFICATION_CLEARED_MOE", "Notification Swiped Android", push, none, cN, fixed(pAndroid)),
		crow("NOTIFICATION_DISMISSED_IOS_MOE", "Notification Dismissed iOS", push, none, cN, fixed(pIOS)),
		crow("", "Notification Failed Android", push, failedSend, cN, fixed(pAndroid), pushFailure),
		crow("", "Notification Failed iOS", push, failedSend, cN, fixed(pIOS), pushFailure),
		crow("", "Notification Failed Web", push, failedSend, cN, fixed(pWeb), pushFailure),
		crow("", "Notification Dropped", push, failedSend, cN, attrOnly, pushFailure),

		crow("MOE_EMAIL_SENT", "Email Sent", email, sent, cS),
		crow("MOE_EMAIL_DELIVERED", "Email Delivered", email, delivered, cV),
		crow("MOE_EMAIL_DEFERRED", "Email Deferred", email, none, cN),
		crow("MOE_EMAIL_DROP", "Email Dropped", email, failedSend, cN, failure),
		crow("MOE_EMAIL_DROPPED_UNSUBSCRIBE", "Email Unsubscribe Drop; ESP Dropped Request", email, failedSend, cN, failure),
		crow("MOE_EMAIL_HARD_BOUNCE", "Email Bounced; Email Hard Bounced", email, hardBounce, cN),
		crow("MOE_EMAIL_SOFT_BOUNCE", "Email Soft Bounced", email, softBounce, cN),
		crow("MOE_EMAIL_OPEN", "Email Opened", email, opened, cV),
		crow("MOE_EMAIL_CLICK", "Email Clicked", email, click, cK),
		crow("MOE_EMAIL_UNSUBSCRIBE", "Email Unsubscribed", email, unsubscribe, cN),
		crow("MOE_EMAIL_SPAM", "Email Spam Complained; Email Complained", email, complaint, cN),
		crow("MOE_EMAIL_VIB", "Email Viewed in Browser", email, none, cN),
		crow("MOE_EMAIL_SUBSCRIPTION_UPDATED", "Email Subscription Category Updated", email, none, cN),

		crow("SMS_SENT", "SMS Sent", sms, sent, cS),
		crow("SMS_DELIVERED", "SMS Delivered", sms, delivered, cV),
		crow("MOE_SMS_DELIVERY_FAILED", "SMS Delivery Failed", sms, failedDeliv, cN, failure),
		crow("MOE_SMS_CLICKED", "SMS Clicked", sms, click, cK),

		crow("MOE_WHATSAPP_SENT", "WhatsApp Message Sent", wa, sent, cS),
		crow("MOE_WHATSAPP_DELIVERED", "WhatsApp Message Delivered", wa, delivered, cV),
		crow("MOE_WHATSAPP_DELIVERY_FAILED", "WhatsApp Message Delivery Failed", wa, failedDeliv, cN, failure),
		crow("MOE_WHATSAPP_READ", "WhatsApp Message Read", wa, read, cV),
		crow("MOE_WHATSAPP_CLICKED", "WhatsApp Message Clicked", wa, click, cK),

		crow("MOE_IN_APP_SHOWN", "Mobile In-App Shown; In-App Shown Android; Onsite Message Template shown", inapp, impression, cV, sharedInApp),
		crow("iOS_IN_APP_SHOWN", "In-App Shown iOS", inapp, impression, cV, fixed(pIOS)),
		crow("WINDOWS_IN_APP_SHOWN", "In-App Shown Windows", inapp, impression, cV, fixed(pWindows)),
		crow("MOE_IN_APP_CLICKED", "Mobile In-App Clicked; In-App Clicked Android", inapp, click, cK, sharedInApp),
		crow("iOS_IN_APP_CLICKED", "In-App Clicked iOS", inapp, click, cK, fixed(pIOS)),
		crow("WINDOWS_IN_APP_CLICKED", "In-App Clicked Windows", inapp, click, cK, fixed(pWindows)),
		crow("MOE_IN_APP_DISMISSED", "Mobile In-App Closed; In-App Closed Android", inapp, closedClick, cN, sharedInApp),
		crow("iOS_IN_APP_CLOSE_CLICKED", "In-App Closed iOS", inapp, closedClick, cN, fixed(pIOS)),
		crow("WINDOWS_IN_APP_CLOSE_CLICKED", "In-App Closed Windows", inapp, closedClick, cN, fixed(pWindows)),
		crow("MOE_IN_APP_AUTO_DISMISS", "Mobile In-App Auto Dismissed", inapp, none, cN, attrAndroid),

		crow("MOE_ONSITE_MESSAGE_SHOWN", "On-site Message Shown", onsite, impression, cV, attrWeb),
		crow("MOE_ONSITE_MESSAGE_CLICKED", "On-site Message Clicked", onsite, click, cK, attrWeb),
		crow("MOE_ONSITE_MESSAGE_DISMISSED", "On-site Message Closed", onsite, closedClick, cN, attrWeb),
		crow("", "On-site Message auto Dismissed", onsite, none, cN, attrWeb),
		crow("MOE_WEBP_MESSAGE_SHOWN", "Web Personalization Message Shown", onsite, impression, cV, attrWeb),
		crow("MOE_WEBP_MESSAGE_CLICKED", "Web Personalization Message Clicked", onsite, click, cK, attrWeb),
		crow("MOE_WEBP_MESSAGE_DISMISSED", "Web Personalization Message Closed", onsite, closedClick, cN, attrWeb),
		crow("MOE_WEBP_MESSAGE_DELIVERED", "Web Personalization Message Delivered", onsite, none, cN, attrWeb),

		crow("MOE_CARD_SENT", "Card Sent", cards, sent, cS, attrOnly),
		crow("MOE_CARD_DELIVERED", "Card Delivered", cards, delivered, cV, attrOnly),
		crow("MOE_CARD_VIEWED", "Card Viewed", cards, impression, cV, attrOnly),
		crow("MOE_CARD_IMPRESSION", "", cards, impression, cV, attrOnly),
		crow("MOE_CARD_CLICKED", "Card Clicked", cards, click, cK, attrOnly),

		crow("MOE_CONNECTOR_SENT", "Connector Sent", conn, sent, cS),
		crow("WEBHOOK_SENT", "", conn, sent, cS),
		crow("MOE_FB_AUDIENCE_SYNC", "Facebook Audience Synced", fb, synced, cS),
		crow("MOE_GOOGLE_ADS_AUDIENCE_SYNC", "Google Ads Audience Synced", gads, synced, cS),

		controlGroup("MOE_CAMPAIGN_USER_REMOVED_DUE_TO_CONTROL_GROUP", "User removed from campaign due to control group"),
		withUserFallback(controlGroup(codeControlGroup, "User Added to Control Group")),

		urow("MOE_USER_REMOVED_FROM_CONTROL_GROUP", "User removed from control group"),
		urow("USER_ENTERED_FLOW; USER_EXITED_FLOW", "User Entered Flow; User Exited Flow"),
		urow("", "SMS Keyword Received; SMS Keyword Response Sent; Offering Sent"),
	}
}

func withUserFallback(m Mapping) Mapping { m.userWithoutCampaignID = true; return m }

// codeControlGroup is the control-group code that is a user event when it has no campaign_id (SPEC §3.3).
const codeControlGroup = "MOE_CAMPAIGN_CONTROL_GROUP"

// codeTables are the lookup maps of §4.1, built once.
type codeTables struct {
	rows       []Mapping
	byCode     map[string]*Mapping // exact code
	byCodeFold map[string]*Mapping // case-folded code
	byNameFold map[string]*Mapping // case-folded, whitespace-collapsed name
}

var lookupTables = sync.OnceValue(func() *codeTables {
	t := &codeTables{rows: eventCodeTable(), byCode: map[string]*Mapping{}, byCodeFold: map[string]*Mapping{},
		byNameFold: map[string]*Mapping{}}
	for i := range t.rows {
		m := &t.rows[i]
		for _, c := range m.Codes {
			t.byCode[c] = m
			t.byCodeFold[string(foldCode(nil, []byte(c)))] = m
		}
		for _, n := range m.Names {
			t.byNameFold[string(foldName(nil, []byte(n)))] = m
		}
	}
	return t
})

// foldRune maps r to the smallest rune of its simple case-folding orbit, so two strings are equal ignoring case
// (strings.EqualFold) exactly when their folded forms are equal.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// foldCode appends code with all white space removed and case folded.
func foldCode(dst, code []byte) []byte {
	if isASCII(code) {
		for _, c := range code {
			if isASCIISpace(c) {
				continue
			}
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	for _, r := range string(code) {
		if unicode.IsSpace(r) {
			continue
		}
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

// stripSpace returns code with all white space removed (code itself when it has none).
func stripSpace(code []byte) []byte {
	has := false
	if isASCII(code) {
		for _, c := range code {
			if isASCIISpace(c) {
				has = true
				break
			}
		}
	} else {
		has = true // rare: take the slow path
	}
	if !has {
		return code
	}
	var out []byte
	for _, r := range string(code) {
		if !unicode.IsSpace(r) {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// foldName appends name trimmed, with inner white-space runs collapsed to one space, case folded.
func foldName(dst, name []byte) []byte {
	space := false
	start := len(dst)
	if isASCII(name) {
		for _, c := range name {
			if isASCIISpace(c) {
				space = true
				continue
			}
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	for _, r := range string(name) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

// lookup finds the §4.2 row of an event per §4.1: event_code (white space removed) exactly, then ignoring case;
// else event_name (trimmed, white space collapsed) ignoring case. nil means unknown code (user event).
func (t *codeTables) lookup(code, name []byte) *Mapping {
	if len(code) > 0 {
		c := stripSpace(code)
		if m, ok := t.byCode[string(c)]; ok {
			return m
		}
		var buf [64]byte
		if m, ok := t.byCodeFold[string(foldCode(buf[:0], c))]; ok {
			return m
		}
	}
	if len(name) > 0 {
		var buf [96]byte
		if m, ok := t.byNameFold[string(foldName(buf[:0], name))]; ok {
			return m
		}
	}
	return nil
}

// Lookup finds the SPEC §4.2 row of an event from its event_code and event_name per §4.1. ok is false for
// unknown codes (user events). Kind-U rows are returned with Campaign false.
func Lookup(code, name string) (Mapping, bool) {
	m := lookupTables().lookup([]byte(code), []byte(name))
	if m == nil {
		return Mapping{}, false
	}
	return *m, true
}

// EventCodeTable returns a copy of the SPEC §4.2 rows in table order.
func EventCodeTable() []Mapping { return eventCodeTable() }
