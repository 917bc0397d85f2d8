package wechat

import "time"

// Hooks for the tests of package wechat_test.

// NewMemoryTokenCacheAt is [NewMemoryTokenCache] with a settable clock.
func NewMemoryTokenCacheAt(now func() time.Time) TokenCache { return newMemoryTokenCache(now) }

// Idle waits until m has no look-up under way, including those that
// answered early and still fetch.
func (m *TokenManager) Idle() { m.running.Wait() }
