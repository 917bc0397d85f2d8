package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/oidc"
	"github.com/wxauth/wxauth/internal/servertest"
)

// BenchmarkOIDCToken measures POST /oauth2/token beside POST
// /v1/token/refresh in the same run (docs/benchmarks.md "OpenID
// Provider"): the native refresh is the baseline, then the OIDC
// refresh_token grant (client authentication, the session's client
// checked, the grant read, the rotation, a user read and an ID token
// signed) and the authorization_code grant (client authentication, the
// code's compare-and-set, a session opened, the grant and the browser
// link written, an ID token signed). Each reports req/s and p99.
func BenchmarkOIDCToken(b *testing.B) {
	s := oidcServer(b, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
	}))
	user := s.Login(b, "mp", "alice").User.ID
	op := s.Inst.OIDC
	b.Run("v1-refresh", func(b *testing.B) {
		measure(b, func() (func() (string, error), error) {
			rt := s.Login(b, "mp", "alice").RefreshToken
			return func() (string, error) {
				next, err := post(s, "/v1/token/refresh", "application/json", `{"refresh_token":"`+rt+`"}`)
				rt = next
				return next, err
			}, nil
		})
	})
	b.Run("oidc-refresh", func(b *testing.B) {
		measure(b, func() (func() (string, error), error) {
			rt, err := oidcTokens(b, s, op, user)
			return func() (string, error) {
				next, err := post(s, "/oauth2/token", "application/x-www-form-urlencoded",
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"rp"}, "client_secret": {rpSecret}}.Encode())
				rt = next
				return next, err
			}, err
		})
	})
	b.Run("oidc-code", func(b *testing.B) {
		// Codes are minted before the clock starts (they live 60 s on the
		// stack's clock, which stands still), one browser session each.
		codes := make(chan string, b.N+64)
		for i := range b.N + 64 {
			codes <- issueCode(b, s, op, user, i)
		}
		measure(b, func() (func() (string, error), error) {
			return func() (string, error) {
				return post(s, "/oauth2/token", "application/x-www-form-urlencoded",
					url.Values{"grant_type": {"authorization_code"}, "code": {<-codes}, "redirect_uri": {rpCallback},
						"client_id": {"rp"}, "client_secret": {rpSecret}}.Encode())
			}, nil
		})
	})
}

// measure runs op in parallel clients (each made by setup) and reports
// req/s and the 99th percentile latency.
func measure(b *testing.B, setup func() (func() (string, error), error)) {
	var mu sync.Mutex
	var all []time.Duration
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		op, err := setup()
		if err != nil {
			b.Error(err)
			return
		}
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if _, err := op(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[(len(all)*99)/100].Microseconds()), "p99-µs")
}

// post sends a body and returns the refresh_token of the 200 answer.
func post(s *servertest.Server, path, contentType, body string) (string, error) {
	resp, err := s.HTTP.Post(s.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s = %d %s", path, resp.StatusCode, raw)
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	return tr.RefreshToken, json.Unmarshal(raw, &tr)
}

// issueCode mints a code for rp as a sign-in would, browser session i.
func issueCode(b *testing.B, s *servertest.Server, op *oidc.Provider, user string, i int) string {
	to, err := op.IssueCode(b.Context(), oidc.AuthRequest{ClientID: "rp", RedirectURI: rpCallback, Scopes: []string{"openid", "profile"}, MaxAge: -1},
		oidc.BrowserSession{SID: fmt.Sprintf("bench-browser-%d", i), UserID: user, AuthTime: s.Clock.Now().Unix()})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(to)
	return u.Query().Get("code")
}

// clientSeq numbers the browser sessions of the refresh clients.
var clientSeq atomic.Int64

// oidcTokens redeems a fresh code and returns its refresh token.
func oidcTokens(b *testing.B, s *servertest.Server, op *oidc.Provider, user string) (string, error) {
	return post(s, "/oauth2/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"authorization_code"}, "code": {issueCode(b, s, op, user, -1-int(clientSeq.Add(1)))},
			"redirect_uri": {rpCallback}, "client_id": {"rp"}, "client_secret": {rpSecret}}.Encode())
}
