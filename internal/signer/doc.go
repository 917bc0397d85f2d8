// Package signer owns wxauth's signing keys: generating them, naming them
// (kid = RFC 7638 JWK thumbprint), keeping them on disk for `wxauth dev`, and
// publishing their public halves as a JWKS document (RFC 7517) at
// /.well-known/jwks.json.
//
// It knows nothing of tokens: package token signs and verifies JWTs with the
// keys a [Set] holds. Keys are Ed25519 (JWS alg "EdDSA", RFC 8037): small,
// fast, and deterministic signatures.
package signer
