package ingest

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeProfileErrors covers the error rows of the user and device endpoints (SPEC §13.3 with §3.11, §12.11)
// in check order; each case fails exactly one check.
func TestDecodeProfileErrors(t *testing.T) {
	long := strings.Repeat("é", MaxCustomerIDChars+1)
	cases := []struct {
		name, kind, body string
		typ, attr, msg   string
		body400          bool // a *BodyError rather than a *TrackError
	}{
		{"empty", ProfileCustomer, "  \n", "Empty request body", "body", "Request body is empty", true},
		{"not json", ProfileCustomer, `{"type":`, "Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.", true},
		{"not object", ProfileDevice, `["customer"]`, "Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.", true},
		{"invalid utf-8", ProfileCustomer, "{\"type\":\"customer\",\"customer_id\":\"\xff\"}", "Malformed JSON", "body", "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.", true},

		{"no type", ProfileCustomer, `{"customer_id":"u"}`, "MissingAttributeError", "type", "type is not found in the payload", false},
		{"null type", ProfileDevice, `{"type":null,"customer_id":"u"}`, "MissingAttributeError", "type", "type is not found in the payload", false},
		{"customer post typed device", ProfileCustomer, `{"type":"device","customer_id":"u"}`, "InvalidParams", "type", "type should be customer", false},
		{"device post typed customer", ProfileDevice, `{"type":"customer","customer_id":"u"}`, "InvalidParams", "type", "type should be device", false},
		{"type case", ProfileCustomer, `{"type":"Customer","customer_id":"u"}`, "InvalidParams", "type", "type should be customer", false},
		{"type event", ProfileDevice, `{"type":"event","customer_id":"u"}`, "InvalidParams", "type", "type should be device", false},
		{"type number", ProfileCustomer, `{"type":1,"customer_id":"u"}`, "InvalidParams", "type", "type should be customer", false},

		{"no customer_id", ProfileCustomer, `{"type":"customer","attributes":{}}`, "MissingAttributeError", "customer_id", "customer_id is not found in the payload", false},
		{"null customer_id", ProfileDevice, `{"type":"device","customer_id":null,"device_id":"d"}`, "MissingAttributeError", "customer_id", "customer_id is not found in the payload", false},
		{"blank customer_id", ProfileCustomer, `{"type":"customer","customer_id":" \t"}`, "MissingAttributeError", "customer_id", "customer_id is not found in the payload", false},
		{"identifiers are no fallback", ProfileCustomer, `{"type":"customer","user_identifiers":{"moe_email":"a@b.c"}}`, "MissingAttributeError", "customer_id", "customer_id is not found in the payload", false},
		{"blacklisted", ProfileCustomer, `{"type":"customer","customer_id":" Guest "}`, "Blacklisted", "customer_id", "customer_id value is not allowed", false},
		{"blacklisted number", ProfileDevice, `{"type":"device","customer_id":-1}`, "Blacklisted", "customer_id", "customer_id value is not allowed", false},
		{"blacklisted bool", ProfileCustomer, `{"type":"customer","customer_id":true}`, "Blacklisted", "customer_id", "customer_id value is not allowed", false},
		{"blacklisted object", ProfileCustomer, `{"type":"customer","customer_id":{"id":"u"}}`, "Blacklisted", "customer_id", "customer_id value is not allowed", false},
		{"too long", ProfileCustomer, `{"type":"customer","customer_id":"` + long + `"}`, "InvalidParams", "customer_id", "customer_id is longer than 256 characters", false},

		{"attributes string", ProfileCustomer, `{"type":"customer","customer_id":"u","attributes":"x"}`, "InvalidParams", "attributes", "attributes should be an object", false},
		{"attributes array", ProfileDevice, `{"type":"device","customer_id":"u","attributes":[{"a":1}]}`, "InvalidParams", "attributes", "attributes should be an object", false},
		{"attributes number", ProfileCustomer, `{"type":"customer","customer_id":"u","attributes":1}`, "InvalidParams", "attributes", "attributes should be an object", false},
		// Order: type before customer_id before attributes.
		{"order type", ProfileCustomer, `{"customer_id":"guest","attributes":1}`, "MissingAttributeError", "type", "type is not found in the payload", false},
		{"order customer_id", ProfileCustomer, `{"type":"customer","attributes":1}`, "MissingAttributeError", "customer_id", "customer_id is not found in the payload", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeProfile([]byte(c.body), c.kind)
			var te *TrackError
			var be *BodyError
			switch {
			case c.body400 && errors.As(err, &be):
				if be.Type != c.typ || be.Attribute != c.attr || be.Message != c.msg {
					t.Fatalf("got %+v", be)
				}
			case !c.body400 && errors.As(err, &te):
				if te.Type != c.typ || te.Attribute != c.attr || te.Message != c.msg {
					t.Fatalf("got %+v", te)
				}
			default:
				t.Fatalf("error %T %v", err, err)
			}
		})
	}
}

func TestDecodeProfile(t *testing.T) {
	exactly256 := strings.Repeat("ü", MaxCustomerIDChars)
	cases := []struct {
		name, kind, body string
		want             ProfilePost
	}{
		{"customer", ProfileCustomer, `{"type":"customer","customer_id":" user-1042 ","attributes":{"name":"Ann","age":31}}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "user-1042", UserKey: "uid:user-1042", Attributes: []byte(`{"name":"Ann","age":31}`)}},
		{"no attributes", ProfileCustomer, `{"type":"customer","customer_id":"u"}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "u", UserKey: "uid:u"}},
		{"null attributes", ProfileCustomer, `{"type":"customer","customer_id":"u","attributes":null}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "u", UserKey: "uid:u"}},
		{"numeric customer_id", ProfileCustomer, `{"type":"customer","customer_id":1042}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "1042", UserKey: "uid:1042"}},
		{"256 characters", ProfileCustomer, `{"type":"customer","customer_id":"` + exactly256 + `"}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: exactly256, UserKey: "uid:" + exactly256}},
		{"customer ignores device_id", ProfileCustomer, `{"type":"customer","customer_id":"u","device_id":"d"}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "u", UserKey: "uid:u"}},
		{"device", ProfileDevice, `{"type":"device","customer_id":"u","device_id":" dev-77 ","attributes":{"os":"android"},"platform":"x"}`,
			ProfilePost{Kind: ProfileDevice, CustomerID: "u", UserKey: "uid:u", DeviceID: "dev-77", Attributes: []byte(`{"os":"android"}`)}},
		{"device without device_id", ProfileDevice, `{"type":"device","customer_id":"u","attributes":{}}`,
			ProfilePost{Kind: ProfileDevice, CustomerID: "u", UserKey: "uid:u", Attributes: []byte(`{}`)}},
		{"device_id of another type ignored", ProfileDevice, `{"type":"device","customer_id":"u","device_id":{"x":1}}`,
			ProfilePost{Kind: ProfileDevice, CustomerID: "u", UserKey: "uid:u"}},
		{"numeric device_id", ProfileDevice, `{"type":"device","customer_id":"u","device_id":77}`,
			ProfilePost{Kind: ProfileDevice, CustomerID: "u", UserKey: "uid:u", DeviceID: "77"}},
		{"last duplicate wins", ProfileCustomer, `{"type":"customer","customer_id":"a","customer_id":"b","attributes":{"x":1},"attributes":{"y":2}}`,
			ProfilePost{Kind: ProfileCustomer, CustomerID: "b", UserKey: "uid:b", Attributes: []byte(`{"y":2}`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			got, err := DecodeProfile(body, c.kind)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != c.want.Kind || got.CustomerID != c.want.CustomerID || got.UserKey != c.want.UserKey ||
				got.DeviceID != c.want.DeviceID || string(got.Attributes) != string(c.want.Attributes) ||
				(got.Attributes == nil) != (c.want.Attributes == nil) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
			// The result does not alias the body.
			for i := range body {
				body[i] = ' '
			}
			if len(c.want.Attributes) > 0 && string(got.Attributes) != string(c.want.Attributes) {
				t.Fatalf("attributes alias the body")
			}
		})
	}
}
