package ingest

import (
	"encoding/json"

	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// Kinds of profile posts (SPEC §13.3): the "type" a body of POST /v1/customer and POST /v1/device must carry.
const (
	ProfileCustomer = "customer"
	ProfileDevice   = "device"
)

// MaxCustomerIDChars bounds the customer_id of a profile post: it is the user key's value (SPEC §12.11).
const MaxCustomerIDChars = MaxUserKeyChars

// ProfilePost is a validated body of POST /v1/customer/{workspace_id} or POST /v1/device/{workspace_id}.
type ProfilePost struct {
	Kind       string // ProfileCustomer or ProfileDevice
	CustomerID string // trimmed; numbers as their decimal text
	UserKey    string // the §2.8 user key: NSUID + CustomerID
	// DeviceID is the trimmed text of device_id when it is a string or number ("" otherwise). Only device posts
	// read it.
	DeviceID string
	// Attributes is a copy of the attributes object as sent; nil when absent or null.
	Attributes json.RawMessage
}

// DecodeProfile validates a user (kind ProfileCustomer) or device (ProfileDevice) body of SPEC §13.3 with the
// request and error shapes of Track Event (§3.8, §3.11). The first failing check, in this order, is reported:
//
//  1. Body: empty or only white space → BodyError "Empty request body"; invalid UTF-8, not JSON, or not a JSON
//     object → BodyError "Malformed JSON".
//  2. type: absent or null → MissingAttributeError "type is not found in the payload"; any value but the JSON
//     string kind (exact) → InvalidParams "type should be customer" / "type should be device".
//  3. customer_id: absent, null or blank → MissingAttributeError "customer_id is not found in the payload" (there
//     is no user_identifiers fallback: §13.3 requires customer_id); a placeholder value of §3.8, or a value that
//     is not a string or number → Blacklisted; more than MaxCustomerIDChars characters → InvalidParams
//     "customer_id is longer than 256 characters" (§12.11).
//  4. attributes: present, not null and not an object → InvalidParams "attributes should be an object".
//
// device_id is optional and, as in Track Event, not validated: a string or number is kept (trimmed), any other
// value is ignored. Unknown members are ignored; when a key repeats, the last one wins. The error is a *BodyError
// or a *TrackError. The result does not alias body.
func DecodeProfile(body []byte, kind string) (ProfilePost, error) {
	obj, err := trackObject(body)
	if err != nil {
		return ProfilePost{}, err
	}
	var f profileFields
	f.read(obj)
	if err := checkType(f.typ, kind, "type should be "+kind); err != nil {
		return ProfilePost{}, err
	}
	var cid string
	if present(f.customerID) {
		v, ok := scalarBytes(f.customerID)
		if !ok {
			return ProfilePost{}, trackErr(trackBlacklist, "customer_id", msgCustomerIDBlack, "")
		}
		cid = string(trimSpaceBytes(v))
	}
	switch {
	case cid == "":
		return ProfilePost{}, trackErr(trackMissing, "customer_id", msgCustomerIDMissing, "")
	case BlacklistedCustomerID(cid):
		return ProfilePost{}, trackErr(trackBlacklist, "customer_id", msgCustomerIDBlack, "")
	case userKeyTooLong([]byte(cid)):
		return ProfilePost{}, trackErr(trackInvalid, "customer_id", msgCustomerIDLong, "")
	}
	if present(f.attributes) && !isObject(f.attributes) {
		return ProfilePost{}, trackErr(trackInvalid, "attributes", msgAttributesObject, "")
	}
	p := ProfilePost{Kind: kind, CustomerID: cid, UserKey: NSUID + cid}
	if present(f.attributes) {
		p.Attributes = append(json.RawMessage(nil), f.attributes...)
	}
	if kind == ProfileDevice {
		if v, ok := scalarBytes(f.deviceID); ok && present(f.deviceID) {
			p.DeviceID = string(trimSpaceBytes(v))
		}
	}
	return p, nil
}

// profileFields holds the exact value texts of the members of a profile body (nil when absent).
type profileFields struct {
	typ, customerID, deviceID, attributes []byte
}

// read fills f from the valid JSON object obj.
func (f *profileFields) read(obj []byte) {
	it := jsonscan.TrustedObjIter(obj)
	for {
		key, esc, val, ok := it.Next()
		if !ok {
			return
		}
		if esc {
			key = jsonscan.UnquoteKey(key)
		}
		switch string(key) {
		case "type":
			f.typ = val
		case "customer_id":
			f.customerID = val
		case "device_id":
			f.deviceID = val
		case "attributes":
			f.attributes = val
		}
	}
}
