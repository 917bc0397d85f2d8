package sandbox

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

// Mobile apps (reference §6.1): one bound to the Open Platform account and
// one not.
var (
	appMobile  = App{Name: "ios", Kind: KindMobileApp, AppID: "wx00000000000000a9", Secret: "secret-m"}
	appMobileU = App{Name: "lone", Kind: KindMobileApp, AppID: "wx00000000000000b9", Secret: "secret-n", Unbound: true}
)

func newMobileEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(c *Config) { c.Apps = append(c.Apps, appWeb, appMobile, appMobileU) })
}

// controlAppCode is POST /sandbox/v1/app/code for user in app.
func (e *env) controlAppCode(t *testing.T, app App, user string) string {
	t.Helper()
	var out struct {
		Code string `json:"code"`
	}
	if st := e.control(t, "POST", "/app/code", map[string]string{"appid": app.AppID, "user": user}, &out); st != http.StatusOK || out.Code == "" {
		t.Fatalf("POST /app/code {%s, %s} = %d %+v", app.AppID, user, st, out)
	}
	return out.Code
}

// A SendAuth code is exchanged at /sns/oauth2/access_token as §5.3 says,
// with unionid (the same as the user's in a mini program of the account),
// and its token reads /sns/userinfo (scope snsapi_userinfo, §5.5).
func TestAppCodeExchange(t *testing.T) {
	e := newMobileEnv(t)
	a := e.get(t, oauthPath, oauthQuery(appMobile, e.controlAppCode(t, appMobile, "alice")))
	if a.code() != 0 || a.AccessToken == "" || a.RefreshToken == "" || a.ExpiresIn != 7200 || a.Scope != ScopeUserInfo {
		t.Fatalf("exchange = %+v", a)
	}
	if a.OpenID != openID(appMobile.AppID, "alice") || a.OpenID == openID(appA.AppID, "alice") {
		t.Errorf("openid = %q, want alice's own in the mobile app", a.OpenID)
	}
	if mp := e.login(t, appA, "alice"); a.UnionID == "" || a.UnionID != mp.UnionID {
		t.Errorf("unionid = %q, want the mini program's %q", a.UnionID, mp.UnionID)
	}
	u := e.get(t, "/sns/userinfo", tokenOpenIDQuery(a.AccessToken, a.OpenID))
	if u.code() != 0 || u.Nickname != "Alice" || u.HeadImgURL == "" || u.UnionID != a.UnionID {
		t.Errorf("/sns/userinfo = %+v", u)
	}
	// Unbound: no unionid anywhere (§4).
	b := e.get(t, oauthPath, oauthQuery(appMobileU, e.controlAppCode(t, appMobileU, "alice")))
	if _, sent := b.fields["unionid"]; b.code() != 0 || sent {
		t.Errorf("unbound exchange = %+v (fields %v), want no unionid", b, fieldNames(b))
	}
	if u := e.get(t, "/sns/userinfo", tokenOpenIDQuery(b.AccessToken, b.OpenID)); u.code() != 0 || u.UnionID != "" {
		t.Errorf("unbound /sns/userinfo = %+v", u)
	}
}

// WeChat's refusals (reference §1.1, §5.3, §7 item 3): a code works once
// (40163), for its own app only (40029), for AppCodeTTL (then 40029); a
// website's code is no mobile app's.
func TestAppCodeRefusals(t *testing.T) {
	e := newMobileEnv(t)
	code := e.controlAppCode(t, appMobile, "bob")
	if a := e.get(t, oauthPath, oauthQuery(appMobile, code)); a.code() != 0 {
		t.Fatalf("first exchange: errcode %d", a.code())
	}
	for _, tt := range []struct {
		name string
		app  App
		code func() string
		want int
	}{
		{"reused", appMobile, func() string { return code }, 40163},
		{"another mobile app's", appMobileU, func() string { return e.controlAppCode(t, appMobile, "bob") }, 40029},
		{"a website's code", appMobile, func() string { return e.oauthCode(t, appWeb, "bob", ScopeLogin) }, 40029},
		{"an official account's code", appMobile, func() string { return e.oauthCode(t, appOA, "bob", ScopeUserInfo) }, 40029},
		{"a wx.login code", appMobile, func() string { return e.code(t, appA, "bob") }, 40029},
		{"unknown", appMobile, func() string { return "0a1b2c3d4e5f" }, 40029},
		{"wrong secret", App{AppID: appMobile.AppID, Secret: "nope"}, func() string { return e.controlAppCode(t, appMobile, "bob") }, 40125},
		{"mobile code at jscode2session", appMobile, nil, 40013},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			if tt.code == nil {
				a = e.get(t, "/sns/jscode2session", loginQuery(tt.app, e.controlAppCode(t, appMobile, "bob")))
			} else {
				a = e.get(t, oauthPath, oauthQuery(tt.app, tt.code()))
			}
			checkWeChatError(t, a, tt.want)
		})
	}
	t.Run("expired", func(t *testing.T) {
		code := e.controlAppCode(t, appMobile, "bob")
		e.clock.Advance(AppCodeTTL - time.Second)
		fresh := e.controlAppCode(t, appMobile, "bob")
		e.clock.Advance(time.Second)
		if a := e.get(t, oauthPath, oauthQuery(appMobile, code)); a.code() != 40029 {
			t.Errorf("code after %v: errcode %d, want 40029", AppCodeTTL, a.code())
		}
		if a := e.get(t, oauthPath, oauthQuery(appMobile, fresh)); a.code() != 0 {
			t.Errorf("code 1s old: errcode %d, want 0", a.code())
		}
	})
}

// POST /sandbox/v1/app/code refuses what SendAuth could not give: an app
// of another kind, an unknown app or user, a missing field.
func TestAppCodeControl(t *testing.T) {
	e := newMobileEnv(t)
	for _, tt := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"appid": appA.AppID, "user": "alice"}, http.StatusBadRequest},
		{map[string]string{"appid": appWeb.AppID, "user": "alice"}, http.StatusBadRequest},
		{map[string]string{"appid": "wxnone", "user": "alice"}, http.StatusNotFound},
		{map[string]string{"appid": appMobile.AppID, "user": "nobody"}, http.StatusNotFound},
		{map[string]string{"appid": appMobile.AppID}, http.StatusBadRequest},
		{map[string]string{"user": "alice"}, http.StatusBadRequest},
	} {
		if st := e.control(t, "POST", "/app/code", tt.body, nil); st != tt.want {
			t.Errorf("POST /app/code %v = %d, want %d", tt.body, st, tt.want)
		}
	}
	if _, err := e.sb.IssueOAuthCode(appMobile.AppID, "alice", ScopeLogin); err == nil {
		t.Error("IssueOAuthCode(mobile app, snsapi_login) succeeded; SendAuth grants snsapi_userinfo")
	}
	if err := e.sb.AddApp(App{Kind: KindMobileApp, AppID: "wx00000000000000c9", Secret: "s", IPWhitelist: []string{"10.0.0.1"}}); err == nil {
		t.Error("AddApp(mobile app with an IP whitelist) succeeded; WeChat documents none for Open Platform apps")
	}
}

// A mobile app has no pages: WeChat's authorize and QR pages answer its
// appid as any appid of the wrong kind (40013), no redirect, no code.
func TestAppHasNoPages(t *testing.T) {
	e := newMobileEnv(t)
	for _, path := range []string{authorizePath, qrconnectPath} {
		p := e.page(t, path, authorizeQuery(appMobile, "https://app.example/cb", ScopeUserInfo, "s")+"&sandbox_user=alice")
		code := regexp.MustCompile(`id="errcode">(\d+)<`).FindStringSubmatch(p.body)
		if p.status != http.StatusBadRequest || p.location != "" || code == nil || code[1] != "40013" {
			t.Errorf("%s for a mobile app = %d, Location %q, errcode %v; want 400, none, 40013", path, p.status, p.location, code)
		}
	}
	if n := len(e.sb.oauth.codes); n != 0 {
		t.Errorf("%d codes minted by refused pages, want 0", n)
	}
}
