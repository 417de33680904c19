// Package storagetier is the account's storage tier policy
// (PutStorageTierPolicy, GetStorageTierPolicy): an account-and-region
// singleton kept as one store resource record (kind "storageTierPolicy").
// The tier selects how AWS bills stored data; Cairn stores every tier the
// same way on its own disk, so the policy is stored and returned, and changes
// nothing else (docs/control-plane.md).
package storagetier

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	Now   func() time.Time
}

// Service implements the storage tier operations.
type Service struct {
	st  store.Store
	now func() time.Time
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, now: cfg.Now}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutStorageTierPolicy", protocol.Decoded(s.PutStorageTierPolicy))
	t.Add("GetStorageTierPolicy", protocol.Decoded(s.GetStorageTierPolicy))
}

// Policy is the wire shape of both answers.
type Policy struct {
	StorageTier     string `json:"storageTier"`
	LastUpdatedTime *int64 `json:"lastUpdatedTime,omitempty"`
}

type PutStorageTierPolicyInput struct {
	StorageTier string `json:"storageTier"`
}

func key(scope store.Scope) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: "storageTierPolicy", Name: "policy"}
}

func (s *Service) PutStorageTierPolicy(ctx context.Context, c caller.Caller, in *PutStorageTierPolicyInput) (*Policy, error) {
	if err := c.Authorize("logs:PutStorageTierPolicy", "*"); err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	p := Policy{StorageTier: in.StorageTier, LastUpdatedTime: &now}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, key(logs.Scope(c)), b); err != nil {
		return nil, logs.StoreError(err)
	}
	return &p, nil
}

type GetStorageTierPolicyInput struct{}

// GetStorageTierPolicy answers STANDARD for an account that never set a
// policy (Terraform reads it as always present); lastUpdatedTime is left
// out then, since nothing was updated (AWS's answer for that case is not
// recorded).
func (s *Service) GetStorageTierPolicy(ctx context.Context, c caller.Caller, _ *GetStorageTierPolicyInput) (*Policy, error) {
	if err := c.Authorize("logs:GetStorageTierPolicy", "*"); err != nil {
		return nil, err
	}
	b, err := s.st.GetResource(ctx, key(logs.Scope(c)))
	if errors.Is(err, store.ErrResourceNotFound) {
		return &Policy{StorageTier: "STANDARD"}, nil
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
