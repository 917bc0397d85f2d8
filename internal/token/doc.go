// Package token issues and checks wxauth's own tokens (docs/api.md "Token response",
// "Sessions"):
//
//   - access tokens: short-lived JWTs signed with the current key of a
//     [signer.Set] (EdDSA, with kid), verified against the set, and checked
//     against the session store so that logout works at once;
//   - refresh tokens: opaque, single use, rotating within a session's chain.
//
// A refresh token is base64url(version | sid | generation | secret | tag).
// The tag is an HMAC over the rest, so forged or truncated tokens are
// refused before any storage lookup, and a token of an older generation is
// known to be a real ancestor (reuse, RFC 6819 §5.2.2.3) rather than a guess.
// Each successor's secret is an HMAC of its predecessor under a server key, so
// a replay inside the grace window can be answered with the same successor
// without ever storing a refresh token in clear: the store keeps only SHA-256
// hashes of the live token and of its predecessor. Storage decides the
// outcome atomically (storage.DecideRotation); this package only mints,
// parses and translates.
package token
