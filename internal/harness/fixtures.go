package harness

// The fixtures test packages kept writing again: IAM documents of a few
// users, the group-and-streams set-up, events put by message, the wait
// for a Logs Insights query, an exact AWS error, a clock tests move.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

// A Statement is one statement of an identity policy.
type Statement struct {
	Effect   string   // "Allow" or "Deny"
	Action   []string // e.g. "logs:*"
	Resource []string // ARNs, or "*"
}

// Allow is an Allow statement of actions on resources.
func Allow(actions []string, resources ...string) Statement {
	return Statement{Effect: "Allow", Action: actions, Resource: resources}
}

// Deny is a Deny statement of actions on resources.
func Deny(actions []string, resources ...string) Statement {
	return Statement{Effect: "Deny", Action: actions, Resource: resources}
}

// AllowAll is the statement that allows every logs action on every
// resource.
func AllowAll() Statement { return Allow([]string{"logs:*"}, "*") }

// A User is one IAM user of a test IAM document: one access key, and one
// inline policy (PolicyName, Statements).
type User struct {
	Name       string
	Key        aws.Credentials // AccessKeyID and SecretAccessKey
	PolicyName string
	Statements []Statement
}

// Creds are the user's access key, for ClientAs.
func (u User) Creds() aws.Credentials { return u.Key }

// UserAllowedAll is a user whose policy "all" allows every logs action.
func UserAllowedAll(name, keyID, secret string) User {
	return User{Name: name, Key: aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, PolicyName: "all", Statements: []Statement{AllowAll()}}
}

// Admin is the administrator most IAM fixtures begin with: user "admin",
// allowed every logs action (a new value each call: fixtures hold no
// shared mutable state).
func Admin() User { return UserAllowedAll("admin", "AKIAADMINTEST0000001", "admin-secret-0123456789") }

// An Account is one account of a test IAM document and its users.
type Account struct {
	ID    string
	Users []User
}

// IAMDocument renders accounts as an IAM file (package iam's format). The
// policies are written as JSON, which is YAML's flow style.
func IAMDocument(accounts ...Account) string {
	var b strings.Builder
	b.WriteString("accounts:\n")
	for _, a := range accounts {
		fmt.Fprintf(&b, "  - id: %q\n    users:\n", a.ID)
		for _, u := range a.Users {
			doc, err := json.Marshal(struct {
				Version   string
				Statement []Statement
			}{"2012-10-17", u.Statements})
			if err != nil {
				panic(err) // strings only: cannot fail
			}
			fmt.Fprintf(&b, "      - name: %q\n        accessKeys:\n          - id: %q\n            secret: %q\n", u.Name, u.Key.AccessKeyID, u.Key.SecretAccessKey)
			fmt.Fprintf(&b, "        policies:\n          - name: %q\n            document: %s\n", u.PolicyName, doc)
		}
	}
	return b.String()
}

// WithUsers runs the server on an IAM file of one account and its users.
func WithUsers(account string, users ...User) Option {
	return WithIAM(IAMDocument(Account{ID: account, Users: users}))
}

// WithAccounts runs the server on an IAM file of several accounts.
func WithAccounts(accounts ...Account) Option { return WithIAM(IAMDocument(accounts...)) }

// CreateGroup creates group and its streams through c.
func CreateGroup(tb testing.TB, c *cwl.Client, group string, streams ...string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		tb.Fatal(err)
	}
	for _, s := range streams {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &group, LogStreamName: aws.String(s)}); err != nil {
			tb.Fatal(err)
		}
	}
}

// PutMessages puts one event a message, stamped now, in one PutLogEvents.
func PutMessages(tb testing.TB, c *cwl.Client, group, stream string, msgs ...string) {
	tb.Helper()
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(time.Now().UnixMilli())}
	}
	if _, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs}); err != nil {
		tb.Fatal(err)
	}
}

// WaitQuery polls GetQueryResults until the query ends (Complete, Failed,
// Cancelled or Timeout) and answers its last results.
func WaitQuery(tb testing.TB, c *cwl.Client, id string) *cwl.GetQueryResultsOutput {
	tb.Helper()
	var out *cwl.GetQueryResultsOutput
	CheckFor(tb, 30*time.Second, 10*time.Millisecond, func() error {
		var err error
		out, err = c.GetQueryResults(context.Background(), &cwl.GetQueryResultsInput{QueryId: &id})
		if err != nil {
			return err
		}
		switch out.Status {
		case types.QueryStatusComplete, types.QueryStatusFailed, types.QueryStatusCancelled, types.QueryStatusTimeout:
			return nil
		}
		return fmt.Errorf("status %s", out.Status)
	})
	return out
}

// WantErr fails unless err is the AWS error code with exactly msg.
func WantErr(tb testing.TB, err error, code, msg string) {
	tb.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("want %s %q, got %v", code, msg, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		tb.Fatalf("got %s %q\nwant %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// Clock is a clock a test moves: it starts where it is set and moves only
// by Add. Its Now is safe for the server's goroutines.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time (server.Config.Now).
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
