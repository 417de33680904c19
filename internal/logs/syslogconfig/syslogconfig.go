// Package syslogconfig is the syslog family of CloudWatch Logs operations
// (PutSyslogConfiguration, ListSyslogConfigurations,
// DeleteSyslogConfiguration) and the worker that writes what Cairn's syslog
// listener receives into the configured log groups.
//
// On AWS a syslog configuration ties a log group to a VPC endpoint that
// receives syslog. Here the endpoint is the server's syslog listener (package
// syslog, bound on the address the server's configuration names, never
// one an API call chooses): it has one VPC endpoint ID and belongs to one
// account and region, as a VPC endpoint does. A configuration is a resource
// record per account and region (kind "syslogConfiguration", named by the
// group), one per log group.
//
// Data flows: listener → Worker.Handle (a bounded queue; a full queue blocks
// the sender's connection) → the worker goroutine, which takes what is
// queued, turns each message into a JSON event (syslog.Message.JSON) stamped
// with the message's time, groups them by the configured groups and by
// sending host (one stream per host: the HOSTNAME field, else the sender's
// address), and writes each batch with logs.Put, through PutLogEvents, as
// the system caller "syslog".
//
// The writes are those of AWS's syslog service principal,
// syslog.logs.amazonaws.com, and need what AWS's syslog ingestion scenario
// puts on the group before PutSyslogConfiguration: a resource policy
// allowing that principal logs:CreateLogStream and logs:PutLogEvents, with
// aws:sourceVpce the endpoint's ID (the server gives Config.Logs gated by
// policygate.Enforcer). AWS does not add that policy itself, and neither
// does Cairn. A batch no policy allows is refused at the source: its
// messages are dropped and counted (cairn_syslog_messages_refused_total),
// the enforcer warns once per group. Syslog has no acknowledgement to hold
// back (UDP none, TCP framing none), so waiting would only grow a buffer in
// front of the same drop.
package syslogconfig

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/syslog"
)

const kind = "syslogConfiguration"

// DefaultEndpointID is the VPC endpoint ID of the server's syslog listener
// unless configured otherwise.
const DefaultEndpointID = "vpce-0000000000000000c"

// Endpoint is the server's syslog listener as the API sees it.
type Endpoint struct {
	ID    string      // vpce-…
	Scope store.Scope // the account and region it belongs to
}

// Config configures a Service.
type Config struct {
	Store store.Store
	Logs  logs.Writer
	// Endpoint is nil when the server runs no syslog listener: every Put is
	// then refused (no VPC endpoint), so no configuration promises ingestion
	// that cannot happen.
	Endpoint *Endpoint
	Now      func() time.Time
	Logger   *slog.Logger
	// Queue bounds the messages waiting for the writer (0: 8192).
	Queue int
	// Allowed, when set, tells whether a resource policy lets the syslog
	// principal write into group now: PutSyslogConfiguration warns in the
	// server log when none does (the messages would be refused).
	Allowed func(ctx context.Context, scope store.Scope, group string) bool
}

// Service implements the syslog operations and the writer.
type Service struct {
	cfg   Config
	queue chan item
	stop  chan struct{}
	done  chan struct{}

	mu     sync.Mutex
	groups map[string]bool // guarded by mu: configured groups of the endpoint's scope
	closed bool            // guarded by mu

	refused atomic.Uint64 // messages no resource policy let the writer store
}

// Collect implements metrics.Collector.
func (s *Service) Collect(emit func(metrics.Family)) {
	emit(metrics.Family{Name: "cairn_syslog_messages_refused_total", Type: metrics.Counter,
		Help:    "Syslog messages dropped because no resource policy allowed syslog.logs.amazonaws.com to write them into a configured log group.",
		Samples: []metrics.Sample{{Value: float64(s.refused.Load())}}})
}

type item struct {
	m    syslog.Message
	from netip.Addr
	at   time.Time
}

type record struct {
	LogGroupName  string `json:"logGroupName"`
	VPCEndpointID string `json:"vpcEndpointId"`
	CreatedAt     int64  `json:"createdAt"`
}

// New returns a Service. With an Endpoint it loads the endpoint's
// configurations and starts the writer, which Close stops.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 8192
	}
	s := &Service{cfg: cfg, groups: map[string]bool{}}
	if cfg.Endpoint == nil {
		return s, nil
	}
	err := cfg.Store.ListResources(ctx, store.ResourceKey{Scope: cfg.Endpoint.Scope, Kind: kind}, "", "", func(name string, v []byte) bool {
		var r record
		if json.Unmarshal(v, &r) == nil && r.VPCEndpointID == cfg.Endpoint.ID {
			s.groups[name] = true
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	s.queue = make(chan item, cfg.Queue)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.run()
	return s, nil
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutSyslogConfiguration", protocol.Decoded(s.PutSyslogConfiguration))
	t.Add("ListSyslogConfigurations", protocol.Decoded(s.ListSyslogConfigurations))
	t.Add("DeleteSyslogConfiguration", protocol.Decoded(s.DeleteSyslogConfiguration))
}

type PutSyslogConfigurationInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	VPCEndpointID      string `json:"vpcEndpointId"`
}

// endpointFor checks that id (or, empty, the server's endpoint) is an
// endpoint of scope.
func (s *Service) endpointFor(scope store.Scope, id string) (string, error) {
	ep := s.cfg.Endpoint
	if ep == nil || ep.Scope != scope || (id != "" && id != ep.ID) {
		if id == "" {
			id = "(default)"
		}
		return "", awserr.VPCEndpointNotFound(id)
	}
	return ep.ID, nil
}

// PutSyslogConfiguration creates or replaces the group's configuration. AWS
// keys it by log group ("for a log group"); a Put naming another endpoint
// moves the group to it and keeps createdAt.
func (s *Service) PutSyslogConfiguration(ctx context.Context, c caller.Caller, in *PutSyslogConfigurationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:PutSyslogConfiguration", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.GetGroup(ctx, scope, group); err != nil {
		return nil, logs.StoreError(err)
	}
	id, err := s.endpointFor(scope, in.VPCEndpointID)
	if err != nil {
		return nil, err
	}
	key := store.ResourceKey{Scope: scope, Kind: kind, Name: group}
	r := record{LogGroupName: group, VPCEndpointID: id, CreatedAt: s.cfg.Now().UnixMilli()}
	if old, err := s.cfg.Store.GetResource(ctx, key); err == nil {
		var o record
		if json.Unmarshal(old, &o) == nil && o.CreatedAt > 0 {
			r.CreatedAt = o.CreatedAt
		}
	}
	v, _ := json.Marshal(r)
	if err := s.cfg.Store.PutResource(ctx, key, v); err != nil {
		return nil, logs.StoreError(err)
	}
	s.mu.Lock()
	s.groups[group] = true
	s.mu.Unlock()
	if s.cfg.Allowed != nil && !s.cfg.Allowed(ctx, scope, group) {
		s.cfg.Logger.Warn("syslog configured for a log group no resource policy lets syslog.logs.amazonaws.com write into; its messages are refused until one does (docs/ingest.md)",
			"account", scope.Account, "region", scope.Region, "logGroup", group, "vpcEndpointId", id)
	}
	return nil, nil
}

type ListSyslogConfigurationsInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	VPCEndpointID      string `json:"vpcEndpointId"`
	NextToken          string `json:"nextToken"`
	MaxResults         *int   `json:"maxResults"`
}

type SyslogConfiguration struct {
	LogGroupArn   string `json:"logGroupArn"`
	SourceType    string `json:"sourceType"`
	VPCEndpointID string `json:"vpcEndpointId"`
	CreatedAt     int64  `json:"createdAt"`
}

type ListSyslogConfigurationsOutput struct {
	SyslogConfigurations []SyslogConfiguration `json:"syslogConfigurations"`
	NextToken            string                `json:"nextToken,omitempty"`
}

// ListSyslogConfigurations lists the scope's configurations by group name,
// maxResults at a time (the model allows 0–50; 0 and absent mean 50).
func (s *Service) ListSyslogConfigurations(ctx context.Context, c caller.Caller, in *ListSyslogConfigurationsInput) (*ListSyslogConfigurationsOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:ListSyslogConfigurations", "*"); err != nil {
		return nil, err
	}
	group := ""
	if in.LogGroupIdentifier != "" {
		g, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
		if err != nil {
			return nil, err
		}
		if _, err := s.cfg.Store.GetGroup(ctx, scope, g); err != nil {
			return nil, logs.StoreError(err)
		}
		group = g
	}
	limit := 50
	if in.MaxResults != nil && *in.MaxResults > 0 {
		limit = *in.MaxResults
	}
	after := ""
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || !strings.HasPrefix(string(raw), "syslog:") {
			return nil, awserr.InvalidToken()
		}
		after = strings.TrimPrefix(string(raw), "syslog:")
	}
	out := &ListSyslogConfigurationsOutput{SyslogConfigurations: []SyslogConfiguration{}}
	var listErr error
	err := s.cfg.Store.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kind}, "", after, func(name string, v []byte) bool {
		var r record
		if json.Unmarshal(v, &r) != nil {
			return true
		}
		if (group != "" && name != group) || (in.VPCEndpointID != "" && r.VPCEndpointID != in.VPCEndpointID) {
			return true
		}
		// A configuration outlives its group in the record store (it is an
		// account resource); a deleted group's is not listed.
		if _, err := s.cfg.Store.GetGroup(ctx, scope, name); err != nil {
			if !errors.Is(err, store.ErrGroupNotFound) {
				listErr = err
				return false
			}
			return true
		}
		if len(out.SyslogConfigurations) == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("syslog:" + out.SyslogConfigurations[limit-1].name(scope)))
			return false
		}
		out.SyslogConfigurations = append(out.SyslogConfigurations, SyslogConfiguration{
			LogGroupArn: logs.GroupARN(scope, name), SourceType: "VPCE", VPCEndpointID: r.VPCEndpointID, CreatedAt: r.CreatedAt})
		return true
	})
	if err == nil {
		err = listErr
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	return out, nil
}

func (c SyslogConfiguration) name(scope store.Scope) string {
	return strings.TrimPrefix(c.LogGroupArn, logs.GroupARN(scope, ""))
}

type DeleteSyslogConfigurationInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	VPCEndpointID      string `json:"vpcEndpointId"`
}

// DeleteSyslogConfiguration removes the group's configuration (only if it
// is for vpcEndpointId, when that is given).
func (s *Service) DeleteSyslogConfiguration(ctx context.Context, c caller.Caller, in *DeleteSyslogConfigurationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	group, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:DeleteSyslogConfiguration", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.GetGroup(ctx, scope, group); err != nil {
		return nil, logs.StoreError(err)
	}
	key := store.ResourceKey{Scope: scope, Kind: kind, Name: group}
	v, err := s.cfg.Store.GetResource(ctx, key)
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.SyslogConfigurationNotFound()
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var r record
	if json.Unmarshal(v, &r) == nil && in.VPCEndpointID != "" && r.VPCEndpointID != in.VPCEndpointID {
		return nil, awserr.SyslogConfigurationNotFound()
	}
	if err := s.cfg.Store.DeleteResource(ctx, key); err != nil {
		return nil, logs.StoreError(err)
	}
	s.mu.Lock()
	delete(s.groups, group)
	s.mu.Unlock()
	return nil, nil
}

// Handle queues one received message for the writer (the listener's
// handler). It blocks while the queue is full, and drops the message once
// the Service is closing.
func (s *Service) Handle(m syslog.Message, from netip.Addr) {
	if s.queue == nil {
		return
	}
	select {
	case s.queue <- item{m: m, from: from, at: s.cfg.Now()}:
	case <-s.stop:
	}
}

// Close stops the writer after it has written what is queued. The listener
// must be closed first (no Handle call in progress).
func (s *Service) Close() error {
	if s.queue == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return nil
}

// maxBatch bounds the messages one write takes off the queue.
const maxBatch = 5000

func (s *Service) run() {
	defer close(s.done)
	for {
		var batch []item
		select {
		case it := <-s.queue:
			batch = append(batch, it)
		case <-s.stop:
			// Write what is still queued, then end.
			for {
				select {
				case it := <-s.queue:
					batch = append(batch, it)
					if len(batch) == maxBatch {
						s.write(batch)
						batch = batch[:0]
					}
					continue
				default:
				}
				break
			}
			s.write(batch)
			return
		}
		// Take what else is already waiting: under load, batches grow by
		// themselves; when idle, a message is written at once.
	more:
		for len(batch) < maxBatch {
			select {
			case it := <-s.queue:
				batch = append(batch, it)
			default:
				break more
			}
		}
		s.write(batch)
	}
}

// PutLogEvents' window: an event older than 14 days or more than 2 hours
// ahead is rejected. A syslog timestamp outside it (a wrong clock, a
// replayed file) is replaced by the receive time rather than lose the
// message; the message's own text still carries what the sender said.
const (
	window   = 14*24*time.Hour - time.Minute
	ahead    = 2*time.Hour - time.Minute
	fallback = "unknown-host"
)

func (s *Service) write(batch []item) {
	if len(batch) == 0 {
		return
	}
	s.mu.Lock()
	groups := make([]string, 0, len(s.groups))
	for g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	if len(groups) == 0 {
		return // nothing is configured: the messages go nowhere, as on AWS
	}
	slices.Sort(groups)
	streams := map[string][]logs.InputLogEvent{}
	var order []string
	for _, it := range batch {
		ts := it.at
		if t := it.m.Timestamp; !t.IsZero() && t.After(it.at.Add(-window)) && t.Before(it.at.Add(ahead)) {
			ts = t
		}
		from := ""
		if it.from.IsValid() {
			from = it.from.String()
		}
		host := it.m.Hostname
		if host == "" {
			host = from
		}
		name := logs.MakeStreamName(host, fallback)
		if _, ok := streams[name]; !ok {
			order = append(order, name)
		}
		streams[name] = append(streams[name], logs.InputLogEvent{Timestamp: ts.UnixMilli(), Message: it.m.JSON(from)})
	}
	ep := s.cfg.Endpoint
	c := caller.System(ep.Scope.Account, ep.Scope.Region, "syslog", "logs:PutLogEvents", "logs:CreateLogStream")
	ctx := context.Background()
	for _, g := range groups {
		for _, name := range order {
			evs := slices.Clone(streams[name])
			// Put stops at the first batch that fails; the batches before it
			// are stored (res.Sent), so only the rest is refused or dropped.
			res, err := logs.Put(ctx, s.cfg.Logs, c, g, name, evs, true)
			if policygate.IsRefused(err) {
				s.refused.Add(uint64(len(evs) - res.Sent)) // the enforcer warned, once per group
			} else if err != nil {
				s.cfg.Logger.Warn("syslog: write failed; messages dropped", "group", g, "stream", name, "events", len(evs)-res.Sent, "err", err)
			}
		}
	}
}

// CheckListen refuses a non-loopback syslog address unless remote is set:
// syslog has no authentication, so whoever reaches the port writes into
// every configured group. Opening it to a network is the operator's
// explicit decision, never a default.
func CheckListen(addr string, remote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("syslog listen address %q: %w", addr, err)
	}
	if remote || host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("syslog listen address %q is not loopback; syslog is unauthenticated, so say --syslog-remote to accept messages from the network", addr)
}
