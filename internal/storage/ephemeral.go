package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OneTime keeps short-lived, single-use items: OAuth state, bind tickets,
// SMS codes, the result of a login kept for a duplicate redirect. Shared by
// all instances in production (Redis), so an item put by one instance can be
// taken by another.
type OneTime interface {
	// PutOnce stores value under key for ttl. ErrConflict if the key is
	// already there (and not expired): nothing is overwritten.
	PutOnce(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take returns the value and deletes it in one atomic step, so that of
	// concurrent callers exactly one gets it. ErrNotFound if absent or expired.
	Take(ctx context.Context, key string) ([]byte, error)
	// Get returns the value without consuming it. ErrNotFound if absent or
	// expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// CompareAndSwap replaces the value under key with next, to live for
	// ttl from now, if it is still old byte for byte: the step of a state
	// machine kept in one item (an OAuth login's state). Of concurrent
	// callers with the same old value exactly one succeeds. ErrConflict if
	// the value is another; ErrNotFound if absent or expired.
	CompareAndSwap(ctx context.Context, key string, old, next []byte, ttl time.Duration) error
}

// Limiter counts attempts in fixed windows, across all instances in
// production (Redis).
type Limiter interface {
	// Allow counts one attempt for key in the window of length window that
	// contains now, and reports whether it is within limit. When it is not,
	// retryAfter is the time until the window ends (at least one second).
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// SigningKey is a token-signing key as stored: its private half sealed by
// the caller (the store never sees it in clear).
type SigningKey struct {
	ID     string // kid
	Sealed []byte
	// CreatedAt is when the key was added; ActiveAt when instances start to
	// sign with it (later than CreatedAt, so that every instance has loaded
	// it for verification before the first token signed with it arrives).
	CreatedAt time.Time
	ActiveAt  time.Time
}

// SigningKeys stores the signing keys shared by all instances.
type SigningKeys interface {
	// AddSigningKey stores a new key. ErrConflict if the id exists.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys lists every stored key, newest ActiveAt first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes a key no token can still need. ErrNotFound if
	// absent.
	DeleteSigningKey(ctx context.Context, id string) error
}

// ErrLimited matches every *LimitError.
var ErrLimited = errors.New("storage: limit reached")

// LimitError says that a quota was over its limit, and when to retry.
type LimitError struct {
	Key        string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("storage: limit of %s reached; retry after %v", e.Key, e.RetryAfter)
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimited }

// Quota is a rate-limit counter that a call charges as part of its own
// work (see [RotateRequest.Quotas]), so that limiting a hot path costs no
// extra round trip. It is counted exactly as [Limiter.Allow] counts Key in
// Window: a quota and an Allow call on the same key share one counter.
type Quota struct {
	Key    string
	Limit  int
	Window time.Duration
}

// RevokedSession says that a session was revoked: its access tokens must be
// refused until Until, after which they have all expired anyway.
type RevokedSession struct {
	SID   string
	Until time.Time
}

// Revocations carries revocations to every instance (Redis pub/sub in
// production), which pass them on to the resource servers that subscribe
// (GET /v1/revocations), so that a logout is honoured everywhere without a
// per-request call to wxauth.
type Revocations interface {
	// PublishRevoked records r (until r.Until) and tells every subscriber.
	PublishRevoked(ctx context.Context, r RevokedSession) error
	// RecentRevocations lists the recorded revocations still in force at now.
	RecentRevocations(ctx context.Context, now time.Time) ([]RevokedSession, error)
	// SubscribeRevoked calls fn for every revocation published from the
	// moment the subscription is established (ready is called then) until
	// ctx ends or the subscription breaks; it returns the reason.
	SubscribeRevoked(ctx context.Context, ready func(), fn func(RevokedSession)) error
}
