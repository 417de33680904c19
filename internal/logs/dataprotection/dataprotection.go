// Package dataprotection is the data-protection family of CloudWatch Logs
// operations (Put/Get/DeleteDataProtectionPolicy) and its enforcement: an
// ingest stage that masks sensitive data before events are stored, the
// keeper of the unmasked originals, and the audit findings writer.
//
// Data flows at ingest (Service.Ingest, a logs.IngestStage): the group's
// policy (a resource record) and the account's DATA_PROTECTION_POLICY
// (accountpolicy.Effective) are compiled, cumulatively, into a
// dataprotect.Masker (cached by the group record's bytes and the account
// documents; the record is read per batch, decoded on a miss); every
// message of the batch is masked in place, so the store, its index, Live
// Tail, subscription and metric-filter followers only ever see the masked
// text. For the events that changed it stores
//
//   - the originals (IngestBatch.WithRecords: in the append's own commit on
//     the embedded engine, store.RecordAppender; by PutResource once the
//     append is durable on PostgreSQL): one group resource record per append, Kind
//     "dataProtectionOriginals", Name the append's feed sequence (20 digits),
//     value nonce ‖ AES-256-GCM ciphertext of the masked events' (index in
//     the append, masked ranges with their original bytes) entries (format
//     2; format 1, whole original messages, still read: ingest.go's
//     originals), the additional data binding it to its
//     account, region, group and sequence. The key is DATA_DIR/unmask.key
//     (32 random bytes, 0600, made on first start by LoadKey); only the
//     encrypted form reaches the engine's files. The records live and die
//     with the group;
//   - the audit findings (an AfterStore function, once the batch is
//     durable), one JSON record per event with findings, to each
//     policy's FindingsDestination.CloudWatchLogs.LogGroup, stream
//     FindingsStream, in AWS's findings format.
//
// Reads: Get/FilterLogEvents with unmask=true (and logs:Unmask) call Unmask
// (the logs.Unmasker), which swaps the originals back in by position;
// Insights' unmask() calls the same method. Nothing else reads them.
//
// Records of the policy itself: group resource, Kind "dataProtectionPolicy",
// Name "policy", value {"document": verbatim, "lastUpdatedTime": ms}.
package dataprotection

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/dataprotect"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/expiry"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const (
	policyKind    = logs.DataProtectionPolicyKind
	policyName    = "policy"
	originalsKind = "dataProtectionOriginals"
	// FindingsStream is the stream audit findings are written to in the
	// destination group. AWS does not document its stream's name.
	FindingsStream = "DataProtectionAuditFindings"
	// KeyFile is the originals' key, in the data directory.
	KeyFile = "unmask.key"
	// cacheSize bounds the compiled maskers kept (by document text).
	cacheSize = 256
)

// Config configures a Service.
type Config struct {
	Store    store.Store
	Accounts *accountpolicy.Service // the account's DATA_PROTECTION_POLICY
	Now      func() time.Time
	Logger   *slog.Logger
	// Key is the 32-byte AES key of the originals (LoadKey).
	Key []byte
	// Enforcer, when set, checks each findings write as AWS's log delivery
	// principal (delivery.logs.amazonaws.com, policygate.
	// DeliveryPrincipal): findings no resource policy allows are dropped,
	// counted and warned about by it (they are a by-product of an ingest
	// that already succeeded; failing that request would not bring them
	// back). PutDataProtectionPolicy with a CloudWatch Logs findings
	// destination adds the group policy that allows it, as AWS's delivery
	// infrastructure does at configuration time (AWS asks the caller for
	// logs:PutResourcePolicy, logs:DescribeResourcePolicies and
	// logs:DescribeLogGroups there: "data-protection-policy-permissions").
	Enforcer *policygate.Enforcer
}

// Service implements the data-protection operations, the ingest stage and
// the unmask lookup.
type Service struct {
	st       store.Store
	accounts *accountpolicy.Service
	now      func() time.Time
	log      *slog.Logger
	aead     cipher.AEAD

	enforce *policygate.Enforcer

	mu    sync.Mutex
	cache map[string]*compiled
	// expiry deletes the originals of appends gone from the feed (Expiry).
	expiry *expiry.Sweeper
}

// compiled is the enforcement form of a group's effective policies.
type compiled struct {
	masker   *dataprotect.Masker
	policies []*dataprotect.Policy
	// audits: a policy writes findings to a log group.
	audits bool
}

// New returns a Service; the key must be 32 bytes.
func New(cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Key) != 32 {
		return nil, errors.New("dataprotection: the key must be 32 bytes")
	}
	block, err := aes.NewCipher(cfg.Key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Service{st: cfg.Store, accounts: cfg.Accounts, now: cfg.Now, log: cfg.Logger, aead: aead, enforce: cfg.Enforcer,
		cache: map[string]*compiled{}, expiry: expiry.New(cfg.Store, originalsKind, cfg.Logger)}, nil
}

// Expiry is the sweeper that deletes the kept originals of appends gone
// from the feed (past the group's retention, or of a deleted stream), so an
// original lives no longer than its masked event: the server runs it as a
// worker (Start, Close); tests call its Sweep.
func (s *Service) Expiry() *expiry.Sweeper { return s.expiry }

// LoadKey reads dir/unmask.key, creating it (32 random bytes, mode 0600)
// when it does not exist yet. Losing it loses the originals, not the
// (masked) events.
func LoadKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, have %d", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutDataProtectionPolicy", protocol.Decoded(s.PutDataProtectionPolicy))
	t.Add("GetDataProtectionPolicy", protocol.Decoded(s.GetDataProtectionPolicy))
	t.Add("DeleteDataProtectionPolicy", protocol.Decoded(s.DeleteDataProtectionPolicy))
}

type record struct {
	Document        string `json:"document"`
	LastUpdatedTime int64  `json:"lastUpdatedTime"`
}

type PutDataProtectionPolicyInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	PolicyDocument     string `json:"policyDocument"`
}

type PutDataProtectionPolicyOutput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier,omitempty"`
	PolicyDocument     string `json:"policyDocument,omitempty"`
	LastUpdatedTime    int64  `json:"lastUpdatedTime,omitempty"`
}

// PutDataProtectionPolicy creates or replaces a group's policy. It applies
// to events ingested from then on; stored events are not rewritten.
func (s *Service) PutDataProtectionPolicy(ctx context.Context, c caller.Caller, in *PutDataProtectionPolicyInput) (*PutDataProtectionPolicyOutput, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:PutDataProtectionPolicy", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	p, err := dataprotect.Parse(in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.GetGroup(ctx, scope, group); err != nil {
		return nil, logs.StoreError(err)
	}
	// Destinations must exist when the policy is put (the model's words).
	if p.FindingsLogGroup != "" {
		if _, err := s.st.GetGroup(ctx, scope, p.FindingsLogGroup); errors.Is(err, store.ErrGroupNotFound) {
			return nil, awserr.InvalidPolicyDocument("the findings destination log group " + p.FindingsLogGroup + " does not exist")
		} else if err != nil {
			return nil, logs.StoreError(err)
		}
	}
	rec := record{Document: in.PolicyDocument, LastUpdatedTime: s.now().UnixMilli()}
	v, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, policyKey(scope, group), v); err != nil {
		return nil, logs.StoreError(err)
	}
	if p.FindingsLogGroup != "" {
		s.ensureFindingsPolicy(ctx, c, p.FindingsLogGroup)
	}
	return &PutDataProtectionPolicyOutput{LogGroupIdentifier: in.LogGroupIdentifier, PolicyDocument: in.PolicyDocument,
		LastUpdatedTime: rec.LastUpdatedTime}, nil
}

type GetDataProtectionPolicyInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
}

type GetDataProtectionPolicyOutput = PutDataProtectionPolicyOutput

// GetDataProtectionPolicy returns a group's policy; a group without one
// answers with the identifier alone (Terraform reads a missing
// policyDocument as "no policy").
func (s *Service) GetDataProtectionPolicy(ctx context.Context, c caller.Caller, in *GetDataProtectionPolicyInput) (*GetDataProtectionPolicyOutput, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:GetDataProtectionPolicy", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	rec, err := s.policy(ctx, scope, group)
	if err != nil {
		return nil, err
	}
	out := &GetDataProtectionPolicyOutput{LogGroupIdentifier: in.LogGroupIdentifier}
	if rec != nil {
		out.PolicyDocument, out.LastUpdatedTime = rec.Document, rec.LastUpdatedTime
	}
	return out, nil
}

type DeleteDataProtectionPolicyInput = GetDataProtectionPolicyInput

type DeleteDataProtectionPolicyOutput struct{}

// DeleteDataProtectionPolicy removes a group's policy. Events masked while
// it was in force stay masked (their originals stay unmaskable).
func (s *Service) DeleteDataProtectionPolicy(ctx context.Context, c caller.Caller, in *DeleteDataProtectionPolicyInput) (*DeleteDataProtectionPolicyOutput, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:DeleteDataProtectionPolicy", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	rec, err := s.policy(ctx, scope, group)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, awserr.DataProtectionPolicyNotFound()
	}
	if err := s.st.DeleteResource(ctx, policyKey(scope, group)); err != nil {
		return nil, logs.StoreError(err)
	}
	return &DeleteDataProtectionPolicyOutput{}, nil
}

func policyKey(scope store.Scope, group string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Group: group, Kind: policyKind, Name: policyName}
}

// policy reads a group's policy record: nil when the group has none,
// ResourceNotFoundException when the group does not exist.
func (s *Service) policy(ctx context.Context, scope store.Scope, group string) (*record, error) {
	v, err := s.policyRecord(ctx, scope, group)
	if v == nil || err != nil {
		return nil, err
	}
	return decodeRecord(v)
}

// policyRecord reads the group's policy record as stored: nil when the
// group has none (an error when the group does not exist).
func (s *Service) policyRecord(ctx context.Context, scope store.Scope, group string) ([]byte, error) {
	v, err := s.st.GetResource(ctx, policyKey(scope, group))
	if errors.Is(err, store.ErrResourceNotFound) {
		if _, err := s.st.GetGroup(ctx, scope, group); err != nil {
			return nil, logs.StoreError(err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	return v, nil
}

func decodeRecord(v []byte) (*record, error) {
	var rec record
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// effective compiles the policy of group g (as the batch read it) and the
// account's, cumulatively. nil means no policy applies.
func (s *Service) effective(ctx context.Context, g store.Group) (*compiled, error) {
	// The group's record is read for every batch as of g, the group row
	// this request read (a policy put on one node applies to the next
	// batch on any node): from the engine's resource cache when it has one
	// and nothing of the kind changed since, on any node
	// (store.GetResourceAsOf). It is decoded only when the compiled cache
	// has not seen its bytes: the cache key holds the record as stored,
	// which fixes its document.
	scope, group := g.Scope, g.Name
	var docs []string
	raw, err := store.GetResourceAsOf(ctx, s.st, g, policyKey(scope, group))
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
		raw = nil // the group was read by this request: no need to ask again whether it exists
	case err != nil:
		return nil, logs.StoreError(err)
	}
	if s.accounts != nil {
		aps, err := s.accounts.EffectiveFor(ctx, g, accountpolicy.DataProtection)
		if err != nil {
			return nil, err
		}
		for _, ap := range aps {
			docs = append(docs, ap.PolicyDocument)
		}
	}
	if raw == nil && len(docs) == 0 {
		return nil, nil
	}
	ck := strconv.Itoa(len(raw)) + ":" + string(raw)
	for _, d := range docs {
		ck += strconv.Itoa(len(d)) + ":" + d
	}
	s.mu.Lock()
	cp, ok := s.cache[ck]
	s.mu.Unlock()
	if ok {
		return cp, nil
	}
	if raw != nil {
		rec, err := decodeRecord(raw)
		if err != nil {
			return nil, err
		}
		docs = append([]string{rec.Document}, docs...)
	}
	cp = &compiled{}
	for _, d := range docs {
		p, err := dataprotect.Parse(d)
		if err != nil {
			// Stored documents were valid when put; one that no longer
			// parses (an identifier this build stopped detecting) must not
			// let data through unmasked silently, nor block ingest: it is
			// logged (its name, never its content) and skipped.
			s.log.Warn("data protection policy no longer valid; skipped", "group", group, "error", err)
			continue
		}
		cp.policies = append(cp.policies, p)
		cp.audits = cp.audits || p.FindingsLogGroup != ""
	}
	cp.masker = dataprotect.Compile(cp.policies...)
	s.mu.Lock()
	if len(s.cache) >= cacheSize {
		clear(s.cache)
	}
	s.cache[ck] = cp
	s.mu.Unlock()
	return cp, nil
}
