package cwli

import "strings"

// Lambda's platform lines (START, END, REPORT RequestId: …) get discovered
// fields (insights.md §5.2): @type, @requestId, and on REPORT lines
// @duration, @billedDuration, @initDuration (ms), @memorySize and
// @maxMemoryUsed (bytes: AWS's sample queries divide them by 1000 twice for
// MB, so a "128 MB" line is 128000000), @xrayTraceId, @xraySegmentId.
var lambdaFields = map[string]bool{"@type": true, "@requestId": true, "@duration": true, "@billedDuration": true,
	"@initDuration": true, "@memorySize": true, "@maxMemoryUsed": true, "@xrayTraceId": true, "@xraySegmentId": true}

type lambdaE struct{ name string }

func (e lambdaE) eval(r *row, _ *env) Value {
	if !r.hasEv {
		return null
	}
	return lambdaField(r.ev.Message, e.name)
}

func lambdaType(msg string) string {
	for _, t := range []string{"REPORT", "START", "END"} {
		if strings.HasPrefix(msg, t+" RequestId: ") {
			return t
		}
	}
	return ""
}

func lambdaField(msg, name string) Value {
	t := lambdaType(msg)
	if t == "" {
		return null
	}
	rest := msg[len(t)+len(" RequestId: "):]
	switch name {
	case "@type":
		return str(t)
	case "@requestId":
		end := strings.IndexAny(rest, " \t\n")
		if end < 0 {
			end = len(rest)
		}
		return str(rest[:end])
	}
	if t != "REPORT" {
		return null
	}
	label, scale := "", 1.0
	switch name {
	case "@duration":
		label = "\tDuration: "
	case "@billedDuration":
		label = "Billed Duration: "
	case "@initDuration":
		label = "Init Duration: "
	case "@memorySize":
		label, scale = "Memory Size: ", 1e6
	case "@maxMemoryUsed":
		label, scale = "Max Memory Used: ", 1e6
	case "@xrayTraceId":
		label, scale = "XRAY TraceId: ", 0
	case "@xraySegmentId":
		label, scale = "SegmentId: ", 0
	}
	i := strings.Index(rest, label)
	if i < 0 && name == "@duration" {
		// "Duration:" not preceded by a tab (some runtimes use spaces)
		for j := 0; j < len(rest); {
			k := strings.Index(rest[j:], "Duration: ")
			if k < 0 {
				break
			}
			if j+k == 0 || rest[j+k-1] == ' ' || rest[j+k-1] == '\t' {
				if !strings.HasSuffix(rest[:j+k], "Billed ") && !strings.HasSuffix(rest[:j+k], "Init ") {
					i, label = j+k, "Duration: "
					break
				}
			}
			j += k + 1
		}
	}
	if i < 0 {
		return null
	}
	v := rest[i+len(label):]
	end := strings.IndexAny(v, " \t\n")
	if end < 0 {
		end = len(v)
	}
	v = v[:end]
	if scale == 0 {
		return str(v)
	}
	f, ok := parseNumber(v)
	if !ok {
		return null
	}
	if scale == 1 {
		return str(v)
	}
	return num(f * scale)
}
