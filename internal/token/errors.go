package token

import "errors"

// Errors of this package; each maps to one error code of docs/api.md "Errors".
var (
	// ErrInvalidToken: an access token that is missing, malformed, or has a
	// wrong signature, issuer or audience (invalid_token).
	ErrInvalidToken = errors.New("token: invalid access token")
	// ErrTokenExpired: a genuine access token past its exp (token_expired).
	ErrTokenExpired = errors.New("token: access token expired")
	// ErrSessionRevoked: a genuine, unexpired access token whose session was
	// logged out or revoked (session_revoked).
	ErrSessionRevoked = errors.New("token: session revoked")
	// ErrInvalidGrant: a refresh token that is unknown, forged, expired, or
	// whose session is gone (invalid_grant).
	ErrInvalidGrant = errors.New("token: invalid refresh token")
	// ErrReused: a rotated refresh token replayed after the grace window, or
	// an older ancestor; the session has been revoked (refresh_token_reused).
	ErrReused = errors.New("token: refresh token reused")
)
