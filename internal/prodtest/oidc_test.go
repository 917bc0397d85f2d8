package prodtest

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The OpenID Provider on the production stores (docs/oidc.md): two `wxauth
// serve` processes on one PostgreSQL and one Redis, the relying party on
// go-oidc and x/oauth2 reaching the issuer through either. The browser
// starts the sign-in on A and comes back from WeChat to B; the code is
// redeemed by many requests at once across both: at most one gets
// tokens, and the reuses revoke them; single sign-on holds across
// instances; the refresh
// token rotates through either; a revocation on A ends the session on B.
func TestOIDCAcrossInstances(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	const rpCallback = "https://rp.prodtest.example/cb"
	const rpSecret = "prodtest-rp-secret-0123456789"
	d := newDeployment(t, pgSchema(t), redisURL, "tokens: {reuse_grace: 1s}",
		"oidc: {clients: [{client_id: rp, name: RP, redirect_uris: ["+rpCallback+"], scopes: [profile]}]}")
	d.env = append(d.env, "WXAUTH_OIDC_CLIENT_RP_SECRET="+rpSecret)
	a, b := d.start(t), d.start(t)
	issuer, _ := url.Parse("https://auth.prodtest.example")

	// The relying party's HTTP client reaches the issuer through A and B
	// in turn, as through a load balancer.
	var turn atomic.Int64
	rpHTTP := &http.Client{Transport: issuerTransport{host: issuer.Host, next: d.httpc.Transport, pick: func() string {
		if turn.Add(1)%2 == 0 {
			return a.URL
		}
		return b.URL
	}}}
	ctx := gooidc.ClientContext(t.Context(), rpHTTP)
	provider, err := gooidc.NewProvider(ctx, issuer.String())
	if err != nil {
		t.Fatalf("discovery through the instances: %v", err)
	}
	conf := oauth2.Config{ClientID: "rp", ClientSecret: rpSecret, Endpoint: provider.Endpoint(), RedirectURL: rpCallback,
		Scopes: []string{gooidc.ScopeOpenID, "profile"}}
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st", gooidc.Nonce("n-prod"), oauth2.S256ChallengeOption(verifier)))

	// The browser: its cookies by name (the issuer is https, so they are
	// Secure; this browser is the load balancer's client).
	cookies := map[string]string{}
	browse := func(target string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", target, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
		for k, v := range cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		c := *d.httpc
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range resp.Cookies() {
			cookies[ck.Name] = ck.Value
		}
		return resp
	}
	on := func(in *instance, u *url.URL) string { return in.URL + u.RequestURI() }

	resp := browse(on(a, authURL))
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`id="wechat-login" href="([^"]+)"`).FindStringSubmatch(string(page))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("authorize on A = %d, want the sign-in page: %.300s", resp.StatusCode, page)
	}
	resp = browse(a.URL + html.UnescapeString(m[1]))
	resp.Body.Close()
	wechat, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("the sign-in button = %d %q, want 302 to WeChat", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := wechat.Query()
	q.Set("sandbox_user", "alice")
	wechat.RawQuery = q.Encode()
	resp = browse(wechat.String())
	resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || callback.Host != issuer.Host {
		t.Fatalf("the sandbox answered %d %q, want 302 to the issuer's callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = browse(on(b, callback))
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	code := back.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || !strings.HasPrefix(back.String(), rpCallback) {
		t.Fatalf("the callback on B = %d %q, want 302 to the client with a code", resp.StatusCode, back)
	}

	// Many redemptions of the code at once, across A and B.
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*oauth2.Token
	for range n {
		wg.Go(func() {
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, tok)
			case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
			default:
				t.Errorf("exchange: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) > 1 {
		t.Fatalf("%d of %d concurrent redemptions got tokens, want at most 1", len(won), n)
	}
	for _, tok := range won {
		if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("the winner's tokens survived the reuses of its code")
		}
	}

	// A fresh sign-in (single sign-on now: the cookie of B's login works on
	// A), then rotation on one instance and reuse on the other.
	verifier = oauth2.GenerateVerifier()
	authURL, _ = url.Parse(conf.AuthCodeURL("st2", gooidc.Nonce("n-prod-2"), oauth2.S256ChallengeOption(verifier)))
	resp = browse(on(a, authURL))
	resp.Body.Close()
	back, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Query().Get("code") == "" {
		t.Fatalf("SSO on A = %d %q, want a code at once", resp.StatusCode, back)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "n-prod-2" {
		t.Fatalf("ID token: %v (nonce %q)", err, idt.Nonce)
	}
	next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(next)); err != nil {
		t.Errorf("userinfo: %v", err)
	}
	form := url.Values{"token": {next.RefreshToken}}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", a.URL+"/oauth2/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", rpSecret)
	r, err := d.httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke on A = %d", r.StatusCode)
	}
	if r := d.do(t.Context(), "GET", b.URL+"/v1/me", "", next.AccessToken); r.Status != http.StatusUnauthorized {
		t.Errorf("the access token on B after revocation on A = %d, want 401", r.Status)
	}
}

// issuerTransport sends requests for the issuer's host to an instance.
type issuerTransport struct {
	host string
	next http.RoundTripper
	pick func() string
}

func (t issuerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != t.host {
		return t.next.RoundTrip(r)
	}
	target, err := url.Parse(t.pick())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
	return t.next.RoundTrip(r)
}
