package storagetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

// shortTTL is the real time the expiry subtests wait out.
const shortTTL = 100 * time.Millisecond

// RunTokenCache runs the [wechat.TokenCache] conformance suite. newCache
// must return a fresh, empty cache for each subtest and clean it up with
// t.Cleanup.
//
// The interface carries no time: a cache judges expiry by the real clock.
// Tokens therefore expire relative to time.Now, and two subtests
// (Expiry, Lock/Expiry) wait for a short real TTL to pass, polling; every
// other token and lock lives for an hour.
func RunTokenCache(t *testing.T, newCache func(t *testing.T) wechat.TokenCache) {
	tests := []struct {
		name string
		run  func(t *testing.T, c wechat.TokenCache)
	}{
		{"Absent", testTokenAbsent},
		{"SetGet", testTokenSetGet},
		{"Expired", testTokenExpired},
		{"Expiry", testTokenExpiry},
		{"Drop", testTokenDrop},
		{"Apps", testTokenApps},
		{"Invalid", testTokenInvalid},
		{"Lock", testTokenLock},
		{"Lock/Expiry", testTokenLockExpiry},
		{"Race/Lock", testRaceTokenLock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newCache(t)) })
	}
}

// appToken is a token that lives for an hour from now, with a time that
// has nanoseconds.
func appToken(token string) wechat.AppToken {
	return wechat.AppToken{Token: token, ExpiresAt: time.Now().Add(time.Hour + 123456789*time.Nanosecond)}
}

func mustSetToken(t *testing.T, c wechat.TokenCache, appID string, tok wechat.AppToken) {
	t.Helper()
	if err := c.SetAppToken(t.Context(), appID, tok); err != nil {
		t.Fatalf("SetAppToken(%q, %q) = %v, want nil", appID, tok.Token, err)
	}
}

// wantToken checks that appID's token is want, its ExpiresAt to the
// millisecond at least.
func wantToken(t *testing.T, c wechat.TokenCache, appID string, want wechat.AppToken) {
	t.Helper()
	got, found, err := c.AppToken(t.Context(), appID)
	if err != nil || !found || got.Token != want.Token {
		t.Errorf("AppToken(%q) = %q, %v, %v; want %q, true, nil", appID, got.Token, found, err, want.Token)
		return
	}
	if d := got.ExpiresAt.Sub(want.ExpiresAt); d <= -time.Millisecond || d >= time.Millisecond {
		t.Errorf("AppToken(%q).ExpiresAt = %v, want %v (to the millisecond)", appID, got.ExpiresAt, want.ExpiresAt)
	}
}

func wantNoToken(t *testing.T, c wechat.TokenCache, appID string) {
	t.Helper()
	if got, found, err := c.AppToken(t.Context(), appID); err != nil || found {
		t.Errorf("AppToken(%q) = %q, %v, %v; want not found, nil", appID, got.Token, found, err)
	}
}

func wantDrop(t *testing.T, c wechat.TokenCache, appID, token string, want bool) {
	t.Helper()
	if got, err := c.DropAppToken(t.Context(), appID, token); err != nil || got != want {
		t.Errorf("DropAppToken(%q, %q) = %v, %v; want %v, nil", appID, token, got, err, want)
	}
}

// mustLock takes appID's lock for ttl, failing the test unless it gets it.
func mustLock(t *testing.T, c wechat.TokenCache, appID string, ttl time.Duration) func() {
	t.Helper()
	release, ok, err := c.LockAppToken(t.Context(), appID, ttl)
	if err != nil || !ok || release == nil {
		t.Fatalf("LockAppToken(%q, %v) = release %t, %v, %v; want a release, true, nil", appID, ttl, release != nil, ok, err)
	}
	return release
}

// wantLocked checks that appID's lock is held by someone else. A release
// returned along with ok false, if any, must not free it.
func wantLocked(t *testing.T, c wechat.TokenCache, appID string) {
	t.Helper()
	release, ok, err := c.LockAppToken(t.Context(), appID, longTTL)
	if err != nil || ok {
		t.Fatalf("LockAppToken(%q) while held = %v, %v; want false, nil", appID, ok, err)
	}
	if release != nil {
		release()
	}
	if _, ok, err := c.LockAppToken(t.Context(), appID, longTTL); err != nil || ok {
		t.Fatalf("LockAppToken(%q) after a refused caller's release = %v, %v; want false, nil", appID, ok, err)
	}
}

func testTokenAbsent(t *testing.T, c wechat.TokenCache) {
	wantNoToken(t, c, "wxa")
	wantNoToken(t, c, "")
	wantDrop(t, c, "wxa", "tok", false)
}

func testTokenSetGet(t *testing.T, c wechat.TokenCache) {
	tok1 := appToken("tok-1")
	mustSetToken(t, c, "wxa", tok1)
	wantToken(t, c, "wxa", tok1)
	wantToken(t, c, "wxa", tok1) // reading does not consume
	// A new token replaces the old one, with its own expiry.
	tok2 := appToken("tok-2")
	tok2.ExpiresAt = tok2.ExpiresAt.Add(-30 * time.Minute)
	mustSetToken(t, c, "wxa", tok2)
	wantToken(t, c, "wxa", tok2)
	// Tokens as WeChat issues them: 512 characters of [A-Za-z0-9_-].
	long := make([]byte, 512)
	for i := range long {
		long[i] = "ABCXYZabcxyz0189_-"[i%18]
	}
	tok3 := appToken(string(long))
	mustSetToken(t, c, "wxa", tok3)
	wantToken(t, c, "wxa", tok3)
}

func testTokenExpired(t *testing.T, c wechat.TokenCache) {
	// A token set already expired is not found, and replaces a live one.
	mustSetToken(t, c, "wxa", appToken("live"))
	mustSetToken(t, c, "wxa", wechat.AppToken{Token: "old", ExpiresAt: time.Now().Add(-time.Second)})
	wantNoToken(t, c, "wxa")
	mustSetToken(t, c, "wxb", wechat.AppToken{Token: "ancient", ExpiresAt: time.Unix(1, 0)})
	wantNoToken(t, c, "wxb")
	// The app may have a token again.
	tok := appToken("new")
	mustSetToken(t, c, "wxa", tok)
	wantToken(t, c, "wxa", tok)
}

func testTokenExpiry(t *testing.T, c wechat.TokenCache) {
	long := appToken("long")
	mustSetToken(t, c, "wxlong", long)
	short := wechat.AppToken{Token: "short", ExpiresAt: time.Now().Add(shortTTL)}
	mustSetToken(t, c, "wxa", short)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, found, err := c.AppToken(t.Context(), "wxa")
		if err != nil {
			t.Fatalf("AppToken(wxa) = %v, want nil", err)
		}
		if !found {
			break
		}
		// Never served past its ExpiresAt.
		if now := time.Now(); !now.Before(short.ExpiresAt.Add(time.Millisecond)) {
			t.Fatalf("AppToken(wxa) found the token at %v, %v past its ExpiresAt", now, now.Sub(short.ExpiresAt))
		}
		if time.Now().After(deadline) {
			t.Fatalf("AppToken(wxa) still finds the token 10s after it expired")
		}
		time.Sleep(shortTTL / 4)
	}
	wantDrop(t, c, "wxa", "short", false)
	wantToken(t, c, "wxlong", long)
}

func testTokenDrop(t *testing.T, c wechat.TokenCache) {
	tok1, tok2 := appToken("tok-1"), appToken("tok-2")
	mustSetToken(t, c, "wxa", tok1)
	// Another token, or a prefix of this one, does not drop it.
	wantDrop(t, c, "wxa", "tok-2", false)
	wantDrop(t, c, "wxa", "tok-", false)
	wantDrop(t, c, "wxa", "", false)
	wantToken(t, c, "wxa", tok1)
	wantDrop(t, c, "wxa", "tok-1", true)
	wantNoToken(t, c, "wxa")
	wantDrop(t, c, "wxa", "tok-1", false)
	// A refusal reported late, after a newer token was stored, leaves the
	// newer one.
	mustSetToken(t, c, "wxa", tok1)
	mustSetToken(t, c, "wxa", tok2)
	wantDrop(t, c, "wxa", "tok-1", false)
	wantToken(t, c, "wxa", tok2)
	wantDrop(t, c, "wxa", "tok-2", true)
	wantNoToken(t, c, "wxa")
}

func testTokenApps(t *testing.T, c wechat.TokenCache) {
	// App ids that a careless key encoding would mix up, with each other
	// or with a lock.
	apps := []string{"wxa", "wxb", "x", "X", "x}:lock", "x:lock", "{x}", "x}", "t:{x}", "", "应用"}
	toks := make([]wechat.AppToken, len(apps))
	for i, app := range apps {
		toks[i] = appToken(fmt.Sprintf("tok-%d", i))
		mustSetToken(t, c, app, toks[i])
	}
	for i, app := range apps {
		wantToken(t, c, app, toks[i])
	}
	// Dropping one app's token, with another's token or its own, leaves
	// the others.
	wantDrop(t, c, "wxb", toks[0].Token, false)
	wantDrop(t, c, "wxa", toks[0].Token, true)
	wantNoToken(t, c, "wxa")
	for i, app := range apps[1:] {
		wantToken(t, c, app, toks[i+1])
	}
	// Locks are per app, and apart from the tokens.
	releases := make(map[string]func())
	for _, app := range apps {
		releases[app] = mustLock(t, c, app, longTTL)
	}
	for _, app := range apps {
		wantLocked(t, c, app)
	}
	for i, app := range apps[1:] {
		wantToken(t, c, app, toks[i+1])
	}
	releases["x"]()
	mustLock(t, c, "x", longTTL)
	for _, app := range apps {
		wantLocked(t, c, app)
	}
	wantToken(t, c, "x", toks[2])
}

func testTokenInvalid(t *testing.T, c wechat.TokenCache) {
	ctx := t.Context()
	if err := c.SetAppToken(ctx, "wxa", wechat.AppToken{ExpiresAt: time.Now().Add(time.Hour)}); err == nil {
		t.Errorf("SetAppToken(wxa) with an empty token = nil, want an error")
	}
	if err := c.SetAppToken(ctx, "wxa", wechat.AppToken{Token: "tok"}); err == nil {
		t.Errorf("SetAppToken(wxa) with a zero ExpiresAt = nil, want an error")
	}
	wantNoToken(t, c, "wxa")
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, ok, err := c.LockAppToken(ctx, "wxa", ttl); err == nil || ok {
			t.Errorf("LockAppToken(wxa, %v) = %v, %v; want false, an error", ttl, ok, err)
		}
	}
	mustLock(t, c, "wxa", longTTL)
}

func testTokenLock(t *testing.T, c wechat.TokenCache) {
	release1 := mustLock(t, c, "wxa", longTTL)
	wantLocked(t, c, "wxa")
	release1()
	release2 := mustLock(t, c, "wxa", longTTL)
	// Releasing again, after someone else took the lock, leaves theirs.
	release1()
	wantLocked(t, c, "wxa")
	release2()
	release2()
	mustLock(t, c, "wxa", longTTL)
	wantLocked(t, c, "wxa")
}

func testTokenLockExpiry(t *testing.T, c wechat.TokenCache) {
	releaseOld := mustLock(t, c, "wxa", shortTTL)
	mustLock(t, c, "wxlong", longTTL)
	// Poll until the ttl has run out and the lock can be taken again.
	deadline := time.Now().Add(10 * time.Second)
	var releaseNew func()
	for {
		release, ok, err := c.LockAppToken(t.Context(), "wxa", longTTL)
		if err != nil {
			t.Fatalf("LockAppToken(wxa) = %v, want nil", err)
		}
		if ok {
			releaseNew = release
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LockAppToken(wxa) still refused 10s after the lock's ttl of %v", shortTTL)
		}
		time.Sleep(shortTTL / 4)
	}
	// The first holder, late, releases: the new holder keeps the lock.
	releaseOld()
	wantLocked(t, c, "wxa")
	wantLocked(t, c, "wxlong")
	releaseNew()
	mustLock(t, c, "wxa", longTTL)
}

func testRaceTokenLock(t *testing.T, c wechat.TokenCache) {
	ctx := context.WithoutCancel(t.Context())
	var won, lost atomic.Int32
	releases := make([]func(), raceN)
	start(raceN, func(i int) {
		release, ok, err := c.LockAppToken(ctx, "wxa", longTTL)
		switch {
		case err != nil:
			t.Errorf("LockAppToken(wxa) #%d = %v, want nil", i, err)
		case ok:
			won.Add(1)
			releases[i] = release
		default:
			lost.Add(1)
			if release != nil {
				release() // must not free the winner's lock
			}
		}
	})
	if won.Load() != 1 || lost.Load() != raceN-1 {
		t.Fatalf("%d concurrent LockAppToken(wxa): %d ok, %d refused; want 1, %d", raceN, won.Load(), lost.Load(), raceN-1)
	}
	wantLocked(t, c, "wxa")
	for _, release := range releases {
		if release != nil {
			release()
		}
	}
	mustLock(t, c, "wxa", longTTL)
}
