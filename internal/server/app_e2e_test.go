package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// appCode is what the WeChat SDK's SendAuth would give user in the mobile
// app named app.
func appCode(t *testing.T, s *servertest.Server, app, user string) string {
	t.Helper()
	code, err := s.Sandbox.IssueAppCode(s.AppID(t, app), user)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func appLogin(t *testing.T, s *servertest.Server, body any) servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/v1/app/login", body, "")
}

func mustAppLogin(t *testing.T, s *servertest.Server, app, user string) api.TokenResponse {
	t.Helper()
	r := appLogin(t, s, api.AppLoginRequest{App: app, Code: appCode(t, s, app, user)})
	if r.Status != http.StatusOK {
		t.Fatalf("app login %s as %s = %d %s", app, user, r.Status, r.Body)
	}
	var tr api.TokenResponse
	r.JSON(t, &tr)
	if tr.AccessToken == "" || tr.RefreshToken == "" || tr.User == nil {
		t.Fatalf("app login %s as %s = %s, want a token response", app, user, r.Body)
	}
	return tr
}

// A SendAuth code logs in (exchange, then /sns/userinfo: the profile), the
// session works like any other, and the next login finds the same user.
func TestAppLogin(t *testing.T) {
	s := servertest.New(t)
	first := mustAppLogin(t, s, "app", "xiaoming")
	if !first.IsNewUser || first.User.Nickname != "小明🐱" || !strings.HasPrefix(first.User.AvatarURL, "https://thirdwx.qlogo.cn/") {
		t.Errorf("first app login = %+v %+v, want a new user with WeChat's nickname and avatar", first, first.User)
	}
	m := me(t, s, first.AccessToken)
	if len(m.Identities) != 1 || m.Identities[0].App != "app" || m.Identities[0].UnionID == "" {
		t.Errorf("GET /v1/me identities = %+v, want the app's with a unionid", m.Identities)
	}
	var sessions api.SessionList
	s.Do(t, "GET", "/v1/sessions", nil, first.AccessToken).JSON(t, &sessions)
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].App != "app" {
		t.Errorf("GET /v1/sessions = %+v, want one app session", sessions)
	}
	if r := refresh(t, s, first.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("refresh = %d %s", r.Status, r.Body)
	}
	// The one mobile app: "app" may be left out.
	r := appLogin(t, s, api.AppLoginRequest{Code: appCode(t, s, "app", "xiaoming")})
	var again api.TokenResponse
	r.JSON(t, &again)
	if r.Status != http.StatusOK || again.IsNewUser || again.User == nil || again.User.ID != first.User.ID {
		t.Errorf("second app login = %d %s, want user %s returning", r.Status, r.Body, first.User.ID)
	}
	// Neither the code nor WeChat's user tokens reach the logs.
	code := appCode(t, s, "app", "xiaoming")
	appLogin(t, s, api.AppLoginRequest{App: "app", Code: code})
	if strings.Contains(s.Logs.String(), code) {
		t.Error("the logs contain a SendAuth code")
	}
}

// The unionid links a person's app login to their mini program user, in
// either order (reference §4, §6.1).
func TestAppLoginUnionIDLink(t *testing.T) {
	s := servertest.New(t)
	mp := s.Login(t, "mp", "alice")
	app := mustAppLogin(t, s, "app", "alice")
	if app.User.ID != mp.User.ID || app.IsNewUser {
		t.Errorf("alice via app = user %s (new %v), want her mini program user %s", app.User.ID, app.IsNewUser, mp.User.ID)
	}
	bobApp := mustAppLogin(t, s, "app", "bob")
	if bobMP := s.Login(t, "mp", "bob"); bobMP.User.ID != bobApp.User.ID || bobMP.IsNewUser {
		t.Errorf("bob via mini program = %s, want his app user %s", bobMP.User.ID, bobApp.User.ID)
	}
	if bobApp.User.ID == app.User.ID {
		t.Error("alice and bob share a user")
	}
	if ids := me(t, s, app.AccessToken).Identities; len(ids) != 2 || ids[0].UnionID != ids[1].UnionID {
		t.Errorf("alice's identities = %+v, want mp and app under one unionid", ids)
	}
	// An unbound mobile app has no unionid: a user of its own.
	u := servertest.New(t, servertest.Unbound("app"))
	if a, m := mustAppLogin(t, u, "app", "alice"), u.Login(t, "mp", "alice"); a.User.ID == m.User.ID {
		t.Error("an unbound app's login joined the mini program user")
	}
}

// Under bind_phone, a new person's app login answers a bind ticket, and
// the bind with an SMS code finishes it as an app session.
func TestAppLoginBindPhone(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
	r := appLogin(t, s, api.AppLoginRequest{App: "app", Code: appCode(t, s, "app", "bob")})
	var br api.BindRequired
	r.JSON(t, &br)
	if r.Status != http.StatusOK || !br.BindRequired || br.BindTicket == "" {
		t.Fatalf("app login of a new user under bind_phone = %d %s", r.Status, r.Body)
	}
	const phone = "+8613700000042"
	a := mustBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone": phone, "sms_code": mustSendSMS(t, s, br.BindTicket, phone)})
	if !a.IsNewUser || a.User.Nickname != "Bob" {
		t.Errorf("bind = %+v", a)
	}
	if m := me(t, s, a.AccessToken); len(m.Identities) != 1 || m.Identities[0].App != "app" || m.Phone != phone {
		t.Errorf("GET /v1/me = %+v", m)
	}
	// Known now: the next app login is tokens.
	if l := mustAppLogin(t, s, "app", "bob"); l.User.ID != a.User.ID {
		t.Errorf("next app login = user %s, want %s", l.User.ID, a.User.ID)
	}
}

// WeChat's refusals reach the client as invalid_code with WeChat's errcode;
// bad input and apps of other kinds are refused before WeChat is asked.
func TestAppLoginErrors(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Apps = append(config.DevApps(), config.App{Name: "app2", Kind: config.KindMobileApp, AppID: "wxd0000000000000aa", Secret: "sandbox-secret-app2-0000000000000a"})
	}))
	wechatCode := func(t *testing.T, r servertest.Response, errcode int) {
		t.Helper()
		if e := wantError(t, r, 400, api.CodeInvalidCode); e.WeChatErrcode == nil || *e.WeChatErrcode != errcode {
			t.Errorf("wechat_errcode = %v, want %d", e.WeChatErrcode, errcode)
		}
	}
	t.Run("another app's code", func(t *testing.T) {
		wechatCode(t, appLogin(t, s, api.AppLoginRequest{App: "app2", Code: appCode(t, s, "app", "alice")}), 40029)
	})
	t.Run("reused code", func(t *testing.T) {
		code := appCode(t, s, "app", "alice")
		if r := appLogin(t, s, api.AppLoginRequest{App: "app", Code: code}); r.Status != http.StatusOK {
			t.Fatalf("first use = %d %s", r.Status, r.Body)
		}
		wechatCode(t, appLogin(t, s, api.AppLoginRequest{App: "app", Code: code}), 40163)
	})
	t.Run("a website's or official account's code", func(t *testing.T) {
		for _, app := range []string{"web", "oa"} {
			scope := map[string]string{"web": "snsapi_login", "oa": "snsapi_userinfo"}[app]
			code, err := s.Sandbox.IssueOAuthCode(s.AppID(t, app), "alice", scope)
			if err != nil {
				t.Fatal(err)
			}
			wechatCode(t, appLogin(t, s, api.AppLoginRequest{App: "app", Code: code}), 40029)
		}
	})
	t.Run("a wx.login code", func(t *testing.T) {
		wechatCode(t, appLogin(t, s, api.AppLoginRequest{App: "app", Code: s.Code(t, "mp", "alice")}), 40029)
	})
	t.Run("bad input", func(t *testing.T) {
		for _, body := range []any{
			`{}`, `{"app":"app"}`, `{"app":"app","code":""}`, `{"app":"app","code":5}`, `not json`,
			api.AppLoginRequest{App: "app", Code: strings.Repeat("c", 257)},
		} {
			wantError(t, appLogin(t, s, body), 400, api.CodeInvalidRequest)
		}
		wantError(t, appLogin(t, s, `{"app":"app","code":"`+strings.Repeat("c", 70<<10)+`"}`), 413, api.CodeInvalidRequest)
	})
	t.Run("wrong kind", func(t *testing.T) {
		for _, app := range []string{"mp", "oa", "web", "nope"} {
			wantError(t, appLogin(t, s, api.AppLoginRequest{App: app, Code: appCode(t, s, "app", "alice")}), 400, api.CodeUnknownApp)
		}
		// Two mobile apps: the app must be named.
		wantError(t, appLogin(t, s, api.AppLoginRequest{Code: appCode(t, s, "app", "alice")}), 400, api.CodeUnknownApp)
		// And a mobile app's code is no mini program's (WeChat: 40029).
		wantError(t, s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "app", Code: "x"}, ""), 400, api.CodeUnknownApp)
	})
	if n := s.Sandbox.Stats()["/sns/oauth2/access_token"]; n != 6 {
		t.Errorf("WeChat code exchanges = %d, want 6: bad input and unknown apps never reach WeChat", n)
	}
}

// Many posts of one code at once: one login, the rest invalid_code
// (WeChat's 40163), and one user.
func TestAppLoginOneCodeConcurrently(t *testing.T) {
	s := servertest.New(t, servertest.Quiet())
	code := appCode(t, s, "app", "alice")
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = appLogin(t, s, api.AppLoginRequest{App: "app", Code: code}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Errorf("status %d, want 200 or 400", st)
		}
	}
	if ok != 1 {
		t.Errorf("%d logins with one code, want 1", ok)
	}
}

// The app login is charged like the mini program login, in the same
// counts: logins per client address and per user, whichever flow.
func TestAppLoginRateLimit(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{LoginPerIP: "3/1m", LoginPerUser: "2/1m", RefreshPerIP: "off", RefreshPerSession: "off"}
		c.TrustedProxyHeader = "X-Forwarded-For"
	}))
	post := func(path, body, ip string) servertest.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+path, strings.NewReader(body))
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	const ip = "198.51.100.7"
	if r := post("/v1/miniprogram/login", `{"app":"mp","code":"`+s.Code(t, "mp", "alice")+`"}`, ip); r.Status != 200 {
		t.Fatalf("mini program login = %d %s", r.Status, r.Body)
	}
	// A refused code counts too: the limit bounds guessing.
	if r := post("/v1/app/login", `{"app":"app","code":"guess"}`, ip); r.Status != 400 {
		t.Fatalf("app login with a made-up code = %d %s", r.Status, r.Body)
	}
	if r := post("/v1/app/login", `{"app":"app","code":"`+appCode(t, s, "app", "bob")+`"}`, ip); r.Status != 200 {
		t.Fatalf("app login = %d %s", r.Status, r.Body)
	}
	r := post("/v1/app/login", `{"app":"app","code":"`+appCode(t, s, "app", "alice")+`"}`, ip)
	wantError(t, r, 429, api.CodeRateLimited)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if r := post("/v1/app/login", `{"app":"app","code":"`+appCode(t, s, "app", "alice")+`"}`, "198.51.100.8"); r.Status != 200 {
		t.Errorf("app login from another address = %d %s", r.Status, r.Body)
	}
	// Per user, whichever flow: alice's third login this minute (one by
	// mini program, one by app) is refused from anywhere.
	wantError(t, post("/v1/app/login", `{"app":"app","code":"`+appCode(t, s, "app", "alice")+`"}`, "198.51.100.9"), 429, api.CodeRateLimited)
}
