// Package tokenheader is the one rule for where a request carries its
// access token: `Authorization: Bearer <token>` (RFC 6750 §2.1), or, when an
// operator names one, a header of its own holding the raw token (a front
// end that sends `X-Wx-Ticket: <token>`). wxauth's authenticated endpoints
// (internal/server) and the resource-server middleware (bearer) read tokens
// through it, and configuration checks the header name with it, so the
// three never disagree. It decides nothing about the token itself.
package tokenheader
