package protocol

import (
	"context"
	"fmt"
	"sort"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
)

// Table is the operations a Handler serves, by name as X-Amz-Target spells it
// after the prefix ("CreateLogGroup"). Each family of operations (the core
// groups, streams and events; Live Tail; metric filters; later Insights,
// subscriptions, deliveries...) lives in its own package with a
// Register(*Table) method, and server calls them all on one table, so no
// package has to know every operation. A Table is filled before serving and
// only read after.
type Table struct {
	ops map[string]Operation
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{ops: map[string]Operation{}} }

// Add serves op under name. Two families claiming one name is a wiring
// mistake caught at start, not a choice made at run time.
func (t *Table) Add(name string, op Operation) {
	if _, dup := t.ops[name]; dup {
		panic(fmt.Sprintf("BUG: operation %s registered twice", name))
	}
	if op == nil {
		panic(fmt.Sprintf("BUG: operation %s registered without a function", name))
	}
	t.ops[name] = op
}

// Has reports whether name is served.
func (t *Table) Has(name string) bool { return t.lookup(name) != nil }

// Names lists the served operations, sorted.
func (t *Table) Names() []string {
	if t == nil {
		return nil
	}
	names := make([]string, 0, len(t.ops))
	for n := range t.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (t *Table) lookup(name string) Operation {
	if t == nil {
		return nil
	}
	return t.ops[name]
}

// Func is a typed service operation: what a family implements, and what a
// background worker calls directly with a Caller it built.
type Func[In, Out any] func(ctx context.Context, c caller.Caller, in *In) (*Out, error)

// Decoded adapts fn to the wire: the body is decoded into a new In and
// validated against the operation's input shape in the API model (Call.Decode)
// before fn runs. A nil *Out answers {}.
func Decoded[In, Out any](fn Func[In, Out]) Operation {
	return func(ctx context.Context, c *Call) (any, error) {
		in := new(In)
		if err := c.Decode(in); err != nil {
			return nil, err
		}
		return result(fn(ctx, c.Caller, in))
	}
}

// DecodedValidation is Decoded for the newer operations (deliveries, S3
// table integrations) whose model errors list ValidationException and not
// InvalidParameterException: AWS answers their model violations with the same
// text under that code ("1 validation error detected: Value 'foobar' at
// 'outputFormat' failed to satisfy constraint: …", recorded).
func DecodedValidation[In, Out any](fn Func[In, Out]) Operation {
	return func(ctx context.Context, c *Call) (any, error) {
		in := new(In)
		if err := c.Decode(in); err != nil {
			if e, ok := awserr.As(err); ok && e.Code == awserr.InvalidParameter {
				return nil, awserr.AsValidation(e)
			}
			return nil, err
		}
		return result(fn(ctx, c.Caller, in))
	}
}

// Unchecked adapts fn like Decoded but without the model walk
// (Call.DecodeUnchecked): for hot paths (PutLogEvents) whose fn validates the
// members it uses itself, with the model's wording, so what it validates is
// what it uses. Names still match exactly and duplicates are refused.
func Unchecked[In, Out any](fn Func[In, Out]) Operation {
	return func(ctx context.Context, c *Call) (any, error) {
		in := new(In)
		if err := c.DecodeUnchecked(in); err != nil {
			return nil, err
		}
		return result(fn(ctx, c.Caller, in))
	}
}

func result[Out any](out *Out, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if out == nil {
		return struct{}{}, nil
	}
	return out, nil
}
