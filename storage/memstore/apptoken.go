package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

var _ wechat.TokenCache = (*Store)(nil)

// appTokens holds a Store's app access tokens and fetch locks under their
// own lock. Its zero value is empty and ready.
//
// The interface carries no time, so expiry is judged by the real clock:
// a token by its ExpiresAt against time.Now, a lock by its TTL on the
// monotonic clock. There is one token and at most one lock per app, so
// nothing needs sweeping: an expired entry is replaced or deleted by the
// next write for its app.
type appTokens struct {
	mu     sync.Mutex
	tokens map[string]appToken
	locks  map[string]appLock
	// holders numbers the locks taken, so a release frees only its own.
	holders uint64
}

type appToken struct {
	token   string
	expires int64 // Unix ns
}

type appLock struct {
	holder  uint64
	expires time.Time // with a monotonic reading
}

// AppToken implements [wechat.TokenCache.AppToken]. ExpiresAt comes back
// in UTC.
func (s *Store) AppToken(ctx context.Context, appID string) (wechat.AppToken, bool, error) {
	a := &s.appTokens
	a.mu.Lock()
	defer a.mu.Unlock()
	tok, ok := a.tokens[appID]
	if !ok || time.Now().UnixNano() >= tok.expires {
		return wechat.AppToken{}, false, nil
	}
	return wechat.AppToken{Token: tok.token, ExpiresAt: time.Unix(0, tok.expires).UTC()}, true, nil
}

// SetAppToken implements [wechat.TokenCache.SetAppToken]. It replaces the
// app's token, whatever it was; a tok already expired leaves none.
func (s *Store) SetAppToken(ctx context.Context, appID string, tok wechat.AppToken) error {
	if err := checkAppToken(tok); err != nil {
		return fmt.Errorf("memstore: set app token of %q: %w", appID, err)
	}
	a := &s.appTokens
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens == nil {
		a.tokens = make(map[string]appToken)
	}
	a.tokens[appID] = appToken{token: tok.Token, expires: tok.ExpiresAt.UnixNano()}
	return nil
}

func checkAppToken(tok wechat.AppToken) error {
	switch {
	case tok.Token == "":
		return errors.New("token is empty")
	case tok.ExpiresAt.IsZero():
		return errors.New("ExpiresAt is zero")
	}
	return nil
}

// DropAppToken implements [wechat.TokenCache.DropAppToken]. An expired
// token is absent: dropping it reports false.
func (s *Store) DropAppToken(ctx context.Context, appID, token string) (bool, error) {
	a := &s.appTokens
	a.mu.Lock()
	defer a.mu.Unlock()
	tok, ok := a.tokens[appID]
	if !ok || tok.token != token {
		return false, nil
	}
	delete(a.tokens, appID)
	return time.Now().UnixNano() < tok.expires, nil
}

// LockAppToken implements [wechat.TokenCache.LockAppToken]. Each lock taken
// has its own holder number; release frees the lock only while that number
// holds it, so a release that comes after the ttl ran out and someone else
// took the lock leaves theirs alone. release may be called more than once.
// When ok is false, release is a no-op.
func (s *Store) LockAppToken(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("memstore: lock app token of %q: ttl %v is not positive", appID, ttl)
	}
	now := time.Now()
	a := &s.appTokens
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, ok := a.locks[appID]; ok && now.Before(l.expires) {
		return func() {}, false, nil
	}
	if a.locks == nil {
		a.locks = make(map[string]appLock)
	}
	a.holders++
	holder := a.holders
	a.locks[appID] = appLock{holder: holder, expires: now.Add(ttl)}
	release := func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if l, ok := a.locks[appID]; ok && l.holder == holder {
			delete(a.locks, appID)
		}
	}
	return release, true, nil
}
