package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// One host with a /64 is one client: every per-address limit (login,
// refresh, SMS, authorize) counts the addresses of one IPv6 /64 together,
// and another /64 apart. Two requests of each are allowed; the third, from a
// third address of the same /64, is refused.
func TestPerAddressLimitsCountIPv6By64(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{
			LoginPerIP: "2/1m", LoginPerUser: "off", RefreshPerIP: "2/1m", RefreshPerSession: "off",
			SMSPerPhoneMinute: "off", SMSPerPhoneDay: "off", SMSPerIPHour: "2/1h", AuthorizePerIP: "2/1m",
		}
		c.TrustedProxyHeader = "X-Forwarded-For"
	}))
	same := []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2:abcd::3"}
	other := "2001:db8:1:3::1"
	from := func(t *testing.T, ip, method, path, body string) servertest.Response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
		req.Header.Set("X-Forwarded-For", "203.0.113.99, "+ip)
		req.Header.Set("User-Agent", wechatUA)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		c := *s.HTTP
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	n := 0
	endpoints := []struct {
		name string
		ok   int
		call func(t *testing.T, ip string) servertest.Response
	}{
		{"login", http.StatusOK, func(t *testing.T, ip string) servertest.Response {
			return from(t, ip, "POST", "/v1/miniprogram/login", `{"app":"mp","code":"`+s.Code(t, "mp", "alice")+`"}`)
		}},
		{"refresh", http.StatusOK, func(t *testing.T, ip string) servertest.Response {
			n++ // a login from an IPv4 address of its own, outside the limits counted here
			var l api.TokenResponse
			from(t, fmt.Sprintf("198.51.100.%d", n), "POST", "/v1/miniprogram/login", `{"app":"mp","code":"`+s.Code(t, "mp", "bob")+`"}`).JSON(t, &l)
			return from(t, ip, "POST", "/v1/token/refresh", `{"refresh_token":"`+l.RefreshToken+`"}`)
		}},
		{"sms", http.StatusNoContent, func(t *testing.T, ip string) servertest.Response {
			n++
			tk := oaTicket(t, s, fmt.Sprintf("o-ipv6-%d", n)) // each send its own reason
			return from(t, ip, "POST", "/v1/sms/send", fmt.Sprintf(`{"bind_ticket":%q,"phone":"+86137000002%02d","purpose":"bind"}`, tk, n))
		}},
		{"authorize", http.StatusFound, func(t *testing.T, ip string) servertest.Response {
			_, challenge := pkce("verifier-0123456789-0123456789-0123456789-0123")
			return from(t, ip, "GET", "/v1/oauth/wechat/authorize?"+oauthParams(s, challenge).Encode(), "")
		}},
	}
	for _, e := range endpoints {
		t.Run(e.name, func(t *testing.T) {
			for _, ip := range same[:2] {
				if r := e.call(t, ip); r.Status != e.ok {
					t.Fatalf("%s from %s = %d %s, want %d", e.name, ip, r.Status, r.Body, e.ok)
				}
			}
			wantError(t, e.call(t, same[2]), http.StatusTooManyRequests, api.CodeRateLimited)
			if r := e.call(t, other); r.Status != e.ok {
				t.Errorf("%s from another /64 %s = %d %s, want %d", e.name, other, r.Status, r.Body, e.ok)
			}
		})
	}
}
