package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/tracing"
	"github.com/wxauth/wxauth/internal/tracing/otlptest"
)

// BenchmarkTracing is the cost of tracing on a request through the whole
// stack (docs/benchmarks.md "Tracing"): Bare is a bare net/http handler
// (the baseline), Off the stack as `wxauth serve` runs it without
// OTEL_EXPORTER_OTLP_ENDPOINT (nothing wrapped), Unsampled wrapped but
// with OTEL_TRACES_SAMPLER=always_off (the wrappers' cost when no span is
// recorded, as with a no-op provider), On with every span exported by
// OTLP/HTTP to a receiver that decodes and discards them.
func BenchmarkTracing(b *testing.B) {
	b.Run("Bare", func(b *testing.B) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"u1","nickname":"Alice"}`)
		}))
		defer hs.Close()
		c := hs.Client()
		for b.Loop() {
			resp, err := c.Get(hs.URL + "/v1/me")
			drain(b, resp, err, http.StatusOK)
		}
	})
	for _, mode := range []string{"Off", "Unsampled", "On"} {
		b.Run("Me/"+mode, func(b *testing.B) {
			s := benchStack(b, mode)
			l := s.Login(b, "mp", "alice")
			for b.Loop() {
				resp, err := get(s, "/v1/me", l.AccessToken)
				drain(b, resp, err, http.StatusOK)
			}
		})
		b.Run("Login/"+mode, func(b *testing.B) {
			s := benchStack(b, mode)
			s.Login(b, "mp", "alice") // a returning user from here on
			for b.Loop() {
				// The sandbox holds one user to WeChat's 100 logins a
				// minute; a second of sandbox time per login stays under it.
				s.Clock.Advance(time.Second)
				body := `{"app":"mp","code":"` + s.Code(b, "mp", "alice") + `"}`
				resp, err := s.HTTP.Post(s.URL+"/v1/miniprogram/login", "application/json", strings.NewReader(body))
				drain(b, resp, err, http.StatusOK)
			}
		})
	}
}

// benchStack is the in-process stack, rate limits off, traced to a
// discarding OTLP receiver unless mode is Off.
func benchStack(b *testing.B, mode string) *servertest.Server {
	opts := []servertest.Option{servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
	})}
	if mode != "Off" {
		if mode == "Unsampled" {
			b.Setenv("OTEL_TRACES_SAMPLER", "always_off") // read by the SDK
		}
		recv := otlptest.New(b)
		recv.Discard = true
		tr, err := tracing.Start(b.Context(), func(k string) string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL}[k]
		}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Shutdown(context.Background()) })
		opts = append(opts, servertest.Tracing(tr))
	}
	return servertest.New(b, opts...)
}

func get(s *servertest.Server, path, bearer string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	return s.HTTP.Do(req)
}

func drain(b *testing.B, resp *http.Response, err error, want int) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d, want %d", resp.StatusCode, want)
	}
}
