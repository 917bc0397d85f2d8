package server_test

import (
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// Bad input on every endpoint answers a contract error, never a 5xx.
func TestBadInputNever5xx(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
		c.Registration = config.RegistrationBindPhone
	}))
	bodies := []string{``, `{`, `[]`, `null`, `"x"`, `42`, `{"x":1}`, `{"code":{}}`, `{"code":[1]}`, `{"app":7}`,
		`{"refresh_token":null}`, `{"all":"yes"}`, `{"state":"` + strings.Repeat("A", 300) + `"}`, `{"phone":"+8613800000000","purpose":7}`,
		`{"bind_ticket":"x","phone":"+8613800000000","sms_code":"123456"}`, `{"encrypted_data":"%%%","iv":"@@"}`,
		`{"token":"a.b.c"}`, `{"app":"mp","invalid_token":5}`, "\xff\xfe\x00", `{"code":"` + strings.Repeat("x", 70000) + `"}`}
	routes := []struct{ method, path, bearer string }{
		{"POST", "/v1/miniprogram/login", ""},
		{"POST", "/v1/miniprogram/phone", "user"},
		{"POST", "/v1/miniprogram/userinfo", "user"},
		{"POST", "/v1/oauth/wechat/login", ""},
		{"POST", "/v1/token/refresh", ""},
		{"POST", "/v1/sms/send", ""},
		{"POST", "/v1/bind", ""},
		{"POST", "/v1/introspect", key},
		{"POST", "/v1/wechat/access_token", key},
		{"GET", "/v1/oauth/wechat/authorize?redirect_uri=%zz&code_challenge=%%", ""},
		{"GET", "/v1/wechat/access_token?app=%00", key},
		{"DELETE", "/v1/sessions/%2F..%2F", "user"},
		{"POST", "/v1/logout", "user"}, // last: a well-formed body logs alice out
	}
	// Sign alice up through the bind flow so "user" routes have a token.
	code, _ := s.Sandbox.IssuePhoneCode(s.AppID(t, "mp"), "alice", "")
	r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "alice")}, "")
	var bindAns struct {
		BindTicket string `json:"bind_ticket"`
	}
	r.JSON(t, &bindAns)
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	s.Do(t, "POST", "/v1/bind", map[string]string{"bind_ticket": bindAns.BindTicket, "phone_code": code}, "").JSON(t, &tokens)
	if tokens.AccessToken == "" {
		t.Fatal("could not sign alice up")
	}
	for _, rt := range routes {
		bearer := rt.bearer
		if bearer == "user" {
			bearer = tokens.AccessToken
		}
		for _, b := range bodies {
			var body any
			if rt.method == "POST" {
				body = b
			}
			r := s.Do(t, rt.method, rt.path, body, bearer)
			if r.Status >= 500 {
				t.Errorf("%s %s with body %.40q = %d %s", rt.method, rt.path, b, r.Status, r.Body)
			}
		}
	}
}
