package demo_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

const (
	proxySecret       = "proxy-secret-0123456789abcdef"
	proxyCookieSecret = "0123456789abcdef0123456789abcdef" // 32 bytes: AES-256
	proxyRefresh      = 2 * time.Second
)

// passedTokens remembers the distinct access tokens oauth2-proxy passed to the
// upstream, in memory only: a test must never print them.
type passedTokens struct {
	mu   sync.Mutex
	seen []string
}

func (l *passedTokens) add(tok string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tok != "" && (len(l.seen) == 0 || l.seen[len(l.seen)-1] != tok) {
		l.seen = append(l.seen, tok)
	}
}

func (l *passedTokens) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// oauth2-proxy v7.15.6 (a binary built from the Go module proxy by .ci/run,
// WXAUTH_TEST_OAUTH2_PROXY) in front of a small upstream, with wxauth as
// its OpenID Provider, driven by Chromium (docs/oidc.md "oauth2-proxy"):
// the sign-in, a refresh with the refresh_token grant after
// --cookie-refresh, the proxy's sign-out ending the wxauth session through
// --backend-logout-url, and a logout at wxauth ending the proxy's session at
// its next refresh.
func TestOAuth2ProxyInChromium(t *testing.T) {
	bin := os.Getenv("WXAUTH_TEST_OAUTH2_PROXY")
	if bin == "" {
		t.Skip("skipping: WXAUTH_TEST_OAUTH2_PROXY (an oauth2-proxy v7.15.6 binary, built by .ci/run) is not set")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping: no Chromium at %s", chromium)
	}
	tokens := &passedTokens{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens.add(r.Header.Get("X-Forwarded-Access-Token"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><p id="user">%s</p><p id="email">%s</p><p id="preferred">%s</p>`,
			html.EscapeString(r.Header.Get("X-Forwarded-User")), html.EscapeString(r.Header.Get("X-Forwarded-Email")),
			html.EscapeString(r.Header.Get("X-Forwarded-Preferred-Username")))
	}))
	t.Cleanup(upstream.Close)
	proxyURL := "http://" + proxyFreeAddr(t)
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.OIDC.Clients = []config.OIDCClient{{ID: "proxy", Name: "Proxy", RedirectURIs: []string{proxyURL + "/oauth2/callback"},
			Secret: proxySecret}}
	}))
	// oauth2-proxy checks the ID token's exp and iat against the real clock.
	s.Clock.Advance(time.Since(servertest.Start))
	proxyLog := startOAuth2Proxy(t, bin, s.URL, proxyURL, upstream.URL)

	ctx := newBrowser(t, chromedp.UserAgent(desktopUA))
	signIn := func(what string) {
		t.Helper()
		do(t, ctx, what+": open the proxy, land on wxauth's sign-in",
			chromedp.Navigate(proxyURL+"/"), chromedp.WaitVisible(chromedp.ID("wechat-login")))
		do(t, ctx, what+": scan with WeChat", chromedp.Click(chromedp.ID("wechat-login")), chromedp.WaitVisible(chromedp.ID("allow-alice")))
		do(t, ctx, what+": allow as alice", chromedp.Click(chromedp.ID("allow-alice")), chromedp.WaitVisible(chromedp.ID("user")))
	}
	// until opens the proxy's page again and again until done says so.
	until := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			do(t, ctx, what, chromedp.Navigate(proxyURL+"/"))
			if done() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s\n%s", what, pageState(ctx))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	latest := func() string { all := tokens.all(); return all[len(all)-1] }
	shows := func(id string) string {
		return eval[string](t, ctx, `document.getElementById(`+jsString(id)+`)?.textContent ?? ""`)
	}

	signIn("sign in")
	active, sub := proxyIntrospect(t, s, latest())
	if !active || sub == "" {
		t.Fatalf("the access token the proxy passed on is not active at wxauth (active %v, sub %q)", active, sub)
	}
	if u, e := shows("user"), shows("email"); u != sub || e != sub {
		t.Fatalf("the upstream got X-Forwarded-User %q, X-Forwarded-Email %q; want wxauth's sub %q in both", u, e, sub)
	}
	// wxauth issues no preferred_username claim (docs/oidc.md says so).
	if p := shows("preferred"); p != "" {
		t.Errorf("X-Forwarded-Preferred-Username is %q, want empty", p)
	}

	// Past --cookie-refresh the proxy redeems its refresh token: the
	// upstream then gets a new access token, one that wxauth minted.
	until("refresh after --cookie-refresh", func() bool {
		if shows("user") != sub {
			t.Fatalf("the page during refresh:\n%s", pageState(ctx))
		}
		return len(tokens.all()) >= 2
	})
	if active, _ := proxyIntrospect(t, s, latest()); !active {
		t.Fatal("the refreshed access token is not active at wxauth")
	}
	// The same wxauth session: a refresh, not a new login through single
	// sign-on (which would open another session).
	if first, now := accessTokenSID(t, tokens.all()[0]), accessTokenSID(t, latest()); first != now {
		t.Fatalf("the new access token is of session %s, the first of %s: the proxy logged in again instead of refreshing", now, first)
	}

	// (a) The proxy's sign-out calls end_session with the ID token as hint:
	// the wxauth session ends, and with it single sign-on.
	do(t, ctx, "the proxy's sign-out", chromedp.Navigate(proxyURL+"/oauth2/sign_out"))
	if active, _ := proxyIntrospect(t, s, latest()); active {
		t.Fatal("after the proxy's sign-out the wxauth session still lives")
	}
	n := len(tokens.all())
	signIn("sign in again")
	if len(tokens.all()) <= n {
		t.Fatal("the second sign-in passed no new access token")
	}

	// (b) A logout at wxauth ends the proxy's session at its next refresh,
	// which wxauth answers invalid_grant: the page sends to the sign-in.
	do(t, ctx, "end_session at wxauth", chromedp.Navigate(s.URL+"/oauth2/end_session"), chromedp.WaitVisible(chromedp.ID("logout")))
	do(t, ctx, "confirm the logout", chromedp.Click(chromedp.ID("logout")), chromedp.WaitNotPresent(chromedp.ID("logout")))
	if active, _ := proxyIntrospect(t, s, latest()); active {
		t.Fatal("after end_session the proxy's wxauth session still lives")
	}
	until("the proxy's session ends at its next refresh", func() bool {
		return eval[bool](t, ctx, `!!document.getElementById('wechat-login')`)
	})
	// It ended because the refresh was refused, not for another reason.
	if !strings.Contains(proxyLog(), "invalid_grant") {
		t.Error("oauth2-proxy logged no invalid_grant for the refresh after end_session")
	}
	// wxauth logged none of the tokens this traffic carried.
	for i, tok := range tokens.all() {
		if strings.Contains(s.Logs.String(), tok) {
			t.Errorf("wxauth's log holds access token %d the proxy used", i)
		}
	}
}

// accessTokenSID is the sid of a wxauth access token (its signature is not
// checked here: introspection answered for it).
func accessTokenSID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatal("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c api.Claims
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if err != nil || c.SessionID == "" {
		t.Fatalf("the access token's claims: %v, sid %q", err, c.SessionID)
	}
	return c.SessionID
}

// proxyFreeAddr is a loopback address with a port free at the time of asking.
func proxyFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startOAuth2Proxy runs oauth2-proxy until the test ends, with the flags of
// docs/oidc.md (http instead of https). Its output goes to the test log only
// if the test fails; it logs sessions masked, never their tokens.
func startOAuth2Proxy(t *testing.T, bin, issuer, proxyURL, upstream string) (output func() string) {
	t.Helper()
	cmd := exec.Command(bin,
		"--http-address="+strings.TrimPrefix(proxyURL, "http://"),
		"--upstream="+upstream+"/",
		"--provider=oidc",
		"--oidc-issuer-url="+issuer,
		"--client-id=proxy", "--client-secret="+proxySecret,
		"--redirect-url="+proxyURL+"/oauth2/callback",
		"--scope=openid profile",
		"--code-challenge-method=S256",
		"--insecure-oidc-skip-nonce=false", // its default skips the nonce check
		"--oidc-email-claim=sub", "--email-domain=*",
		"--cookie-secret="+proxyCookieSecret,
		"--cookie-secure=false",
		"--cookie-refresh="+proxyRefresh.String(),
		"--skip-provider-button",
		"--pass-access-token",
		"--backend-logout-url="+issuer+"/oauth2/end_session?id_token_hint={id_token}",
	)
	out := &servertest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("oauth2-proxy's output (codes elided):\n%s", codeParam.ReplaceAllString(out.String(), "code=…"))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(proxyURL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return out.String
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy does not answer /ping at %s: %v", proxyURL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// codeParam finds the authorization codes in oauth2-proxy's access log.
var codeParam = regexp.MustCompile(`code=[^&\s"]+`)

// proxyIntrospect asks wxauth whether the proxy's access token is active, and
// for whom.
func proxyIntrospect(t *testing.T, s *servertest.Server, tok string) (bool, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/oauth2/introspect",
		strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("proxy", proxySecret)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: status %d, %v", resp.StatusCode, err)
	}
	return v.Active, v.Sub
}
