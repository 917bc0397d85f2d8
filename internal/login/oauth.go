package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

// App kinds of the browser logins.
const (
	KindOfficialAccount = "official_account"
	KindWebsite         = "website"
)

// OAuth errors; each maps to one contract code.
var (
	// ErrInvalidState: the state is unknown, used, expired, or not bound to
	// this browser (invalid_state).
	ErrInvalidState = errors.New("login: invalid state")
	// ErrForbiddenRedirect: redirect_uri or return_to is not allowed
	// (forbidden_redirect).
	ErrForbiddenRedirect = errors.New("login: forbidden redirect")
	// ErrSnapshotUser: WeChat's snapshot-page virtual user (snapshot_user).
	ErrSnapshotUser = errors.New("login: snapshot-page virtual user")
	// ErrDenied: the user refused the authorization: WeChat came back
	// without a code (invalid_request, said so).
	ErrDenied = errors.New("login: the user denied the authorization")
)

// OAuthClient is what the browser logins ask of WeChat; *wechat.Client is one.
type OAuthClient interface {
	AuthorizeURL(p wechat.AuthorizeParams) (string, error)
	OAuthExchange(ctx context.Context, appID, secret, code string) (wechat.OAuthToken, error)
	OAuthRefresh(ctx context.Context, appID, refreshToken string) (wechat.OAuthToken, error)
	OAuthUserInfo(ctx context.Context, accessToken, openID string) (wechat.OAuthUser, error)
}

// Lifetimes of the browser flow (docs/api.md "H5 and website login").
const (
	stateTTL     = 10 * time.Minute
	duplicateTTL = 60 * time.Second
	// pendingTTL covers one code exchange in flight, for a duplicate
	// redirect that arrives while the first is still being served.
	pendingTTL = 30 * time.Second
)

// AuthorizeRequest starts a browser login.
type AuthorizeRequest struct {
	App         string // app key; empty: picked by User-Agent
	UserAgent   string
	RedirectURI string // the page WeChat returns to
	ReturnTo    string // where the page sends the user after login; default "/"
	Scope       string // snsapi_base (default) or snsapi_userinfo; website: snsapi_login
	Inviter     string
	// CodeChallenge is base64url(SHA-256(code_verifier)) of the page's
	// verifier. Empty: the state is bound to a cookie instead.
	CodeChallenge string
}

// AuthorizeResult says where to send the browser.
type AuthorizeResult struct {
	URL string
	// Cookie, when not empty, is the value of the binding cookie to set
	// (no code challenge was given).
	Cookie string
}

// oauthState is what a state remembers, server-side (storage.OneTime, so
// every instance finds it, and a browser that loses its cookies still has
// the code_verifier in sessionStorage).
type oauthState struct {
	App         string `json:"app"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	ReturnTo    string `json:"return_to"`
	Inviter     string `json:"inviter,omitempty"`
	Challenge   string `json:"challenge,omitempty"`
	CookieHash  string `json:"cookie_hash,omitempty"`
}

// duplicate remembers a finished login for a repeated post of its code and
// state by the same browser.
type duplicate struct {
	UserID    string `json:"user_id"`
	App       string `json:"app"`
	ReturnTo  string `json:"return_to"`
	IsNewUser bool   `json:"is_new_user"`
	// The browser binding the first post proved, which a repeat must prove
	// again.
	Challenge  string `json:"challenge,omitempty"`
	CookieHash string `json:"cookie_hash,omitempty"`
}

// Authorize builds WeChat's authorization URL with a fresh state.
func (s *Service) Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResult, error) {
	if s.cfg.OAuth == nil || s.cfg.OneTime == nil {
		return AuthorizeResult{}, fmt.Errorf("%w: browser login is not configured", ErrUnknownApp)
	}
	app, err := s.browserApp(req.App, req.UserAgent)
	if err != nil {
		return AuthorizeResult{}, err
	}
	if !s.cfg.Redirects.AllowedURL(req.RedirectURI) {
		return AuthorizeResult{}, fmt.Errorf("%w: redirect_uri is not on the allow-list", ErrForbiddenRedirect)
	}
	if req.ReturnTo == "" {
		req.ReturnTo = "/"
	}
	if !s.cfg.Redirects.ReturnTo(req.ReturnTo) {
		return AuthorizeResult{}, fmt.Errorf("%w: return_to must be a plain path on this site or an allowed URL", ErrForbiddenRedirect)
	}
	scope := req.Scope
	switch {
	case app.Kind == KindWebsite:
		if scope != "" && scope != "snsapi_login" {
			return AuthorizeResult{}, fmt.Errorf("%w: a website app's scope is snsapi_login", ErrInvalidRequest)
		}
		scope = "snsapi_login"
	case scope == "":
		scope = "snsapi_base"
	case scope != "snsapi_base" && scope != "snsapi_userinfo":
		return AuthorizeResult{}, fmt.Errorf("%w: scope is snsapi_base or snsapi_userinfo", ErrInvalidRequest)
	}
	if len(req.Inviter) > 64 || len(req.CodeChallenge) > 128 {
		return AuthorizeResult{}, fmt.Errorf("%w: inviter or code_challenge too long", ErrInvalidRequest)
	}
	if req.CodeChallenge != "" {
		if b, err := base64.RawURLEncoding.DecodeString(req.CodeChallenge); err != nil || len(b) != sha256.Size {
			return AuthorizeResult{}, fmt.Errorf("%w: code_challenge is base64url(SHA-256(code_verifier)), 43 characters", ErrInvalidRequest)
		}
	}
	st := oauthState{App: app.Name, Scope: scope, RedirectURI: req.RedirectURI, ReturnTo: req.ReturnTo,
		Inviter: req.Inviter, Challenge: req.CodeChallenge}
	var res AuthorizeResult
	if st.Challenge == "" {
		res.Cookie = randomAlnum(43)
		st.CookieHash = hashString(res.Cookie)
	}
	state := randomAlnum(32) // a-zA-Z0-9, ~190 bits: what WeChat accepts
	b, _ := json.Marshal(st)
	if err := s.cfg.OneTime.PutOnce(ctx, stateKey(state), b, stateTTL); err != nil {
		return AuthorizeResult{}, fmt.Errorf("keep state: %w", err)
	}
	res.URL, err = s.cfg.OAuth.AuthorizeURL(wechat.AuthorizeParams{AppID: app.AppID, RedirectURI: req.RedirectURI,
		Scope: scope, State: state, Website: app.Kind == KindWebsite})
	if err != nil {
		return AuthorizeResult{}, fmt.Errorf("authorize URL: %w", err)
	}
	return res, nil
}

// browserApp picks the app of a browser login: by name, or by User-Agent
// (the official account inside WeChat, the website QR login elsewhere).
func (s *Service) browserApp(name, userAgent string) (App, error) {
	if name != "" {
		a, ok := s.apps[name]
		if !ok || (a.Kind != KindOfficialAccount && a.Kind != KindWebsite) {
			return App{}, fmt.Errorf("%w: no official_account or website app %q", ErrUnknownApp, name)
		}
		return a, nil
	}
	kind := KindWebsite
	if strings.Contains(userAgent, "MicroMessenger") {
		kind = KindOfficialAccount
	}
	return s.app("", kind)
}

// OAuthLoginRequest finishes a browser login.
type OAuthLoginRequest struct {
	Code, State, CodeVerifier string
	// Cookie is the binding cookie's value, if the browser sent one.
	Cookie string
}

// OAuthLogin exchanges the code WeChat returned, for the state this server
// minted and this browser holds.
func (s *Service) OAuthLogin(ctx context.Context, req OAuthLoginRequest) (Result, error) {
	if s.cfg.OAuth == nil || s.cfg.OneTime == nil {
		return Result{}, fmt.Errorf("%w: browser login is not configured", ErrUnknownApp)
	}
	if req.State == "" || len(req.State) > 128 || len(req.Code) > 512 || len(req.CodeVerifier) > 128 {
		return Result{}, fmt.Errorf("%w: state is required", ErrInvalidRequest)
	}
	raw, err := s.cfg.OneTime.Get(ctx, stateKey(req.State))
	if errors.Is(err, storage.ErrNotFound) {
		return s.repeated(ctx, req)
	}
	if err != nil {
		return Result{}, err
	}
	var st oauthState
	if err := json.Unmarshal(raw, &st); err != nil {
		return Result{}, ErrInvalidState
	}
	if !st.proves(req) {
		// Another browser: the state stays for its owner.
		return Result{}, fmt.Errorf("%w: the state is bound to another browser", ErrInvalidState)
	}
	if _, err := s.cfg.OneTime.Take(ctx, stateKey(req.State)); errors.Is(err, storage.ErrNotFound) {
		return s.repeated(ctx, req) // a concurrent duplicate took it first
	} else if err != nil {
		return Result{}, err
	}
	if req.Code == "" {
		return Result{ReturnTo: st.ReturnTo}, ErrDenied
	}
	inFlight := pendingKey(req.State, req.Code)
	_ = s.cfg.OneTime.PutOnce(ctx, inFlight, []byte{1}, pendingTTL)

	app, ok := s.apps[st.App]
	if !ok {
		return Result{}, fmt.Errorf("%w: app %q is no longer configured", ErrUnknownApp, st.App)
	}
	tok, err := s.cfg.OAuth.OAuthExchange(ctx, app.AppID, app.Secret, req.Code)
	if err != nil {
		return Result{}, fmt.Errorf("exchange code: %w", err)
	}
	if tok.Snapshot {
		return Result{}, ErrSnapshotUser
	}
	var profile wechat.OAuthUser
	if st.Scope == "snsapi_userinfo" || st.Scope == "snsapi_login" {
		profile, tok, err = s.profile(ctx, app, tok)
		if err != nil {
			return Result{}, err
		}
		if tok.UnionID == "" {
			tok.UnionID = profile.UnionID
		}
	}
	creds, err := json.Marshal(oauthCredentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresAt: tok.ExpiresAt})
	if err != nil {
		return Result{}, err
	}
	sealed, err := s.cfg.Seal.Seal(creds, OAuthContext(app.AppID, tok.OpenID))
	if err != nil {
		return Result{}, err
	}
	res, err := s.finish(ctx, pending{app: app, identity: storage.Identity{AppID: app.AppID, OpenID: tok.OpenID, UnionID: tok.UnionID},
		nickname: profile.Nickname, avatar: profile.HeadImgURL, inviter: st.Inviter, returnTo: st.ReturnTo, sealed: sealed})
	if err != nil {
		return Result{}, err
	}
	if res.BindTicket == "" {
		d, _ := json.Marshal(duplicate{UserID: res.User.ID, App: app.Name, ReturnTo: st.ReturnTo, IsNewUser: res.IsNew,
			Challenge: st.Challenge, CookieHash: st.CookieHash})
		_ = s.cfg.OneTime.PutOnce(ctx, doneKey(req.State, req.Code), d, duplicateTTL)
	}
	return res, nil
}

// oauthCredentials are the WeChat user tokens kept (sealed) on the session:
// never sent to the client.
type oauthCredentials struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// OAuthContext binds sealed OAuth credentials to their identity.
func OAuthContext(appID, openID string) string { return "oauth|" + appID + "|" + openID }

// profile fetches the user's nickname and avatar; a user token that has
// already expired is refreshed once first.
func (s *Service) profile(ctx context.Context, app App, tok wechat.OAuthToken) (wechat.OAuthUser, wechat.OAuthToken, error) {
	u, err := s.cfg.OAuth.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
	if errors.Is(err, wechat.ErrOAuthTokenInvalid) && tok.RefreshToken != "" {
		fresh, rerr := s.cfg.OAuth.OAuthRefresh(ctx, app.AppID, tok.RefreshToken)
		if rerr != nil {
			return wechat.OAuthUser{}, tok, fmt.Errorf("refresh user token: %w", rerr)
		}
		if fresh.UnionID == "" {
			fresh.UnionID = tok.UnionID
		}
		tok = fresh
		u, err = s.cfg.OAuth.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
	}
	if err != nil {
		return wechat.OAuthUser{}, tok, fmt.Errorf("user info: %w", err)
	}
	return u, tok, nil
}

// proves says whether the request comes from the browser the state was
// minted for: its code_verifier hashes to the challenge (RFC 7636 S256), or
// it carries the binding cookie.
func (st oauthState) proves(req OAuthLoginRequest) bool {
	if st.Challenge != "" {
		if req.CodeVerifier == "" {
			return false
		}
		sum := sha256.Sum256([]byte(req.CodeVerifier))
		got := base64.RawURLEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(got), []byte(st.Challenge)) == 1
	}
	if req.Cookie == "" || st.CookieHash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashString(req.Cookie)), []byte(st.CookieHash)) == 1
}

// repeated serves a code and state posted again (a page refresh, WeChat's
// duplicate redirect): the same browser within 60 s logs the same user in
// again; anyone else gets invalid_state.
func (s *Service) repeated(ctx context.Context, req OAuthLoginRequest) (Result, error) {
	key := doneKey(req.State, req.Code)
	raw, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		// The first post may still be exchanging the code: wait for it, a
		// little.
		if _, perr := s.cfg.OneTime.Get(ctx, pendingKey(req.State, req.Code)); perr == nil {
			raw, err = s.waitDone(ctx, key)
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: unknown, used or expired", ErrInvalidState)
	}
	if err != nil {
		return Result{}, err
	}
	var d duplicate
	if err := json.Unmarshal(raw, &d); err != nil {
		return Result{}, ErrInvalidState
	}
	if !(oauthState{Challenge: d.Challenge, CookieHash: d.CookieHash}).proves(req) {
		return Result{}, fmt.Errorf("%w: the state is bound to another browser", ErrInvalidState)
	}
	app, ok := s.apps[d.App]
	if !ok {
		return Result{}, ErrInvalidState
	}
	u, err := s.cfg.Users.User(ctx, d.UserID)
	if err != nil {
		return Result{}, fmt.Errorf("look up user: %w", err)
	}
	pair, err := s.open(ctx, app, u.ID, nil)
	if err != nil {
		return Result{}, err
	}
	return Result{Tokens: pair, User: u, IsNew: d.IsNewUser, ReturnTo: d.ReturnTo}, nil
}

// waitDone polls for a login in flight to finish, up to a few seconds.
func (s *Service) waitDone(ctx context.Context, key string) ([]byte, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		raw, err := s.cfg.OneTime.Get(ctx, key)
		if err == nil || !errors.Is(err, storage.ErrNotFound) || time.Now().After(deadline) {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// known reports whether an identity already has a user: its own, or one
// with the same unionid.
func (s *Service) known(ctx context.Context, id storage.Identity) (bool, error) {
	_, err := s.cfg.Users.Identity(ctx, id.AppID, id.OpenID)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, storage.ErrNotFound):
		return false, err
	case id.UnionID == "":
		return false, nil
	}
	_, err = s.cfg.Users.UserByUnionID(ctx, id.UnionID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// open opens a session for a user, charging the per-user login limit.
func (s *Service) open(ctx context.Context, app App, userID string, sealed []byte) (token.Pair, error) {
	var quotas []storage.Quota
	if q, ok := s.cfg.Limiter.Quota(s.cfg.PerUser, userID); ok {
		quotas = append(quotas, q)
	}
	return s.cfg.Tokens.Open(ctx, token.OpenRequest{UserID: userID, App: app.Name, SessionKey: sealed, Quotas: quotas})
}

// PendingBind is a WeChat identity waiting for its phone (registration
// bind_phone).
type PendingBind struct {
	App         string
	Identity    storage.Identity
	Nickname    string
	AvatarURL   string
	Inviter     string
	ReturnTo    string
	Credentials []byte // sealed WeChat credentials to keep on the session
}

// Binder hands out bind tickets; package bind provides it.
type Binder interface {
	IssueTicket(ctx context.Context, p PendingBind) (string, error)
}

func stateKey(state string) string { return "oauth_state:" + state }
func doneKey(state, code string) string {
	return "oauth_done:" + state + ":" + hashString(code)
}
func pendingKey(state, code string) string {
	return "oauth_pending:" + state + ":" + hashString(code)
}

func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum is n random characters of [A-Za-z0-9] (what WeChat allows in
// state), without modulo bias.
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			if b < 248 && len(out) < n { // 248 = 4·62
				out = append(out, alnum[b%62])
			}
		}
	}
	return string(out)
}
