package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// docs/sandbox.md: GET /sandbox/v1/sms?phone=… lists what the development
// SMS sender delivered to that phone, oldest first.
func TestSMSInbox(t *testing.T) {
	e := newEnv(t, nil)
	const alice, bob = "+8613800000001", "+8613800000002"
	t0 := e.clock.Now()
	e.sb.DeliverSMS(alice, "123456", "bind")
	e.clock.Advance(time.Minute)
	e.sb.DeliverSMS(bob, "000111", "bind")
	e.sb.DeliverSMS(alice, "654321", "login")

	type messages struct {
		Messages []map[string]any `json:"messages"`
	}
	want := messages{Messages: []map[string]any{
		{"phone": alice, "code": "123456", "purpose": "bind", "sent_at": t0.UTC().Format(time.RFC3339)},
		{"phone": alice, "code": "654321", "purpose": "login", "sent_at": t0.Add(time.Minute).UTC().Format(time.RFC3339)},
	}}
	for _, q := range []string{"phone=" + url.QueryEscape(alice), "phone=" + alice} { // an unescaped + arrives as a space
		var got messages
		if status := e.control(t, http.MethodGet, "/sms?"+q, nil, &got); status != http.StatusOK {
			t.Fatalf("GET /sms?%s: status %d", q, status)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET /sms?%s (-want +got):\n%s", q, diff)
		}
	}

	var none map[string]any
	if status := e.control(t, http.MethodGet, "/sms?phone=%2B8613900000000", nil, &none); status != http.StatusOK {
		t.Fatalf("GET /sms for a phone without messages: status %d", status)
	}
	if diff := cmp.Diff(map[string]any{"messages": []any{}}, none); diff != "" {
		t.Errorf("GET /sms for a phone without messages (-want +got):\n%s", diff)
	}
	var errBody errorJSON
	if status := e.control(t, http.MethodGet, "/sms", nil, &errBody); status != http.StatusBadRequest || errBody.Error != "invalid_request" {
		t.Errorf("GET /sms without phone: status %d %+v, want 400 invalid_request", status, errBody)
	}
	if status := e.control(t, http.MethodPost, "/sms?phone=1", "{}", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /sms: status %d, want 405", status)
	}
	if got := e.sb.SMS(bob); len(got) != 1 || got[0].Code != "000111" || !got[0].SentAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("SMS(%q) = %+v, want the one bind message", bob, got)
	}
}

// The inbox keeps the newest 100 messages per phone and forgets the phone
// written to least recently beyond 1000 phones.
func TestSMSInboxBounded(t *testing.T) {
	e := newEnv(t, nil)
	for i := range smsPerPhone + 5 {
		e.sb.DeliverSMS("+8613800000001", fmt.Sprint(i), "bind")
	}
	got := e.sb.SMS("+8613800000001")
	if len(got) != smsPerPhone || got[0].Code != "5" || got[len(got)-1].Code != fmt.Sprint(smsPerPhone+4) {
		t.Errorf("SMS after %d messages: %d kept, first %q; want the newest %d", smsPerPhone+5, len(got), got[0].Code, smsPerPhone)
	}

	for i := range smsPhones - 1 {
		e.sb.DeliverSMS(fmt.Sprintf("+86139%08d", i), "1", "bind")
	}
	e.sb.DeliverSMS("+8613800000001", "again", "bind") // now the newest phone
	e.sb.DeliverSMS("+8613700000000", "1", "bind")     // one phone too many
	if got := e.sb.SMS("+8613900000000"); len(got) != 0 {
		t.Errorf("least recently written phone kept %d messages, want it forgotten", len(got))
	}
	if got := e.sb.SMS("+8613800000001"); len(got) != smsPerPhone || got[len(got)-1].Code != "again" {
		t.Errorf("recently written phone: %d messages, want %d ending with again", len(got), smsPerPhone)
	}
	if got := e.sb.SMS("+8613700000000"); len(got) != 1 {
		t.Errorf("new phone: %d messages, want 1", len(got))
	}
}
