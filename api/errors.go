package api

import "fmt"

// Error codes of the contract (docs/api.md "Errors"). The HTTP status that goes with
// each is given by [Status].
const (
	CodeInvalidRequest     = "invalid_request"
	CodeUnknownApp         = "unknown_app"
	CodeInvalidCode        = "invalid_code"
	CodeWeChatUnavailable  = "wechat_unavailable"
	CodeRateLimited        = "rate_limited"
	CodeInvalidToken       = "invalid_token"
	CodeTokenExpired       = "token_expired"
	CodeSessionRevoked     = "session_revoked"
	CodeInvalidGrant       = "invalid_grant"
	CodeRefreshTokenReused = "refresh_token_reused"
	CodeSessionKeyExpired  = "session_key_expired"
	CodeInvalidState       = "invalid_state"
	CodeForbiddenRedirect  = "forbidden_redirect"
	CodeSnapshotUser       = "snapshot_user"
	CodeUnavailable        = "unavailable"
	CodeInvalidSignature   = "invalid_signature"
	CodeInvalidTicket      = "invalid_ticket"
	CodeInvalidSMSCode     = "invalid_sms_code"
	CodePhoneTaken         = "phone_taken"
	// CodePhoneNotAllowed: no SMS code is sent to the phone's country
	// (the configured sms.countries).
	CodePhoneNotAllowed = "phone_not_allowed"
	// CodeWeChatClientRequired: an Official Account login asked from a
	// browser other than WeChat's, and no website app to log in instead.
	CodeWeChatClientRequired = "wechat_client_required"
	// CodeInsufficientScope: a valid service key used outside its scopes
	// (see [ServiceKeyScopes]).
	CodeInsufficientScope = "insufficient_scope"
	// CodeTicketConflict: a QR login ticket is not in a state that allows
	// the step (scanned by another user, confirmed or cancelled already,
	// not scanned yet); of a confirm and a cancel that race, the loser.
	CodeTicketConflict = "ticket_conflict"
	// CodeUserDisabled: the user is disabled by an operator; logins and
	// refreshes are refused until it is enabled (docs/operations.md
	// "Disabling a user").
	CodeUserDisabled = "user_disabled"
	// CodeReauthenticationRequired: the step (DELETE /v1/me) needs a
	// session opened by a recent login (account.delete_recent_login); log
	// in again and retry with the new session.
	CodeReauthenticationRequired = "reauthentication_required"
	// CodeNotFound is not in the contract's table; it answers 404 for routes
	// and resources that do not exist (DELETE /v1/sessions/{id}).
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed answers 405 for a known path asked with a method
	// it does not serve; the Allow header lists the ones it does.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeServerError answers an unexpected failure. It should never be seen.
	CodeServerError = "server_error"
)

var statuses = map[string]int{
	CodeInvalidRequest:           400,
	CodeUnknownApp:               400,
	CodeInvalidCode:              400,
	CodeWeChatUnavailable:        502,
	CodeRateLimited:              429,
	CodeInvalidToken:             401,
	CodeTokenExpired:             401,
	CodeSessionRevoked:           401,
	CodeInvalidGrant:             401,
	CodeRefreshTokenReused:       401,
	CodeSessionKeyExpired:        409,
	CodeInvalidState:             400,
	CodeForbiddenRedirect:        400,
	CodeSnapshotUser:             403,
	CodeUnavailable:              503,
	CodeInvalidSignature:         400,
	CodeInvalidTicket:            400,
	CodeInvalidSMSCode:           400,
	CodePhoneTaken:               409,
	CodePhoneNotAllowed:          400,
	CodeWeChatClientRequired:     400,
	CodeInsufficientScope:        403,
	CodeTicketConflict:           409,
	CodeUserDisabled:             403,
	CodeReauthenticationRequired: 403,
	CodeNotFound:                 404,
	CodeMethodNotAllowed:         405,
	CodeServerError:              500,
}

// Status is the HTTP status the contract gives an error code; 500 for a code
// it does not know.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return 500
}

// Error is the contract's error body. It is also an error value, so that the
// Go client can return what the server said.
type Error struct {
	Code          string `json:"error"`
	Description   string `json:"error_description"`
	WeChatErrcode *int   `json:"wechat_errcode,omitempty"`
	// Status is the HTTP status the error came with; not part of the body.
	Status int `json:"-"`
}

func (e *Error) Error() string {
	if e.WeChatErrcode != nil {
		return fmt.Sprintf("%s: %s (wechat errcode %d)", e.Code, e.Description, *e.WeChatErrcode)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Description)
}
