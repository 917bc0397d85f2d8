package prodtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/api"
)

// The sign-in page's mini program code on two `wxauth serve` processes
// (docs/oidc.md "The mini program code"): the page comes from A, its
// status long poll waits on B and is woken through Redis when the phone
// scans on A, and of two completions at once, one on each instance,
// exactly one gets a code, whose ID token names the mini program user.
func TestOIDCMiniProgramCodeAcrossInstances(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	const rpCallback = "https://rp.prodtest.example/cb"
	const rpSecret = "prodtest-rp-secret-0123456789"
	d := newDeployment(t, pgSchema(t), redisURL,
		"oidc: {clients: [{client_id: rp, redirect_uris: ["+rpCallback+"], login: [mp]}]}")
	d.env = append(d.env, "WXAUTH_OIDC_CLIENT_RP_SECRET="+rpSecret)
	a, b := d.start(t), d.start(t)
	issuer, _ := url.Parse("https://auth.prodtest.example")
	rpHTTP := &http.Client{Transport: issuerTransport{host: issuer.Host, next: d.httpc.Transport, pick: func() string { return b.URL }}}
	ctx := gooidc.ClientContext(t.Context(), rpHTTP)
	provider, err := gooidc.NewProvider(ctx, issuer.String())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: "rp", ClientSecret: rpSecret, Endpoint: provider.Endpoint(), RedirectURL: rpCallback,
		Scopes: []string{gooidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))

	// The browser's cookies (Secure under the https issuer: this browser
	// is the load balancer's client).
	var mu sync.Mutex
	cookies := map[string]string{}
	send := func(method, target, form string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(form))
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		mu.Lock()
		for k, v := range cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		mu.Unlock()
		c := *d.httpc
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return &http.Response{}, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		mu.Lock()
		for _, ck := range resp.Cookies() {
			cookies[ck.Name] = ck.Value
		}
		mu.Unlock()
		return resp, string(body)
	}

	resp, page := send("GET", a.URL+authURL.RequestURI(), "")
	m := regexp.MustCompile(`id="qr-image" src="/v1/qrlogin/([A-Za-z0-9]{32})/image"`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("authorize on A = %d, want the page with the mini program code: %.300s", resp.StatusCode, page)
	}
	ticket := m[1]
	if r := d.do(t.Context(), "GET", b.URL+"/v1/qrlogin/"+ticket+"/image", "", ""); r.Status != http.StatusOK {
		t.Fatalf("the code's picture on B = %d %s", r.Status, r.Body)
	}
	status := make(chan string, 1)
	go func() {
		_, body := send("GET", b.URL+"/oauth2/qr/status?ticket="+ticket+"&after=waiting", "")
		var st struct{ Status string }
		_ = json.Unmarshal([]byte(body), &st)
		status <- st.Status
	}()

	// The phone, on A: the code opens the mini program, which logs in and
	// scans.
	_, code, err := d.sb.ScanMiniProgramCode(d.mpAppID, "alice", ticket)
	if err != nil {
		t.Fatal(err)
	}
	r := d.do(t.Context(), "POST", a.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	var mp api.TokenResponse
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &mp) != nil {
		t.Fatalf("mini program login = %d %s", r.Status, r.Body)
	}
	if r := d.do(t.Context(), "POST", a.URL+"/v1/qrlogin/"+ticket+"/scan", "", mp.AccessToken); r.Status != http.StatusOK {
		t.Fatalf("scan on A = %d %s", r.Status, r.Body)
	}
	select {
	case st := <-status:
		if st != "scanned" {
			t.Errorf("the long poll on B answered %q, want scanned", st)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll on B did not hear the scan on A")
	}
	if r := d.do(t.Context(), "POST", a.URL+"/v1/qrlogin/"+ticket+"/confirm", "", mp.AccessToken); r.Status != http.StatusOK {
		t.Fatalf("confirm on A = %d %s", r.Status, r.Body)
	}

	var wg sync.WaitGroup
	codes := make(chan string, 2)
	for _, in := range []*instance{a, b} {
		wg.Go(func() {
			resp, _ := send("POST", in.URL+"/oauth2/qr/complete", "ticket="+ticket)
			if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.Query().Get("code") != "" {
				codes <- loc.Query().Get("code")
			} else if resp.StatusCode >= 500 {
				t.Errorf("a completion = %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(codes)
	if len(codes) != 1 {
		t.Fatalf("two completions across A and B gave %d codes, want 1", len(codes))
	}
	tok, err := conf.Exchange(ctx, <-codes, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != mp.User.ID {
		t.Fatalf("ID token: %v, want sub %q", err, mp.User.ID)
	}
}
