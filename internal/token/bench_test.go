package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/token"
)

// The raw cost of the signature algorithm, measured in the same run as the
// token operations below (docs/benchmarks.md compares the two).
func BenchmarkEd25519Verify(b *testing.B) {
	f := newFixture(b)
	p, _ := f.svc.Open(b.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	i := strings.LastIndexByte(p.AccessToken, '.')
	msg := []byte(p.AccessToken[:i])
	sig := ed25519.Sign(f.keys.Current().Private, msg)
	pub := f.keys.Current().Public()
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	f := newFixture(b)
	p, _ := f.svc.Open(b.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	msg := []byte(p.AccessToken[:strings.LastIndexByte(p.AccessToken, '.')])
	priv := f.keys.Current().Private
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

// BenchmarkVerify is the stateless access-token check: parse, signature,
// iss, aud, exp.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	p, _ := f.svc.Open(b.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Verify(p.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOverRaw alternates a raw signature check and a full
// Verify of the same token and reports their ratio (x-raw): paired this
// closely, the machine's noise hits both alike (target: ≤ 1.10).
func BenchmarkVerifyOverRaw(b *testing.B) {
	f := newFixture(b)
	p, _ := f.svc.Open(b.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	i := strings.LastIndexByte(p.AccessToken, '.')
	msg := []byte(p.AccessToken[:i])
	sig, err := base64.RawURLEncoding.DecodeString(p.AccessToken[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := f.keys.Current().Public()
	var raw, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
		t1 := time.Now()
		if _, err := f.svc.Verify(p.AccessToken); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		raw += t1.Sub(t0)
		full += t2.Sub(t1)
	}
	b.ReportMetric(float64(full)/float64(raw), "x-raw")
}

// BenchmarkAuthenticate adds the session look-up of protected endpoints.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	p, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Authenticate(ctx, p.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one rotation on the in-process store: parse and MAC
// check, successor derivation, atomic rotate, a new access token. Each
// iteration refreshes the token the previous one got, so the chain grows.
func BenchmarkRefresh(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	p, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	rt := p.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		p, err := f.svc.Refresh(ctx, rt)
		if err != nil {
			b.Fatal(err)
		}
		rt = p.RefreshToken
	}
}

// BenchmarkOpen is a new session: ids, store insert, a first token pair.
func BenchmarkOpen(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"}); err != nil {
			b.Fatal(err)
		}
	}
}
