// Package bearer protects a Go service with wxauth access tokens: a
// [Verifier] checks them locally and [Verifier.Middleware] turns the result
// into the contract's answers (docs/api.md "Errors") and the claims into the
// request's context ([ClaimsFromContext]).
//
// What it owns:
//
//   - The JWKS (GET /.well-known/jwks.json): fetched on first need, kept for
//     the response's Cache-Control max-age (bounded to 1 min–1 h), refreshed
//     in the background when stale, and refetched when a token names an
//     unknown kid, at most once per [Config.MinRefetch] whatever the number
//     of such tokens, one fetch shared by every request waiting for it.
//     EdDSA (Ed25519, RFC 8037) keys, which wxauth issues, and ES256.
//   - The check of a compact JWS, the same one wxauth runs on its own tokens
//     (internal/jwt): alg EdDSA or ES256 matching the key, a kid, no crit,
//     the signature, iss, aud, sub, sid and exp present; nbf and iat may
//     be [Config.Leeway] in the future, exp is exact (a token expires when
//     its token response's expires_in says). Written by hand on
//     encoding/json and crypto/ed25519, within a few percent of the raw
//     signature check.
//   - A bounded cache of verified tokens, keyed by the token's SHA-256: a
//     token seen before costs a hash and a map read. exp is checked on every
//     hit, and a revoked session beats the cache.
//   - Revocations: with a [Config.ServiceKey] the Verifier subscribes to
//     wxauth's push (GET /v1/revocations, Server-Sent Events, see
//     [api.Revocation]), keeps the revoked sids in memory until their tokens
//     have expired, and refuses their tokens with no call to wxauth. The
//     subscriber starts with [Verifier.Start] (or on the first
//     [Verifier.Verify]), reconnects with backoff, and stops with
//     [Verifier.Close]; a stream wxauth ends with `event: reconnect` (an
//     instance stopping) is reopened at once and stays live for up to 1 s
//     meanwhile. It is live once the snapshot of current
//     revocations has arrived (`event: ready`); while it is not,
//     [Config.OnLostRevocations] decides: [FailClosed] refuses every token
//     with 503, [Introspect] asks wxauth per request (POST /v1/introspect).
//
// What it leaves to others: issuing and refreshing tokens (wxauth; the Go
// client is package client), authorization (which user may do what is the
// service's business, from [api.Claims]), and rate limiting. Of wxauth's own
// packages it imports only api and internal/jwt (nothing of the server).
//
// Without a service key a logged-out session's tokens keep working until
// they expire (2 h by default): give resource servers a service key.
//
// docs/resource-servers.md covers other languages: the same JWKS,
// introspection, and the push.
package bearer
