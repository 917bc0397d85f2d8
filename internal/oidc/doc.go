// Package oidc is wxauth's OpenID Provider (docs/oidc.md): the rules of
// OpenID Connect Core 1.0 and OAuth 2.0 (RFC 6749, 7636, 7009) in front of
// the WeChat logins. It owns the registered clients, the authorization
// request kept while the person logs in with WeChat, the single-use
// authorization codes, ID tokens (signed with the server's keys), pairwise
// subjects and the OP's browser session.
//
// It leaves sessions to package token: an OIDC login opens an ordinary
// wxauth session (app "oidc:<client_id>"), so the refresh_token grant is
// wxauth's rotation (single use, grace window, reuse detection) and
// revocation is wxauth's (the revocation feed). The WeChat login itself is
// package login's; the HTTP handlers are package server's.
package oidc
