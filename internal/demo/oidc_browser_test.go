package demo_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The OpenID Provider's sign-in in a real browser (docs/oidc.md "The
// sign-in page"): a desktop Chromium whose language is Chinese opens a
// relying party's authorization URL, reads the sign-in page in Chinese,
// presses its button, approves the sandbox's QR login as alice, and lands
// on the relying party's callback with a code that go-oidc verifies.
func TestOIDCSignInInChromium(t *testing.T) {
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><p id="code">` + html.EscapeString(r.URL.Query().Get("code")) + `</p>`))
	}))
	t.Cleanup(rp.Close)
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.OIDC.Clients = []config.OIDCClient{{ID: "rp", Name: "Relying Party", RedirectURIs: []string{rp.URL + "/cb"},
			Secret: "rp-secret-0123456789abcdef"}}
	}))
	ctx := newBrowser(t, chromedp.UserAgent(desktopUA), chromedp.Flag("accept-lang", "zh-CN,zh"))
	octx := gooidc.ClientContext(t.Context(), s.HTTP)
	provider, err := gooidc.NewProvider(octx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret-0123456789abcdef", Endpoint: provider.Endpoint(),
		RedirectURL: rp.URL + "/cb", Scopes: []string{gooidc.ScopeOpenID, "profile"}}
	verifier := oauth2.GenerateVerifier()
	do(t, ctx, "open the sign-in page",
		chromedp.Navigate(conf.AuthCodeURL("st", gooidc.Nonce("n-browser"), oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(chromedp.ID("wechat-login")),
		textIs("title", "登录 Relying Party"),
		textIs("wechat-login", "微信登录"),
	)
	if vp := eval[string](t, ctx, `document.querySelector('meta[name=viewport]')?.content`); vp == "" {
		t.Error("the sign-in page has no viewport meta (mobile first)")
	}
	do(t, ctx, "scan with WeChat", chromedp.Click(chromedp.ID("wechat-login")), chromedp.WaitVisible(chromedp.ID("allow-alice")))
	do(t, ctx, "allow as alice", chromedp.Click(chromedp.ID("allow-alice")), chromedp.WaitVisible(chromedp.ID("code")))
	loc, _ := url.Parse(eval[string](t, ctx, `location.href`))
	code := eval[string](t, ctx, `document.getElementById('code').textContent`)
	if loc.Host != mustHost(rp.URL) || code == "" || loc.Query().Get("state") != "st" {
		t.Fatalf("the browser ended on %s with code %q, want the relying party's callback with a code and state", loc, code)
	}
	tok, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, s.HTTP), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp", Now: s.Clock.Now}).Verify(octx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "n-browser" {
		t.Fatalf("ID token: %v, nonce %q", err, idt.Nonce)
	}
}

func mustHost(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}
