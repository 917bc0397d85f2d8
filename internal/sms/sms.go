// Package sms delivers verification codes by text message. A [Sender] is
// the one thing the login flows need of a provider; this package has one
// per provider, a file each: [Tencent] (Tencent Cloud SMS), [Aliyun]
// (Alibaba Cloud SMS), [Webhook] (a signed POST to a service of yours) and
// [DevSender] (the sandbox inbox of `wxauth dev`). None of them logs a
// code. A refusal of the number itself is [ErrPhoneRejected]; any other
// error is the provider's or the credentials' (an outage to the client).
package sms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Sender delivers an SMS code to a phone (E.164). purpose says what the
// code is for ("bind"), so that the text can say it. Implementations
// return an error when the message was not accepted for delivery.
type Sender interface {
	Send(ctx context.Context, phone, code, purpose string) error
}

// ErrPhoneRejected is a provider's refusal of the number itself (malformed,
// a region it does not serve, blocked): the user's problem, not an outage.
// Any other error of a Sender means the message was not sent for reasons
// of the provider or of our credentials.
var ErrPhoneRejected = errors.New("sms: the provider refused the phone number")

// defaultHTTPClient is the providers' client when none is given: no
// request waits on a provider for more than 10 s, and none follows a
// redirect (it would carry the code to wherever the answer points; a 3xx
// counts as a failure).
var defaultHTTPClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// send makes one call to a provider with client (nil: one with a timeout
// that follows no redirect) and reads at most 64 KiB of its answer.
func send(client *http.Client, req *http.Request) (status int, body []byte, err error) {
	if client == nil {
		client = defaultHTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// DevSender is the development Sender of `wxauth dev`: it hands every code
// to Deliver, the sandbox's SMS inbox, and sends nothing. It never logs a
// code (docs/security.md): a code in a log is a code whoever reads the log
// can use. With no inbox it refuses, so that no code is lost silently.
type DevSender struct {
	// Logger; nil discards. It gets one Info line per code delivered, with
	// the phone masked but for its last four digits, and never the code.
	Logger *slog.Logger
	// Deliver receives every code (sandbox.Sandbox.DeliverSMS). Nil: Send
	// fails with [ErrNoInbox].
	Deliver func(phone, code, purpose string)
}

var _ Sender = DevSender{}

// ErrNoInbox is the development sender's answer when there is no sandbox
// inbox to deliver to (`wxauth serve` has none).
var ErrNoInbox = errors.New("sms: the development sender has no sandbox inbox to deliver to; configure sms.provider")

// Send implements [Sender].
func (d DevSender) Send(ctx context.Context, phone, code, purpose string) error {
	if d.Deliver == nil {
		return ErrNoInbox
	}
	d.Deliver(phone, code, purpose)
	if d.Logger != nil {
		d.Logger.InfoContext(ctx, "sms code delivered to the sandbox inbox", "phone", Mask(phone), "purpose", purpose)
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
