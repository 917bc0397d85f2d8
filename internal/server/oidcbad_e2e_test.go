package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The refusals of the OpenID Provider, over HTTP.
func TestOIDCBadInput(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback, "profile")
	b := rpBrowser(t, s, desktopUA)
	freshCode := func() (code, verifier string) {
		t.Helper()
		verifier = oauth2.GenerateVerifier()
		back := signIn(t, s, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		return back.Query().Get("code"), verifier
	}
	exchange := func(id, secret string, form url.Values) (int, string, http.Header) {
		t.Helper()
		form.Set("grant_type", "authorization_code")
		res := postForm(t, s, "/oauth2/token", id, secret, form)
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(res.Body, &e)
		return res.Status, e.Error, res.Header
	}

	t.Run("wrong secret", func(t *testing.T) {
		code, v := freshCode()
		status, e, h := exchange("rp", "wrong-secret-0123456789", url.Values{"code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {v}})
		if status != http.StatusUnauthorized || e != "invalid_client" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("= %d %s %q, want 401 invalid_client with a Basic challenge", status, e, h.Get("WWW-Authenticate"))
		}
		// client_secret_post, unknown client, no authentication.
		form := url.Values{"code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {v}, "client_id": {"rp"}, "client_secret": {"nope"}}
		if status, e, _ := exchange("", "", form); status != http.StatusUnauthorized || e != "invalid_client" {
			t.Errorf("client_secret_post wrong = %d %s", status, e)
		}
		if status, e, _ := exchange("nobody", rpSecret, url.Values{"code": {code}}); status != http.StatusUnauthorized || e != "invalid_client" {
			t.Errorf("unknown client = %d %s", status, e)
		}
		if status, e, _ := exchange("", "", url.Values{"code": {code}}); status != http.StatusUnauthorized || e != "invalid_client" {
			t.Errorf("no client authentication = %d %s", status, e)
		}
		// The code survived the failed attempts: client_secret_post works.
		form.Set("client_secret", rpSecret)
		if status, e, h := exchange("", "", form); status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Errorf("client_secret_post = %d %s, Cache-Control %q", status, e, h.Get("Cache-Control"))
		}
	})

	t.Run("reused code revokes", func(t *testing.T) {
		code, v := freshCode()
		tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(v)); retrieveCode(err) != "invalid_grant" {
			t.Fatalf("second exchange: %v, want invalid_grant", err)
		}
		if strings.Contains(s.Logs.String(), code) {
			t.Error("the logs contain an authorization code")
		}
		if _, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
			t.Errorf("the first exchange's refresh token after the reuse: %v, want invalid_grant", err)
		}
		if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("the first exchange's access token still works at userinfo")
		}
	})

	t.Run("PKCE mismatch", func(t *testing.T) {
		code, v := freshCode()
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); retrieveCode(err) != "invalid_grant" {
			t.Errorf("wrong verifier: %v, want invalid_grant", err)
		}
		if _, err := r.conf.Exchange(r.ctx, code); retrieveCode(err) != "invalid_grant" {
			t.Errorf("no verifier: %v, want invalid_grant", err)
		}
		status, e, _ := exchange("rp", rpSecret, url.Values{"code": {code}, "redirect_uri": {rpCallback + "/other"}, "code_verifier": {v}})
		if status != http.StatusBadRequest || e != "invalid_grant" {
			t.Errorf("another redirect_uri = %d %s, want invalid_grant", status, e)
		}
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(v)); err != nil {
			t.Errorf("the right verifier after failures: %v", err)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		code, v := freshCode()
		s.Clock.Advance(61e9)
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(v)); retrieveCode(err) != "invalid_grant" {
			t.Errorf("a code after 61 s: %v, want invalid_grant", err)
		}
	})

	t.Run("grant types", func(t *testing.T) {
		for form, want := range map[string]string{"grant_type=password&username=a": "unsupported_grant_type", "code=x": "invalid_request",
			"grant_type=refresh_token": "invalid_request", "grant_type=refresh_token&refresh_token=garbage": "invalid_grant"} {
			res := postForm(t, s, "/oauth2/token", "rp", rpSecret, must(url.ParseQuery(form)))
			if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"`+want+`"`) {
				t.Errorf("%s = %d %s, want %s", form, res.Status, res.Body, want)
			}
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/oauth2/token", strings.NewReader(`{"grant_type":"authorization_code"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("JSON body = %d, want 400 invalid_request", resp.StatusCode)
		}
	})

	t.Run("authorize errors", func(t *testing.T) {
		page := func(q url.Values) {
			t.Helper()
			resp, body := get(t, b, s.URL+"/oauth2/authorize?"+q.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "<html") {
				t.Errorf("%v = %d Location %q, want a 400 error page and no redirect", q, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		base := url.Values{"client_id": {"rp"}, "redirect_uri": {rpCallback}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
		with := func(k, v string) url.Values {
			q := url.Values{}
			for kk, vv := range base {
				q[kk] = vv
			}
			if v == "" {
				q.Del(k)
			} else {
				q.Set(k, v)
			}
			return q
		}
		page(with("client_id", "nobody"))
		page(with("redirect_uri", rpCallback+"/"))
		page(with("redirect_uri", "https://evil.example.com/callback"))
		page(with("redirect_uri", ""))
		redirect := func(q url.Values, want string) {
			t.Helper()
			resp, _ := get(t, b, s.URL+"/oauth2/authorize?"+q.Encode())
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), rpCallback+"?") || loc.Query().Get("error") != want ||
				loc.Query().Get("state") != "s1" || loc.Query().Get("iss") != s.URL {
				t.Errorf("%v = %d %s, want a redirect with error=%s, state and iss", q, resp.StatusCode, loc, want)
			}
		}
		redirect(with("response_type", "token"), "unsupported_response_type")
		redirect(with("scope", "profile"), "invalid_scope")
		redirect(with("code_challenge_method", "plain"), "invalid_request")
		redirect(with("request", "eyJ"), "request_not_supported")
		redirect(with("max_age", "-1"), "invalid_request")
		redirect(with("prompt", "none login"), "invalid_request")
		// A public client must use PKCE.
		spa := url.Values{"client_id": {"spa"}, "redirect_uri": {spaBack}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
		resp, _ := get(t, b, s.URL+"/oauth2/authorize?"+spa.Encode())
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, spaBack+"?") || !strings.Contains(loc, "error=invalid_request") {
			t.Errorf("public client without PKCE: %q, want invalid_request", loc)
		}
		spa.Set("scope", "openid phone")
		spa.Set("code_challenge", strings.Repeat("A", 43))
		spa.Set("code_challenge_method", "S256")
		resp, _ = get(t, b, s.URL+"/oauth2/authorize?"+spa.Encode())
		if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_scope") {
			t.Errorf("spa asking for phone: %q, want invalid_scope", loc)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Of many concurrent redemptions of one code exactly one gets tokens; the
// others get invalid_grant and revoke what the winner got (RFC 6749
// §4.1.2).
func TestOIDCConcurrentRedeem(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	v := oauth2.GenerateVerifier()
	code := signIn(t, s, rpBrowser(t, s, desktopUA), r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v))).Query().Get("code")
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*oauth2.Token
	others := 0
	for range n {
		wg.Go(func() {
			tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(v))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, tok)
			case retrieveCode(err) == "invalid_grant":
				others++
			default:
				t.Errorf("exchange: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) > 1 || len(won)+others != n {
		t.Fatalf("%d exchanges got tokens and %d invalid_grant, want at most 1 and the rest refused", len(won), others)
	}
	// Every other attempt was a reuse: the winner's session is revoked.
	for _, tok := range won {
		if _, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); retrieveCode(err) != "invalid_grant" {
			t.Errorf("the winner's refresh token after the reuses: %v, want invalid_grant", err)
		}
	}
}

// The nonce is bound to the code: an ID token carries exactly its
// request's nonce, so a relying party that checks it (go-oidc hands it
// back; the RP compares) detects an ID token replayed into another login.
func TestOIDCNonceReplay(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	b := rpBrowser(t, s, desktopUA)
	_, first := r.login(t, s, b, "nonce-A")
	_, second := r.login(t, s, b, "nonce-B")
	if first.Nonce != "nonce-A" || second.Nonce != "nonce-B" {
		t.Fatalf("nonces %q, %q", first.Nonce, second.Nonce)
	}
	// Without a nonce in the request, the ID token has none.
	v := oauth2.GenerateVerifier()
	back := signIn(t, s, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	tok, err := r.conf.Exchange(r.ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := r.verifier.Verify(r.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "" {
		t.Errorf("no nonce asked: %v, nonce %q", err, idt.Nonce)
	}
	// Another client's verifier refuses the token (aud).
	other := r.provider.Verifier(&gooidc.Config{ClientID: "pw", Now: s.Clock.Now})
	if _, err := other.Verify(r.ctx, tok.Extra("id_token").(string)); err == nil {
		t.Error("pw's verifier accepted rp's ID token")
	}
}

// The unauthenticated steps are rate limited per client address: the
// authorization endpoint (authorize_per_ip) and client authentication at
// the token endpoint (login_per_ip), refresh grants included.
func TestOIDCRateLimited(t *testing.T) {
	s := oidcServer(t, servertest.Configure(func(c *config.Config) {
		c.RateLimits.LoginPerIP = "3/1m"
		c.RateLimits.AuthorizePerIP = "3/1m"
	}))
	for i := range 4 {
		res := postForm(t, s, "/oauth2/token", "rp", "wrong-secret-0123456789", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
		want := http.StatusUnauthorized
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if res.Status != want {
			t.Errorf("wrong secret #%d = %d, want %d", i+1, res.Status, want)
		}
	}
	b := rpBrowser(t, s, desktopUA)
	q := url.Values{"client_id": {"rp"}, "redirect_uri": {rpCallback}, "response_type": {"code"}, "scope": {"openid"}}
	for i := range 4 {
		resp, _ := get(t, b, s.URL+"/oauth2/authorize?"+q.Encode())
		if want := map[bool]int{false: http.StatusOK, true: http.StatusTooManyRequests}[i == 3]; resp.StatusCode != want ||
			(i == 3 && resp.Header.Get("Retry-After") == "") {
			t.Errorf("authorize #%d = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}
