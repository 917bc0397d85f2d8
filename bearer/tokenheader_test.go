package bearer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/bearer"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// Config.TokenHeader, against a real wxauth configured with the same
// token_header: a front end's X-Wx-Ticket reaches the resource server, and
// Authorization: Bearer (the Go client's) still does; two different tokens
// are 400; without the option X-Wx-Ticket is no token. Names a browser or
// HTTP gives a meaning are refused by New.
func TestMiddlewareTokenHeader(t *testing.T) {
	s := servertest.New(t, servertest.Quiet(), servertest.Configure(func(c *config.Config) { c.TokenHeader = "X-Wx-Ticket" }))
	alice, bob := s.Login(t, "mp", "alice"), s.Login(t, "mp", "bob")
	serve := func(t *testing.T, header string) *httptest.Server {
		cfg := e2eConfig(s)
		cfg.TokenHeader = header
		v, err := bearer.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		hs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := bearer.ClaimsFromContext(r.Context())
			io.WriteString(w, c.Subject)
		})))
		t.Cleanup(hs.Close)
		return hs
	}
	type want struct {
		status int
		body   string // the subject, or the error code
	}
	check := func(t *testing.T, hs *httptest.Server, h map[string]string, w want) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", hs.URL+"/orders", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got := string(b)
		if resp.StatusCode != http.StatusOK {
			var e api.Error
			json.Unmarshal(b, &e)
			got = e.Code
			if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		}
		if resp.StatusCode != w.status || got != w.body {
			t.Errorf("headers %v: %d %q, want %d %q", keysOf(h), resp.StatusCode, got, w.status, w.body)
		}
	}
	t.Run("set", func(t *testing.T) {
		hs := serve(t, "X-Wx-Ticket")
		check(t, hs, map[string]string{"X-Wx-Ticket": alice.AccessToken}, want{200, alice.User.ID})
		check(t, hs, map[string]string{"Authorization": "Bearer " + alice.AccessToken}, want{200, alice.User.ID})
		check(t, hs, map[string]string{"X-Wx-Ticket": alice.AccessToken, "Authorization": "Bearer " + alice.AccessToken}, want{200, alice.User.ID})
		check(t, hs, map[string]string{"X-Wx-Ticket": alice.AccessToken, "Authorization": "Bearer " + bob.AccessToken}, want{400, api.CodeInvalidRequest})
		check(t, hs, map[string]string{"X-Wx-Ticket": "Bearer " + alice.AccessToken}, want{401, api.CodeInvalidToken})
		check(t, hs, nil, want{401, api.CodeInvalidToken})
	})
	t.Run("default", func(t *testing.T) {
		hs := serve(t, "")
		check(t, hs, map[string]string{"X-Wx-Ticket": alice.AccessToken}, want{401, api.CodeInvalidToken})
		check(t, hs, map[string]string{"Authorization": "Bearer " + bob.AccessToken}, want{200, bob.User.ID})
	})
	for _, bad := range []string{"Cookie", "Host", "Content-Type", "Authorization", "X Wx"} {
		cfg := e2eConfig(s)
		cfg.TokenHeader = bad
		if v, err := bearer.New(cfg); err == nil {
			v.Close()
			t.Errorf("New(TokenHeader %q) succeeded, want an error", bad)
		}
	}
}

func keysOf(h map[string]string) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	return out
}
