package report

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var invalidCodes = map[string]bool{CodeMalformedJSON: true, CodeMissingField: true, CodeInvalidType: true, CodeInvalidValue: true}

var descriptionPattern = regexp.MustCompile(`^(request body|[A-Za-z0-9_.\[\]]+) - .+`)

// FuzzParseDefinition: the report-definition validator (SPEC §8.2, §13.2) never panics; it returns either an
// *InvalidError with a §5.18 code and a "<field> - <reason>" description, or a definition that re-validates: its
// stored JSON, sent again as a body, parses to the same definition. Seeds are in testdata/fuzz/FuzzParseDefinition:
// the §8.2 example, both layouts, every schedule type, and bodies that reach each error.
func FuzzParseDefinition(f *testing.F) {
	f.Add([]byte(specExample))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDefinition(body)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) || !invalidCodes[ie.Code] || !descriptionPattern.MatchString(ie.Description) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if d.Name == "" || d.Campaigns == nil || d.Layout == "" || d.Separator == "" || d.Compression == "" ||
			d.MetricType == "" || d.AttributionType == "" || d.Granularity == "" {
			t.Fatalf("defaults not filled in: %+v", d)
		}
		stored, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseDefinition(stored)
		if err != nil {
			t.Fatalf("stored definition %s does not re-validate: %v", stored, err)
		}
		// An empty columns object and an absent one mean the same (every channel's default columns).
		if diff := cmp.Diff(d, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the definition (-first +again):\n%s", diff)
		}
	})
}
