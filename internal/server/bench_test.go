package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The HTTP benchmarks drive the whole stack over loopback with parallel
// clients. BenchmarkHTTPBare is the baseline every other figure is divided
// by in docs/benchmarks.md: the same client against a bare net/http handler
// that answers a small JSON body.

func benchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr}
}

func drain(b *testing.B, resp *http.Response, err error, want int) {
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d, want %d", resp.StatusCode, want)
	}
}

// benchServer is the stack with rate limits off: the benchmark's clients all
// come from one address and one user.
func benchServer(b *testing.B) *servertest.Server {
	return servertest.New(b, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
	}))
}

func BenchmarkHTTPBare(b *testing.B) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"u1","nickname":"Alice"}`)
	}))
	defer hs.Close()
	c := benchClient()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(hs.URL + "/v1/me")
			drain(b, resp, err, 200)
		}
	})
}

// BenchmarkHTTPMe is an authenticated GET /v1/me: signature check, session
// look-up, user and identities from SQLite.
func BenchmarkHTTPMe(b *testing.B) {
	s := benchServer(b)
	tok := s.Login(b, "mp", "alice").AccessToken
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", s.URL+"/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := s.HTTP.Do(req)
			drain(b, resp, err, 200)
		}
	})
}

// BenchmarkHTTPRefresh is POST /v1/token/refresh; each client keeps its own
// session and refreshes the token it got last, so every call rotates.
func BenchmarkHTTPRefresh(b *testing.B) {
	s := benchServer(b)
	b.RunParallel(func(pb *testing.PB) {
		rt := s.Login(b, "mp", "alice").RefreshToken
		for pb.Next() {
			resp, err := s.HTTP.Post(s.URL+"/v1/token/refresh", "application/json",
				strings.NewReader(`{"refresh_token":"`+rt+`"}`))
			if err != nil {
				b.Fatal(err)
			}
			var tr api.TokenResponse
			r := servertest.Response{Status: resp.StatusCode}
			r.Body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if r.Status != 200 {
				b.Fatalf("refresh = %d %s", r.Status, r.Body)
			}
			r.JSON(b, &tr)
			rt = tr.RefreshToken
		}
	})
}

// BenchmarkHTTPLogin is a returning user's mini program login: a code from
// the sandbox (in process), POST /v1/miniprogram/login, which calls the
// sandbox's jscode2session over loopback HTTP, reads the identity from
// SQLite and opens a session.
func BenchmarkHTTPLogin(b *testing.B) {
	s := benchServer(b)
	s.Login(b, "mp", "alice")
	appid := s.AppID(b, "mp")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// The sandbox holds one user to WeChat's 100 logins a minute;
			// a second of sandbox time per login stays under it.
			s.Clock.Advance(time.Second)
			code, err := s.Sandbox.IssueCode(appid, "alice")
			if err != nil {
				b.Fatal(err)
			}
			resp, err := s.HTTP.Post(s.URL+"/v1/miniprogram/login", "application/json",
				strings.NewReader(`{"app":"mp","code":"`+code+`"}`))
			drain(b, resp, err, 200)
		}
	})
}

// BenchmarkHTTPAppLogin is a returning user's native app login: a SendAuth
// code from the sandbox (in process), POST /v1/app/login, which calls the
// sandbox's /sns/oauth2/access_token and /sns/userinfo over loopback HTTP
// (two WeChat calls, against the mini program's one), seals WeChat's user
// tokens and opens a session. Compare with BenchmarkHTTPLogin.
func BenchmarkHTTPAppLogin(b *testing.B) {
	s := benchServer(b)
	appid := s.AppID(b, "app")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, err := s.Sandbox.IssueAppCode(appid, "alice")
			if err != nil {
				b.Fatal(err)
			}
			resp, err := s.HTTP.Post(s.URL+"/v1/app/login", "application/json",
				strings.NewReader(`{"app":"app","code":"`+code+`"}`))
			drain(b, resp, err, 200)
		}
	})
}
