package wechat_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxauth/wxauth/wechat"
)

// TestOperatorErrcodes: every errcode of reference §1.1 that only an
// operator can fix has its class, is never Temporary, and comes with an
// action naming what to do.
func TestOperatorErrcodes(t *testing.T) {
	ip := []error{wechat.ErrConfiguration, wechat.ErrIPNotAllowed}
	account := []error{wechat.ErrConfiguration, wechat.ErrAccountRestricted}
	tests := []struct {
		endpoint string
		code     int
		want     []error
		action   string // a substring of OperatorAction
	}{
		{"/cgi-bin/token", 40164, ip, "203.0.113.7 to the API IP whitelist"},
		{"/sns/jscode2session", 40164, ip, "203.0.113.7 to the API IP whitelist"},
		{"/cgi-bin/stable_token", 61004, ip, "203.0.113.7 to the API IP whitelist"},
		{"/sns/oauth2/access_token", 89501, ip, "not yet confirmed"},
		{"/cgi-bin/token", 89503, ip, "asked the Official Account's admin to confirm"},
		{"/cgi-bin/token", 89506, ip, "blocked for 24 hours"},
		{"/cgi-bin/token", 89507, ip, "blocked for 1 hour"},
		{"/wxa/checksession", 48004, account, "banned this API"},
		{"/wxa/checksession", 50004, account, "access token use"},
		{"/sns/jscode2session", 50007, account, "frozen"},
		{"/cgi-bin/token", 61024, account, "third-party platform"},
		{"/sns/jscode2session", 48017, []error{wechat.ErrConfiguration, wechat.ErrRetiredHost}, "do not pin WeChat's IPs"},
		{"/wxa/business/getuserphonenumber", 48001, []error{wechat.ErrConfiguration, wechat.ErrAPIUnauthorized}, "phone number API"},
		{"/sns/jscode2session", 40125, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}, "appid and secret"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.endpoint, tt.code), func(t *testing.T) {
			err := fmt.Errorf("login: %w", &wechat.APIError{Endpoint: tt.endpoint, Code: tt.code,
				Msg: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist, rid: 1-2-3"})
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
				t.Errorf("%v sentinels (-want +got):\n%s", err, diff)
			}
			if wechat.Temporary(err) {
				t.Errorf("Temporary(%v) = true, want false", err)
			}
			if got := wechat.OperatorAction(err); !strings.Contains(got, tt.action) {
				t.Errorf("OperatorAction(%v) = %q, want it to say %q", err, got, tt.action)
			}
		})
	}
	// 48001 elsewhere is not the operator's: a snsapi_base token on
	// /sns/userinfo, or unclassified.
	for _, endpoint := range []string{"/sns/userinfo", "/sns/jscode2session"} {
		err := &wechat.APIError{Endpoint: endpoint, Code: 48001}
		if errors.Is(err, wechat.ErrConfiguration) || wechat.OperatorAction(err) != "" {
			t.Errorf("%v is ErrConfiguration, want not", err)
		}
	}
	for _, err := range []error{nil, errors.New("x"), &wechat.APIError{Code: 40029}, &wechat.APIError{Code: -1}} {
		if got := wechat.OperatorAction(err); got != "" {
			t.Errorf("OperatorAction(%v) = %q, want \"\"", err, got)
		}
	}
}

func TestEgressIP(t *testing.T) {
	for msg, want := range map[string]string{
		"invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 1-2-3": "203.0.113.7",
		"invalid ip 123.56.9.81, not in whitelist hint: [Z07831501]":                  "123.56.9.81",
		"invalid ip 2001:db8::1, not in whitelist":                                    "2001:db8::1",
		"invalid ip, not in whitelist":                                                "",
		"api forbidden":                                                               "",
	} {
		if got := wechat.EgressIP(&wechat.APIError{Code: 40164, Msg: msg}); got != want {
			t.Errorf("EgressIP(errmsg %q) = %q, want %q", msg, got, want)
		}
	}
}

// TestNotWeChat: a 200 without JSON on each credential call is
// ErrNotWeChat, never Temporary; elsewhere it stays an unexpected answer.
func TestNotWeChat(t *testing.T) {
	calls := map[string]func(c *wechat.Client) error{
		"/cgi-bin/token": func(c *wechat.Client) error { _, err := c.Token(t.Context(), testAppID, testSecret); return err },
		"/cgi-bin/stable_token": func(c *wechat.Client) error {
			_, err := c.StableToken(t.Context(), testAppID, testSecret, false)
			return err
		},
		"/sns/jscode2session": func(c *wechat.Client) error {
			_, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode)
			return err
		},
		"/sns/oauth2/access_token": func(c *wechat.Client) error {
			_, err := c.OAuthExchange(t.Context(), testAppID, testSecret, testCode)
			return err
		},
	}
	for endpoint, call := range calls {
		for _, body := range []string{"", "  \n", "<html><body>Welcome to nginx!</body></html>"} {
			t.Run(fmt.Sprintf("%s/%q", endpoint, body), func(t *testing.T) {
				c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "text/html", body))
				err := call(c)
				want := []error{wechat.ErrConfiguration, wechat.ErrNotWeChat}
				if diff := cmp.Diff(errNames(want), errNames(matches(err))); diff != "" {
					t.Errorf("%v sentinels (-want +got):\n%s", err, diff)
				}
				if wechat.Temporary(err) || !strings.Contains(wechat.OperatorAction(err), "wechat.api_base") {
					t.Errorf("%v: Temporary or no action naming wechat.api_base", err)
				}
				if n.Load() != 1 {
					t.Errorf("%d requests, want 1", n.Load())
				}
			})
		}
	}
	c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/html", "<html>"))
	err := c.OAuthCheck(t.Context(), "token", testOpenID)
	if !errors.Is(err, wechat.ErrUnexpectedResponse) || errors.Is(err, wechat.ErrNotWeChat) {
		t.Errorf("OAuthCheck on a non-JSON 200 = %v, want ErrUnexpectedResponse only", err)
	}
}
