package wechat_test

import (
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/wechat"
)

func TestAuthorizeURL(t *testing.T) {
	const (
		redirect = "https://login.example.com/wechat/callback?next=%2Fhome&x=1"
		// url.QueryEscape(redirect)
		encoded = "https%3A%2F%2Flogin.example.com%2Fwechat%2Fcallback%3Fnext%3D%252Fhome%26x%3D1"
		oa      = "https://open.weixin.qq.com/connect/oauth2/authorize"
		qr      = "https://open.weixin.qq.com/connect/qrconnect"
	)
	state128 := strings.Repeat("aZ09", 32)
	tests := []struct {
		name     string
		openBase string
		p        wechat.AuthorizeParams
		want     string
	}{
		{name: "snsapi_base",
			p:    wechat.AuthorizeParams{AppID: testAppID, RedirectURI: redirect, Scope: "snsapi_base", State: "abc123"},
			want: oa + "?appid=" + testAppID + "&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect"},
		{name: "snsapi_userinfo",
			p:    wechat.AuthorizeParams{AppID: testAppID, RedirectURI: "http://127.0.0.1:8080/cb", Scope: wechat.ScopeUserInfo, State: "XyZ"},
			want: oa + "?appid=" + testAppID + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&response_type=code&scope=snsapi_userinfo&state=XyZ#wechat_redirect"},
		{name: "forcePopup last",
			p:    wechat.AuthorizeParams{AppID: testAppID, RedirectURI: redirect, Scope: wechat.ScopeUserInfo, State: "s1", ForcePopup: true},
			want: oa + "?appid=" + testAppID + "&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_userinfo&state=s1&forcePopup=true#wechat_redirect"},
		{name: "state of 128 bytes",
			p:    wechat.AuthorizeParams{AppID: testAppID, RedirectURI: redirect, Scope: wechat.ScopeBase, State: state128},
			want: oa + "?appid=" + testAppID + "&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_base&state=" + state128 + "#wechat_redirect"},
		{name: "website",
			p:    wechat.AuthorizeParams{AppID: "wxweb0123456789ab", RedirectURI: redirect, Scope: "snsapi_login", State: "abc", Website: true},
			want: qr + "?appid=wxweb0123456789ab&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_login&state=abc#wechat_redirect"},
		{name: "website empty scope",
			p:    wechat.AuthorizeParams{AppID: "wxweb0123456789ab", RedirectURI: redirect, State: "abc", Website: true},
			want: qr + "?appid=wxweb0123456789ab&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_login&state=abc#wechat_redirect"},
		{name: "sandbox open base", openBase: "http://127.0.0.1:8080/sandbox/open/",
			p:    wechat.AuthorizeParams{AppID: testAppID, RedirectURI: redirect, Scope: wechat.ScopeBase, State: "abc"},
			want: "http://127.0.0.1:8080/sandbox/open/connect/oauth2/authorize?appid=" + testAppID + "&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_base&state=abc#wechat_redirect"},
		{name: "app ID escaped",
			p:    wechat.AuthorizeParams{AppID: "wx&x=1", RedirectURI: redirect, Scope: wechat.ScopeBase, State: "abc"},
			want: oa + "?appid=wx%26x%3D1&redirect_uri=" + encoded + "&response_type=code&scope=snsapi_base&state=abc#wechat_redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wechat.New(wechat.Config{OpenBase: tt.openBase})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.AuthorizeURL(tt.p)
			if err != nil {
				t.Fatalf("AuthorizeURL(%+v) = %v", tt.p, err)
			}
			if got != tt.want {
				t.Errorf("AuthorizeURL(%+v)\n got %s\nwant %s", tt.p, got, tt.want)
			}
			// What WeChat decodes is what was given.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("url.Parse(%q) = %v", got, err)
			}
			q := u.Query()
			if q.Get("appid") != tt.p.AppID || q.Get("redirect_uri") != tt.p.RedirectURI || q.Get("state") != tt.p.State || u.Fragment != "wechat_redirect" {
				t.Errorf("AuthorizeURL(%+v) decodes to %v #%s", tt.p, q, u.Fragment)
			}
		})
	}
}

func TestAuthorizeURLInvalid(t *testing.T) {
	const state = "secretState0123"
	ok := wechat.AuthorizeParams{AppID: testAppID, RedirectURI: "https://example.com/cb", Scope: wechat.ScopeBase, State: state}
	with := func(f func(*wechat.AuthorizeParams)) wechat.AuthorizeParams { p := ok; f(&p); return p }
	tests := []struct {
		name string
		p    wechat.AuthorizeParams
	}{
		{"empty app ID", with(func(p *wechat.AuthorizeParams) { p.AppID = "" })},
		{"empty redirect", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "" })},
		{"relative redirect", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "/cb" })},
		{"redirect without scheme", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "example.com/cb" })},
		{"ftp redirect", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "ftp://example.com/cb" })},
		{"redirect without host", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "https:///cb" })},
		{"redirect with fragment", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "https://example.com/cb#x" })},
		{"redirect with empty fragment", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "https://example.com/cb#" })},
		{"redirect with user info", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "https://u:pw@example.com/cb" })},
		{"redirect not a URL", with(func(p *wechat.AuthorizeParams) { p.RedirectURI = "https://example.com/%zz" })},
		{"empty scope", with(func(p *wechat.AuthorizeParams) { p.Scope = "" })},
		{"snsapi_login for an Official Account", with(func(p *wechat.AuthorizeParams) { p.Scope = wechat.ScopeLogin })},
		{"two scopes", with(func(p *wechat.AuthorizeParams) { p.Scope = "snsapi_base,snsapi_userinfo" })},
		{"snsapi_base for a website", with(func(p *wechat.AuthorizeParams) { p.Website = true })},
		{"forcePopup for a website", with(func(p *wechat.AuthorizeParams) { p.Website, p.Scope, p.ForcePopup = true, "", true })},
		{"empty state", with(func(p *wechat.AuthorizeParams) { p.State = "" })},
		{"state of 129 bytes", with(func(p *wechat.AuthorizeParams) { p.State = strings.Repeat("a", 129) })},
		{"state with a dash", with(func(p *wechat.AuthorizeParams) { p.State = state + "-x" })},
		{"state with a space", with(func(p *wechat.AuthorizeParams) { p.State = state + " x" })},
		{"state with base64url", with(func(p *wechat.AuthorizeParams) { p.State = state + "_x" })},
		{"state not ASCII", with(func(p *wechat.AuthorizeParams) { p.State = state + "é" })},
	}
	c, err := wechat.New(wechat.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeURL(ok); err != nil {
		t.Fatalf("AuthorizeURL(%+v) = %v, want success", ok, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AuthorizeURL(tt.p)
			if !errors.Is(err, wechat.ErrInvalidRequest) || got != "" {
				t.Fatalf("AuthorizeURL(%+v) = %q, %v; want ErrInvalidRequest", tt.p, got, err)
			}
			for _, leak := range []string{state, "pw"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q quotes %q", err, leak)
				}
			}
		})
	}
}

func ExampleClient_AuthorizeURL() {
	c, err := wechat.New(wechat.Config{})
	if err != nil {
		log.Fatal(err)
	}
	u, err := c.AuthorizeURL(wechat.AuthorizeParams{
		AppID:       "wx0123456789abcdef",
		RedirectURI: "https://login.example.com/wechat/callback",
		Scope:       wechat.ScopeUserInfo,
		State:       "k3Yq8vZ0pLm2",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output:
	// https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef&redirect_uri=https%3A%2F%2Flogin.example.com%2Fwechat%2Fcallback&response_type=code&scope=snsapi_userinfo&state=k3Yq8vZ0pLm2#wechat_redirect
}
