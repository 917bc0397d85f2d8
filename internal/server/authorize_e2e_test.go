package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// authorize is unauthenticated and keeps a state per call: past the
// per-address limit it answers 429 with Retry-After, and keeps nothing.
func TestAuthorizeRateLimit(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.RateLimits.AuthorizePerIP = "3/1m" }))
	b := newBrowser(t, s, wechatUA)
	_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	for i := range 3 {
		if r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), ""); r.Status != http.StatusFound {
			t.Fatalf("authorize #%d = %d %s", i+1, r.Status, r.Body)
		}
	}
	r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
	if r.Status != http.StatusTooManyRequests || r.Error(t).Code != api.CodeRateLimited || r.Header.Get("Retry-After") == "" {
		t.Fatalf("authorize #4 = %d Retry-After %q %s, want 429 rate_limited", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	// Logins have their own counter.
	if r := b.login("code", "state", "verifier-0123456789-0123456789-0123456789-0123"); r.Status == http.StatusTooManyRequests {
		t.Errorf("login after the authorize limit = %d %s", r.Status, r.Body)
	}
	s.Clock.Advance(61 * time.Second)
	if r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), ""); r.Status != http.StatusFound {
		t.Errorf("authorize a minute later = %d %s", r.Status, r.Body)
	}
}

// Over-long redirect_uri or return_to, a fragment in redirect_uri, and dot
// segments leaving the allowed prefix are 400s, never a 500.
func TestAuthorizeRedirectChecks(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Redirects = append(c.Redirects, "https://m.example.com/h5/")
	}))
	b := newBrowser(t, s, wechatUA)
	h5 := "https://m.example.com/h5/" // under the test server's own origin every path is allowed
	long := s.URL + "/demo/?x=" + strings.Repeat("a", 2048)
	for _, tc := range []struct {
		param, value, code string
	}{
		{"redirect_uri", long, api.CodeInvalidRequest},
		{"return_to", long, api.CodeInvalidRequest},
		{"return_to", "/" + strings.Repeat("a", 2048), api.CodeInvalidRequest},
		{"redirect_uri", s.URL + "/demo/#x", api.CodeInvalidRequest},
		{"redirect_uri", s.URL + "/demo/#", api.CodeInvalidRequest},
		{"redirect_uri", h5 + "../admin/", api.CodeForbiddenRedirect},
		{"redirect_uri", h5 + "%2e%2e/admin/", api.CodeForbiddenRedirect},
		{"redirect_uri", h5 + "%2E%2E/v1/", api.CodeForbiddenRedirect},
		{"return_to", h5 + ".%2e/admin", api.CodeForbiddenRedirect},
	} {
		v := oauthParams(s, "")
		v.Set(tc.param, tc.value)
		r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "")
		if r.Status != http.StatusBadRequest || r.Error(t).Code != tc.code {
			t.Errorf("%s=%.60q: %d %s, want 400 %s", tc.param, tc.value, r.Status, r.Body, tc.code)
		}
	}
	// Within the limits, and dot segments that stay under the prefix: allowed.
	for _, tc := range []struct{ param, value string }{
		{"redirect_uri", h5 + "a/../page"},
		{"return_to", "/demo/#orders"},
		{"return_to", h5 + "./x#frag"},
		{"redirect_uri", s.URL + "/demo/?x=" + strings.Repeat("a", 2048-len(s.URL+"/demo/?x="))},
	} {
		v := oauthParams(s, "")
		v.Set(tc.param, tc.value)
		if r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), ""); r.Status != http.StatusFound {
			t.Errorf("%s=%.60q: %d %s, want 302", tc.param, tc.value, r.Status, r.Body)
		}
	}
}
