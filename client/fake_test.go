package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/client"
)

// These tests put the client in front of fake servers that misbehave in
// ways the real one does not.

// fakeAuth is a wxauth imitation: refresh hands out numbered tokens, and
// every other path answers what protected says.
type fakeAuth struct {
	refreshes atomic.Int32
	calls     atomic.Int32 // other paths
	protected http.HandlerFunc
	mu        sync.Mutex
	bodies    []string // bodies of the other paths' requests
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/token/refresh" {
		n := f.refreshes.Add(1)
		writeJSON(w, 200, api.TokenResponse{AccessToken: fmt.Sprint("access-", n), RefreshToken: fmt.Sprint("refresh-", n), ExpiresIn: 7200, TokenType: "Bearer"})
		return
	}
	f.calls.Add(1)
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	f.protected(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, api.Status(code), api.Error{Code: code, Description: "fake"})
	}
}

// A server that calls every token expired gets one refresh and one retry,
// never a loop.
func TestAlwaysExpired(t *testing.T) {
	f := &fakeAuth{protected: apiError(api.CodeTokenExpired)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "access-0", RefreshToken: "refresh-0", ExpiresIn: 7200}); err != nil {
		t.Fatal(err)
	}

	_, err = c.Me(t.Context())
	var e *api.Error
	if !errors.As(err, &e) || e.Code != api.CodeTokenExpired || e.Status != 401 {
		t.Errorf("Me = %v, want the second 401 token_expired", err)
	}
	if calls, refreshes := f.calls.Load(), f.refreshes.Load(); calls+refreshes > 3 || calls != 2 || refreshes != 1 {
		t.Errorf("Me made %d calls and %d refreshes, want 2 and 1", calls, refreshes)
	}

	// A POST is replayed with its body.
	hc := &http.Client{Transport: c.Transport(nil)}
	f.calls.Store(0)
	f.refreshes.Store(0)
	f.bodies = nil
	resp, err := hc.Post(srv.URL+"/v1/things", "application/json", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || f.calls.Load() != 2 || f.refreshes.Load() != 1 {
		t.Errorf("POST = %d after %d calls and %d refreshes, want 401 after 2 and 1", resp.StatusCode, f.calls.Load(), f.refreshes.Load())
	}
	if len(f.bodies) != 2 || f.bodies[0] != `{"n":1}` || f.bodies[1] != `{"n":1}` {
		t.Errorf("bodies sent = %q, want the same body twice", f.bodies)
	}

	// A body that cannot be replayed is not retried; the 401 comes back whole.
	f.calls.Store(0)
	f.refreshes.Store(0)
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v1/things", io.NopCloser(strings.NewReader(`{"n":2}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var body api.Error
	if resp.StatusCode != 401 || json.Unmarshal(b, &body) != nil || body.Code != api.CodeTokenExpired {
		t.Errorf("POST without GetBody = %d %s, want 401 token_expired", resp.StatusCode, b)
	}
	if f.calls.Load() != 1 || f.refreshes.Load() != 0 {
		t.Errorf("POST without GetBody made %d calls and %d refreshes, want 1 and 0", f.calls.Load(), f.refreshes.Load())
	}
}

// A server that calls every access token invalid (invalid_token: say, signed
// by a key it no longer has) gets one refresh and one retry, as for
// token_expired; the second 401 is the answer, and the session is not
// declared over, since the refresh worked.
func TestAlwaysInvalidToken(t *testing.T) {
	f := &fakeAuth{protected: apiError(api.CodeInvalidToken)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a", RefreshToken: "r", ExpiresIn: 7200}); err != nil {
		t.Fatal(err)
	}
	var e *api.Error
	if _, err := c.Me(t.Context()); !errors.As(err, &e) || e.Code != api.CodeInvalidToken || e.Status != 401 || errors.Is(err, client.ErrLoginRequired) {
		t.Errorf("Me = %v, want the second 401 invalid_token", err)
	}
	if calls, refreshes := f.calls.Load(), f.refreshes.Load(); calls != 2 || refreshes != 1 {
		t.Errorf("Me made %d calls and %d refreshes, want 2 and 1", calls, refreshes)
	}
}

// Other 401s and other statuses pass through untouched.
func TestOtherAnswersPassThrough(t *testing.T) {
	f := &fakeAuth{protected: func(w http.ResponseWriter, r *http.Request) { // an API's own 401
		writeJSON(w, 401, api.Error{Code: "mfa_required", Description: "fake"})
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a", RefreshToken: "r", ExpiresIn: 7200}); err != nil {
		t.Fatal(err)
	}
	var e *api.Error
	if _, err := c.Me(t.Context()); !errors.As(err, &e) || e.Code != "mfa_required" || e.Status != 401 || errors.Is(err, client.ErrLoginRequired) {
		t.Errorf("Me = %v, want 401 mfa_required", err)
	}
	f.protected = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<html>bad gateway</html>", 502) }
	if _, err := c.Me(t.Context()); !errors.As(err, &e) || e.Code != api.CodeServerError || e.Status != 502 {
		t.Errorf("Me = %v, want server_error with status 502", err)
	}
	if f.refreshes.Load() != 0 {
		t.Errorf("refreshes = %d, want 0", f.refreshes.Load())
	}
}

// rtFunc is an in-memory HTTP transport, so that the tests below run in a
// synctest bubble.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResponse(status int, v any) *http.Response {
	b, _ := json.Marshal(v)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(string(b)))}
}

// A failed refresh reaches every waiter, and the next call tries again.
func TestSharedRefreshFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan *http.Response)
		var refreshes atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			refreshes.Add(1)
			return <-release, nil
		})
		c, err := client.New(client.Config{BaseURL: "https://auth.example.com", HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a0", RefreshToken: "r0", ExpiresIn: 60}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Second) // expired

		ts := c.TokenSource()
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = ts.Token(t.Context()) })
		}
		synctest.Wait() // every caller waits for the one refresh
		if got := refreshes.Load(); got != 1 {
			t.Fatalf("refreshes in flight = %d, want 1", got)
		}
		release <- jsonResponse(503, api.Error{Code: api.CodeUnavailable, Description: "down"})
		wg.Wait()
		for i, err := range errs {
			var e *api.Error
			if !errors.As(err, &e) || e.Code != api.CodeUnavailable || e.Status != 503 || errors.Is(err, client.ErrLoginRequired) {
				t.Errorf("caller %d: Token = %v, want 503 unavailable", i, err)
			}
		}

		go func() {
			release <- jsonResponse(200, api.TokenResponse{AccessToken: "a1", RefreshToken: "r1", ExpiresIn: 60})
		}()
		tok, err := ts.Token(t.Context())
		if err != nil || tok.AccessToken != "a1" || refreshes.Load() != 2 {
			t.Errorf("Token after the failure = %+v, %v after %d refreshes; want a1 after 2", tok, err, refreshes.Load())
		}
	})
}

// A refresh refused for good clears the tokens once; nobody asks again.
func TestRefreshRefused(t *testing.T) {
	for _, code := range []string{api.CodeInvalidGrant, api.CodeRefreshTokenReused} {
		t.Run(code, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var refreshes atomic.Int32
				rt := rtFunc(func(r *http.Request) (*http.Response, error) {
					refreshes.Add(1)
					return jsonResponse(401, api.Error{Code: code, Description: "no"}), nil
				})
				store := &memStore{}
				c, err := client.New(client.Config{BaseURL: "https://auth.example.com", HTTPClient: &http.Client{Transport: rt}, Store: store})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a0", RefreshToken: "r0", ExpiresIn: 60}); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					_, err := c.Refresh(t.Context())
					var e *api.Error
					if !errors.Is(err, client.ErrLoginRequired) || (i == 0 && (!errors.As(err, &e) || e.Code != code)) {
						t.Errorf("Refresh #%d = %v, want ErrLoginRequired", i+1, err)
					}
				}
				if got := refreshes.Load(); got != 1 {
					t.Errorf("refresh requests = %d, want 1", got)
				}
				if tok := store.get(); tok != (client.Token{}) {
					t.Errorf("stored token = %+v, want none", tok)
				}
			})
		})
	}
}

// While the access token is still valid, a proactive refresh that fails for
// a passing reason does not fail the caller.
func TestProactiveRefreshFailureKeepsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var refreshes atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			refreshes.Add(1)
			return nil, errors.New("network down")
		})
		c, err := client.New(client.Config{BaseURL: "https://auth.example.com", HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a0", RefreshToken: "r0", ExpiresIn: 7200}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(7200*time.Second - 30*time.Second)
		if tok, err := c.TokenSource().Token(t.Context()); err != nil || tok.AccessToken != "a0" || refreshes.Load() != 1 {
			t.Errorf("Token 30 s before expiry = %+v, %v after %d refreshes; want a0 after 1", tok, err, refreshes.Load())
		}
		time.Sleep(31 * time.Second)
		if _, err := c.TokenSource().Token(t.Context()); err == nil || !strings.Contains(err.Error(), "network down") {
			t.Errorf("Token after expiry = %v, want the network error", err)
		}
	})
}

// A caller that gives up stops waiting; the refresh goes on for the others.
func TestWaiterCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			<-release
			return jsonResponse(200, api.TokenResponse{AccessToken: "a1", RefreshToken: "r1", ExpiresIn: 60}), nil
		})
		c, err := client.New(client.Config{BaseURL: "https://auth.example.com", HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetToken(t.Context(), api.TokenResponse{AccessToken: "a0", RefreshToken: "r0", ExpiresIn: 60}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		var first error
		var wg sync.WaitGroup
		wg.Go(func() { _, first = c.TokenSource().Token(ctx) })
		synctest.Wait()
		cancel()
		wg.Wait()
		if !errors.Is(first, context.Canceled) {
			t.Errorf("cancelled Token = %v, want context.Canceled", first)
		}
		var tok client.Token
		wg.Go(func() { tok, err = c.TokenSource().Token(t.Context()) })
		synctest.Wait()
		close(release)
		wg.Wait()
		if err != nil || tok.AccessToken != "a1" {
			t.Errorf("Token = %+v, %v; want a1 from the refresh the cancelled caller started", tok, err)
		}
	})
}

// memStore is a TokenStore in memory that counts its use.
type memStore struct {
	mu    sync.Mutex
	tok   client.Token
	loads int
	saves int
}

func (s *memStore) Load(context.Context) (client.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	return s.tok, nil
}

func (s *memStore) Save(_ context.Context, t client.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	s.tok = t
	return nil
}

func (s *memStore) get() client.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

// fakeJWT has only the claims the client reads.
func fakeJWT(iat, exp time.Time) string {
	b, _ := json.Marshal(map[string]int64{"iat": iat.Unix(), "exp": exp.Unix()})
	return "e30." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

// Stored tokens are read once and used; a refresh is saved; the refresh of
// a stored token is scheduled by its lifetime.
func TestStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var refreshes atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			refreshes.Add(1)
			return jsonResponse(200, api.TokenResponse{AccessToken: "a1", RefreshToken: "r1", ExpiresIn: 300, SessionID: "s"}), nil
		})
		now := time.Now()
		// A 5-minute token with 40 s left: a tenth of its lifetime is 30 s,
		// so it is not due yet; 60 s would have made it due.
		stored := client.Token{AccessToken: fakeJWT(now.Add(-260*time.Second), now.Add(40*time.Second)), RefreshToken: "r0", Expiry: now.Add(40 * time.Second), SessionID: "s"}
		store := &memStore{tok: stored}
		c, err := client.New(client.Config{BaseURL: "https://auth.example.com", HTTPClient: &http.Client{Transport: rt}, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		ts := c.TokenSource()
		for range 3 {
			if tok, err := ts.Token(t.Context()); err != nil || tok != stored {
				t.Fatalf("Token = %+v, %v; want the stored token", tok, err)
			}
		}
		time.Sleep(11 * time.Second)
		tok, err := ts.Token(t.Context())
		if err != nil || tok.AccessToken != "a1" || refreshes.Load() != 1 {
			t.Fatalf("Token 29 s before expiry = %+v, %v after %d refreshes; want a1 after 1", tok, err, refreshes.Load())
		}
		if got := store.get(); got != tok {
			t.Errorf("stored = %+v, want %+v", got, tok)
		}
		if store.loads != 1 {
			t.Errorf("store loaded %d times, want 1", store.loads)
		}
	})
}
