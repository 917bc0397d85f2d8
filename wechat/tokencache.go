package wechat

import (
	"context"
	"time"
)

// AppToken is an app access token (reference §2) with the time it stops
// being usable.
type AppToken struct {
	Token     string
	ExpiresAt time.Time
}

// TokenCache shares app access tokens between every process that calls
// WeChat for the same apps, so that exactly one of them fetches a token and
// the others use it: a second fetcher would silently invalidate the first
// one's token (reference §2.1, "中控服务器"). wxauth's session stores
// implement it (Redis across instances, in process for one); other programs
// may use [NewMemoryTokenCache] or their own.
type TokenCache interface {
	// AppToken returns appID's cached token; found is false when there is
	// none (or it has expired).
	AppToken(ctx context.Context, appID string) (tok AppToken, found bool, err error)
	// SetAppToken stores tok as appID's token until tok.ExpiresAt.
	SetAppToken(ctx context.Context, appID string, tok AppToken) error
	// DropAppToken removes appID's token only if it is still token
	// (compare-and-delete), so that a refusal reported late cannot drop a
	// newer token. dropped says whether it did.
	DropAppToken(ctx context.Context, appID, token string) (dropped bool, err error)
	// LockAppToken takes appID's fetch lock for at most ttl if nobody holds
	// it, so that one fetch is in flight across all processes. ok is false
	// when someone else holds it; release frees it early (only if still
	// held by this caller).
	LockAppToken(ctx context.Context, appID string, ttl time.Duration) (release func(), ok bool, err error)
}
