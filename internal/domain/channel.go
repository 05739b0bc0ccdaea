// Package domain holds the nouns of campaignstats — workspaces, campaigns, events, stats queries — and the
// typed errors shared by every layer. It imports nothing of the project's own.
package domain

import "strings"

// Channel is a campaign channel (SPEC §2.10).
type Channel string

// The channels of SPEC §2.10, in report order.
const (
	ChannelPush       Channel = "PUSH"
	ChannelEmail      Channel = "EMAIL"
	ChannelSMS        Channel = "SMS"
	ChannelWhatsApp   Channel = "WHATSAPP"
	ChannelInApp      Channel = "IN_APP"
	ChannelOnSite     Channel = "ON_SITE"
	ChannelCards      Channel = "CARDS"
	ChannelConnectors Channel = "CONNECTORS"
	ChannelFacebook   Channel = "FACEBOOK"
	ChannelGoogleAds  Channel = "GOOGLE_ADS"
	ChannelUnknown    Channel = "UNKNOWN"
)

// AllChannels returns the known channels in report order (UNKNOWN excluded).
func AllChannels() []Channel {
	return []Channel{ChannelPush, ChannelEmail, ChannelSMS, ChannelWhatsApp, ChannelInApp, ChannelOnSite,
		ChannelCards, ChannelConnectors, ChannelFacebook, ChannelGoogleAds}
}

// normaliseEnum upper-cases s, trims it and turns spaces and hyphens into underscores.
func normaliseEnum(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, s)
}

// ParseChannel normalises a channel input (SPEC §2.10). ok is false when it names no channel.
func ParseChannel(s string) (Channel, bool) {
	switch normaliseEnum(s) {
	case "PUSH", "MOBILE_PUSH", "WEB_PUSH":
		return ChannelPush, true
	case "EMAIL", "E_MAIL":
		return ChannelEmail, true
	case "SMS", "SMS_RCS", "RCS":
		return ChannelSMS, true
	case "WHATSAPP":
		return ChannelWhatsApp, true
	case "IN_APP", "INAPP", "MOBILE_IN_APP":
		return ChannelInApp, true
	case "ON_SITE", "ONSITE", "OSM", "ON_SITE_MESSAGING", "WEB_PERSONALIZATION":
		return ChannelOnSite, true
	case "CARDS", "CARD":
		return ChannelCards, true
	case "CONNECTORS", "CONNECTOR", "WEBHOOK", "CUSTOM_CONNECTOR":
		return ChannelConnectors, true
	case "FACEBOOK", "FACEBOOK_AUDIENCE":
		return ChannelFacebook, true
	case "GOOGLE_ADS", "GOOGLE_ADS_AUDIENCE":
		return ChannelGoogleAds, true
	}
	return "", false
}

// PlatformIsChannel reports whether the channel's platform key is the channel name itself (SPEC §4.4 rule 1).
func (c Channel) PlatformIsChannel() bool {
	switch c {
	case ChannelEmail, ChannelSMS, ChannelWhatsApp, ChannelConnectors, ChannelFacebook, ChannelGoogleAds:
		return true
	}
	return false
}

// MaxAttributionWindowHours is the channel's maximum (and default) attribution window (SPEC §2.4).
func (c Channel) MaxAttributionWindowHours() int {
	switch c {
	case ChannelEmail, ChannelSMS, ChannelWhatsApp:
		return 240
	}
	return 36
}

// bit returns the channel's bit in a ChannelSet. UNKNOWN has a bit of its own, so that control-group events —
// which feed every channel — also reach campaigns whose channel cannot be determined.
func (c Channel) bit() ChannelSet {
	for i, k := range AllChannels() {
		if k == c {
			return 1 << uint(i)
		}
	}
	if c == ChannelUnknown {
		return 1 << uint(len(AllChannels()))
	}
	return 0
}

// ChannelSet is a set of channels, one bit per channel in AllChannels order.
type ChannelSet uint16

// ChannelSetOf builds a set.
func ChannelSetOf(cs ...Channel) ChannelSet {
	var s ChannelSet
	for _, c := range cs {
		s |= c.bit()
	}
	return s
}

// AllChannelsSet is the set of every channel, UNKNOWN included (used by control-group rows, which feed every
// channel).
func AllChannelsSet() ChannelSet { return ChannelSetOf(append(AllChannels(), ChannelUnknown)...) }

// Has reports whether c is in the set.
func (s ChannelSet) Has(c Channel) bool { b := c.bit(); return b != 0 && s&b != 0 }

// Bit returns the set bit of a single channel; stores use it to filter events by channel.
func (c Channel) Bit() ChannelSet { return c.bit() }

// DeliveryType is a campaign delivery type (SPEC §2.10).
type DeliveryType string

// Delivery types of SPEC §2.10.
const (
	DeliveryOneTime           DeliveryType = "ONE_TIME"
	DeliveryPeriodic          DeliveryType = "PERIODIC"
	DeliveryEventTriggered    DeliveryType = "EVENT_TRIGGERED"
	DeliveryBusinessEvent     DeliveryType = "BUSINESS_EVENT_TRIGGERED"
	DeliveryDeviceTriggered   DeliveryType = "DEVICE_TRIGGERED"
	DeliveryLocationTriggered DeliveryType = "LOCATION_TRIGGERED"
	DeliveryBroadcastLive     DeliveryType = "BROADCAST_LIVE_ACTIVITY"
	DeliveryAPITriggered      DeliveryType = "API_TRIGGERED"
)

// ParseDeliveryType normalises a delivery-type input (SPEC §2.10). ok is false for values that do not normalise.
func ParseDeliveryType(s string) (DeliveryType, bool) {
	n := normaliseEnum(s)
	switch n {
	case "EVENT_TRIGGER", "ACTIVE":
		return DeliveryEventTriggered, true
	case "BUSINESS_EVENT_TRIGGER":
		return DeliveryBusinessEvent, true
	case "ONETIME":
		return DeliveryOneTime, true
	}
	for _, d := range []DeliveryType{DeliveryOneTime, DeliveryPeriodic, DeliveryEventTriggered, DeliveryBusinessEvent,
		DeliveryDeviceTriggered, DeliveryLocationTriggered, DeliveryBroadcastLive, DeliveryAPITriggered} {
		if string(d) == n {
			return d, true
		}
	}
	return "", false
}
