package resourcepolicy

import (
	"context"
	"errors"

	"github.com/cairnlog/cairn/internal/jsonenc"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

// Ensure gives group (of scope) the resource policy doc when nothing allows
// p's PutLogEvents there yet and the group has no policy of its own, as AWS
// does for the vended-log infrastructure ("If the log group currently does
// not have a resource policy … AWS automatically creates the following
// policy … If an existing account-level resource policy already grants
// permissions through wildcards, a separate log group level policy would not
// be created"). It answers whether it added one; the caller logs it.
func (s *Service) Ensure(ctx context.Context, scope store.Scope, group string, p Principal, doc string) (bool, error) {
	for {
		added, changed, err := s.ensureOnce(ctx, scope, group, p, doc)
		if !changed {
			return added, err
		}
		// A policy was put or deleted while Ensure checked: check again
		// (it may be the user's own policy for the group, never replaced).
	}
}

// ensureOnce is one attempt of Ensure; changed reports that a policy was
// written between its checks and its write, which it then did not make.
func (s *Service) ensureOnce(ctx context.Context, scope store.Scope, group string, p Principal, doc string) (added, changed bool, err error) {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	if s.Permits(ctx, scope, p, "logs:PutLogEvents", logs.StreamARN(scope, group, "*")) {
		return false, false, nil
	}
	key := s.key(scope, "R/"+group)
	if _, err := s.get(ctx, key); err == nil {
		return false, false, nil // the group's own policy is the user's: never replaced
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return false, false, err
	}
	if _, err := s.st.GetGroup(ctx, scope, group); err != nil {
		return false, false, logs.StoreError(err)
	}
	norm, err := parseDocument(doc)
	if err != nil {
		return false, false, err
	}
	rec := record{ResourcePolicy: ResourcePolicy{PolicyDocument: doc, LastUpdatedTime: s.now().UnixMilli(), PolicyScope: "RESOURCE",
		ResourceArn: logs.GroupARN(scope, group), RevisionID: newRevision()}, Normalised: norm}
	if s.ensureHook != nil {
		s.ensureHook()
	}
	// The write is conditional: made only if no policy was written since
	// the checks above (what they found still holds).
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return false, true, nil
	}
	s.gen++
	if err := s.put(ctx, key, rec); err != nil {
		return false, false, err
	}
	return true, false, nil
}

// WriterPolicy is the group policy that lets p create streams in and write
// to group of scope, in the form AWS's documented policies have: the
// service principal, both actions on the group's streams, aws:SourceAccount
// the account and, when p has one, aws:SourceArn.
func WriterPolicy(scope store.Scope, group string, p Principal, sid string) string {
	cond := `{"StringEquals":{"aws:SourceAccount":` + jsonString(scope.Account) + `}`
	if p.SourceArn != "" {
		cond += `,"ArnLike":{"aws:SourceArn":` + jsonString(p.SourceArn) + `}`
	}
	cond += `}`
	return `{"Version":"2012-10-17","Statement":[{"Sid":` + jsonString(sid) + `,"Effect":"Allow","Principal":{"Service":` + jsonString(p.Service) +
		`},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":` + jsonString(logs.GroupARN(scope, group)+":log-stream:*") +
		`,"Condition":` + cond + `}]}`
}

func jsonString(s string) string { return string(jsonenc.AppendString(nil, s)) }
