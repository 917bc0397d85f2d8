package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// POST /v1/introspect takes JSON like every other endpoint, and the form of
// RFC 7662 §2.1; both pass the same checks and get the same answers.
func TestIntrospectRequestStyles(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
	}))
	l := s.Login(t, "mp", "alice")
	post := func(t *testing.T, body, contentType string) servertest.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/introspect", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	const (
		form = "application/x-www-form-urlencoded"
		js   = "application/json"
	)
	tok := l.AccessToken
	big := strings.Repeat("x", 70000)
	tests := []struct {
		name, body, contentType string
		status                  int
		code                    string // error code, or "" for a 200
		active                  bool
	}{
		{"form", "token=" + tok, form, 200, "", true},
		{"form with charset", "token=" + tok, "application/x-www-form-urlencoded; charset=UTF-8", 200, "", true},
		{"form with hint and extras", "token=" + tok + "&token_type_hint=access_token&x=1", form, 200, "", true},
		{"json", `{"token":"` + tok + `"}`, js, 200, "", true},
		{"json without content type", `{"token":"` + tok + `"}`, "", 200, "", true},
		{"json with hint and extras", `{"token":"` + tok + `","token_type_hint":"access_token","x":1}`, js, 200, "", true},
		{"form garbage token", "token=a.b.c", form, 200, "", false},
		{"json garbage token", `{"token":"a.b.c"}`, js, 200, "", false},
		{"form without token", "token_type_hint=access_token", form, 400, api.CodeInvalidRequest, false},
		{"form empty token", "token=", form, 400, api.CodeInvalidRequest, false},
		{"json without token", `{}`, js, 400, api.CodeInvalidRequest, false},
		{"empty body", ``, js, 400, api.CodeInvalidRequest, false},
		{"form token twice", "token=" + tok + "&token=" + tok, form, 400, api.CodeInvalidRequest, false},
		{"form malformed", "token=%zz", form, 400, api.CodeInvalidRequest, false},
		{"json token wrong type", `{"token":7}`, js, 400, api.CodeInvalidRequest, false},
		{"json malformed", `{"token":`, js, 400, api.CodeInvalidRequest, false},
		{"form sent as json", "token=" + tok, js, 400, api.CodeInvalidRequest, false},
		{"json sent as form", `{"token":"` + tok + `"}`, form, 400, api.CodeInvalidRequest, false},
		{"form too large", "token=" + big, form, 413, api.CodeInvalidRequest, false},
		{"json too large", `{"token":"` + big + `"}`, js, 413, api.CodeInvalidRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, tt.body, tt.contentType)
			if tt.code != "" {
				wantError(t, r, tt.status, tt.code)
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("introspect = %d %s, want 200", r.Status, r.Body)
			}
			var m map[string]any
			r.JSON(t, &m)
			if m["active"] != tt.active {
				t.Fatalf("active = %v, want %v (%s)", m["active"], tt.active, r.Body)
			}
			if tt.active && (m["sub"] != l.User.ID || m["sid"] != l.SessionID || m["token_type"] != "Bearer") {
				t.Errorf("introspect = %v, want alice's session", m)
			}
		})
	}
}
