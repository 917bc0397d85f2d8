package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// OAuth lifetimes of Official Account web OAuth and website QR login
// (reference §5.2, §5.7, §6).
const (
	// OAuthCodeTTL is how long a code from the Official Account authorize
	// page stays valid.
	OAuthCodeTTL = 5 * time.Minute
	// QRConnectCodeTTL is how long a code from the website QR login page
	// stays valid.
	QRConnectCodeTTL = 10 * time.Minute
	// AppCodeTTL is how long a mobile app's SendAuth code stays valid: as
	// long as the website QR code's, the other Open Platform login, whose
	// guide the mobile app's follows (reference §6, §6.1; docs/sandbox.md).
	AppCodeTTL = 10 * time.Minute
	// OAuthAccessTokenTTL is the lifetime of a per-user OAuth access_token:
	// WeChat answers expires_in 7200.
	OAuthAccessTokenTTL = 7200 * time.Second
	// OAuthRefreshTokenTTL is the lifetime of an OAuth refresh_token,
	// counted from the code exchange and never extended by use.
	OAuthRefreshTokenTTL = 30 * 24 * time.Hour
)

// OAuth scopes (reference §5.1, §6).
const (
	// ScopeBase is the Official Account's silent scope: openid only.
	ScopeBase = "snsapi_base"
	// ScopeUserInfo is the Official Account's consent scope: it enables
	// /sns/userinfo.
	ScopeUserInfo = "snsapi_userinfo"
	// ScopeLogin is the only scope of website QR login.
	ScopeLogin = "snsapi_login"
)

// SnapshotUser is the built-in test user who arrives as WeChat's
// snapshot-page virtual user ([SnapshotFlagged]) wherever WeChat shows
// that page, on Official Account snsapi_userinfo logins (docs/sandbox.md,
// reference §4, §5.1): those answers carry is_snapshotuser 1 for him, and
// his openids and unionid are his own, shared with no other test user, so
// that they can never be mistaken for a real person's.
const SnapshotUser = "snapshot"

// oauthTokenBytes is how many random bytes make an OAuth access or refresh
// token: 96 characters of base64url, opaque like WeChat's.
const oauthTokenBytes = 72

// forgetOAuthAfter is how long the sandbox remembers an OAuth token or
// grant after it stopped working, so that it keeps answering 42001 or
// 42002 for it rather than growing without bound; a forgotten one answers
// 40001 or 40030.
const forgetOAuthAfter = 24 * time.Hour

// oauthCode is what an authorize page handed one user of one Official
// Account or website app (reference §5.2, §6).
type oauthCode struct {
	appID, user, scope string
	expires            time.Time
	used               bool
}

// oauthGrant is one authorization, as a code exchange creates it: the
// refresh token and the access token currently issued under it.
type oauthGrant struct {
	refresh            string
	appID, user, scope string
	expires            time.Time // of the refresh token: 42002 from then on
	access             string    // the newest access token
	// snapshot is the user's Snapshot variant when the grant came from a
	// snapshot page (an Official Account snsapi_userinfo login), else "".
	snapshot string
}

// oauthToken is one per-user OAuth access token (reference §5.3).
type oauthToken struct {
	value   string
	grant   *oauthGrant
	expires time.Time
}

// oauthState is the sandbox's web OAuth state, guarded by Sandbox.mu.
type oauthState struct {
	codes     map[string]*oauthCode
	grants    map[string]*oauthGrant // by refresh token
	tokens    map[string]*oauthToken // by access token
	lastSweep time.Time
}

func newOAuthState() oauthState {
	return oauthState{
		codes:  make(map[string]*oauthCode),
		grants: make(map[string]*oauthGrant),
		tokens: make(map[string]*oauthToken),
	}
}

// isOAuthKind reports whether apps of kind exchange codes at
// /sns/oauth2/access_token: Official Accounts (reference §5), websites (§6)
// and mobile apps (§6.1), not Mini Programs.
func isOAuthKind(kind string) bool {
	return kind == KindOfficialAccount || kind == KindWebsite || kind == KindMobileApp
}

// scopeAllowed reports whether an app of kind may ask for scope: an
// Official Account for snsapi_base or snsapi_userinfo (reference §5.1), a
// website for snsapi_login (§6), a mobile app's SendAuth for
// snsapi_userinfo (§6.1).
func scopeAllowed(kind, scope string) bool {
	switch kind {
	case KindOfficialAccount:
		return scope == ScopeBase || scope == ScopeUserInfo
	case KindWebsite:
		return scope == ScopeLogin
	case KindMobileApp:
		return scope == ScopeUserInfo
	}
	return false
}

// IssueOAuthCode returns the code an authorize page hands user of the
// Official Account, website or mobile appID for scope when they tap Allow:
// 32 printable characters, single use, valid for [OAuthCodeTTL] (Official
// Accounts), [QRConnectCodeTTL] (websites) or [AppCodeTTL] (mobile apps),
// exchangeable only by appID at /sns/oauth2/access_token (reference §5.2,
// §6, §6.1). scope must fit the app's kind: snsapi_base or snsapi_userinfo
// for an Official Account, snsapi_login for a website, snsapi_userinfo for
// a mobile app. Unknown apps and users fail with
// [ErrNotFound], other app kinds and scopes are invalid.
func (s *Sandbox) IssueOAuthCode(appID, user, scope string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok {
		return "", fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if !isOAuthKind(app.Kind) {
		return "", fmt.Errorf("app %q is a %s, not a %s, %s or %s", appID, app.Kind, KindOfficialAccount, KindWebsite, KindMobileApp)
	}
	if !scopeAllowed(app.Kind, scope) {
		return "", fmt.Errorf("scope %q is not one a %s may ask for", scope, app.Kind)
	}
	if _, ok := s.users[user]; !ok {
		return "", fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	return s.issueOAuthCodeLocked(app, user, scope)
}

// issueOAuthCodeLocked mints a code for a checked app, user and scope.
// s.mu must be held.
func (s *Sandbox) issueOAuthCodeLocked(app *App, user, scope string) (string, error) {
	now := s.now()
	s.sweepCodesLocked(now)
	code, err := s.randomCodeLocked()
	if err != nil {
		return "", fmt.Errorf("issue oauth code: %w", err)
	}
	ttl := OAuthCodeTTL
	switch app.Kind {
	case KindWebsite:
		ttl = QRConnectCodeTTL
	case KindMobileApp:
		ttl = AppCodeTTL
	}
	s.oauth.codes[code] = &oauthCode{appID: app.AppID, user: user, scope: scope, expires: now.Add(ttl)}
	return code, nil
}

// oauthTokenAnswer is /sns/oauth2/access_token's success body (reference
// §5.3). Only snapshot-page virtual users carry is_snapshotuser, always
// with 1 (and not all of them: see [SnapshotUnflagged]).
type oauthTokenAnswer struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

// oauthAccessToken imitates GET /sns/oauth2/access_token (reference §5.3,
// §6): it exchanges an authorize-page code for a per-user access token, a
// refresh token and the user's openid. Checks run in WeChat's order (§7
// item 2): missing parameters (41002, 41004, 41008), grant_type (40002),
// appid (40013, also for a Mini Program's), secret (40125), code (40029 if
// unknown, another app's or expired, 40163 if already exchanged; 42003 is
// not used, real servers mostly answer 40029 too).
//
// unionid is answered for apps bound to the Open Platform account, for
// snsapi_userinfo and snsapi_login grants only: the current doc leaves it
// out for snsapi_base (§4, §5.3, §8). A user with a Snapshot variant
// arrives as a snapshot-page virtual user on Official Account
// snsapi_userinfo logins only (§5.1), as that variant says.
func (s *Sandbox) oauthAccessToken(r *http.Request) any {
	appID, secret, code, bad := codeExchangeParams(r, "code")
	if bad != nil {
		return bad
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok || !isOAuthKind(app.Kind) {
		return errcode(40013)
	}
	if bad := s.checkIPLocked(r, app); bad != nil {
		return bad
	}
	if !secretsEqual(secret, app.Secret) {
		return errcode(40125)
	}
	now := s.now()
	c, ok := s.oauth.codes[code]
	if !ok || c.appID != appID || !now.Before(c.expires) {
		return errcode(40029)
	}
	if c.used {
		return errcode(40163)
	}
	s.sweepOAuthLocked(now)
	g := &oauthGrant{appID: appID, user: c.user, scope: c.scope, expires: now.Add(OAuthRefreshTokenTTL)}
	var err error
	if g.refresh, err = s.randomOAuthTokenLocked(); err != nil {
		s.log.ErrorContext(r.Context(), "sandbox oauth refresh token", "err", err)
		return errcode(-1)
	}
	t, err := s.issueOAuthTokenLocked(g, now)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox oauth access token", "err", err)
		return errcode(-1)
	}
	c.used = true
	s.oauth.grants[g.refresh] = g
	ans := oauthTokenAnswer{
		AccessToken:  t.value,
		ExpiresIn:    int(OAuthAccessTokenTTL / time.Second),
		RefreshToken: g.refresh,
		OpenID:       openID(appID, c.user),
		Scope:        c.scope,
	}
	if !app.Unbound && c.scope != ScopeBase {
		ans.UnionID = unionID(c.user)
	}
	// Snapshot pages exist only for Official Account snsapi_userinfo
	// requests (§5.1): the user's variant decides the answer.
	if app.Kind == KindOfficialAccount && c.scope == ScopeUserInfo {
		g.snapshot = s.users[c.user].snapshot
		switch g.snapshot {
		case SnapshotFlagged:
			ans.IsSnapshotUser = 1
		case SnapshotEmptyTokens:
			ans.IsSnapshotUser = 1
			ans.AccessToken, ans.RefreshToken = "", ""
		}
	}
	return ans
}

// oauthRefreshAnswer is /sns/oauth2/refresh_token's success body
// (reference §5.4).
type oauthRefreshAnswer struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
}

// oauthRefreshToken imitates GET /sns/oauth2/refresh_token (reference
// §5.4). As the Open Platform doc says: while the grant's access token is
// still valid the same token is answered with its expiry reset to 7200 s;
// once it has expired a new one is issued and the old one keeps answering
// 42001. The refresh_token answered is always the one sent: it lives 30
// days from the code exchange, never extended (§5.4, §5.7).
//
// Checks: appid missing (41002), refresh_token missing (41003, from
// WeChat's global errcode list; the reference names no code), grant_type
// (40002), appid (40013), refresh_token unknown or another app's (40030),
// past its 30 days (42002).
func (s *Sandbox) oauthRefreshToken(r *http.Request) any {
	q := r.URL.Query()
	appID, refresh := q.Get("appid"), q.Get("refresh_token")
	switch {
	case appID == "":
		return errcode(41002)
	case refresh == "":
		return errcode(41003)
	case q.Get("grant_type") != "refresh_token":
		return errcode(40002)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok || !isOAuthKind(app.Kind) {
		return errcode(40013)
	}
	if bad := s.checkIPLocked(r, app); bad != nil {
		return bad
	}
	now := s.now()
	s.sweepOAuthLocked(now)
	g, ok := s.oauth.grants[refresh]
	if !ok || g.appID != appID {
		return errcode(40030)
	}
	if !now.Before(g.expires) {
		return errcode(42002)
	}
	t := s.oauth.tokens[g.access]
	if t != nil && now.Before(t.expires) {
		t.expires = now.Add(OAuthAccessTokenTTL)
	} else {
		var err error
		if t, err = s.issueOAuthTokenLocked(g, now); err != nil {
			s.log.ErrorContext(r.Context(), "sandbox oauth access token", "err", err)
			return errcode(-1)
		}
	}
	return oauthRefreshAnswer{
		AccessToken:  t.value,
		ExpiresIn:    int(OAuthAccessTokenTTL / time.Second),
		RefreshToken: g.refresh,
		OpenID:       openID(g.appID, g.user),
		Scope:        g.scope,
	}
}

// userInfoAnswer is /sns/userinfo's success body (reference §5.5, §7 item
// 8), in WeChat's field order.
type userInfoAnswer struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid,omitempty"`
}

// userInfo imitates GET /sns/userinfo (reference §5.5): the user's
// nickname and avatar for a snsapi_userinfo or snsapi_login token. Checks
// run: access token (41001 missing, 40001 unknown, 42001 expired), openid
// (40003 unless the token's user's), scope (48001 for snsapi_base, and
// for a snapshot page's token of a [SnapshotUnflagged] user). sex is
// always 0 and the region strings empty, as WeChat now answers; lang
// (zh_CN, zh_TW, en) changes nothing, the test users' nicknames having no
// translations. unionid is answered when the app is bound.
func (s *Sandbox) userInfo(r *http.Request) any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, code := s.checkOAuthTokenLocked(q.Get("access_token"), q.Get("openid"), s.now())
	if code != 0 {
		return code
	}
	if app := s.apps[t.grant.appID]; app != nil {
		if bad := s.checkIPLocked(r, app); bad != nil {
			return bad
		}
	}
	g := t.grant
	if g.scope == ScopeBase || g.snapshot == SnapshotUnflagged {
		return errcode(48001)
	}
	ans := userInfoAnswer{
		OpenID:     openID(g.appID, g.user),
		Nickname:   s.users[g.user].nickname,
		HeadImgURL: headImgURL(g.user),
		Privilege:  []string{},
	}
	if app := s.apps[g.appID]; app != nil && !app.Unbound {
		ans.UnionID = unionID(g.user)
	}
	return ans
}

// snsAuth imitates GET /sns/auth (reference §5.6): {"errcode":0,
// "errmsg":"ok"} while the access token is valid for openid; 41001 without
// a token, 40001 for an unknown one, 42001 for an expired one (the
// reference guesses 42001/40001), 40003 for an openid not the token's (the
// doc's example).
func (s *Sandbox) snsAuth(r *http.Request) any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, code := s.checkOAuthTokenLocked(q.Get("access_token"), q.Get("openid"), s.now())
	if code != 0 {
		return code
	}
	if app := s.apps[t.grant.appID]; app != nil {
		if bad := s.checkIPLocked(r, app); bad != nil {
			return bad
		}
	}
	return okBody{Errmsg: "ok"}
}

// checkOAuthTokenLocked checks a per-user OAuth access token and the openid
// sent with it (reference §5.5, §5.6). s.mu must be held.
func (s *Sandbox) checkOAuthTokenLocked(value, openid string, now time.Time) (*oauthToken, errcode) {
	if value == "" {
		return nil, 41001
	}
	t := s.oauth.tokens[value]
	switch {
	case t == nil:
		return nil, 40001
	case !now.Before(t.expires):
		return nil, 42001
	case openid != openID(t.grant.appID, t.grant.user):
		return nil, 40003
	}
	return t, 0
}

// issueOAuthTokenLocked mints an access token under g, valid for
// [OAuthAccessTokenTTL], and makes it g's newest. s.mu must be held.
func (s *Sandbox) issueOAuthTokenLocked(g *oauthGrant, now time.Time) (*oauthToken, error) {
	v, err := s.randomOAuthTokenLocked()
	if err != nil {
		return nil, err
	}
	t := &oauthToken{value: v, grant: g, expires: now.Add(OAuthAccessTokenTTL)}
	s.oauth.tokens[v] = t
	g.access = v
	return t, nil
}

// randomOAuthTokenLocked returns a fresh opaque token, used by no OAuth
// access or refresh token. s.mu must be held.
func (s *Sandbox) randomOAuthTokenLocked() (string, error) {
	b := make([]byte, oauthTokenBytes)
	for range 16 {
		if err := s.readRand(b); err != nil {
			return "", err
		}
		v := base64.RawURLEncoding.EncodeToString(b)
		_, access := s.oauth.tokens[v]
		_, refresh := s.oauth.grants[v]
		if !access && !refresh {
			return v, nil
		}
	}
	return "", errors.New("random source repeats itself")
}

// sweepOAuthLocked forgets grants and access tokens that stopped working
// more than a day ago, at most once an hour. s.mu must be held.
func (s *Sandbox) sweepOAuthLocked(now time.Time) {
	if now.Before(s.oauth.lastSweep.Add(time.Hour)) {
		return
	}
	s.oauth.lastSweep = now
	for v, g := range s.oauth.grants {
		if !now.Before(g.expires.Add(forgetOAuthAfter)) {
			delete(s.oauth.grants, v)
		}
	}
	for v, t := range s.oauth.tokens {
		if s.oauth.grants[t.grant.refresh] != t.grant || !now.Before(t.expires.Add(forgetOAuthAfter)) {
			delete(s.oauth.tokens, v)
		}
	}
}

// headImgURL is the user's avatar URL in WeChat's form (reference §5.5):
// a thirdwx.qlogo.cn path ending in the size, 132 pixels here. It is
// derived from the user's name and never fetched by the sandbox.
func headImgURL(name string) string {
	sum := sha256.Sum256([]byte("headimg|" + name))
	return "https://thirdwx.qlogo.cn/mmopen/vi_32/" + base64.RawURLEncoding.EncodeToString(sum[:]) + "/132"
}
