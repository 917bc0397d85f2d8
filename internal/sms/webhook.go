package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Webhook hands codes to a service of your own, which sends the text: an
// HTTPS POST of the JSON {"phone", "code", "purpose", "template"} with
//
//	X-Wxauth-Timestamp: <Unix seconds>
//	X-Wxauth-Signature: sha256=<hex HMAC-SHA256 under Secret of "<timestamp>.<body>">
//
// The receiver recomputes the signature, compares it in constant time and
// refuses timestamps more than a few minutes from its clock, so that a
// captured request cannot be replayed later (docs/bind.md "Webhook").
// It answers 2xx when the message was accepted, 400 or 422 when the number
// is refused; anything else is an outage.
type Webhook struct {
	// URL receives the POSTs.
	URL string
	// Secret keys the signature (WXAUTH_SMS_WEBHOOK_SECRET, ≥ 32 bytes).
	Secret string
	// Template is passed on as "template".
	Template string
	// HTTPClient; nil: one with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock of the timestamp; nil: time.Now.
	Now func() time.Time
}

var _ Sender = (*Webhook)(nil)

// Webhook headers.
const (
	WebhookSignatureHeader = "X-Wxauth-Signature"
	WebhookTimestampHeader = "X-Wxauth-Timestamp"
)

// WebhookSignature is the value of X-Wxauth-Signature for body sent at
// timestamp (Unix seconds, as written in X-Wxauth-Timestamp).
func WebhookSignature(secret, timestamp string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// Send implements [Sender].
func (w *Webhook) Send(ctx context.Context, phone, code, purpose string) error {
	body, err := json.Marshal(struct {
		Phone    string `json:"phone"`
		Code     string `json:"code"`
		Purpose  string `json:"purpose"`
		Template string `json:"template"`
	}{phone, code, purpose, w.Template})
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(WebhookTimestampHeader, ts)
	req.Header.Set(WebhookSignatureHeader, WebhookSignature(w.Secret, ts, body))
	status, _, err := send(w.HTTPClient, req)
	if err != nil && status == 0 { // the status decides; the body is not read
		return fmt.Errorf("sms webhook: %w", err)
	}
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return fmt.Errorf("sms webhook: HTTP %d: %w", status, ErrPhoneRejected)
	default:
		return fmt.Errorf("sms webhook: HTTP %d", status)
	}
}

// String hides the secret from logs and %v.
func (w *Webhook) String() string { return "sms webhook" }
