package bearer

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// The benchmarks compare against baselines measured in the same run:
//
//	go test -run xxx -bench . -benchmem ./bearer
//
// Ed25519Verify is the raw signature check of a token-sized message, the
// floor of any cold check (target: VerifyCold within 1.10× of it).
// BareHandler is a bare net/http handler over loopback with parallel
// clients (target: MiddlewareRepeat at ≥ 60% of its requests/s).

// benchSetup is a fake wxauth with a live push and a Verifier on the real
// clock.
func benchSetup(b *testing.B, cacheSize int) (*fakeWXAuth, *testKey, *Verifier, string) {
	k := newTestKey(b)
	f := newFake(b, k)
	f.clock.Set(time.Now())
	cfg := f.config(true)
	cfg.CacheSize = cacheSize
	cfg.Now = time.Now
	v := newVerifier(b, cfg)
	start(b, v)
	return f, k, v, k.token(claimsAt(f.URL, time.Now(), "s_bench"))
}

func BenchmarkEd25519Verify(b *testing.B) {
	k := newTestKey(b)
	tok := k.token(claimsAt("http://127.0.0.1:12345", time.Now(), "s_bench"))
	i := strings.LastIndexByte(tok, '.')
	msg := []byte(tok[:i])
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	pub := k.priv.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkVerifyCold: every check verifies the signature (cache off).
func BenchmarkVerifyCold(b *testing.B) {
	_, _, v, tok := benchSetup(b, -1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdOverRaw alternates a raw signature check and a full cold
// Verify of the same token and reports their ratio (x-raw): paired this
// closely, the machine's noise hits both alike.
func BenchmarkColdOverRaw(b *testing.B) {
	_, k, v, tok := benchSetup(b, -1)
	ctx := context.Background()
	i := strings.LastIndexByte(tok, '.')
	msg := []byte(tok[:i])
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	pub := k.priv.Public().(ed25519.PublicKey)
	var raw, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
		t1 := time.Now()
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		raw += t1.Sub(t0)
		full += t2.Sub(t1)
	}
	b.ReportMetric(float64(full)/float64(raw), "x-raw")
}

// BenchmarkVerifyColdUnique: a new token every time, cache on (so each
// check also pays for the hash and the insertion).
func BenchmarkVerifyColdUnique(b *testing.B) {
	f, k, v, _ := benchSetup(b, 0)
	ctx := context.Background()
	toks := make([]string, 4096)
	for i := range toks {
		toks[i] = k.token(claimsAt(f.URL, time.Now(), fmt.Sprintf("s_%d", i)))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(toks) { // fresh tokens for the next stretch, untimed
			b.StopTimer()
			for j := range toks {
				toks[j] = k.token(claimsAt(f.URL, time.Now(), fmt.Sprintf("s_%d", j)))
			}
			i = 0
			b.StartTimer()
		}
		if _, err := v.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyColdGoJose is the same check through go-jose (parse,
// signature, then iss, aud, exp and the extra claims), for comparison:
// the reason internal/jwt parses by hand.
func BenchmarkVerifyColdGoJose(b *testing.B) {
	k := newTestKey(b)
	iss := "http://127.0.0.1:12345"
	tok := k.token(claimsAt(iss, time.Now(), "s_bench"))
	pub := k.priv.Public().(ed25519.PublicKey)
	algs := []jose.SignatureAlgorithm{jose.EdDSA}
	b.ReportAllocs()
	for b.Loop() {
		t, err := josejwt.ParseSigned(tok, algs)
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Headers) != 1 || t.Headers[0].KeyID != k.kid {
			b.Fatal("kid")
		}
		var std josejwt.Claims
		var extra struct {
			SID string `json:"sid"`
			App string `json:"app"`
		}
		if err := t.Claims(pub, &std, &extra); err != nil {
			b.Fatal(err)
		}
		if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: iss, AnyAudience: josejwt.Audience{iss}}, 0); err != nil {
			b.Fatal(err)
		}
		if std.Subject == "" || extra.SID == "" || std.Expiry == nil {
			b.Fatal("claims missing")
		}
	}
}

// BenchmarkVerifyRepeat: the same token again: hash, cache, exp, revoked
// set.
func BenchmarkVerifyRepeat(b *testing.B) {
	_, _, v, tok := benchSetup(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRepeatParallel(b *testing.B) {
	_, _, v, tok := benchSetup(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The HTTP benchmarks: parallel clients over loopback on the same cores as
// the server, as internal/server's BenchmarkHTTPBare.

func benchHTTP(b *testing.B, h http.Handler, tok string) {
	hs := httptest.NewServer(h)
	defer hs.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", hs.URL+"/v1/orders", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func appHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":"u1","nickname":"Alice"}`)
}

// BenchmarkBareHandler sends the same header as the others (a real token,
// which the handler ignores).
func BenchmarkBareHandler(b *testing.B) {
	tok := newTestKey(b).token(claimsAt("http://127.0.0.1:12345", time.Now(), "s_bench"))
	benchHTTP(b, http.HandlerFunc(appHandler), tok)
}

func BenchmarkMiddlewareRepeat(b *testing.B) {
	_, _, v, tok := benchSetup(b, 0)
	benchHTTP(b, v.Middleware(http.HandlerFunc(appHandler)), tok)
}

// BenchmarkMiddlewareCold: the cache off, every request checks the
// signature.
func BenchmarkMiddlewareCold(b *testing.B) {
	_, _, v, tok := benchSetup(b, -1)
	benchHTTP(b, v.Middleware(http.HandlerFunc(appHandler)), tok)
}

// BenchmarkRevocationPropagation: the delay from wxauth writing a
// revocation to a Verify refusing the session's cached token (loopback),
// reported as p50-ns, p99-ns and max-ns per revocation (ns/op also counts the
// untimed setup's timer bookkeeping).
func BenchmarkRevocationPropagation(b *testing.B) {
	f, k, v, _ := benchSetup(b, 0)
	ctx := context.Background()
	var delays []time.Duration
	for b.Loop() {
		b.StopTimer()
		sid := fmt.Sprintf("s_prop_%d", len(delays))
		tok := k.token(claimsAt(f.URL, time.Now(), sid))
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		delays = append(delays, propagation(b, f, v, sid, tok))
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2]), "p50-ns")
	b.ReportMetric(float64(delays[len(delays)*99/100]), "p99-ns")
	b.ReportMetric(float64(delays[len(delays)-1]), "max-ns")
}
