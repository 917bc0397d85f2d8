package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/redact"
	"github.com/wxauth/wxauth/internal/storage"
)

var (
	_ storage.Sessions = (*Store)(nil)
	_ storage.OneTime  = (*Store)(nil)
	_ storage.Limiter  = (*Store)(nil)
)

// DefaultPrefix is the key prefix when [Config.Prefix] is empty.
const DefaultPrefix = "wxauth:"

// defaultTimeout bounds dialing, each read and write, and the wait for a
// pooled connection when [Config] leaves them zero: a Redis that is down or
// stalled answers ErrUnavailable within about a second instead of holding
// every request.
const defaultTimeout = time.Second

// Config says where Redis is and how to talk to it.
type Config struct {
	// URL is one of (the forms are described in the package doc):
	//
	//	redis://[user:password@]host:port[/db][?options]            one node
	//	rediss://…                                                   one node, TLS
	//	redis+cluster://[user:password@]h1:p1,h2:p2,…[?options]     Redis Cluster seeds
	//	rediss+cluster://…                                           Redis Cluster, TLS
	//	redis+sentinel://[user:password@]s1:p1,s2:p2,…/master[/db][?options]
	//	rediss+sentinel://…                                          Sentinel, TLS to the nodes
	//
	// options are go-redis's query parameters (pool_size=20, client_name=…).
	// Required.
	URL string
	// Prefix starts every key, so that several deployments can share one
	// Redis. Zero means [DefaultPrefix]. It may not contain '{' or '}', which
	// would change the hash slots (see the package doc).
	Prefix string
	// Logger receives warnings about clean-up that failed after a change
	// was made (a stale index entry, pruned later). Nil discards them.
	Logger *slog.Logger
	// DialTimeout, ReadTimeout, WriteTimeout bound each connection attempt,
	// each reply and each request; PoolTimeout bounds the wait for a free
	// pooled connection. Zero means one second. They override timeouts given
	// in the URL.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	PoolTimeout  time.Duration
	// Instrument, if set, is given the client before its first command
	// (cmd's tracing adds its spans, docs/operations.md "Tracing"). Nil:
	// none.
	Instrument func(redis.UniversalClient) error
}

// LogValue keeps the URL's password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", redact.URLs(c.URL)),
		slog.String("prefix", c.Prefix),
	)
}

// Store keeps sessions, one-time items and rate-limit counters in Redis
// (one node, Sentinel or Cluster). It is safe for concurrent use; call
// [Store.Close] when done.
type Store struct {
	client redis.UniversalClient
	prefix string
	log    *slog.Logger
}

// Open connects to Redis as cfg says and checks that it answers. An
// unreachable Redis gives an error matching [storage.ErrUnavailable]. Its
// errors never show a password (internal/redact).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := open(ctx, cfg)
	return s, redact.Error(err)
}

func open(ctx context.Context, cfg Config) (*Store, error) {
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstore: Prefix %q: may not contain '{' or '}'", prefix)
	}
	conn, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: URL: %w", err)
	}
	conn.setLimits(limits{
		dial:  orDefault(cfg.DialTimeout),
		read:  orDefault(cfg.ReadTimeout),
		write: orDefault(cfg.WriteTimeout),
		pool:  orDefault(cfg.PoolTimeout),
	})
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{client: conn.newClient(), prefix: prefix, log: log}
	if cfg.Instrument != nil {
		if err := cfg.Instrument(s.client); err != nil {
			s.client.Close()
			return nil, fmt.Errorf("redisstore: %w", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		s.client.Close()
		return nil, fmt.Errorf("redisstore: open %s: %w", redact.URLs(cfg.URL), err)
	}
	return s, nil
}

func orDefault(d time.Duration) time.Duration {
	if d == 0 {
		return defaultTimeout
	}
	return d
}

// Close closes the connections.
func (s *Store) Close() error { return s.client.Close() }

// Ping implements [storage.Sessions.Ping]. On a cluster it pings every
// master, since each holds a share of the sessions.
func (s *Store) Ping(ctx context.Context) error {
	if c, ok := s.client.(*redis.ClusterClient); ok {
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.Ping(ctx).Err()
		})
		return wrap("ping", err)
	}
	return wrap("ping", s.client.Ping(ctx).Err())
}

// transientReplies are the error replies of a Redis that cannot serve now
// (loading its data, a cluster or replica in trouble, a busy script, out of
// memory); they count as unavailability, not as a bug.
var transientReplies = []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY", "OOM", "NOREPLICAS"}

// wrap turns a client error into the store's: network failures, timeouts
// and transient error replies match [storage.ErrUnavailable]; a cancelled
// context stays a cancellation; anything else (a script error) is a bug and
// stays plain.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if rerr, ok := errors.AsType[redis.Error](err); ok {
		msg := rerr.Error()
		transient := false
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				transient = true
				break
			}
		}
		if !transient {
			return fmt.Errorf("redisstore: %s: %w", op, err)
		}
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, storage.ErrUnavailable, err)
}
