// Package server is wxauth's HTTP API (docs/api.md): routes, request
// decoding, the translation of errors into the contract's codes (errors.go,
// the one place that does it), and the middleware every route shares
// (request id, panic recovery, metrics, access log).
//
// Handlers decode one request struct, call package login or token, and
// encode the answer; the rules live in those packages.
package server
