package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// browser is a cookie-keeping client that does not follow redirects, so a
// test sees each hop of the flow.
type browser struct {
	t   *testing.T
	s   *servertest.Server
	c   *http.Client
	ua  string
	jar map[string]string
}

func newBrowser(t *testing.T, s *servertest.Server, ua string) *browser {
	c := *s.HTTP
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, s: s, c: &c, ua: ua, jar: map[string]string{}}
}

func (b *browser) do(method, rawURL, body string) servertest.Response {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(b.t.Context(), method, rawURL, rd)
	req.Header.Set("User-Agent", b.ua)
	for k, v := range b.jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	data, _ := io.ReadAll(resp.Body)
	return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// pkce is a code_verifier and its S256 challenge.
func pkce(verifier string) (string, string) {
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeAs runs the browser through authorize and the sandbox's consent
// (sandbox_user=) and returns the code and state WeChat sends back.
func (b *browser) authorizeAs(user string, params url.Values) (code, state string) {
	b.t.Helper()
	r := b.do("GET", b.s.URL+"/v1/oauth/wechat/authorize?"+params.Encode(), "")
	if r.Status != http.StatusFound {
		b.t.Fatalf("authorize = %d %s", r.Status, r.Body)
	}
	wx := r.Header.Get("Location")
	u, _ := url.Parse(wx)
	page, frag, _ := strings.Cut(wx, "#")
	if frag != "wechat_redirect" {
		b.t.Fatalf("WeChat URL %q lacks #wechat_redirect", wx)
	}
	r = b.do("GET", page+"&sandbox_user="+user, "")
	if r.Status != http.StatusFound {
		b.t.Fatalf("consent (%s) = %d %s", u.Path, r.Status, r.Body)
	}
	back, _ := url.Parse(r.Header.Get("Location"))
	return back.Query().Get("code"), back.Query().Get("state")
}

func (b *browser) login(code, state, verifier string) servertest.Response {
	b.t.Helper()
	body := `{"code":"` + code + `","state":"` + state + `","code_verifier":"` + verifier + `"}`
	return b.do("POST", b.s.URL+"/v1/oauth/wechat/login", body)
}

func oauthParams(s *servertest.Server, challenge string, extra ...string) url.Values {
	v := url.Values{"app": {"oa"}, "scope": {"snsapi_userinfo"}, "redirect_uri": {s.URL + "/demo/"}, "return_to": {"/demo/#orders"}}
	if challenge != "" {
		v.Set("code_challenge", challenge)
		v.Set("code_challenge_method", "S256")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"
const wechatUA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI"

func TestOAuthAuthorizeURL(t *testing.T) {
	s := servertest.New(t)
	b := newBrowser(t, s, wechatUA)
	_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
	r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
	loc := r.Header.Get("Location")
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(s.URL+"/sandbox/open/connect/oauth2/authorize?appid="+s.AppID(t, "oa")+
		"&redirect_uri="+url.QueryEscape(s.URL+"/demo/")+"&response_type=code&scope=snsapi_userinfo&state=") + `[A-Za-z0-9]{16,128}#wechat_redirect$`)
	if r.Status != 302 || !want.MatchString(loc) {
		t.Errorf("authorize = %d Location %q", r.Status, loc)
	}
	if len(b.jar) != 0 {
		t.Errorf("a PKCE authorize set cookies: %v", b.jar)
	}
	// Without app: the official account inside WeChat, the website QR login elsewhere.
	v := oauthParams(s, challenge)
	v.Del("app")
	v.Del("scope")
	loc = b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "").Header.Get("Location")
	if !strings.Contains(loc, "/connect/oauth2/authorize?appid="+s.AppID(t, "oa")) || !strings.Contains(loc, "scope=snsapi_base") {
		t.Errorf("inside WeChat: %q", loc)
	}
	desk := newBrowser(t, s, desktopUA)
	loc = desk.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "").Header.Get("Location")
	if !strings.Contains(loc, "/connect/qrconnect?appid="+s.AppID(t, "web")) || !strings.Contains(loc, "scope=snsapi_login") {
		t.Errorf("desktop: %q", loc)
	}
}

// Open-redirect tricks are refused for redirect_uri and return_to.
func TestOAuthOpenRedirects(t *testing.T) {
	s := servertest.New(t)
	b := newBrowser(t, s, wechatUA)
	for _, trick := range []string{"//evil.com", "https:evil.com", "/\\evil.com", "https://evil.com/",
		s.URL + "@evil.com/", "/%2F%2Fevil.com", "/%5Cevil.com", "javascript:alert(1)", "data:text/html,x", "\\\\evil.com"} {
		for _, param := range []string{"redirect_uri", "return_to"} {
			v := oauthParams(s, "")
			v.Set(param, trick)
			r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+v.Encode(), "")
			if r.Status != 400 || r.Error(t).Code != api.CodeForbiddenRedirect {
				t.Errorf("%s=%q: %d %s, want 400 forbidden_redirect", param, trick, r.Status, r.Body)
			}
		}
	}
}

func TestOAuthLoginPKCE(t *testing.T) {
	s := servertest.New(t)
	mini := s.Login(t, "mp", "alice") // alice used the mini program first
	b := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("alice-browser-verifier-0123456789-abcdefghij")
	code, state := b.authorizeAs("alice", oauthParams(s, challenge, "inviter", "nobody"))
	r := b.login(code, state, verifier)
	if r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	var tr api.OAuthLoginResponse
	r.JSON(t, &tr)
	if tr.ReturnTo != "/demo/#orders" || tr.User == nil || tr.User.ID != mini.User.ID || tr.IsNewUser || tr.User.Nickname != "Alice" {
		t.Fatalf("login answer = %+v (want alice's mini program user, linked by unionid)", tr)
	}
	if ids := me(t, s, tr.AccessToken).Identities; len(ids) != 2 {
		t.Errorf("identities after H5 login = %+v, want mp and oa", ids)
	}
	exchanges := s.Sandbox.Stats()["/sns/oauth2/access_token"]

	// The same browser posts the same code and state again (a refresh,
	// WeChat's duplicate redirect): logged in again, no second exchange.
	r = b.login(code, state, verifier)
	var again api.OAuthLoginResponse
	r.JSON(t, &again)
	if r.Status != 200 || again.User.ID != tr.User.ID || again.SessionID == tr.SessionID || again.ReturnTo != tr.ReturnTo {
		t.Errorf("repeat by the same browser = %d %s", r.Status, r.Body)
	}
	if got := s.Sandbox.Stats()["/sns/oauth2/access_token"]; got != exchanges {
		t.Errorf("the repeat exchanged the code again (%d → %d calls)", exchanges, got)
	}
	// Another browser with the same code and state: invalid_state.
	other := newBrowser(t, s, wechatUA)
	wantError(t, other.login(code, state, "someone-elses-verifier-0123456789-abcdefghij"), 400, api.CodeInvalidState)
	wantError(t, other.login(code, state, ""), 400, api.CodeInvalidState)
}

// A foreign browser cannot finish a victim's login, and does not burn the
// victim's state by trying.
func TestOAuthForeignBrowserFirst(t *testing.T) {
	s := servertest.New(t)
	victim := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("victim-verifier-0123456789-0123456789-abcdef")
	code, state := victim.authorizeAs("bob", oauthParams(s, challenge))
	attacker := newBrowser(t, s, wechatUA)
	wantError(t, attacker.login(code, state, "attacker-verifier-0123456789-0123456789-abc"), 400, api.CodeInvalidState)
	if r := victim.login(code, state, verifier); r.Status != 200 {
		t.Errorf("the victim's own login after the attempt = %d %s", r.Status, r.Body)
	}
	wantError(t, attacker.login(code, "Unknown0State0123456789", ""), 400, api.CodeInvalidState)
}

// Without a code_challenge, the state is bound by an HttpOnly cookie.
func TestOAuthCookieBinding(t *testing.T) {
	s := servertest.New(t)
	b := newBrowser(t, s, wechatUA)
	r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, "").Encode(), "")
	sc := r.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "wxauth_oauth=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Fatalf("Set-Cookie = %q", sc)
	}
	code, state := b.authorizeAs("bob", oauthParams(s, ""))
	stranger := newBrowser(t, s, wechatUA)
	wantError(t, stranger.login(code, state, ""), 400, api.CodeInvalidState)
	if r := b.login(code, state, ""); r.Status != 200 {
		t.Fatalf("login with the cookie = %d %s", r.Status, r.Body)
	}
}

func TestOAuthSnapshotAndDenied(t *testing.T) {
	s := servertest.New(t)
	b := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("snapshot-verifier-0123456789-0123456789-abcd")
	code, state := b.authorizeAs("snapshot", oauthParams(s, challenge))
	wantError(t, b.login(code, state, verifier), 403, api.CodeSnapshotUser)
	var snap string
	for _, u := range s.Sandbox.Users() {
		if u.Name == "snapshot" {
			snap = u.OpenIDs[s.AppID(t, "oa")]
		}
	}
	if _, err := s.Inst.Users.Identity(t.Context(), s.AppID(t, "oa"), snap); err == nil {
		t.Error("the snapshot user was registered")
	}
	// Denied: WeChat comes back with the state and no code.
	r := b.do("GET", s.URL+"/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
	u, _ := url.Parse(r.Header.Get("Location"))
	st := u.Query().Get("state")
	e := wantError(t, b.login("", st, verifier), 400, api.CodeInvalidRequest)
	if !strings.Contains(e.Description, "denied") {
		t.Errorf("denied: %q", e.Description)
	}
	wantError(t, b.login("", st, verifier), 400, api.CodeInvalidState)
}

func TestCORS(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.CORSOrigins = []string{"https://app.example.com"} }))
	pre := func(origin, path string) http.Header {
		req, _ := http.NewRequestWithContext(t.Context(), "OPTIONS", s.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Errorf("preflight %s = %d", path, resp.StatusCode)
		}
		return resp.Header
	}
	h := pre("https://app.example.com", "/v1/token/refresh")
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		h.Get("Access-Control-Allow-Credentials") != "" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("preflight from a listed origin: %v", h)
	}
	if h := pre("https://app.example.com", "/v1/oauth/wechat/login"); h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("the cookie-bound login lacks credentials: %v", h)
	}
	if h := pre("https://app.example.com", "/v1/oauth/wechat/check"); h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("the cookie-bound account check lacks credentials: %v", h)
	}
	if h := pre("https://evil.example.com", "/v1/token/refresh"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an unlisted origin got CORS headers: %v", h)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/healthz", nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Vary") == "" {
		t.Errorf("simple request headers: %v", resp.Header)
	}
}
