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
	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/wechat"
)

// Errors this package makes itself.
var (
	errInvalidRequestKind   = clienterr.New(api.CodeInvalidRequest, "a parameter is missing or malformed")
	errNotFoundKind         = clienterr.New(api.CodeNotFound, "no such resource")
	errTooLarge             = clienterr.WithStatus(api.CodeInvalidRequest, http.StatusRequestEntityTooLarge, "the body is larger than 64 KiB")
	errUnsupportedMediaType = clienterr.WithStatus(api.CodeInvalidRequest, http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json")
	errMethodNotAllowed     = clienterr.New(api.CodeMethodNotAllowed, "this method is not allowed on this endpoint")
	errUnknownApp           = clienterr.New(api.CodeUnknownApp, "no configured app has this name")
	errServiceKey           = clienterr.New(api.CodeInvalidToken, "a configured service key is required as the bearer token")
	errTooManyStreams       = clienterr.New(api.CodeRateLimited, "this service key has too many revocation streams open")
	errInsufficientScope    = clienterr.New(api.CodeInsufficientScope, "this service key's scopes do not include this endpoint")
	errNotReady             = clienterr.New(api.CodeUnavailable, "not ready")
	errFeedNotLive          = clienterr.New(api.CodeUnavailable, "the revocation feed is not live yet; retry shortly")
)

func errInvalidRequest(desc string) error { return errInvalidRequestKind.Say(desc) }
func errNotFound(desc string) error       { return errNotFoundKind.Say(desc) }

// translate turns an error into the contract's answer (docs/api.md
// "Errors") and says how loudly to log its cause. An error made for the
// client (*clienterr.Error, from the package where the failure started)
// answers as it is; the table below is only what is truly generic — our
// own tokens, limits, WeChat's refusals, storage and cancellation — and
// anything else is a server_error with a generic sentence: internal text
// never reaches the client.
func translate(err error) (*api.Error, slog.Level) {
	var ce *clienterr.Error
	if errors.As(err, &ce) {
		level := slog.LevelDebug
		if ce.HTTPStatus() >= 500 {
			level = slog.LevelError
		}
		return ce.Body(), level
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

	// WeChat.
	case errors.Is(err, wechat.ErrInvalidCode), errors.Is(err, wechat.ErrMissingCode):
		out = e(api.CodeInvalidCode, "WeChat rejected the code (invalid, expired or already used); get a new one")
	case errors.Is(err, wechat.ErrCodeBlocked):
		out = e(api.CodeInvalidCode, "WeChat refused this login (high-risk user)")
	case errors.Is(err, wechat.ErrBadCredential):
		// The app's appid or secret is wrong: an operator must act.
		out = e(api.CodeWeChatUnavailable, "WeChat rejected this app's credentials")
		level = slog.LevelError
	case errors.Is(err, wechat.ErrConfiguration):
		// This server's egress IP, the account's state, the API
		// permission or api_base: an operator must act (writeError logs
		// what to do); retrying with a new code does not help.
		out = e(api.CodeWeChatUnavailable, "WeChat cannot be used for this app until an operator fixes its configuration")
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

// writeError answers err in the contract's shape and logs its cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, level := translate(err)
	attrs := []any{"err", err, "error", e.Code, "route", r.Pattern}
	if e.WeChatErrcode != nil {
		attrs = append(attrs, "wechat_errcode", *e.WeChatErrcode)
	}
	if action := wechat.OperatorAction(err); action != "" {
		attrs = append(attrs, "action", action)
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
