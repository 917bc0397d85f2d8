package api

import "time"

// TokenResponse is the body of every successful login, bind and refresh
// (docs/api.md "Token response").
type TokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	SessionID        string `json:"session_id"`
	User             *User  `json:"user,omitempty"`
	IsNewUser        bool   `json:"is_new_user"`
}

// User is the short profile carried in a [TokenResponse].
type User struct {
	ID         string `json:"id"`
	Nickname   string `json:"nickname"`
	AvatarURL  string `json:"avatar_url"`
	PhoneBound bool   `json:"phone_bound"`
}

// Me is the body of GET /v1/me.
type Me struct {
	ID         string     `json:"id"`
	Nickname   string     `json:"nickname"`
	AvatarURL  string     `json:"avatar_url"`
	Phone      string     `json:"phone"`
	Identities []Identity `json:"identities"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Identity is one WeChat identity linked to a user. App is the app's key in
// the server's configuration ("mp", "oa"), not its appid.
type Identity struct {
	App     string `json:"app"`
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid,omitempty"`
}

// Session is one entry of GET /v1/sessions.
type Session struct {
	ID         string    `json:"id"`
	App        string    `json:"app"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Current    bool      `json:"current"`
}

// SessionList is the body of GET /v1/sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// MiniprogramLoginRequest is the body of POST /v1/miniprogram/login.
type MiniprogramLoginRequest struct {
	App     string `json:"app,omitempty"`
	Code    string `json:"code"`
	Inviter string `json:"inviter,omitempty"`
}

// AppLoginRequest is the body of POST /v1/app/login: the code the WeChat
// SDK's SendAuth gave a native iOS or Android app.
type AppLoginRequest struct {
	App     string `json:"app,omitempty"`
	Code    string `json:"code"`
	Inviter string `json:"inviter,omitempty"`
}

// RefreshRequest is the body of POST /v1/token/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// LogoutRequest is the body of POST /v1/logout.
type LogoutRequest struct {
	All bool `json:"all,omitempty"`
}

// OAuthLoginRequest is the body of POST /v1/oauth/wechat/login.
type OAuthLoginRequest struct {
	Code         string `json:"code"`
	State        string `json:"state"`
	CodeVerifier string `json:"code_verifier,omitempty"`
}

// OAuthLoginResponse is a browser login's answer: the token response plus
// the page to go to next.
type OAuthLoginResponse struct {
	TokenResponse
	ReturnTo string `json:"return_to"`
}

// BindRequired answers a login whose WeChat identity has no user yet when
// registration requires a phone (docs/api.md "Binding").
type BindRequired struct {
	BindRequired bool   `json:"bind_required"`
	BindTicket   string `json:"bind_ticket"`
	ReturnTo     string `json:"return_to,omitempty"`
}

// AccountCheck answers POST /v1/oauth/wechat/check when the WeChat
// identity is the session's own user (docs/h5.md "Noticing an account
// switch"): nothing else happened.
type AccountCheck struct {
	SameUser bool `json:"same_user"`
}

// AccountSwitch answers POST /v1/oauth/wechat/check when another person
// is in WeChat: same_user false and that person's login, which the page
// keeps after ending the old session.
type AccountSwitch struct {
	SameUser bool `json:"same_user"`
	OAuthLoginResponse
}

// AccountSwitchBind answers POST /v1/oauth/wechat/check when the person
// in WeChat has no user yet and registration requires a phone.
type AccountSwitchBind struct {
	SameUser bool `json:"same_user"`
	BindRequired
}

// Revocation is one event of GET /v1/revocations, the push that lets
// resource servers refuse a logged-out session's access tokens at once
// without asking wxauth on every request. The stream is Server-Sent Events
// (text/event-stream), for callers with a service key:
//
//	event: revoked
//	data: {"sid":"…","until":1795453303}
//
// First every revocation still in force (so a new subscriber starts
// complete), then an `event: ready` with `data: {}`, then each new one as it
// happens, with `: ping` comments every 15 s. Until is the Unix time after
// which every access token of the session has expired anyway, so the
// subscriber may forget the sid then. An instance that stops ends the
// stream with `retry: 100` and `event: reconnect`: reconnect after that
// many milliseconds, to another instance.
type Revocation struct {
	SID   string `json:"sid"`
	Until int64  `json:"until"`
}
