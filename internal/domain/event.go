package domain

import "encoding/json"

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

// Platform keys of device channels (SPEC §4.4).
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
	PlatformWeb     = "web"
	PlatformWindows = "windows"
	PlatformUnknown = "unknown"
)

// Variation keys with a fixed meaning (SPEC §2.6, §5.8).
const (
	AllLocales           = "all_locales"
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
	UserKey  string // namespaced user key (SPEC §2.8)

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
