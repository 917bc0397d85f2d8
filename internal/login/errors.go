package login

import (
	"fmt"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/clienterr"
)

// The failures of logging in a client may see, each with its contract
// code and the sentence a client reads by default; the flows say more
// where they know more (clienterr.Error.Say).
var (
	ErrInvalidRequest = clienterr.New(api.CodeInvalidRequest, "a parameter is missing or malformed")
	ErrUnknownApp     = clienterr.New(api.CodeUnknownApp, "no configured app of the right kind has this name")

	// ErrUserDisabled: the user is disabled (storage.User.Disabled); every
	// flow meets it in SignIn.
	ErrUserDisabled = clienterr.New(api.CodeUserDisabled, "this account is disabled; contact the service's operator")

	// Browser logins.
	ErrInvalidState         = clienterr.New(api.CodeInvalidState, "the login state is unknown, used, expired, or belongs to another browser; start the login again")
	ErrForbiddenRedirect    = clienterr.New(api.CodeForbiddenRedirect, "the redirect is not on the allow-list")
	ErrSnapshotUser         = clienterr.New(api.CodeSnapshotUser, "this is WeChat's snapshot page; open the page fully to log in")
	ErrDenied               = clienterr.New(api.CodeInvalidRequest, "the user denied the authorization (WeChat returned no code)")
	ErrWeChatClientRequired = clienterr.New(api.CodeWeChatClientRequired,
		"an Official Account login opens only inside WeChat; open this page in WeChat (no website app is configured for a QR login)")

	// Binding a phone.
	ErrInvalidTicket  = clienterr.New(api.CodeInvalidTicket, "the bind ticket is unknown, used or expired; log in again")
	ErrInvalidSMSCode = clienterr.New(api.CodeInvalidSMSCode, "the SMS code is wrong, expired or used; request a new one")
	ErrSMSUnavailable = clienterr.WithStatus(api.CodeUnavailable, http.StatusServiceUnavailable, "the SMS could not be sent; retry later")
	// ErrSMSPhoneRejected: the SMS provider refused the number itself
	// (sms.ErrPhoneRejected): the user's to fix, not an outage.
	ErrSMSPhoneRejected = clienterr.New(api.CodeInvalidRequest, "the SMS provider refused this phone number; check it or use another")
	// ErrSMSBudgetSpent: the day's SMS budget of the whole service is
	// spent; sends resume at 00:00 UTC.
	ErrSMSBudgetSpent   = clienterr.WithStatus(api.CodeUnavailable, http.StatusServiceUnavailable, "no SMS can be sent today; use the mini program's phone button, or retry after 00:00 UTC")
	ErrPhoneNotAllowed  = clienterr.New(api.CodePhoneNotAllowed, "SMS codes are not sent to this country")
	ErrTicketSendsSpent = clienterr.New(api.CodeRateLimited, fmt.Sprintf("this bind ticket has had its %d SMS codes; enter one of them, or log in again", MaxSends))

	// QR logins (qrlogin.go).
	ErrInvalidQRTicket = clienterr.New(api.CodeInvalidTicket, "the QR login ticket is unknown, used or expired; show a new code")
	ErrQRConflict      = clienterr.New(api.CodeTicketConflict, "the QR login ticket is not in a state that allows this step")
	ErrQRPollToken     = clienterr.New(api.CodeInvalidToken, "the poll token of this ticket is required as the bearer token")

	// Mini program data.
	ErrSessionKeyExpired = clienterr.New(api.CodeSessionKeyExpired, "the data cannot be decrypted with this session's session_key; call wx.login, log in again, then ask WeChat for the data again")
	ErrInvalidSignature  = clienterr.New(api.CodeInvalidSignature, "the data's signature or watermark does not match")
	ErrPhoneTaken        = clienterr.New(api.CodePhoneTaken, "this phone number belongs to another user")
	ErrNotMiniProgram    = clienterr.New(api.CodeInvalidRequest, "this session was not opened by a mini program login")
)
