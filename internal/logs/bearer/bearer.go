// Package bearer is the bearer-token family of CloudWatch Logs operations:
// PutBearerTokenAuthentication turns a log group's bearer-token
// authentication on or off, and Enabled answers package auth's question
// (may a bearer key write here?) for every PutLogEvents or OTLP export that
// comes with "Authorization: Bearer …".
//
// The setting is a resource record of the group (kind
// "bearerTokenAuthentication"), so it goes when the group goes. The keys
// themselves are IAM users' API keys (package iam); this package never sees
// one.
package bearer

import (
	"context"
	"errors"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const kind = logs.BearerKind

// Service implements the family.
type Service struct{ st store.Store }

// New returns a Service over st.
func New(st store.Store) *Service { return &Service{st: st} }

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutBearerTokenAuthentication", protocol.Decoded(s.PutBearerTokenAuthentication))
}

type PutBearerTokenAuthenticationInput struct {
	LogGroupIdentifier               string `json:"logGroupIdentifier"`
	BearerTokenAuthenticationEnabled *bool  `json:"bearerTokenAuthenticationEnabled"`
}

// PutBearerTokenAuthentication enables or disables bearer tokens on a group
// (an empty 200, as AWS answers).
func (s *Service) PutBearerTokenAuthentication(ctx context.Context, c caller.Caller, in *PutBearerTokenAuthenticationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:PutBearerTokenAuthentication", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	if _, err := s.st.GetGroup(ctx, scope, group); err != nil {
		return nil, logs.StoreError(err)
	}
	key := store.ResourceKey{Scope: scope, Group: group, Kind: kind, Name: "enabled"}
	if in.BearerTokenAuthenticationEnabled != nil && *in.BearerTokenAuthenticationEnabled {
		err = s.st.PutResource(ctx, key, []byte("true"))
	} else if err = s.st.DeleteResource(ctx, key); errors.Is(err, store.ErrResourceNotFound) {
		err = nil
	}
	return nil, logs.StoreError(err)
}

// Enabled reports whether group has bearer-token authentication on. A
// store failure answers false: a key is refused rather than let through.
func (s *Service) Enabled(account, region, group string) bool {
	_, err := s.st.GetResource(context.Background(), store.ResourceKey{Scope: store.Scope{Account: account, Region: region}, Group: group, Kind: kind, Name: "enabled"})
	return err == nil
}
