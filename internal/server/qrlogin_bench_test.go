package server_test

import (
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// BenchmarkHTTPQRCreate is POST /v1/qrlogin: decode, the per-address
// limit (off here), one ticket record. Compare with BenchmarkHTTPBare of
// the same run (docs/benchmarks.md "QR login").
func BenchmarkHTTPQRCreate(b *testing.B) {
	s := servertest.New(b, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.RateLimits.AuthorizePerIP = "off"
	}))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := s.HTTP.Post(s.URL+"/v1/qrlogin", "application/json", strings.NewReader(`{"app":"mp"}`))
			drain(b, resp, err, 200)
		}
	})
}
