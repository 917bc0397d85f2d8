package tokenheader

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	for _, tt := range []struct {
		name    string
		setting string
		headers [][2]string
		want    string
		err     error
	}{
		{"default: bearer", "", [][2]string{{"Authorization", "Bearer t1"}}, "t1", nil},
		{"default: scheme in any case", "", [][2]string{{"Authorization", "bEaReR  t1 "}}, "t1", nil},
		{"default: the custom header is not read", "", [][2]string{{"X-Wx-Ticket", "t1"}}, "", ErrMissing},
		{"default: basic is no token", "", [][2]string{{"Authorization", "Basic dTpw"}}, "", ErrMissing},
		{"default: empty bearer", "", [][2]string{{"Authorization", "Bearer  "}}, "", ErrMissing},
		{"named: its raw value", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", " t1 "}}, "t1", nil},
		{"named: name in any case", "x-wx-ticket", [][2]string{{"X-WX-TICKET", "t1"}}, "t1", nil},
		{"named: bearer still works", "X-Wx-Ticket", [][2]string{{"Authorization", "Bearer t1"}}, "t1", nil},
		{"named: both agree", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", "t1"}, {"Authorization", "Bearer t1"}}, "t1", nil},
		{"named: both differ", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", "t1"}, {"Authorization", "Bearer t2"}}, "", ErrConflict},
		{"named: twice", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", "t1"}, {"X-Wx-Ticket", "t1"}}, "", ErrConflict},
		{"named: empty value, no bearer", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", " "}}, "", ErrMissing},
		{"named: basic beside it", "X-Wx-Ticket", [][2]string{{"X-Wx-Ticket", "t1"}, {"Authorization", "Basic dTpw"}}, "t1", nil},
		{"named: nothing", "X-Wx-Ticket", nil, "", ErrMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range tt.headers {
				h.Add(kv[0], kv[1])
			}
			got, err := Read(h, tt.setting)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Read(%v, %q) = %q, %v; want %q, %v", h, tt.setting, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{"", "X-Wx-Ticket", "x-wx-ticket", "Token", "X-Auth_Token.v2"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"Cookie", "cookie", "Host", "Content-Type", "Origin", "Authorization", "X-Request-Id",
		"X-Forwarded-For", "Sec-Fetch-Mode", "Proxy-Authorization", "Access-Control-Allow-Origin", "X Wx", "X-Wx:Ticket",
		"X-Wx-Ticket\r\nX-Evil", "Ünicode", strings.Repeat("x", 65)} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) = nil, want an error", bad)
		}
	}
	if got := Describe("x-wx-ticket"); got != "X-Wx-Ticket: <token>" {
		t.Errorf("Describe = %q", got)
	}
}
