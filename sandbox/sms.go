package sandbox

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// SMS inbox bounds: the inbox keeps the newest messages of the phones
// written to most recently.
const (
	// smsPerPhone is how many messages the inbox keeps per phone.
	smsPerPhone = 100
	// smsPhones is how many phones the inbox keeps messages for; writing to
	// one more forgets the phone written to least recently.
	smsPhones = 1000
)

// SMS is one text message the development SMS sender delivered (docs/sandbox.md
// "Control API").
type SMS struct {
	// Phone is the number it went to, as the sender gave it.
	Phone string `json:"phone"`
	// Code is the one-time code it carried.
	Code string `json:"code"`
	// Purpose says what the code is for, as the sender named it ("bind").
	Purpose string `json:"purpose"`
	// SentAt is when the sandbox received it, in UTC, by the sandbox's
	// clock.
	SentAt time.Time `json:"sent_at"`
}

// smsInbox is the sandbox's SMS state, guarded by Sandbox.mu.
type smsInbox struct {
	byPhone map[string][]SMS // oldest first
	seq     uint64
	touched map[string]uint64 // phone → seq of its newest message
}

func newSMSInbox() smsInbox {
	return smsInbox{byPhone: make(map[string][]SMS), touched: make(map[string]uint64)}
}

// DeliverSMS records a text message carrying code to phone, as wxauth's
// development SMS sender does instead of sending one; GET
// /sandbox/v1/sms?phone=… and [Sandbox.SMS] show it. The inbox keeps the
// newest 100 messages per phone, for the 1000 phones written to most
// recently. It never fails and never logs the phone or the code.
func (s *Sandbox) DeliverSMS(phone, code, purpose string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &s.sms
	if _, ok := in.byPhone[phone]; !ok && len(in.byPhone) >= smsPhones {
		oldest, first := "", true
		for p, seq := range in.touched {
			if first || seq < in.touched[oldest] {
				oldest, first = p, false
			}
		}
		delete(in.byPhone, oldest)
		delete(in.touched, oldest)
	}
	msgs := append(in.byPhone[phone], SMS{Phone: phone, Code: code, Purpose: purpose, SentAt: s.now().UTC()})
	if len(msgs) > smsPerPhone {
		msgs = append([]SMS(nil), msgs[len(msgs)-smsPerPhone:]...)
	}
	in.byPhone[phone] = msgs
	in.seq++
	in.touched[phone] = in.seq
	s.log.Info("sandbox sms delivered", "purpose", purpose)
}

// SMS returns the messages delivered to phone that the inbox still keeps,
// oldest first; none for a phone never written to. phone must be spelled as
// the sender spelled it.
func (s *Sandbox) SMS(phone string) []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMS{}, s.sms.byPhone[phone]...)
}

// listSMS serves GET /sandbox/v1/sms?phone=… (docs/sandbox.md):
// {"messages": [{"phone", "code", "purpose", "sent_at"}]}, oldest first,
// empty for a phone nothing was sent to. A leading space in phone is read
// as "+", the usual result of an unescaped "?phone=+86…".
func (s *Sandbox) listSMS(w http.ResponseWriter, r *http.Request) error {
	phone := r.URL.Query().Get("phone")
	if rest, ok := strings.CutPrefix(phone, " "); ok {
		phone = "+" + rest
	}
	if phone == "" {
		return errors.New("phone is missing")
	}
	writeJSON(w, http.StatusOK, struct {
		Messages []SMS `json:"messages"`
	}{s.SMS(phone)})
	return nil
}
