// Package logs is the CloudWatch Logs service's core family of operations:
// log groups, streams, events, tags, retention, KMS keys and deletion
// protection, independent of HTTP and of the storage engine. The other
// families (Live Tail, Insights, metric filters, subscriptions, policies,
// deliveries...) are packages of their own under logs/ that share what this
// one exports in family.go: the group ARNs, name resolution, the store error
// mapping and the pattern compiler. Cairn's in-process writers (syslog,
// OTLP, the audit trail) store events with Put (put.go), which cuts them
// into PutLogEvents batches and sends them through a Writer: this Service,
// or one gated by package logs/policygate.
//
// Every operation is a typed function, func(ctx, caller.Caller, *In) (*Out,
// error). Clients reach it through package protocol, which builds the Caller
// from the HTTP request and decodes and validates the input against the API
// model (Register adds the operations to the protocol's Table); background
// work calls it directly with a Caller of its own (caller.System). Each
// operation applies AWS's rules (limits, defaults, ordering, pagination
// tokens, error texts), authorizes the caller on the resource's ARN, and
// reads or writes through store.Store. Filter patterns are compiled by the
// Config.Compile function (package pattern), so FilterLogEvents,
// TestMetricFilter and Live Tail share one language.
package logs

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/readahead"
	"github.com/cairnlog/cairn/internal/store"
)

// Pattern is a compiled filter pattern.
type Pattern interface {
	store.Matcher
	MatchesAll() bool
	Extract(message string) (bool, map[string]string)
}

// Config configures a Service.
type Config struct {
	Store   store.Store
	Compile func(expr string) (Pattern, error)
	Now     func() time.Time
	Logger  *slog.Logger
	// ScanBudget bounds the message bytes one FilterLogEvents page examines
	// before it returns (possibly empty) with a nextToken, as AWS does.
	ScanBudget int64
	// Model is the API model PutLogEvents validates its members against;
	// nil means the embedded model (awsmodel.Load).
	Model *awsmodel.Model
	// Ingest are the ingest-time stages (transformers, data protection),
	// run in this order on every PutLogEvents batch before it is stored
	// (ingest.go).
	Ingest []IngestStage
	// Unmasker returns the originals of masked events to callers allowed
	// logs:Unmask (ingest.go); nil: nothing is ever masked.
	Unmasker Unmasker
	// ReadAhead, when set and the Store implements store.ReadVersioner,
	// prepares FilterLogEvents' next page while the client reads the
	// current one (readahead.go). The caller owns it (and Closes it).
	ReadAhead *readahead.Cache[*FilterLogEventsOutput]
}

// Service implements the CloudWatch Logs operations.
type Service struct {
	st      store.Store
	compile func(string) (Pattern, error)
	now     func() time.Time
	log     *slog.Logger
	budget  int64
	model   *awsmodel.Model
	stages  []IngestStage

	unmasker Unmasker
	ahead    *readahead.Cache[*FilterLogEventsOutput] // nil: no read-ahead
	versions store.ReadVersioner                      // the Store's, with ahead

	// taggable maps the ARN resource types of other families' taggable
	// records to their store kinds (Taggable, tags.go); tagMu serialises
	// the updates of their tags.
	taggable map[string]string
	tagMu    sync.Mutex
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ScanBudget == 0 {
		cfg.ScanBudget = 256 << 20
	}
	if cfg.Model == nil {
		m, err := awsmodel.Load()
		if err != nil {
			// The model is embedded in the binary and its tests load it.
			panic("BUG: embedded API model: " + err.Error())
		}
		cfg.Model = m
	}
	s := &Service{st: cfg.Store, compile: cfg.Compile, now: cfg.Now, log: cfg.Logger, budget: cfg.ScanBudget, model: cfg.Model, stages: cfg.Ingest, unmasker: cfg.Unmasker}
	if v, ok := cfg.Store.(store.ReadVersioner); ok && cfg.ReadAhead != nil {
		s.ahead, s.versions = cfg.ReadAhead, v
	}
	return s
}

// Register adds the core operations (log groups, streams, events, tags,
// retention, KMS keys, deletion protection) to t. PutLogEvents is registered
// unchecked: it validates its members itself (events.go). The control-plane
// operations of groups and streams answer an over-long logGroupName with
// AWS's own text (GroupNameFirst, recorded for CreateLogGroup); the event
// operations are left without the extra decode of their bodies.
func (s *Service) Register(t *protocol.Table) {
	t.Add("CreateLogGroup", GroupNameFirst(protocol.Decoded(s.CreateLogGroup)))
	t.Add("DeleteLogGroup", GroupNameFirst(protocol.Decoded(s.DeleteLogGroup)))
	t.Add("DescribeLogGroups", protocol.Decoded(s.DescribeLogGroups))
	t.Add("ListLogGroups", protocol.Decoded(s.ListLogGroups))
	t.Add("CreateLogStream", GroupNameFirst(protocol.Decoded(s.CreateLogStream)))
	t.Add("DeleteLogStream", GroupNameFirst(protocol.Decoded(s.DeleteLogStream)))
	t.Add("DescribeLogStreams", GroupNameFirst(protocol.Decoded(s.DescribeLogStreams)))
	t.Add("PutLogEvents", protocol.Unchecked(s.PutLogEvents))
	t.Add("GetLogEvents", protocol.Decoded(s.GetLogEvents))
	t.Add("FilterLogEvents", protocol.Decoded(s.FilterLogEvents))
	t.Add("PutRetentionPolicy", GroupNameFirst(protocol.Decoded(s.PutRetentionPolicy)))
	t.Add("DeleteRetentionPolicy", GroupNameFirst(protocol.Decoded(s.DeleteRetentionPolicy)))
	t.Add("TagResource", protocol.Decoded(s.TagResource))
	t.Add("UntagResource", protocol.Decoded(s.UntagResource))
	t.Add("ListTagsForResource", protocol.Decoded(s.ListTagsForResource))
	t.Add("TagLogGroup", protocol.Decoded(s.TagLogGroup))
	t.Add("UntagLogGroup", protocol.Decoded(s.UntagLogGroup))
	t.Add("ListTagsLogGroup", protocol.Decoded(s.ListTagsLogGroup))
	t.Add("AssociateKmsKey", protocol.Decoded(s.AssociateKmsKey))
	t.Add("DisassociateKmsKey", protocol.Decoded(s.DisassociateKmsKey))
	t.Add("PutLogGroupDeletionProtection", protocol.Decoded(s.PutLogGroupDeletionProtection))
}

func scopeOf(c caller.Caller) store.Scope {
	return store.Scope{Account: c.Account, Region: c.Region}
}

// storeErr maps engine errors to AWS errors. Anything else stays internal.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrGroupNotFound):
		return awserr.GroupNotFound()
	case errors.Is(err, store.ErrStreamNotFound):
		return awserr.StreamNotFound()
	case errors.Is(err, store.ErrGroupExists):
		return awserr.GroupExists()
	case errors.Is(err, store.ErrStreamExists):
		return awserr.StreamExists()
	case errors.Is(err, store.ErrNoSpace):
		// A full disk is the service's trouble, not the caller's: AWS's
		// answer for that is ServiceUnavailableException (SDKs retry it).
		// The engine logs the condition once; the edge must not log every
		// refused request.
		return awserr.Internal()
	}
	if _, ok := awserr.As(err); ok {
		return err
	}
	return err
}

func ptr[T any](v T) *T { return &v }
