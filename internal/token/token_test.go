package token_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/token"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

type fixture struct {
	svc   *token.Service
	store *memstore.Store
	clock *fakeclock.Clock
	keys  *signer.Set
}

func newFixture(t testing.TB, edit ...func(*token.Config)) *fixture {
	t.Helper()
	key, err := signer.Generate(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signer.NewSet(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: memstore.New(), clock: fakeclock.New(t0), keys: keys}
	cfg := token.Config{
		Issuer:   "https://auth.example.com",
		Keys:     keys,
		Sessions: f.store,
		Secret:   []byte("0123456789abcdef0123456789abcdef"),
		Now:      f.clock.Now,
	}
	for _, e := range edit {
		e(&cfg)
	}
	f.svc, err = token.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOpenVerifyAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, err := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate = %v", err)
	}
	want := api.Claims{Issuer: "https://auth.example.com", Audience: "https://auth.example.com", Subject: "u1",
		SessionID: p.Session.ID, IssuedAt: t0.Unix(), Expiry: t0.Add(2 * time.Hour).Unix(), ID: c.ID, App: "mp"}
	if c != want {
		t.Errorf("Authenticate claims = %+v, want %+v", c, want)
	}
	if len(c.ID) < 16 {
		t.Errorf("jti = %q, want a random id", c.ID)
	}
	if got := p.Response(nil, false); got.ExpiresIn != 7200 || got.RefreshExpiresIn != 7*24*3600 || got.TokenType != "Bearer" {
		t.Errorf("Response = %+v", got)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(p.RefreshToken); len(raw) < 32+16 {
		t.Errorf("refresh token carries %d bytes, want ≥ 256 bits of secret", len(raw))
	}
}

// The sealed session_key given to Open stays with the session, through
// refreshes.
func TestOpenKeepsSessionKey(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	key := []byte("sealed-session-key")
	p, err := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp", SessionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Session.SessionKey, key) {
		t.Errorf("Open().Session.SessionKey = %q, want %q", p.Session.SessionKey, key)
	}
	f.clock.Advance(time.Hour)
	r, err := f.svc.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh() = %v", err)
	}
	stored, err := f.store.Session(ctx, p.Session.ID, f.clock.Now())
	if err != nil {
		t.Fatalf("Session(%s) = %v", p.Session.ID, err)
	}
	for what, got := range map[string][]byte{"Refresh().Session": r.Session.SessionKey, "stored session": stored.SessionKey} {
		if !bytes.Equal(got, key) {
			t.Errorf("%s.SessionKey = %q, want %q", what, got, key)
		}
	}
	// Other logins have none.
	p, err = f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "web"})
	if err != nil || len(p.Session.SessionKey) != 0 {
		t.Errorf("Open(no session key) = session key %q, %v; want none, nil", p.Session.SessionKey, err)
	}
}

// A third-party JOSE library verifies the access token from the JWKS alone.
func TestAccessTokenVerifiesWithGoJose(t *testing.T) {
	f := newFixture(t)
	p, err := f.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.keys.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.ParseSigned(p.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys for kid %q", len(keys), tok.Headers[0].KeyID)
	}
	var std josejwt.Claims
	var extra struct {
		SID string `json:"sid"`
		App string `json:"app"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("go-jose Claims: %v", err)
	}
	err = std.ValidateWithLeeway(josejwt.Expected{Issuer: "https://auth.example.com",
		AnyAudience: josejwt.Audience{"https://auth.example.com"}, Time: t0.Add(time.Minute)}, 0)
	if err != nil {
		t.Errorf("go-jose Validate: %v", err)
	}
	if std.Subject != "u1" || extra.SID != p.Session.ID || extra.App != "mp" || std.ID == "" {
		t.Errorf("claims = %+v %+v", std, extra)
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	p, err := f.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(p.AccessToken, ".")
	other := newFixture(t) // another key, same issuer
	op, _ := other.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	wrongIss := newFixture(t, func(c *token.Config) { c.Issuer = "https://evil.example.com"; c.Keys = f.keys })
	wp, _ := wrongIss.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	otherAud := newFixture(t, func(c *token.Config) { c.Audience = "https://other.example.com"; c.Keys = f.keys })
	ap, _ := otherAud.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
	crit := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"x","crit":["exp"]}`))
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"sub":"u1"`, `"sub":"u2"`, 1)))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	for _, tc := range []struct {
		name, tok string
	}{
		{"empty", ""},
		{"garbage", "not-a-jwt"},
		{"tampered payload", parts[0] + "." + tampered + "." + parts[2]},
		{"alg none", none + "." + parts[1] + "."},
		{"unknown kid", op.AccessToken},
		{"wrong issuer", wp.AccessToken},
		{"truncated signature", p.AccessToken[:len(p.AccessToken)-4]},
		{"other audience", ap.AccessToken},
		{"crit header", crit + "." + parts[1] + "." + parts[2]},
		{"four parts", p.AccessToken + ".x"},
		{"non-canonical signature", parts[0] + "." + parts[1] + "." + nonCanonicalSig(parts[2])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.Verify(tc.tok); !errors.Is(err, token.ErrInvalidToken) {
				t.Errorf("Verify(%s) = %v, want ErrInvalidToken", tc.name, err)
			}
		})
	}
	f.clock.Advance(2 * time.Hour)
	if _, err := f.svc.Verify(p.AccessToken); !errors.Is(err, token.ErrTokenExpired) {
		t.Errorf("Verify(at exp) = %v, want ErrTokenExpired (no leeway on exp)", err)
	}
}

// TestVerifyClockSkew: another instance's clock may run ahead by up to
// jwt.DefaultLeeway (30 s); a token issued further in the future is refused.
func TestVerifyClockSkew(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		ahead time.Duration
		ok    bool
	}{{20 * time.Second, true}, {30 * time.Second, true}, {31 * time.Second, false}, {5 * time.Minute, false}} {
		other := newFixture(t, func(c *token.Config) { c.Keys = f.keys })
		other.clock.Advance(tc.ahead)
		p, err := other.svc.Open(t.Context(), token.OpenRequest{UserID: "u1", App: "mp"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Verify(p.AccessToken)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("Verify(issued %v ahead) = %v, want ok=%v", tc.ahead, err, tc.ok)
		}
	}
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p0, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	f.clock.Advance(time.Minute)
	p1, err := f.svc.Refresh(ctx, p0.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh(live) = %v", err)
	}
	if p1.RefreshToken == p0.RefreshToken || p1.Session.ID != p0.Session.ID || p1.AccessToken == p0.AccessToken {
		t.Fatal("Refresh did not rotate")
	}
	// Grace replay: same successor, fresh access token, nothing revoked.
	f.clock.Advance(10 * time.Second)
	g, err := f.svc.Refresh(ctx, p0.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh(grace replay) = %v", err)
	}
	if g.RefreshToken != p1.RefreshToken {
		t.Errorf("grace replay answered another successor")
	}
	if g.AccessToken == p1.AccessToken {
		t.Errorf("grace replay answered the same access token, want a fresh one")
	}
	if _, err := f.svc.Authenticate(ctx, p1.AccessToken); err != nil {
		t.Errorf("grace replay revoked the session: %v", err)
	}
	// The successor still works and moves the chain on.
	p2, err := f.svc.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh(successor) = %v", err)
	}
	// The ancestor p0 (two generations back) is reuse: the session ends.
	reused, err := f.svc.Refresh(ctx, p0.RefreshToken)
	if !errors.Is(err, token.ErrReused) {
		t.Fatalf("Refresh(ancestor) = %v, want ErrReused", err)
	}
	if want := (storage.Session{ID: p0.Session.ID, UserID: p0.Session.UserID}); reused.Session.ID != want.ID || reused.Session.UserID != want.UserID || reused.AccessToken != "" || reused.RefreshToken != "" {
		t.Errorf("Refresh(ancestor) = %+v, want no tokens and the session %+v", reused, want)
	}
	if _, err := f.svc.Refresh(ctx, p2.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
		t.Errorf("Refresh(live token of a revoked session) = %v, want ErrInvalidGrant", err)
	}
	if _, err := f.svc.Authenticate(ctx, p2.AccessToken); !errors.Is(err, token.ErrSessionRevoked) {
		t.Errorf("Authenticate after reuse = %v, want ErrSessionRevoked", err)
	}
}

func TestRefreshReplayAfterGrace(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p0, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	p1, _ := f.svc.Refresh(ctx, p0.RefreshToken)
	f.clock.Advance(30 * time.Second)
	if _, err := f.svc.Refresh(ctx, p0.RefreshToken); !errors.Is(err, token.ErrReused) {
		t.Fatalf("Refresh(after grace) = %v, want ErrReused", err)
	}
	if _, err := f.svc.Refresh(ctx, p1.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
		t.Errorf("Refresh(successor after reuse) = %v, want ErrInvalidGrant", err)
	}
}

func TestRefreshRejectsForgeries(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p0, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	p1, _ := f.svc.Refresh(ctx, p0.RefreshToken)
	raw, _ := base64.RawURLEncoding.DecodeString(p1.RefreshToken)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other := newFixture(t)
	op, _ := other.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	for _, tc := range []struct{ name, tok string }{
		{"empty", ""},
		{"garbage", "abc"},
		{"flipped secret", flip(30)},
		{"flipped tag", flip(len(raw) - 1)},
		{"generation 0 forged", flip(1 + 16 + 7)}, // would look like an ancestor without the tag
		{"other server's token", op.RefreshToken},
		{"padded", p1.RefreshToken + "="},
		{"non-canonical trailing bits", nonCanonical(p1.RefreshToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.Refresh(ctx, tc.tok); !errors.Is(err, token.ErrInvalidGrant) {
				t.Errorf("Refresh(%s) = %v, want ErrInvalidGrant", tc.name, err)
			}
		})
	}
	if _, err := f.svc.Authenticate(ctx, p1.AccessToken); err != nil {
		t.Errorf("a forgery revoked the session: %v", err)
	}
	if _, err := f.svc.Refresh(ctx, p1.RefreshToken); err != nil {
		t.Errorf("Refresh(live) after forgeries = %v", err)
	}
}

func TestLifetimes(t *testing.T) {
	f := newFixture(t, func(c *token.Config) {
		c.AccessTTL = time.Hour
		c.RefreshTTL = 3 * time.Hour
		c.SessionMaxAge = 5 * time.Hour
	})
	ctx := t.Context()
	p, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	// Idle lifetime slides with each refresh…
	for i := 0; i < 3; i++ {
		f.clock.Advance(2 * time.Hour)
		var err error
		p, err = f.svc.Refresh(ctx, p.RefreshToken)
		if i < 2 && err != nil {
			t.Fatalf("refresh %d at +%dh = %v", i, 2*(i+1), err)
		}
		if i == 2 && !errors.Is(err, token.ErrInvalidGrant) {
			// …but never past the absolute age (5h): at +6h the session is over.
			t.Fatalf("refresh at +6h = %v, want ErrInvalidGrant", err)
		}
		if i == 1 {
			// At +4h the session has 1h left: both tokens end with it.
			if !p.RefreshExpiresAt.Equal(t0.Add(5*time.Hour)) || !p.AccessExpiresAt.Equal(t0.Add(5*time.Hour)) {
				t.Errorf("at +4h: access until %v, refresh until %v; want both capped at +5h", p.AccessExpiresAt, p.RefreshExpiresAt)
			}
		}
	}
	// Idle expiry: a session not refreshed for RefreshTTL ends.
	p, _ = f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	f.clock.Advance(3 * time.Hour)
	if _, err := f.svc.Refresh(ctx, p.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
		t.Errorf("refresh after the idle lifetime = %v, want ErrInvalidGrant", err)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	b, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "oa"})
	c, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u2", App: "mp"})
	if err := f.svc.Revoke(ctx, a.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, a.AccessToken); !errors.Is(err, token.ErrSessionRevoked) {
		t.Errorf("Authenticate(revoked) = %v, want ErrSessionRevoked", err)
	}
	if _, err := f.svc.Refresh(ctx, a.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
		t.Errorf("Refresh(revoked) = %v, want ErrInvalidGrant", err)
	}
	if err := f.svc.Revoke(ctx, a.Session.ID); err != nil {
		t.Errorf("Revoke twice = %v, want nil", err)
	}
	if n, err := f.svc.RevokeUser(ctx, "u1"); err != nil || n != 1 {
		t.Errorf("RevokeUser = %d, %v; want 1", n, err)
	}
	if _, err := f.svc.Authenticate(ctx, b.AccessToken); !errors.Is(err, token.ErrSessionRevoked) {
		t.Errorf("Authenticate(after RevokeUser) = %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, c.AccessToken); err != nil {
		t.Errorf("another user's session was revoked: %v", err)
	}
}

// Many goroutines refresh the same token at once: every answer is the same
// successor, and the session has exactly one live chain afterwards.
func TestConcurrentRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p0, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			p, err := f.svc.Refresh(ctx, p0.RefreshToken)
			results[i], errs[i] = p.RefreshToken, err
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("refresh %d = %v", i, errs[i])
		}
		if results[i] != results[0] {
			t.Fatalf("refresh %d answered another successor: the chain forked", i)
		}
	}
	s, err := f.store.Session(ctx, p0.Session.ID, f.clock.Now())
	if err != nil || s.Gen != 1 {
		t.Errorf("session after the storm: gen %d, %v; want gen 1", s.Gen, err)
	}
	if _, err := f.svc.Refresh(ctx, results[0]); err != nil {
		t.Errorf("the one live successor does not refresh: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	key, _ := signer.Generate(nil, t0)
	keys, _ := signer.NewSet(key)
	good := token.Config{Issuer: "i", Keys: keys, Sessions: memstore.New(), Secret: make([]byte, 32)}
	for name, edit := range map[string]func(*token.Config){
		"no issuer":    func(c *token.Config) { c.Issuer = "" },
		"no keys":      func(c *token.Config) { c.Keys = nil },
		"no sessions":  func(c *token.Config) { c.Sessions = nil },
		"short secret": func(c *token.Config) { c.Secret = make([]byte, 16) },
	} {
		c := good
		edit(&c)
		if _, err := token.New(c); err == nil {
			t.Errorf("New(%s) succeeded", name)
		}
	}
	if _, err := token.New(good); err != nil {
		t.Errorf("New(good) = %v", err)
	}
}

var _ storage.Sessions = (*memstore.Store)(nil)

// nonCanonical spells the same bytes differently: the last character of a
// 73-byte token carries 2 data bits and 4 padding bits; flip a padding bit.
func nonCanonical(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i^1])
}

// nonCanonicalSig flips a padding bit of a 64-byte signature's encoding (its
// last character carries 4 data bits and 2 padding bits).
func nonCanonicalSig(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, sig[len(sig)-1])
	return sig[:len(sig)-1] + string(alphabet[i^1])
}

// RefreshIsLive: the live generation only, of its own session.
func TestRefreshIsLive(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, err := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := f.store.Session(ctx, p.Session.ID, f.clock.Now())
	if !f.svc.RefreshIsLive(p.RefreshToken, sess) {
		t.Error("the live token is not live")
	}
	next, err := f.svc.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	sess, _ = f.store.Session(ctx, p.Session.ID, f.clock.Now())
	if f.svc.RefreshIsLive(p.RefreshToken, sess) || !f.svc.RefreshIsLive(next.RefreshToken, sess) {
		t.Error("after a rotation only the successor is live")
	}
	other, _ := f.svc.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	if f.svc.RefreshIsLive(other.RefreshToken, sess) || f.svc.RefreshIsLive("garbage", sess) {
		t.Error("another session's token, or garbage, is live")
	}
}
