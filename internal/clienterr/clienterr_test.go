package clienterr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/clienterr"
)

var (
	errState = clienterr.New("invalid_state", "start the login again")
	errOther = clienterr.New("invalid_state", "start the login again")
)

func TestIs(t *testing.T) {
	cause := errors.New("redis: connection refused")
	said := errState.Say("the state is bound to another browser")
	because := errState.Because(cause)
	wrapped := fmt.Errorf("oauth login: %w", said.Because(cause))
	for _, err := range []error{errState, said, because, wrapped} {
		if !errors.Is(err, errState) {
			t.Errorf("errors.Is(%v, errState) = false", err)
		}
		if errors.Is(err, errOther) {
			t.Errorf("errors.Is(%v, errOther) = true: same code and text, another sentinel", err)
		}
	}
	if errors.Is(errState, said) {
		t.Error("a sentinel matches an error made from it; only the other way round")
	}
	if !errors.Is(because, cause) {
		t.Error("the cause is not reachable through Unwrap")
	}
}

func TestMessageKeepsCauseOut(t *testing.T) {
	err := errState.Say("state expired").Because(errors.New("secret internal detail"))
	var ce *clienterr.Error
	if !errors.As(fmt.Errorf("wrapped: %w", err), &ce) {
		t.Fatal("errors.As found no *Error")
	}
	body := ce.Body()
	if body.Description != "state expired" || body.Code != "invalid_state" || body.Status != 400 {
		t.Errorf("Body() = %+v", body)
	}
	if strings.Contains(body.Description, "secret") {
		t.Error("the cause reached the client's description")
	}
	if !strings.Contains(err.Error(), "secret internal detail") {
		t.Errorf("Error() = %q lacks the cause the log needs", err.Error())
	}
}

func TestStatus(t *testing.T) {
	if got := clienterr.WithStatus("invalid_request", 413, "too large").HTTPStatus(); got != 413 {
		t.Errorf("HTTPStatus() = %d, want 413", got)
	}
	if got := clienterr.New("phone_taken", "x").HTTPStatus(); got != 409 {
		t.Errorf("HTTPStatus() = %d, want 409", got)
	}
}
