package scheduledquery

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed schedule expression. AWS documents scheduled
// queries' scheduleExpression as "a cron expression … standard cron
// syntax … minute-level precision", written in EventBridge's forms:
// cron(minutes hours day-of-month month day-of-week year) and
// rate(value unit). Cairn accepts both: cron with *, ?, lists, ranges,
// steps and month/day names (EventBridge's L, W and # are refused as not
// supported: they need calendar rules Cairn does not implement), rate with
// minute(s), hour(s) and day(s), value 1 or more (singular for 1).
type schedule struct {
	every time.Duration // rate; 0 for cron
	// cron's fields as sets: minute 0-59, hour 0-23, dom 1-31, month 1-12,
	// dow 0-6 (SUN=0; EventBridge numbers 1-7, SUN=1), year 1970-2199
	min, hour, dom, mon, dow [64]bool
	domAny, dowAny           bool
	years                    map[int]bool // nil: every year
}

var errSchedule = errors.New("invalid schedule expression")

func parseSchedule(expr string) (*schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) != 2 {
			return nil, errSchedule
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 || n > 1<<20 {
			return nil, errSchedule
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour,
			"day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
		if unit == 0 || (n == 1) != !strings.HasSuffix(f[1], "s") {
			return nil, errSchedule
		}
		return &schedule{every: time.Duration(n) * unit}, nil
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) != 6 {
			return nil, errSchedule
		}
		s := &schedule{}
		months := []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
		days := []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
		var err error
		if err = field(f[0], 0, 59, nil, 0, s.min[:]); err != nil {
			return nil, err
		}
		if err = field(f[1], 0, 23, nil, 0, s.hour[:]); err != nil {
			return nil, err
		}
		s.domAny, s.dowAny = f[2] == "?", f[4] == "?"
		// EventBridge: one of day-of-month and day-of-week must be "?"
		if s.domAny == s.dowAny {
			return nil, errSchedule
		}
		if !s.domAny {
			if err = field(f[2], 1, 31, nil, 0, s.dom[:]); err != nil {
				return nil, err
			}
		}
		if err = field(f[3], 1, 12, months, 1, s.mon[:]); err != nil {
			return nil, err
		}
		if !s.dowAny {
			var d [64]bool
			if err = field(f[4], 1, 7, days, 1, d[:]); err != nil {
				return nil, err
			}
			for i := 1; i <= 7; i++ {
				s.dow[i-1] = d[i]
			}
		}
		if f[5] != "*" {
			var y [64]bool
			s.years = map[int]bool{}
			// years 1970-2199 mapped onto 0-229 in chunks would need a wider
			// set; a list of single years or a range is parsed directly
			for _, part := range strings.Split(f[5], ",") {
				lo, hi, ok := strings.Cut(part, "-")
				a, err1 := strconv.Atoi(lo)
				b := a
				var err2 error
				if ok {
					b, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil || a < 1970 || b > 2199 || a > b {
					return nil, errSchedule
				}
				for v := a; v <= b; v++ {
					s.years[v] = true
				}
			}
			_ = y
		}
		return s, nil
	}
	return nil, errSchedule
}

// field parses one cron field into set: "*", "?" is handled by the caller,
// "a", "a-b", "*/n", "a/n", "a-b/n", comma lists; names (base index first)
// for months and days.
func field(f string, lo, hi int, names []string, base int, set []bool) error {
	num := func(s string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(s, n) {
				return i + base, nil
			}
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < lo || v > hi {
			return 0, errSchedule
		}
		return v, nil
	}
	for _, part := range strings.Split(f, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			v, err := strconv.Atoi(stepS)
			if err != nil || v < 1 || v > hi {
				return errSchedule
			}
			step = v
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = num(x); err != nil {
				return err
			}
			if b, err = num(y); err != nil {
				return err
			}
			if a > b {
				return errSchedule
			}
		default:
			var err error
			if a, err = num(rng); err != nil {
				return fmt.Errorf("%w", err)
			}
			if !hasStep {
				b = a
			}
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	return nil
}

// next is the first time strictly after t (in loc) that the schedule fires;
// the zero time when it never does within ten years. A rate fires every
// period counted from anchor (the query's creation or scheduleStartTime).
func (s *schedule) next(t, anchor time.Time, loc *time.Location) time.Time {
	if s.every > 0 {
		if t.Before(anchor) {
			return anchor
		}
		n := t.Sub(anchor)/s.every + 1
		return anchor.Add(n * s.every)
	}
	c := t.In(loc).Truncate(time.Minute).Add(time.Minute)
	limit := c.AddDate(10, 0, 0)
	for c.Before(limit) {
		if s.years != nil && !s.years[c.Year()] {
			c = time.Date(c.Year()+1, 1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !s.mon[int(c.Month())] {
			c = time.Date(c.Year(), c.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		dayOK := s.domAny && s.dow[int(c.Weekday())] || s.dowAny && s.dom[c.Day()]
		if !dayOK {
			c = time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if !s.hour[c.Hour()] {
			c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if !s.min[c.Minute()] {
			c = c.Add(time.Minute)
			continue
		}
		return c
	}
	return time.Time{}
}
