package domain

// Spellings of the locale aggregate key. SPEC §13.1 makes the live spelling "all_locale" the emitted key; the
// earlier "all_locales" (§2.6, §5.8) is still recognised on input so that senders using either spelling get the
// same result.
const (
	allLocaleKey  = "all_locale"
	allLocalesKey = "all_locales"
)

// IsAllLocalesKey reports whether s is a spelling of the locale aggregate key ("all_locale" or "all_locales",
// compared exactly). A locale equal to either is treated as absent on input (SPEC §2.6, §13.1): the event or
// funnel entry counts only in the aggregate node.
func IsAllLocalesKey(s string) bool { return s == allLocaleKey || s == allLocalesKey }
