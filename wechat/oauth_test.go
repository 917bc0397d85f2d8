package wechat_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/wechat"
)

const (
	testOAuthCode    = "061Kd5ll2nv1ve4ej1ol2Lx6lN0Kd5lP"
	testOAuthToken   = "78_OAUTH_ACCESS_TOKEN_0123456789abcdefghijklmnopqrstuvwx"
	testRefreshToken = "78_REFRESH_TOKEN_0123456789abcdefghijklmnopqrstuvwxyzABC"
	testUnionID      = "o6_bmasdasdsad6_2sgVt7hMZOPfL"
)

// oauthNow is the fixed clock of the OAuth tests.
var oauthNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func oauthClock() time.Time { return oauthNow }

// oauthError is one errcode case of an OAuth endpoint.
type oauthError struct {
	name string
	body string
	want []error // exactly the sentinels the error must match
}

// checkOAuthError checks err against tt, and that it holds none of secrets.
func checkOAuthError(t *testing.T, call string, err error, tt oauthError, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error, want %v", call, errNames(tt.want))
	}
	if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
		t.Errorf("%s = %v, sentinels (-want +got):\n%s", call, err, diff)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(err.Error(), url.QueryEscape(s)) {
			t.Errorf("%s error %q contains the secret %q", call, err, s)
		}
	}
}

func TestOAuthExchange(t *testing.T) {
	want := wechat.OAuthToken{
		AccessToken:  testOAuthToken,
		RefreshToken: testRefreshToken,
		OpenID:       testOpenID,
		UnionID:      testUnionID,
		Scope:        "snsapi_userinfo",
		ExpiresAt:    oauthNow.Add(7200 * time.Second),
	}
	noUnion := want
	noUnion.UnionID, noUnion.Scope = "", "snsapi_base"
	snapshot := noUnion
	snapshot.Scope, snapshot.Snapshot = "snsapi_userinfo", true
	// Reference §5.1: the flag is read first; an answer flagged with empty
	// tokens (seen in July 2022), or with nothing else, is a snapshot user,
	// not an unexpected response.
	snapshotEmpty := wechat.OAuthToken{OpenID: testOpenID, UnionID: testUnionID, Scope: "snsapi_userinfo",
		ExpiresAt: oauthNow.Add(7200 * time.Second), Snapshot: true}
	flagOnly := wechat.OAuthToken{ExpiresAt: oauthNow, Snapshot: true}
	tokenFields := `"access_token":"` + testOAuthToken + `","expires_in":7200,"refresh_token":"` + testRefreshToken + `","openid":"` + testOpenID + `"`
	tests := []struct {
		name string
		body string
		want wechat.OAuthToken
	}{
		{"with unionid", `{` + tokenFields + `,"scope":"snsapi_userinfo","unionid":"` + testUnionID + `"}`, want},
		{"with errcode 0 and unknown fields", `{"errcode":0,"errmsg":"ok",` + tokenFields + `,"scope":"snsapi_userinfo","unionid":"` + testUnionID + `","new":[1]}`, want},
		{"without unionid", `{` + tokenFields + `,"scope":"snsapi_base"}`, noUnion},
		{"snapshot user", `{` + tokenFields + `,"scope":"snsapi_userinfo","is_snapshotuser":1}`, snapshot},
		{"snapshot user with empty tokens", `{"access_token":"","expires_in":7200,"refresh_token":"","openid":"` + testOpenID +
			`","scope":"snsapi_userinfo","unionid":"` + testUnionID + `","is_snapshotuser":1}`, snapshotEmpty},
		{"only the snapshot flag", `{"is_snapshotuser":1}`, flagOnly},
		{"is_snapshotuser 0", `{` + tokenFields + `,"scope":"snsapi_base","is_snapshotuser":0}`, noUnion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got recorded
			c, obs, n := fakeWeChat(t, wechat.Config{Now: oauthClock}, recordAnd(t, &got, answer(200, "text/plain", tt.body)))
			tok, err := c.OAuthExchange(t.Context(), testAppID, testSecret, testOAuthCode)
			if err != nil {
				t.Fatalf("OAuthExchange = %v", err)
			}
			if diff := cmp.Diff(tt.want, tok); diff != "" {
				t.Errorf("OAuthExchange mismatch (-want +got):\n%s", diff)
			}
			if got.method != http.MethodGet || got.path != "/sandbox/api/sns/oauth2/access_token" {
				t.Errorf("request = %s %s, want GET /sandbox/api/sns/oauth2/access_token", got.method, got.path)
			}
			wantQuery := url.Values{"appid": {testAppID}, "secret": {testSecret}, "code": {testOAuthCode}, "grant_type": {"authorization_code"}}
			if diff := cmp.Diff(wantQuery, got.query); diff != "" {
				t.Errorf("query mismatch (-want +got):\n%s", diff)
			}
			if n.Load() != 1 || len(obs.all()) != 1 || obs.all()[0].Endpoint != "/sns/oauth2/access_token" {
				t.Errorf("requests = %d, observed %+v; want one call to /sns/oauth2/access_token", n.Load(), obs.all())
			}
		})
	}
}

func TestOAuthExchangeErrors(t *testing.T) {
	unexpected := []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}
	tests := []oauthError{
		{"40029 invalid code", errcodeBody(40029), []error{wechat.ErrInvalidCode}},
		{"40163 code been used", errcodeBody(40163), []error{wechat.ErrInvalidCode}},
		{"42003 code expired", errcodeBody(42003), []error{wechat.ErrInvalidCode}},
		{"41008 missing code", errcodeBody(41008), []error{wechat.ErrInvalidRequest, wechat.ErrMissingCode}},
		{"40013 invalid appid", errcodeBody(40013), []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"40125 invalid appsecret", errcodeBody(40125), []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"-1 busy", errcodeBody(-1), []error{wechat.ErrBusy, wechat.ErrUnavailable}},
		{"45011 minute limit", errcodeBody(45011), []error{wechat.ErrRateLimited}},
		// No app token is sent here: never ErrTokenInvalid (§5.3).
		{"40001 unclassified", errcodeBody(40001), nil},
		{"42001 unclassified", errcodeBody(42001), nil},
		{"no access_token", `{"expires_in":7200,"refresh_token":"r","openid":"o"}`, unexpected},
		{"no refresh_token", `{"access_token":"a","expires_in":7200,"openid":"o"}`, unexpected},
		{"no openid", `{"access_token":"a","expires_in":7200,"refresh_token":"r"}`, unexpected},
		{"no expires_in", `{"access_token":"a","refresh_token":"r","openid":"o"}`, unexpected},
		{"is_snapshotuser as string", `{"access_token":"a","expires_in":7200,"refresh_token":"r","openid":"o","is_snapshotuser":"1"}`, unexpected},
		{"errmsg echoes secret and code", `{"errcode":40029,"errmsg":"invalid code ` + testOAuthCode + ` for ` + testSecret + ` ` + url.QueryEscape(testSecret) + `"}`, []error{wechat.ErrInvalidCode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			tok, err := c.OAuthExchange(t.Context(), testAppID, testSecret, testOAuthCode)
			checkOAuthError(t, "OAuthExchange", err, tt, testSecret, testOAuthCode)
			if tok != (wechat.OAuthToken{}) {
				t.Errorf("OAuthExchange = %#v with an error, want the zero OAuthToken", tok)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("requests = %d, want exactly 1 (a code exchange is never retried)", got)
			}
			if errors.Is(err, wechat.ErrTokenInvalid) {
				t.Errorf("OAuthExchange = %v matches ErrTokenInvalid", err)
			}
		})
	}

	t.Run("HTTP 502", func(t *testing.T) {
		c, _, n := fakeWeChat(t, wechat.Config{}, answer(502, "text/html", "<html>bad gateway</html>"))
		_, err := c.OAuthExchange(t.Context(), testAppID, testSecret, testOAuthCode)
		if !errors.Is(err, wechat.ErrUnavailable) || !wechat.Temporary(err) || n.Load() != 1 {
			t.Errorf("OAuthExchange = %v after %d requests, want ErrUnavailable after 1", err, n.Load())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		c, _, n := fakeWeChat(t, wechat.Config{Timeout: 50 * time.Millisecond}, blockUntilGone(nil))
		_, err := c.OAuthExchange(t.Context(), testAppID, testSecret, testOAuthCode)
		if !errors.Is(err, wechat.ErrUnavailable) || n.Load() != 1 {
			t.Errorf("OAuthExchange = %v after %d requests, want ErrUnavailable after 1", err, n.Load())
		}
		if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testOAuthCode) {
			t.Errorf("error %q holds a secret", err)
		}
	})
	t.Run("empty arguments", func(t *testing.T) {
		c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
		for _, args := range [][3]string{{"", testSecret, testOAuthCode}, {testAppID, "", testOAuthCode}, {testAppID, testSecret, ""}} {
			if _, err := c.OAuthExchange(t.Context(), args[0], args[1], args[2]); !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("OAuthExchange(%q, %q, %q) = %v, want ErrInvalidRequest", args[0], args[1], args[2], err)
			}
		}
		if n.Load() != 0 {
			t.Errorf("requests = %d, want none", n.Load())
		}
	})
}

func TestOAuthRefresh(t *testing.T) {
	const newRefresh = "78_NEW_REFRESH_TOKEN_abcdefghijklmnopqrstuvwxyz0123456789"
	base := `"access_token":"` + testOAuthToken + `","expires_in":7200,"openid":"` + testOpenID + `","scope":"snsapi_userinfo"`
	tests := []struct {
		name, body, wantRefresh string
	}{
		{"same refresh token", `{` + base + `,"refresh_token":"` + testRefreshToken + `"}`, testRefreshToken},
		{"new refresh token", `{` + base + `,"refresh_token":"` + newRefresh + `"}`, newRefresh},
		{"no refresh token keeps the one given", `{` + base + `}`, testRefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got recorded
			c, _, _ := fakeWeChat(t, wechat.Config{Now: oauthClock}, recordAnd(t, &got, answer(200, "application/json", tt.body)))
			tok, err := c.OAuthRefresh(t.Context(), testAppID, testRefreshToken)
			if err != nil {
				t.Fatalf("OAuthRefresh = %v", err)
			}
			want := wechat.OAuthToken{AccessToken: testOAuthToken, RefreshToken: tt.wantRefresh, OpenID: testOpenID,
				Scope: "snsapi_userinfo", ExpiresAt: oauthNow.Add(2 * time.Hour)}
			if diff := cmp.Diff(want, tok); diff != "" {
				t.Errorf("OAuthRefresh mismatch (-want +got):\n%s", diff)
			}
			if got.method != http.MethodGet || got.path != "/sandbox/api/sns/oauth2/refresh_token" {
				t.Errorf("request = %s %s, want GET /sandbox/api/sns/oauth2/refresh_token", got.method, got.path)
			}
			wantQuery := url.Values{"appid": {testAppID}, "grant_type": {"refresh_token"}, "refresh_token": {testRefreshToken}}
			if diff := cmp.Diff(wantQuery, got.query); diff != "" {
				t.Errorf("query mismatch (-want +got, reference §5.4: no secret):\n%s", diff)
			}
		})
	}

	errTests := []oauthError{
		{"40030 invalid refresh_token", errcodeBody(40030), []error{wechat.ErrRefreshTokenInvalid}},
		{"42002 refresh_token expired", errcodeBody(42002), []error{wechat.ErrRefreshTokenInvalid}},
		{"40013 invalid appid", errcodeBody(40013), []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"-1 busy", errcodeBody(-1), []error{wechat.ErrBusy, wechat.ErrUnavailable}},
		{"40001 unclassified", errcodeBody(40001), nil},
		{"42001 unclassified", errcodeBody(42001), nil},
		{"no access_token", `{"expires_in":7200,"openid":"o"}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{"errmsg echoes the refresh token", `{"errcode":40030,"errmsg":"invalid refresh_token ` + testRefreshToken + `, rid: 6437cc6f"}`, []error{wechat.ErrRefreshTokenInvalid}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			_, err := c.OAuthRefresh(t.Context(), testAppID, testRefreshToken)
			checkOAuthError(t, "OAuthRefresh", err, tt, testRefreshToken)
			if n.Load() != 1 {
				t.Errorf("requests = %d, want 1", n.Load())
			}
		})
	}

	c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
	for _, args := range [][2]string{{"", testRefreshToken}, {testAppID, ""}} {
		if _, err := c.OAuthRefresh(t.Context(), args[0], args[1]); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("OAuthRefresh(%q, %q) = %v, want ErrInvalidRequest", args[0], args[1], err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want none", n.Load())
	}
}

// oauthTokenErrors are the errcodes of the endpoints called with the user's
// OAuth token (reference §5.5, §5.6).
var oauthTokenErrors = []oauthError{
	{"40001 token invalid", errcodeBody(40001), []error{wechat.ErrOAuthTokenInvalid}},
	{"42001 token expired", errcodeBody(42001), []error{wechat.ErrOAuthTokenInvalid}},
	{"40003 invalid openid", errcodeBody(40003), []error{wechat.ErrOAuthTokenInvalid, wechat.ErrInvalidOpenID}},
	{"48001 snsapi_base token", errcodeBody(48001), []error{wechat.ErrScopeUnauthorized}},
	{"-1 busy", errcodeBody(-1), []error{wechat.ErrBusy, wechat.ErrUnavailable}},
	{"errmsg echoes the token", `{"errcode":42001,"errmsg":"access_token expired ` + testOAuthToken + ` rid: 6437cc6f"}`, []error{wechat.ErrOAuthTokenInvalid}},
}

func TestOAuthUserInfo(t *testing.T) {
	full := wechat.OAuthUser{
		OpenID:     testOpenID,
		Nickname:   "微信用户",
		HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132",
		UnionID:    testUnionID,
		Privilege:  []string{},
	}
	legacy := wechat.OAuthUser{OpenID: testOpenID, Nickname: "Band", Sex: 1, Province: "广东", City: "广州", Country: "中国",
		Privilege: []string{"PRIVILEGE1", "PRIVILEGE2"}}
	tests := []struct {
		name, body string
		want       wechat.OAuthUser
	}{
		{"current shape", `{"openid":"` + testOpenID + `","nickname":"微信用户","sex":0,"language":"","city":"","province":"","country":"",` +
			`"headimgurl":"` + full.HeadImgURL + `","privilege":[],"unionid":"` + testUnionID + `"}`, full},
		{"legacy shape without unionid", `{"openid":"` + testOpenID + `","nickname":"Band","sex":1,"province":"广东","city":"广州","country":"中国",` +
			`"headimgurl":"","privilege":["PRIVILEGE1","PRIVILEGE2"]}`, legacy},
		{"minimal", `{"openid":"` + testOpenID + `"}`, wechat.OAuthUser{OpenID: testOpenID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got recorded
			c, _, _ := fakeWeChat(t, wechat.Config{}, recordAnd(t, &got, answer(200, "text/plain; charset=utf-8", tt.body)))
			u, err := c.OAuthUserInfo(t.Context(), testOAuthToken, testOpenID)
			if err != nil {
				t.Fatalf("OAuthUserInfo = %v", err)
			}
			if diff := cmp.Diff(tt.want, u); diff != "" {
				t.Errorf("OAuthUserInfo mismatch (-want +got):\n%s", diff)
			}
			if got.method != http.MethodGet || got.path != "/sandbox/api/sns/userinfo" {
				t.Errorf("request = %s %s, want GET /sandbox/api/sns/userinfo", got.method, got.path)
			}
			wantQuery := url.Values{"access_token": {testOAuthToken}, "openid": {testOpenID}, "lang": {"zh_CN"}}
			if diff := cmp.Diff(wantQuery, got.query); diff != "" {
				t.Errorf("query mismatch (-want +got):\n%s", diff)
			}
		})
	}

	unexpected := []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}
	errTests := append([]oauthError{
		{"no openid", `{"nickname":"x"}`, unexpected},
		{"another openid", `{"openid":"oOther"}`, unexpected},
		{"sex as string", `{"openid":"` + testOpenID + `","sex":"1"}`, unexpected},
	}, oauthTokenErrors...)
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			u, err := c.OAuthUserInfo(t.Context(), testOAuthToken, testOpenID)
			checkOAuthError(t, "OAuthUserInfo", err, tt, testOAuthToken)
			if !cmp.Equal(u, wechat.OAuthUser{}) {
				t.Errorf("OAuthUserInfo = %+v with an error, want the zero OAuthUser", u)
			}
		})
	}

	c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
	for _, args := range [][2]string{{"", testOpenID}, {testOAuthToken, ""}} {
		if _, err := c.OAuthUserInfo(t.Context(), args[0], args[1]); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("OAuthUserInfo(%q, %q) = %v, want ErrInvalidRequest", args[0], args[1], err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want none", n.Load())
	}
}

func TestOAuthCheck(t *testing.T) {
	var got recorded
	c, _, _ := fakeWeChat(t, wechat.Config{}, recordAnd(t, &got, answer(200, "text/plain", `{"errcode":0,"errmsg":"ok"}`)))
	if err := c.OAuthCheck(t.Context(), testOAuthToken, testOpenID); err != nil {
		t.Fatalf("OAuthCheck = %v", err)
	}
	if got.method != http.MethodGet || got.path != "/sandbox/api/sns/auth" {
		t.Errorf("request = %s %s, want GET /sandbox/api/sns/auth", got.method, got.path)
	}
	if diff := cmp.Diff(url.Values{"access_token": {testOAuthToken}, "openid": {testOpenID}}, got.query); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}

	for _, tt := range oauthTokenErrors {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			err := c.OAuthCheck(t.Context(), testOAuthToken, testOpenID)
			checkOAuthError(t, "OAuthCheck", err, tt, testOAuthToken)
		})
	}

	c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
	for _, args := range [][2]string{{"", testOpenID}, {testOAuthToken, ""}} {
		if err := c.OAuthCheck(t.Context(), args[0], args[1]); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("OAuthCheck(%q, %q) = %v, want ErrInvalidRequest", args[0], args[1], err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want none", n.Load())
	}
}

// TestAPIErrorEndpointClasses pins the errcodes whose class depends on the
// endpoint (errors.go, endpointClasses).
func TestAPIErrorEndpointClasses(t *testing.T) {
	tests := []struct {
		endpoint string
		code     int
		want     []error
	}{
		{"/wxa/checksession", 40001, []error{wechat.ErrTokenInvalid}},
		{"/wxa/business/getuserphonenumber", 42001, []error{wechat.ErrTokenInvalid}},
		{"/cgi-bin/token", 40001, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"/cgi-bin/stable_token", 40001, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"/cgi-bin/token", 42001, []error{wechat.ErrTokenInvalid}},
		{"/sns/userinfo", 40001, []error{wechat.ErrOAuthTokenInvalid}},
		{"/sns/userinfo", 42001, []error{wechat.ErrOAuthTokenInvalid}},
		{"/sns/auth", 40001, []error{wechat.ErrOAuthTokenInvalid}},
		{"/sns/auth", 42001, []error{wechat.ErrOAuthTokenInvalid}},
		{"/sns/oauth2/access_token", 40001, nil},
		{"/sns/oauth2/access_token", 42001, nil},
		{"/sns/oauth2/refresh_token", 40001, nil},
		{"/sns/oauth2/refresh_token", 42001, nil},
		{"/sns/userinfo", 48001, []error{wechat.ErrScopeUnauthorized}},
		{"/sns/jscode2session", 48001, nil},
		{"/wxa/checksession", 40003, []error{wechat.ErrInvalidOpenID}},
		{"/sns/auth", 40003, []error{wechat.ErrOAuthTokenInvalid, wechat.ErrInvalidOpenID}},
		{"/sns/userinfo", -1, []error{wechat.ErrBusy, wechat.ErrUnavailable}},
		{"/sns/oauth2/refresh_token", 40030, []error{wechat.ErrRefreshTokenInvalid}},
		{"/sns/oauth2/refresh_token", 42002, []error{wechat.ErrRefreshTokenInvalid}},
		{"/sns/oauth2/access_token", 40029, []error{wechat.ErrInvalidCode}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.endpoint, "/", tt.code), func(t *testing.T) {
			err := &wechat.APIError{Endpoint: tt.endpoint, Code: tt.code}
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
				t.Errorf("APIError{%s, %d} sentinels (-want +got):\n%s", tt.endpoint, tt.code, diff)
			}
		})
	}
}

// TestOAuthTokenRedacted checks that no format verb or slog handler prints
// an OAuthToken's tokens.
func TestOAuthTokenRedacted(t *testing.T) {
	tok := wechat.OAuthToken{AccessToken: testOAuthToken, RefreshToken: testRefreshToken, OpenID: testOpenID,
		UnionID: testUnionID, Scope: "snsapi_userinfo", ExpiresAt: oauthNow, Snapshot: true}
	type wrapper struct {
		T   wechat.OAuthToken
		TP  *wechat.OAuthToken
		All []any
	}
	w := wrapper{T: tok, TP: &tok, All: []any{tok}}
	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs = append(outputs, fmt.Sprintf(format, tok), fmt.Sprintf(format, &tok), fmt.Sprintf(format, w),
			fmt.Sprintf(format, []wechat.OAuthToken{tok}))
	}
	outputs = append(outputs, fmt.Sprint(tok), fmt.Sprintln(tok), tok.String(), tok.GoString())
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("oauth", "token", tok, "token_ptr", &tok)
		l.Info("oauth", slog.Group("g", "token", tok))
	}
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		for _, leak := range []string{testOAuthToken, testRefreshToken, "OAUTH_ACCESS", "REFRESH_TOKEN_"} {
			if strings.Contains(out, leak) {
				t.Errorf("output %q contains %q", out, leak)
			}
		}
	}
	if !strings.Contains(buf.String(), testOpenID) || !strings.Contains(buf.String(), "[redacted]") || !strings.Contains(buf.String(), "snapshot") {
		t.Errorf("slog output %q lacks the openid, snapshot or the redaction marker", buf.String())
	}
	wantGo := `wechat.OAuthToken{AccessToken:"[redacted]", RefreshToken:"[redacted]", OpenID:"` + testOpenID + `", UnionID:"` + testUnionID +
		`", Scope:"snsapi_userinfo", ExpiresAt:time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC), Snapshot:true}`
	if got := fmt.Sprintf("%#v", tok); got != wantGo {
		t.Errorf("Sprintf(%%#v) =\n %s\nwant\n %s", got, wantGo)
	}
	if got, want := fmt.Sprint(wechat.OAuthToken{OpenID: "o1"}), "{AccessToken: RefreshToken: OpenID:o1 UnionID: Scope: ExpiresAt:0001-01-01 00:00:00 +0000 UTC Snapshot:false}"; got != want {
		t.Errorf("Sprint(token without secrets) = %s, want %s", got, want)
	}
}
