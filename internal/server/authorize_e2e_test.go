package server_test

import (
	"net/http"
	"net/url"
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

// WeChat opens an Official Account's page only inside WeChat (reference
// §5.1): a desktop browser asking for the Official Account is sent to the
// website app's QR login, which the sandbox serves to it, and logs in; the
// sandbox's Official Account page refuses that browser.
func TestAuthorizeOfficialAccountOutsideWeChat(t *testing.T) {
	s := servertest.New(t)
	desk := newBrowser(t, s, desktopUA)
	verifier, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	r := desk.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
	loc := r.Header.Get("Location")
	if r.Status != http.StatusFound || r.Header.Get("WXAuth-App") != "web" ||
		!strings.HasPrefix(loc, s.URL+"/sandbox/open/connect/qrconnect?appid="+s.AppID(t, "web")+"&") || !strings.Contains(loc, "scope=snsapi_login") {
		t.Fatalf("desktop authorize app=oa = %d WXAuth-App %q Location %q, want 302 to the website app's qrconnect",
			r.Status, r.Header.Get("WXAuth-App"), loc)
	}
	code, state := desk.authorizeAs("alice", oauthParams(s, challenge))
	if r := desk.login(code, state, verifier); r.Status != http.StatusOK {
		t.Fatalf("login through the website app = %d %s", r.Status, r.Body)
	}
	// Inside WeChat the Official Account's page itself.
	wx := newBrowser(t, s, wechatUA)
	if r := wx.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), ""); r.Header.Get("WXAuth-App") != "oa" ||
		!strings.Contains(r.Header.Get("Location"), "/connect/oauth2/authorize?appid="+s.AppID(t, "oa")) {
		t.Errorf("WeChat authorize app=oa = %d WXAuth-App %q Location %q", r.Status, r.Header.Get("WXAuth-App"), r.Header.Get("Location"))
	}
	// The sandbox, as WeChat, refuses the Official Account's page to the desktop browser.
	wxLoc := wx.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "").Header.Get("Location")
	page, _, _ := strings.Cut(wxLoc, "#")
	if r := desk.do("GET", page+"&sandbox_user=alice", ""); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "请在微信客户端打开链接") {
		t.Errorf("the sandbox's Official Account page in a desktop browser = %d %s", r.Status, r.Body)
	}
}

// Without a website app to stand in, an Official Account's login from a
// desktop browser is 400 wechat_client_required, before any state is kept.
func TestAuthorizeWeChatClientRequired(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		for _, a := range config.DevApps() {
			if a.Kind != "website" {
				c.Apps = append(c.Apps, a)
			}
		}
	}))
	_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	r := newBrowser(t, s, desktopUA).do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
	if r.Status != http.StatusBadRequest || r.Error(t).Code != api.CodeWeChatClientRequired || r.Header.Get("Location") != "" {
		t.Errorf("desktop authorize app=oa without a website app = %d %s, want 400 wechat_client_required", r.Status, r.Body)
	}
	if r := newBrowser(t, s, wechatUA).do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), ""); r.Status != http.StatusFound {
		t.Errorf("WeChat authorize app=oa = %d %s, want 302", r.Status, r.Body)
	}
}

// Registered domains (reference §5.1, §6): wxauth refuses, before WeChat,
// a redirect_uri off the app's domains; the sandbox, like WeChat, shows
// error page 10003 (no redirect, no code) for one off the domains or on
// another port, and allows only its dev origin's port.
func TestAuthorizeDomains(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Apps = config.DevApps()
		c.Apps[1].Domains = []string{"127.0.0.1", "h5.example.com"} // oa; web has none: not checked by wxauth
		c.Redirects = append(c.Redirects, "https://m.example.com/h5/", "http://127.0.0.1:1/h5/")
	}))
	b := newBrowser(t, s, wechatUA)
	_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	authorize := func(app, redirectURI string) servertest.Response {
		v := oauthParams(s, challenge, "app", app, "redirect_uri", redirectURI)
		if app == "web" {
			v.Del("scope")
		}
		return b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "")
	}
	// wxauth knows oa's domains: m.example.com is not one.
	if r := authorize("oa", "https://m.example.com/h5/"); r.Status != http.StatusBadRequest || r.Error(t).Code != api.CodeForbiddenRedirect {
		t.Errorf("oa, a host off its domains = %d %s, want 400 forbidden_redirect", r.Status, r.Body)
	}
	sandboxPage := func(r servertest.Response) servertest.Response {
		t.Helper()
		if r.Status != http.StatusFound {
			t.Fatalf("authorize = %d %s, want 302 to WeChat", r.Status, r.Body)
		}
		page, _, _ := strings.Cut(r.Header.Get("Location"), "#")
		return b.do("GET", page+"&sandbox_user=alice", "")
	}
	refused := func(what string, r servertest.Response) {
		t.Helper()
		if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(string(r.Body), `id="errcode">10003<`) {
			t.Errorf("%s: the sandbox answered %d Location %q, want error page 10003; body %.300s", what, r.Status, r.Header.Get("Location"), r.Body)
		}
	}
	// The sandbox holds the rest: a port other than its dev origin's, and
	// the website app, registered there with no domain.
	refused("oa on 127.0.0.1:1", sandboxPage(authorize("oa", "http://127.0.0.1:1/h5/")))
	refused("web on m.example.com", sandboxPage(authorize("web", "https://m.example.com/h5/")))
	// The dev origin, port included, is the sandbox's allowance.
	if r := sandboxPage(authorize("oa", s.URL+"/demo/")); r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), s.URL+"/demo/?code=") {
		t.Errorf("oa on the dev origin: the sandbox answered %d Location %q, want 302 back with a code", r.Status, r.Header.Get("Location"))
	}
	if n := s.Sandbox.Stats()["/sns/oauth2/access_token"]; n != 0 {
		t.Errorf("%d code exchanges, want 0", n)
	}
}

// An empty state is WeChat's error 10013 (reference §5.1); wxauth always
// sends one, and the sandbox refuses the same link without it.
func TestAuthorizeState(t *testing.T) {
	s := servertest.New(t)
	_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	for _, tc := range []struct {
		ua, app string
	}{{wechatUA, "oa"}, {desktopUA, "web"}} {
		b := newBrowser(t, s, tc.ua)
		v := oauthParams(s, challenge, "app", tc.app)
		v.Del("scope")
		r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "")
		page, _, _ := strings.Cut(r.Header.Get("Location"), "#")
		u, err := url.Parse(page)
		if err != nil || r.Status != http.StatusFound || len(u.Query().Get("state")) < 16 {
			t.Fatalf("%s: authorize = %d Location %q, want a state", tc.app, r.Status, page)
		}
		q := u.Query()
		q.Set("state", "")
		q.Set("sandbox_user", "alice")
		u.RawQuery = q.Encode()
		if r := b.do("GET", u.String(), ""); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(string(r.Body), `id="errcode">10013<`) {
			t.Errorf("%s: the sandbox answered an empty state with %d Location %q, want error page 10013", tc.app, r.Status, r.Header.Get("Location"))
		}
	}
}
