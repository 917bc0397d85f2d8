package wechat

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// NewMemoryTokenCache returns a [TokenCache] that lives in this process:
// for a program that calls WeChat from one process only, and for tests.
// Tokens expire at their ExpiresAt and locks after their ttl, by the real
// clock. It is safe for concurrent use.
func NewMemoryTokenCache() TokenCache { return newMemoryTokenCache(time.Now) }

func newMemoryTokenCache(now func() time.Time) *memoryTokenCache {
	return &memoryTokenCache{
		now:    now,
		tokens: make(map[string]AppToken),
		locks:  make(map[string]memoryLock),
	}
}

type memoryTokenCache struct {
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]AppToken   // by app ID
	locks  map[string]memoryLock // by app ID
	seq    uint64                // names lock holders
}

type memoryLock struct {
	holder uint64
	until  time.Time
}

var _ TokenCache = (*memoryTokenCache)(nil)

func (c *memoryTokenCache) AppToken(_ context.Context, appID string) (AppToken, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := c.tokens[appID]
	if !ok {
		return AppToken{}, false, nil
	}
	if !c.now().Before(tok.ExpiresAt) {
		delete(c.tokens, appID)
		return AppToken{}, false, nil
	}
	return tok, true, nil
}

func (c *memoryTokenCache) SetAppToken(_ context.Context, appID string, tok AppToken) error {
	switch {
	case tok.Token == "":
		return fmt.Errorf("wechat: memory token cache: set app token of %q: token is empty", appID)
	case tok.ExpiresAt.IsZero():
		return fmt.Errorf("wechat: memory token cache: set app token of %q: ExpiresAt is zero", appID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.now().Before(tok.ExpiresAt) {
		delete(c.tokens, appID)
		return nil
	}
	c.tokens[appID] = tok
	return nil
}

func (c *memoryTokenCache) DropAppToken(_ context.Context, appID, token string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := c.tokens[appID]
	if !ok || token == "" || tok.Token != token {
		return false, nil
	}
	delete(c.tokens, appID)
	return true, nil
}

func (c *memoryTokenCache) LockAppToken(_ context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("wechat: memory token cache: lock app token of %q: ttl %v is not positive", appID, ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if l, held := c.locks[appID]; held && now.Before(l.until) {
		return func() {}, false, nil
	}
	c.seq++
	holder := c.seq
	c.locks[appID] = memoryLock{holder: holder, until: now.Add(ttl)}
	release := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l, held := c.locks[appID]; held && l.holder == holder {
			delete(c.locks, appID)
		}
	}
	return release, true, nil
}
