package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/sms"
)

// With sms.provider webhook, instance wires the webhook sender: the code
// reaches the receiver (signed), not the sandbox inbox, and binds; the
// receiver's refusal of a number is the user's 400, its outage a 503.
func TestSMSWebhookProvider(t *testing.T) {
	const secret = "webhook-secret-0123456789abcdef0123"
	var mu sync.Mutex
	status := http.StatusNoContent
	codes := map[string]string{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(sms.WebhookSignatureHeader) != sms.WebhookSignature(secret, r.Header.Get(sms.WebhookTimestampHeader), body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct{ Phone, Code, Purpose, Template string }
		json.Unmarshal(body, &m)
		mu.Lock()
		defer mu.Unlock()
		if status == http.StatusNoContent {
			codes[m.Phone] = m.Code
		}
		w.WriteHeader(status)
	}))
	defer hook.Close()
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.SMS.Provider, c.SMS.WebhookURL, c.SMS.WebhookSecret, c.SMS.Template = config.SMSWebhook, hook.URL, secret, "bind"
	}))
	const phone = "+8613700000077"
	tk := oaTicket(t, s, "oa-hook")
	if r := sendSMS(t, s, tk, phone); r.Status != http.StatusNoContent {
		t.Fatalf("POST /v1/sms/send = %d %s", r.Status, r.Body)
	}
	if len(s.Sandbox.SMS(phone)) != 0 {
		t.Error("the code went to the sandbox inbox too")
	}
	mu.Lock()
	code := codes[phone]
	mu.Unlock()
	mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code})

	mu.Lock()
	status = http.StatusUnprocessableEntity
	mu.Unlock()
	wantError(t, sendSMS(t, s, oaTicket(t, s, "oa-hook-2"), "+8613700000078"), http.StatusBadRequest, api.CodeInvalidRequest)
	mu.Lock()
	status = http.StatusBadGateway
	mu.Unlock()
	wantError(t, sendSMS(t, s, oaTicket(t, s, "oa-hook-3"), "+8613700000079"), http.StatusServiceUnavailable, api.CodeUnavailable)
}
