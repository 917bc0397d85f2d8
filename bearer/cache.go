package bearer

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"

	"github.com/wxauth/wxauth/api"
)

// cacheKey is the SHA-256 of a token: entries have a fixed size, and the
// cache holds no bearer token in clear.
type cacheKey [sha256.Size]byte

func hashToken(token string) cacheKey {
	var buf [1024]byte // no allocation for a token of any sane size
	if len(token) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], token)])
	}
	return sha256.Sum256([]byte(token))
}

const cacheShards = 16

// tokenCache remembers the claims of tokens whose signature and claims were
// verified, so that checking one again is a hash and a map read. It is
// bounded: each shard keeps two generations of at most limit entries; when
// the current one fills up it becomes the previous one and the old previous
// is dropped, and a hit in the previous generation moves the entry to the
// current one. Recently used tokens stay, without a list to maintain.
//
// Entries are not removed when their token expires: the caller checks exp
// on every hit, so an expired token is never accepted, and it falls out with
// its generation. Revocation is checked by the caller after the cache.
type tokenCache struct {
	// epoch counts purges. A token is cached only if no purge happened
	// since its check began: else a token checked with a key just withdrawn
	// could be put back right after the purge.
	epoch  atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu        sync.RWMutex
	cur, prev map[cacheKey]*api.Claims
	limit     int
	_         [64]byte // keep shards' locks on separate cache lines
}

func newTokenCache(size int) *tokenCache {
	limit := max(size/(2*cacheShards), 1)
	c := &tokenCache{}
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = limit
		s.cur = make(map[cacheKey]*api.Claims, limit)
	}
	return c
}

func (c *tokenCache) shard(k *cacheKey) *cacheShard { return &c.shards[k[0]%cacheShards] }

// get returns the cached claims for k, or nil. The claims are shared and
// must not be modified.
func (c *tokenCache) get(k *cacheKey) *api.Claims {
	s := c.shard(k)
	s.mu.RLock()
	cl, ok := s.cur[*k]
	if !ok {
		cl = s.prev[*k]
	}
	s.mu.RUnlock()
	if !ok && cl != nil {
		s.mu.Lock()
		s.addLocked(k, cl)
		s.mu.Unlock()
	}
	return cl
}

// put caches cl for k, unless the cache was purged since epoch (read
// before the token's check began).
func (c *tokenCache) put(k *cacheKey, cl *api.Claims, epoch uint64) {
	s := c.shard(k)
	s.mu.Lock()
	if c.epoch.Load() == epoch {
		s.addLocked(k, cl)
	}
	s.mu.Unlock()
}

func (s *cacheShard) addLocked(k *cacheKey, cl *api.Claims) {
	s.cur[*k] = cl
	if len(s.cur) >= s.limit {
		s.prev, s.cur = s.cur, make(map[cacheKey]*api.Claims, s.limit)
	}
}

// len counts the entries, for tests.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.cur) + len(s.prev)
		s.mu.RUnlock()
	}
	return n
}

// purge drops every entry: a signing key was withdrawn from the JWKS, and
// tokens it signed must be checked again.
func (c *tokenCache) purge() {
	c.epoch.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.prev, s.cur = nil, make(map[cacheKey]*api.Claims, s.limit)
		s.mu.Unlock()
	}
}
