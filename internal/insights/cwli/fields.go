package cwli

import "github.com/cairnlog/cairn/internal/store"

// DiscoverFields lists the fields an event has, for GetLogGroupFields: the
// system fields, then the flattened JSON leaves (dots and array indexes,
// at most 200) when the message is a JSON object. A discovered field whose
// own name starts with @ is shown with an extra @ (insights.md §5.1).
func DiscoverFields(ev store.StoredEvent) []string {
	out := []string{"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"}
	msg := ev.Message
	if lambdaType(msg) != "" {
		for _, f := range []string{"@type", "@requestId", "@duration", "@billedDuration", "@initDuration", "@memorySize", "@maxMemoryUsed", "@xrayTraceId", "@xraySegmentId"} {
			if lambdaField(msg, f).k != kNull {
				out = append(out, f)
			}
		}
		return out
	}
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return out
	}
	seen := map[string]bool{}
	w := jsonWalker{src: msg, leaf: func(path []byte, _ Value) bool {
		name := string(path)
		if len(name) > 0 && name[0] == '@' {
			name = "@" + name
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		return true
	}}
	w.value(i, 0)
	return out
}
