package token_test

import (
	"errors"
	"testing"

	"github.com/wxauth/wxauth/internal/token"
)

// FuzzRefresh: no string but a token this server minted is ever accepted,
// and nothing panics. Seeds include a real token and near misses of it.
func FuzzRefresh(f *testing.F) {
	fx := newFixture(f)
	p, err := fx.svc.Open(f.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.RefreshToken)
	f.Add(p.RefreshToken[:len(p.RefreshToken)-1] + "A")
	f.Add(p.AccessToken)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := fx.svc.Refresh(t.Context(), s)
		if s == p.RefreshToken {
			return // the real one may rotate (once)
		}
		if err == nil {
			t.Fatalf("Refresh(%q) accepted a token this server never minted", s)
		}
		if !errors.Is(err, token.ErrInvalidGrant) && !errors.Is(err, token.ErrReused) {
			t.Fatalf("Refresh(%q) = %v, want invalid_grant", s, err)
		}
	})
}

// FuzzVerify: no string but a token this server signed verifies.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	p, _ := fx.svc.Open(f.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	f.Add(p.AccessToken)
	f.Add(p.AccessToken + "x")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := fx.svc.Verify(s); err == nil && s != p.AccessToken {
			t.Fatalf("Verify(%q) accepted a token this server never signed", s)
		}
	})
}
