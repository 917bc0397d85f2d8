package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The sign-in page's mini program code (docs/oidc.md "The sign-in page"):
// a client whose login names the mini program shows its code on a
// desktop; the phone scans and confirms; the page completes through the
// OP's own endpoints, bound to the browser by a sealed cookie.

const mpBack = "https://mpc.example.com/cb"

// oidcQRServer is oidcServer plus mpc (login: the mini program) and both
// (the mini program and the website app).
func oidcQRServer(t *testing.T) *servertest.Server {
	t.Helper()
	return oidcServer(t, servertest.Configure(func(c *config.Config) {
		c.OIDC.Clients = append(c.OIDC.Clients,
			config.OIDCClient{ID: "mpc", Name: "MP Client", RedirectURIs: []string{mpBack}, Secret: rpSecret, Login: []string{"mp"}},
			config.OIDCClient{ID: "both", RedirectURIs: []string{mpBack}, Secret: rpSecret, Login: []string{"mp", "web"}})
	}))
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

var qrImageSrc = regexp.MustCompile(`id="qr-image" src="/v1/qrlogin/([A-Za-z0-9]{32})/image"`)

// qrPage opens the authorization URL and returns the page and the ticket
// its code shows.
func qrPage(t *testing.T, b *http.Client, authURL string) (body, ticket string) {
	t.Helper()
	resp, body := get(t, b, authURL)
	m := qrImageSrc.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in page = %d, want the mini program code: %.500s", resp.StatusCode, body)
	}
	return body, m[1]
}

// qrPageStatus is the page's script asking GET /oauth2/qr/status.
func qrPageStatus(t *testing.T, s *servertest.Server, b *http.Client, ticket string) (int, string) {
	t.Helper()
	resp, body := get(t, b, s.URL+"/oauth2/qr/status?ticket="+ticket)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, body
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("status Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	var st struct{ Status string }
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, st.Status
}

// qrComplete is the page's form.
func qrComplete(t *testing.T, s *servertest.Server, b *http.Client, ticket string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/oauth2/qr/complete", strings.NewReader("ticket="+ticket))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// scanAndConfirm is the phone: the sandbox's scan opens the mini program,
// which logs in as user and scans; confirm decides the last step. It
// returns the mini program user's id.
func scanAndConfirm(t *testing.T, s *servertest.Server, ticket, user, last string) string {
	t.Helper()
	mp := phone(t, s, "mp", user, ticket)
	if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/scan", nil, mp); r.Status != http.StatusOK {
		t.Fatalf("scan = %d %s", r.Status, r.Body)
	}
	if last != "" {
		if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/"+last, nil, mp); r.Status != http.StatusOK {
			t.Fatalf("%s = %d %s", last, r.Status, r.Body)
		}
	}
	var me api.Me
	s.Do(t, "GET", "/v1/me", nil, mp).JSON(t, &me)
	return me.ID
}

// The whole sign-in with the mini program code, go-oidc as the relying
// party: the ID token's sub is the mini program user's; the poll token
// never reaches the page; the completion is single use; the browser has
// single sign-on afterwards.
func TestOIDCMiniProgramCode(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack, "profile")
	b := rpBrowser(t, s, desktopUA)
	v := oauth2.GenerateVerifier()
	body, ticket := qrPage(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	if signInLink.MatchString(body) {
		t.Error("a client whose login is only the mini program shows the website button")
	}
	u, _ := url.Parse(s.URL + "/oauth2/")
	var sealed string
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "wxauth_op_qr" {
			sealed = c.Value
		}
	}
	st, ok := s.Inst.OIDC.OpenQR(sealed)
	if !ok || st.Ticket != ticket || st.PollToken == "" {
		t.Fatalf("cookie wxauth_op_qr opens to %+v, %v; want the page's ticket", st, ok)
	}
	if strings.Contains(body, st.PollToken) || strings.Contains(body, sealed) {
		t.Error("the page holds the poll token")
	}
	if code, status := qrPageStatus(t, s, b, ticket); code != http.StatusOK || status != "waiting" {
		t.Fatalf("status = %d %s, want waiting", code, status)
	}
	// Pressed before the phone confirmed (no script): the page again.
	if resp, body := qrComplete(t, s, b, ticket); resp.StatusCode != http.StatusOK || !strings.Contains(body, ticket) || !strings.Contains(body, "Not confirmed yet") {
		t.Errorf("early completion = %d, want the same code with a note: %.300s", resp.StatusCode, body)
	}
	userID := scanAndConfirm(t, s, ticket, "alice", "")
	if _, status := qrPageStatus(t, s, b, ticket); status != "scanned" {
		t.Errorf("status after the scan = %s", status)
	}
	mp := phone(t, s, "mp", "alice", ticket)
	if res := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/confirm", nil, mp); res.Status != http.StatusOK {
		t.Fatalf("confirm = %d %s", res.Status, res.Body)
	}
	for range 2 { // following never delivers
		if _, status := qrPageStatus(t, s, b, ticket); status != "confirmed" {
			t.Fatalf("status after the confirm = %s", status)
		}
	}
	// Another browser, without the cookie, can neither follow nor complete.
	other := rpBrowser(t, s, desktopUA)
	if code, _ := qrPageStatus(t, s, other, ticket); code != http.StatusBadRequest {
		t.Errorf("status from another browser = %d, want 400", code)
	}
	if resp, _ := qrComplete(t, s, other, ticket); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("completion from another browser = %d %q, want a 400 page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ := qrComplete(t, s, b, ticket)
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), mpBack+"?") || back.Query().Get("state") != "st" || back.Query().Get("iss") != s.URL {
		t.Fatalf("completion = %d %q, want 302 to the client with a code", resp.StatusCode, back)
	}
	tok, err := r.conf.Exchange(r.ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := r.verifier.Verify(r.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if idt.Subject != userID {
		t.Errorf("sub = %q, want the mini program user %q", idt.Subject, userID)
	}
	// Single use: the cookie is spent.
	if resp, _ := qrComplete(t, s, b, ticket); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a second completion = %d, want 400", resp.StatusCode)
	}
	// Single sign-on: the next authorization answers a code at once.
	resp, _ = get(t, b, r.conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(v)))
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Errorf("authorize after the sign-in = %d %q, want a code (SSO)", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A code canceled on the phone returns to the client with access_denied.
func TestOIDCMiniProgramCodeCanceled(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	_, ticket := qrPage(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	scanAndConfirm(t, s, ticket, "alice", "cancel")
	if _, status := qrPageStatus(t, s, b, ticket); status != "canceled" {
		t.Errorf("status = %s, want canceled", status)
	}
	resp, _ := qrComplete(t, s, b, ticket)
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "st" || back.Query().Get("code") != "" {
		t.Errorf("completion after a cancel = %d %q, want 302 with error=access_denied", resp.StatusCode, back)
	}
}

// An expired code is replaced by a new one on the same kept request, and
// the new one signs in.
func TestOIDCMiniProgramCodeExpired(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	v := oauth2.GenerateVerifier()
	_, ticket := qrPage(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	s.Clock.Advance(5*time.Minute + time.Second)
	if code, _ := qrPageStatus(t, s, b, ticket); code != http.StatusBadRequest {
		t.Errorf("status of an expired code = %d, want 400", code)
	}
	resp, body := qrComplete(t, s, b, ticket)
	m := qrImageSrc.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || m[1] == ticket || !strings.Contains(body, "new one") {
		t.Fatalf("completion of an expired code = %d, want a page with a new code: %.400s", resp.StatusCode, body)
	}
	scanAndConfirm(t, s, m[1], "alice", "confirm")
	resp, _ = qrComplete(t, s, b, m[1])
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Query().Get("code") == "" {
		t.Fatalf("completion of the new code = %d %q", resp.StatusCode, back)
	}
	if _, err := r.conf.Exchange(r.ctx, back.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
		t.Errorf("exchange: %v", err)
	}
}

// Two completions of one confirmed code at once give one code.
func TestOIDCMiniProgramCodeRace(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	_, ticket := qrPage(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	scanAndConfirm(t, s, ticket, "alice", "confirm")
	const n = 4
	var wg sync.WaitGroup
	codes := make(chan string, n)
	for range n {
		wg.Go(func() {
			resp, _ := qrComplete(t, s, b, ticket)
			if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil && loc.Query().Get("code") != "" {
				codes <- loc.Query().Get("code")
			} else if resp.StatusCode >= 500 {
				t.Errorf("a concurrent completion = %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(codes)
	if got := len(codes); got != 1 {
		t.Errorf("%d concurrent completions gave %d codes, want 1", n, got)
	}
}

// A client with both apps shows the code and the website button, and the
// website way still signs in; a phone outside WeChat gets the message.
func TestOIDCMiniProgramCodeBeside(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "both", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	authURL := r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	body, _ := qrPage(t, b, authURL)
	m := signInLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no website button beside the code: %.400s", body)
	}
	resp, _ := get(t, b, s.URL+html.UnescapeString(m[1]))
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Errorf("the website way = %d %q, want a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	phoneUA := "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"
	if _, body := get(t, rpBrowser(t, s, phoneUA), authURL); qrImageSrc.MatchString(body) || !strings.Contains(body, "open this link in WeChat") {
		t.Errorf("phone outside WeChat: want the message, no code: %.300s", body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", authURL, nil)
	req.Header.Set("Accept-Language", "zh-CN")
	res, err := rpBrowser(t, s, desktopUA).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	// The page's one script is the one its CSP allows, byte for byte.
	if m := inlineScript.FindSubmatch(raw); m == nil {
		t.Error("the page has no script")
	} else if sum := sha256.Sum256(m[1]); !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("CSP %q does not allow the page's script", csp)
	}
	if !strings.Contains(string(raw), "小程序码") || !strings.Contains(csp, "script-src 'sha256-") || strings.Contains(csp, "unsafe-eval") ||
		strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("zh page with CSP %q: %.300s", csp, raw)
	}
}

// A page follows and completes only its own code: a second sign-in in the
// same browser replaces the cookie, and the first page cannot complete the
// second one's request; a forged cookie or a bad after is refused.
func TestOIDCMiniProgramCodeBound(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	_, first := qrPage(t, b, r.conf.AuthCodeURL("one", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	_, second := qrPage(t, b, r.conf.AuthCodeURL("two", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	scanAndConfirm(t, s, second, "alice", "confirm")
	if code, _ := qrPageStatus(t, s, b, first); code != http.StatusBadRequest {
		t.Errorf("the replaced page's status = %d, want 400", code)
	}
	if resp, _ := qrComplete(t, s, b, first); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("the replaced page's completion = %d %q, want a 400 page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ := qrComplete(t, s, b, second)
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "two" || loc.Query().Get("code") == "" {
		t.Errorf("the second page's completion = %d %q, want its own request's code", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := get(t, b, s.URL+"/oauth2/qr/status?ticket="+second+"&after=done"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_request") {
		t.Errorf("after=done: %d %s, want 400 invalid_request", resp.StatusCode, body)
	}
	forged := rpBrowser(t, s, desktopUA)
	u, _ := url.Parse(s.URL + "/oauth2/")
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "wxauth_op_qr", Value: "AAAA" + strings.Repeat("x", 200), Path: "/oauth2/"}})
	if code, _ := qrPageStatus(t, s, forged, second); code != http.StatusBadRequest {
		t.Errorf("a forged cookie's status = %d, want 400", code)
	}
	if resp, _ := qrComplete(t, s, forged, second); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged cookie's completion = %d, want 400", resp.StatusCode)
	}
}

// The status long poll waits for the phone and answers the scan as soon
// as it happens; without OIDC clients the endpoints are not there.
func TestOIDCMiniProgramCodeLongPoll(t *testing.T) {
	s := oidcQRServer(t)
	r := newRP(t, s, "mpc", rpSecret, mpBack)
	b := rpBrowser(t, s, desktopUA)
	_, ticket := qrPage(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	waiters := s.Clock.Waiters()
	got := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/oauth2/qr/status?ticket="+ticket+"&after=waiting", nil)
		resp, err := b.Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		var st struct{ Status string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		got <- resp.Status + " " + st.Status
	}()
	waitUntil(t, "the long poll waits", func() bool { return s.Clock.Waiters() > waiters })
	select {
	case g := <-got:
		t.Fatalf("the long poll answered %s before the scan", g)
	default:
	}
	scanAndConfirm(t, s, ticket, "alice", "")
	if g := <-got; g != "200 OK scanned" {
		t.Errorf("long poll = %s, want 200 scanned", g)
	}
	off := oidcOff(t)
	if res := off.Do(t, "GET", "/oauth2/qr/status?ticket="+ticket, nil, ""); res.Status != http.StatusNotFound {
		t.Errorf("status without oidc.clients = %d, want 404", res.Status)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
