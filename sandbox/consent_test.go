package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	authorizePath = OpenPrefix + pathAuthorize
	qrconnectPath = OpenPrefix + pathQRConnect
)

// authorizeQuery is a well-formed authorize URL query in WeChat's
// parameter order (reference §5.1).
func authorizeQuery(app App, redirectURI, scope, state string) string {
	return "appid=" + url.QueryEscape(app.AppID) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&response_type=code&scope=" + url.QueryEscape(scope) +
		"&state=" + url.QueryEscape(state)
}

// page is an authorize page's answer, redirects not followed.
type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

// page GETs path?query without following redirects.
func (e *env) page(t *testing.T, path, query string) page {
	t.Helper()
	return e.pageRequest(t, http.MethodGet, path, query, "")
}

// decide POSTs form to the page at path?query, as its buttons do.
func (e *env) decide(t *testing.T, path, query, form string) page {
	t.Helper()
	return e.pageRequest(t, http.MethodPost, path, query, form)
}

// WeChat's built-in browser and a desktop browser, as they name themselves.
const (
	wechatUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003237) NetType/WIFI Language/zh_CN"
	desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)

// pageRequest asks as WeChat's built-in browser.
func (e *env) pageRequest(t *testing.T, method, path, query, form string) page {
	t.Helper()
	return e.pageRequestAs(t, wechatUA, method, path, query, form)
}

func (e *env) pageRequestAs(t *testing.T, ua, method, path, query, form string) page {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path+"?"+query+"#wechat_redirect", body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", ua)
	// These tests read the English page (pagelang_test.go reads both).
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(raw)}
}

// allowPattern matches redirectURI followed by exactly ?code=X&state=Y (or
// &code=… if it has a query) and captures the code.
func allowPattern(redirectURI, state string) *regexp.Regexp {
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return regexp.MustCompile("^" + regexp.QuoteMeta(redirectURI+sep+"code=") + "([0-9A-Za-z]{32})" + regexp.QuoteMeta("&state="+state) + "$")
}

// Reference §5.2, docs/sandbox.md: sandbox_user approves at once with a 302
// to exactly redirect_uri?code=X&state=Y, and the code works.
func TestAuthorizeSandboxUser(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		app      App
		redirect string
		scope    string
		state    string
		user     string
	}{
		{"OA base", authorizePath, appOA, "https://app.example/cb", ScopeBase, "s1", "alice"},
		{"OA userinfo", authorizePath, appOA, "https://app.example/cb", ScopeUserInfo, "AbC123", "bob"},
		{"redirect with query", authorizePath, appOA, "https://app.example/cb?from=menu&x=%2F", ScopeUserInfo, "st", "alice"},
		{"long state", authorizePath, appOAU, "http://localhost:8080/cb", ScopeBase, strings.Repeat("a", 128), "bob"},
		{"website", qrconnectPath, appWeb, "https://www.app.example/login/wechat", ScopeLogin, "xyz", "alice"},
		{"snapshot", authorizePath, appOA, "https://app.example/cb", ScopeUserInfo, "s", SnapshotUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOAuthEnv(t)
			p := e.page(t, tt.path, authorizeQuery(tt.app, tt.redirect, tt.scope, tt.state)+"&sandbox_user="+tt.user)
			if p.status != http.StatusFound {
				t.Fatalf("status %d, want 302; body %s", p.status, p.body)
			}
			m := allowPattern(tt.redirect, tt.state).FindStringSubmatch(p.location)
			if m == nil {
				t.Fatalf("Location = %q, want %s?code=…&state=%s", p.location, tt.redirect, tt.state)
			}
			a := e.get(t, oauthPath, oauthQuery(tt.app, m[1]))
			if a.code() != 0 || a.Scope != tt.scope || a.OpenID != openID(tt.app.AppID, tt.user) {
				t.Errorf("exchange: errcode %d scope %q openid %q, want 0 %q %q", a.code(), a.Scope, a.OpenID, tt.scope, openID(tt.app.AppID, tt.user))
			}
		})
	}
}

// Reference §5.1, §6: a bad link shows an error page, never a redirect.
func TestAuthorizeErrors(t *testing.T) {
	e := newOAuthEnv(t)
	const cb = "https://app.example/cb"
	tests := []struct {
		name  string
		path  string
		query string
		code  string // in the errcode element; "" for none
		text  string // in the page
	}{
		{"no appid", authorizePath, "redirect_uri=" + url.QueryEscape(cb) + "&response_type=code&scope=snsapi_base&state=s", "10012", "appid"},
		{"unknown appid", authorizePath, authorizeQuery(App{AppID: "wxnope"}, cb, ScopeBase, "s"), "40013", "wxnope"},
		{"website appid on OA page", authorizePath, authorizeQuery(appWeb, cb, ScopeLogin, "s"), "10016", "qrconnect"},
		{"mini program on OA page", authorizePath, authorizeQuery(appA, cb, ScopeBase, "s"), "40013", "miniprogram"},
		{"OA appid on qrconnect", qrconnectPath, authorizeQuery(appOA, cb, ScopeLogin, "s"), "40013", "official_account"},
		{"no redirect_uri", authorizePath, authorizeQuery(appOA, "", ScopeBase, "s"), "10011", "redirect_uri"},
		{"relative redirect_uri", authorizePath, authorizeQuery(appOA, "/cb", ScopeBase, "s"), "10003", "redirect_uri"},
		{"javascript redirect_uri", authorizePath, authorizeQuery(appOA, "javascript:alert(1)", ScopeBase, "s"), "10003", "redirect_uri"},
		{"no response_type", authorizePath, strings.Replace(authorizeQuery(appOA, cb, ScopeBase, "s"), "response_type=code", "", 1), "", "response_type"},
		{"response_type token", authorizePath, strings.Replace(authorizeQuery(appOA, cb, ScopeBase, "s"), "response_type=code", "response_type=token", 1), "", "response_type"},
		{"no scope", authorizePath, authorizeQuery(appOA, cb, "", "s"), "10010", "scope"},
		{"login scope on OA", authorizePath, authorizeQuery(appOA, cb, ScopeLogin, "s"), "10005", "snsapi_login"},
		{"userinfo scope on qrconnect", qrconnectPath, authorizeQuery(appWeb, cb, ScopeUserInfo, "s"), "10005", "snsapi_userinfo"},
		{"state too long", authorizePath, authorizeQuery(appOA, cb, ScopeBase, strings.Repeat("a", 129)), "", "state"},
		{"state with dash", authorizePath, authorizeQuery(appOA, cb, ScopeBase, "a-b"), "", "state"},
		{"empty state", authorizePath, authorizeQuery(appOA, cb, ScopeBase, ""), "10013", "state"},
		{"no state", authorizePath, strings.Replace(authorizeQuery(appOA, cb, ScopeBase, "s"), "&state=s", "", 1), "10013", "state"},
		{"empty state on qrconnect", qrconnectPath, authorizeQuery(appWeb, cb, ScopeLogin, ""), "10013", "state"},
		{"unknown sandbox_user", authorizePath, authorizeQuery(appOA, cb, ScopeBase, "s") + "&sandbox_user=zed", "", "zed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.page(t, tt.path, tt.query)
			if p.status != http.StatusBadRequest || p.location != "" {
				t.Fatalf("status %d, Location %q; want 400 and no redirect", p.status, p.location)
			}
			if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want an HTML page", ct)
			}
			code := regexp.MustCompile(`id="errcode">(\d+)<`).FindStringSubmatch(p.body)
			switch {
			case tt.code == "" && code != nil:
				t.Errorf("errcode element %s, want none", code[1])
			case tt.code != "" && (code == nil || code[1] != tt.code):
				t.Errorf("errcode element %v, want %s", code, tt.code)
			}
			if !strings.Contains(p.body, tt.text) {
				t.Errorf("page does not mention %q:\n%s", tt.text, p.body)
			}
			// The buttons' endpoint refuses the same request (it ignores
			// sandbox_user).
			if strings.Contains(tt.query, "sandbox_user") {
				return
			}
			if d := e.decide(t, tt.path, tt.query, "user=alice"); d.status/100 != 4 || strings.Contains(d.body, `"redirect":`) {
				t.Errorf("POST: status %d body %s, want a 4xx error", d.status, d.body)
			}
		})
	}
	if n := len(e.sb.oauth.codes); n != 0 {
		t.Errorf("%d codes minted by refused requests, want 0", n)
	}
}

// Reference §5.1: an Official Account's page opens only inside WeChat;
// any other browser gets "请在微信客户端打开链接", no redirect, no code, even
// with sandbox_user or a broken link. The website QR page opens anywhere.
func TestAuthorizeOutsideWeChat(t *testing.T) {
	e := newOAuthEnv(t)
	const cb = "https://app.example/cb"
	for _, ua := range []string{desktopUA, "", "Mozilla/5.0 (iPhone) Mobile Safari"} {
		for _, q := range []string{
			authorizeQuery(appOA, cb, ScopeUserInfo, "s"),
			authorizeQuery(appOA, cb, ScopeBase, "s") + "&sandbox_user=alice",
			authorizeQuery(appOA, "", ScopeBase, "s"),
		} {
			p := e.pageRequestAs(t, ua, http.MethodGet, authorizePath, q, "")
			if p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, "请在微信客户端打开链接") {
				t.Errorf("UA %q, %s: status %d Location %q, want 400 and WeChat's open-in-WeChat page; body %s", ua, q, p.status, p.location, p.body)
			}
			if strings.Contains(p.body, `id="errcode"`) {
				t.Errorf("UA %q: the page shows an errcode; WeChat's shows none", ua)
			}
			if d := e.pageRequestAs(t, ua, http.MethodPost, authorizePath, q, "user=alice"); d.status/100 != 4 || strings.Contains(d.body, `"redirect":`) {
				t.Errorf("UA %q: POST status %d body %s, want a 4xx error", ua, d.status, d.body)
			}
		}
	}
	if n := len(e.sb.oauth.codes); n != 0 {
		t.Errorf("%d codes minted outside WeChat, want 0", n)
	}
	p := e.pageRequestAs(t, desktopUA, http.MethodGet, qrconnectPath, authorizeQuery(appWeb, cb, ScopeLogin, "s")+"&sandbox_user=alice", "")
	if p.status != http.StatusFound {
		t.Errorf("qrconnect from a desktop browser: status %d, want 302; body %s", p.status, p.body)
	}
	p = e.pageRequestAs(t, wechatUA, http.MethodGet, authorizePath, authorizeQuery(appOA, cb, ScopeBase, "s")+"&sandbox_user=alice", "")
	if p.status != http.StatusFound {
		t.Errorf("authorize inside WeChat: status %d, want 302; body %s", p.status, p.body)
	}
}

// Reference §5.1, §6: redirect_uri's host must equal a registered domain
// exactly, on the default port, else error page 10003 and no redirect;
// Config.DevOrigins is the one exception, port included.
func TestAuthorizeDomains(t *testing.T) {
	e := newOAuthEnv(t)
	for _, tt := range []struct {
		name     string
		path     string
		app      App
		redirect string
		ok       bool
	}{
		{"registered", authorizePath, appOA, "https://app.example/a/b?c=d", true},
		{"registered, http", authorizePath, appOA, "http://app.example/cb", true},
		{"registered, upper case", authorizePath, appOA, "https://APP.example/cb", true},
		{"default port written out", authorizePath, appOA, "https://app.example:443/cb", true},
		{"http default port written out", authorizePath, appOA, "http://app.example:80/cb", true},
		{"other port", authorizePath, appOA, "https://app.example:8443/cb", false},
		{"https on port 80", authorizePath, appOA, "https://app.example:80/cb", false},
		{"subdomain", authorizePath, appOA, "https://www.app.example/cb", false},
		{"parent domain", authorizePath, appOA, "https://example/cb", false},
		{"suffix trick", authorizePath, appOA, "https://app.example.evil.test/cb", false},
		{"other host", authorizePath, appOA, "https://evil.test/cb", false},
		{"dev origin on an app with domains", authorizePath, appOA, "http://localhost:8080/cb", true},
		{"dev host, other port", authorizePath, appOA, "http://localhost:8081/cb", false},
		{"dev host, other scheme", authorizePath, appOA, "https://localhost:8080/cb", false},
		{"no domain, dev origin", authorizePath, appOAU, "http://localhost:8080/cb", true},
		{"no domain", authorizePath, appOAU, "https://app.example/cb", false},
		{"website, second domain", qrconnectPath, appWeb, "https://app.example/login", true},
		{"website, other port", qrconnectPath, appWeb, "https://www.app.example:8443/login", false},
		{"website, subdomain", qrconnectPath, appWeb, "https://m.app.example/login", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scope := ScopeBase
			if tt.path == qrconnectPath {
				scope = ScopeLogin
			}
			q := authorizeQuery(tt.app, tt.redirect, scope, "s")
			p := e.page(t, tt.path, q+"&sandbox_user=alice")
			if tt.ok {
				if p.status != http.StatusFound || allowPattern(tt.redirect, "s").FindString(p.location) == "" {
					t.Errorf("status %d Location %q, want 302 back to %s", p.status, p.location, tt.redirect)
				}
				return
			}
			if p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, `id="errcode">10003<`) {
				t.Errorf("status %d Location %q, want error page 10003 and no redirect; body %s", p.status, p.location, p.body)
			}
			if d := e.decide(t, tt.path, q, "user=alice"); d.status/100 != 4 || strings.Contains(d.body, `"redirect":`) {
				t.Errorf("POST: status %d body %s, want a 4xx error", d.status, d.body)
			}
		})
	}
}

// Config.OfficialAccountDenyStays: Deny on the Official Account page too
// keeps the user there; Allow still redirects.
func TestOfficialAccountDenyStays(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OfficialAccountDenyStays = true })
	q := authorizeQuery(appOA, "https://app.example/cb", ScopeBase, "s")
	var d decision
	if p := e.decide(t, authorizePath, q, "deny=1"); p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &d) != nil || d.Redirect != "" || !d.Denied {
		t.Errorf("deny = %d %s, want no redirect, denied", p.status, p.body)
	}
	d = decision{}
	if p := e.decide(t, authorizePath, q, "user=alice"); p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &d) != nil || d.Redirect == "" {
		t.Errorf("allow = %d %s, want a redirect", p.status, p.body)
	}
}

var (
	buttonPattern = regexp.MustCompile(`<button type="button" class="allow" id="(allow-[^"]+)" data-user="([^"]+)">Allow as ([^<]+)`)
	noncePattern  = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// docs/sandbox.md: the consent page lists the test users and Deny; it
// mints no code until a button is chosen.
func TestConsentPage(t *testing.T) {
	for _, tt := range []struct {
		path  string
		app   App
		scope string
	}{
		{authorizePath, appOA, ScopeUserInfo},
		{authorizePath, appOA, ScopeBase},
		{qrconnectPath, appWeb, ScopeLogin},
	} {
		t.Run(tt.path+" "+tt.scope, func(t *testing.T) {
			e := newOAuthEnv(t)
			e.sb.AddUser("carol")
			p := e.page(t, tt.path, authorizeQuery(tt.app, "https://app.example/cb", tt.scope, "s1"))
			if p.status != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", p.status, p.body)
			}
			if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := p.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			var got []string
			for _, m := range buttonPattern.FindAllStringSubmatch(p.body, -1) {
				got = append(got, m[1]+"/"+m[2]+"/"+m[3])
			}
			want := "allow-alice/alice/Alice,allow-bob/bob/Bob,allow-snapshot/snapshot/Snapshot,allow-xiaoming/xiaoming/小明🐱,allow-carol/carol/Carol"
			if strings.Join(got, ",") != want {
				t.Errorf("buttons = %v, want %s", got, want)
			}
			if !strings.Contains(p.body, `id="deny"`) || !strings.Contains(p.body, ">Deny</button>") {
				t.Errorf("no Deny button with id deny")
			}
			for _, s := range []string{tt.app.Name, tt.scope, "app.example", "location.replace("} {
				if !strings.Contains(p.body, s) {
					t.Errorf("page does not contain %q", s)
				}
			}
			// Snapshot pages exist for Official Account snsapi_userinfo only (§5.1).
			if got, want := strings.Contains(p.body, "snapshot-page virtual user"), tt.scope == ScopeUserInfo; got != want {
				t.Errorf("page marks the snapshot user: %v, want %v", got, want)
			}
			// Self-contained: nothing loaded from elsewhere, and a CSP that
			// allows only the page's own nonce'd style and script.
			for _, s := range []string{"src=", "href=", "@import", "url("} {
				if strings.Contains(p.body, s) {
					t.Errorf("page contains %q; it must load nothing", s)
				}
			}
			m := noncePattern.FindStringSubmatch(p.body)
			csp := p.header.Get("Content-Security-Policy")
			if m == nil || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q does not match the script nonce %v", csp, m)
			}
			if n := len(e.sb.oauth.codes); n != 0 {
				t.Errorf("%d codes minted by showing the page, want 0", n)
			}
		})
	}
}

// The consent page's buttons: Allow mints a code now and answers
// redirect_uri?code=…&state=…; Deny answers redirect_uri?state=… without
// code on the Official Account page (reference §5.2; docs/sandbox.md) and
// no redirect at all on the website QR page (reference §6).
func TestConsentDecision(t *testing.T) {
	e := newOAuthEnv(t)
	const state = "Xy9"
	tests := []struct {
		name     string
		path     string
		app      App
		redirect string
		scope    string
	}{
		{"OA", authorizePath, appOA, "https://app.example/cb", ScopeUserInfo},
		{"OA with query", authorizePath, appOA, "https://app.example/cb?next=%2Fhome", ScopeBase},
		{"website", qrconnectPath, appWeb, "https://app.example/login", ScopeLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authorizeQuery(tt.app, tt.redirect, tt.scope, state)
			var d decision
			p := e.decide(t, tt.path, q, "user=alice")
			if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &d) != nil {
				t.Fatalf("allow: status %d body %s", p.status, p.body)
			}
			if cc := p.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("allow: Cache-Control = %q, want no-store", cc)
			}
			m := allowPattern(tt.redirect, state).FindStringSubmatch(d.Redirect)
			if m == nil {
				t.Fatalf("allow redirect = %q, want %s?code=…&state=%s", d.Redirect, tt.redirect, state)
			}
			a := e.get(t, oauthPath, oauthQuery(tt.app, m[1]))
			if a.code() != 0 || a.Scope != tt.scope || a.OpenID != openID(tt.app.AppID, "alice") {
				t.Errorf("exchange: errcode %d scope %q, want 0 %q for alice", a.code(), a.Scope, tt.scope)
			}

			d = decision{}
			p = e.decide(t, tt.path, q, "deny=1")
			if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &d) != nil {
				t.Fatalf("deny: status %d body %s", p.status, p.body)
			}
			if tt.path == qrconnectPath {
				// Reference §6: a refused website login does not redirect.
				if d.Redirect != "" || !d.Denied {
					t.Errorf("deny on the QR page = %+v, want no redirect, denied", d)
				}
				return
			}
			if want := withQuery(tt.redirect, "state="+state); d.Redirect != want || strings.Contains(d.Redirect, "code=") || d.Denied {
				t.Errorf("deny redirect = %q, want %q", d.Redirect, want)
			}
		})
	}

	q := authorizeQuery(appOA, "https://app.example/cb", ScopeBase, state)
	for _, tt := range []struct {
		form   string
		status int
	}{
		{"user=zed", http.StatusNotFound},
		{"", http.StatusBadRequest},
		{"user=", http.StatusBadRequest},
		{"user=" + strings.Repeat("a", maxDecisionBody), http.StatusBadRequest},
	} {
		if p := e.decide(t, authorizePath, q, tt.form); p.status != tt.status || !strings.Contains(p.body, "error_description") {
			t.Errorf("POST %.20q: status %d body %s, want %d and an error", tt.form, p.status, p.body, tt.status)
		}
	}
}

func TestWithQuery(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://a.example/cb", "https://a.example/cb?state=S"},
		{"https://a.example/cb?x=1", "https://a.example/cb?x=1&state=S"},
		{"https://a.example/cb?", "https://a.example/cb?state=S"},
		{"https://a.example/cb?x=1&", "https://a.example/cb?x=1&state=S"},
		{"https://a.example/cb?x=%2F#top", "https://a.example/cb?x=%2F&state=S#top"},
		{"https://a.example/#/login", "https://a.example/?state=S#/login"},
	}
	for _, tt := range tests {
		if got := withQuery(tt.uri, "state=S"); got != tt.want {
			t.Errorf("withQuery(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}

// Faults apply to the pages as to WeChat paths; an errcode shows as
// WeChat's error page. Page views count in Stats, button posts do not.
func TestAuthorizeFaultsAndStats(t *testing.T) {
	e := newOAuthEnv(t)
	q := authorizeQuery(appOA, "https://app.example/cb", ScopeBase, "s") + "&sandbox_user=alice"
	e.sb.InjectFault(Fault{Path: pathAuthorize, Errcode: 10009})
	if p := e.page(t, authorizePath, q); p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, `id="errcode">10009<`) {
		t.Errorf("errcode fault: status %d Location %q, want the 10009 error page", p.status, p.location)
	}
	e.sb.InjectFault(Fault{Path: pathQRConnect, Status: http.StatusServiceUnavailable})
	if p := e.page(t, qrconnectPath, authorizeQuery(appWeb, "https://app.example/cb", ScopeLogin, "s")); p.status != http.StatusServiceUnavailable {
		t.Errorf("status fault: status %d, want 503", p.status)
	}
	if p := e.page(t, authorizePath, q); p.status != http.StatusFound {
		t.Errorf("after the fault: status %d, want 302", p.status)
	}
	e.decide(t, authorizePath, q, "user=alice")
	if status := e.control(t, http.MethodPost, "/faults", Fault{Path: pathQRConnect, Errcode: 10004}, nil); status != http.StatusNoContent {
		t.Errorf("POST /faults for %s: status %d, want 204", pathQRConnect, status)
	}
	stats := e.sb.Stats()
	if stats[pathAuthorize] != 2 || stats[pathQRConnect] != 1 {
		t.Errorf("Stats() = %v, want 2 authorize and 1 qrconnect page views", stats)
	}
}

// consentHarness runs the consent page's script in Node with a minimal
// DOM: it clicks one button, lets the real fetch reach the sandbox and
// prints how the page navigated.
const consentHarness = `
const vm = require("vm");
const [base, pagePath, buttonsJSON, click] = process.argv.slice(2);
const script = require("fs").readFileSync(0, "utf8");
const page = new URL(pagePath, base);
const out = {navigations: []};
const buttons = JSON.parse(buttonsJSON).map(([id, user]) => {
  const b = {id, disabled: false, handlers: [],
    getAttribute: (n) => (n === "data-user" ? user : null),
    addEventListener: (ev, fn) => { if (ev === "click") b.handlers.push(fn); }};
  return b;
});
const status = {textContent: ""};
globalThis.document = {
  querySelectorAll: (sel) => sel === "button" ? buttons : sel === "button[data-user]" ? buttons.filter((b) => b.getAttribute("data-user")) : [],
  getElementById: (id) => id === "status" ? status : buttons.find((b) => b.id === id),
};
globalThis.location = {
  pathname: page.pathname, search: page.search, hash: page.hash,
  replace: (u) => { out.navigations.push(["replace", u]); finish(); },
  assign: (u) => { out.navigations.push(["assign", u]); },
  set href(u) { out.navigations.push(["href", u]); },
};
const realFetch = globalThis.fetch;
globalThis.fetch = (p, init) => {
  out.fetch = {url: p, method: init.method, body: String(init.body)};
  // In WeChat's built-in browser, whose fetch names it in User-Agent.
  return realFetch(new URL(p, base), {...init, headers: {...init.headers, "User-Agent": "Mozilla/5.0 MicroMessenger/8.0.50"}});
};
function finish() { out.status = status.textContent; console.log(JSON.stringify(out)); process.exit(0); }
vm.runInThisContext(script);
const b = buttons.find((b) => b.id === click);
b.handlers.forEach((fn) => fn());
setTimeout(finish, 5000);
`

// The consent page's own script, run in Node: a click posts the choice
// to the page's URL and continues with location.replace to the answer, the
// code minted only by the click. Skipped without node.
func TestConsentPageScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; the consent page script is not run")
	}
	harness := filepath.Join(t.TempDir(), "harness.js")
	if err := os.WriteFile(harness, []byte(consentHarness), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newOAuthEnv(t)
	const redirect = "https://app.example/cb?from=menu"
	q := authorizeQuery(appOA, redirect, ScopeUserInfo, "St8")
	p := e.page(t, authorizePath, q)
	script := regexp.MustCompile(`(?s)<script nonce="[^"]+">(.*?)</script>`).FindStringSubmatch(p.body)
	if script == nil {
		t.Fatal("no script in the consent page")
	}
	var buttons [][2]string
	for _, m := range buttonPattern.FindAllStringSubmatch(p.body, -1) {
		buttons = append(buttons, [2]string{m[1], m[2]})
	}
	buttons = append(buttons, [2]string{"deny", ""})
	buttonsJSON, _ := json.Marshal(buttons)

	run := func(click string) (out struct {
		Navigations [][2]string `json:"navigations"`
		Fetch       struct{ URL, Method, Body string }
		Status      string `json:"status"`
	}) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, harness, e.srv.URL, authorizePath+"?"+q+"#wechat_redirect", string(buttonsJSON), click)
		cmd.Stdin = strings.NewReader(script[1])
		raw, err := cmd.Output()
		if err != nil {
			t.Fatalf("node %s: %v", click, err)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("node %s: %s: %v", click, raw, err)
		}
		if len(out.Navigations) != 1 || out.Navigations[0][0] != "replace" {
			t.Fatalf("click %s navigated %v (status %q), want one location.replace", click, out.Navigations, out.Status)
		}
		if out.Fetch.Method != "POST" || out.Fetch.URL != authorizePath+"?"+q {
			t.Errorf("click %s fetched %s %s, want POST to the page's own URL", click, out.Fetch.Method, out.Fetch.URL)
		}
		return out
	}

	out := run("allow-bob")
	if out.Fetch.Body != "user=bob" {
		t.Errorf("allow-bob posted %q, want user=bob", out.Fetch.Body)
	}
	m := allowPattern(redirect, "St8").FindStringSubmatch(out.Navigations[0][1])
	if m == nil {
		t.Fatalf("allow-bob replaced with %q, want %s&code=…&state=St8", out.Navigations[0][1], redirect)
	}
	if a := e.get(t, oauthPath, oauthQuery(appOA, m[1])); a.code() != 0 || a.OpenID != openID(appOA.AppID, "bob") {
		t.Errorf("exchange of the clicked code: errcode %d openid %q, want bob's", a.code(), a.OpenID)
	}

	out = run("deny")
	if want := redirect + "&state=St8"; out.Navigations[0][1] != want {
		t.Errorf("deny replaced with %q, want %q", out.Navigations[0][1], want)
	}
}
