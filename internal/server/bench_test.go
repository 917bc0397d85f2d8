package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
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
func BenchmarkHTTPRefresh(b *testing.B) { benchRefresh(b, benchServer(b)) }

func benchRefresh(b *testing.B, s *servertest.Server) {
	b.ResetTimer()
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
func BenchmarkHTTPLogin(b *testing.B) { benchLogin(b, benchServer(b)) }

func benchLogin(b *testing.B, s *servertest.Server) {
	s.Login(b, "mp", "alice")
	appid := s.AppID(b, "mp")
	b.ResetTimer()
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

// BenchmarkAudit is login and refresh with the audit trail off and on,
// side by side in one run (docs/benchmarks.md "Audit trail"): with -count
// the four sub-benchmarks take turns, so the machine's drift hits both
// alike. A login records one event (queued; written in batches by the
// writer goroutine); a refresh records none unless it is a reuse, but
// its request still carries the client address for the trail.
func BenchmarkAudit(b *testing.B) {
	for _, op := range []struct {
		name string
		run  func(*testing.B, *servertest.Server)
	}{{"login", benchLogin}, {"refresh", benchRefresh}} {
		for _, enabled := range []string{"false", "true"} {
			b.Run(op.name+"/audit="+enabled, func(b *testing.B) {
				s := servertest.New(b, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
					c.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
					c.Audit.Enabled = enabled
				}))
				op.run(b, s)
				b.StopTimer()
				if s.Inst.Audit != nil {
					// Every login's event was kept: none dropped.
					if err := s.Inst.Audit.Flush(b.Context()); err != nil {
						b.Fatal(err)
					}
					var m dto.Metric
					if err := s.Inst.Metrics.AuditDropped.WithLabelValues(audit.DropQueueFull).Write(&m); err != nil {
						b.Fatal(err)
					}
					if n := m.GetCounter().GetValue(); n != 0 {
						b.Errorf("%v audit events dropped (queue full)", n)
					}
				}
			})
		}
	}
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
