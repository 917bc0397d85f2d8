package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// h5Login logs user in through the Official Account's H5 flow and answers
// the tokens.
func h5Login(t *testing.T, s *servertest.Server, b *browser, user string) api.OAuthLoginResponse {
	t.Helper()
	verifier, challenge := pkce("login-verifier-0123456789-0123456789-0123456789")
	code, state := b.authorizeAs(user, oauthParams(s, challenge))
	r := b.login(code, state, verifier)
	if r.Status != http.StatusOK {
		t.Fatalf("login as %s = %d %s", user, r.Status, r.Body)
	}
	var res api.OAuthLoginResponse
	r.JSON(t, &res)
	return res
}

// checkParams are the authorize parameters of an account check.
func checkParams(s *servertest.Server, challenge string) url.Values {
	return oauthParams(s, challenge, "check", "1", "scope", "snsapi_base")
}

// postCheck posts a check's code and state with the session's token.
func postCheck(t *testing.T, s *servertest.Server, code, state, verifier, bearer string) servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/v1/oauth/wechat/check", api.OAuthLoginRequest{Code: code, State: state, CodeVerifier: verifier}, bearer)
}

// The account check end to end: the same person answers same_user and
// opens nothing; another person answers their login; a check answers
// once, only with the bearer, only to the verifier, only at /check.
func TestOAuthCheck(t *testing.T) {
	s := servertest.New(t)
	b := newBrowser(t, s, wechatUA)
	alice := h5Login(t, s, b, "alice")
	verifier, challenge := pkce("check-verifier-0123456789-0123456789-0123456789")

	code, state := b.authorizeAs("alice", checkParams(s, challenge))
	if r := postCheck(t, s, code, state, verifier, ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("check without a session = %d %s, want 401", r.Status, r.Body)
	}
	if r := postCheck(t, s, code, state, verifier+"x", alice.AccessToken); r.Status != 400 || r.Error(t).Code != api.CodeInvalidState {
		t.Errorf("check from another browser = %d %s, want 400 invalid_state", r.Status, r.Body)
	}
	if r := b.login(code, state, verifier); r.Status != 400 || r.Error(t).Code != api.CodeInvalidState {
		t.Errorf("a check's state at /login = %d %s, want 400 invalid_state", r.Status, r.Body)
	}
	r := postCheck(t, s, code, state, verifier, alice.AccessToken)
	var same map[string]any
	r.JSON(t, &same)
	if r.Status != http.StatusOK || len(same) != 1 || same["same_user"] != true {
		t.Fatalf("check as alice = %d %s, want exactly {\"same_user\": true}", r.Status, r.Body)
	}
	if r := postCheck(t, s, code, state, verifier, alice.AccessToken); r.Status != 400 || r.Error(t).Code != api.CodeInvalidState {
		t.Errorf("the same check again = %d %s, want 400 invalid_state", r.Status, r.Body)
	}
	var list api.SessionList
	s.Do(t, "GET", "/v1/sessions", nil, alice.AccessToken).JSON(t, &list)
	if len(list.Sessions) != 1 {
		t.Errorf("alice has %d sessions after the check, want 1", len(list.Sessions))
	}

	code, state = b.authorizeAs("bob", checkParams(s, challenge))
	r = postCheck(t, s, code, state, verifier, alice.AccessToken)
	var sw api.AccountSwitch
	r.JSON(t, &sw)
	if r.Status != http.StatusOK || sw.SameUser || sw.AccessToken == "" || sw.User == nil || sw.User.ID == alice.User.ID || sw.ReturnTo != "/demo/#orders" {
		t.Fatalf("check as bob = %d %s, want bob's login", r.Status, r.Body)
	}
	var me api.Me
	s.Do(t, "GET", "/v1/me", nil, sw.AccessToken).JSON(t, &me)
	if me.ID != sw.User.ID {
		t.Errorf("/v1/me with the check's token = %s, want bob %s", me.ID, sw.User.ID)
	}

	// A login's state is not a check's.
	lv, lc := pkce("login-verifier-0123456789-0123456789-0123456789")
	code, state = b.authorizeAs("alice", oauthParams(s, lc))
	if r := postCheck(t, s, code, state, lv, alice.AccessToken); r.Status != 400 || r.Error(t).Code != api.CodeInvalidState {
		t.Errorf("a login's state at /check = %d %s, want 400 invalid_state", r.Status, r.Body)
	}
}

// A check is an Official Account's snsapi_base inside WeChat: anything else
// is refused before the browser leaves.
func TestOAuthCheckAuthorizeRefused(t *testing.T) {
	s := servertest.New(t)
	_, challenge := pkce("check-verifier-0123456789-0123456789-0123456789")
	for _, tc := range []struct {
		name, ua string
		params   url.Values
		want     string
	}{
		{"outside WeChat", desktopUA, checkParams(s, challenge), api.CodeWeChatClientRequired},
		{"snsapi_userinfo", wechatUA, oauthParams(s, challenge, "check", "1"), api.CodeInvalidRequest},
		{"check=yes", wechatUA, oauthParams(s, challenge, "check", "yes", "scope", "snsapi_base"), api.CodeInvalidRequest},
	} {
		r := newBrowser(t, s, tc.ua).do("GET", s.URL+"/v1/oauth/wechat/authorize?"+tc.params.Encode(), "")
		if r.Status != 400 || r.Error(t).Code != tc.want {
			t.Errorf("%s: authorize = %d %s, want 400 %s", tc.name, r.Status, r.Body, tc.want)
		}
	}
}

// Under bind_phone a person wxauth has never seen answers same_user false
// with a bind ticket.
func TestOAuthCheckBindPhone(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "alice")}, "")
	var br api.BindRequired
	r.JSON(t, &br)
	pc, err := s.Sandbox.IssuePhoneCode(s.AppID(t, "mp"), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	alice := mustBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone_code": pc})
	b := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("check-verifier-0123456789-0123456789-0123456789")
	code, state := b.authorizeAs("bob", checkParams(s, challenge))
	r = postCheck(t, s, code, state, verifier, alice.AccessToken)
	var sw api.AccountSwitchBind
	r.JSON(t, &sw)
	if r.Status != http.StatusOK || sw.SameUser || !sw.BindRequired.BindRequired || sw.BindTicket == "" {
		t.Errorf("check as a new person under bind_phone = %d %s, want a bind ticket", r.Status, r.Body)
	}
}

// A check is limited per client address like a login: over the limit it
// answers 429 with Retry-After.
func TestOAuthCheckRateLimited(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.RateLimits.LoginPerIP = "2/1m" }))
	b := newBrowser(t, s, wechatUA)
	alice := h5Login(t, s, b, "alice") // the first attempt of the minute
	verifier, challenge := pkce("check-verifier-0123456789-0123456789-0123456789")
	code, state := b.authorizeAs("alice", checkParams(s, challenge))
	if r := postCheck(t, s, code, state, verifier+"x", alice.AccessToken); r.Status != 400 {
		t.Fatalf("the second attempt = %d %s, want 400 (another browser)", r.Status, r.Body)
	}
	r := postCheck(t, s, code, state, verifier, alice.AccessToken)
	if r.Status != http.StatusTooManyRequests || r.Error(t).Code != api.CodeRateLimited || r.Header.Get("Retry-After") == "" {
		t.Errorf("the third attempt = %d %s, want 429 rate_limited with Retry-After", r.Status, r.Body)
	}
}
