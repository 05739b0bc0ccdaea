package ingest

import (
	"encoding/json"

	"github.com/campaignstats/campaignstats/internal/jsonscan"
)

// ParseTime parses a time value of SPEC §3.7 from raw JSON text (a number or a string) into Unix milliseconds. It is
// jsonscan.ParseTime with the signature of catalog.TimeParser; invalid values give jsonscan.ErrInvalidTime.
func ParseTime(raw json.RawMessage) (int64, error) { return jsonscan.ParseTime(raw) }
