package cwli

import (
	"strconv"
	"strings"
	"time"
)

type unit uint8

const (
	uMs unit = iota
	uS
	uM
	uH
	uD
	uW
	uMo
	uQ
	uY
)

var unitMs = [...]int64{1, 1000, 60000, 3600000, 86400000, 7 * 86400000}

// duration is "<n><unit>" as bin, datefloor and dateceil take it.
type duration struct {
	n int64
	u unit
}

// unitOf maps the spellings of insights.md §1.1 (plural s allowed on
// multi-letter forms) to units.
func unitOf(s string) (unit, bool) {
	s = strings.ToLower(s)
	switch s {
	case "ms", "msec", "msecs", "millisecond", "milliseconds":
		return uMs, true
	case "s", "sec", "secs", "second", "seconds":
		return uS, true
	case "m", "min", "mins", "minute", "minutes":
		return uM, true
	case "h", "hr", "hrs", "hour", "hours":
		return uH, true
	case "d", "day", "days":
		return uD, true
	case "w", "week", "weeks":
		return uW, true
	case "mo", "mon", "mons", "month", "months":
		return uMo, true
	case "q", "qtr", "qtrs", "quarter", "quarters":
		return uQ, true
	case "y", "yr", "yrs", "year", "years":
		return uY, true
	}
	return 0, false
}

// unitCap is the per-unit cap of AWS's documentation: a larger count is
// silently clamped (bin(300s) behaves as bin(60s)). No caps are documented
// for days and longer.
var unitCap = [...]int64{uMs: 1000, uS: 60, uM: 60, uH: 24}

func parseDuration(s string) (duration, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n <= 0 || n > 1e9 {
		return duration{}, false
	}
	u, ok := unitOf(s[i:])
	if !ok {
		return duration{}, false
	}
	if int(u) < len(unitCap) && n > unitCap[u] {
		n = unitCap[u]
	}
	return duration{n: n, u: u}, true
}

// floor rounds ms down to the start of its bucket. Fixed units align to the
// UTC epoch, except weeks, which start on Monday 00:00 UTC (ISO weeks; AWS
// does not document the start day). Months, quarters and years are calendar
// buckets in UTC counted from year 0.
func (d duration) floor(ms int64) int64 {
	switch d.u {
	case uMo, uQ, uY:
		t := time.UnixMilli(ms).UTC()
		months := int64(t.Year())*12 + int64(t.Month()-1)
		step := d.n
		switch d.u {
		case uQ:
			step *= 3
		case uY:
			step *= 12
		}
		months -= mod(months, step)
		return time.Date(int(months/12), time.Month(months%12+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case uW:
		const monday = 4 * 86400000 // 1970-01-01 was a Thursday; the 5th a Monday
		w := d.n * unitMs[uW]
		return ms - mod(ms-monday, w)
	}
	w := d.n * unitMs[d.u]
	return ms - mod(ms, w)
}

// ceil rounds up to a bucket boundary; a value on a boundary stays.
func (d duration) ceil(ms int64) int64 {
	f := d.floor(ms)
	if f == ms {
		return ms
	}
	switch d.u {
	case uMo, uQ, uY:
		t := time.UnixMilli(f).UTC()
		m := int(d.n)
		switch d.u {
		case uQ:
			m *= 3
		case uY:
			m *= 12
		}
		return t.AddDate(0, m, 0).UnixMilli()
	}
	return f + d.n*unitMs[d.u]
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// parseDurationUncapped reads "<n><unit>" as milliseconds without the
// per-unit caps (SOURCE START=-3600s means an hour).
func parseDurationUncapped(s string) (int64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n < 0 || n > 1e12 {
		return 0, false
	}
	u, ok := unitOf(s[i:])
	if !ok || u > uW {
		return 0, false
	}
	return n * unitMs[u], true
}
