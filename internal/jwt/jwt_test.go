package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/api"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

const iss = "https://auth.example.com"

type testKey struct {
	kid  string
	priv ed25519.PrivateKey
}

func newTestKey(t testing.TB) *testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(priv.Public().(ed25519.PublicKey))
	return &testKey{kid: base64.RawURLEncoding.EncodeToString(sum[:]), priv: priv}
}

func (k *testKey) keyFunc(kid string) (Key, error) {
	if kid != k.kid {
		return Key{}, &Error{Err: ErrInvalid, Reason: "unknown kid"}
	}
	return EdDSAKey(k.priv.Public().(ed25519.PublicKey)), nil
}

func claimsAt(now time.Time) api.Claims {
	return api.Claims{Issuer: iss, Audience: iss, Subject: "u_alice", SessionID: "s_1",
		IssuedAt: now.Unix(), Expiry: now.Add(2 * time.Hour).Unix(), App: "mp"}
}

var jti = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func (k *testKey) token(c api.Claims) string {
	return SignEdDSA(k.priv, EdDSAHeader(k.kid), &c, &jti)
}

// signRaw signs any header and payload with k.
func (k *testKey) signRaw(header, payload string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return signed + "." + enc.EncodeToString(ed25519.Sign(k.priv, []byte(signed)))
}

func (k *testKey) header() string { return `{"alg":"EdDSA","kid":"` + k.kid + `","typ":"JWT"}` }

var verifier = &Verifier{Issuer: iss, Audience: iss, Leeway: DefaultLeeway}

func TestSignVerify(t *testing.T) {
	k := newTestKey(t)
	want := claimsAt(t0)
	got, err := verifier.Verify(k.token(want), t0, k.keyFunc)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	want.ID = base64.RawURLEncoding.EncodeToString(jti[:])
	if d := cmp.Diff(Claims{Claims: want}, *got); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}
}

// What SignEdDSA writes takes the fast paths of the verifier: the header
// without encoding/json, the claims through the scanner.
func TestSignedTakesFastPaths(t *testing.T) {
	k := newTestKey(t)
	parts := strings.Split(k.token(claimsAt(t0)), ".")
	hb, _ := b64.DecodeString(parts[0])
	cb, _ := b64.DecodeString(parts[1])
	if string(hb) != k.header() {
		t.Errorf("header = %s, want %s", hb, k.header())
	}
	if h, err := parseHeader(hb); err != nil || h.Kid != k.kid {
		t.Errorf("parseHeader(%s) = %+v, %v", hb, h, err)
	}
	if scanClaims(cb) == nil {
		t.Errorf("scanner refused %s: the fast path is not taken", cb)
	}
}

// An independent JOSE library verifies what SignEdDSA writes.
func TestSignedVerifiesWithGoJose(t *testing.T) {
	k := newTestKey(t)
	c := claimsAt(t0)
	c.Subject = "u_\"quoted\"\n中文" // escapes and non-ASCII go through encoding/json's reading
	tok, err := josejwt.ParseSigned(k.token(c), []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if kid := tok.Headers[0].KeyID; kid != k.kid {
		t.Errorf("kid = %q, want %q", kid, k.kid)
	}
	var std josejwt.Claims
	var extra struct {
		SID string `json:"sid"`
		App string `json:"app"`
	}
	if err := tok.Claims(k.priv.Public(), &std, &extra); err != nil {
		t.Fatalf("go-jose Claims: %v", err)
	}
	err = std.ValidateWithLeeway(josejwt.Expected{Issuer: iss, AnyAudience: josejwt.Audience{iss}, Time: t0.Add(time.Minute)}, 0)
	if err != nil {
		t.Errorf("go-jose Validate: %v", err)
	}
	if std.Subject != c.Subject || extra.SID != c.SessionID || extra.App != c.App || std.ID == "" {
		t.Errorf("claims = %+v %+v", std, extra)
	}
	// And the verifier reads the escaped claims back through encoding/json.
	got, err := verifier.Verify(k.token(c), t0, k.keyFunc)
	if err != nil || got.Subject != c.Subject {
		t.Errorf("Verify(escaped claims) = %+v, %v", got, err)
	}
}

// The verifier accepts what go-jose signs, EdDSA and ES256, with any key
// order and nbf.
func TestVerifiesGoJoseTokens(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := map[string]Key{"ed": EdDSAKey(edPub), "ec": ES256Key(&ecPriv.PublicKey)}
	keyFunc := func(kid string) (Key, error) {
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return Key{}, &Error{Err: ErrInvalid, Reason: "unknown kid"}
	}
	for _, tc := range []struct {
		kid string
		alg jose.SignatureAlgorithm
		key any
	}{{"ed", jose.EdDSA, edPriv}, {"ec", jose.ES256, ecPriv}} {
		t.Run(string(tc.alg), func(t *testing.T) {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: tc.alg, Key: tc.key},
				(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", tc.kid))
			if err != nil {
				t.Fatal(err)
			}
			c := Claims{Claims: claimsAt(t0), NotBefore: t0.Unix()}
			tok, err := josejwt.Signed(s).Claims(c).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier.Verify(tok, t0, keyFunc)
			if err != nil {
				t.Fatalf("Verify(go-jose %s) = %v", tc.alg, err)
			}
			if d := cmp.Diff(c, *got); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
		})
	}
}

// TestRejects: every forgery and alteration is ErrInvalid.
func TestRejects(t *testing.T) {
	k, other := newTestKey(t), newTestKey(t)
	enc := base64.RawURLEncoding
	c := claimsAt(t0)
	good := k.token(c)
	parts := strings.Split(good, ".")
	with := func(edit func(c *api.Claims)) string {
		c := c
		edit(&c)
		return k.token(c)
	}
	hs256 := func() string {
		h := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"` + k.kid + `","typ":"JWT"}`))
		signed := h + "." + parts[1]
		m := hmac.New(sha256.New, k.priv.Public().(ed25519.PublicKey))
		m.Write([]byte(signed))
		return signed + "." + enc.EncodeToString(m.Sum(nil))
	}
	payload, _ := b64.DecodeString(parts[1])
	claimsJSON := string(payload)
	flipLast := func(s string) string { // a padding bit of the last character
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		i := strings.IndexByte(alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(alphabet[i^1])
	}
	for _, tc := range []struct{ name, tok string }{
		{"empty", ""},
		{"one part", parts[0]},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", good + ".x"},
		{"payload altered", parts[0] + "." + enc.EncodeToString([]byte(strings.Replace(claimsJSON, "u_alice", "u_mallory", 1))) + "." + parts[2]},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:40]},
		{"signature empty", parts[0] + "." + parts[1] + "."},
		{"signature padded", good + "=="},
		{"signature non-canonical", parts[0] + "." + parts[1] + "." + flipLast(parts[2])},
		{"not base64", parts[0] + ".!!!." + parts[2]},
		{"alg none", enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"alg none with kid", enc.EncodeToString([]byte(`{"alg":"none","kid":"`+k.kid+`"}`)) + "." + parts[1] + "."},
		{"alg HS256 keyed with the public key", hs256()},
		{"alg ES256 on an Ed25519 key", k.signRaw(`{"alg":"ES256","kid":"`+k.kid+`"}`, claimsJSON)},
		{"kid of another key", other.signRaw(k.header(), claimsJSON)},
		{"kid missing", k.signRaw(`{"alg":"EdDSA","typ":"JWT"}`, claimsJSON)},
		{"kid unknown", other.token(c)},
		{"crit header", k.signRaw(`{"alg":"EdDSA","kid":"`+k.kid+`","crit":["exp"]}`, claimsJSON)},
		{"crit empty", k.signRaw(`{"alg":"EdDSA","kid":"`+k.kid+`","crit":[]}`, claimsJSON)},
		{"typ not JWT", k.signRaw(`{"alg":"EdDSA","kid":"`+k.kid+`","typ":"refresh+jwt"}`, claimsJSON)},
		{"header not JSON", k.signRaw(`{"alg":`, claimsJSON)},
		{"claims not JSON", k.signRaw(k.header(), `{"iss":`)},
		{"aud an array", k.signRaw(k.header(), strings.Replace(claimsJSON, `"aud":"`+iss+`"`, `"aud":["`+iss+`"]`, 1))},
		{"other issuer", with(func(c *api.Claims) { c.Issuer = "https://evil.example" })},
		{"other audience", with(func(c *api.Claims) { c.Audience = "https://other.example" })},
		{"no sub", with(func(c *api.Claims) { c.Subject = "" })},
		{"no sid", with(func(c *api.Claims) { c.SessionID = "" })},
		{"no exp", with(func(c *api.Claims) { c.Expiry = 0 })},
		{"huge", with(func(c *api.Claims) { c.App = strings.Repeat("x", MaxTokenLen) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier.Verify(tc.tok, t0, k.keyFunc)
			var je *Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &je) || je.Reason == "" {
				t.Errorf("Verify(%.60q…) = %v, want ErrInvalid with a reason", tc.tok, err)
			}
		})
	}
	// A large token that is otherwise fine goes through the heap buffer.
	if _, err := verifier.Verify(with(func(c *api.Claims) { c.App = strings.Repeat("y", 3000) }), t0, k.keyFunc); err != nil {
		t.Errorf("3 KB token: %v", err)
	}
}

// TestKeyFuncError: the key function's own error comes back as it is.
func TestKeyFuncError(t *testing.T) {
	k := newTestKey(t)
	boom := errors.New("keys unavailable")
	_, err := verifier.Verify(k.token(claimsAt(t0)), t0, func(string) (Key, error) { return Key{}, boom })
	if err != boom {
		t.Errorf("Verify = %v, want the key function's error", err)
	}
	for name, key := range map[string]Key{"zero key": {}, "short Ed25519 key": EdDSAKey(make([]byte, 5)), "nil P-256 key": ES256Key(nil)} {
		_, err := verifier.Verify(k.token(claimsAt(t0)), t0, func(string) (Key, error) { return key, nil })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify with a %s = %v, want ErrInvalid", name, err)
		}
	}
}

// TestLeewayPolicy: nbf and iat are allowed Leeway, exp none.
func TestLeewayPolicy(t *testing.T) {
	k := newTestKey(t)
	now := t0
	at := func(edit func(c *Claims)) string {
		c := Claims{Claims: claimsAt(now)}
		edit(&c)
		return k.signRaw(k.header(), mustJSON(c))
	}
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		tok    string
		want   error
	}{
		{"exp 1s ahead", DefaultLeeway, at(func(c *Claims) { c.Expiry = now.Unix() + 1 }), nil},
		{"exp now", DefaultLeeway, at(func(c *Claims) { c.Expiry = now.Unix() }), ErrExpired},
		{"exp 1s ago", DefaultLeeway, at(func(c *Claims) { c.Expiry = now.Unix() - 1 }), ErrExpired},
		{"exp 1s ago, leeway 5m", 5 * time.Minute, at(func(c *Claims) { c.Expiry = now.Unix() - 1 }), ErrExpired},
		{"iat 20s ahead", DefaultLeeway, at(func(c *Claims) { c.IssuedAt = now.Unix() + 20 }), nil},
		{"iat 30s ahead, at the leeway", DefaultLeeway, at(func(c *Claims) { c.IssuedAt = now.Unix() + 30 }), nil},
		{"iat 31s ahead", DefaultLeeway, at(func(c *Claims) { c.IssuedAt = now.Unix() + 31 }), ErrInvalid},
		{"iat 1s ahead, no leeway", 0, at(func(c *Claims) { c.IssuedAt = now.Unix() + 1 }), ErrInvalid},
		{"iat absent", DefaultLeeway, at(func(c *Claims) { c.IssuedAt = 0 }), nil},
		{"nbf 20s ahead", DefaultLeeway, at(func(c *Claims) { c.NotBefore = now.Unix() + 20 }), nil},
		{"nbf 31s ahead", DefaultLeeway, at(func(c *Claims) { c.NotBefore = now.Unix() + 31 }), ErrInvalid},
		{"nbf in the past", DefaultLeeway, at(func(c *Claims) { c.NotBefore = now.Unix() - 3600 }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *verifier
			v.Leeway = tc.leeway
			_, err := v.Verify(tc.tok, now, k.keyFunc)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEdDSAHeaderEscapes(t *testing.T) {
	var h struct{ Alg, Kid, Typ string }
	b, _ := b64.DecodeString(string(EdDSAHeader(`k"\id`)))
	if err := json.Unmarshal(b, &h); err != nil || h.Kid != `k"\id` || h.Alg != EdDSA || h.Typ != "JWT" {
		t.Errorf("EdDSAHeader(odd kid) = %s: %+v, %v", b, h, err)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x1f\n", "中文", "bad\xffutf8", "<>&"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

// FuzzParseClaims holds the claims scanner to encoding/json: whatever it
// accepts, encoding/json reads the same way.
func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://auth.example.com","aud":"https://auth.example.com","sub":"u_1","sid":"s_1","iat":1795446103,"exp":1795453303,"jti":"abc-_","app":"mp"}`,
		`{"iss":"","aud":"","sub":"","sid":"","iat":0,"exp":0,"jti":"","app":""}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":01,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"a\"","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"é","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"} `,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f","nbf":3}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1e3,"exp":-2,"jti":"e","app":"f"}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":999999999999999999,"exp":2,"jti":"e","app":"f"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast := scanClaims(b)
		if fast == nil {
			return
		}
		var slow Claims
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("scanner accepted %q, encoding/json: %v", b, err)
		}
		if d := cmp.Diff(slow, *fast); d != "" {
			t.Fatalf("%q read differently (-json +scanner):\n%s", b, d)
		}
	})
}

// FuzzVerify: no string but the token signed here verifies, and nothing
// panics.
func FuzzVerify(f *testing.F) {
	k := newTestKey(f)
	good := k.token(claimsAt(t0))
	f.Add(good)
	f.Add(good + "x")
	f.Add("a.b.c")
	f.Add(k.signRaw(`{"alg":"EdDSA","kid":"`+k.kid+`"}`, `{"iss":1}`))
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := verifier.Verify(s, t0, k.keyFunc); err == nil && s != good {
			t.Fatalf("Verify(%q) accepted a token never signed", s)
		}
	})
}
