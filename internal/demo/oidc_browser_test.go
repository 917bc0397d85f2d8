package demo_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/api"
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

// The sign-in page's mini program code in a real browser, 360 px wide, in
// Chinese and in English: the page shows the live code, its script follows
// the scan and the confirm the test makes as the phone (the sandbox's scan
// control, then the mini program's calls), and the browser lands on the
// relying party's callback with a code whose ID token names the mini
// program user.
func TestOIDCMiniProgramCodeInChromium(t *testing.T) {
	for _, tt := range []struct{ name, accept, waiting, scanned string }{
		{"zh-CN", "zh-CN,zh;q=0.9", "等待扫码…", "已扫码，请在手机上确认。"},
		{"en-US", "en-US,en;q=0.9", "Waiting for the scan…", "Scanned. Confirm on your phone."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := os.Getenv("WXAUTH_SCREENSHOT_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write([]byte(`<!doctype html><p id="code">` + html.EscapeString(r.URL.Query().Get("code")) + `</p>`))
			}))
			t.Cleanup(rp.Close)
			s := servertest.New(t, servertest.Configure(func(c *config.Config) {
				c.OIDC.Clients = []config.OIDCClient{{ID: "rp", Name: "Relying Party", RedirectURIs: []string{rp.URL + "/cb"},
					Secret: "rp-secret-0123456789abcdef", Login: []string{"mp", "web"}}}
			}))
			ctx := newBrowser(t)
			octx := gooidc.ClientContext(t.Context(), s.HTTP)
			provider, err := gooidc.NewProvider(octx, s.URL)
			if err != nil {
				t.Fatal(err)
			}
			conf := oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret-0123456789abcdef", Endpoint: provider.Endpoint(),
				RedirectURL: rp.URL + "/cb", Scopes: []string{gooidc.ScopeOpenID}}
			verifier := oauth2.GenerateVerifier()
			do(t, ctx, "a desktop browser, 360 px wide, opens the sign-in page",
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: desktopUA, AcceptLanguage: tt.accept})
					return err
				}),
				chromedp.EmulateViewport(phoneWidth, 740),
				chromedp.Navigate(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))),
				chromedp.WaitVisible(chromedp.ID("qr-image")),
				until(`document.getElementById('qr-image').naturalWidth > 0`),
				textIs("qr-status", tt.waiting),
				chromedp.WaitVisible(chromedp.ID("wechat-login")),
			)
			shot(t, ctx, filepath.Join(dir, tt.name+"-oidc-mp-code.png"))
			if fits := eval[bool](t, ctx, `document.getElementById('qr-image').getBoundingClientRect().right <= 360 && document.getElementById('wechat-login').getBoundingClientRect().right <= 360`); !fits {
				t.Error("the code or the button is wider than a 360 px screen")
			}
			src := eval[string](t, ctx, `document.getElementById('qr-image').getAttribute('src')`)
			ticket := strings.TrimSuffix(strings.TrimPrefix(src, "/v1/qrlogin/"), "/image")

			// The phone: the code opens the mini program, which logs in,
			// scans and confirms.
			var scan struct{ Code string }
			r := s.Do(t, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(t, "mp"), "user": "alice", "scene": ticket}, "")
			if r.Status != http.StatusOK {
				t.Fatalf("scan the page's code = %d %s", r.Status, r.Body)
			}
			r.JSON(t, &scan)
			var mp api.TokenResponse
			s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: scan.Code}, "").JSON(t, &mp)
			if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/scan", nil, mp.AccessToken); r.Status != http.StatusOK {
				t.Fatalf("scan = %d %s", r.Status, r.Body)
			}
			do(t, ctx, "the page sees the scan", textIs("qr-status", tt.scanned))
			shot(t, ctx, filepath.Join(dir, tt.name+"-oidc-mp-scanned.png"))
			if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/confirm", nil, mp.AccessToken); r.Status != http.StatusOK {
				t.Fatalf("confirm = %d %s", r.Status, r.Body)
			}
			do(t, ctx, "the browser goes back to the relying party", chromedp.WaitVisible(chromedp.ID("code")))
			loc, _ := url.Parse(eval[string](t, ctx, `location.href`))
			code := eval[string](t, ctx, `document.getElementById('code').textContent`)
			if loc.Host != mustHost(rp.URL) || code == "" || loc.Query().Get("state") != "st" {
				t.Fatalf("the browser ended on %s with code %q, want the relying party's callback", loc, code)
			}
			tok, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, s.HTTP), code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp", Now: s.Clock.Now}).Verify(octx, tok.Extra("id_token").(string))
			if err != nil || idt.Subject != mp.User.ID {
				t.Fatalf("ID token: %v, sub %q, want the mini program user %q", err, idt.Subject, mp.User.ID)
			}
		})
	}
}

func mustHost(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}
