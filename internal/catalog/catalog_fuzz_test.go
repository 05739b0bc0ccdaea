package catalog

import (
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// FuzzParsePut: the catalog PUT body validator (SPEC §3.12.1) never panics; it returns either a *FieldError
// naming an attribute, or fields that satisfy the §3.12.1 rules and re-validate: the fields written back as a PUT
// body parse to the same fields. Seeds are in testdata/fuzz/FuzzParsePut: the §3.12.2 example, a goal filter of
// each kind, and bodies that reach each error.
func FuzzParsePut(f *testing.F) {
	f.Add([]byte(`{"campaign_name":"Spring","channel":"PUSH"}`), "c1")
	f.Fuzz(func(t *testing.T, body []byte, pathID string) {
		if !ValidID(pathID) {
			return // the HTTP layer answers an invalid path id before parsing the body
		}
		fields, ferr := ParsePut(body, pathID, parseTimeSpec)
		if ferr != nil {
			if ferr.Attribute == "" || ferr.Message == "" {
				t.Fatalf("bad error %+v", ferr)
			}
			return
		}
		checkFields(t, fields, pathID)
		again, ferr := ParsePut(putBody(t, fields), pathID, parseTimeSpec)
		if ferr != nil {
			t.Fatalf("fields %s do not re-validate: %v", marshal(t, fields), ferr)
		}
		if a, b := marshal(t, fields), marshal(t, again); string(a) != string(b) {
			t.Fatalf("round trip changed the fields:\n%s\n%s", a, b)
		}
	})
}

// parseTimeSpec is the §3.7 time parser the HTTP layer passes to ParsePut.
func parseTimeSpec(raw json.RawMessage) (int64, error) { return jsonscan.ParseTime(raw) }

// checkFields checks the §3.12.1 rules on parsed fields.
func checkFields(t *testing.T, f domain.CampaignFields, pathID string) {
	t.Helper()
	if f.Name != nil && utf8.RuneCountInString(*f.Name) > 256 {
		t.Fatalf("campaign_name of %d characters", utf8.RuneCountInString(*f.Name))
	}
	if f.ParentID != nil && *f.ParentID != "" && (!ValidID(*f.ParentID) || *f.ParentID == pathID) { // "": no parent
		t.Fatalf("parent_campaign_id %q", *f.ParentID)
	}
	if f.Tags != nil {
		if len(*f.Tags) > 50 {
			t.Fatalf("%d tags", len(*f.Tags))
		}
		for _, tag := range *f.Tags {
			if n := utf8.RuneCountInString(tag); n < 1 || n > 128 {
				t.Fatalf("tag %q", tag)
			}
		}
	}
	if f.Goals != nil {
		names, primaries := map[string]bool{}, 0
		for _, g := range f.Goals.Goals {
			if g.Name == "" || g.EventName == "" || names[g.Name] {
				t.Fatalf("goal %+v", g)
			}
			names[g.Name] = true
			if g.IsPrimary {
				primaries++
			}
		}
		if len(f.Goals.Goals) > 10 || primaries > 1 {
			t.Fatalf("goals %+v", f.Goals)
		}
	}
	if f.ControlGroup != nil && (f.ControlGroup.Percentage < 0 || f.ControlGroup.Percentage > 100) {
		t.Fatalf("control group %+v", f.ControlGroup)
	}
	if f.StartTimeMS != nil && *f.StartTimeMS <= 0 {
		t.Fatalf("campaign_start_time %d", *f.StartTimeMS)
	}
}

// putBody writes fields back as a PUT body. campaign_start_time is written as a §3.7 epoch that reads back as the
// same millisecond: milliseconds above 1e11, else seconds with a millisecond fraction.
func putBody(t *testing.T, f domain.CampaignFields) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(marshal(t, f), &m); err != nil {
		t.Fatal(err)
	}
	if f.StartTimeMS != nil {
		ms := *f.StartTimeMS
		text := strconv.FormatInt(ms, 10)
		if ms <= 1e11 {
			text = strconv.FormatInt(ms/1000, 10) + "." + strconv.FormatInt(1000+ms%1000, 10)[1:]
		}
		m["campaign_start_time"] = json.RawMessage(text)
	}
	return marshal(t, m)
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
