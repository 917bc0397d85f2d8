// Package server is wxauth's HTTP API (docs/api.md): routes, request
// decoding, writing errors in the contract's shape (errors.go: a
// clienterr.Error answers as its package made it; the table there holds
// only the generic failures), and the middleware every route shares
// (request id, panic recovery, metrics, access log).
//
// Handlers decode one request struct, call package login or token, and
// encode the answer; the rules live in those packages.
package server
