// Package transform is CloudWatch Logs' log transformer engine: the 23
// processors of the API's Processor shape, the rules a transformer
// configuration must satisfy, and the application of a configuration to one
// log event.
//
// Data flows: a configuration ([]Processor, the wire shape PutTransformer,
// TestTransformer and TRANSFORMER_POLICY account policies carry) enters
// Compile, which checks AWS's transformer-wide rules (1 to 20 processors, a
// parser first, at most five parsers, vended parsers first and alone, at most
// one grok, addKeys and copyValue...) and each processor's own (grok patterns
// from AWS's library compiled to RE2, Java date patterns, regexes), and
// returns a *Transformer. Its Apply takes one event's message and metadata and
// returns the transformed event, a JSON object: parsers add keys to it (the
// original message is not part of it; it stays what GetLogEvents returns),
// mutators rewrite it in order, like a pipeline. A processor that fails
// stops the pipeline for that event, which keeps what was built so far plus
// the system field @transformationError (DOC-TR "Transformation metrics and
// errors").
//
// The package knows nothing of log groups, HTTP or the store: package
// logs/transformer keeps configurations and runs Apply at ingest.
package transform

import (
	"fmt"
	"strings"
	"sync"
)

// Processor is one element of a transformer configuration: exactly one member
// is set. The JSON names are the API's.
type Processor struct {
	AddKeys           *AddKeys           `json:"addKeys,omitempty"`
	CopyValue         *CopyValue         `json:"copyValue,omitempty"`
	CSV               *CSV               `json:"csv,omitempty"`
	DateTimeConverter *DateTimeConverter `json:"dateTimeConverter,omitempty"`
	DeleteKeys        *WithKeys          `json:"deleteKeys,omitempty"`
	Grok              *Grok              `json:"grok,omitempty"`
	ListToMap         *ListToMap         `json:"listToMap,omitempty"`
	LowerCaseString   *WithKeys          `json:"lowerCaseString,omitempty"`
	MoveKeys          *MoveKeys          `json:"moveKeys,omitempty"`
	ParseCloudfront   *SourceOnly        `json:"parseCloudfront,omitempty"`
	ParseJSON         *ParseJSON         `json:"parseJSON,omitempty"`
	ParseKeyValue     *ParseKeyValue     `json:"parseKeyValue,omitempty"`
	ParseRoute53      *SourceOnly        `json:"parseRoute53,omitempty"`
	ParseToOCSF       *ParseToOCSF       `json:"parseToOCSF,omitempty"`
	ParsePostgres     *SourceOnly        `json:"parsePostgres,omitempty"`
	ParseVPC          *SourceOnly        `json:"parseVPC,omitempty"`
	ParseWAF          *SourceOnly        `json:"parseWAF,omitempty"`
	RenameKeys        *RenameKeys        `json:"renameKeys,omitempty"`
	SplitString       *SplitString       `json:"splitString,omitempty"`
	SubstituteString  *SubstituteString  `json:"substituteString,omitempty"`
	TrimString        *WithKeys          `json:"trimString,omitempty"`
	TypeConverter     *TypeConverter     `json:"typeConverter,omitempty"`
	UpperCaseString   *WithKeys          `json:"upperCaseString,omitempty"`
}

type AddKeys struct {
	Entries []AddKeyEntry `json:"entries"`
}

type AddKeyEntry struct {
	Key               string `json:"key"`
	Value             string `json:"value"`
	OverwriteIfExists bool   `json:"overwriteIfExists,omitempty"`
}

type CopyValue struct {
	Entries []SourceTarget `json:"entries"`
}

// SourceTarget is an entry of copyValue and moveKeys.
type SourceTarget struct {
	Source            string `json:"source"`
	Target            string `json:"target"`
	OverwriteIfExists bool   `json:"overwriteIfExists,omitempty"`
}

type CSV struct {
	QuoteCharacter *string  `json:"quoteCharacter,omitempty"`
	Delimiter      *string  `json:"delimiter,omitempty"`
	Columns        []string `json:"columns,omitempty"`
	Source         string   `json:"source,omitempty"`
	Destination    string   `json:"destination,omitempty"`
}

type DateTimeConverter struct {
	Source         string   `json:"source"`
	Target         string   `json:"target"`
	TargetFormat   string   `json:"targetFormat,omitempty"`
	MatchPatterns  []string `json:"matchPatterns"`
	SourceTimezone string   `json:"sourceTimezone,omitempty"`
	TargetTimezone string   `json:"targetTimezone,omitempty"`
	Locale         string   `json:"locale,omitempty"`
}

// WithKeys is deleteKeys, lowerCaseString, upperCaseString and trimString.
type WithKeys struct {
	WithKeys []string `json:"withKeys"`
}

type Grok struct {
	Source string `json:"source,omitempty"`
	Match  string `json:"match"`
}

type ListToMap struct {
	Source           string `json:"source"`
	Key              string `json:"key"`
	ValueKey         string `json:"valueKey,omitempty"`
	Target           string `json:"target,omitempty"`
	Flatten          bool   `json:"flatten,omitempty"`
	FlattenedElement string `json:"flattenedElement,omitempty"`
}

type MoveKeys struct {
	Entries []SourceTarget `json:"entries"`
}

// SourceOnly is the vended parsers' shape.
type SourceOnly struct {
	Source string `json:"source,omitempty"`
}

type ParseJSON struct {
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination,omitempty"`
}

type ParseKeyValue struct {
	Source            string `json:"source,omitempty"`
	Destination       string `json:"destination,omitempty"`
	FieldDelimiter    string `json:"fieldDelimiter,omitempty"`
	KeyValueDelimiter string `json:"keyValueDelimiter,omitempty"`
	KeyPrefix         string `json:"keyPrefix,omitempty"`
	NonMatchValue     string `json:"nonMatchValue,omitempty"`
	OverwriteIfExists bool   `json:"overwriteIfExists,omitempty"`
}

type ParseToOCSF struct {
	Source         string `json:"source,omitempty"`
	EventSource    string `json:"eventSource"`
	OcsfVersion    string `json:"ocsfVersion"`
	MappingVersion string `json:"mappingVersion,omitempty"`
}

type RenameKeys struct {
	Entries []RenameKeyEntry `json:"entries"`
}

type RenameKeyEntry struct {
	Key               string `json:"key"`
	RenameTo          string `json:"renameTo"`
	OverwriteIfExists bool   `json:"overwriteIfExists,omitempty"`
}

type SplitString struct {
	Entries []SplitStringEntry `json:"entries"`
}

type SplitStringEntry struct {
	Source    string `json:"source"`
	Delimiter string `json:"delimiter"`
}

type SubstituteString struct {
	Entries []SubstituteStringEntry `json:"entries"`
}

type SubstituteStringEntry struct {
	Source string `json:"source"`
	From   string `json:"from"`
	To     string `json:"to"`
}

type TypeConverter struct {
	Entries []TypeConverterEntry `json:"entries"`
}

type TypeConverterEntry struct {
	Key  string `json:"key"`
	Type string `json:"type"`
}

// Metadata is what copyValue's metadata sources read.
type Metadata struct {
	LogGroupName, LogStreamName, AccountID, Region string
}

// ConfigError is a configuration AWS refuses; the family answers it with
// InvalidParameterException and Message.
type ConfigError struct{ Message string }

func (e *ConfigError) Error() string { return e.Message }

func configErr(format string, args ...any) error {
	return &ConfigError{Message: fmt.Sprintf(format, args...)}
}

// Limits of the transformer as a whole (DOC-TR "Create and manage log
// transformers"; the model for the processor count).
const (
	MaxProcessors = 20
	maxParsers    = 5
	// MaxFields is how many fields a transformer may extract from one event.
	MaxFields = 200
	// MaxEventBytes: larger events fail transformation ("logs transformation
	// can only handle log event of size less than 512kb", DOC-TR).
	MaxEventBytes = 512 * 1024
	maxKeyDepth   = 3
)

// step is one compiled processor.
type step struct {
	name string
	run  func(ev *event) error
}

// Transformer is a compiled configuration, safe for concurrent use.
type Transformer struct {
	steps []step
	// events are spent events, reused by AppendApply: the root object's
	// member slices and the grok index buffer survive from one event to the
	// next, so a transformer whose values are strings allocates little
	// more than their boxes.
	events sync.Pool
}

// event is one event on its way through the pipeline.
type event struct {
	root   *Object
	msg    string
	meta   Metadata
	fields int   // keys parsers and mutators added, for MaxFields
	idx    []int // grok's submatch indexes, reused
}

// reset makes ev ready for another message, dropping every reference the
// last one left (so a spent event holds no message alive).
func (ev *event) reset(msg string, meta Metadata) {
	clear(ev.root.keys)
	clear(ev.root.vals)
	ev.root.keys, ev.root.vals = ev.root.keys[:0], ev.root.vals[:0]
	ev.msg, ev.meta, ev.fields = msg, meta, 0
}

// ErrorField is the system field a failed transformation adds.
const ErrorField = "@transformationError"

// Apply transforms one event's message and returns the transformed event as
// JSON, and whether every processor succeeded.
func (t *Transformer) Apply(msg string, meta Metadata) ([]byte, bool) {
	return t.AppendApply(nil, msg, meta)
}

// AppendApply is Apply appending to dst.
func (t *Transformer) AppendApply(dst []byte, msg string, meta Metadata) ([]byte, bool) {
	ev, _ := t.events.Get().(*event)
	if ev == nil {
		ev = &event{root: &Object{keys: make([]string, 0, 8), vals: make([]any, 0, 8)}}
	}
	ev.reset(msg, meta)
	defer func() {
		ev.reset("", Metadata{})
		t.events.Put(ev)
	}()
	ok := true
	if len(msg) >= MaxEventBytes {
		ev.root.Set(ErrorField, "log event is larger than 512 KB and was not transformed")
		ok = false
	} else {
		for _, s := range t.steps {
			if err := s.run(ev); err != nil {
				ev.root.Set(ErrorField, s.name+": "+err.Error())
				ok = false
				break
			}
		}
	}
	return appendJSON(dst, ev.root), ok
}

// kind classifies processors for the placement rules.
func kind(name string) (parser, vended bool) {
	switch name {
	case "parseCloudfront", "parsePostgres", "parseRoute53", "parseVPC", "parseWAF":
		return true, true
	case "parseJSON", "grok", "csv", "parseKeyValue", "parseToOCSF":
		return true, false
	}
	return false, false
}

// member returns the name and the set member of p, or an error when none or
// more than one is set (the shape is a union).
func (p *Processor) member() (string, any, error) {
	var name string
	var val any
	n := 0
	set := func(nm string, ok bool, v any) {
		if ok {
			n++
			name, val = nm, v
		}
	}
	set("addKeys", p.AddKeys != nil, p.AddKeys)
	set("copyValue", p.CopyValue != nil, p.CopyValue)
	set("csv", p.CSV != nil, p.CSV)
	set("dateTimeConverter", p.DateTimeConverter != nil, p.DateTimeConverter)
	set("deleteKeys", p.DeleteKeys != nil, p.DeleteKeys)
	set("grok", p.Grok != nil, p.Grok)
	set("listToMap", p.ListToMap != nil, p.ListToMap)
	set("lowerCaseString", p.LowerCaseString != nil, p.LowerCaseString)
	set("moveKeys", p.MoveKeys != nil, p.MoveKeys)
	set("parseCloudfront", p.ParseCloudfront != nil, p.ParseCloudfront)
	set("parseJSON", p.ParseJSON != nil, p.ParseJSON)
	set("parseKeyValue", p.ParseKeyValue != nil, p.ParseKeyValue)
	set("parseRoute53", p.ParseRoute53 != nil, p.ParseRoute53)
	set("parseToOCSF", p.ParseToOCSF != nil, p.ParseToOCSF)
	set("parsePostgres", p.ParsePostgres != nil, p.ParsePostgres)
	set("parseVPC", p.ParseVPC != nil, p.ParseVPC)
	set("parseWAF", p.ParseWAF != nil, p.ParseWAF)
	set("renameKeys", p.RenameKeys != nil, p.RenameKeys)
	set("splitString", p.SplitString != nil, p.SplitString)
	set("substituteString", p.SubstituteString != nil, p.SubstituteString)
	set("trimString", p.TrimString != nil, p.TrimString)
	set("typeConverter", p.TypeConverter != nil, p.TypeConverter)
	set("upperCaseString", p.UpperCaseString != nil, p.UpperCaseString)
	switch n {
	case 0:
		return "", nil, configErr("Each processor must specify exactly one processor type.")
	case 1:
		return name, val, nil
	}
	return "", nil, configErr("Each processor must specify exactly one processor type, but one specifies %d.", n)
}

// Compile checks a configuration as PutTransformer does and compiles it. The
// model's per-member limits (lengths, list sizes, enums) are the protocol's
// to check before this runs; Compile checks them again where a violation
// would make a processor misbehave, so that callers outside the protocol
// (account policies) are safe too.
//
// AWS does not publish the texts of these refusals (reference §5 #22); the
// messages say what rule was broken in the documentation's words.
func Compile(procs []Processor) (*Transformer, error) {
	if len(procs) < 1 || len(procs) > MaxProcessors {
		return nil, configErr("A transformer must have between 1 and %d processors.", MaxProcessors)
	}
	t := &Transformer{}
	parsers, once := 0, map[string]bool{}
	for i, p := range procs {
		name, val, err := p.member()
		if err != nil {
			return nil, err
		}
		parser, vended := kind(name)
		if i == 0 && !parser {
			return nil, configErr("The first processor in a transformer must be a parser, but it is %s.", name)
		}
		if parser {
			parsers++
			if parsers > maxParsers {
				return nil, configErr("A transformer can have at most %d parser-type processors.", maxParsers)
			}
		}
		if vended && i != 0 {
			return nil, configErr("The %s processor must be the first processor in a transformer.", name)
		}
		switch name {
		case "grok", "addKeys", "copyValue":
			if once[name] {
				return nil, configErr("A transformer can contain at most one %s processor.", name)
			}
			once[name] = true
		}
		run, err := compileOne(name, val, i == 0)
		if err != nil {
			return nil, err
		}
		t.steps = append(t.steps, step{name: name, run: run})
	}
	return t, nil
}

// checkPath validates a key path: 1 to 128 characters, at most three levels.
func checkPath(proc, field, path string, required bool) error {
	if path == "" {
		if required {
			return configErr("%s: %s is required.", proc, field)
		}
		return nil
	}
	if len(path) > 128 {
		return configErr("%s: %s must be at most 128 characters long.", proc, field)
	}
	if strings.Count(path, ".") >= maxKeyDepth {
		return configErr("%s: %s %q is nested deeper than %d levels.", proc, field, path, maxKeyDepth)
	}
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			return configErr("%s: %s %q has an empty path segment.", proc, field, path)
		}
	}
	return nil
}

func checkCount(proc, field string, n, lo, hi int) error {
	if n < lo || n > hi {
		return configErr("%s: %s must have between %d and %d entries.", proc, field, lo, hi)
	}
	return nil
}
