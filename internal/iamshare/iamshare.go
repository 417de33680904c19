// Package iamshare keeps the IAM file's identities alike on every node of a
// cluster that shares one database.
//
// The cluster has one IAM document, stored in the database (Store; the
// PostgreSQL engine implements it) with a version. How it flows:
//
//   - The first node of a cluster to start with --iam offers its file; the
//     others adopt the stored document (a node whose own file differs says
//     so in its log, and uses the cluster's).
//   - SIGHUP on any node (after editing its file: a user created, a key
//     rotated or revoked) validates the file and publishes it: the version
//     goes up and a NOTIFY tells every node, which loads it at once.
//   - Every node also compares versions every Interval, so a notice missed
//     while a node's listener reconnected is caught up within it.
//
// A document that does not parse is never published (the SIGHUP fails and
// the identities in force stay), and one that a node cannot apply (an
// older binary) leaves that node's identities as they were, with a log
// line. Sync owns one goroutine; Close stops it.
package iamshare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/iam"
)

// Store is the database side.
type Store interface {
	// OfferIAM stores doc unless there is a document, and returns the
	// stored one and its version.
	OfferIAM(ctx context.Context, doc []byte) ([]byte, int64, error)
	// PublishIAM replaces the document, raises its version and notifies
	// every node.
	PublishIAM(ctx context.Context, doc []byte) (int64, error)
	LoadIAM(ctx context.Context) ([]byte, int64, error)
	// OnIAMChange calls fn, which must not block, when a document may have
	// been published.
	OnIAMChange(fn func()) (stop func())
}

// DefaultInterval is how often a node compares its version with the
// database's when no notice came.
const DefaultInterval = 10 * time.Second

// Config configures a Sync.
type Config struct {
	Store Store
	// File is this node's IAM file (already loaded by the server's
	// security with its permission check).
	File string
	// Apply makes doc the identities in force; an error leaves the old
	// ones.
	Apply    func(doc []byte) error
	Interval time.Duration // 0: DefaultInterval
	Logger   *slog.Logger
}

// Sync follows the cluster's IAM document.
type Sync struct {
	cfg     Config
	mu      sync.Mutex // serialises applying and publishing
	version int64
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	unwatch func()
}

// Start offers this node's file, adopts the cluster's document and starts
// following it.
func Start(cfg Config) (*Sync, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	own, err := os.ReadFile(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("read IAM file: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	doc, v, err := cfg.Store.OfferIAM(ctx, own)
	if err != nil {
		return nil, fmt.Errorf("the cluster's IAM document: %w", err)
	}
	s := &Sync{cfg: cfg, version: v, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if !bytes.Equal(doc, own) {
		if err := cfg.Apply(doc); err != nil {
			return nil, fmt.Errorf("the cluster's IAM document (version %d) does not load: %w", v, err)
		}
		cfg.Logger.Warn("this node's IAM file differs from the cluster's; using the cluster's (send this node SIGHUP to publish its file to every node)",
			"file", cfg.File, "version", v)
	}
	s.unwatch = cfg.Store.OnIAMChange(func() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	})
	go s.run()
	return s, nil
}

func (s *Sync) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-t.C:
		}
		if err := s.catchUp(); err != nil {
			s.cfg.Logger.Warn("the cluster's IAM document not loaded; the identities in force stay", "err", err)
		}
	}
}

// catchUp applies the stored document if it is newer than this node's.
func (s *Sync) catchUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, v, err := s.cfg.Store.LoadIAM(ctx)
	if err != nil || v <= s.version {
		return err
	}
	if err := s.cfg.Apply(doc); err != nil {
		return fmt.Errorf("version %d: %w", v, err)
	}
	s.version = v
	s.cfg.Logger.Info("IAM document loaded from the cluster", "version", v)
	return nil
}

// Publish validates this node's file (permissions and content, as at
// start), makes it the cluster's document and applies it here; the other
// nodes load it when notified. On error nothing changes.
func (s *Sync) Publish() error {
	if _, err := iam.LoadFile(s.cfg.File); err != nil {
		return err
	}
	doc, err := os.ReadFile(s.cfg.File)
	if err != nil {
		return fmt.Errorf("read IAM file: %w", err)
	}
	if _, err := iam.ParseFile(doc); err != nil {
		return fmt.Errorf("IAM file: %w", err) // edited again between the two reads
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.cfg.Store.PublishIAM(ctx, doc)
	if err != nil {
		return fmt.Errorf("publish the IAM file to the cluster: %w", err)
	}
	if err := s.cfg.Apply(doc); err != nil {
		return err
	}
	s.version = v
	return nil
}

// Version is the document version in force on this node.
func (s *Sync) Version() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Close stops following.
func (s *Sync) Close() error {
	select {
	case <-s.stop:
		return errors.New("iamshare: closed twice")
	default:
	}
	s.unwatch()
	close(s.stop)
	<-s.done
	return nil
}
