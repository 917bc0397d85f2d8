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

// doWith sends a request with these headers and no body.
func doWith(t *testing.T, s *servertest.Server, method, path string, headers map[string]string) servertest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// With token_header X-Wx-Ticket, the authenticated endpoints take the raw
// token there; Authorization: Bearer keeps working; both with different
// tokens is 400; no token is the usual 401 with WWW-Authenticate; CORS
// lets browsers send the header. Service keys still go in Authorization.
func TestTokenHeaderConfigured(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.TokenHeader = "X-Wx-Ticket"
		c.CORSOrigins = []string{"https://h5.example.com"}
	}))
	l := s.Login(t, "mp", "alice")
	other := s.Login(t, "mp", "bob")
	for _, h := range []map[string]string{
		{"X-Wx-Ticket": l.AccessToken},
		{"x-wx-ticket": " " + l.AccessToken + " "},
		{"Authorization": "Bearer " + l.AccessToken},
		{"X-Wx-Ticket": l.AccessToken, "Authorization": "Bearer " + l.AccessToken},
	} {
		r := doWith(t, s, "GET", "/v1/me", h)
		var m api.Me
		r.JSON(t, &m)
		if r.Status != http.StatusOK || m.ID != l.User.ID {
			t.Errorf("GET /v1/me with %v = %d %s", keys(h), r.Status, r.Body)
		}
	}
	e := wantError(t, doWith(t, s, "GET", "/v1/me", map[string]string{"X-Wx-Ticket": l.AccessToken, "Authorization": "Bearer " + other.AccessToken}), 400, api.CodeInvalidRequest)
	if strings.Contains(e.Description, l.AccessToken) || strings.Contains(e.Description, other.AccessToken) {
		t.Error("the 400 repeats a token")
	}
	wantError(t, doWith(t, s, "GET", "/v1/me", nil), 401, api.CodeInvalidToken)
	wantError(t, doWith(t, s, "GET", "/v1/me", map[string]string{"X-Wx-Ticket": "not-a-token"}), 401, api.CodeInvalidToken)
	wantError(t, doWith(t, s, "GET", "/v1/sessions", map[string]string{"X-Wx-Ticket": "Bearer " + l.AccessToken}), 401, api.CodeInvalidToken)
	if r := doWith(t, s, "GET", "/v1/sessions", map[string]string{"X-Wx-Ticket": l.AccessToken}); r.Status != http.StatusOK {
		t.Errorf("GET /v1/sessions with X-Wx-Ticket = %d %s", r.Status, r.Body)
	}
	// Logout through the header ends the session at once.
	if r := doWith(t, s, "POST", "/v1/logout", map[string]string{"X-Wx-Ticket": l.AccessToken}); r.Status != http.StatusNoContent {
		t.Fatalf("POST /v1/logout with X-Wx-Ticket = %d %s", r.Status, r.Body)
	}
	wantError(t, doWith(t, s, "GET", "/v1/me", map[string]string{"X-Wx-Ticket": l.AccessToken}), 401, api.CodeSessionRevoked)

	// Service keys are not access tokens: never read from the header.
	wantError(t, doWith(t, s, "GET", "/v1/revocations", map[string]string{"X-Wx-Ticket": other.AccessToken}), 401, api.CodeInvalidToken)

	pre := doWith(t, s, "OPTIONS", "/v1/me", map[string]string{"Origin": "https://h5.example.com",
		"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-wx-ticket"})
	if got := pre.Header.Get("Access-Control-Allow-Headers"); pre.Status != http.StatusNoContent || !strings.Contains(got, "X-Wx-Ticket") || !strings.Contains(got, "Authorization") {
		t.Errorf("preflight = %d, Access-Control-Allow-Headers %q; want X-Wx-Ticket and Authorization", pre.Status, got)
	}
}

// Without token_header, X-Wx-Ticket is just another header: 401, and CORS
// does not offer it.
func TestTokenHeaderDefault(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.CORSOrigins = []string{"https://h5.example.com"} }))
	l := s.Login(t, "mp", "alice")
	wantError(t, doWith(t, s, "GET", "/v1/me", map[string]string{"X-Wx-Ticket": l.AccessToken}), 401, api.CodeInvalidToken)
	if r := doWith(t, s, "GET", "/v1/me", map[string]string{"X-Wx-Ticket": "junk", "Authorization": "Bearer " + l.AccessToken}); r.Status != http.StatusOK {
		t.Errorf("GET /v1/me with Authorization (and an unread X-Wx-Ticket) = %d %s", r.Status, r.Body)
	}
	pre := doWith(t, s, "OPTIONS", "/v1/me", map[string]string{"Origin": "https://h5.example.com", "Access-Control-Request-Method": "GET"})
	if got := pre.Header.Get("Access-Control-Allow-Headers"); strings.Contains(got, "X-Wx-Ticket") || !strings.Contains(got, "Authorization") {
		t.Errorf("Access-Control-Allow-Headers = %q", got)
	}
}

func keys(h map[string]string) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	return out
}
