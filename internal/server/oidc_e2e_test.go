package server_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The OpenID Provider end to end (docs/oidc.md): a relying party built on
// coreos/go-oidc and golang.org/x/oauth2 signs in through the sandbox's
// WeChat, over HTTP.

const (
	rpCallback = "https://rp.example.com/callback"
	rpBye      = "https://rp.example.com/bye"
	rpSecret   = "rp-secret-0123456789abcdef"
	spaBack    = "https://spa.example.com/cb"
	pwBack     = "https://pw.example.com/cb"
)

// oidcServer is a stack with three clients: rp (confidential), spa
// (public, PKCE, profile only) and pw (confidential, pairwise subjects).
func oidcServer(t testing.TB, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	return servertest.New(t, append([]servertest.Option{servertest.Configure(func(c *config.Config) {
		c.OIDC.Clients = []config.OIDCClient{
			{ID: "rp", Name: "Relying Party", RedirectURIs: []string{rpCallback}, PostLogoutRedirectURIs: []string{rpBye}, Secret: rpSecret},
			{ID: "spa", Public: true, RedirectURIs: []string{spaBack}, Scopes: []string{"profile"}},
			{ID: "pw", Subject: "pairwise", RedirectURIs: []string{pwBack}, Secret: rpSecret + "-pw"},
		}
	})}, opts...)...)
}

// rpBrowser is a browser with a cookie jar that follows redirects on the
// server's origin, approves the sandbox's WeChat page as alice, and stops
// at the first redirect elsewhere (the relying party's callback).
func rpBrowser(t testing.TB, s *servertest.Server, ua string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := url.Parse(s.URL)
	return &http.Client{Jar: jar, Transport: uaTransport{s.HTTP.Transport, ua},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != origin.Host || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			if strings.HasPrefix(req.URL.Path, "/sandbox/open/connect/") {
				q := req.URL.Query()
				q.Set("sandbox_user", "alice")
				req.URL.RawQuery = q.Encode()
			}
			return nil
		}}
}

type uaTransport struct {
	rt http.RoundTripper
	ua string
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.rt.RoundTrip(r)
}

var signInLink = regexp.MustCompile(`id="wechat-login" href="([^"]+)"`)

// get fetches u with b and reads the body.
func get(t testing.TB, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn runs the browser from the authorization URL to the relying
// party's callback (pressing the sign-in page's button if it shows) and
// returns the callback URL.
func signIn(t testing.TB, s *servertest.Server, b *http.Client, authURL string) *url.URL {
	t.Helper()
	resp, body := get(t, b, authURL)
	if resp.StatusCode == http.StatusOK {
		m := signInLink.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the sign-in page has no WeChat button: %.400s", body)
		}
		resp, body = get(t, b, s.URL+html.UnescapeString(m[1]))
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in ended with %d, want 302 to the client: %.400s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// rp is a relying party on go-oidc and x/oauth2.
type rp struct {
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	conf     oauth2.Config
	ctx      context.Context
}

func newRP(t testing.TB, s *servertest.Server, clientID, secret, redirect string, scopes ...string) *rp {
	t.Helper()
	ctx := gooidc.ClientContext(t.Context(), s.HTTP)
	provider, err := gooidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	return &rp{provider: provider, ctx: ctx,
		verifier: provider.Verifier(&gooidc.Config{ClientID: clientID, Now: s.Clock.Now}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}}
}

// login signs in and exchanges the code; it returns the tokens and the
// verified ID token.
func (r *rp) login(t testing.TB, s *servertest.Server, b *http.Client, nonce string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, *gooidc.IDToken) {
	t.Helper()
	pkce := oauth2.GenerateVerifier()
	authURL := r.conf.AuthCodeURL("state-"+nonce, append([]oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)}, opts...)...)
	back := signIn(t, s, b, authURL)
	q := back.Query()
	if q.Get("state") != "state-"+nonce || q.Get("iss") != s.URL || q.Get("code") == "" {
		t.Fatalf("callback %s: want code, state %q and iss %q", back, "state-"+nonce, s.URL)
	}
	tok, err := r.conf.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, idt
}

func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// The whole dance with go-oidc and x/oauth2: discovery, login (PKCE,
// nonce), ID token verification (iss, aud, exp, signature by the JWKS,
// at_hash), userinfo, refresh with rotation, revocation.
func TestOIDCGoOIDC(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback, "profile", "phone")
	b := rpBrowser(t, s, desktopUA)
	start := s.Clock.Now()
	tok, idt := r.login(t, s, b, "nonce-1")
	var claims struct {
		Azp      string `json:"azp"`
		AuthTime int64  `json:"auth_time"`
		Sid      string `json:"sid"`
		Name     string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Issuer != s.URL || len(idt.Audience) != 1 || idt.Audience[0] != "rp" || claims.Azp != "rp" ||
		claims.AuthTime != start.Unix() || claims.Sid == "" || !strings.HasPrefix(idt.Subject, "u") {
		t.Errorf("ID token iss %q aud %v azp %q auth_time %d sid %q sub %q", idt.Issuer, idt.Audience, claims.Azp, claims.AuthTime, claims.Sid, idt.Subject)
	}

	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != idt.Subject {
		t.Errorf("userinfo sub %q, ID token sub %q", info.Subject, idt.Subject)
	}

	// The access token is wxauth's: /v1/me takes it, and it names the client.
	if me := s.Do(t, "GET", "/v1/me", nil, tok.AccessToken); me.Status != http.StatusOK {
		t.Errorf("/v1/me with the OIDC access token = %d %s", me.Status, me.Body)
	}

	fresh, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Error("refresh did not rotate")
	}
	raw, _ := fresh.Extra("id_token").(string)
	idt2, err := r.verifier.Verify(r.ctx, raw)
	if err != nil || idt2.Subject != idt.Subject || idt2.Nonce != "" {
		t.Errorf("refreshed ID token: %v, sub %q nonce %q", err, idt2.Subject, idt2.Nonce)
	}

	// RFC 7009: the client revokes its refresh token; the session ends.
	if code := revoke(t, s, "rp", rpSecret, fresh.RefreshToken); code != http.StatusOK {
		t.Fatalf("revoke = %d", code)
	}
	if _, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
		t.Errorf("refresh after revoke: %v, want invalid_grant", err)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Error("userinfo after revoke succeeded")
	}
	// Unknown tokens are not an error (RFC 7009 §2.2).
	if code := revoke(t, s, "rp", rpSecret, "no-such-token"); code != http.StatusOK {
		t.Errorf("revoke of an unknown token = %d, want 200", code)
	}
	// No token or secret reaches the logs.
	logs := s.Logs.String()
	for name, secret := range map[string]string{"access token": tok.AccessToken, "refresh token": tok.RefreshToken,
		"ID token": raw, "refreshed refresh token": fresh.RefreshToken, "client secret": rpSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}

func revoke(t testing.TB, s *servertest.Server, id, secret, tok string) int {
	t.Helper()
	return postForm(t, s, "/oauth2/revoke", id, secret, url.Values{"token": {tok}}).Status
}

func postForm(t testing.TB, s *servertest.Server, path, id, secret string, form url.Values) servertest.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Refresh goes through wxauth's rotation: the rotated token replays
// within the grace window (the same successor), and after it revokes the
// session.
func TestOIDCRefreshReuse(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	tok, _ := r.login(t, s, rpBrowser(t, s, desktopUA), "n")
	refresh := func(rt string) (*oauth2.Token, error) {
		return r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	next, err := refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	again, err := refresh(tok.RefreshToken)
	if err != nil || again.RefreshToken != next.RefreshToken {
		t.Fatalf("replay within grace: %v, same successor %v", err, err == nil && again.RefreshToken == next.RefreshToken)
	}
	s.Clock.Advance(time.Minute)
	if _, err := refresh(tok.RefreshToken); retrieveCode(err) != "invalid_grant" {
		t.Fatalf("replay after grace: %v, want invalid_grant", err)
	}
	if _, err := refresh(next.RefreshToken); retrieveCode(err) != "invalid_grant" {
		t.Errorf("the live token after a reuse: %v, want invalid_grant (session revoked)", err)
	}
	// Another client's refresh token, and the native refresh endpoint.
	tok2, _ := r.login(t, s, rpBrowser(t, s, desktopUA), "n2")
	pw := newRP(t, s, "pw", rpSecret+"-pw", pwBack)
	if _, err := pw.conf.TokenSource(pw.ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
		t.Errorf("rp's refresh token at pw: %v, want invalid_grant", err)
	}
	if res := s.Do(t, "POST", "/v1/token/refresh", map[string]string{"refresh_token": tok2.RefreshToken}, ""); res.Status != http.StatusUnauthorized {
		t.Errorf("an OIDC refresh token at /v1/token/refresh = %d %s, want 401 (refused, session ended)", res.Status, res.Body)
	}
	if _, err := refresh(tok2.RefreshToken); retrieveCode(err) != "invalid_grant" {
		t.Errorf("after its presentation at /v1/token/refresh: %v, want invalid_grant", err)
	}
}

// Single sign-on: a second authorization in the same browser gets a code
// at once, with the first login's auth_time; max_age older than that, or
// prompt=login, sends the person to WeChat again; prompt=none without a
// session answers login_required.
func TestOIDCSessionAndMaxAge(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	b := rpBrowser(t, s, desktopUA)
	none := r.conf.AuthCodeURL("s0", oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	if resp, _ := get(t, b, none); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "error=login_required") ||
		!strings.Contains(resp.Header.Get("Location"), "state=s0") {
		t.Fatalf("prompt=none without a session: %d %q, want login_required with state", resp.StatusCode, resp.Header.Get("Location"))
	}
	first := s.Clock.Now().Unix()
	r.login(t, s, b, "n1")
	s.Clock.Advance(10 * time.Minute)
	_, idt := r.login(t, s, b, "n2", oauth2.SetAuthURLParam("max_age", "3600"), oauth2.SetAuthURLParam("prompt", "none"))
	var c struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idt.Claims(&c)
	if c.AuthTime != first {
		t.Errorf("SSO auth_time = %d, want the first login's %d", c.AuthTime, first)
	}
	for _, param := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "60"), oauth2.SetAuthURLParam("prompt", "login")} {
		u := r.conf.AuthCodeURL("s", param, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		if resp, body := get(t, b, u); resp.StatusCode != http.StatusOK || !signInLink.MatchString(body) {
			t.Errorf("%s: %d, want the sign-in page", u, resp.StatusCode)
		}
	}
	_, idt = r.login(t, s, b, "n3", oauth2.SetAuthURLParam("max_age", "60"))
	_ = idt.Claims(&c)
	if c.AuthTime != s.Clock.Now().Unix() {
		t.Errorf("after max_age: auth_time = %d, want now %d", c.AuthTime, s.Clock.Now().Unix())
	}
}

// RP-initiated logout ends the browser session and the client's sessions
// and returns to the registered post_logout_redirect_uri with state.
func TestOIDCEndSession(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	b := rpBrowser(t, s, desktopUA)
	tok, _ := r.login(t, s, b, "n")
	raw, _ := tok.Extra("id_token").(string)
	var endpoints struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&endpoints); err != nil || endpoints.EndSession != s.URL+"/oauth2/end_session" {
		t.Fatalf("end_session_endpoint %q (%v)", endpoints.EndSession, err)
	}
	bad := endpoints.EndSession + "?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example.com/"}}.Encode()
	if resp, _ := get(t, b, bad); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("unregistered post_logout_redirect_uri: %d %q, want 400 page", resp.StatusCode, resp.Header.Get("Location"))
	}
	u := endpoints.EndSession + "?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {rpBye}, "state": {"bye-1"}}.Encode()
	resp, _ := get(t, b, u)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != rpBye+"?state=bye-1" {
		t.Fatalf("end_session = %d %q, want 302 to %s?state=bye-1", resp.StatusCode, resp.Header.Get("Location"), rpBye)
	}
	if _, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
		t.Errorf("refresh after end_session: %v, want invalid_grant", err)
	}
	if me := s.Do(t, "GET", "/v1/me", nil, tok.AccessToken); me.Status != http.StatusUnauthorized {
		t.Errorf("/v1/me after end_session = %d, want 401", me.Status)
	}
	none := r.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"))
	if resp, _ := get(t, b, none); !strings.Contains(resp.Header.Get("Location"), "error=login_required") {
		t.Errorf("prompt=none after end_session: %q, want login_required", resp.Header.Get("Location"))
	}
	// Without a hint the person confirms first; the page's form posts back.
	tok, _ = r.login(t, s, b, "n2")
	if resp, body := get(t, b, endpoints.EndSession+"?client_id=rp&post_logout_redirect_uri="+url.QueryEscape(rpBye)); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `id="logout"`) || !strings.Contains(body, `name="post_logout_redirect_uri"`) {
		t.Errorf("end_session without hint = %d, want the confirmation page with the form", resp.StatusCode)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("the confirmation page alone signed out: %v", err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", endpoints.EndSession,
		strings.NewReader(url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {rpBye}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != rpBye {
		t.Errorf("confirmed sign-out = %d %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), rpBye)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo works after the confirmed sign-out")
	}
}

// A new WeChat login in the same browser (prompt=login) replaces the
// browser session; a sign-out still ends the sessions the earlier login
// opened.
func TestOIDCEndSessionAfterRelogin(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	b := rpBrowser(t, s, desktopUA)
	first, _ := r.login(t, s, b, "n1")
	second, _ := r.login(t, s, b, "n2", oauth2.SetAuthURLParam("prompt", "login"))
	raw, _ := second.Extra("id_token").(string)
	resp, _ := get(t, b, s.URL+"/oauth2/end_session?"+url.Values{"id_token_hint": {raw}}.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("end_session = %d", resp.StatusCode)
	}
	for name, tok := range map[string]*oauth2.Token{"first": first, "second": second} {
		if _, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
			t.Errorf("the %s login's refresh token after end_session: %v, want invalid_grant", name, err)
		}
	}
}
