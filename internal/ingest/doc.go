// Package ingest turns Streams request bodies into per-event outcomes (SPEC §3.2–§3.4, §3.7, §4) and Track
// Event / Bulk Import bodies into user events (§3.8, §3.9; see the end of this comment). For Streams it decodes the
// three body shapes, validates each event with the rules of §3.3, maps event codes with the table of §4.2 and
// derives everything the store, the metric engine and attribution need (user key §2.8, locale and variation §2.6,
// platform §4.4, failure keys §4.6, held-out groups §4.7, inference inputs §3.14). It does no I/O and keeps no
// state between calls; duplicate detection and quarantine belong to the caller.
//
// Decoding uses the small JSON scanner of package jsonscan instead of encoding/json: each event is validated and
// read in a single pass that hands out the exact byte spans of the members it needs, so a batch costs about one
// allocation per accepted event. The scanner accepts exactly the grammar encoding/json accepts (checked by fuzz
// tests against it, there and in FuzzDecodeStreams); UTF-8 validity is checked once per body.
//
// Choices where the SPEC leaves room (all covered by tests):
//   - Invalid UTF-8 anywhere in a body, NDJSON included, is a whole-request "Malformed JSON" error (§12.6).
//   - A body of only white space is "Empty request body" (§3.11) for both content types.
//   - Members are matched by exact name; when a key repeats, the last one wins (as with encoding/json).
//   - null counts as absent for event_time (rule 7) and for the three attribute objects (rule 11); for
//     campaign_id it is "no campaign_id" (rule 12, and the MOE_CAMPAIGN_CONTROL_GROUP exception).
//   - event_uuid is kept exactly as sent (not trimmed); any non-empty text passes rule 4. event_code and
//     event_name are trimmed before the non-empty test of rule 6. "128 characters" counts Unicode code points.
//   - Rule 16 (§12.11, after rule 15): the value chosen as user key has at most 256 characters, counted as
//     Unicode code points of the trimmed value (numbers: of their decimal text), before the namespace prefix and
//     before e-mail lower-casing. The first non-empty identity is the one judged: a too-long uid is not replaced
//     by a shorter email_id. Track Event, Bulk Import and the profile endpoints apply the same count.
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
//   - §13.5 aliases (moe_campaign_id, moe_campaign_name, moe_c_pid, moe_locale_name, moe_locale_id,
//     moe_variation_id) are resolved field by field before any rule runs: the unprefixed member is used when it
//     has a value (present, not null, not a blank string), else the alias when it has one. Rules 12–14 then judge
//     the value used and keep their unprefixed messages; an unprefixed value of the wrong type is not rescued by
//     its alias. The §2.6 locale order runs on the resolved fields: locale_name, moe_locale_name, locale_id,
//     moe_locale_id.
//   - Both spellings of the locale aggregate key, all_locale (§13.1) and all_locales (§2.6), are treated as an
//     absent locale (compared exactly after trimming), here and in the funnel's LocaleKey.
//
// Track Event and Bulk Import (track.go, SPEC §3.8, §3.9, §3.11): DecodeTrack and DecodeBulk validate a whole body
// and return one user event (Campaign false, Code empty, Name = the trimmed action, Source "track" / "bulk") per
// action, or an error and no events (the request is atomic). The first failing check, in this order, is reported:
//
//  1. Body: empty or only white space → BodyError "Empty request body"; invalid UTF-8, not JSON, or not a JSON
//     object → BodyError "Malformed JSON" (the whole body is parsed before any field is looked at).
//  2. type: absent or null → MissingAttributeError; any value but the string "event" ("transition" for Bulk),
//     compared exactly (no trimming, case-sensitive) → InvalidParams.
//  3. Bulk only: elements absent, null or not an array → "elements is not found in the payload"; [] → "elements
//     cannot be empty array". Then each element in array order, completely (steps 4–7 for an event element)
//     before the next: an element that is not an object or whose type is not exactly "customer", "event" or
//     "device" (absent included) → AttributeError (at elements[i]); customer and device elements are not looked
//     at further.
//  4. customer_id: absent, null or blank, and user_identifiers gives no user key → MissingAttributeError. "Non-empty
//     user_identifiers" means an object with at least one member whose value is a non-blank string or a number
//     (the §2.8 key can then be formed); a user_identifiers that is not an object is ignored.
//  5. customer_id present and not blank: refused (Blacklisted) when its trimmed text equals a §3.8 value under
//     Unicode case folding, or when it is not a string or number (true, false, an object, an array). Numbers are
//     taken as their decimal text (0, -1, 1.0 are refused). Then the value chosen as user key (customer_id, else
//     the user_identifiers value of §2.8) longer than 256 characters → InvalidParams, attribute customer_id,
//     "customer_id is longer than 256 characters" (§12.11; the attribute is customer_id whichever member gave
//     the value).
//  6. actions: absent, null or not an array → "actions is not found in the payload"; [] → "actions can not be
//     empty Array".
//  7. Each action in array order, completely before the next: action absent or null (or the element is not an
//     object) → "action is not found"; a string that is blank after trimming → "action cannot be empty Unicode
//     string"; any other non-string → Malformed JSON "action should be a string"; attributes present, not null and
//     not an object → InvalidParams; then the time: current_time when present and not null, else user_time when
//     present and not null (user_time is then not read at all), else the receipt time; an invalid value, then an
//     instant before 2000-01-01T00:00:00Z (§12.12), then an instant more than 5 minutes after receipt, is
//     InvalidParams naming the field used. The receipt time is never checked.
//
// Errors about an element carry the suffix " (at elements[i])" (element type and steps 4–6 in Bulk), errors
// inside actions " (at actions[j])" (Track) or " (at elements[i].actions[j])" (Bulk), per §12.7. Other choices:
//   - null counts as absent for every member; members are matched by exact name after unescaping, the last of
//     repeated keys wins, unknown members (device_id, platform, …) are ignored.
//   - user_time: JSON numbers and digit strings are epochs; ISO strings with Z or a numeric offset are used as
//     is; ISO strings without offset, date-only included, are local: user_timezone_offset is subtracted when it
//     is a number (or a string holding a number) with an integral value in −54000…54000, else ignored (never an
//     error) and the time read as UTC. current_time never uses user_timezone_offset. The 2000-01-01 floor
//     applies to the instant after that conversion.
//   - Event.Attributes is a copy of the attributes object text (nil when absent or null); events do not alias
//     the body.
//   - Actions carry no event_uuid, but the store deduplicates on UUID: each event gets "trk-" followed by 16
//     crypto/rand bytes in hex (Bulk events too), so every accepted action is a new event; retries are made
//     safe by Idempotency-Key (§3.10), not by the UUID.
package ingest
