// Package logs is the CloudWatch Logs service: the semantics of every
// operation Cairn implements, independent of HTTP and of the storage engine.
//
// Calls arrive from package protocol as *protocol.Call (decoded, validated
// against the API model, authenticated). Each operation applies AWS's rules —
// limits, defaults, ordering, pagination tokens, error texts — authorizes the
// caller on the resource's ARN, and reads or writes through store.Store. Filter
// patterns are compiled by the Config.Compile function (package pattern), so
// FilterLogEvents, TestMetricFilter and Live Tail share one language.
package logs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/protocol"
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
}

// Service implements the CloudWatch Logs operations.
type Service struct {
	st      store.Store
	compile func(string) (Pattern, error)
	now     func() time.Time
	log     *slog.Logger
	budget  int64
	tail    liveTail // set by SetTail (livetail.go)
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
	return &Service{st: cfg.Store, compile: cfg.Compile, now: cfg.Now, log: cfg.Logger, budget: cfg.ScanBudget}
}

// Operations returns the operation table for protocol.Config.
func (s *Service) Operations() map[string]protocol.Operation {
	return map[string]protocol.Operation{
		"CreateLogGroup":                op(s.CreateLogGroup),
		"DeleteLogGroup":                op(s.DeleteLogGroup),
		"DescribeLogGroups":             op(s.DescribeLogGroups),
		"CreateLogStream":               op(s.CreateLogStream),
		"DeleteLogStream":               op(s.DeleteLogStream),
		"DescribeLogStreams":            op(s.DescribeLogStreams),
		"PutLogEvents":                  s.putLogEvents,
		"GetLogEvents":                  op(s.GetLogEvents),
		"FilterLogEvents":               op(s.FilterLogEvents),
		"PutRetentionPolicy":            op(s.PutRetentionPolicy),
		"DeleteRetentionPolicy":         op(s.DeleteRetentionPolicy),
		"TagResource":                   op(s.TagResource),
		"UntagResource":                 op(s.UntagResource),
		"ListTagsForResource":           op(s.ListTagsForResource),
		"TagLogGroup":                   op(s.TagLogGroup),
		"UntagLogGroup":                 op(s.UntagLogGroup),
		"ListTagsLogGroup":              op(s.ListTagsLogGroup),
		"AssociateKmsKey":               op(s.AssociateKmsKey),
		"DisassociateKmsKey":            op(s.DisassociateKmsKey),
		"PutLogGroupDeletionProtection": op(s.PutLogGroupDeletionProtection),
		"TestMetricFilter":              op(s.TestMetricFilter),
		"StartLiveTail":                 s.startLiveTail,
	}
}

// op adapts a typed operation: decode and validate the input, run it.
func op[In any, Out any](fn func(ctx context.Context, c *protocol.Call, in *In) (*Out, error)) protocol.Operation {
	return func(ctx context.Context, c *protocol.Call) (any, error) {
		in := new(In)
		if err := decode(c, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return struct{}{}, nil
		}
		return out, nil
	}
}

func scopeOf(c *protocol.Call) store.Scope {
	return store.Scope{Account: c.Account(), Region: c.Region()}
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
