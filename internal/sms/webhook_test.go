package sms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// webhookReceiver is what a receiver does with wxauth's POST: recompute
// the signature over "<timestamp>.<body>", compare in constant time, and
// refuse a timestamp more than 5 minutes off.
func webhookReceiver(t *testing.T, secret string, now time.Time, status int, got *[]map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Wxauth-Timestamp")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		sec, err := strconv.ParseInt(ts, 10, 64)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || err != nil ||
			!hmac.Equal([]byte(want), []byte(r.Header.Get("X-Wxauth-Signature"))) || time.Unix(sec, 0).Sub(now).Abs() > 5*time.Minute {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var msg map[string]string
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		*got = append(*got, msg)
		w.WriteHeader(status)
	}
}

func TestWebhookSend(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const secret = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name     string
		secret   string
		clock    time.Time
		status   int
		ok, user bool // success; a phone refusal
	}{
		{"accepted", secret, now, 204, true, false},
		{"number refused", secret, now, 422, false, true},
		{"bad request", secret, now, 400, false, true},
		{"receiver down", secret, now, 502, false, false},
		{"wrong secret", "another secret of thirty-two bytes", now, 204, false, false},
		{"replayed later", secret, now.Add(-10 * time.Minute), 204, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []map[string]string
			srv := httptest.NewServer(webhookReceiver(t, secret, now, tc.status, &got))
			defer srv.Close()
			w := &Webhook{URL: srv.URL + "/sms", Secret: tc.secret, Template: "bind-code", Now: func() time.Time { return tc.clock }}
			err := w.Send(t.Context(), "+8613700000001", "123456", "bind")
			if (err == nil) != tc.ok || errors.Is(err, ErrPhoneRejected) != tc.user {
				t.Fatalf("Send = %v, want ok %v, phone refused %v", err, tc.ok, tc.user)
			}
			if tc.ok && (len(got) != 1 || got[0]["phone"] != "+8613700000001" || got[0]["code"] != "123456" ||
				got[0]["purpose"] != "bind" || got[0]["template"] != "bind-code") {
				t.Errorf("receiver got %v", got)
			}
		})
	}
}

// A webhook answering a redirect does not get the code sent on to where it
// points: the redirect is a failure.
func TestWebhookFollowsNoRedirect(t *testing.T) {
	var elsewhere []map[string]string
	other := httptest.NewServer(webhookReceiver(t, "0123456789abcdef0123456789abcdef", time.Now(), 204, &elsewhere))
	defer other.Close()
	hook := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
	defer hook.Close()
	w := &Webhook{URL: hook.URL, Secret: "0123456789abcdef0123456789abcdef"}
	if err := w.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || errors.Is(err, ErrPhoneRejected) {
		t.Errorf("Send to a redirecting hook = %v, want a failure", err)
	}
	if len(elsewhere) != 0 {
		t.Errorf("the code was sent on to the redirect's target: %v", elsewhere)
	}
}
