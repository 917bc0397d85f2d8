package sandbox

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// Web OAuth test apps: a website app (bound) and an unbound Official
// Account, next to the bound Official Account appOA.
var (
	appWeb = App{Name: "portal", Kind: KindWebsite, AppID: "wx00000000000000e7", Secret: "secret-e", Domains: []string{"www.app.example", "app.example"}}
	appOAU = App{Name: "local", Kind: KindOfficialAccount, AppID: "wx00000000000000f8", Secret: "secret-f", Unbound: true}
)

const (
	oauthPath   = "/sns/oauth2/access_token"
	refreshPath = "/sns/oauth2/refresh_token"
)

// newOAuthEnv starts a sandbox with the Mini Programs, appOA, appWeb and
// appOAU.
func newOAuthEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(c *Config) {
		c.Apps = append(c.Apps, appWeb, appOAU) // appOAU has no domain: it returns to DevOrigins only
		c.DevOrigins = []string{"http://localhost:8080"}
	})
}

func (e *env) oauthCode(t *testing.T, app App, user, scope string) string {
	t.Helper()
	code, err := e.sb.IssueOAuthCode(app.AppID, user, scope)
	if err != nil {
		t.Fatalf("IssueOAuthCode(%q, %q, %q): %v", app.AppID, user, scope, err)
	}
	return code
}

// oauthQuery is a well-formed /sns/oauth2/access_token query.
func oauthQuery(app App, code string) url.Values {
	return url.Values{"appid": {app.AppID}, "secret": {app.Secret}, "code": {code}, "grant_type": {"authorization_code"}}
}

// exchange issues a code for user and scope in app and exchanges it,
// failing the test unless that succeeds.
func (e *env) exchange(t *testing.T, app App, user, scope string) answer {
	t.Helper()
	a := e.get(t, oauthPath, oauthQuery(app, e.oauthCode(t, app, user, scope)))
	if a.code() != 0 || a.AccessToken == "" {
		t.Fatalf("exchange for %s in %s (%s): errcode %d %q", user, app.Name, scope, a.code(), a.Errmsg)
	}
	return a
}

func refreshQuery(app App, refresh string) url.Values {
	return url.Values{"appid": {app.AppID}, "grant_type": {"refresh_token"}, "refresh_token": {refresh}}
}

func tokenOpenIDQuery(tok, openid string) url.Values {
	return url.Values{"access_token": {tok}, "openid": {openid}, "lang": {"zh_CN"}}
}

func fieldNames(a answer) []string {
	var names []string
	for k := range a.fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Reference §5.3, §6, §4: the token answer's fields; unionid only for
// bound apps and not for snsapi_base; is_snapshotuser only for the
// snapshot user, on an Official Account's snsapi_userinfo login (§5.1).
func TestOAuthAccessTokenShape(t *testing.T) {
	base := []string{"access_token", "expires_in", "openid", "refresh_token", "scope"}
	withUnion := []string{"access_token", "expires_in", "openid", "refresh_token", "scope", "unionid"}
	tests := []struct {
		name     string
		app      App
		user     string
		scope    string
		fields   []string
		snapshot bool
	}{
		{"OA userinfo", appOA, "alice", ScopeUserInfo, withUnion, false},
		{"OA base omits unionid", appOA, "alice", ScopeBase, base, false},
		{"unbound OA userinfo", appOAU, "bob", ScopeUserInfo, base, false},
		{"unbound OA base", appOAU, "bob", ScopeBase, base, false},
		{"website login", appWeb, "alice", ScopeLogin, withUnion, false},
		{"snapshot userinfo", appOA, SnapshotUser, ScopeUserInfo, append(slices.Clone(withUnion), "is_snapshotuser"), true},
		// §5.1: snapshot pages exist only for OA snsapi_userinfo.
		{"snapshot base", appOA, SnapshotUser, ScopeBase, base, false},
		{"snapshot website", appWeb, SnapshotUser, ScopeLogin, withUnion, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOAuthEnv(t)
			a := e.exchange(t, tt.app, tt.user, tt.scope)
			want := slices.Sorted(slices.Values(tt.fields))
			if got := fieldNames(a); !slices.Equal(got, want) {
				t.Errorf("fields = %v, want %v", got, want)
			}
			if a.contentType != "text/plain" {
				t.Errorf("Content-Type = %q, want text/plain (reference §7 item 1)", a.contentType)
			}
			if a.ExpiresIn != 7200 || a.Scope != tt.scope {
				t.Errorf("expires_in %d, scope %q; want 7200, %q", a.ExpiresIn, a.Scope, tt.scope)
			}
			if a.RefreshToken == "" || a.RefreshToken == a.AccessToken {
				t.Errorf("refresh_token %q, want one distinct from access_token", a.RefreshToken)
			}
			if want := openID(tt.app.AppID, tt.user); a.OpenID != want {
				t.Errorf("openid = %q, want %q", a.OpenID, want)
			}
			if slices.Contains(tt.fields, "unionid") && a.UnionID != unionID(tt.user) {
				t.Errorf("unionid = %q, want %q", a.UnionID, unionID(tt.user))
			}
			wantSnap := 0
			if tt.snapshot {
				wantSnap = 1
			}
			if a.IsSnapshotUser != wantSnap {
				t.Errorf("is_snapshotuser = %d, want %d", a.IsSnapshotUser, wantSnap)
			}
		})
	}
}

// Reference §4: snapshot-page users get virtual ids, never a real user's.
func TestSnapshotUserIsVirtual(t *testing.T) {
	e := newOAuthEnv(t)
	e.sb.AddUser("carol")
	for _, app := range []App{appOA, appWeb} {
		scope := ScopeUserInfo
		if app.Kind == KindWebsite {
			scope = ScopeLogin
		}
		snap := e.exchange(t, app, SnapshotUser, scope)
		for _, u := range e.sb.Users() {
			if u.Name == SnapshotUser {
				continue
			}
			other := e.exchange(t, app, u.Name, scope)
			if other.IsSnapshotUser != 0 || other.fields["is_snapshotuser"] != nil {
				t.Errorf("%s in %s: is_snapshotuser present, want it only for the snapshot user", u.Name, app.Name)
			}
			if other.OpenID == snap.OpenID || other.UnionID == snap.UnionID {
				t.Errorf("%s in %s: openid %q unionid %q, the same as the snapshot user's", u.Name, app.Name, other.OpenID, other.UnionID)
			}
			for _, id := range u.OpenIDs {
				if id == snap.OpenID {
					t.Errorf("snapshot openid %q is %s's openid in another app", snap.OpenID, u.Name)
				}
			}
		}
	}
}

// Reference §5.3 errors, checked in §7 item 2's order.
func TestOAuthAccessTokenErrors(t *testing.T) {
	e := newOAuthEnv(t)
	good := e.oauthCode(t, appOA, "alice", ScopeUserInfo)
	used := e.oauthCode(t, appOA, "alice", ScopeUserInfo)
	e.get(t, oauthPath, oauthQuery(appOA, used))
	other := e.oauthCode(t, appOAU, "alice", ScopeUserInfo)
	login := e.code(t, appA, "alice")
	with := func(q url.Values, k, v string) url.Values {
		q = url.Values(cloneValues(q))
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	q := oauthQuery(appOA, good)
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"no appid", with(q, "appid", ""), 41002},
		{"no secret", with(q, "secret", ""), 41004},
		{"no code", with(q, "code", ""), 41008},
		{"no grant_type", with(q, "grant_type", ""), 40002},
		{"wrong grant_type", with(q, "grant_type", "client_credential"), 40002},
		{"missing params before appid", url.Values{"appid": {"wxnope"}}, 41004},
		{"unknown appid", with(q, "appid", "wxnope"), 40013},
		{"mini program appid", oauthQuery(appA, good), 40013},
		{"appid before secret", with(with(q, "appid", "wxnope"), "secret", "wrong"), 40013},
		{"wrong secret", with(q, "secret", "wrong"), 40125},
		{"another app's secret", with(q, "secret", appOAU.Secret), 40125},
		{"unknown code", with(q, "code", "nope"), 40029},
		{"another app's code", with(q, "code", other), 40029},
		{"wx.login code", with(q, "code", login), 40029},
		{"used code", with(q, "code", used), 40163},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWeChatError(t, e.get(t, oauthPath, tt.q), tt.want)
		})
	}
	// Rejected calls consumed nothing.
	if a := e.get(t, oauthPath, q); a.code() != 0 {
		t.Errorf("good code after rejected calls: errcode %d, want 0", a.code())
	}
	if a := e.get(t, oauthPath, oauthQuery(appOAU, other)); a.code() != 0 {
		t.Errorf("other app's code at its own app: errcode %d, want 0", a.code())
	}
	// A web OAuth code is no wx.login code either (reference §7 item 3).
	checkWeChatError(t, e.get(t, loginPath, loginQuery(appA, e.oauthCode(t, appOA, "bob", ScopeBase))), 40029)
}

func cloneValues(q url.Values) map[string][]string {
	out := make(map[string][]string, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// Reference §5.2, §6, §5.7: OA codes live 5 minutes, website codes 10,
// and answer 40029 after.
func TestOAuthCodeExpiry(t *testing.T) {
	tests := []struct {
		app   App
		scope string
		ttl   time.Duration
	}{
		{appOA, ScopeBase, 5 * time.Minute},
		{appWeb, ScopeLogin, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.app.Kind, func(t *testing.T) {
			e := newOAuthEnv(t)
			early := e.oauthCode(t, tt.app, "alice", tt.scope)
			late := e.oauthCode(t, tt.app, "alice", tt.scope)
			e.clock.Advance(tt.ttl - time.Second)
			if a := e.get(t, oauthPath, oauthQuery(tt.app, early)); a.code() != 0 {
				t.Errorf("code at %v: errcode %d, want 0", tt.ttl-time.Second, a.code())
			}
			e.clock.Advance(time.Second)
			checkWeChatError(t, e.get(t, oauthPath, oauthQuery(tt.app, late)), 40029)
			checkWeChatError(t, e.get(t, oauthPath, oauthQuery(tt.app, early)), 40029)
		})
	}
}

// Reference §5.2: some clients load the callback twice; exactly one
// exchange of a code wins.
func TestOAuthCodeConcurrentExchange(t *testing.T) {
	e := newOAuthEnv(t)
	q := oauthQuery(appOA, e.oauthCode(t, appOA, "alice", ScopeUserInfo))
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = e.get(t, oauthPath, q).code() })
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 0:
			ok++
		case 40163:
		default:
			t.Errorf("concurrent exchange: errcode %d, want 0 or 40163", c)
		}
	}
	if ok != 1 {
		t.Errorf("%d exchanges succeeded, want exactly 1", ok)
	}
}

func TestIssueOAuthCodeErrors(t *testing.T) {
	e := newOAuthEnv(t)
	tests := []struct {
		name               string
		appID, user, scope string
		notFound           bool
	}{
		{"unknown app", "wxnope", "alice", ScopeBase, true},
		{"unknown user", appOA.AppID, "zed", ScopeBase, true},
		{"mini program", appA.AppID, "alice", ScopeBase, false},
		{"OA with login scope", appOA.AppID, "alice", ScopeLogin, false},
		{"website with userinfo scope", appWeb.AppID, "alice", ScopeUserInfo, false},
		{"empty scope", appOA.AppID, "alice", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := e.sb.IssueOAuthCode(tt.appID, tt.user, tt.scope)
			if err == nil {
				t.Fatalf("IssueOAuthCode(%q, %q, %q) = %q, want an error", tt.appID, tt.user, tt.scope, code)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("IssueOAuthCode(%q, %q, %q) = %v; errors.Is(ErrNotFound) = %v, want %v", tt.appID, tt.user, tt.scope, err, got, tt.notFound)
			}
		})
	}
}

// Reference §5.4: a valid access token comes back with its expiry reset,
// an expired one is replaced, the refresh_token stays the same and dies
// after 30 days from the exchange.
func TestOAuthRefresh(t *testing.T) {
	e := newOAuthEnv(t)
	first := e.exchange(t, appOA, "alice", ScopeUserInfo)
	refresh := func() answer {
		t.Helper()
		a := e.get(t, refreshPath, refreshQuery(appOA, first.RefreshToken))
		if a.code() != 0 {
			t.Fatalf("refresh: errcode %d %q", a.code(), a.Errmsg)
		}
		want := []string{"access_token", "expires_in", "openid", "refresh_token", "scope"}
		if got := fieldNames(a); !slices.Equal(got, want) {
			t.Errorf("refresh fields = %v, want %v", got, want)
		}
		if a.RefreshToken != first.RefreshToken || a.OpenID != first.OpenID || a.Scope != ScopeUserInfo || a.ExpiresIn != 7200 {
			t.Errorf("refresh = %+v, want the same refresh_token, openid and scope, expires_in 7200", a)
		}
		return a
	}
	auth := func(tok string) int {
		t.Helper()
		return e.get(t, "/sns/auth", tokenOpenIDQuery(tok, first.OpenID)).code()
	}

	e.clock.Advance(time.Hour)
	if a := refresh(); a.AccessToken != first.AccessToken {
		t.Errorf("refresh of a valid token gave %q, want the same token", a.AccessToken)
	}
	e.clock.Advance(90 * time.Minute) // 2h30 after the exchange, 1h30 after the refresh
	if c := auth(first.AccessToken); c != 0 {
		t.Errorf("token after its reset expiry was extended: errcode %d, want 0", c)
	}
	e.clock.Advance(30 * time.Minute) // 2h after the refresh
	if c := auth(first.AccessToken); c != 42001 {
		t.Errorf("token 7200 s after the refresh: errcode %d, want 42001", c)
	}
	second := refresh()
	if second.AccessToken == first.AccessToken {
		t.Errorf("refresh of an expired token gave it back, want a new one")
	}
	if c := auth(second.AccessToken); c != 0 {
		t.Errorf("new token: errcode %d, want 0", c)
	}
	if c := auth(first.AccessToken); c != 42001 {
		t.Errorf("old token after a new one: errcode %d, want 42001", c)
	}

	e.clock.Advance(OAuthRefreshTokenTTL - 3*time.Hour - time.Second) // a second before 30 days
	refresh()
	e.clock.Advance(time.Second)
	checkWeChatError(t, e.get(t, refreshPath, refreshQuery(appOA, first.RefreshToken)), 42002)
	e.clock.Advance(forgetOAuthAfter + time.Hour) // forgotten at last
	checkWeChatError(t, e.get(t, refreshPath, refreshQuery(appOA, first.RefreshToken)), 40030)
}

// Reference §5.4 errors.
func TestOAuthRefreshErrors(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.exchange(t, appOA, "alice", ScopeBase)
	q := refreshQuery(appOA, tok.RefreshToken)
	set := func(k, v string) url.Values {
		q := url.Values(cloneValues(q))
		q.Set(k, v)
		if v == "" {
			q.Del(k)
		}
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"no appid", set("appid", ""), 41002},
		{"no refresh_token", set("refresh_token", ""), 41003},
		{"no grant_type", set("grant_type", ""), 40002},
		{"wrong grant_type", set("grant_type", "authorization_code"), 40002},
		{"unknown appid", set("appid", "wxnope"), 40013},
		{"mini program appid", set("appid", appA.AppID), 40013},
		{"unknown refresh_token", set("refresh_token", "nope"), 40030},
		{"access token as refresh_token", set("refresh_token", tok.AccessToken), 40030},
		{"another app's refresh_token", set("appid", appOAU.AppID), 40030},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWeChatError(t, e.get(t, refreshPath, tt.q), tt.want)
		})
	}
}

var headImgPattern = regexp.MustCompile(`^https://thirdwx\.qlogo\.cn/mmopen/vi_32/[A-Za-z0-9_-]{20,}/132$`)

// Reference §5.5, §7 item 8: the userinfo answer.
func TestUserInfo(t *testing.T) {
	tests := []struct {
		name         string
		app          App
		user, scope  string
		nickname     string
		wantUnionID  bool
		wantSnapshot bool
	}{
		{"OA userinfo", appOA, "alice", ScopeUserInfo, "Alice", true, false},
		{"unbound OA", appOAU, "bob", ScopeUserInfo, "Bob", false, false},
		{"website", appWeb, "bob", ScopeLogin, "Bob", true, false},
		{"snapshot", appOA, SnapshotUser, ScopeUserInfo, "Snapshot", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOAuthEnv(t)
			tok := e.exchange(t, tt.app, tt.user, tt.scope)
			for _, lang := range []string{"", "zh_CN", "zh_TW", "en"} {
				q := tokenOpenIDQuery(tok.AccessToken, tok.OpenID)
				q.Set("lang", lang)
				a := e.get(t, "/sns/userinfo", q)
				if a.code() != 0 {
					t.Fatalf("userinfo lang %q: errcode %d %q", lang, a.code(), a.Errmsg)
				}
				want := []string{"city", "country", "headimgurl", "nickname", "openid", "privilege", "province", "sex"}
				if tt.wantUnionID {
					want = append(want, "unionid")
					slices.Sort(want)
				}
				if got := fieldNames(a); !slices.Equal(got, want) {
					t.Errorf("userinfo fields = %v, want %v", got, want)
				}
				if a.OpenID != tok.OpenID || a.Nickname != tt.nickname {
					t.Errorf("openid %q nickname %q, want %q %q", a.OpenID, a.Nickname, tok.OpenID, tt.nickname)
				}
				for k, v := range map[string]string{"sex": "0", "province": `""`, "city": `""`, "country": `""`, "privilege": "[]"} {
					if got := string(a.fields[k]); got != v {
						t.Errorf("%s = %s, want %s", k, got, v)
					}
				}
				if !headImgPattern.MatchString(a.HeadImgURL) {
					t.Errorf("headimgurl = %q, want WeChat's form %v", a.HeadImgURL, headImgPattern)
				}
				if tt.wantUnionID && a.UnionID != unionID(tt.user) {
					t.Errorf("unionid = %q, want %q", a.UnionID, unionID(tt.user))
				}
			}
		})
	}
}

// Reference §5.5 and §5.6 errors.
func TestUserInfoAndAuthErrors(t *testing.T) {
	e := newOAuthEnv(t)
	user := e.exchange(t, appOA, "alice", ScopeUserInfo)
	base := e.exchange(t, appOA, "alice", ScopeBase)
	bob := e.exchange(t, appOA, "bob", ScopeUserInfo)
	expired := e.exchange(t, appOAU, "alice", ScopeUserInfo)
	e.clock.Advance(OAuthAccessTokenTTL - time.Minute)
	user = e.get(t, refreshPath, refreshQuery(appOA, user.RefreshToken))
	base = e.get(t, refreshPath, refreshQuery(appOA, base.RefreshToken))
	bob = e.get(t, refreshPath, refreshQuery(appOA, bob.RefreshToken))
	e.clock.Advance(time.Minute)

	tests := []struct {
		name       string
		q          url.Values
		info, auth int
	}{
		{"valid", tokenOpenIDQuery(user.AccessToken, user.OpenID), 0, 0},
		{"snsapi_base token", tokenOpenIDQuery(base.AccessToken, base.OpenID), 48001, 0},
		{"no token", tokenOpenIDQuery("", user.OpenID), 41001, 41001},
		{"unknown token", tokenOpenIDQuery("nope", user.OpenID), 40001, 40001},
		{"refresh token as access token", tokenOpenIDQuery(user.RefreshToken, user.OpenID), 40001, 40001},
		{"app access token", tokenOpenIDQuery(e.appToken(t, appOA), user.OpenID), 40001, 40001},
		{"expired token", tokenOpenIDQuery(expired.AccessToken, expired.OpenID), 42001, 42001},
		{"another user's openid", tokenOpenIDQuery(user.AccessToken, bob.OpenID), 40003, 40003},
		{"the user's openid in another app", tokenOpenIDQuery(user.AccessToken, expired.OpenID), 40003, 40003},
		{"no openid", tokenOpenIDQuery(user.AccessToken, ""), 40003, 40003},
		{"base token, wrong openid", tokenOpenIDQuery(base.AccessToken, bob.OpenID), 40003, 40003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.info == 0 {
				if a := e.get(t, "/sns/userinfo", tt.q); a.code() != 0 {
					t.Errorf("userinfo: errcode %d %q, want 0", a.code(), a.Errmsg)
				}
			} else {
				checkWeChatError(t, e.get(t, "/sns/userinfo", tt.q), tt.info)
			}
			if tt.auth == 0 {
				a := e.get(t, "/sns/auth", tt.q)
				if a.Errcode == nil || a.code() != 0 || a.Errmsg != "ok" {
					t.Errorf("auth = %v %q, want errcode 0 and errmsg ok", a.Errcode, a.Errmsg)
				}
			} else {
				checkWeChatError(t, e.get(t, "/sns/auth", tt.q), tt.auth)
			}
		})
	}
}

// Reference §5.1: the snapshot-page variants reported in the wild, each on
// an Official Account snsapi_userinfo login only; snsapi_base and website
// logins of the same users answer as anyone's.
func TestSnapshotVariants(t *testing.T) {
	tests := []struct {
		variant     string
		flag        int
		emptyTokens bool
		userinfo    int // errcode of /sns/userinfo with the token, when there is one
	}{
		{SnapshotFlagged, 1, false, 0},
		{SnapshotEmptyTokens, 1, true, 0},
		{SnapshotUnflagged, 0, false, 48001},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			e := newOAuthEnv(t)
			name := "v-" + tt.variant
			if _, err := e.sb.AddUserWith(name, UserOptions{Snapshot: tt.variant}); err != nil {
				t.Fatal(err)
			}
			a := e.get(t, oauthPath, oauthQuery(appOA, e.oauthCode(t, appOA, name, ScopeUserInfo)))
			if a.code() != 0 || a.IsSnapshotUser != tt.flag || a.OpenID != openID(appOA.AppID, name) || a.UnionID != unionID(name) {
				t.Fatalf("snsapi_userinfo answer = errcode %d flag %d openid %q unionid %q, want 0 %d and the user's virtual ids",
					a.code(), a.IsSnapshotUser, a.OpenID, a.UnionID, tt.flag)
			}
			if (tt.flag == 1) != (a.fields["is_snapshotuser"] != nil) {
				t.Errorf("is_snapshotuser present = %v, want %v", a.fields["is_snapshotuser"] != nil, tt.flag == 1)
			}
			if got := a.AccessToken == "" && a.RefreshToken == "" && string(a.fields["access_token"]) == `""`; got != tt.emptyTokens {
				t.Errorf("empty tokens = %v (access %q refresh %q), want %v", got, a.AccessToken, a.RefreshToken, tt.emptyTokens)
			}
			if !tt.emptyTokens {
				if u := e.get(t, "/sns/userinfo", tokenOpenIDQuery(a.AccessToken, a.OpenID)); u.code() != tt.userinfo {
					t.Errorf("/sns/userinfo errcode = %d, want %d", u.code(), tt.userinfo)
				}
			}
			for _, other := range []struct {
				app   App
				scope string
			}{{appOA, ScopeBase}, {appWeb, ScopeLogin}} {
				b := e.exchange(t, other.app, name, other.scope)
				if b.fields["is_snapshotuser"] != nil || b.RefreshToken == "" {
					t.Errorf("%s %s: is_snapshotuser %s, refresh_token %q; want an ordinary answer", other.app.Name, other.scope, b.fields["is_snapshotuser"], b.RefreshToken)
				}
				if other.scope == ScopeLogin {
					if u := e.get(t, "/sns/userinfo", tokenOpenIDQuery(b.AccessToken, b.OpenID)); u.code() != 0 {
						t.Errorf("website /sns/userinfo errcode = %d, want 0", u.code())
					}
				}
			}
		})
	}
}
