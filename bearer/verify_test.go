package bearer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/jwt"
)

func TestVerify(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(false))
	want := claimsAt(f.URL, f.clock.Now(), "s_1")
	got, err := v.Verify(t.Context(), k.token(want))
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" : no error
	}{
		{"minimal", Config{Issuer: "https://auth.example.com"}, ""},
		{"push", Config{Issuer: "https://auth.example.com", ServiceKey: "k", OnLostRevocations: Introspect}, ""},
		{"no issuer", Config{}, "Issuer is required"},
		{"relative issuer", Config{Issuer: "auth.example.com"}, "Issuer"},
		{"bad jwks url", Config{Issuer: "https://a.example", JWKSURL: "/jwks"}, "JWKSURL"},
		{"introspect without key", Config{Issuer: "https://a.example", OnLostRevocations: Introspect}, "needs Config.ServiceKey"},
		{"revocations without key", Config{Issuer: "https://a.example", RevocationsURL: "https://a.example/r"}, "needs Config.ServiceKey"},
		{"unknown fallback", Config{Issuer: "https://a.example", OnLostRevocations: 7}, "OnLostRevocations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				v.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, want an error naming %q", tc.cfg, err, tc.want)
			}
		})
	}

	v, err := New(Config{Issuer: "https://auth.example.com/", ServiceKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.audience != "https://auth.example.com/" || v.leeway != DefaultLeeway || v.keys.minRefetch != DefaultMinRefetch ||
		v.keys.url != "https://auth.example.com/.well-known/jwks.json" || v.sub.url != "https://auth.example.com/v1/revocations" ||
		v.introspectURL != "https://auth.example.com/v1/introspect" || v.cache == nil || v.httpc.Timeout == 0 || v.sub.httpc.Timeout != 0 {
		t.Errorf("defaults not applied: %+v", v)
	}
}

// TestJWKSRotation: a token with a new kid makes the verifier fetch the
// JWKS; the old key keeps working while published and its tokens are
// within exp; once wxauth withdraws it and the cached JWKS goes stale, its
// tokens are refused, cached or not.
func TestJWKSRotation(t *testing.T) {
	oldKey, newKey := newTestKey(t), newTestKey(t)
	f := newFake(t, oldKey)
	v := newVerifier(t, f.config(false))
	ctx := t.Context()

	oldTok := oldKey.token(claimsAt(f.URL, f.clock.Now(), "s_old"))
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("old key, before rotation: %v", err)
	}
	if n := f.jwksFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}

	// Rotation: wxauth signs with the new key and publishes both.
	f.clock.Advance(time.Minute)
	f.setKeys(newKey, oldKey)
	newTok := newKey.token(claimsAt(f.URL, f.clock.Now(), "s_new"))
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if n := f.jwksFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after the new kid, want 2", n)
	}
	oldTok2 := oldKey.token(claimsAt(f.URL, f.clock.Now().Add(-time.Minute), "s_old"))
	for _, tok := range []string{oldTok, oldTok2} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("old key during rotation: %v", err)
		}
	}
	if n := f.jwksFetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want no more for known kids", n)
	}

	// The old key's tokens expire on their own.
	f.clock.Advance(2*time.Hour + DefaultLeeway)
	if _, err := v.Verify(ctx, oldTok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("old token after exp = %v, want ErrTokenExpired", err)
	}

	// wxauth withdraws the old key; after max-age the JWKS is refetched in
	// the background (the request that notices still gets the stale key),
	// and from then on the old key's tokens are refused.
	f.setKeys(newKey)
	late := oldKey.token(claimsAt(f.URL, f.clock.Now(), "s_old"))
	if _, err := v.Verify(ctx, late); err != nil {
		t.Fatalf("old key, stale JWKS: %v", err)
	}
	waitFetch(t, v.keys)
	if n := f.jwksFetches.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want a background refresh", n)
	}
	if _, err := v.Verify(ctx, late); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("withdrawn key's (cached) token = %v, want ErrInvalidToken", err)
	}
	if _, err := v.Verify(ctx, newKey.token(claimsAt(f.URL, f.clock.Now(), "s_new"))); err != nil {
		t.Errorf("new key after withdrawal: %v", err)
	}
}

// waitFetch waits for the JWKS fetch in flight, if any.
func waitFetch(t *testing.T, ks *keySource) {
	t.Helper()
	ks.mu.Lock()
	call := ks.inflight
	ks.mu.Unlock()
	if call != nil {
		<-call.done
	}
}

// TestUnknownKidFlood: many concurrent tokens with made-up kids cost wxauth
// one JWKS fetch per MinRefetch, and do not slow down valid tokens.
func TestUnknownKidFlood(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(false))
	ctx := t.Context()
	good := k.token(claimsAt(f.URL, f.clock.Now(), "s_1"))
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	attacker := newTestKey(t)
	flood := func(n int) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := claimsAt(f.URL, f.clock.Now(), "s_x")
				tok := attacker.sign(fmt.Sprintf(`{"alg":"EdDSA","kid":"bogus-%d","typ":"JWT"}`, i), mustJSON(c))
				_, errs[i] = v.Verify(ctx, tok)
			})
		}
		wg.Wait()
		return errs
	}

	for round := 1; round <= 3; round++ {
		// The fetch is held until a good token has been verified meanwhile:
		// known kids never wait for it.
		f.clock.Advance(DefaultMinRefetch)
		arrived, release := f.gateJWKS()
		done := make(chan []error)
		go func() { done <- flood(200) }()
		<-arrived
		if _, err := v.Verify(ctx, good); err != nil {
			t.Errorf("good token during the flood: %v", err)
		}
		release()
		for i, err := range <-done {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("round %d, token %d = %v, want ErrInvalidToken", round, i, err)
			}
		}
		// One more flood within MinRefetch: no fetch at all.
		flood(200)
		if got, want := f.jwksFetches.Load(), int64(1+round); got != want {
			t.Errorf("round %d: %d JWKS fetches, want %d (one per MinRefetch)", round, got, want)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestJWKSUnavailable: no JWKS at all is 503 unavailable, not a token
// fault, and is retried once MinRefetch has passed.
func TestJWKSUnavailable(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	cfg := f.config(false)
	cfg.JWKSURL = f.URL + "/nowhere"
	v := newVerifier(t, cfg)
	tok := k.token(claimsAt(f.URL, f.clock.Now(), "s_1"))
	for range 3 {
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Verify without JWKS = %v, want ErrUnavailable", err)
		}
	}
	if n := v.keys.fetches.Load(); n != 1 {
		t.Errorf("%d fetch attempts within MinRefetch, want 1", n)
	}
	v.keys.url = f.URL + "/.well-known/jwks.json"
	f.clock.Advance(DefaultMinRefetch)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("after MinRefetch with the JWKS back: %v", err)
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                          defaultKeysAge,
		"public, max-age=300":       300 * time.Second,
		"max-age=0":                 minKeysAge,
		"no-store":                  minKeysAge,
		"max-age=86400, public":     maxKeysAge,
		`max-age="600"`:             600 * time.Second,
		"max-age=99999999999999999": maxKeysAge,
		"max-age=-5":                defaultKeysAge,
	} {
		if got := maxAge(cc); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}

// TestClockSkew: nbf and iat are allowed Leeway, exp none (the one policy
// of internal/jwt, which wxauth applies too).
func TestClockSkew(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	now := f.clock.Now()
	at := func(edit func(c *jwt.Claims)) string {
		c := jwt.Claims{Claims: claimsAt(f.URL, now, "s_1")}
		edit(&c)
		return k.sign(k.header(), mustJSON(c))
	}
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		tok    string
		want   error
	}{
		{"exp 1s ahead", 0, at(func(c *jwt.Claims) { c.Expiry = now.Add(time.Second).Unix() }), nil},
		{"exp now", 0, at(func(c *jwt.Claims) { c.Expiry = now.Unix() }), ErrTokenExpired},
		{"exp 10s ago", 0, at(func(c *jwt.Claims) { c.Expiry = now.Add(-10 * time.Second).Unix() }), ErrTokenExpired},
		{"exp 1s ago, leeway 5m", 5 * time.Minute, at(func(c *jwt.Claims) { c.Expiry = now.Add(-time.Second).Unix() }), ErrTokenExpired},
		{"exp now, no leeway", -1, at(func(c *jwt.Claims) { c.Expiry = now.Unix() }), ErrTokenExpired},
		{"iat 20s ahead", 0, at(func(c *jwt.Claims) { c.IssuedAt = now.Add(20 * time.Second).Unix() }), nil},
		{"iat 60s ahead", 0, at(func(c *jwt.Claims) { c.IssuedAt = now.Add(time.Minute).Unix() }), ErrInvalidToken},
		{"iat 60s ahead, leeway 5m", 5 * time.Minute, at(func(c *jwt.Claims) { c.IssuedAt = now.Add(time.Minute).Unix() }), nil},
		{"iat 1s ahead, no leeway", -1, at(func(c *jwt.Claims) { c.IssuedAt = now.Add(time.Second).Unix() }), ErrInvalidToken},
		{"nbf 20s ahead", 0, at(func(c *jwt.Claims) { c.NotBefore = now.Add(20 * time.Second).Unix() }), nil},
		{"nbf 60s ahead", 0, at(func(c *jwt.Claims) { c.NotBefore = now.Add(time.Minute).Unix() }), ErrInvalidToken},
		{"nbf in the past", 0, at(func(c *jwt.Claims) { c.NotBefore = now.Add(-time.Hour).Unix() }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(false)
			cfg.Leeway = tc.leeway
			v := newVerifier(t, cfg)
			_, err := v.Verify(t.Context(), tc.tok)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	// A cached token expires by the same rule.
	v := newVerifier(t, f.config(false))
	tok := at(func(c *jwt.Claims) { c.Expiry = now.Add(time.Second).Unix() })
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("Verify(cached, at exp) = %v, want ErrTokenExpired", err)
	}
}

// TestTampered: every alteration of a good token is refused, and none is
// cached.
func TestTampered(t *testing.T) {
	k, other := newTestKey(t), newTestKey(t)
	f := newFake(t, k, other)
	v := newVerifier(t, f.config(false))
	enc := base64.RawURLEncoding
	c := claimsAt(f.URL, f.clock.Now(), "s_1")
	good := k.token(c)
	parts := strings.Split(good, ".")
	with := func(edit func(c *api.Claims)) string {
		c := c
		edit(&c)
		return k.sign(k.header(), mustJSON(c))
	}
	hs256 := func() string {
		// The classic confusion: the public key as an HMAC secret.
		h := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"` + k.kid + `","typ":"JWT"}`))
		signed := h + "." + parts[1]
		m := hmac.New(sha256.New, []byte(k.jwk()["x"]))
		m.Write([]byte(signed))
		return signed + "." + enc.EncodeToString(m.Sum(nil))
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	otherPayload := enc.EncodeToString([]byte(mustJSON(func() api.Claims { c := c; c.Subject = "u_mallory"; return c }())))

	for _, tc := range []struct{ name, tok string }{
		{"empty", ""},
		{"one part", parts[0]},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", good + ".x"},
		{"payload swapped", parts[0] + "." + otherPayload + "." + parts[2]},
		{"payload byte flipped", parts[0] + "." + flip(parts[1], 10) + "." + parts[2]},
		{"signature byte flipped", parts[0] + "." + parts[1] + "." + flip(parts[2], 5)},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:40]},
		{"signature empty", parts[0] + "." + parts[1] + "."},
		{"signature padded", good + "=="},
		{"not base64", parts[0] + ".!!!." + parts[2]},
		{"alg none", enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"alg none with kid", enc.EncodeToString([]byte(`{"alg":"none","kid":"`+k.kid+`"}`)) + "." + parts[1] + "."},
		{"alg HS256 keyed with the public key", hs256()},
		{"alg ES256 on an Ed25519 key", k.sign(`{"alg":"ES256","kid":"`+k.kid+`"}`, mustJSON(c))},
		{"kid swapped to another known key", enc.EncodeToString([]byte(other.header())) + "." + parts[1] + "." + parts[2]},
		{"kid missing", k.sign(`{"alg":"EdDSA","typ":"JWT"}`, mustJSON(c))},
		{"crit header", k.sign(`{"alg":"EdDSA","kid":"`+k.kid+`","crit":["exp"]}`, mustJSON(c))},
		{"typ not JWT", k.sign(`{"alg":"EdDSA","kid":"`+k.kid+`","typ":"refresh+jwt"}`, mustJSON(c))},
		{"header not JSON", k.sign(`{"alg":`, mustJSON(c))},
		{"claims not JSON", k.sign(k.header(), `{"iss":`)},
		{"aud an array", k.sign(k.header(), strings.Replace(mustJSON(c), `"aud":"`+f.URL+`"`, `"aud":["`+f.URL+`"]`, 1))},
		{"other issuer", with(func(c *api.Claims) { c.Issuer = "https://evil.example" })},
		{"other audience", with(func(c *api.Claims) { c.Audience = "https://other.example" })},
		{"no sub", with(func(c *api.Claims) { c.Subject = "" })},
		{"no sid", with(func(c *api.Claims) { c.SessionID = "" })},
		{"no exp", with(func(c *api.Claims) { c.Expiry = 0 })},
		{"signed by an unpublished key", newTestKey(t).sign(k.header(), mustJSON(c))},
		{"huge", k.sign(k.header(), strings.Replace(mustJSON(c), `"app":"mp"`, `"app":"`+strings.Repeat("x", jwt.MaxTokenLen)+`"`, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Verify(t.Context(), tc.tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify(%.60q…) = %v, want ErrInvalidToken", tc.tok, err)
			}
		})
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("%d refused tokens cached", n)
	}
	if _, err := v.Verify(t.Context(), good); err != nil {
		t.Errorf("the untampered token: %v", err)
	}
	// A large token that is otherwise fine goes through the heap buffer.
	big := with(func(c *api.Claims) { c.App = strings.Repeat("y", 3000) })
	if _, err := v.Verify(t.Context(), big); err != nil {
		t.Errorf("3 KB token: %v", err)
	}
}

// TestES256: wxauth may publish P-256 keys (docs/api.md "Token response").
func TestES256(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := priv.PublicKey.Bytes()
	enc := base64.RawURLEncoding
	f := newFake(t)
	f.addJWK(map[string]string{"kty": "EC", "crv": "P-256", "kid": "ec1", "alg": "ES256", "use": "sig",
		"x": enc.EncodeToString(raw[1:33]), "y": enc.EncodeToString(raw[33:])})
	v := newVerifier(t, f.config(false))
	sign := func(header string) string {
		signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(mustJSON(claimsAt(f.URL, f.clock.Now(), "s_ec"))))
		h := sha256.Sum256([]byte(signed))
		r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return signed + "." + enc.EncodeToString(sig)
	}
	if _, err := v.Verify(t.Context(), sign(`{"alg":"ES256","kid":"ec1","typ":"JWT"}`)); err != nil {
		t.Errorf("ES256 token: %v", err)
	}
	if _, err := v.Verify(t.Context(), sign(`{"alg":"EdDSA","kid":"ec1","typ":"JWT"}`)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("EdDSA header on a P-256 key = %v, want ErrInvalidToken", err)
	}
}

func TestParseJWK(t *testing.T) {
	k := newTestKey(t)
	good := k.jwk()
	for _, tc := range []struct {
		name string
		edit func(j *jwk)
		ok   bool
	}{
		{"ed25519", func(j *jwk) {}, true},
		{"no alg", func(j *jwk) { j.Alg = "" }, true},
		{"no kid", func(j *jwk) { j.Kid = "" }, false},
		{"encryption key", func(j *jwk) { j.Use = "enc" }, false},
		{"RSA", func(j *jwk) { j.Kty = "RSA" }, false},
		{"X25519", func(j *jwk) { j.Crv = "X25519" }, false},
		{"short x", func(j *jwk) { j.X = j.X[:20] }, false},
		{"alg mismatch", func(j *jwk) { j.Alg = "ES256" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := jwk{Kty: good["kty"], Crv: good["crv"], X: good["x"], Kid: good["kid"], Alg: good["alg"], Use: good["use"]}
			tc.edit(&j)
			_, err := parseJWK(j)
			if (err == nil) != tc.ok {
				t.Errorf("parseJWK(%+v) = %v, want ok=%v", j, err, tc.ok)
			}
		})
	}
}
