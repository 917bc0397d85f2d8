package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/bind"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/mpdata"
	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

// clientError is an error whose code and description may be shown to the
// client as they are. Anything else is translated by [translate].
type clientError struct {
	code, desc string
	status     int // 0: api.Status(code)
}

func (e *clientError) Error() string { return e.code + ": " + e.desc }

func errInvalidRequest(desc string) error {
	return &clientError{code: api.CodeInvalidRequest, desc: desc}
}
func errNotFound(desc string) error { return &clientError{code: api.CodeNotFound, desc: desc} }

var errTooLarge = &clientError{code: api.CodeInvalidRequest, desc: "the body is larger than 64 KiB", status: http.StatusRequestEntityTooLarge}

// translate is the one place where an error becomes the contract's answer
// (docs/api.md "Errors"). It returns the body, the status, and how loudly to log
// the cause: internal text never reaches the client.
func translate(err error) (*api.Error, slog.Level) {
	var ce *clientError
	if errors.As(err, &ce) {
		e := &api.Error{Code: ce.code, Description: ce.desc, Status: ce.status}
		if e.Status == 0 {
			e.Status = api.Status(ce.code)
		}
		return e, slog.LevelDebug
	}
	e := func(code, desc string) *api.Error {
		return &api.Error{Code: code, Description: desc, Status: api.Status(code)}
	}
	var out *api.Error
	level := slog.LevelDebug
	switch {
	// Our own tokens.
	case errors.Is(err, token.ErrTokenExpired):
		out = e(api.CodeTokenExpired, "the access token has expired; refresh it")
	case errors.Is(err, token.ErrSessionRevoked):
		out = e(api.CodeSessionRevoked, "the session was logged out or revoked; log in again")
	case errors.Is(err, token.ErrInvalidToken):
		out = e(api.CodeInvalidToken, "the access token is missing, malformed or not ours")
	case errors.Is(err, token.ErrReused):
		out = e(api.CodeRefreshTokenReused, "this refresh token was already used; the session has been revoked for safety, log in again")
		level = slog.LevelWarn
	case errors.Is(err, token.ErrInvalidGrant):
		out = e(api.CodeInvalidGrant, "the refresh token is unknown, expired, or its session has ended; log in again")

	// Limits.
	case errors.Is(err, storage.ErrLimited):
		out = e(api.CodeRateLimited, "too many attempts; retry later")
		level = slog.LevelInfo

	// Login.
	case errors.Is(err, login.ErrInvalidState):
		out = e(api.CodeInvalidState, "the login state is unknown, used, expired, or belongs to another browser; start the login again")
	case errors.Is(err, login.ErrForbiddenRedirect):
		out = e(api.CodeForbiddenRedirect, publicText(err))
	case errors.Is(err, login.ErrSnapshotUser):
		out = e(api.CodeSnapshotUser, "this is WeChat's snapshot page; open the page fully to log in")
	case errors.Is(err, login.ErrDenied):
		out = e(api.CodeInvalidRequest, "the user denied the authorization (WeChat returned no code)")
	case errors.Is(err, login.ErrUnknownApp):
		out = e(api.CodeUnknownApp, "no configured app of the right kind has this name")
	case errors.Is(err, login.ErrInvalidRequest):
		out = e(api.CodeInvalidRequest, publicText(err))

	// Mini program data.
	case errors.Is(err, mpdata.ErrSessionKeyExpired):
		out = e(api.CodeSessionKeyExpired, "the data cannot be decrypted with this session's session_key; call wx.login, log in again, then ask WeChat for the data again")
	case errors.Is(err, mpdata.ErrInvalidSignature):
		out = e(api.CodeInvalidSignature, "the data's signature or watermark does not match")
	case errors.Is(err, mpdata.ErrPhoneTaken):
		out = e(api.CodePhoneTaken, "this phone number belongs to another user")
	case errors.Is(err, mpdata.ErrNotMiniProgram):
		out = e(api.CodeInvalidRequest, "this session was not opened by a mini program login")
	case errors.Is(err, mpdata.ErrInvalidRequest):
		out = e(api.CodeInvalidRequest, publicText(err))

	// Binding.
	case errors.Is(err, bind.ErrInvalidTicket):
		out = e(api.CodeInvalidTicket, publicText(err))
	case errors.Is(err, bind.ErrInvalidSMSCode):
		out = e(api.CodeInvalidSMSCode, publicText(err))
	case errors.Is(err, bind.ErrInvalidRequest):
		out = e(api.CodeInvalidRequest, publicText(err))
	case errors.Is(err, bind.ErrSMSUnavailable):
		// The SMS provider failed: an operator may have to act.
		out = e(api.CodeUnavailable, "the SMS could not be sent; retry later")
		level = slog.LevelError

	// WeChat.
	case errors.Is(err, wechat.ErrInvalidCode), errors.Is(err, wechat.ErrMissingCode):
		out = e(api.CodeInvalidCode, "WeChat rejected the code (invalid, expired or already used); get a new one")
	case errors.Is(err, wechat.ErrCodeBlocked):
		out = e(api.CodeInvalidCode, "WeChat refused this login (high-risk user)")
	case errors.Is(err, wechat.ErrBadCredential):
		// The app's appid or secret is wrong: an operator must act.
		out = e(api.CodeWeChatUnavailable, "WeChat rejected this app's credentials")
		level = slog.LevelError
	case errors.Is(err, wechat.ErrUnavailable), errors.Is(err, wechat.ErrRateLimited),
		errors.Is(err, wechat.ErrTokenInvalid):
		out = e(api.CodeWeChatUnavailable, "WeChat failed or timed out; retry with a new code")
		level = slog.LevelWarn
	case isWeChatRefusal(err):
		// Any other errcode (a user token WeChat refused, a scope it would
		// not grant, …): WeChat said no, which is not our failure.
		out = e(api.CodeWeChatUnavailable, "WeChat refused the request")
		level = slog.LevelWarn

	// Storage.
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		out = e(api.CodeUnavailable, "storage is unreachable; retry later")
		level = slog.LevelError
	case errors.Is(err, context.Canceled):
		out = e(api.CodeUnavailable, "the request was cancelled")
	default:
		out = e(api.CodeServerError, "an unexpected error happened; it has been logged")
		level = slog.LevelError
	}
	var apiErr *wechat.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.Code
		out.WeChatErrcode = &code
	}
	return out, level
}

// publicText is the message of an error meant for clients: the outermost
// text, which packages write for that purpose (login.ErrInvalidRequest).
func publicText(err error) string { return fmt.Sprint(err) }

// writeError answers err in the contract's shape and logs its cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, level := translate(err)
	attrs := []any{"err", err, "error", e.Code, "route", r.Pattern}
	if e.WeChatErrcode != nil {
		attrs = append(attrs, "wechat_errcode", *e.WeChatErrcode)
	}
	s.log.Log(r.Context(), level, "request failed", attrs...)
	var limited *storage.LimitError
	if errors.As(err, &limited) {
		secs := int((limited.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, e.Description))
	}
	writeJSON(w, e.Status, e)
}

// isWeChatRefusal reports whether err carries an answer from WeChat.
func isWeChatRefusal(err error) bool {
	var apiErr *wechat.APIError
	return errors.As(err, &apiErr)
}
