package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// Service keys with scopes, over HTTP: each key calls the endpoints of its
// scopes and gets 403 insufficient_scope at the others; an unknown key is
// still 401 everywhere.
func TestServiceKeyScopes(t *testing.T) {
	keys := map[string]string{ // scope → its key's secret
		api.ScopeIntrospect:        "introspect-key-0123456789",
		api.ScopeRevocations:       "revocations-key-0123456789",
		api.ScopeWeChatAccessToken: "apptoken-key-0123456789",
		api.ScopeAdmin:             "admin-key-0123456789",
	}
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{
			{Name: "intro", Scopes: []string{api.ScopeIntrospect}, Secret: keys[api.ScopeIntrospect]},
			{Name: "rev", Scopes: []string{api.ScopeRevocations}, Secret: keys[api.ScopeRevocations]},
			{Name: "apptok", Scopes: []string{api.ScopeWeChatAccessToken}, Secret: keys[api.ScopeWeChatAccessToken]},
			{Name: "admin", Scopes: []string{api.ScopeAdmin}, Secret: keys[api.ScopeAdmin]},
		}
	}))
	l := s.Login(t, "mp", "alice")
	calls := []struct {
		scope, method, path, body string
	}{
		{api.ScopeIntrospect, "POST", "/v1/introspect", `{"token":"` + l.AccessToken + `"}`},
		{api.ScopeRevocations, "GET", "/v1/revocations", ""},
		{api.ScopeWeChatAccessToken, "GET", "/v1/wechat/access_token?app=mp", ""},
		{api.ScopeWeChatAccessToken, "POST", "/v1/wechat/access_token", `{"app":"mp","invalid_token":"old"}`},
		{api.ScopeAdmin, "GET", "/v1/admin/audit", ""},
	}
	for _, c := range calls {
		for scope, key := range keys {
			t.Run(c.method+" "+c.path+" with the "+scope+" key", func(t *testing.T) {
				if scope != c.scope {
					e := wantError(t, s.Do(t, c.method, c.path, c.body, key), 403, api.CodeInsufficientScope)
					t.Logf("403: %s", e.Description)
					return
				}
				if c.path == "/v1/revocations" {
					resp := openStream(t, s, key)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Fatalf("GET /v1/revocations = %d, want 200", resp.StatusCode)
					}
					return
				}
				if r := s.Do(t, c.method, c.path, c.body, key); r.Status != 200 {
					t.Fatalf("%s %s = %d %s, want 200", c.method, c.path, r.Status, r.Body)
				}
			})
		}
		t.Run(c.method+" "+c.path+" with an unknown key", func(t *testing.T) {
			wantError(t, s.Do(t, c.method, c.path, c.body, "unknown-key-0123456789"), 401, api.CodeInvalidToken)
		})
	}
}

// openStream opens GET /v1/revocations with key; the caller closes it.
func openStream(t *testing.T, s *servertest.Server, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v1/revocations", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// One service key holds at most 8 revocation streams per instance; the
// ninth is 429 rate_limited with Retry-After, another key is not affected,
// and a closed stream frees its place.
func TestRevocationStreamCapPerKey(t *testing.T) {
	const key, other = "billing-key-0123456789", "gateway-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{
			{Name: "billing", Scopes: []string{api.ScopeRevocations}, Secret: key},
			{Name: "gateway", Scopes: []string{api.ScopeRevocations}, Secret: other},
		}
	}))
	var open []*http.Response
	t.Cleanup(func() {
		for _, r := range open {
			r.Body.Close()
		}
	})
	for i := range 8 {
		r := openStream(t, s, key)
		open = append(open, r)
		if r.StatusCode != 200 {
			t.Fatalf("stream %d = %d, want 200", i+1, r.StatusCode)
		}
	}
	r := s.Do(t, "GET", "/v1/revocations", nil, key)
	wantError(t, r, 429, api.CodeRateLimited)
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want seconds", r.Header.Get("Retry-After"))
	}
	if r := openStream(t, s, other); r.StatusCode != 200 {
		t.Errorf("another key's stream = %d, want 200", r.StatusCode)
	} else {
		open = append(open, r)
	}
	// Closing one frees its place once the server notices.
	open[0].Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := openStream(t, s, key)
		if r.StatusCode == 200 {
			open = append(open, r)
			break
		}
		r.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after closing a stream the next is still %d", r.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
