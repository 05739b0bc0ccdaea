package report

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestLocalTime(t *testing.T) {
	cases := []struct {
		name       string
		zone       string
		y          int
		m          time.Month
		d, hh, min int
		want       string
	}{
		{"plain", "America/New_York", 2025, 3, 10, 6, 0, "2025-03-10T10:00:00Z"},
		{"half-hour offset", "Asia/Kolkata", 2025, 3, 10, 6, 0, "2025-03-10T00:30:00Z"},
		{"gap runs at the first instant after", "America/New_York", 2025, 3, 9, 2, 30, "2025-03-09T07:00:00Z"},
		{"gap start", "America/New_York", 2025, 3, 9, 2, 0, "2025-03-09T07:00:00Z"},
		{"just after the gap", "America/New_York", 2025, 3, 9, 3, 0, "2025-03-09T07:00:00Z"},
		{"ambiguous runs at the first occurrence", "America/New_York", 2025, 11, 2, 1, 30, "2025-11-02T05:30:00Z"},
		{"ambiguous start", "America/New_York", 2025, 11, 2, 1, 0, "2025-11-02T05:00:00Z"},
		{"after the overlap", "America/New_York", 2025, 11, 2, 2, 0, "2025-11-02T07:00:00Z"},
		{"half-hour DST gap", "Australia/Lord_Howe", 2025, 10, 5, 2, 15, "2025-10-04T15:30:00Z"},
		{"midnight gap", "America/Sao_Paulo", 2018, 11, 4, 0, 0, "2018-11-04T03:00:00Z"},
		{"southern overlap", "Europe/London", 2025, 10, 26, 1, 30, "2025-10-26T00:30:00Z"},
		{"utc", "UTC", 2025, 2, 28, 23, 59, "2025-02-28T23:59:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := LocalTime(c.y, c.m, c.d, c.hh, c.min, mustLoc(t, c.zone))
			if !got.Equal(utc(c.want)) {
				t.Fatalf("got %s, want %s", got.UTC().Format(time.RFC3339), c.want)
			}
		})
	}
}

func TestNextRunAfter(t *testing.T) {
	cases := []struct {
		name  string
		zone  string
		sched Schedule
		after string
		want  []string // successive occurrences
	}{
		{"daily", "America/New_York", Schedule{Type: "daily", At: "06:00"}, "2025-03-07T12:00:00Z",
			[]string{"2025-03-08T11:00:00Z", "2025-03-09T10:00:00Z", "2025-03-10T10:00:00Z"}},
		{"daily, exactly at an occurrence", "UTC", Schedule{Type: "daily", At: "06:00"}, "2025-03-10T06:00:00Z",
			[]string{"2025-03-11T06:00:00Z"}},
		{"daily in a DST gap", "America/New_York", Schedule{Type: "daily", At: "02:30"}, "2025-03-08T07:30:00Z",
			[]string{"2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}},
		{"daily in a DST overlap runs once", "America/New_York", Schedule{Type: "daily", At: "01:30"}, "2025-11-01T05:30:00Z",
			[]string{"2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"}},
		{"daily, workspace day differs from UTC day", "Asia/Kolkata", Schedule{Type: "daily", At: "03:00"}, "2025-03-09T22:00:00Z",
			[]string{"2025-03-10T21:30:00Z", "2025-03-11T21:30:00Z"}},
		{"weekly", "UTC", Schedule{Type: "weekly", At: "06:00", Weekdays: []string{"MON", "FRI"}}, "2025-03-12T00:00:00Z",
			[]string{"2025-03-14T06:00:00Z", "2025-03-17T06:00:00Z", "2025-03-21T06:00:00Z"}},
		{"weekly, one day", "Europe/Berlin", Schedule{Type: "weekly", At: "00:30", Weekdays: []string{"SUN"}}, "2025-03-23T00:00:00Z",
			[]string{"2025-03-29T23:30:00Z", "2025-04-05T22:30:00Z"}},
		{"monthly short months", "UTC", Schedule{Type: "monthly", At: "09:00", DayOfMonth: 31}, "2025-01-31T09:00:00Z",
			[]string{"2025-02-28T09:00:00Z", "2025-03-31T09:00:00Z", "2025-04-30T09:00:00Z"}},
		{"monthly leap year", "UTC", Schedule{Type: "monthly", At: "09:00", DayOfMonth: 30}, "2024-01-30T10:00:00Z",
			[]string{"2024-02-29T09:00:00Z", "2024-03-30T09:00:00Z"}},
		{"monthly later today", "UTC", Schedule{Type: "monthly", At: "09:00", DayOfMonth: 15}, "2025-03-15T08:00:00Z",
			[]string{"2025-03-15T09:00:00Z", "2025-04-15T09:00:00Z"}},
		{"monthly, short month and year end in workspace time", "America/New_York", Schedule{Type: "monthly", At: "23:30", DayOfMonth: 31}, "2025-12-01T00:00:00Z",
			[]string{"2025-12-01T04:30:00Z", "2026-01-01T04:30:00Z", "2026-02-01T04:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoc(t, c.zone)
			at := utc(c.after)
			for i, want := range c.want {
				got := c.sched.NextRunAfter(at, loc)
				if got == nil || !got.Equal(utc(want)) {
					t.Fatalf("occurrence %d after %s: got %v, want %s", i, at.Format(time.RFC3339), got, want)
				}
				at = *got
			}
		})
	}
	if got := (&Schedule{Type: "once", At: "06:00"}).NextRunAfter(utc("2025-03-10T00:00:00Z"), time.UTC); got != nil {
		t.Fatalf("once has no following run: %v", got)
	}
	if got := (*Schedule)(nil).NextRunAfter(utc("2025-03-10T00:00:00Z"), time.UTC); got != nil {
		t.Fatalf("no schedule: %v", got)
	}
}

func TestFirstRunAt(t *testing.T) {
	now := utc("2025-03-10T12:00:00Z")
	cases := []struct {
		name  string
		zone  string
		sched *Schedule
		want  string // "" = nil
	}{
		{"no schedule", "UTC", nil, ""},
		{"daily later today", "UTC", &Schedule{Type: "daily", At: "13:00"}, "2025-03-10T13:00:00Z"},
		{"daily passed today", "UTC", &Schedule{Type: "daily", At: "06:00"}, "2025-03-11T06:00:00Z"},
		{"daily, workspace time", "Asia/Kolkata", &Schedule{Type: "daily", At: "06:00"}, "2025-03-11T00:30:00Z"},
		{"once with date and at", "America/New_York", &Schedule{Type: "once", Date: "2025-03-20", At: "08:15"}, "2025-03-20T12:15:00Z"},
		{"once in the past runs immediately", "UTC", &Schedule{Type: "once", Date: "2025-03-01", At: "08:00"}, "2025-03-10T12:00:00Z"},
		{"once earlier today runs immediately", "UTC", &Schedule{Type: "once", Date: "2025-03-10", At: "11:59"}, "2025-03-10T12:00:00Z"},
		{"once without date: next occurrence of at", "UTC", &Schedule{Type: "once", At: "06:00"}, "2025-03-11T06:00:00Z"},
		{"once without date, later today", "America/New_York", &Schedule{Type: "once", At: "09:00"}, "2025-03-10T13:00:00Z"},
		{"once without at: immediately", "UTC", &Schedule{Type: "once"}, "2025-03-10T12:00:00Z"},
		{"once with a date but no at: immediately", "America/New_York", &Schedule{Type: "once", Date: "2025-03-12"}, "2025-03-10T12:00:00Z"},
		{"once in a DST gap", "America/New_York", &Schedule{Type: "once", Date: "2026-03-08", At: "02:10"}, "2026-03-08T07:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.sched.FirstRunAt(now, mustLoc(t, c.zone))
			if c.want == "" {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if got == nil || !got.Equal(utc(c.want)) || got.Location() != time.UTC {
				t.Fatalf("got %v, want %s (UTC)", got, c.want)
			}
		})
	}
}

func TestRangeDates(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	cases := []struct {
		name       string
		r          Range
		generation string
		loc        *time.Location
		start, end string
	}{
		{"last 7 days", Range{LastDays: 7}, "2025-03-10T06:00:00Z", time.UTC, "2025-03-03", "2025-03-09"},
		{"generation date is the workspace's date", Range{LastDays: 7}, "2025-03-10T02:00:00Z", ny, "2025-03-02", "2025-03-08"},
		{"last day", Range{LastDays: 1}, "2025-03-01T00:00:00Z", time.UTC, "2025-02-28", "2025-02-28"},
		{"90 days across a year", Range{LastDays: 90}, "2025-01-15T12:00:00Z", time.UTC, "2024-10-17", "2025-01-14"},
		{"fixed", Range{StartDate: "2025-01-01", EndDate: "2025-01-31"}, "2025-03-10T06:00:00Z", ny, "2025-01-01", "2025-01-31"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, e := c.r.Dates(utc(c.generation), c.loc)
			if s != c.start || e != c.end {
				t.Fatalf("got [%s, %s], want [%s, %s]", s, e, c.start, c.end)
			}
		})
	}
}
