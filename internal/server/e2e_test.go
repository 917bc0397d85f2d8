package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
)

// wantError checks an answer against the contract: status, error code, and
// for 401s the WWW-Authenticate challenge.
func wantError(t *testing.T, r servertest.Response, status int, code string) api.Error {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d (%s)", r.Status, status, r.Body)
	}
	e := r.Error(t)
	if e.Code != code || e.Description == "" {
		t.Fatalf("error = %q (%q), want %q with a description", e.Code, e.Description, code)
	}
	if status == http.StatusUnauthorized {
		if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer error="invalid_token", error_description="`) {
			t.Errorf("WWW-Authenticate = %q", h)
		}
	}
	return e
}

func TestMiniProgramLogin(t *testing.T) {
	s := servertest.New(t)
	first := s.Login(t, "mp", "alice")
	if !first.IsNewUser || first.TokenType != "Bearer" || first.ExpiresIn != 7200 ||
		first.RefreshExpiresIn != 7*24*3600 || first.SessionID == "" || first.User == nil || first.User.ID == "" {
		t.Fatalf("first login = %+v", first)
	}
	again := s.Login(t, "mp", "alice")
	if again.IsNewUser || again.User.ID != first.User.ID || again.SessionID == first.SessionID {
		t.Errorf("second login: new=%v user %q (want %q), session %q (want a new one)", again.IsNewUser, again.User.ID, first.User.ID, again.SessionID)
	}
	bob := s.Login(t, "mp", "bob")
	if bob.User.ID == first.User.ID {
		t.Error("bob logged in as alice")
	}

	r := s.Do(t, "GET", "/v1/me", nil, first.AccessToken)
	if r.Status != 200 {
		t.Fatalf("GET /v1/me = %d %s", r.Status, r.Body)
	}
	var me api.Me
	r.JSON(t, &me)
	var alice sandbox.User
	for _, u := range s.Sandbox.Users() {
		if u.Name == "alice" {
			alice = u
		}
	}
	want := []api.Identity{{App: "mp", OpenID: alice.OpenIDs[s.AppID(t, "mp")], UnionID: alice.UnionID}}
	if me.ID != first.User.ID || len(me.Identities) != 1 || me.Identities[0] != want[0] || me.CreatedAt.IsZero() {
		t.Errorf("GET /v1/me = %+v, want identities %+v", me, want)
	}
	// app may be omitted while exactly one mini program is configured.
	r = s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"code": s.Code(t, "mp", "alice")}, "")
	if r.Status != 200 {
		t.Errorf("login without app = %d %s", r.Status, r.Body)
	}
}

func TestLoginErrors(t *testing.T) {
	s := servertest.New(t)
	used := s.Code(t, "mp", "alice")
	if r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": used}, ""); r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	oaCode, err := s.Sandbox.IssueCode(s.AppID(t, "mp"), "bob")
	if err != nil {
		t.Fatal(err)
	}
	errcode := func(n int) *int { return &n }
	for _, tc := range []struct {
		name    string
		body    any
		status  int
		code    string
		errcode *int
	}{
		{"malformed JSON", `{"app": "mp", "code":`, 400, api.CodeInvalidRequest, nil},
		{"not an object", `[1,2]`, 400, api.CodeInvalidRequest, nil},
		{"code of the wrong type", `{"app":"mp","code":42}`, 400, api.CodeInvalidRequest, nil},
		{"trailing data", `{"app":"mp","code":"x"} {}`, 400, api.CodeInvalidRequest, nil},
		{"missing code", `{"app":"mp"}`, 400, api.CodeInvalidRequest, nil},
		{"empty body", ``, 400, api.CodeInvalidRequest, nil},
		{"unknown app", map[string]string{"app": "nope", "code": "x"}, 400, api.CodeUnknownApp, nil},
		{"app of another kind", map[string]string{"app": "oa", "code": oaCode}, 400, api.CodeUnknownApp, nil},
		{"wrong code", map[string]string{"app": "mp", "code": "0712cDoV0cfty22AeloV0daMoV02cDog"}, 400, api.CodeInvalidCode, errcode(40029)},
		{"reused code", map[string]string{"app": "mp", "code": used}, 400, api.CodeInvalidCode, errcode(40163)},
		{"too large", `{"app":"mp","code":"` + strings.Repeat("a", 70<<10) + `"}`, 413, api.CodeInvalidRequest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/v1/miniprogram/login", tc.body, "")
			e := wantError(t, r, tc.status, tc.code)
			if (e.WeChatErrcode == nil) != (tc.errcode == nil) || (tc.errcode != nil && *e.WeChatErrcode != *tc.errcode) {
				t.Errorf("wechat_errcode = %v, want %v", e.WeChatErrcode, tc.errcode)
			}
		})
	}
	// Unknown fields are ignored.
	r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]any{"app": "mp", "code": s.Code(t, "mp", "bob"), "extra": []int{1}}, "")
	if r.Status != 200 {
		t.Errorf("login with an unknown field = %d %s", r.Status, r.Body)
	}
}

// WeChat failures answer 502 wechat_unavailable, and a code exchange is never
// retried: the sandbox sees exactly one call per login attempt.
func TestWeChatFailures(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.WeChat.Timeout = config.Duration(300 * time.Millisecond) }))
	for _, tc := range []struct {
		name  string
		fault sandbox.Fault
	}{
		{"system busy (-1)", sandbox.Fault{Errcode: -1}},
		{"HTTP 500", sandbox.Fault{Status: 500}},
		{"timeout", sandbox.Fault{DelayMS: 2000}},
		{"minute quota (45011)", sandbox.Fault{Errcode: 45011}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Sandbox.Stats()["/sns/jscode2session"]
			f := tc.fault
			f.Path, f.Count = "/sns/jscode2session", 1
			s.Sandbox.InjectFault(f)
			code := s.Code(t, "mp", "alice")
			r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": code}, "")
			wantError(t, r, 502, api.CodeWeChatUnavailable)
			if got := s.Sandbox.Stats()["/sns/jscode2session"] - before; got != 1 {
				t.Errorf("jscode2session called %d times, want exactly 1 (never retried)", got)
			}
			// The fault did not spend the code; the client may retry with it
			// or with a new one.
			if r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": code}, ""); r.Status != 200 {
				t.Errorf("login after the fault = %d %s", r.Status, r.Body)
			}
		})
	}
	t.Run("wrong app secret", func(t *testing.T) {
		s := servertest.New(t, servertest.SandboxSecret("mp", "the-secret-wechat-really-has-0001"))
		r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "alice")}, "")
		if e := wantError(t, r, 502, api.CodeWeChatUnavailable); e.WeChatErrcode == nil || *e.WeChatErrcode != 40125 {
			t.Errorf("wechat_errcode = %v, want 40125", e.WeChatErrcode)
		}
		if !strings.Contains(s.Logs.String(), `"level":"ERROR"`) {
			t.Error("a rejected app secret was not logged as an error for the operator")
		}
	})
}

func TestUnionIDLinking(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Apps = append(config.DevApps(),
			config.App{Name: "mp2", Kind: config.KindMiniProgram, AppID: "wxd0000000000000d4", Secret: "sandbox-secret-mp2-00000000000004"},
			config.App{Name: "mp3", Kind: config.KindMiniProgram, AppID: "wxd0000000000000e5", Secret: "sandbox-secret-mp3-00000000000005"},
		)
	}), servertest.Unbound("mp3"))
	a1 := s.Login(t, "mp", "alice")
	a2 := s.Login(t, "mp2", "alice")
	if a2.IsNewUser || a2.User.ID != a1.User.ID {
		t.Errorf("alice through mp2: new=%v user %q, want the user %q of mp (same unionid)", a2.IsNewUser, a2.User.ID, a1.User.ID)
	}
	a3 := s.Login(t, "mp3", "alice")
	if !a3.IsNewUser || a3.User.ID == a1.User.ID {
		t.Errorf("alice through an app without unionid joined user %q; want a new user", a3.User.ID)
	}
	var me api.Me
	s.Do(t, "GET", "/v1/me", nil, a2.AccessToken).JSON(t, &me)
	if len(me.Identities) != 2 || me.Identities[0].App != "mp" || me.Identities[1].App != "mp2" ||
		me.Identities[0].UnionID == "" || me.Identities[0].UnionID != me.Identities[1].UnionID {
		t.Errorf("identities = %+v", me.Identities)
	}
	// With several mini programs, app must be named.
	r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"code": s.Code(t, "mp", "alice")}, "")
	wantError(t, r, 400, api.CodeUnknownApp)
}

func TestInviter(t *testing.T) {
	s := servertest.New(t)
	alice := s.Login(t, "mp", "alice")
	r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "bob"), "inviter": alice.User.ID}, "")
	var bob api.TokenResponse
	r.JSON(t, &bob)
	u, err := s.Inst.Users.User(t.Context(), bob.User.ID)
	if err != nil || u.InviterID != alice.User.ID {
		t.Errorf("bob's inviter = %q, %v; want %q", u.InviterID, err, alice.User.ID)
	}
	// Recorded only on users this login creates; an unknown inviter is ignored.
	r = s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "alice"), "inviter": bob.User.ID}, "")
	if r.Status != 200 {
		t.Fatalf("returning login with inviter = %d", r.Status)
	}
	if u, _ := s.Inst.Users.User(t.Context(), alice.User.ID); u.InviterID != "" {
		t.Errorf("alice (returning) got inviter %q", u.InviterID)
	}
	if _, err := s.Sandbox.AddUser("carol"); err != nil {
		t.Fatal(err)
	}
	r = s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "carol"), "inviter": "u-nobody"}, "")
	var carol api.TokenResponse
	r.JSON(t, &carol)
	if u, _ := s.Inst.Users.User(t.Context(), carol.User.ID); r.Status != 200 || u.InviterID != "" {
		t.Errorf("unknown inviter: status %d, recorded %q", r.Status, u.InviterID)
	}
}

func refresh(t *testing.T, s *servertest.Server, rt string) servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/v1/token/refresh", map[string]string{"refresh_token": rt}, "")
}

func TestRefreshRotationGraceReuse(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	s.Clock.Advance(time.Minute)
	r := refresh(t, s, l.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	var r1 api.TokenResponse
	r.JSON(t, &r1)
	if r1.RefreshToken == l.RefreshToken || r1.SessionID != l.SessionID || r1.IsNewUser || r1.ExpiresIn != 7200 {
		t.Fatalf("refresh answer = %+v", r1)
	}
	// Grace replay: the same successor, a fresh access token.
	s.Clock.Advance(5 * time.Second)
	var g api.TokenResponse
	refresh(t, s, l.RefreshToken).JSON(t, &g)
	if g.RefreshToken != r1.RefreshToken || g.AccessToken == "" || g.AccessToken == r1.AccessToken {
		t.Errorf("grace replay answered %+v, want the same successor and a new access token", g)
	}
	if r := s.Do(t, "GET", "/v1/me", nil, r1.AccessToken); r.Status != 200 {
		t.Errorf("after grace replay, /v1/me = %d", r.Status)
	}
	// After the window the replay is reuse: the whole session ends.
	s.Clock.Advance(30 * time.Second)
	wantError(t, refresh(t, s, l.RefreshToken), 401, api.CodeRefreshTokenReused)
	wantError(t, s.Do(t, "GET", "/v1/me", nil, r1.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, refresh(t, s, r1.RefreshToken), 401, api.CodeInvalidGrant)
	wantError(t, refresh(t, s, l.RefreshToken), 401, api.CodeInvalidGrant)

	for name, body := range map[string]any{
		"garbage":     map[string]string{"refresh_token": "garbage"},
		"missing":     map[string]string{},
		"wrong type":  `{"refresh_token": true}`,
		"bad json":    `{`,
		"access-ish":  map[string]string{"refresh_token": r1.AccessToken},
		"other field": map[string]string{"token": r1.RefreshToken},
	} {
		r := s.Do(t, "POST", "/v1/token/refresh", body, "")
		if r.Status == 200 || r.Status >= 500 {
			t.Errorf("refresh(%s) = %d", name, r.Status)
		}
	}
	wantError(t, s.Do(t, "POST", "/v1/token/refresh", map[string]string{"refresh_token": "garbage"}, ""), 401, api.CodeInvalidGrant)
	wantError(t, s.Do(t, "POST", "/v1/token/refresh", `{}`, ""), 400, api.CodeInvalidRequest)
}

func TestAncestorReuse(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	var r1, r2 api.TokenResponse
	refresh(t, s, l.RefreshToken).JSON(t, &r1)
	refresh(t, s, r1.RefreshToken).JSON(t, &r2)
	// l is two generations back: reuse even inside the grace window.
	wantError(t, refresh(t, s, l.RefreshToken), 401, api.CodeRefreshTokenReused)
	wantError(t, refresh(t, s, r2.RefreshToken), 401, api.CodeInvalidGrant)
}

func TestAccessTokenChecks(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	parts := strings.Split(l.AccessToken, ".")
	other := servertest.New(t) // another signing key
	ol := other.Login(t, "mp", "alice")
	for name, tok := range map[string]string{
		"garbage":           "nope",
		"tampered payload":  parts[0] + "." + parts[1][:len(parts[1])-2] + "AA" + "." + parts[2],
		"no signature":      parts[0] + "." + parts[1] + ".",
		"other server's":    ol.AccessToken,
		"refresh as access": l.RefreshToken,
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/v1/me", nil, tok), 401, api.CodeInvalidToken)
		})
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, ""), 401, api.CodeInvalidToken)
	s.Clock.Advance(2*time.Hour + time.Second)
	wantError(t, s.Do(t, "GET", "/v1/me", nil, l.AccessToken), 401, api.CodeTokenExpired)
	// An expired access token is no obstacle to refreshing.
	if r := refresh(t, s, l.RefreshToken); r.Status != 200 {
		t.Errorf("refresh after access expiry = %d %s", r.Status, r.Body)
	}
}

func TestLogout(t *testing.T) {
	s := servertest.New(t)
	a := s.Login(t, "mp", "alice")
	b := s.Login(t, "mp", "alice")
	c := s.Login(t, "mp", "alice")
	bob := s.Login(t, "mp", "bob")
	if r := s.Do(t, "POST", "/v1/logout", `{}`, a.AccessToken); r.Status != 204 {
		t.Fatalf("logout = %d %s", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, refresh(t, s, a.RefreshToken), 401, api.CodeInvalidGrant)
	wantError(t, s.Do(t, "POST", "/v1/logout", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	if r := s.Do(t, "GET", "/v1/me", nil, b.AccessToken); r.Status != 200 {
		t.Errorf("another session of the user was logged out: %d", r.Status)
	}
	if r := s.Do(t, "POST", "/v1/logout", map[string]bool{"all": true}, b.AccessToken); r.Status != 204 {
		t.Fatalf("logout all = %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{b.AccessToken, c.AccessToken} {
		wantError(t, s.Do(t, "GET", "/v1/me", nil, tok), 401, api.CodeSessionRevoked)
	}
	wantError(t, refresh(t, s, c.RefreshToken), 401, api.CodeInvalidGrant)
	if r := s.Do(t, "GET", "/v1/me", nil, bob.AccessToken); r.Status != 200 {
		t.Errorf("logout all ended another user's session: %d", r.Status)
	}
	wantError(t, s.Do(t, "POST", "/v1/logout", `{"all": "yes"}`, bob.AccessToken), 400, api.CodeInvalidRequest)
}

func TestSessions(t *testing.T) {
	s := servertest.New(t)
	a := s.Login(t, "mp", "alice")
	s.Clock.Advance(time.Second)
	b := s.Login(t, "mp", "alice")
	bob := s.Login(t, "mp", "bob")
	var list api.SessionList
	s.Do(t, "GET", "/v1/sessions", nil, b.AccessToken).JSON(t, &list)
	if len(list.Sessions) != 2 || list.Sessions[0].ID != b.SessionID || !list.Sessions[0].Current ||
		list.Sessions[1].ID != a.SessionID || list.Sessions[1].Current || list.Sessions[0].App != "mp" {
		t.Fatalf("sessions = %+v", list.Sessions)
	}
	// Another user's session: 404, untouched.
	wantError(t, s.Do(t, "DELETE", "/v1/sessions/"+bob.SessionID, nil, a.AccessToken), 404, api.CodeNotFound)
	if r := s.Do(t, "GET", "/v1/me", nil, bob.AccessToken); r.Status != 200 {
		t.Errorf("bob's session was touched: %d", r.Status)
	}
	wantError(t, s.Do(t, "DELETE", "/v1/sessions/nope", nil, a.AccessToken), 404, api.CodeNotFound)
	if r := s.Do(t, "DELETE", "/v1/sessions/"+a.SessionID, nil, b.AccessToken); r.Status != 204 {
		t.Fatalf("DELETE own session = %d %s", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, s.Do(t, "DELETE", "/v1/sessions/"+a.SessionID, nil, b.AccessToken), 404, api.CodeNotFound)
	wantError(t, s.Do(t, "GET", "/v1/sessions", nil, ""), 401, api.CodeInvalidToken)
}

// Many clients refresh the same token at once: every answer is the one
// successor (or a contract error, never a 5xx), and the session ends up with
// exactly one live chain.
func TestConcurrentRefreshOverHTTP(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	answers := make([]servertest.Response, n)
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = refresh(t, s, l.RefreshToken)
		})
	}
	close(start)
	wg.Wait()
	successor := ""
	for i, r := range answers {
		if r.Status != 200 {
			t.Fatalf("refresh %d = %d %s", i, r.Status, r.Body)
		}
		var tr api.TokenResponse
		r.JSON(t, &tr)
		if successor == "" {
			successor = tr.RefreshToken
		}
		if tr.RefreshToken != successor {
			t.Fatalf("refresh %d answered a different successor: the session forked", i)
		}
	}
	sess, err := s.Inst.Sessions.Session(t.Context(), l.SessionID, s.Clock.Now())
	if err != nil || sess.Gen != 1 {
		t.Fatalf("session after the storm: gen %d, %v; want gen 1", sess.Gen, err)
	}
	if r := refresh(t, s, successor); r.Status != 200 {
		t.Errorf("the successor does not refresh: %d %s", r.Status, r.Body)
	}
}

// A third-party JOSE library verifies the access token with nothing but the
// JWKS served over HTTP.
func TestJWKSVerifiesWithThirdPartyLibrary(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	r := s.Do(t, "GET", "/.well-known/jwks.json", nil, "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("JWKS = %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	r.JSON(t, &set)
	tok, err := josejwt.ParseSigned(l.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("no JWKS key for kid %q", tok.Headers[0].KeyID)
	}
	var std josejwt.Claims
	var extra struct {
		SID string `json:"sid"`
		App string `json:"app"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatal(err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: s.URL, AnyAudience: josejwt.Audience{s.URL}, Time: servertest.Start}, 0); err != nil {
		t.Error(err)
	}
	if std.Subject != l.User.ID || extra.SID != l.SessionID || extra.App != "mp" {
		t.Errorf("claims = %+v %+v", std, extra)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Error("JWKS contains a private key")
		}
	}
}

func TestOperations(t *testing.T) {
	s := servertest.New(t)
	s.Login(t, "mp", "alice")
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := s.Do(t, "GET", path, nil, ""); r.Status != 200 {
			t.Errorf("%s = %d %s", path, r.Status, r.Body)
		}
	}
	wantError(t, s.Do(t, "GET", "/v1/nope", nil, ""), 404, api.CodeNotFound)
	r := s.Do(t, "GET", "/metrics", nil, "")
	for _, want := range []string{
		`wxauth_http_requests_total{route="POST /v1/miniprogram/login",status="200"} 1`,
		`wxauth_logins_total{app="mp",result="new_user"} 1`,
		`wxauth_wechat_calls_total{endpoint="/sns/jscode2session",errcode="0"} 1`,
		`wxauth_http_request_duration_seconds_bucket`,
		`wxauth_wechat_call_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Logs never contain tokens, codes, app secrets or session keys (docs/api.md
// "Conventions"), even at debug level and on error paths.
func TestNoSecretsInLogs(t *testing.T) {
	s := servertest.New(t)
	code := s.Code(t, "mp", "alice")
	var l api.TokenResponse
	s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": code}, "").JSON(t, &l)
	s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": code}, "") // 40163
	var r1 api.TokenResponse
	refresh(t, s, l.RefreshToken).JSON(t, &r1)
	s.Clock.Advance(time.Minute)
	refresh(t, s, l.RefreshToken) // reuse
	s.Sandbox.InjectFault(sandbox.Fault{Path: "/sns/jscode2session", Errcode: -1})
	s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "bob")}, "")
	logs := s.Logs.String()
	secrets := map[string]string{
		"code":          code,
		"access token":  l.AccessToken,
		"refresh token": l.RefreshToken,
		"successor":     r1.RefreshToken,
		"session_key":   s.Sandbox.SessionKey(s.AppID(t, "mp"), "alice"),
		"app secret":    s.Config.Apps[0].Secret,
		"server secret": s.Config.Secret,
	}
	for name, v := range secrets {
		if v == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(logs, v) {
			t.Errorf("the logs contain the %s", name)
		}
	}
	if !strings.Contains(logs, `"request_id"`) && !strings.Contains(logs, "request failed") {
		t.Errorf("no request logs were written at all; the check above proves nothing:\n%s", logs)
	}
}

func TestIntrospect(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
	}))
	l := s.Login(t, "mp", "alice")
	introspect := func(body any, contentType, bearer string) servertest.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/introspect", strings.NewReader(fmt.Sprint(body)))
		req.Header.Set("Content-Type", contentType)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	active := func(r servertest.Response) map[string]any {
		t.Helper()
		if r.Status != 200 {
			t.Fatalf("introspect = %d %s", r.Status, r.Body)
		}
		var m map[string]any
		r.JSON(t, &m)
		return m
	}
	form := "application/x-www-form-urlencoded"
	m := active(introspect("token="+l.AccessToken, form, key))
	if m["active"] != true || m["sub"] != l.User.ID || m["sid"] != l.SessionID || m["app"] != "mp" || m["iss"] != s.URL || m["aud"] != s.URL || m["exp"] == nil || m["iat"] == nil {
		t.Errorf("introspect(form) = %v", m)
	}
	if m := active(introspect(`{"token":"`+l.AccessToken+`"}`, "application/json", key)); m["active"] != true {
		t.Errorf("introspect(json) = %v", m)
	}
	for name, tok := range map[string]string{"garbage": "x.y.z", "refresh token": l.RefreshToken} {
		if m := active(introspect("token="+tok, form, key)); len(m) != 1 || m["active"] != false {
			t.Errorf("introspect(%s) = %v, want only active:false", name, m)
		}
	}
	// Callers need a service key.
	wantError(t, introspect("token="+l.AccessToken, form, ""), 401, api.CodeInvalidToken)
	wantError(t, introspect("token="+l.AccessToken, form, "wrong-key-0123456789"), 401, api.CodeInvalidToken)
	wantError(t, introspect("token="+l.AccessToken, form, l.AccessToken), 401, api.CodeInvalidToken)
	wantError(t, introspect("", form, key), 400, api.CodeInvalidRequest)
	// Expired and revoked tokens are inactive.
	s.Clock.Advance(2*time.Hour + time.Second)
	if m := active(introspect("token="+l.AccessToken, form, key)); m["active"] != false {
		t.Errorf("introspect(expired) = %v", m)
	}
	l2 := s.Login(t, "mp", "alice")
	s.Do(t, "POST", "/v1/logout", nil, l2.AccessToken)
	if m := active(introspect("token="+l2.AccessToken, form, key)); m["active"] != false {
		t.Errorf("introspect(logged out) = %v", m)
	}
}

func TestRateLimits(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{LoginPerIP: "3/1m", LoginPerUser: "2/1m", RefreshPerIP: "off", RefreshPerSession: "2/1m"}
		c.TrustedProxyHeader = "X-Forwarded-For"
	}))
	loginFrom := func(ip, user string) servertest.Response {
		t.Helper()
		body := `{"app":"mp","code":"` + s.Code(t, "mp", user) + `"}`
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/miniprogram/login", strings.NewReader(body))
		req.Header.Set("X-Forwarded-For", "203.0.113.99, "+ip) // the first entry is the client's to forge
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	// Per user: alice may log in twice a minute, from anywhere.
	for i, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		if r := loginFrom(ip, "alice"); r.Status != 200 {
			t.Fatalf("alice login %d = %d %s", i, r.Status, r.Body)
		}
	}
	r := loginFrom("198.51.100.3", "alice")
	wantError(t, r, 429, api.CodeRateLimited)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	// Per IP: a third login from one address is refused whoever it is.
	if _, err := s.Sandbox.AddUser("carol"); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bob", "carol"} {
		if r := loginFrom("198.51.100.1", user); r.Status != 200 {
			t.Fatalf("%s = %d %s", user, r.Status, r.Body)
		}
	}
	wantError(t, loginFrom("198.51.100.1", "carol"), 429, api.CodeRateLimited)
	if r := loginFrom("198.51.100.4", "carol"); r.Status != 200 {
		t.Errorf("carol from another address = %d %s", r.Status, r.Body)
	}
	// A new window opens a minute later.
	s.Clock.Advance(time.Minute)
	if r := loginFrom("198.51.100.1", "alice"); r.Status != 200 {
		t.Fatalf("alice a minute later = %d %s", r.Status, r.Body)
	}
	var l api.TokenResponse
	loginFrom("198.51.100.5", "bob").JSON(t, &l)
	// Per session: two refreshes a minute (grace replays count too).
	rt := l.RefreshToken
	for i := range 2 {
		r := refresh(t, s, rt)
		if r.Status != 200 {
			t.Fatalf("refresh %d = %d %s", i, r.Status, r.Body)
		}
		var tr api.TokenResponse
		r.JSON(t, &tr)
		rt = tr.RefreshToken
	}
	wantError(t, refresh(t, s, rt), 429, api.CodeRateLimited)
	// The limited refresh did not spend the token.
	s.Clock.Advance(time.Minute)
	if r := refresh(t, s, rt); r.Status != 200 {
		t.Errorf("refresh after the window = %d %s", r.Status, r.Body)
	}
}

// The revocation push: a subscriber gets what is already revoked, then each
// new revocation (logout, DELETE /v1/sessions/{id}, reuse) as it happens.
func TestRevocationPush(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
	}))
	early := s.Login(t, "mp", "alice")
	s.Do(t, "POST", "/v1/logout", nil, early.AccessToken)

	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v1/revocations", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/revocations = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var ev api.Revocation
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev)
				events <- event + " " + ev.SID
			}
		}
		close(events)
	}()
	next := func() string {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
			return ""
		}
	}
	if e := next(); e != "revoked "+early.SessionID {
		t.Errorf("snapshot = %q, want the session logged out before subscribing", e)
	}
	if e := next(); e != "ready " {
		t.Errorf("after the snapshot: %q, want ready", e)
	}
	l := s.Login(t, "mp", "bob")
	s.Do(t, "POST", "/v1/logout", nil, l.AccessToken)
	if e := next(); e != "revoked "+l.SessionID {
		t.Errorf("after a logout: %q", e)
	}
	a, b := s.Login(t, "mp", "bob"), s.Login(t, "mp", "bob")
	s.Do(t, "DELETE", "/v1/sessions/"+a.SessionID, nil, b.AccessToken)
	if e := next(); e != "revoked "+a.SessionID {
		t.Errorf("after DELETE /v1/sessions: %q", e)
	}
	wantError(t, s.Do(t, "GET", "/v1/revocations", nil, ""), 401, api.CodeInvalidToken)
}
