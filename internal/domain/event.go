package domain

import (
	"encoding/json"
	"strings"
)

// Counter is the stored counter an event feeds (SPEC §4.2, §4.3).
type Counter uint8

// Stored counters. CounterFailedSend is a failed-to-send event (push failures, email drops): it feeds `failed` and
// `attempted`. CounterFailedDelivery (SMS, WhatsApp delivery failures) feeds `failed` only.
const (
	CounterNone Counter = iota
	CounterSent
	CounterImpression
	CounterClick
	CounterFailedSend
	CounterFailedDelivery
	CounterDelivered
	CounterOpened
	CounterRead
	CounterHardBounce
	CounterSoftBounce
	CounterUnsubscribe
	CounterComplaint
	CounterClosedClick
	CounterSynced
	CounterHeldOutCampaign
	CounterHeldOutGlobal
)

// InteractionClass is an event's class for attribution (SPEC §4.2, §6.1). Its numeric value for send, view and
// click is the interaction depth.
type InteractionClass uint8

// Interaction classes.
const (
	ClassNone    InteractionClass = 0
	ClassSend    InteractionClass = 1
	ClassView    InteractionClass = 2
	ClassClick   InteractionClass = 3
	ClassHeldOut InteractionClass = 4
)

// PlatformDefault says which platform an event falls back to when neither its code nor its attributes fix one
// (SPEC §4.2 "attr→x", §4.4).
type PlatformDefault uint8

// Platform defaults.
const (
	DefaultUnknown PlatformDefault = iota
	DefaultAndroid
	DefaultWeb
	// DefaultInAppOrOnSite is the default of codes shared by IN_APP and ON_SITE: android for IN_APP, web for ON_SITE.
	DefaultInAppOrOnSite
)

// Platform keys of device channels as stored (SPEC §4.4); responses write them upper-case (PlatformKey).
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
	PlatformWeb     = "web"
	PlatformWindows = "windows"
	PlatformUnknown = "unknown"
)

// PlatformKey returns the response key of a stored platform (SPEC §13.1): the upper-case device platform
// (ANDROID, IOS, WEB, WINDOWS, UNKNOWN). ok is false for anything else, such as the channel name that
// ResolvePlatform gives for channels without device platforms: those events count only in AllPlatforms.
func PlatformKey(stored string) (string, bool) {
	switch stored {
	case PlatformAndroid, PlatformIOS, PlatformWeb, PlatformWindows, PlatformUnknown:
		return strings.ToUpper(stored), true
	}
	return "", false
}

// Aggregate and fixed node keys (SPEC §2.6, §5.8, §13.1).
const (
	// AllPlatforms is the platform key of the node over every platform, listed first.
	AllPlatforms = "ALL_PLATFORMS"
	// AllLocales is the locale key of the node over every locale, listed first.
	AllLocales = "all_locale"
	// LegacyAllLocales is the aggregate locale key of the published samples (SPEC §1.3): never emitted, and
	// treated as absent on input like AllLocales.
	LegacyAllLocales     = "all_locales"
	AllVariations        = "all_variations"
	CampaignControlGroup = "campaign_control_group"
	GlobalControlGroup   = "global_control_group"
)

// Failure-breakdown keys of held-out events (SPEC §4.6, MoEngage's spelling kept).
const (
	FailureKeyCampaignControlGroup = "user_removed_due_to_campaing_control_group"
	FailureKeyGlobalControlGroup   = "user_removed_due_to_global_control_group"
)

// Event is one accepted event in its stored form: everything the metric engine and attribution need, derived once
// at ingest from the event as received.
type Event struct {
	UUID   string
	TimeMS int64 // event_time, Unix milliseconds
	// Campaign is true for kind-C events (SPEC §2.7); false for user events.
	Campaign bool
	Code     string // event_code exactly as received, may be empty
	Name     string // event_name (Streams) or action (Track/Bulk) exactly as received, may be empty
	UserKey  string // namespaced user key (SPEC §2.8); not stored (events read back carry only User)
	User     UserID // HashUser(UserKey); stores fill it in from UserKey when it is zero

	// Campaign events only.
	CampaignID       string
	ParentCampaignID string // "" when absent or equal to CampaignID
	Channels         ChannelSet
	Counter          Counter
	Class            InteractionClass
	Platform         string // fixed platform of the code, else the attribute platform, else ""
	PlatformDefault  PlatformDefault
	Locale           string // "" when absent
	Variation        string // "" when absent; control-group key for held-out events
	FailureKey       string // failure_breakdown key for failure and held-out events

	// Inference inputs (SPEC §3.14); zero values mean "this event yields no value".
	CampaignName    string
	InferredChannel Channel
	DeliveryType    DeliveryType
	Tags            []string
	HasTags         bool

	// Attributes is the event's attribute object (event_attributes for Streams, attributes for Track/Bulk),
	// kept for goal filters and revenue. nil when absent.
	Attributes json.RawMessage
	// Source says where the event came from: "streams", "track" or "bulk".
	Source string
}

// PlatformFor returns the event's platform key when its campaign's effective channel is ch (SPEC §4.4).
func (e *Event) PlatformFor(ch Channel) string {
	return ResolvePlatform(ch, e.Platform, e.PlatformDefault)
}

// ResolvePlatform applies SPEC §4.4 to a stored platform and default under channel ch.
func ResolvePlatform(ch Channel, platform string, def PlatformDefault) string {
	if ch.PlatformIsChannel() {
		return string(ch)
	}
	if platform != "" {
		return platform
	}
	switch def {
	case DefaultAndroid:
		return PlatformAndroid
	case DefaultWeb:
		return PlatformWeb
	case DefaultInAppOrOnSite:
		if ch == ChannelOnSite {
			return PlatformWeb
		}
		return PlatformAndroid
	}
	return PlatformUnknown
}

// FeedsChannel reports whether the event feeds counters of a campaign whose effective channel is ch (SPEC §4.1).
func (e *Event) FeedsChannel(ch Channel) bool { return e.Channels.Has(ch) }
