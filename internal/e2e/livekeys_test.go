package e2e

// Scanning raw Stats bodies for the keys of the published (pre-§13) format and for §13.1's key order, as a client
// written against the live API would notice them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

var (
	livePlatformKeys = map[string]bool{allPlatforms: true, platAndroid: true, platIOS: true, platWeb: true,
		platWindows: true, platUnknown: true}
	// oldPlatformKeys are platform keys of §1.3/§4.4 that §13.1 replaces.
	oldPlatformKeys = map[string]bool{"android": true, "ios": true, "web": true, "windows": true, "unknown": true,
		chEmail: true, chSMS: true, chWhatsApp: true, chConnectors: true, chFacebook: true, chGoogleAds: true,
		chPush: true, chInApp: true, chOnSite: true, chCards: true, "MWEB": true, "mweb": true}
)

// liveKeyProblems walks a JSON body token by token and reports, with their paths: keys of the published format
// (`all_locales` or `opened` anywhere; a lower-case device platform or a channel name as a platform key), any
// platform key outside §13.1's set, a repeated key, and keys out of §13.1's order (ALL_PLATFORMS first then
// ascending platforms; all_locale first then ascending locales; performance_stats in the §5.9 order of a channel).
func liveKeyProblems(raw []byte) []string {
	var out []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(path, parent string) error
	walk = func(path, parent string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				p := path + "." + k
				switch {
				case k == legacyAllLocales || k == "opened":
					out = append(out, p+": key of the published format")
				case parent == "platforms" && oldPlatformKeys[k]:
					out = append(out, p+": platform key of the published format")
				case parent == "platforms" && !livePlatformKeys[k]:
					out = append(out, p+": unknown platform key")
				}
				if seen[k] {
					out = append(out, p+": repeated key")
				}
				seen[k] = true
				keys = append(keys, k)
				if err := walk(p, k); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			switch parent {
			case "platforms":
				if msg := firstThenAscending(keys, allPlatforms); msg != "" {
					out = append(out, path+": platform order "+msg)
				}
			case "locales":
				if msg := firstThenAscending(keys, allLocale); msg != "" {
					out = append(out, path+": locale order "+msg)
				}
			case "performance_stats":
				if msg := perfOrder(keys); msg != "" {
					out = append(out, path+": "+msg)
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), parent); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("$", ""); err != nil {
		out = append(out, "not JSON: "+err.Error())
	}
	return out
}

// firstThenAscending checks that keys start with first and continue in ascending byte order.
func firstThenAscending(keys []string, first string) string {
	if len(keys) == 0 {
		return ""
	}
	if keys[0] != first {
		return fmt.Sprintf("%v: %s is not first", keys, first)
	}
	if !sort.StringsAreSorted(keys[1:]) {
		return fmt.Sprintf("%v: not ascending after %s", keys, first)
	}
	return ""
}

// perfOrder checks a performance_stats key list against the §5.9 field order (with §13.1's `open`) of the channel
// whose field set it is.
func perfOrder(keys []string) string {
	if len(keys) == 0 {
		return "" // an UNKNOWN-channel campaign (§5.9)
	}
	set := map[string]bool{}
	for _, k := range keys {
		set[k] = true
	}
	for _, ch := range []string{chPush, chEmail, chSMS, chWhatsApp, chInApp, chCards, chConnectors, chFacebook} {
		f := perfFields[ch]
		want := append([]string(nil), f.counts...)
		for _, r := range f.rates {
			want = append(want, r[0])
		}
		if len(want) != len(keys) {
			continue
		}
		same := true
		for _, k := range want {
			same = same && set[k]
		}
		if !same {
			continue
		}
		if strings.Join(want, ",") != strings.Join(keys, ",") {
			return fmt.Sprintf("performance_stats order %v, want %v (%s)", keys, want, ch)
		}
		return ""
	}
	return fmt.Sprintf("performance_stats fields %v are no channel's field set", keys)
}

// checkLiveKeys fails the test with the key problems of one response body.
func checkLiveKeys(t *testing.T, what string, raw []byte) {
	t.Helper()
	if bad := liveKeyProblems(raw); len(bad) > 0 {
		if len(bad) > 10 {
			bad = append(bad[:10], fmt.Sprintf("… %d problems in all", len(bad)))
		}
		t.Errorf("%s: keys not in the live format of §13.1:\n  %s", what, strings.Join(bad, "\n  "))
	}
}

func TestLiveKeyProblems(t *testing.T) {
	good := `{"data":{"c":[{"platforms":{"ALL_PLATFORMS":{"locales":{"all_locale":{"variations":{"all_variations":{
		"performance_stats":{"attempted":1,"sent":1,"failed":0,"delivered":1,"open":1,"click":0,"unsubscribe":0,"complaint":0,
		"hard_bounce":0,"soft_bounce":0,"bounced":0,"ctr":0,"open_rate":100,"delivery_rate":100,"ctor":0,"unsub_rate":0,
		"bounce_rate":0,"complaints_rate":0,"sent_rate":100,"failure_rate":0},"failure_breakdown":{"unknown":1}}}},
		"en":{"variations":{}}}},"ANDROID":{"locales":{}},"IOS":{"locales":{}}}}]}}`
	if bad := liveKeyProblems([]byte(good)); len(bad) != 0 {
		t.Errorf("live body: %v", bad)
	}
	for _, c := range []struct{ body, want string }{
		{`{"platforms":{"ALL_PLATFORMS":{},"android":{}}}`, "$.platforms.android: platform key of the published format"},
		{`{"platforms":{"ALL_PLATFORMS":{},"EMAIL":{}}}`, "$.platforms.EMAIL: platform key of the published format"},
		{`{"platforms":{"ANDROID":{},"ALL_PLATFORMS":{}}}`, "$.platforms: platform order [ANDROID ALL_PLATFORMS]: ALL_PLATFORMS is not first"},
		{`{"platforms":{"ALL_PLATFORMS":{},"IOS":{},"ANDROID":{}}}`, "$.platforms: platform order [ALL_PLATFORMS IOS ANDROID]: not ascending after ALL_PLATFORMS"},
		{`{"a":[{"locales":{"all_locales":{}}}]}`, "$.a[0].locales.all_locales: key of the published format"},
		{`{"locales":{"fr":{},"all_locale":{}}}`, "$.locales: locale order [fr all_locale]: all_locale is not first"},
		{`{"performance_stats":{"impression":1,"click":1,"ctr":100,"closed_click":0}}`,
			"$.performance_stats: performance_stats order [impression click ctr closed_click], want [impression click closed_click ctr] (IN_APP)"},
		{`{"performance_stats":{"opened":1}}`, "$.performance_stats.opened: key of the published format"},
		{`{"x":1,"x":2}`, "$.x: repeated key"},
	} {
		if bad := liveKeyProblems([]byte(c.body)); len(bad) == 0 || bad[0] != c.want {
			t.Errorf("%s: %q, want first %q", c.body, bad, c.want)
		}
	}
}
