// Package wechat is a client for the WeChat server APIs that wxauth calls
// (https://api.weixin.qq.com): today the Mini Program code exchange
// ([Client.Code2Session]); the app access token, session-key check, phone
// number and Official Account / website OAuth endpoints are added as one
// small method each on the same request plumbing.
//
// It owns the wire format of those endpoints (WeChat reference §1): bodies
// are parsed as JSON whatever their Content-Type, a missing errcode means
// success, unknown fields are ignored, POST bodies are JSON while the
// access_token stays in the query, and errmsg is never compared. It leaves
// to its callers everything above one call: caching app access tokens,
// deciding what an error means for a login, logging and metrics (see
// [Config.Observe]).
//
// # Retries
//
// The package never retries on its own. In particular a code exchange is
// never retried, whatever the failure: a code works exactly once (reference
// §3.1, §3.2), and a request that timed out or got errcode -1 may still have
// spent it. A caller that wants another attempt must get a new code from the
// user's device.
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
//     [ErrRateLimited], [ErrBadCredential], [ErrTokenInvalid]. Errcode -1
//     is both [ErrBusy] and [ErrUnavailable].
//   - An HTTP status other than 200 is an [*HTTPError] and is
//     [ErrUnavailable].
//   - A transport failure (connection refused, timeout, cancelled context)
//     is [ErrUnavailable]; its cause stays reachable, so
//     errors.Is(err, context.DeadlineExceeded) works.
//   - A body that is not JSON, too large, or a success that lacks a required
//     field is [ErrUnexpectedResponse] and also [ErrUnavailable].
//   - Arguments rejected before any call is made are [ErrInvalidRequest].
//
// [Temporary] reports whether a later attempt (with a new code, for code
// exchanges) may succeed.
//
// # Secrets
//
// Request URLs carry the app secret, the code and access tokens in their
// query. Errors returned by this package, including those passed to
// [Config.Observe], never contain them: transport errors are reported with
// the endpoint path only, never the URL. [Session] redacts its session_key
// when formatted or logged.
//
// The package imports nothing of wxauth's own and can be used by any Go
// program.
package wechat
