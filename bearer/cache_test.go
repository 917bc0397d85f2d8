package bearer

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestCache: a repeat token is not verified again; the cache never serves
// an expired token; it stays within CacheSize.
func TestCache(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(false))
	ctx := t.Context()
	c := claimsAt(f.URL, f.clock.Now(), "s_1")
	tok := k.token(c)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache has %d entries, want 1", n)
	}

	// With no key left, only the cache can accept the token.
	v.keys.set.Store(&keySet{keys: map[string]*publicKey{}, expires: f.clock.Now().Add(time.Hour)})
	got, err := v.Verify(ctx, tok)
	if err != nil || got != c {
		t.Fatalf("repeat Verify = %+v, %v; want the cached claims", got, err)
	}
	if _, err := v.Verify(ctx, k.token(claimsAt(f.URL, f.clock.Now(), "s_2"))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("new token with no keys = %v, want ErrInvalidToken", err)
	}

	f.clock.Set(time.Unix(c.Expiry, 0).Add(-time.Second))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("cached token a second before exp: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("cached token at exp = %v, want ErrTokenExpired", err)
	}
}

func TestCacheBounded(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	cfg := f.config(false)
	cfg.CacheSize = 64
	v := newVerifier(t, cfg)
	toks := make([]string, 1000)
	for i := range toks {
		toks[i] = k.token(claimsAt(f.URL, f.clock.Now(), fmt.Sprintf("s_%d", i)))
		if _, err := v.Verify(t.Context(), toks[i]); err != nil {
			t.Fatal(err)
		}
		if n := v.cache.len(); n > 64 {
			t.Fatalf("cache has %d entries, bound 64", n)
		}
	}
	// Every token still verifies, from the cache or again.
	for _, tok := range toks {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCacheOff(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	cfg := f.config(false)
	cfg.CacheSize = -1
	v := newVerifier(t, cfg)
	if v.cache != nil {
		t.Fatal("CacheSize -1 made a cache")
	}
	tok := k.token(claimsAt(f.URL, f.clock.Now(), "s_1"))
	for range 2 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCacheHotEntriesStay: an entry in use survives generations of new
// tokens (it moves to the current generation when hit).
func TestCacheHotEntriesStay(t *testing.T) {
	c := newTokenCache(2 * cacheShards * 4) // 4 per generation per shard
	hot := hashToken("hot")
	cl := claimsAt("https://i", t0, "s_hot")
	c.put(&hot, &cl, 0)
	for i := range 10_000 {
		k := hashToken(fmt.Sprint(i))
		c.put(&k, &cl, 0)
		if c.get(&hot) == nil {
			t.Fatalf("hot entry evicted after %d puts", i)
		}
	}
}
