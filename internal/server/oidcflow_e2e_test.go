package server_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/sandbox"
)

// The discovery document holds what OpenID Connect Discovery §3 requires,
// with the configured issuer exactly and the JWKS's algorithm.
func TestOIDCDiscovery(t *testing.T) {
	s := oidcServer(t)
	res := s.Do(t, "GET", "/.well-known/openid-configuration", nil, "")
	var d map[string]any
	res.JSON(t, &d)
	if d["issuer"] != s.Config.Issuer {
		t.Errorf("issuer %v, want %q", d["issuer"], s.Config.Issuer)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
		"end_session_endpoint", "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
		"scopes_supported", "token_endpoint_auth_methods_supported", "code_challenge_methods_supported", "grant_types_supported", "claims_supported"} {
		if d[k] == nil {
			t.Errorf("discovery lacks %s", k)
		}
	}
	if d["jwks_uri"] != s.URL+"/.well-known/jwks.json" {
		t.Errorf("jwks_uri %v", d["jwks_uri"])
	}
	var jwks struct {
		Keys []struct {
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	s.Do(t, "GET", "/.well-known/jwks.json", nil, "").JSON(t, &jwks)
	algs, _ := d["id_token_signing_alg_values_supported"].([]any)
	if len(jwks.Keys) == 0 || len(algs) != 1 || algs[0] != jwks.Keys[0].Alg {
		t.Errorf("id_token_signing_alg_values_supported %v, JWKS alg %v", algs, jwks.Keys)
	}
	// Without clients the provider is off.
	if res := oidcOff(t).Do(t, "GET", "/.well-known/openid-configuration", nil, ""); res.Status != http.StatusNotFound {
		t.Errorf("discovery without oidc.clients = %d, want 404", res.Status)
	}
}

// Inside WeChat the authorization goes straight to the Official Account's
// login (no page between), and comes back with a code.
func TestOIDCInsideWeChat(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback, "profile")
	b := rpBrowser(t, s, wechatUA)
	b.CheckRedirect = func(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
		return func(req *http.Request, via []*http.Request) error {
			if len(via) == 1 && !strings.HasSuffix(req.URL.Path, "/connect/oauth2/authorize") {
				t.Errorf("inside WeChat the first redirect goes to %s, want the Official Account's authorize page", req.URL.Path)
			}
			return next(req, via)
		}
	}(b.CheckRedirect)
	tok, idt := r.login(t, s, b, "n")
	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Name string `json:"name"`
	}
	_ = info.Claims(&c)
	if c.Name == "" || info.Subject != idt.Subject {
		t.Errorf("userinfo %+v: want alice's name (snsapi_userinfo) and the ID token's sub", c)
	}
}

// On a phone outside WeChat the page says what to do instead of showing a
// QR code no one can scan; zh browsers read it in Chinese.
func TestOIDCSignInPage(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	u := r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	phone := rpBrowser(t, s, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1")
	resp, body := get(t, phone, u)
	if resp.StatusCode != http.StatusOK || signInLink.MatchString(body) || !strings.Contains(body, "open this link in WeChat") {
		t.Errorf("phone browser: %d, want the open-in-WeChat message: %.300s", resp.StatusCode, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	req.Header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	res, err := rpBrowser(t, s, desktopUA).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(sb.String(), "登录 Relying Party") || !strings.Contains(sb.String(), "微信登录") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("zh page: %.400s", sb.String())
	}
}

// A pairwise client sees a subject of its own, stable across logins and
// equal at userinfo; phone claims come only with the phone scope.
func TestOIDCPairwiseAndPhone(t *testing.T) {
	s := oidcServer(t)
	b := rpBrowser(t, s, desktopUA)
	rpc := newRP(t, s, "rp", rpSecret, rpCallback, "phone")
	tok, public := rpc.login(t, s, b, "n1")
	if _, err := s.Inst.Users.UpdateUser(t.Context(), public.Subject, func(u *storage.User) error {
		u.Phone = "+8613800000000"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	info, err := rpc.provider.UserInfo(rpc.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var phone struct {
		Number   string `json:"phone_number"`
		Verified bool   `json:"phone_number_verified"`
	}
	_ = info.Claims(&phone)
	if phone.Number != "+8613800000000" || !phone.Verified {
		t.Errorf("phone scope: %+v", phone)
	}
	pw := newRP(t, s, "pw", rpSecret+"-pw", pwBack, "profile")
	tok2, pair1 := pw.login(t, s, b, "n2")
	_, pair2 := pw.login(t, s, b, "n3")
	if pair1.Subject == public.Subject || pair1.Subject != pair2.Subject {
		t.Errorf("pairwise sub %q, %q; public %q", pair1.Subject, pair2.Subject, public.Subject)
	}
	info2, err := pw.provider.UserInfo(pw.ctx, oauth2.StaticTokenSource(tok2))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(info2)
	var all map[string]any
	_ = info2.Claims(&all)
	if info2.Subject != pair1.Subject || all["phone_number"] != nil {
		t.Errorf("pw userinfo %s: want the pairwise sub and no phone (no phone scope)", raw)
	}
}

// oidcOff is a stack without OIDC clients.
func oidcOff(t *testing.T) *servertest.Server { return servertest.New(t) }

// Under registration bind_phone a person WeChat shows for the first time
// proves a phone by SMS on the OP's page, then the client gets its code;
// a wrong code shows the form again.
func TestOIDCBindPhone(t *testing.T) {
	s := oidcServer(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
	r := newRP(t, s, "rp", rpSecret, rpCallback, "phone")
	b := rpBrowser(t, s, desktopUA)
	v := oauth2.GenerateVerifier()
	_, body := get(t, b, r.conf.AuthCodeURL("st", gooidc.Nonce("nb"), oauth2.S256ChallengeOption(v)))
	m := signInLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no sign-in page")
	}
	resp, body := get(t, b, s.URL+html.UnescapeString(m[1]))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="send-code"`) || strings.Contains(body, "bind_ticket") {
		t.Fatalf("a new person under bind_phone: %d, want the phone form: %.300s", resp.StatusCode, body)
	}
	post := func(form url.Values) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/oauth2/bind", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	const phone = "+8613800000077"
	if resp, body := post(url.Values{"action": {"send"}, "phone": {"12345"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="send-code"`) {
		t.Errorf("a malformed phone: %d, want the phone form again", resp.StatusCode)
	}
	if resp, body := post(url.Values{"action": {"send"}, "phone": {phone}}); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="sms-code"`) {
		t.Fatalf("send: %d, want the code form: %.300s", resp.StatusCode, body)
	}
	sms := s.Sandbox.SMS(phone)
	if len(sms) != 1 {
		t.Fatalf("%d SMS to %s, want 1", len(sms), phone)
	}
	if resp, body := post(url.Values{"action": {"bind"}, "phone": {phone}, "sms_code": {"000000"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="sms-code"`) {
		t.Errorf("a wrong code: %d, want the code form again", resp.StatusCode)
	}
	resp, _ = post(url.Values{"action": {"bind"}, "phone": {phone}, "sms_code": {sms[0].Code}})
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), rpCallback+"?") || back.Query().Get("code") == "" {
		t.Fatalf("bind = %d %q, want 302 to the client with a code", resp.StatusCode, back)
	}
	tok, err := r.conf.Exchange(r.ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	var claims struct {
		Phone string `json:"phone_number"`
	}
	if err == nil {
		err = info.Claims(&claims)
	}
	if err != nil || claims.Phone != phone {
		t.Errorf("userinfo after the bind: %v, phone %q", err, claims.Phone)
	}
	// The bind cookie is spent: posting again is the expired-sign-in page.
	if resp, _ := post(url.Values{"action": {"send"}, "phone": {phone}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bind post after the login = %d, want 400", resp.StatusCode)
	}
}

// WeChat failing during the code exchange shows the person a page saying
// so (502), and the relying party gets nothing.
func TestOIDCWeChatOutage(t *testing.T) {
	s := oidcServer(t)
	s.Sandbox.InjectFault(sandbox.Fault{Path: "/sns/oauth2/access_token", Errcode: -1})
	r := newRP(t, s, "rp", rpSecret, rpCallback)
	b := rpBrowser(t, s, desktopUA)
	_, body := get(t, b, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	m := signInLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no sign-in page")
	}
	resp, body := get(t, b, s.URL+html.UnescapeString(m[1]))
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Location") != "" || !strings.Contains(body, "WeChat failed") {
		t.Errorf("WeChat outage: %d %q, want a 502 page: %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// The userinfo endpoint takes the token in the Authorization header or, by
// POST, in a form body (RFC 6750 §2.1, §2.2), not both at once.
func TestOIDCUserInfoForm(t *testing.T) {
	s := oidcServer(t)
	r := newRP(t, s, "rp", rpSecret, rpCallback, "profile")
	tok, idt := r.login(t, s, rpBrowser(t, s, desktopUA), "n")
	res := postForm(t, s, "/oauth2/userinfo", "", "", url.Values{"access_token": {tok.AccessToken}})
	var info struct {
		Sub string `json:"sub"`
	}
	res.JSON(t, &info)
	if res.Status != http.StatusOK || info.Sub != idt.Subject {
		t.Errorf("userinfo by form = %d %s", res.Status, res.Body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/oauth2/userinfo", strings.NewReader("access_token="+tok.AccessToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the token both ways = %d, want 400 invalid_request", resp.StatusCode)
	}
	if res := postForm(t, s, "/oauth2/userinfo", "", "", url.Values{"access_token": {"garbage"}}); res.Status != http.StatusUnauthorized {
		t.Errorf("a garbage token = %d, want 401", res.Status)
	}
}

// Clients introspect their own tokens (RFC 7662): live ones are active
// with the client's view of the subject; another client's, a rotated
// refresh token and a revoked session's are inactive.
func TestOIDCIntrospect(t *testing.T) {
	s := oidcServer(t)
	var d struct {
		Endpoint string `json:"introspection_endpoint"`
	}
	s.Do(t, "GET", "/.well-known/openid-configuration", nil, "").JSON(t, &d)
	if d.Endpoint != s.URL+"/oauth2/introspect" {
		t.Fatalf("introspection_endpoint %q", d.Endpoint)
	}
	pw := newRP(t, s, "pw", rpSecret+"-pw", pwBack, "profile")
	tok, idt := pw.login(t, s, rpBrowser(t, s, desktopUA), "n")
	type answer struct {
		Active    bool   `json:"active"`
		Sub       string `json:"sub"`
		ClientID  string `json:"client_id"`
		Scope     string `json:"scope"`
		TokenType string `json:"token_type"`
	}
	introspect := func(id, secret, tok string) answer {
		t.Helper()
		res := postForm(t, s, "/oauth2/introspect", id, secret, url.Values{"token": {tok}})
		if res.Status != http.StatusOK {
			t.Fatalf("introspect = %d %s", res.Status, res.Body)
		}
		var a answer
		res.JSON(t, &a)
		return a
	}
	if a := introspect("pw", rpSecret+"-pw", tok.AccessToken); !a.Active || a.Sub != idt.Subject || a.ClientID != "pw" ||
		a.Scope != "openid profile" || a.TokenType != "Bearer" {
		t.Errorf("own access token: %+v, want active with the pairwise sub %q", a, idt.Subject)
	}
	if a := introspect("pw", rpSecret+"-pw", tok.RefreshToken); !a.Active || a.TokenType != "refresh_token" {
		t.Errorf("own refresh token: %+v", a)
	}
	if a := introspect("rp", rpSecret, tok.AccessToken); a.Active || a.Sub != "" {
		t.Errorf("another client's token: %+v, want inactive and nothing else", a)
	}
	next, err := pw.conf.TokenSource(pw.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if a := introspect("pw", rpSecret+"-pw", tok.RefreshToken); a.Active {
		t.Errorf("a rotated refresh token: %+v, want inactive", a)
	}
	if code := revoke(t, s, "pw", rpSecret+"-pw", next.AccessToken); code != http.StatusOK {
		t.Fatal(code)
	}
	if a := introspect("pw", rpSecret+"-pw", next.AccessToken); a.Active {
		t.Errorf("a revoked session's access token: %+v, want inactive", a)
	}
	if res := postForm(t, s, "/oauth2/introspect", "pw", "wrong-secret-0123456789", url.Values{"token": {tok.AccessToken}}); res.Status != http.StatusUnauthorized {
		t.Errorf("wrong secret = %d, want 401", res.Status)
	}
}
