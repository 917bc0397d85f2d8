// Package clienterr is the error a client may see: a contract code, its
// HTTP status and a sentence written for the client, made where the failure
// starts (the package that knows what went wrong knows what to say). Any
// other error is internal: the server answers a generic message and logs
// it. An Error may carry an internal cause, which is logged and never shown.
//
// Sentinels are *Error values; errors.Is matches an Error made from one
// with [Error.Say] or [Error.Because] (tailscale's util/vizerror is the
// model).
package clienterr

import (
	"fmt"

	"github.com/wxauth/wxauth/api"
)

// Error is a failure whose code and Message go to the client as they are.
type Error struct {
	// Code is the contract's error code (api.Code…).
	Code string
	// Status is the HTTP status; 0 means api.Status(Code).
	Status int
	// Message is the error_description: one sentence for the client, never
	// internal text.
	Message string

	kind  *Error // the sentinel this one was made from (itself if none)
	cause error  // internal detail, for the log only
}

// New makes a sentinel with the contract code and the default sentence.
func New(code, message string) *Error {
	e := &Error{Code: code, Message: message}
	e.kind = e
	return e
}

// WithStatus makes a sentinel whose status is not the code's usual one.
func WithStatus(code string, status int, message string) *Error {
	e := New(code, message)
	e.Status = status
	return e
}

// Say is an error of e's kind with another sentence for the client.
func (e *Error) Say(message string) *Error {
	c := *e
	c.Message = message
	return &c
}

// Sayf is Say with a format. The arguments must be fit for a client:
// never an error's text.
func (e *Error) Sayf(format string, args ...any) *Error {
	return e.Say(fmt.Sprintf(format, args...))
}

// Because is an error of e's kind that keeps cause for the log.
func (e *Error) Because(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// HTTPStatus is the status to answer with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return api.Status(e.Code)
}

// Error is the code, the sentence and, for the log, the cause.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel e was made from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.kind == t && e.kind == t
}

// Body is the contract's error body for e.
func (e *Error) Body() *api.Error {
	return &api.Error{Code: e.Code, Description: e.Message, Status: e.HTTPStatus()}
}
