package wechat_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// settableClock is a clock shared with the sandbox's handler goroutines.
type settableClock struct{ ns atomic.Int64 }

func (c *settableClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *settableClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *settableClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Official Account and website OAuth, checked against the sandbox over real
// HTTP (both written from the reference, not from each other): the
// authorize URL is accepted by the sandbox's page, and its code goes
// through exchange, user info, check and refresh.
func TestOAuthAgainstSandbox(t *testing.T) {
	clock := &settableClock{}
	clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Config{Now: clock.Now, Apps: []sandbox.App{
		{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret", Domains: []string{"login.example.com"}},
		{Name: "oa-unbound", Kind: sandbox.KindOfficialAccount, AppID: "wxoa2", Secret: "oa2-secret", Unbound: true, Domains: []string{"login.example.com"}},
		{Name: "web", Kind: sandbox.KindWebsite, AppID: "wxweb", Secret: "web-secret", Domains: []string{"login.example.com"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix, OpenBase: hs.URL + sandbox.OpenPrefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	users := map[string]sandbox.User{}
	for _, u := range sb.Users() {
		users[u.Name] = u
	}
	alice := users["alice"]

	// authorize opens AuthorizeURL(p) in the sandbox as test user name and
	// returns the code its redirect carries.
	authorize := func(t *testing.T, p wechat.AuthorizeParams, name string) string {
		t.Helper()
		raw, err := c.AuthorizeURL(p)
		if err != nil {
			t.Fatalf("AuthorizeURL(%+v) = %v", p, err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		// The sandbox's "approve at once as this user"; a browser never
		// sends the fragment.
		q.Set("sandbox_user", name)
		u.RawQuery, u.Fragment = q.Encode(), ""
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u.String(), nil)
		// An Official Account's page opens only in WeChat's browser.
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s = %s, want 302 to the redirect URI", raw, resp.Status)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if loc.Host != "login.example.com" || loc.Query().Get("state") != p.State || loc.Query().Get("code") == "" || loc.Query().Get("next") != "/home" {
			t.Fatalf("redirect to %s, want https://login.example.com/cb?next=/home with code and state %s", loc, p.State)
		}
		return loc.Query().Get("code")
	}
	const redirect = "https://login.example.com/cb?next=%2Fhome"

	t.Run("official account userinfo", func(t *testing.T) {
		code := authorize(t, wechat.AuthorizeParams{AppID: "wxoa", RedirectURI: redirect, Scope: wechat.ScopeUserInfo, State: "st4te", ForcePopup: true}, "alice")
		tok, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", code)
		if err != nil {
			t.Fatalf("OAuthExchange = %v", err)
		}
		if tok.OpenID != alice.OpenIDs["wxoa"] || tok.UnionID != alice.UnionID || tok.Scope != wechat.ScopeUserInfo || tok.Snapshot ||
			tok.AccessToken == "" || tok.RefreshToken == "" || !tok.ExpiresAt.Equal(clock.Now().Add(7200*time.Second)) {
			t.Errorf("OAuthExchange = %#v, want alice's openid and unionid, expiring in 7200s", tok)
		}
		if _, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", code); !errors.Is(err, wechat.ErrInvalidCode) {
			t.Errorf("OAuthExchange(used code) = %v, want ErrInvalidCode", err)
		}

		u, err := c.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
		if err != nil || u.OpenID != tok.OpenID || u.UnionID != alice.UnionID || u.Nickname != alice.Nickname {
			t.Errorf("OAuthUserInfo = %+v, %v; want alice's profile", u, err)
		}
		if err := c.OAuthCheck(ctx, tok.AccessToken, tok.OpenID); err != nil {
			t.Errorf("OAuthCheck = %v, want nil", err)
		}
		if err := c.OAuthCheck(ctx, tok.AccessToken, users["bob"].OpenIDs["wxoa"]); !errors.Is(err, wechat.ErrInvalidOpenID) || !errors.Is(err, wechat.ErrOAuthTokenInvalid) {
			t.Errorf("OAuthCheck(bob's openid) = %v, want ErrInvalidOpenID and ErrOAuthTokenInvalid", err)
		}
		if err := c.OAuthCheck(ctx, "unknown-token", tok.OpenID); !errors.Is(err, wechat.ErrOAuthTokenInvalid) || errors.Is(err, wechat.ErrTokenInvalid) {
			t.Errorf("OAuthCheck(unknown token) = %v, want ErrOAuthTokenInvalid, not ErrTokenInvalid", err)
		}

		// Past its two hours the token is refused (42001); the refresh
		// token gives a working one.
		clock.Advance(7201 * time.Second)
		if _, err := c.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); !errors.Is(err, wechat.ErrOAuthTokenInvalid) || errors.Is(err, wechat.ErrTokenInvalid) {
			t.Errorf("OAuthUserInfo(expired token) = %v, want ErrOAuthTokenInvalid, not ErrTokenInvalid", err)
		}
		fresh, err := c.OAuthRefresh(ctx, "wxoa", tok.RefreshToken)
		if err != nil || fresh.OpenID != tok.OpenID || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
			t.Fatalf("OAuthRefresh = %#v, %v; want a new access token for alice", fresh, err)
		}
		if err := c.OAuthCheck(ctx, fresh.AccessToken, fresh.OpenID); err != nil {
			t.Errorf("OAuthCheck(refreshed token) = %v, want nil", err)
		}
		if _, err := c.OAuthRefresh(ctx, "wxoa", "unknown-refresh-token"); !errors.Is(err, wechat.ErrRefreshTokenInvalid) {
			t.Errorf("OAuthRefresh(unknown) = %v, want ErrRefreshTokenInvalid", err)
		}
		clock.Advance(30 * 24 * time.Hour) // 30 days and 2 hours after the exchange
		var ae *wechat.APIError
		if _, err := c.OAuthRefresh(ctx, "wxoa", tok.RefreshToken); !errors.Is(err, wechat.ErrRefreshTokenInvalid) || !errors.As(err, &ae) || ae.Code != 42002 {
			t.Errorf("OAuthRefresh(after 30 days) = %v, want ErrRefreshTokenInvalid with errcode 42002", err)
		}
	})

	t.Run("official account base", func(t *testing.T) {
		code := authorize(t, wechat.AuthorizeParams{AppID: "wxoa", RedirectURI: redirect, Scope: wechat.ScopeBase, State: "s"}, "bob")
		tok, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", code)
		if err != nil || tok.OpenID != users["bob"].OpenIDs["wxoa"] || tok.UnionID != "" || tok.Scope != wechat.ScopeBase {
			t.Fatalf("OAuthExchange = %#v, %v; want bob's openid without unionid", tok, err)
		}
		if _, err := c.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); !errors.Is(err, wechat.ErrScopeUnauthorized) {
			t.Errorf("OAuthUserInfo(snsapi_base token) = %v, want ErrScopeUnauthorized", err)
		}
	})

	t.Run("unbound official account", func(t *testing.T) {
		code := authorize(t, wechat.AuthorizeParams{AppID: "wxoa2", RedirectURI: redirect, Scope: wechat.ScopeUserInfo, State: "s"}, "alice")
		tok, err := c.OAuthExchange(ctx, "wxoa2", "oa2-secret", code)
		if err != nil || tok.OpenID != alice.OpenIDs["wxoa2"] || tok.UnionID != "" {
			t.Fatalf("OAuthExchange = %#v, %v; want alice's openid without unionid", tok, err)
		}
		if u, err := c.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); err != nil || u.UnionID != "" {
			t.Errorf("OAuthUserInfo = %+v, %v; want no unionid", u, err)
		}
	})

	t.Run("snapshot user", func(t *testing.T) {
		code := authorize(t, wechat.AuthorizeParams{AppID: "wxoa", RedirectURI: redirect, Scope: wechat.ScopeUserInfo, State: "s"}, sandbox.SnapshotUser)
		tok, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", code)
		if err != nil || !tok.Snapshot {
			t.Errorf("OAuthExchange = %#v, %v; want a snapshot user", tok, err)
		}
	})

	t.Run("website", func(t *testing.T) {
		code := authorize(t, wechat.AuthorizeParams{AppID: "wxweb", RedirectURI: redirect, State: "w3b", Website: true}, "alice")
		tok, err := c.OAuthExchange(ctx, "wxweb", "web-secret", code)
		if err != nil || tok.OpenID != alice.OpenIDs["wxweb"] || tok.UnionID != alice.UnionID || tok.Scope != wechat.ScopeLogin {
			t.Fatalf("OAuthExchange = %#v, %v; want alice with her unionid", tok, err)
		}
		if u, err := c.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); err != nil || u.Nickname != alice.Nickname {
			t.Errorf("OAuthUserInfo = %+v, %v; want alice's profile", u, err)
		}
		// A website's code is not an Official Account's.
		code = authorize(t, wechat.AuthorizeParams{AppID: "wxweb", RedirectURI: redirect, State: "w3b", Website: true}, "alice")
		if _, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", code); !errors.Is(err, wechat.ErrInvalidCode) {
			t.Errorf("OAuthExchange(another app's code) = %v, want ErrInvalidCode", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		fresh := func() string {
			code, err := sb.IssueOAuthCode("wxoa", "alice", sandbox.ScopeBase)
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
		if _, err := c.OAuthExchange(ctx, "wxoa", "wrong-secret", fresh()); !errors.Is(err, wechat.ErrBadCredential) {
			t.Errorf("OAuthExchange(wrong secret) = %v, want ErrBadCredential", err)
		}
		if _, err := c.OAuthExchange(ctx, "wxnope", "oa-secret", fresh()); !errors.Is(err, wechat.ErrBadCredential) {
			t.Errorf("OAuthExchange(unknown appid) = %v, want ErrBadCredential", err)
		}
		// -1 once: the exchange fails, and is not retried.
		before := sb.Stats()["/sns/oauth2/access_token"]
		sb.InjectFault(sandbox.Fault{Path: "/sns/oauth2/access_token", Errcode: -1})
		if _, err := c.OAuthExchange(ctx, "wxoa", "oa-secret", fresh()); !errors.Is(err, wechat.ErrBusy) || !wechat.Temporary(err) {
			t.Errorf("OAuthExchange under fault -1 = %v, want ErrBusy", err)
		}
		if n := sb.Stats()["/sns/oauth2/access_token"] - before; n != 1 {
			t.Errorf("calls to /sns/oauth2/access_token = %d, want 1 (never retried)", n)
		}
	})
}
