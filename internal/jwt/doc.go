// Package jwt is wxauth's one implementation of its access tokens' JWT
// (RFC 7519) as a compact JWS (RFC 7515 §7.1): writing them for package
// token and checking them for package token (wxauth itself) and package
// bearer (resource servers).
//
// What it owns:
//
//   - Signing: [SignEdDSA] writes the header and the claims ([api.Claims],
//     in a fixed key order, no reflection) into one buffer and signs them
//     with Ed25519 (RFC 8037).
//   - The check ([Verifier.Verify]): length cap, strict base64url (one
//     spelling per token), the JOSE header (alg on an allow-list of EdDSA
//     and ES256 matching the key's, never none or HMAC; a kid; typ absent
//     or JWT; no crit), the signature, and only then the claims.
//   - One claims check: iss and aud equal to the expected ones (aud a single
//     string), sub, sid and exp present, and the times under one leeway
//     policy (below).
//
// The leeway policy. Clocks differ between wxauth's instances and the
// resource servers, so a fresh token may look minted in the future: nbf
// and iat are allowed [Verifier.Leeway] of skew ([DefaultLeeway], 30 s,
// unless the caller says otherwise). exp gets none: a token is expired at
// exp on every verifier (RFC 7519 §4.1.4), exactly when the token response's
// expires_in says. Refusing a token a little early costs the client one
// refresh; refusing a fresh one as "not yet valid" could not be cured by
// refreshing, which is why the leeway goes there and not on exp.
//
// wxauth's own header and claims (as [SignEdDSA] writes them) are read by
// a small scanner that a fuzz test holds to encoding/json; anything else
// goes through encoding/json. The result stays within a few percent of the
// raw signature check, which every verification pays anyway.
//
// What it leaves to others: where keys come from (signer, keyring, the
// JWKS cache of bearer), sessions and revocation (token, bearer), and
// which error code a failure becomes. It imports only package api of
// wxauth's own, so that bearer, a public package, may use it.
package jwt
