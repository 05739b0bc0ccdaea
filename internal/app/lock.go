package app

import "strings"

// lockConflictTexts are the phrases of DuckDB's error when another process holds the database file's lock, e.g.
// `IO Error: Could not set lock on file "…/campaignstats.duckdb": Conflicting lock is held in /usr/bin/… (PID 42)`.
// They are matched exactly: a looser match (the word "lock") also caught corruption errors, which mention the
// "block" at fault, and paths containing "lock".
var lockConflictTexts = []string{"Could not set lock on file", "Conflicting lock is held"}

// isLockConflict reports whether opening the embedded store failed because another process holds it.
func isLockConflict(err error) bool {
	for _, t := range lockConflictTexts {
		if strings.Contains(err.Error(), t) {
			return true
		}
	}
	return false
}
