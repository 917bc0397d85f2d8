// Package wechat is a client for the WeChat server APIs that wxauth calls
// (https://api.weixin.qq.com), and the pieces every WeChat backend rewrites
// around them. It owns:
//
//   - Mini Program login: the code exchange ([Client.Code2Session]) and the
//     session-key check ([Client.CheckSessionKey], reference §3.2–§3.3).
//   - Phone numbers from the getPhoneNumber button's code
//     ([Client.PhoneNumber], §3.5).
//   - App access tokens: the endpoints ([Client.Token],
//     [Client.StableToken], §2) and the central token service that must be
//     their only caller ([TokenManager], "中控"): a token shared through a
//     [TokenCache], one fetch in flight across processes, refresh ahead of
//     expiry, one retry with a fresh token after 40001/42001
//     ([TokenManager.Do]). [NewMemoryTokenCache] serves one process;
//     wxauth's stores implement the cache across processes.
//   - Legacy encrypted user data (§3.7): [Decrypt], [DecryptUserInfo] and
//     [DecryptPhone] with the official demos' checks and error codes
//     ([*DecryptError]), and the rawData signature ([VerifyRawData]).
//   - Official Account web OAuth and website QR login (§5, §6): the
//     authorization page's URL with WeChat's strict parameter order
//     ([Client.AuthorizeURL]), the code exchange ([Client.OAuthExchange]),
//     the user's token refresh and check ([Client.OAuthRefresh],
//     [Client.OAuthCheck]) and profile ([Client.OAuthUserInfo]). The
//     user's OAuth tokens ([OAuthToken]) are not app access tokens: this
//     package neither caches nor refreshes them.
//   - Parametric QR codes of an Official Account ([Client.CreateQRCode],
//     [Client.ShowQRCode] on mp.weixin.qq.com). What WeChat pushes back
//     when one is scanned is read by package wechat/push.
//
// Each endpoint is one small method on the same request plumbing, which owns
// the wire format (WeChat reference §1): bodies are parsed as JSON whatever
// their Content-Type, a missing errcode means success, unknown fields are
// ignored, POST bodies are JSON while the access_token stays in the query,
// and errmsg is never compared. It leaves to its callers what an error
// means for a login (a stale session_key, a used code), where secrets and
// session keys are stored, logging and metrics (see [Config.Observe] and
// [TokenManagerConfig.Observe]).
//
// # Retries
//
// A code exchange (a wx.login code, a phone-number code or an OAuth code)
// is never retried, whatever the failure: a code works exactly once
// (reference §3.1, §3.2, §3.5, §5.2), and a request that timed out or got
// errcode -1 may still have spent it. A caller that wants another attempt
// must get a new code from the user's device. It moves to the next of
// [Config.APIBases] only when its request could not be written (DNS
// failure, connection refused), as nothing was sent.
//
// Calls that spend no code (app tokens without force_refresh,
// /sns/userinfo, /sns/auth, checksession) are retried once after -1, after
// [Config.RetryBackoff] (reference §1 "Retries"), and move to the next host
// after any transport failure. [TokenManager.Do] also retries once with a
// fresh app access token after WeChat refused the previous one (§2.3).
//
// # Errors
//
// Every error can be classified with [errors.Is] against the sentinels of
// this package; never compare error text (WeChat's errmsg carries a per-call
// trace suffix):
//
//   - A non-zero errcode is an [*APIError]. Its Is method maps the errcode
//     to a class (the table in errors.go, after reference §1.1):
//     [ErrInvalidCode], [ErrMissingCode], [ErrCodeBlocked], [ErrBusy],
//     [ErrRateLimited], [ErrBadCredential], [ErrTokenInvalid],
//     [ErrSessionKeyStale], [ErrOAuthTokenInvalid],
//     [ErrRefreshTokenInvalid], [ErrScopeUnauthorized],
//     [ErrInvalidOpenID]. Errcode -1 is both [ErrBusy] and
//     [ErrUnavailable]. Some codes depend on the endpoint ([APIError]
//     knows it): 40001 is [ErrBadCredential] on the app token endpoints (a
//     wrong secret); 40001 and 42001 are [ErrOAuthTokenInvalid] on
//     /sns/userinfo and /sns/auth (the user's OAuth token), match nothing
//     on the OAuth code and refresh exchanges (no token is sent), and are
//     [ErrTokenInvalid] (the app token) elsewhere; 48001 is
//     [ErrScopeUnauthorized] on /sns/userinfo and /sns/auth only.
//   - An HTTP status other than 200 is an [*HTTPError] and is
//     [ErrUnavailable].
//   - A transport failure (connection refused, timeout, cancelled context)
//     is [ErrUnavailable]; its cause stays reachable, so
//     errors.Is(err, context.DeadlineExceeded) works.
//   - A body that is not JSON, too large, or a success that lacks a required
//     field is [ErrUnexpectedResponse] and also [ErrUnavailable].
//   - Arguments rejected before any call is made are [ErrInvalidRequest].
//   - Decryption failures are [*DecryptError] with the official demos'
//     code: [ErrIllegalAESKey], [ErrIllegalIV], [ErrIllegalBuffer] (also
//     for a watermark of another app, [ErrWatermark]), [ErrDecodeBase64].
//
// [Temporary] reports whether a later attempt (with a new code, for code
// exchanges) may succeed.
//
// # Secrets
//
// Requests carry the app secret, codes, access tokens (the app's and the
// users' OAuth ones), OAuth refresh tokens and a signature made with the
// session_key, in their query or JSON body. Errors returned by this
// package, including those passed to [Config.Observe], never contain them:
// transport errors are reported with the endpoint path only, never the URL,
// and any of them echoed in an errmsg is redacted. Decryption errors never
// quote the key, the data or the plaintext. [Session] redacts its
// session_key, [AppToken] its token, [OAuthToken] its access and refresh
// tokens, and [PhoneInfo] all but the last four digits of its numbers when
// formatted or logged. [Client.AuthorizeURL]'s errors never quote the
// state.
//
// The package imports nothing of wxauth's own and can be used by any Go
// program.
package wechat
