package transform

import (
	"errors"
	"strings"
	"time"
	_ "time/tzdata" // time zones by Java's ids on any host, not only ones with /usr/share/zoneinfo
)

// dateTimeConverter: matchPatterns and targetFormat are Java
// DateTimeFormatter patterns; javaLayout translates the common letters to a
// Go layout. Locale: Go formats only English names, so only ROOT and English
// locales are accepted (the refusal says so) rather than printing English
// names for a German pattern.

func compileDateTime(p *DateTimeConverter) (func(*event) error, error) {
	if err := checkPath("dateTimeConverter", "source", p.Source, true); err != nil {
		return nil, err
	}
	if err := checkPath("dateTimeConverter", "target", p.Target, true); err != nil {
		return nil, err
	}
	if err := checkCount("dateTimeConverter", "matchPatterns", len(p.MatchPatterns), 1, 5); err != nil {
		return nil, err
	}
	var layouts []string
	for _, mp := range p.MatchPatterns {
		l, err := javaLayout(mp)
		if err != nil {
			return nil, configErr("dateTimeConverter: matchPattern %q is not a supported date-time pattern: %v.", mp, err)
		}
		layouts = append(layouts, l)
	}
	tf := p.TargetFormat
	if tf == "" {
		tf = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
	}
	target, err := javaLayout(tf)
	if err != nil {
		return nil, configErr("dateTimeConverter: targetFormat %q is not a supported date-time pattern: %v.", tf, err)
	}
	zone := func(field, id string) (*time.Location, error) {
		if id == "" {
			return time.UTC, nil
		}
		loc, err := time.LoadLocation(id)
		if err != nil {
			return nil, configErr("dateTimeConverter: %s %q is not a valid time zone.", field, id)
		}
		return loc, nil
	}
	srcZone, err := zone("sourceTimezone", p.SourceTimezone)
	if err != nil {
		return nil, err
	}
	dstZone, err := zone("targetTimezone", p.TargetTimezone)
	if err != nil {
		return nil, err
	}
	switch l := strings.ToLower(strings.ReplaceAll(p.Locale, "_", "-")); {
	case l == "", l == "root", l == "en", strings.HasPrefix(l, "en-"):
	default:
		return nil, configErr("dateTimeConverter: locale %q is not supported (Cairn supports ROOT and English locales).", p.Locale)
	}
	src, dst := p.Source, p.Target
	return func(ev *event) error {
		s, ok := mustString(getPath(ev.root, src))
		if !ok {
			return nil
		}
		for _, l := range layouts {
			t, err := time.ParseInLocation(l, s, srcZone)
			if err == nil {
				return ev.put(dst, t.In(dstZone).Format(target), true)
			}
		}
		return errors.New("the value at " + src + " matches none of matchPatterns")
	}, nil
}

// javaLayout translates a Java DateTimeFormatter pattern to a Go layout.
func javaLayout(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", errors.New("unterminated quote")
			}
			lit := p[i+1 : i+1+j]
			if lit == "" {
				b.WriteByte('\'')
			}
			if strings.ContainsAny(lit, "0123456789") || strings.Contains(lit, "Jan") || strings.Contains(lit, "Mon") || strings.Contains(lit, "PM") || strings.Contains(lit, "MST") {
				return "", errors.New("literal text that Go would read as a field")
			}
			b.WriteString(lit)
			i += j + 2
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			if c >= '0' && c <= '9' {
				return "", errors.New("digits outside quotes")
			}
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		i += n
		var out string
		switch c {
		case 'y', 'u':
			out = map[bool]string{true: "06", false: "2006"}[n == 2]
		case 'M', 'L':
			out = [...]string{"1", "01", "Jan", "January"}[min(n, 4)-1]
		case 'd':
			out = map[bool]string{true: "2", false: "02"}[n == 1]
		case 'H':
			out = map[bool]string{true: "15", false: "15"}[n == 1]
		case 'h':
			out = map[bool]string{true: "3", false: "03"}[n == 1]
		case 'm':
			out = map[bool]string{true: "4", false: "04"}[n == 1]
		case 's':
			out = map[bool]string{true: "5", false: "05"}[n == 1]
		case 'S':
			out = strings.Repeat("0", n)
			// Go wants fractional seconds after a dot or comma.
			s := b.String()
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ",") {
				return "", errors.New("fraction of second not after '.' or ','")
			}
		case 'a':
			out = "PM"
		case 'E':
			out = map[bool]string{true: "Monday", false: "Mon"}[n >= 4]
		case 'z':
			out = "MST"
		case 'Z':
			out = "-0700"
			if n == 5 {
				out = "-07:00"
			}
		case 'X':
			out = [...]string{"Z07", "Z0700", "Z07:00"}[min(n, 3)-1]
		case 'x':
			out = [...]string{"-07", "-0700", "-07:00"}[min(n, 3)-1]
		default:
			return "", errors.New("unsupported pattern letter " + string(c))
		}
		b.WriteString(out)
	}
	return b.String(), nil
}
