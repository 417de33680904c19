package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeYAMLFile decodes a config file strictly (unknown keys are errors)
// into v, a pointer to a struct with yaml tags. yaml.v3 words an unknown key
// as "field x not found in type struct { Files []string "yaml:\"files\""; …}",
// a Go type dump; decodeYAMLFile says instead which key is unknown, on which
// line, and lists the keys valid at that place.
func decodeYAMLFile(name string, raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config file %s: %w", name, err)
	}
	keys := map[string][]string{}
	collectKeys(reflect.TypeOf(v), keys, map[reflect.Type]bool{})
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = rewordYAML(m, keys)
	}
	return fmt.Errorf("config file %s: %s", name, strings.Join(msgs, "; "))
}

var unknownField = regexp.MustCompile(`^(line \d+): field (\S+) not found in type (.+)$`)

func rewordYAML(msg string, keys map[string][]string) string {
	m := unknownField.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	out := fmt.Sprintf("%s: unknown key %q", m[1], m[2])
	if valid, ok := keys[m[3]]; ok {
		out += " (valid keys here: " + strings.Join(valid, ", ") + ")"
	}
	return out
}

// collectKeys maps every struct type reachable from t (as yaml.v3 prints
// it) to its yaml keys.
func collectKeys(t reflect.Type, keys map[string][]string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
		collectKeys(f.Type, keys, seen)
	}
	sort.Strings(names)
	keys[t.String()] = names
}
