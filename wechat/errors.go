package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Error classes. Test with [errors.Is]; errors of this package wrap or match
// them, they are never returned bare (except [ErrInvalidRequest], wrapped).
var (
	// ErrInvalidRequest: the arguments were rejected before any call was
	// made (an empty app ID, secret or code), or WeChat said the code was
	// missing (41008, also [ErrMissingCode]).
	ErrInvalidRequest = errors.New("wechat: invalid request")
	// ErrInvalidCode: the code is unknown, expired, for another app, or
	// already used (40029, 40163, 42003). Ask the user's device for a new one.
	ErrInvalidCode = errors.New("wechat: invalid code")
	// ErrMissingCode: WeChat saw no code in the request (41008).
	ErrMissingCode = errors.New("wechat: missing code")
	// ErrCodeBlocked: WeChat refuses to log in this high-risk user (40226).
	ErrCodeBlocked = errors.New("wechat: code blocked")
	// ErrBusy: WeChat answered "system error" (-1). Also [ErrUnavailable].
	ErrBusy = errors.New("wechat: busy")
	// ErrRateLimited: a WeChat quota or frequency limit was hit (45009 daily
	// quota, 45011 per-minute limit).
	ErrRateLimited = errors.New("wechat: rate limited")
	// ErrBadCredential: the app's configuration is wrong: unknown app ID,
	// wrong, frozen or missing secret, bad grant_type (40002, 40013,
	// 40125, 40243, 41002, 41004; 40001 on the endpoints that mint app
	// access tokens). Also [ErrConfiguration]: an operator must act.
	ErrBadCredential = errors.New("wechat: bad app credential")
	// ErrConfiguration: nothing the user does helps; an operator must
	// act, on wxauth's configuration or on WeChat's side (the console).
	// Every error of [ErrBadCredential], [ErrIPNotAllowed],
	// [ErrAccountRestricted], [ErrAPIUnauthorized], [ErrRetiredHost] and
	// [ErrNotWeChat] is also this; [OperatorAction] says what to do.
	ErrConfiguration = errors.New("wechat: configuration error")
	// ErrIPNotAllowed: WeChat refuses this server's egress IP for the
	// app: not in the app's API IP whitelist (40164, 61004), or WeChat
	// asked the Official Account's admin to confirm it (89503), the
	// confirmation is pending (89501) or the admin refused it (89506
	// blocks it for 24 hours, 89507 for 1 hour) (reference §1.1). Add the
	// address to the whitelist in WeChat's console. Also
	// [ErrConfiguration].
	ErrIPNotAllowed = errors.New("wechat: egress IP not allowed")
	// ErrAccountRestricted: WeChat restricts the account itself: the API
	// is banned for it (48004), its token use is banned (50004), it is
	// frozen (50007), or it is managed by a third-party platform whose
	// tokens must be used instead (61024) (reference §1.1). Also
	// [ErrConfiguration].
	ErrAccountRestricted = errors.New("wechat: account restricted")
	// ErrAPIUnauthorized: the app lacks the permission for the API (48001
	// on getuserphonenumber: the phone number API needs a verified
	// account, reference §1.1, §3.5; also [ErrConfiguration] there. 48001
	// on /cgi-bin/user/info: an Official Account not verified, whose
	// logins then do without the follower look-up).
	ErrAPIUnauthorized = errors.New("wechat: api unauthorized for this app")
	// ErrRetiredHost: the call reached a WeChat IP address that is
	// retired (48017): the host is pinned (hosts file, a fixed IP, a
	// stale DNS cache) instead of resolved (reference §1.1 "Hosts"). Also
	// [ErrConfiguration].
	ErrRetiredHost = errors.New("wechat: retired WeChat address")
	// ErrNotWeChat: a credential call (/cgi-bin/token, stable_token,
	// jscode2session, /sns/oauth2/access_token) was answered HTTP 200 with
	// an empty body or one that is not JSON: not WeChat's answer but a
	// wrong API base URL or a proxy's page (reference §1 "Malformed
	// answers"). Retrying, with a new code or not, meets the same answer.
	// Also [ErrConfiguration]; not [ErrUnavailable].
	ErrNotWeChat = errors.New("wechat: answer is not WeChat's")
	// ErrTokenInvalid: the app access_token sent was invalid, superseded or
	// expired (40001, 42001). The caller should fetch a new token and retry
	// once (reference §2.3).
	ErrTokenInvalid = errors.New("wechat: app access token invalid")
	// ErrUnavailable: WeChat could not be used: errcode -1, a transport
	// failure or timeout, an HTTP status other than 200, or an answer that
	// could not be understood.
	ErrUnavailable = errors.New("wechat: unavailable")
	// ErrUnexpectedResponse: WeChat answered 200 with a body that is not
	// JSON, is too large, or lacks a field a success must have. Also
	// [ErrUnavailable].
	ErrUnexpectedResponse = errors.New("wechat: unexpected response")
	// ErrSessionKeyStale: the session_key checked is not the user's
	// current one (87009 "invalid signature" from /wxa/checksession,
	// reference §3.3): it was replaced by a newer wx.login or has
	// expired. The user must log in again.
	ErrSessionKeyStale = errors.New("wechat: session key stale")
	// ErrOAuthTokenInvalid: the user's OAuth access_token (reference §5.3,
	// not the app token) sent to /sns/userinfo or /sns/auth is invalid or
	// expired (40001, 42001 there), or does not go with the openid sent
	// (40003, also [ErrInvalidOpenID]; §1.1 "treat as invalid token").
	// Refresh it ([Client.OAuthRefresh]) or have the user authorize again.
	// Unlike [ErrTokenInvalid], fetching a new app token does not help.
	ErrOAuthTokenInvalid = errors.New("wechat: oauth access token invalid")
	// ErrRefreshTokenInvalid: the OAuth refresh_token is invalid (40030)
	// or past its 30 days (42002, reference §5.4). The user must authorize
	// again.
	ErrRefreshTokenInvalid = errors.New("wechat: oauth refresh token invalid")
	// ErrScopeUnauthorized: the OAuth access_token's scope does not allow
	// the call (48001 on /sns/userinfo or /sns/auth), e.g. /sns/userinfo
	// with a token granted for snsapi_base (reference §5.5). Authorize
	// again with snsapi_userinfo.
	ErrScopeUnauthorized = errors.New("wechat: oauth scope unauthorized")
	// ErrInvalidOpenID: the openid does not belong to this app or to the
	// token sent (40003, reference §1.1, §5.6).
	ErrInvalidOpenID = errors.New("wechat: invalid openid")
)

// errcodeClasses is the one place that gives a WeChat errcode its meaning;
// rows follow the WeChat reference §1.1 ("client reaction" column), §3.2
// and §5, and endpointClasses below overrides them where an endpoint gives
// a code another meaning. An errcode not listed here matches no sentinel:
// callers see an [*APIError] with only its Code to go by.
var errcodeClasses = map[int][]error{
	// §1.1 -1 "system error": WeChat busy, retry later → wechat_unavailable.
	-1: {ErrBusy, ErrUnavailable},

	// §1.1 codes of jscode2session / oauth2 / getuserphonenumber → invalid_code.
	40029: {ErrInvalidCode}, // invalid code: unknown, expired, other app, used phone code
	40163: {ErrInvalidCode}, // code been used
	42003: {ErrInvalidCode}, // code expired (OAuth)

	// §1.1 41008 missing code → invalid_request.
	41008: {ErrMissingCode, ErrInvalidRequest},

	// §1.1, §3.2 40226 code blocked: high-risk user, refuse login.
	40226: {ErrCodeBlocked},

	// §1.1 throttling, transient from the caller's view (§1 "Throttling").
	45009: {ErrRateLimited}, // daily quota exhausted
	45011: {ErrRateLimited}, // per-minute limit

	// §1.1 configuration problems ("config error" / "bug" rows).
	40002: badCredential, // invalid grant_type
	40013: badCredential, // invalid appid
	40125: badCredential, // invalid appsecret
	40243: badCredential, // AppSecret frozen
	41002: badCredential, // appid missing
	41004: badCredential, // appsecret missing

	// §1.1 the caller's (this server's egress) IP: whitelist and the
	// Official Account's IP-confirmation family.
	40164: ipNotAllowed, // not in the whitelist
	61004: ipNotAllowed, // not in the whitelist (newer docs)
	89501: ipNotAllowed, // admin's confirmation pending
	89503: ipNotAllowed, // admin asked to confirm this IP
	89506: ipNotAllowed, // admin refused: blocked 24 h
	89507: ipNotAllowed, // admin refused: blocked 1 h

	// §1.1 the account's state: an operator must act on WeChat's side.
	48004: accountRestricted, // API forbidden for this account
	50004: accountRestricted, // token use banned (punishment)
	50007: accountRestricted, // account frozen
	61024: accountRestricted, // managed by a third-party platform

	// §1.1 48017: a retired WeChat IP was called; resolve by DNS.
	48017: {ErrRetiredHost, ErrConfiguration},

	// §1.1, §2.3 app access_token invalid/superseded or expired: refetch, retry once.
	40001: {ErrTokenInvalid},
	42001: {ErrTokenInvalid},

	// §1.1, §3.3 87009 invalid signature: the session_key is not the
	// user's current one.
	87009: {ErrSessionKeyStale},

	// §1.1, §5.4 OAuth refresh_token invalid (40030) or past 30 days
	// (42002): re-authorize.
	40030: {ErrRefreshTokenInvalid},
	42002: {ErrRefreshTokenInvalid},

	// §1.1, §5.5, §5.6 40003 invalid openid: not this app's, or not the
	// token's (see endpointClasses for the OAuth token endpoints).
	40003: {ErrInvalidOpenID},
}

// Classes that come in pairs with [ErrConfiguration].
var (
	badCredential     = []error{ErrBadCredential, ErrConfiguration}
	ipNotAllowed      = []error{ErrIPNotAllowed, ErrConfiguration}
	accountRestricted = []error{ErrAccountRestricted, ErrConfiguration}
)

// endpointClasses overrides errcodeClasses on the endpoints where an errcode
// means something else. An errcode listed with no class matches no sentinel
// on that endpoint.
var endpointClasses = map[string]map[int][]error{
	// §1.1, §2.1: the endpoints that mint app access tokens from the
	// secret. There 40001 means a wrong AppSecret, not a bad token:
	// classifying it as ErrTokenInvalid would make token-refresh logic loop.
	endpointToken:       {40001: badCredential},
	endpointStableToken: {40001: badCredential},

	// §1.1, §3.5: 48001 on the phone number API means the app lacks the
	// permission (not a verified account), an operator's matter.
	endpointPhoneNumber: {48001: {ErrAPIUnauthorized, ErrConfiguration}},

	// §5.3, §5.4: the OAuth code and refresh exchanges send no access
	// token, app or user, and the reference gives 40001/42001 no meaning
	// there; above all they must not read as ErrTokenInvalid, which
	// triggers an app-token refetch and retry (TokenManager.Do).
	endpointOAuthToken:   {40001: nil, 42001: nil},
	endpointOAuthRefresh: {40001: nil, 42001: nil},

	// §5.5, §5.6: the endpoints called with the user's OAuth access_token.
	endpointUserInfo:   oauthTokenClasses,
	endpointOAuthCheck: oauthTokenClasses,

	// §1.1 48001 api unauthorized, on the app-token call of §5.3's
	// follower lookup: the account lacks that API.
	endpointFollowerInfo: {48001: {ErrAPIUnauthorized}},

	// getUnlimitedQRCode: 41030, the page does not exist in the published
	// mini program (or none is published), is the operator's to fix
	// (qrlogin_page, check_path); 40169, a scene WeChat refuses, is a
	// request it should never have been sent.
	endpointWxaCodeUnlimit: {41030: {ErrConfiguration}, 40169: {ErrInvalidRequest}},
	// 48001 on qrcode/create: only a verified service account may mint
	// parametric QR codes (docs/follow-login.md), an operator's matter.
	endpointQRCodeCreate: {48001: {ErrAPIUnauthorized, ErrConfiguration}},
}

// oauthTokenClasses are the errcodes of the endpoints that take the user's
// OAuth access_token (/sns/userinfo, /sns/auth).
var oauthTokenClasses = map[int][]error{
	// §1.1, §5.5: 40001/42001 concern the user's OAuth token there, not
	// the app token: refresh it (§5.4), never refetch the app token.
	40001: {ErrOAuthTokenInvalid},
	42001: {ErrOAuthTokenInvalid},
	// §1.1 40003 invalid openid, "treat as invalid token"; §5.6's example
	// answer of /sns/auth for a bad pair.
	40003: {ErrInvalidOpenID, ErrOAuthTokenInvalid},
	// §1.1, §5.5 48001 api unauthorized: a snsapi_base token on
	// /sns/userinfo. Elsewhere 48001 (an app lacking an API permission)
	// stays unclassified.
	48001: {ErrScopeUnauthorized},
}

// APIError is WeChat's answer with a non-zero errcode. Branch on Code or,
// better, on the class its Is method gives (errors.Is(err, ErrInvalidCode)).
type APIError struct {
	// Endpoint is the path called, e.g. "/sns/jscode2session".
	Endpoint string
	// Code is WeChat's errcode; it may be negative.
	Code int
	// Msg is WeChat's errmsg as sent, trace suffix included. It is for
	// humans: never compare it. Any request secret echoed in it is
	// replaced by "[redacted]".
	Msg string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat: %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// Is reports whether the errcode belongs to target's class (see the
// package documentation).
func (e *APIError) Is(target error) bool {
	classes, ok := endpointClasses[e.Endpoint][e.Code]
	if !ok {
		classes = errcodeClasses[e.Code]
	}
	for _, class := range classes {
		if class == target {
			return true
		}
	}
	return false
}

// HTTPError is an answer whose HTTP status is not 200. WeChat reports its
// own errors with status 200 (reference §1), so any other status means a
// proxy, gateway or WeChat itself failed; it matches [ErrUnavailable]
// whatever the body says.
type HTTPError struct {
	// Endpoint is the path called, e.g. "/sns/jscode2session".
	Endpoint string
	// Status is the HTTP status code received.
	Status int
}

func (e *HTTPError) Error() string {
	return "wechat: " + e.Endpoint + ": HTTP status " + strconv.Itoa(e.Status)
}

// Is reports whether target is [ErrUnavailable].
func (e *HTTPError) Is(target error) bool { return target == ErrUnavailable }

// Temporary reports whether err is a passing failure that a later attempt may
// not meet: WeChat busy, unavailable (transport, timeout, 5xx, garbled
// answer) or rate limited. For a code exchange the later attempt needs a new
// code: this package never retries one.
func Temporary(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBusy) || errors.Is(err, ErrRateLimited)
}

// callError is a failure other than an errcode or a status: transport
// failures and answers that cannot be used. Its message names the endpoint
// path only, never the URL, with every request secret redacted; its Unwrap
// exposes the classes and the cause.
type callError struct {
	endpoint string
	msg      string
	errs     []error
}

func (e *callError) Error() string   { return "wechat: " + e.endpoint + ": " + e.msg }
func (e *callError) Unwrap() []error { return e.errs }

// transportError wraps a failure of the HTTP exchange. A *url.Error is
// unwrapped first: its message holds the full URL, secret included. ctx is
// the call's context; when it is done its error is kept reachable even if
// the transport reported the failure differently.
func transportError(ctx context.Context, endpoint string, err error, r redactor) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		cause = ue.Err
	}
	errs := []error{ErrUnavailable, cause}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(cause, cerr) {
		errs = append(errs, cerr)
	}
	return &callError{endpoint: endpoint, msg: r.redact(cause.Error()), errs: errs}
}

// credentialEndpoints are the calls that present the app's secret; a
// 200 that is not JSON there is [ErrNotWeChat].
var credentialEndpoints = map[string]bool{
	endpointToken:        true,
	endpointStableToken:  true,
	endpointCode2Session: true,
	endpointOAuthToken:   true,
}

// notWeChat reports a 200 answer to a credential call that is empty or not
// JSON.
func notWeChat(endpoint, contentType string, size int, cause error, r redactor) error {
	why := "empty body"
	if size > 0 {
		why = fmt.Sprintf("%d bytes that are not JSON", size)
	}
	msg := fmt.Sprintf("HTTP 200 with %s (Content-Type %q): not WeChat's answer", why, contentType)
	errs := []error{ErrNotWeChat, ErrConfiguration}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &callError{endpoint: endpoint, msg: r.redact(msg), errs: errs}
}

// unexpected reports an answer that cannot be used.
func unexpected(endpoint, why string, cause error, r redactor) error {
	errs := []error{ErrUnexpectedResponse, ErrUnavailable}
	msg := "unexpected response: " + why
	if cause != nil {
		errs = append(errs, cause)
		msg += ": " + cause.Error()
	}
	return &callError{endpoint: endpoint, msg: r.redact(msg), errs: errs}
}

// redactor removes the values of one request's secrets from text.
type redactor []string

const redacted = "[redacted]"

// sensitiveParams are the query parameters whose values must never appear
// in an error: app secret, one-time codes, tokens, and the signature derived
// from the session_key (reference §3.3).
var sensitiveParams = []string{"secret", "js_code", "code", "access_token", "refresh_token", "signature"}

func newRedactor(q url.Values, secrets ...string) redactor {
	var r redactor
	for _, v := range secrets {
		if v != "" {
			r = append(r, v, url.QueryEscape(v))
		}
	}
	for _, k := range sensitiveParams {
		for _, v := range q[k] {
			if v != "" {
				r = append(r, v, url.QueryEscape(v))
			}
		}
	}
	return r
}

func (r redactor) redact(s string) string {
	for _, v := range r {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}
