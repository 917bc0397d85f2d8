package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/internal/storage/storagetest"
	"github.com/wxauth/wxauth/wechat"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeTokens imitates WeChat's token endpoints (reference §2.1, §2.2),
// numbering the tokens it issues tok-1, tok-2, …, and /wxa/checksession,
// which accepts the tokens in good and answers 40001 for others.
type fakeTokens struct {
	arrived chan string // the path of each fetch, if the test is listening

	mu        sync.Mutex
	fetches   int
	hold      chan struct{} // when not nil, fetches wait until it is closed
	expiresIn int           // 0 means 7200
	errcode   int           // when not 0, fetches fail with it
	good      map[string]bool
	checks    []string // tokens sent to /wxa/checksession
}

func (f *fakeTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	f.mu.Lock()
	switch r.URL.Path {
	case "/cgi-bin/token", "/cgi-bin/stable_token":
		f.fetches++
		n, hold, errcode, expiresIn := f.fetches, f.hold, f.errcode, f.expiresIn
		f.mu.Unlock()
		select {
		case f.arrived <- r.URL.Path:
		default:
		}
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if errcode != 0 {
			fmt.Fprint(w, errcodeBody(errcode))
			return
		}
		if expiresIn == 0 {
			expiresIn = 7200
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":%d}`, n, expiresIn)
	case "/wxa/checksession":
		tok := r.URL.Query().Get("access_token")
		f.checks = append(f.checks, tok)
		good := f.good[tok]
		f.mu.Unlock()
		if !good {
			fmt.Fprint(w, errcodeBody(40001))
			return
		}
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	default:
		f.mu.Unlock()
		http.NotFound(w, r)
	}
}

func (f *fakeTokens) set(fn func(f *fakeTokens)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeTokens) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// tokenWorld is a fake WeChat, a client of it on a fake clock, and a
// memory cache on the same clock that managers share.
type tokenWorld struct {
	wechat *fakeTokens
	clock  *fakeClock
	client *wechat.Client
	cache  wechat.TokenCache
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	w := &tokenWorld{wechat: &fakeTokens{arrived: make(chan string, 1)}, clock: newFakeClock()}
	srv := httptest.NewServer(w.wechat)
	t.Cleanup(srv.Close)
	var err error
	if w.client, err = wechat.New(wechat.Config{APIBase: srv.URL, Now: w.clock.Now, RetryBackoff: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	w.cache = wechat.NewMemoryTokenCacheAt(w.clock.Now)
	return w
}

// manager returns a TokenManager of this world for testAppID; edit, if
// not nil, changes its config.
func (w *tokenWorld) manager(t *testing.T, edit func(*wechat.TokenManagerConfig)) *wechat.TokenManager {
	t.Helper()
	cfg := wechat.TokenManagerConfig{
		Client: w.client,
		Cache:  w.cache,
		Secrets: func(appID string) (string, bool) {
			return testSecret, appID == testAppID
		},
		Now: w.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := wechat.NewTokenManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Idle)
	return m
}

func wantToken(t *testing.T, m *wechat.TokenManager, want string) {
	t.Helper()
	tok, err := m.Token(t.Context(), testAppID)
	if err != nil || tok.Token != want {
		t.Fatalf("Token = %q, %v; want %q", tok.Token, err, want)
	}
}

func wantFetches(t *testing.T, w *tokenWorld, want int) {
	t.Helper()
	if got := w.wechat.count(); got != want {
		t.Errorf("fetches from WeChat = %d, want %d", got, want)
	}
}

// TestTokenManagerConcurrent: hundreds of callers in two processes (two
// managers on one cache) with no token cause exactly one fetch.
func TestTokenManagerConcurrent(t *testing.T) {
	w := newTokenWorld(t)
	hold := make(chan struct{})
	w.wechat.set(func(f *fakeTokens) { f.hold = hold })
	var observed atomic.Int32
	observe := func(cfg *wechat.TokenManagerConfig) {
		cfg.Observe = func(appID string) {
			if appID == testAppID {
				observed.Add(1)
			}
		}
	}
	managers := []*wechat.TokenManager{w.manager(t, observe), w.manager(t, observe)}

	const n = 300
	start := make(chan struct{})
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := managers[i%2].Token(t.Context(), testAppID)
			got[i], errs[i] = tok.Token, err
		})
	}
	close(start)
	<-w.wechat.arrived // the one fetch is under way; everyone else waits
	close(hold)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Errorf("caller %d: Token = %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	wantFetches(t, w, 1)
	if observed.Load() != 1 {
		t.Errorf("Observe called %d times, want 1", observed.Load())
	}
}

// TestTokenManagerRefreshAhead: a token within RefreshBefore of its end is
// fetched again once, and meanwhile every caller, in both processes, gets
// the old one at once.
func TestTokenManagerRefreshAhead(t *testing.T) {
	w := newTokenWorld(t)
	m1, m2 := w.manager(t, nil), w.manager(t, nil)
	wantToken(t, m1, "tok-1")
	wantToken(t, m2, "tok-1")
	w.clock.Advance(2*time.Hour - 6*time.Minute) // a minute before the refresh point
	wantToken(t, m2, "tok-1")                    // no fetch: the token is still fresh
	wantFetches(t, w, 1)

	w.clock.Advance(2 * time.Minute) // 4 minutes left: due (RefreshBefore is 5m)
	hold := make(chan struct{})
	w.wechat.set(func(f *fakeTokens) { f.hold = hold })
	wantToken(t, m1, "tok-1") // answered at once; the fetch goes on
	<-w.wechat.arrived
	for range 10 {
		wantToken(t, m1, "tok-1")
		wantToken(t, m2, "tok-1")
	}
	close(hold)
	m1.Idle()
	m2.Idle()
	wantToken(t, m1, "tok-2")
	wantToken(t, m2, "tok-2")
	wantFetches(t, w, 2)
}

// TestTokenManagerDueTokenSpacesFetches: a stable token in its last
// minutes comes back unchanged (reference §2.2); the fetcher keeps the lock
// for LockTTL so that nobody asks again before then.
func TestTokenManagerDueTokenSpacesFetches(t *testing.T) {
	w := newTokenWorld(t)
	w.wechat.set(func(f *fakeTokens) { f.expiresIn = 200 })
	m1, m2 := w.manager(t, nil), w.manager(t, nil)
	wantToken(t, m1, "tok-1")
	m1.Idle()
	for range 5 {
		wantToken(t, m1, "tok-1")
		wantToken(t, m2, "tok-1")
	}
	// Each of those calls left a look-up running (it answered early, then
	// found the lock taken). One still running after the clock moves
	// would take the lock itself and answer m1 early with tok-1.
	m1.Idle()
	m2.Idle()
	wantFetches(t, w, 1)
	w.wechat.set(func(f *fakeTokens) { f.expiresIn = 7200 })
	w.clock.Advance(wechat.DefaultLockTTL + time.Second)
	wantToken(t, m2, "tok-1") // still valid; m2 now fetches its successor
	m2.Idle()
	wantToken(t, m1, "tok-2")
	wantFetches(t, w, 2)
}

func TestTokenManagerDo(t *testing.T) {
	t.Run("retries once on 40001", func(t *testing.T) {
		w := newTokenWorld(t)
		m := w.manager(t, nil)
		w.wechat.set(func(f *fakeTokens) { f.good = map[string]bool{"tok-2": true} })
		var calls []string
		err := m.Do(t.Context(), testAppID, func(token string) error {
			calls = append(calls, token)
			return w.client.CheckSessionKey(t.Context(), token, testOpenID, testKey)
		})
		if err != nil {
			t.Errorf("Do = %v, want nil", err)
		}
		if diff := cmp.Diff([]string{"tok-1", "tok-2"}, calls); diff != "" {
			t.Errorf("tokens passed to call (-want +got):\n%s", diff)
		}
		wantFetches(t, w, 2)
		wantToken(t, m, "tok-2")
	})
	t.Run("does not loop on a persistent 40001", func(t *testing.T) {
		w := newTokenWorld(t)
		m := w.manager(t, nil)
		var calls int
		err := m.Do(t.Context(), testAppID, func(token string) error {
			calls++
			return w.client.CheckSessionKey(t.Context(), token, testOpenID, testKey)
		})
		var ae *wechat.APIError
		if !errors.Is(err, wechat.ErrTokenInvalid) || !errors.As(err, &ae) || ae.Code != 40001 {
			t.Errorf("Do = %v, want the 40001 APIError", err)
		}
		if calls != 2 {
			t.Errorf("call ran %d times, want 2", calls)
		}
		wantFetches(t, w, 2)
	})
	t.Run("other errors are not retried", func(t *testing.T) {
		w := newTokenWorld(t)
		m := w.manager(t, nil)
		var calls int
		err := m.Do(t.Context(), testAppID, func(token string) error {
			calls++
			return fmt.Errorf("check: %w", &wechat.APIError{Endpoint: "/wxa/checksession", Code: 87009})
		})
		if !errors.Is(err, wechat.ErrSessionKeyStale) || calls != 1 {
			t.Errorf("Do = %v after %d calls, want ErrSessionKeyStale after 1", err, calls)
		}
		wantFetches(t, w, 1)
	})
	// A refusal while the refused token's successor is being fetched: the
	// retry waits for the successor rather than take the refused token
	// from the look-up under way.
	t.Run("retry waits for the fetch under way", func(t *testing.T) {
		w := newTokenWorld(t)
		m := w.manager(t, nil)
		due := wechat.AppToken{Token: "old", ExpiresAt: w.clock.Now().Add(time.Minute)}
		if err := w.cache.SetAppToken(t.Context(), testAppID, due); err != nil {
			t.Fatal(err)
		}
		hold := make(chan struct{})
		w.wechat.set(func(f *fakeTokens) { f.hold, f.good = hold, map[string]bool{"tok-1": true} })
		wantToken(t, m, "old") // and tok-1 is being fetched
		<-w.wechat.arrived
		var calls []string
		call := func(token string) error {
			calls = append(calls, token)
			return w.client.CheckSessionKey(t.Context(), token, testOpenID, testKey)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := m.Do(ctx, testAppID, call); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Do while the fetch is held = %v, want context.DeadlineExceeded", err)
		}
		if diff := cmp.Diff([]string{"old"}, calls); diff != "" {
			t.Errorf("tokens passed to call (-want +got):\n%s", diff)
		}
		close(hold)
		m.Idle()
		calls = nil
		if err := m.Do(t.Context(), testAppID, call); err != nil {
			t.Errorf("Do = %v, want nil", err)
		}
		if diff := cmp.Diff([]string{"tok-1"}, calls); diff != "" {
			t.Errorf("tokens passed to call (-want +got):\n%s", diff)
		}
		wantFetches(t, w, 1)
	})
	t.Run("no token, no call", func(t *testing.T) {
		w := newTokenWorld(t)
		w.wechat.set(func(f *fakeTokens) { f.errcode = 40125 })
		m := w.manager(t, nil)
		err := m.Do(t.Context(), testAppID, func(string) error {
			t.Error("call ran without a token")
			return nil
		})
		if !errors.Is(err, wechat.ErrBadCredential) {
			t.Errorf("Do = %v, want ErrBadCredential", err)
		}
	})
}

// TestTokenManagerInvalidate: a refusal reported with a stale token does
// not drop its successor.
func TestTokenManagerInvalidate(t *testing.T) {
	w := newTokenWorld(t)
	m1, m2 := w.manager(t, nil), w.manager(t, nil)
	wantToken(t, m1, "tok-1")
	if err := m1.Invalidate(t.Context(), testAppID, "tok-1"); err != nil {
		t.Fatalf("Invalidate(tok-1) = %v", err)
	}
	wantToken(t, m1, "tok-2")
	// Another process reports tok-1 late.
	if err := m2.Invalidate(t.Context(), testAppID, "tok-1"); err != nil {
		t.Fatalf("Invalidate(tok-1) again = %v", err)
	}
	wantToken(t, m2, "tok-2")
	wantToken(t, m1, "tok-2")
	wantFetches(t, w, 2)
	if err := m1.Invalidate(t.Context(), testAppID, ""); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("Invalidate(empty token) = %v, want ErrInvalidRequest", err)
	}
}

// refusals wraps a cache and reports each refused LockAppToken, so that a
// test knows a caller is waiting for another holder.
type refusals struct {
	wechat.TokenCache
	refused chan struct{}
}

func (c *refusals) LockAppToken(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	release, ok, err := c.TokenCache.LockAppToken(ctx, appID, ttl)
	if err == nil && !ok {
		select {
		case c.refused <- struct{}{}:
		default:
		}
	}
	return release, ok, err
}

// deadHolder takes the fetch lock for LockTTL and never releases it, like
// a process that died while fetching.
func deadHolder(t *testing.T, w *tokenWorld) *refusals {
	t.Helper()
	if _, ok, err := w.cache.LockAppToken(t.Context(), testAppID, wechat.DefaultLockTTL); err != nil || !ok {
		t.Fatalf("LockAppToken = %v, %v", ok, err)
	}
	return &refusals{TokenCache: w.cache, refused: make(chan struct{}, 1)}
}

func TestTokenManagerDeadHolder(t *testing.T) {
	w := newTokenWorld(t)
	cache := deadHolder(t, w)
	m := w.manager(t, func(cfg *wechat.TokenManagerConfig) { cfg.Cache = cache })
	type result struct {
		tok wechat.AppToken
		err error
	}
	done := make(chan result)
	go func() {
		tok, err := m.Token(t.Context(), testAppID)
		done <- result{tok, err}
	}()
	<-cache.refused // waiting for the dead holder
	wantFetches(t, w, 0)
	w.clock.Advance(wechat.DefaultLockTTL)
	r := <-done
	if r.err != nil || r.tok.Token != "tok-1" {
		t.Errorf("Token = %q, %v; want tok-1 fetched after the lock ran out", r.tok.Token, r.err)
	}
	wantFetches(t, w, 1)
}

func TestTokenManagerCancelWhileWaiting(t *testing.T) {
	w := newTokenWorld(t)
	cache := deadHolder(t, w)
	m := w.manager(t, func(cfg *wechat.TokenManagerConfig) {
		cfg.Cache = cache
		cfg.WaitTimeout = 200 * time.Millisecond // for the look-up left behind
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := m.Token(ctx, testAppID)
		done <- err
	}()
	<-cache.refused
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Token = %v, want context.Canceled", err)
	}
	wantFetches(t, w, 0)
}

func TestTokenManagerWaitTimeout(t *testing.T) {
	w := newTokenWorld(t)
	cache := deadHolder(t, w)
	m := w.manager(t, func(cfg *wechat.TokenManagerConfig) {
		cfg.Cache = cache
		cfg.WaitTimeout = 50 * time.Millisecond
	})
	_, err := m.Token(t.Context(), testAppID)
	if !errors.Is(err, wechat.ErrUnavailable) || !wechat.Temporary(err) {
		t.Errorf("Token = %v, want ErrUnavailable", err)
	}
	wantFetches(t, w, 0)
}

func TestTokenManagerFetchError(t *testing.T) {
	t.Run("no token: returned, lock released", func(t *testing.T) {
		w := newTokenWorld(t)
		w.wechat.set(func(f *fakeTokens) { f.errcode = 40001 }) // wrong secret, here
		m := w.manager(t, nil)
		for range 2 {
			_, err := m.Token(t.Context(), testAppID)
			if !errors.Is(err, wechat.ErrBadCredential) || errors.Is(err, wechat.ErrTokenInvalid) {
				t.Errorf("Token = %v, want ErrBadCredential", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q holds the secret", err)
			}
		}
		wantFetches(t, w, 2)
	})
	t.Run("valid token kept, next try after LockTTL", func(t *testing.T) {
		w := newTokenWorld(t)
		m := w.manager(t, nil)
		old := wechat.AppToken{Token: "old", ExpiresAt: w.clock.Now().Add(time.Minute)}
		if err := w.cache.SetAppToken(t.Context(), testAppID, old); err != nil {
			t.Fatal(err)
		}
		w.wechat.set(func(f *fakeTokens) { f.errcode = -1 })
		wantToken(t, m, "old")
		m.Idle()
		wantToken(t, m, "old")
		m.Idle()
		wantFetches(t, w, 2) // one fetch, retried once after -1
		w.wechat.set(func(f *fakeTokens) { f.errcode = 0 })
		w.clock.Advance(wechat.DefaultLockTTL)
		wantToken(t, m, "old")
		m.Idle()
		wantToken(t, m, "tok-3")
		wantFetches(t, w, 3)
	})
}

func TestTokenManagerLegacy(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprint("legacy=", legacy), func(t *testing.T) {
			w := newTokenWorld(t)
			m := w.manager(t, func(cfg *wechat.TokenManagerConfig) { cfg.Legacy = legacy })
			wantToken(t, m, "tok-1")
			want := map[bool]string{false: "/cgi-bin/stable_token", true: "/cgi-bin/token"}[legacy]
			if got := <-w.wechat.arrived; got != want {
				t.Errorf("fetched from %s, want %s", got, want)
			}
		})
	}
}

func TestTokenManagerUnknownApp(t *testing.T) {
	w := newTokenWorld(t)
	m := w.manager(t, nil)
	for _, appID := range []string{"", "wxunknown"} {
		if _, err := m.Token(t.Context(), appID); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("Token(%q) = %v, want ErrInvalidRequest", appID, err)
		}
	}
	wantFetches(t, w, 0)
}

func TestNewTokenManager(t *testing.T) {
	c, err := wechat.New(wechat.Config{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := wechat.New(wechat.Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	secrets := func(string) (string, bool) { return "", false }
	cache := wechat.NewMemoryTokenCache()
	tests := []struct {
		name      string
		cfg       wechat.TokenManagerConfig
		wantField string
	}{
		{"minimal", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets}, ""},
		{"no client", wechat.TokenManagerConfig{Cache: cache, Secrets: secrets}, "Client"},
		{"no cache", wechat.TokenManagerConfig{Client: c, Secrets: secrets}, "Cache"},
		{"no secrets", wechat.TokenManagerConfig{Client: c, Cache: cache}, "Secrets"},
		{"negative RefreshBefore", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets, RefreshBefore: -1}, "RefreshBefore"},
		{"RefreshBefore of an hour", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets, RefreshBefore: time.Hour}, "RefreshBefore"},
		{"negative LockTTL", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets, LockTTL: -1}, "LockTTL"},
		{"negative WaitTimeout", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets, WaitTimeout: -1}, "WaitTimeout"},
		{"LockTTL within the client's timeout", wechat.TokenManagerConfig{Client: c, Cache: cache, Secrets: secrets, LockTTL: wechat.DefaultTimeout}, "LockTTL"},
		{"default LockTTL within a long timeout", wechat.TokenManagerConfig{Client: slow, Cache: cache, Secrets: secrets}, "LockTTL"},
		{"long LockTTL for a long timeout", wechat.TokenManagerConfig{Client: slow, Cache: cache, Secrets: secrets, LockTTL: time.Minute}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := wechat.NewTokenManager(tt.cfg)
			if tt.wantField == "" {
				if err != nil || m == nil {
					t.Errorf("NewTokenManager = %v, %v; want a manager", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("NewTokenManager = %v, want an error naming %s", err, tt.wantField)
			}
		})
	}
}

// TestMemoryTokenCache runs the stores' TokenCache conformance suite.
func TestMemoryTokenCache(t *testing.T) {
	storagetest.RunTokenCache(t, func(*testing.T) wechat.TokenCache { return wechat.NewMemoryTokenCache() })
}
