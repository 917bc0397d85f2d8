package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"
)

// The endpoints of Official Account and website OAuth (reference §5.3–§5.6,
// the same for websites, §6).
const (
	endpointOAuthToken   = "/sns/oauth2/access_token"
	endpointOAuthRefresh = "/sns/oauth2/refresh_token"
	endpointUserInfo     = "/sns/userinfo"
	endpointOAuthCheck   = "/sns/auth"
)

// OAuthToken is a user's OAuth grant, from [Client.OAuthExchange] or
// [Client.OAuthRefresh] (reference §5.3, §5.4).
//
// AccessToken and RefreshToken are secrets: OAuthToken redacts them when
// formatted with package fmt (every verb) or logged with log/slog; only
// reading the fields gives them.
type OAuthToken struct {
	// AccessToken is the user's OAuth access token, for
	// [Client.OAuthUserInfo] and [Client.OAuthCheck]; not the app access
	// token of [Client.Token].
	AccessToken string
	// RefreshToken renews AccessToken ([Client.OAuthRefresh]) for 30 days
	// from the authorization; using it does not extend that (§5.4).
	RefreshToken string
	// OpenID identifies the user within this app (reference §4).
	OpenID string
	// UnionID identifies the user across the apps of one Open Platform
	// account; empty when WeChat sent none (an Official Account not bound
	// to one, or a snsapi_base grant, §5.3).
	UnionID string
	// Scope is the granted scope as WeChat sent it, comma-separated when
	// several, e.g. "snsapi_userinfo".
	Scope string
	// ExpiresAt is when AccessToken ends, counted from the moment the
	// request was sent (Config.Now), so it errs early.
	ExpiresAt time.Time
	// Snapshot reports a virtual user of WeChat's read-only snapshot page
	// (is_snapshotuser 1, reference §5.1, §5.3): not a real identity; do
	// not create or link an account for it. When it is set, the other
	// fields may be empty or zero: [Client.OAuthExchange] checks none.
	Snapshot bool
}

// OAuthUser is a user's profile from [Client.OAuthUserInfo] (reference
// §5.5). WeChat has withdrawn gender and region: Sex is now always 0 and
// Province, City and Country empty.
type OAuthUser struct {
	OpenID   string
	Nickname string
	// Sex is 1 male, 2 female, 0 unknown (now always 0).
	Sex      int
	Province string
	City     string
	Country  string
	// HeadImgURL is the square avatar, empty if none; it stops working
	// when the user changes their avatar (§5.5).
	HeadImgURL string
	// UnionID is empty when the app is not bound to an Open Platform
	// account.
	UnionID   string
	Privilege []string
}

// OAuthExchange exchanges the code that WeChat's authorization page sent
// back to the redirect URI ([Client.AuthorizeURL]) for the user's
// [OAuthToken] (GET /sns/oauth2/access_token, reference §5.3; websites
// alike, §6, and mobile apps' SendAuth codes, §6.1). appID and secret are
// those of the Official Account, website or mobile app.
//
// It is never retried, by this method or the package: a code works once,
// and a call that failed may still have spent it; the user must authorize
// again. Empty arguments are [ErrInvalidRequest] and no call is made; a
// rejected, used or expired code is [ErrInvalidCode]; a wrong appid or
// secret is [ErrBadCredential]; a success without access_token,
// refresh_token, openid or a positive expires_in is
// [ErrUnexpectedResponse], unless it is flagged is_snapshotuser 1: that
// flag is read first, and such an answer is returned with Snapshot set
// whatever else it lacks (WeChat has sent it with empty tokens, reference
// §5.1). Its ids are virtual: check Snapshot before anything else.
func (c *Client) OAuthExchange(ctx context.Context, appID, secret, code string) (OAuthToken, error) {
	switch {
	case appID == "":
		return OAuthToken{}, fmt.Errorf("%w: oauth exchange: empty app ID", ErrInvalidRequest)
	case secret == "":
		return OAuthToken{}, fmt.Errorf("%w: oauth exchange: empty secret", ErrInvalidRequest)
	case code == "":
		return OAuthToken{}, fmt.Errorf("%w: oauth exchange: empty code", ErrInvalidRequest)
	}
	q := url.Values{
		"appid":      {appID},
		"secret":     {secret},
		"code":       {code},
		"grant_type": {"authorization_code"},
	}
	start := c.now()
	var resp oauthExchangeResponse
	if err := c.getJSON(ctx, endpointOAuthToken, q, &resp); err != nil {
		return OAuthToken{}, err
	}
	return resp.token(start), nil
}

// OAuthRefresh renews the user's OAuth access token with refreshToken (GET
// /sns/oauth2/refresh_token, reference §5.4; no secret is sent). WeChat may
// return the same access token with its expiry reset; if it sends no
// refresh_token, the one given is kept in the result.
//
// An invalid or expired refresh token is [ErrRefreshTokenInvalid] (40030,
// 42002): the user must authorize again. Empty arguments are
// [ErrInvalidRequest] and no call is made.
func (c *Client) OAuthRefresh(ctx context.Context, appID, refreshToken string) (OAuthToken, error) {
	switch {
	case appID == "":
		return OAuthToken{}, fmt.Errorf("%w: oauth refresh: empty app ID", ErrInvalidRequest)
	case refreshToken == "":
		return OAuthToken{}, fmt.Errorf("%w: oauth refresh: empty refresh token", ErrInvalidRequest)
	}
	q := url.Values{
		"appid":         {appID},
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}
	start := c.now()
	var resp oauthTokenResponse
	if err := c.getJSON(ctx, endpointOAuthRefresh, q, &resp); err != nil {
		return OAuthToken{}, err
	}
	t := resp.token(start)
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	return t, nil
}

// OAuthUserInfo returns the profile of the user openID (GET /sns/userinfo
// with lang=zh_CN, reference §5.5). accessToken is the user's OAuth access
// token of an snsapi_userinfo (or website snsapi_login) grant.
//
// A token of an snsapi_base grant is [ErrScopeUnauthorized] (48001); an
// invalid or expired token is [ErrOAuthTokenInvalid] (40001, 42001: refresh
// it, never the app token); an openid that is not the token's is
// [ErrInvalidOpenID] and [ErrOAuthTokenInvalid] (40003). Empty arguments
// are [ErrInvalidRequest] and no call is made; a success for another
// openid, or without one, is [ErrUnexpectedResponse].
func (c *Client) OAuthUserInfo(ctx context.Context, accessToken, openID string) (OAuthUser, error) {
	if err := checkOAuthArgs("oauth user info", accessToken, openID); err != nil {
		return OAuthUser{}, err
	}
	q := url.Values{
		"access_token": {accessToken},
		"openid":       {openID},
		"lang":         {"zh_CN"},
	}
	resp := userInfoResponse{want: openID}
	if err := c.getJSON(ctx, endpointUserInfo, q, &resp); err != nil {
		return OAuthUser{}, err
	}
	return OAuthUser{
		OpenID:     resp.OpenID,
		Nickname:   resp.Nickname,
		Sex:        resp.Sex,
		Province:   resp.Province,
		City:       resp.City,
		Country:    resp.Country,
		HeadImgURL: resp.HeadImgURL,
		UnionID:    resp.UnionID,
		Privilege:  resp.Privilege,
	}, nil
}

// OAuthCheck asks WeChat whether accessToken is a valid OAuth access token
// for openID (GET /sns/auth, reference §5.6); nil means it is. An invalid,
// expired or mismatched token is [ErrOAuthTokenInvalid] (40001, 42001,
// 40003; 40003 is also [ErrInvalidOpenID]). Empty arguments are
// [ErrInvalidRequest] and no call is made.
func (c *Client) OAuthCheck(ctx context.Context, accessToken, openID string) error {
	if err := checkOAuthArgs("oauth check", accessToken, openID); err != nil {
		return err
	}
	q := url.Values{
		"access_token": {accessToken},
		"openid":       {openID},
	}
	return c.getJSON(ctx, endpointOAuthCheck, q, nil)
}

func checkOAuthArgs(what, accessToken, openID string) error {
	switch {
	case accessToken == "":
		return fmt.Errorf("%w: %s: empty access token", ErrInvalidRequest, what)
	case openID == "":
		return fmt.Errorf("%w: %s: empty openid", ErrInvalidRequest, what)
	}
	return nil
}

// oauthTokenResponse is the success answer of /sns/oauth2/refresh_token,
// and the core of /sns/oauth2/access_token's.
type oauthTokenResponse struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int64  `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	UnionID        string `json:"unionid"`
	IsSnapshotUser int    `json:"is_snapshotuser"`
}

func (r *oauthTokenResponse) validate() error {
	switch {
	case r.AccessToken == "":
		return errMissingField("access_token")
	case r.OpenID == "":
		return errMissingField("openid")
	case r.ExpiresIn <= 0:
		return errors.New("success without a positive expires_in")
	}
	return nil
}

func (r *oauthTokenResponse) token(start time.Time) OAuthToken {
	return OAuthToken{
		AccessToken:  r.AccessToken,
		RefreshToken: r.RefreshToken,
		OpenID:       r.OpenID,
		UnionID:      r.UnionID,
		Scope:        r.Scope,
		ExpiresAt:    start.Add(time.Duration(r.ExpiresIn) * time.Second),
		Snapshot:     r.IsSnapshotUser == 1,
	}
}

// oauthExchangeResponse is the success answer of /sns/oauth2/access_token,
// which must carry a refresh_token (reference §5.3).
type oauthExchangeResponse struct {
	oauthTokenResponse
}

// validate reads is_snapshotuser first (reference §5.1): a snapshot-page
// answer is what it is, empty tokens and all ("access_token":"" has been
// seen next to the flag); nothing in it is to be used.
func (r *oauthExchangeResponse) validate() error {
	if r.IsSnapshotUser == 1 {
		return nil
	}
	if err := r.oauthTokenResponse.validate(); err != nil {
		return err
	}
	if r.RefreshToken == "" {
		return errMissingField("refresh_token")
	}
	return nil
}

// userInfoResponse is the success answer of /sns/userinfo.
type userInfoResponse struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid"`

	want string // the openid asked for
}

func (r *userInfoResponse) validate() error { return checkOpenID(r.OpenID, r.want) }

// checkOpenID is the check of an answer about one user: it names the
// openid asked for.
func checkOpenID(got, want string) error {
	switch {
	case got == "":
		return errMissingField("openid")
	case got != want:
		return errors.New("success for another openid")
	}
	return nil
}

// LogValue implements [slog.LogValuer]: the identity, scope and expiry, and
// both tokens redacted.
func (t OAuthToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", redactedKey(t.AccessToken)),
		slog.String("refresh_token", redactedKey(t.RefreshToken)),
		slog.String("openid", t.OpenID),
		slog.String("unionid", t.UnionID),
		slog.String("scope", t.Scope),
		slog.Time("expires_at", t.ExpiresAt),
		slog.Bool("snapshot", t.Snapshot),
	)
}

// String returns the OAuthToken with its tokens redacted.
func (t OAuthToken) String() string {
	return fmt.Sprintf("{AccessToken:%s RefreshToken:%s OpenID:%s UnionID:%s Scope:%s ExpiresAt:%s Snapshot:%t}",
		redactedKey(t.AccessToken), redactedKey(t.RefreshToken), t.OpenID, t.UnionID, t.Scope, t.ExpiresAt, t.Snapshot)
}

// GoString returns the OAuthToken as Go syntax with its tokens redacted.
func (t OAuthToken) GoString() string {
	return fmt.Sprintf("wechat.OAuthToken{AccessToken:%q, RefreshToken:%q, OpenID:%q, UnionID:%q, Scope:%q, ExpiresAt:%#v, Snapshot:%t}",
		redactedKey(t.AccessToken), redactedKey(t.RefreshToken), t.OpenID, t.UnionID, t.Scope, t.ExpiresAt, t.Snapshot)
}

// Format implements [fmt.Formatter] so that no verb or flag prints a
// token: %#v gives GoString, every other verb String.
func (t OAuthToken) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString())
		return
	}
	io.WriteString(f, t.String())
}
