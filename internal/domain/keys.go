package domain

// IsAllLocalesKey reports whether s is a spelling of the locale aggregate key ("all_locale" or "all_locales",
// compared exactly). A locale equal to either is treated as absent on input (SPEC §2.6, §13.1): the event or
// funnel entry counts only in the aggregate node.
func IsAllLocalesKey(s string) bool { return s == AllLocales || s == LegacyAllLocales }
