package scheduledquery

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	anchor := at("2026-01-01T00:00:00Z")
	for _, tc := range []struct{ expr, after, want string }{
		{"rate(5 minutes)", "2026-01-01T00:07:00Z", "2026-01-01T00:10:00Z"},
		{"rate(1 hour)", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"},
		{"cron(0/15 * * * ? *)", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"},
		{"cron(30 9 ? * MON-FRI *)", "2026-01-02T10:00:00Z", "2026-01-05T09:30:00Z"}, // Friday 10:00 -> Monday
		{"cron(0 0 1 * ? *)", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{"cron(0 12 ? JAN,MAR SUN 2027)", "2026-01-01T00:00:00Z", "2027-01-03T12:00:00Z"},
	} {
		s, err := parseSchedule(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := s.next(at(tc.after), anchor, time.UTC); !got.Equal(at(tc.want)) {
			t.Errorf("%s after %s: %s, want %s", tc.expr, tc.after, got.Format(time.RFC3339), tc.want)
		}
	}
	// cron in a timezone: 09:00 in Paris is 08:00 UTC in winter, 07:00 in summer
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := parseSchedule("cron(0 9 * * ? *)")
	if got := s.next(at("2026-01-10T12:00:00Z"), anchor, paris); !got.Equal(at("2026-01-11T08:00:00Z")) {
		t.Errorf("Paris winter: %s", got.UTC().Format(time.RFC3339))
	}
	if got := s.next(at("2026-07-10T12:00:00Z"), anchor, paris); !got.Equal(at("2026-07-11T07:00:00Z")) {
		t.Errorf("Paris summer: %s", got.UTC().Format(time.RFC3339))
	}
	for _, bad := range []string{"", "rate(0 minutes)", "rate(1 minutes)", "rate(2 minute)", "rate(5 weeks)", "cron(* * * * * *)",
		"cron(0 0 ? * ? *)", "cron(60 * * * ? *)", "cron(0 0 L * ? *)", "cron(0 0 * *)", "cron(0 0 ? * 8 *)", "every 5 minutes"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/15 * * * ? *)", "cron(30 9 ? * MON-FRI 2026-2030)", "cron(1,2,3 */2 1-5/2 JAN-DEC ? *)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := parseSchedule(expr)
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		n := s.next(from, from, time.UTC)
		if !n.IsZero() && !n.After(from) {
			t.Fatalf("%s: next %s is not after %s", expr, n, from)
		}
	})
}
