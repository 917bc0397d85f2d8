package bearer_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/bearer"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// These tests run bearer against the real wxauth stack (internal/servertest):
// tokens signed by package token, the JWKS and the push as the server
// serves them. Package bearer itself imports only api; only its tests
// reach for the server.

const e2eServiceKey = "e2e-service-key-0123456789"

func e2eServer(t *testing.T) *servertest.Server {
	return servertest.New(t, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: e2eServiceKey}}
		c.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
	}))
}

func e2eConfig(s *servertest.Server) bearer.Config {
	return bearer.Config{
		Issuer:     s.Config.Issuer,
		Audience:   cmp.Or(s.Config.Audience, s.Config.Issuer),
		HTTPClient: s.HTTP,
		Now:        s.Clock.Now,
	}
}

func TestAgainstWxauthTokens(t *testing.T) {
	s := e2eServer(t)
	v, err := bearer.New(e2eConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tr := s.Login(t, "mp", "alice")
	c, err := v.Verify(t.Context(), tr.AccessToken)
	if err != nil {
		t.Fatalf("Verify(wxauth's token) = %v", err)
	}
	if c.Subject != tr.User.ID || c.SessionID != tr.SessionID || c.App != "mp" || c.Issuer != s.Config.Issuer {
		t.Errorf("claims = %+v, want user %s, session %s", c, tr.User.ID, tr.SessionID)
	}
	// Expired exactly when expires_in says, here as at wxauth.
	s.Clock.Advance(time.Duration(tr.ExpiresIn)*time.Second - time.Second)
	if _, err := v.Verify(t.Context(), tr.AccessToken); err != nil {
		t.Errorf("a second before expires_in: Verify = %v", err)
	}
	s.Clock.Advance(time.Second)
	if _, err := v.Verify(t.Context(), tr.AccessToken); !errors.Is(err, bearer.ErrTokenExpired) {
		t.Errorf("at expires_in: Verify = %v, want ErrTokenExpired", err)
	}
}

// A service key without the revocations scope is refused (403
// insufficient_scope): the Verifier never goes live and says why.
func TestAgainstWxauthKeyWithoutRevocationsScope(t *testing.T) {
	const key = "introspect-only-key-0123456789"
	s := servertest.New(t, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "introonly", Scopes: []string{api.ScopeIntrospect}, Secret: key}}
	}))
	var logs servertest.SyncBuffer
	cfg := e2eConfig(s)
	cfg.ServiceKey = key
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	v, err := bearer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := v.Start(ctx); err == nil {
		t.Fatal("Start with a key lacking the revocations scope = nil")
	}
	if v.Live() {
		t.Error("live without the revocations scope")
	}
	if !strings.Contains(logs.String(), "lacks the revocations scope") {
		t.Errorf("logs do not say the scope is missing:\n%s", logs.String())
	}
}

// TestAgainstWxauthRevocations: a logout at wxauth reaches a bearer service
// through GET /v1/revocations.
func TestAgainstWxauthRevocations(t *testing.T) {
	s := e2eServer(t)
	cfg := e2eConfig(s)
	cfg.ServiceKey = e2eServiceKey
	v, err := bearer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := v.Start(ctx); err != nil {
		t.Fatalf("Start against wxauth: %v", err)
	}

	// Each round: a login, the token verified (so it is cached), a logout,
	// then Verify until it refuses. Timed from just before the logout
	// request, so the figure includes wxauth's handling of it.
	const n = 50
	delays := make([]time.Duration, n)
	for i := range delays {
		tr := s.Login(t, "mp", "alice")
		if _, err := v.Verify(t.Context(), tr.AccessToken); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		begin := time.Now()
		if r := s.Do(t, "POST", "/v1/logout", map[string]any{}, tr.AccessToken); r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		for {
			_, err := v.Verify(t.Context(), tr.AccessToken)
			if errors.Is(err, bearer.ErrSessionRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("Verify after logout = %v", err)
			}
			if time.Since(begin) > time.Second {
				t.Fatalf("logged-out session still accepted after 1 s")
			}
			runtime.Gosched()
		}
		delays[i] = time.Since(begin)
	}
	slices.Sort(delays)
	t.Logf("logout request → refusal at a bearer service, %d sessions: p50 %v, max %v", n, delays[n/2], delays[n-1])
	if !v.Live() {
		t.Error("push not live at the end")
	}
}

// hasRevocations asks the server for the push and hangs up at once.
