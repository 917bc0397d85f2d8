package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/redirect"
	"github.com/wxauth/wxauth/wechat"
)

// The browser logins: an Official Account page inside WeChat
// (connect/oauth2/authorize) and a website's QR login on a desktop
// (connect/qrconnect). Authorize keeps a flow record (oauthflow.go) under
// a fresh state and sends the browser to WeChat; OAuthLogin takes the code
// WeChat returned through that record's steps.

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
	// Check starts an account check (check.go) instead of a login: a
	// silent snsapi_base round trip whose result only CheckAccount takes.
	Check bool
}

// AuthorizeResult says where to send the browser.
type AuthorizeResult struct {
	URL string
	// App is the name of the app the login is for: the one asked for, or
	// the website app when an Official Account's login was asked from a
	// browser other than WeChat's.
	App string
	// Cookie, when not empty, is the value of the binding cookie to set
	// (no code challenge was given).
	Cookie string
}

// Authorize builds WeChat's authorization URL with a fresh state.
func (s *Service) Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResult, error) {
	app, err := s.browserApp(req.App, req.UserAgent)
	if err != nil {
		return AuthorizeResult{}, err
	}
	if req.Check {
		if err := checkable(app, req.Scope); err != nil {
			return AuthorizeResult{}, err
		}
	}
	if req.App != "" && app.Name != req.App {
		req.Scope = "" // the website app stands in for an Official Account: snsapi_login
	}
	if len(req.RedirectURI) > redirect.MaxLen || len(req.ReturnTo) > redirect.MaxLen {
		return AuthorizeResult{}, ErrInvalidRequest.Say("redirect_uri and return_to are at most 2048 bytes")
	}
	if strings.Contains(req.RedirectURI, "#") {
		return AuthorizeResult{}, ErrInvalidRequest.Say("redirect_uri must not carry a fragment (#): WeChat appends code and state to its query")
	}
	if !s.cfg.Redirects.AllowedURL(req.RedirectURI) {
		return AuthorizeResult{}, ErrForbiddenRedirect.Say("redirect_uri is not on the allow-list")
	}
	if !onDomain(app, req.RedirectURI) {
		return AuthorizeResult{}, ErrForbiddenRedirect.Sayf("redirect_uri's host is not a domain registered on WeChat for app %q: WeChat would refuse it (10003)", app.Name)
	}
	if req.ReturnTo == "" {
		req.ReturnTo = "/"
	}
	if !s.cfg.Redirects.ReturnTo(req.ReturnTo) {
		return AuthorizeResult{}, ErrForbiddenRedirect.Say("return_to must be a plain path on this site or an allowed URL")
	}
	scope := req.Scope
	switch {
	case app.Kind == KindWebsite:
		if scope != "" && scope != "snsapi_login" {
			return AuthorizeResult{}, ErrInvalidRequest.Say("a website app's scope is snsapi_login")
		}
		scope = "snsapi_login"
	case scope == "":
		scope = "snsapi_base"
	case scope != "snsapi_base" && scope != "snsapi_userinfo":
		return AuthorizeResult{}, ErrInvalidRequest.Say("scope is snsapi_base or snsapi_userinfo")
	}
	if len(req.Inviter) > maxInviterLen || len(req.CodeChallenge) > 128 {
		return AuthorizeResult{}, ErrInvalidRequest.Say("inviter or code_challenge is too long")
	}
	if req.CodeChallenge != "" {
		if b, err := base64.RawURLEncoding.DecodeString(req.CodeChallenge); err != nil || len(b) != sha256.Size {
			return AuthorizeResult{}, ErrInvalidRequest.Say("code_challenge is base64url(SHA-256(code_verifier)), 43 characters")
		}
	}
	f := flow{Step: stepCreated, App: app.Name, Scope: scope, RedirectURI: req.RedirectURI, ReturnTo: req.ReturnTo,
		Inviter: req.Inviter, Challenge: req.CodeChallenge, Check: req.Check, ExpiresAt: s.cfg.Now().UTC().Add(stateTTL)}
	res := AuthorizeResult{App: app.Name}
	if f.Challenge == "" {
		res.Cookie = randomAlnum(43)
		f.CookieHash = hashString(res.Cookie)
	}
	state := randomAlnum(32) // a-zA-Z0-9, ~190 bits: what WeChat accepts
	if err := s.startFlow(ctx, state, f); err != nil {
		return AuthorizeResult{}, err
	}
	res.URL, err = s.cfg.WeChat.AuthorizeURL(wechat.AuthorizeParams{AppID: app.AppID, RedirectURI: req.RedirectURI,
		Scope: scope, State: state, Website: app.Kind == KindWebsite})
	if err != nil {
		return AuthorizeResult{}, fmt.Errorf("authorize URL: %w", err)
	}
	return res, nil
}

// browserApp picks the app of a browser login: by name, or by User-Agent
// (the official account inside WeChat, the website QR login elsewhere).
// An Official Account's page opens only inside WeChat (reference §5.1:
// other browsers get "请在微信客户端打开链接"), so one asked from another
// browser becomes the website app's QR login when exactly one website app
// is configured, else ErrWeChatClientRequired: no browser is sent to a
// page that cannot work.
func (s *Service) browserApp(name, userAgent string) (App, error) {
	inWeChat := strings.Contains(userAgent, "MicroMessenger")
	if name == "" && !inWeChat {
		return s.apps.pick("", KindWebsite)
	}
	app, err := s.apps.pick(name, KindOfficialAccount, KindWebsite)
	if err != nil || app.Kind != KindOfficialAccount || inWeChat {
		return app, err
	}
	if web := s.apps.OfKind(KindWebsite); len(web) == 1 {
		return web[0], nil
	}
	return App{}, ErrWeChatClientRequired
}

// onDomain reports whether WeChat would send the browser back to
// redirectURI for app: its host is one of the app's registered domains,
// exactly (reference §5.1, §6). An app without domains is not checked
// here; ports are checked at start-up (config.CheckWeChatDomains), since
// development serves pages on the sandbox's allowed origin.
func onDomain(app App, redirectURI string) bool {
	if len(app.Domains) == 0 {
		return true
	}
	u, err := url.Parse(redirectURI)
	return err == nil && slices.Contains(app.Domains, strings.ToLower(u.Hostname()))
}

// OAuthLoginRequest finishes a browser login.
type OAuthLoginRequest struct {
	Code, State, CodeVerifier string
	// Cookie is the binding cookie's value, if the browser sent one.
	Cookie string
}

// exchange asks WeChat who the code belongs to and signs the user in.
func (s *Service) exchange(ctx context.Context, f flow, code string) (Result, error) {
	id, err := s.identify(ctx, f, code)
	if err != nil {
		return Result{}, err
	}
	return s.SignIn(ctx, id, Options{Inviter: f.Inviter, ReturnTo: f.ReturnTo})
}

// identify asks WeChat who the code belongs to (and, for the scopes that
// allow it, the profile): the identity a login or a check goes on with.
func (s *Service) identify(ctx context.Context, f flow, code string) (Identity, error) {
	app, ok := s.apps.Named(f.App)
	if !ok {
		return Identity{}, ErrInvalidState.Say("the app of this login is no longer configured; start the login again")
	}
	tok, err := s.cfg.WeChat.OAuthExchange(ctx, app.AppID, app.Secret, code)
	if err != nil {
		return Identity{}, fmt.Errorf("exchange code: %w", err)
	}
	if tok.Snapshot {
		return Identity{}, ErrSnapshotUser
	}
	var profile wechat.OAuthUser
	if f.Scope == "snsapi_userinfo" || f.Scope == "snsapi_login" {
		profile, tok, err = s.profile(ctx, app, tok)
		if f.Scope == "snsapi_userinfo" && errors.Is(err, wechat.ErrScopeUnauthorized) {
			// A consented snsapi_userinfo token that /sns/userinfo refuses
			// (48001) is how snapshot-page tokens without the flag have
			// been seen (reference §5.1): its ids may be virtual, so no
			// user is made or linked from them.
			return Identity{}, ErrSnapshotUser.Because(err)
		}
		if err != nil {
			return Identity{}, err
		}
		if tok.UnionID == "" {
			tok.UnionID = profile.UnionID
		}
	}
	if tok.UnionID == "" && app.Kind == KindOfficialAccount {
		if tok.UnionID, err = s.followerUnionID(ctx, app, tok.OpenID); err != nil {
			return Identity{}, err
		}
	}
	sealed, err := s.sealOAuth(app, tok)
	if err != nil {
		return Identity{}, err
	}
	return Identity{App: app, OpenID: tok.OpenID, UnionID: tok.UnionID, Nickname: profile.Nickname,
		AvatarURL: profile.HeadImgURL, Credentials: sealed}, nil
}

// oauthCredentials are the WeChat user tokens kept (sealed) on the session:
// never sent to the client.
type oauthCredentials struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// sealOAuth seals the user tokens of an OAuth grant for the session, bound
// to the identity (OAuthContext).
func (s *Service) sealOAuth(app App, tok wechat.OAuthToken) ([]byte, error) {
	creds, err := json.Marshal(oauthCredentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresAt: tok.ExpiresAt})
	if err != nil {
		return nil, fmt.Errorf("keep user tokens: %w", err)
	}
	sealed, err := s.cfg.Seal.Seal(creds, OAuthContext(app.AppID, tok.OpenID))
	if err != nil {
		return nil, fmt.Errorf("seal user tokens: %w", err)
	}
	return sealed, nil
}

// OAuthContext binds sealed OAuth credentials to their identity.
func OAuthContext(appID, openID string) string { return "oauth|" + appID + "|" + openID }

// profile fetches the user's nickname and avatar; a user token that has
// already expired is refreshed once first.
func (s *Service) profile(ctx context.Context, app App, tok wechat.OAuthToken) (wechat.OAuthUser, wechat.OAuthToken, error) {
	u, err := s.cfg.WeChat.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
	if errors.Is(err, wechat.ErrOAuthTokenInvalid) && tok.RefreshToken != "" {
		fresh, rerr := s.cfg.WeChat.OAuthRefresh(ctx, app.AppID, tok.RefreshToken)
		if rerr != nil {
			return wechat.OAuthUser{}, tok, fmt.Errorf("refresh user token: %w", rerr)
		}
		if fresh.UnionID == "" {
			fresh.UnionID = tok.UnionID
		}
		tok = fresh
		u, err = s.cfg.WeChat.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
	}
	if err != nil {
		return wechat.OAuthUser{}, tok, fmt.Errorf("user info: %w", err)
	}
	return u, tok, nil
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
