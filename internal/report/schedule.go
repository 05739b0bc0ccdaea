package report

import (
	"time"
)

// Schedule computation (SPEC §8.3). Every time is a wall-clock time in the workspace timezone:
//   - a wall-clock time inside a DST gap resolves to the first instant after the gap;
//   - an ambiguous wall-clock time (a DST overlap) resolves to its first occurrence;
//   - monthly schedules run on the month's last day when day_of_month is past it;
//   - once: date + at; without date the next occurrence of at; without at immediately (with a date: that
//     date's first instant); a time already past runs immediately.

// LocalTime returns the instant at which the wall-clock time year-month-day hour:minute happens in loc, resolving
// DST gaps to the first instant after the gap and overlaps to the first occurrence. Out-of-range values normalise
// as in time.Date.
func LocalTime(year int, month time.Month, day, hour, minute int, loc *time.Location) time.Time {
	// The wall clock read as UTC; an instant u shows this wall clock in loc iff u = wall - offset(u).
	norm := time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
	year, month, day = norm.Date()
	hour, minute = norm.Hour(), norm.Minute()
	wall := norm.Unix()
	offsets := map[int]bool{}
	for _, probe := range []int64{wall - 2*86400, wall - 86400, wall, wall + 86400, wall + 2*86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		offsets[off] = true
	}
	var best time.Time
	found := false
	for off := range offsets {
		u := time.Unix(wall-int64(off), 0).In(loc)
		y, m, d := u.Date()
		if y == year && m == month && d == day && u.Hour() == hour && u.Minute() == minute {
			if !found || u.Before(best) {
				best, found = u, true
			}
		}
	}
	if found {
		return best
	}
	// A gap: reading the wall clock with the offset in force before the gap lands after the gap; the start of
	// that zone period is the first instant after the gap.
	for off := range offsets {
		u := time.Unix(wall-int64(off), 0).In(loc)
		uw := time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, time.UTC)
		if !uw.After(norm) {
			continue
		}
		start, _ := u.ZoneBounds()
		if start.IsZero() {
			continue
		}
		start = start.In(loc)
		if !found || start.Before(best) {
			best, found = start, true
		}
	}
	if found {
		return best
	}
	return time.Date(year, month, day, hour, minute, 0, 0, loc)
}

// hhmm parses a validated "HH:MM".
func hhmm(s string) (int, int) {
	if len(s) != 5 {
		return 0, 0
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), int(s[3]-'0')*10 + int(s[4]-'0')
}

var weekdayIndex = map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday,
	"WED": time.Wednesday, "THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// occurrenceAfter returns the first occurrence of a recurring schedule (daily, weekly, monthly; and the `at` of a
// once schedule without date, treated as daily) strictly after t.
func (s Schedule) occurrenceAfter(t time.Time, loc *time.Location) (time.Time, bool) {
	h, m := hhmm(s.At)
	local := t.In(loc)
	// Start a day early: an occurrence on the previous local date can still lie after t around DST changes.
	y, mo, d := local.Date()
	switch s.Type {
	case "monthly":
		for i := -1; i <= 13; i++ {
			first := time.Date(y, mo+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
			day := min(s.DayOfMonth, daysIn(first.Year(), first.Month()))
			if c := LocalTime(first.Year(), first.Month(), day, h, m, loc); c.After(t) {
				return c, true
			}
		}
		return time.Time{}, false
	case "weekly":
		days := map[time.Weekday]bool{}
		for _, w := range s.Weekdays {
			days[weekdayIndex[w]] = true
		}
		if len(days) == 0 {
			return time.Time{}, false
		}
		for i := -1; i <= 15; i++ {
			date := time.Date(y, mo, d+i, 0, 0, 0, 0, time.UTC)
			if !days[date.Weekday()] {
				continue
			}
			if c := LocalTime(date.Year(), date.Month(), date.Day(), h, m, loc); c.After(t) {
				return c, true
			}
		}
		return time.Time{}, false
	default: // daily, and once without date
		for i := -1; i <= 3; i++ {
			if c := LocalTime(y, mo, d+i, h, m, loc); c.After(t) {
				return c, true
			}
		}
		return time.Time{}, false
	}
}

// FirstRunAt returns the first scheduled run of a schedule created (or replaced) at now: nil for no schedule.
// A once schedule whose time has passed, or that has no `at`, runs at now.
func (s *Schedule) FirstRunAt(now time.Time, loc *time.Location) *time.Time {
	if s == nil {
		return nil
	}
	var t time.Time
	switch {
	case s.Type != "once":
		var ok bool
		if t, ok = s.occurrenceAfter(now, loc); !ok {
			return nil
		}
	case s.At == "": // SPEC §8.3: without at, immediately after creation (a date alone included)
		t = now
	case s.Date != "":
		date, err := time.Parse(time.DateOnly, s.Date)
		if err != nil {
			return nil
		}
		h, m := hhmm(s.At)
		t = LocalTime(date.Year(), date.Month(), date.Day(), h, m, loc)
	default:
		t, _ = s.occurrenceAfter(now, loc)
	}
	if t.Before(now) {
		t = now
	}
	t = t.UTC()
	return &t
}

// NextRunAfter returns the scheduled run that follows an occurrence claimed at now: the first occurrence strictly
// after now (so a backlog of missed occurrences yields one run), or nil for a once schedule or no schedule.
func (s *Schedule) NextRunAfter(now time.Time, loc *time.Location) *time.Time {
	if s == nil || s.Type == "once" {
		return nil
	}
	t, ok := s.occurrenceAfter(now, loc)
	if !ok {
		return nil
	}
	t = t.UTC()
	return &t
}

// Dates returns the range of a run generated at generation (SPEC §8.3): fixed dates as stored, or for
// last_days n the n complete days before the generation date in loc: [date − n, date − 1].
func (r Range) Dates(generation time.Time, loc *time.Location) (start, end string) {
	if r.LastDays <= 0 {
		return r.StartDate, r.EndDate
	}
	y, m, d := generation.In(loc).Date()
	return time.Date(y, m, d-r.LastDays, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}
