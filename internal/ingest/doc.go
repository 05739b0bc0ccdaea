// Package ingest turns Streams request bodies into per-event outcomes (SPEC §3.2–§3.4, §3.7, §4): it decodes the
// three body shapes, validates each event with the rules of §3.3, maps event codes with the table of §4.2 and
// derives everything the store, the metric engine and attribution need (user key §2.8, locale and variation §2.6,
// platform §4.4, failure keys §4.6, held-out groups §4.7, inference inputs §3.14). It does no I/O and keeps no
// state between calls; duplicate detection and quarantine belong to the caller.
//
// Decoding uses a small JSON scanner of its own (jsonscan.go) instead of encoding/json: each event is validated
// and read in a single pass that hands out the exact byte spans of the members it needs, so a batch costs about
// one allocation per accepted event. The scanner accepts exactly the grammar encoding/json accepts (checked by a
// fuzz test against it); UTF-8 validity is checked once per body.
//
// Choices where the SPEC leaves room (all covered by tests):
//   - Invalid UTF-8 anywhere in a body, NDJSON included, is a whole-request "Malformed JSON" error (§12.6).
//   - A body of only white space is "Empty request body" (§3.11) for both content types.
//   - Members are matched by exact name; when a key repeats, the last one wins (as with encoding/json).
//   - null counts as absent for event_time (rule 7) and for the three attribute objects (rule 11); for
//     campaign_id it is "no campaign_id" (rule 12, and the MOE_CAMPAIGN_CONTROL_GROUP exception).
//   - event_uuid is kept exactly as sent (not trimmed); any non-empty text passes rule 4. event_code and
//     event_name are trimmed before the non-empty test of rule 6. "128 characters" counts Unicode code points.
//   - campaign_id / parent_campaign_id given as JSON numbers are taken as their decimal text; other non-string
//     values are invalid (rules 13, 14). They are not trimmed.
//   - Number-to-text conversion keeps integer literals as written and writes other numbers in plain decimal
//     without exponent or trailing zeros (1.50 → "1.5", 1e3 → "1000").
//   - ISO-8601 times accept 'T', 't' or ' ' between date and time, optional seconds and fraction (any number of
//     digits, truncated to milliseconds), and offsets Z, ±hh:mm, ±hhmm, ±hh. Surrounding spaces are invalid.
//     Numeric values too large for int64 milliseconds are invalid.
//   - Export wrappers are an NDJSON shape: inside an application/json "events" array an element's "event"
//     member is not unwrapped.
//   - "Ignoring case" in the §4.1 lookup is Unicode simple case folding (strings.EqualFold semantics).
//   - Channel and delivery-type attributes: the first attribute (in the SPEC's order) that normalises wins.
//   - §4.6: among the code names, code > reasoncode > failurecode; among the reason names, reason > reasons >
//     failurereason; the first value per name counts. A "reasons" array gives its first element with a non-empty
//     snake_case. The code table applies to every failure row (an email drop with code 203 gets the
//     global-control-group key but stays a failed send: held-out handling is for push failures only, §4.7).
//   - §4.7 controlgrouptype / cgtype values are trimmed before the comparison with "global".
//   - Tags are taken from a string moe_campaign_tags only; events of one request with the same value share the
//     Tags slice (treat it as read-only).
package ingest
