// Package client is the Go client of wxauth: it holds one login's tokens,
// refreshes them, and authorizes a program's HTTP requests, in the shape of
// golang.org/x/oauth2.
//
// A [Client] talks to one wxauth server ([Config].BaseURL). It gets its
// tokens from a login it makes itself ([Client.LoginMiniProgram]) or from
// one done elsewhere ([Client.SetToken]), and keeps them in memory or in a
// [TokenStore] of the caller's. From there:
//
//   - [Client.TokenSource] hands out a valid access token, refreshing it when
//     it is near expiry (by default 60 s or a tenth of its lifetime before,
//     whichever is shorter, as the JavaScript SDK does). Concurrent callers
//     share one refresh: there is never more than one in flight per Client,
//     so that a burst of requests does not spend the single-use refresh
//     token many times (docs/api.md "Sessions").
//   - [Client.Transport] wraps an [http.RoundTripper]: it adds
//     "Authorization: Bearer" to requests for the wxauth server and the
//     configured API origins, and to no other; on a 401 token_expired or
//     invalid_token (an access token the server cannot verify, e.g. signed by
//     a key it no longer has) it refreshes (sharing any refresh in flight)
//     and retries the request once. A request that still fails is answered
//     as the server answered. The JavaScript SDK (sdk/js) treats each 401
//     code the same way.
//   - [Client.Me], [Client.Sessions], [Client.RevokeSession] and
//     [Client.Logout] call the protected endpoints through that transport.
//
// Errors from the server are [*api.Error] values with Status set; use
// errors.As. When the session cannot continue — the refresh token is
// unknown, expired or replayed (invalid_grant, refresh_token_reused), or the
// session was revoked (session_revoked) — the Client forgets its tokens and
// returns an error matching [ErrLoginRequired] (which also wraps the
// server's [*api.Error]). The Client never loops: at most one refresh per
// call and one retry per request.
//
// The package imports only package api of wxauth. It does not verify access
// tokens (that is package bearer's job, on the resource server's side); it
// treats them as opaque strings, except that it reads a stored token's iat
// and exp to learn its lifetime.
package client
