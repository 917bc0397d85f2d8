// Package sms delivers verification codes by text message. A [Sender] is
// the one thing the login flows need of a provider.
package sms

import (
	"context"
	"log/slog"
	"strings"
)

// Sender delivers an SMS code to a phone (E.164). purpose says what the
// code is for ("bind"), so that the text can say it. Implementations
// return an error when the message was not accepted for delivery.
type Sender interface {
	Send(ctx context.Context, phone, code, purpose string) error
}

// DevSender is the development Sender: it writes the code to the log, with
// the phone masked but for its last four digits (the log is where a
// developer reads it), and hands it to Deliver, the sandbox's SMS inbox
// under `wxauth dev`. It sends nothing: production needs a real Sender.
type DevSender struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Deliver, if not nil, receives every code (sandbox.Sandbox.DeliverSMS).
	Deliver func(phone, code, purpose string)
}

var _ Sender = DevSender{}

// Send implements [Sender].
func (d DevSender) Send(ctx context.Context, phone, code, purpose string) error {
	if d.Logger != nil {
		d.Logger.InfoContext(ctx, "sms code (development sender)", "phone", Mask(phone), "code", code, "purpose", purpose)
	}
	if d.Deliver != nil {
		d.Deliver(phone, code, purpose)
	}
	return nil
}

// Mask hides all but the last four digits of a phone number, for logs.
func Mask(p string) string {
	if len(p) <= 4 {
		return strings.Repeat("*", len(p))
	}
	return strings.Repeat("*", len(p)-4) + p[len(p)-4:]
}
