package oidc

import "fmt"

// Error is a refusal in OAuth's words (RFC 6749 §4.1.2.1, §5.2, OIDC Core
// §3.1.2.6): Code is the protocol's error code and Description one
// sentence for the client, never internal text.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// The protocol's error codes.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeLoginRequired           = "login_required"
	CodeRequestNotSupported     = "request_not_supported"
	CodeRequestURINotSupported  = "request_uri_not_supported"
	CodeInvalidToken            = "invalid_token"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
)

func oauthErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// PageError is a refusal that must not go back to the client's
// redirect_uri — the client is unknown or the redirect_uri is not one of
// its own (RFC 6749 §4.1.2.1) — and is shown to the person instead.
type PageError struct {
	// English and Chinese say what went wrong, for the page.
	English, Chinese string
}

func (e *PageError) Error() string { return e.English }
