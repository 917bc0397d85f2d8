package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
)

// JWS algorithms (RFC 8037 §3.1, RFC 7518 §3.4): the allow-list. A token's
// alg must be one of them and the one of the key its kid names.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
)

// MaxTokenLen bounds what is decoded at all; wxauth's tokens are ~450 bytes.
const MaxTokenLen = 8 << 10

// DefaultLeeway is the clock skew allowed on nbf and iat (see the package
// documentation for the policy).
const DefaultLeeway = 30 * time.Second

// Errors of [Verifier.Verify] and [CheckExpiry], always inside an [*Error]
// that says what was wrong.
var (
	// ErrInvalid: malformed, a refused header, a bad signature, or claims
	// that fail the check.
	ErrInvalid = errors.New("jwt: invalid token")
	// ErrExpired: a genuine token at or past its exp.
	ErrExpired = errors.New("jwt: token expired")
)

// Error is a refused token: Err is [ErrInvalid] or [ErrExpired], Reason
// says why in a few words (`alg "none"`, `iss "https://evil.example"`).
// It holds nothing secret: the reason may be shown to the token's sender.
type Error struct {
	Err    error
	Reason string
}

func (e *Error) Error() string { return e.Err.Error() + ": " + e.Reason }
func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return &Error{Err: ErrInvalid, Reason: fmt.Sprintf(format, args...)}
}

// Key is a verification key: Ed25519 for EdDSA, P-256 for ES256. The zero
// Key verifies nothing.
type Key struct {
	alg string
	ed  ed25519.PublicKey
	ec  *ecdsa.PublicKey
}

// EdDSAKey is pub as a key for EdDSA tokens.
func EdDSAKey(pub ed25519.PublicKey) Key { return Key{alg: EdDSA, ed: pub} }

// ES256Key is pub (a P-256 key) as a key for ES256 tokens.
func ES256Key(pub *ecdsa.PublicKey) Key { return Key{alg: ES256, ec: pub} }

// Alg is the algorithm the key verifies; "" for the zero Key.
func (k Key) Alg() string { return k.alg }

func (k Key) verify(msg, sig []byte) bool {
	switch k.alg {
	case EdDSA:
		return len(k.ed) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, msg, sig)
	case ES256:
		// RFC 7518 §3.4: R || S, 32 bytes each, not DER.
		if len(sig) != 64 || k.ec == nil {
			return false
		}
		h := sha256.Sum256(msg)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k.ec, h[:], r, s)
	}
	return false
}

// Claims are wxauth's claims plus nbf, which wxauth does not issue but
// every verifier honours if present.
type Claims struct {
	api.Claims
	NotBefore int64 `json:"nbf"`
}

// Verifier is the one check of wxauth's access tokens. The zero Leeway
// allows no skew at all; wxauth and bearer use [DefaultLeeway] unless told
// otherwise.
type Verifier struct {
	// Issuer and Audience are what iss and aud must be, exactly.
	Issuer, Audience string
	// Leeway is the clock skew allowed on nbf and iat (never on exp).
	Leeway time.Duration
}

// KeyFunc finds the key a token's kid names. Its errors are returned by
// [Verifier.Verify] as they are, so that a caller can tell "no such key"
// from "keys unavailable"; return an [*Error] for a token fault.
type KeyFunc func(kid string) (Key, error)

// b64 decodes JWS parts: base64url without padding (RFC 7515 §2), strict
// so that one token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// joseHeader is the part of the JOSE header the check reads (RFC 7515 §4.1).
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// Verify checks a compact JWS (RFC 7515 §7.1): header, key, signature,
// then the claims ([Verifier.Check]) at now. The signature is checked
// before the claims are decoded, so that nobody can make us parse JSON
// that a trusted key did not sign. Errors are an [*Error] wrapping
// [ErrInvalid] or [ErrExpired], or key's own.
func (v *Verifier) Verify(token string, now time.Time, key KeyFunc) (*Claims, error) {
	if len(token) > MaxTokenLen {
		return nil, invalid("longer than %d bytes", MaxTokenLen)
	}
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return nil, invalid("not a compact JWS")
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return nil, invalid("not a compact JWS")
	}
	j += i + 1

	// The signing input and the signature go in a buffer on the stack
	// (crypto/ed25519 keeps neither); header and claims, which
	// encoding/json keeps hold of, in one small allocation.
	var stack [1024]byte
	sigLen := b64.DecodedLen(len(token) - j - 1)
	buf := stack[:]
	if len(token)+sigLen > len(stack) {
		buf = make([]byte, len(token)+sigLen)
	}
	tb := buf[:copy(buf, token)]
	signed, h64, c64, s64 := tb[:j], tb[:i], tb[i+1:j], tb[j+1:]
	sigBuf := buf[len(tb) : len(tb)+sigLen]
	parts := make([]byte, b64.DecodedLen(len(h64))+b64.DecodedLen(len(c64)))

	hb, err := decodePart(&parts, h64)
	if err != nil {
		return nil, invalid("header: %v", err)
	}
	hdr, err := parseHeader(hb)
	if err != nil {
		return nil, invalid("header: %v", err)
	}
	if hdr.Crit != nil {
		// RFC 7515 §4.1.11: we understand no extension.
		return nil, invalid("crit header")
	}
	if hdr.Typ != "" && !strings.EqualFold(hdr.Typ, "JWT") {
		return nil, invalid("typ %q", hdr.Typ)
	}
	if hdr.Alg != EdDSA && hdr.Alg != ES256 {
		return nil, invalid("alg %q", hdr.Alg)
	}
	if hdr.Kid == "" {
		return nil, invalid("no kid")
	}
	k, err := key(hdr.Kid)
	if err != nil {
		return nil, err
	}
	if k.alg != hdr.Alg {
		return nil, invalid("alg %q with a %s key", hdr.Alg, k.alg)
	}
	sig, err := decodePart(&sigBuf, s64)
	if err != nil {
		return nil, invalid("signature: %v", err)
	}
	if !k.verify(signed, sig) {
		return nil, invalid("bad signature")
	}

	cb, err := decodePart(&parts, c64)
	if err != nil {
		return nil, invalid("claims: %v", err)
	}
	c, err := parseClaims(cb)
	if err != nil {
		return nil, invalid("claims: %v", err)
	}
	if err := v.Check(c, now); err != nil {
		return nil, err
	}
	return c, nil
}

// Check is the one claims check: iss and aud are the expected ones; sub,
// sid and exp are present; nbf (if any) and iat (if any) are not in the
// future by more than the leeway; and the token is not expired
// ([CheckExpiry]).
func (v *Verifier) Check(c *Claims, now time.Time) error {
	switch {
	case c.Issuer != v.Issuer:
		return invalid("iss %q", c.Issuer)
	case c.Audience != v.Audience:
		return invalid("aud %q", c.Audience)
	case c.Subject == "" || c.SessionID == "":
		return invalid("sub or sid missing")
	case c.Expiry == 0:
		return invalid("exp missing")
	case c.NotBefore != 0 && now.Add(v.Leeway).Before(time.Unix(c.NotBefore, 0)):
		return invalid("not valid before %d", c.NotBefore)
	case c.IssuedAt != 0 && now.Add(v.Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return invalid("issued in the future (iat %d)", c.IssuedAt)
	}
	return CheckExpiry(c.Expiry, now)
}

// CheckExpiry refuses a token at or past exp (RFC 7519 §4.1.4), with no
// leeway: the token response's expires_in is exact on every verifier.
// Callers that keep verified tokens check this on every use.
func CheckExpiry(exp int64, now time.Time) error {
	if now.Unix() >= exp {
		return &Error{Err: ErrExpired, Reason: fmt.Sprintf("exp %d", exp)}
	}
	return nil
}

// parseHeader reads a JOSE header. wxauth's own, byte for byte
// {"alg":"EdDSA","kid":"<kid>","typ":"JWT"} with a base64url kid, is read
// without encoding/json; anything else goes through it.
func parseHeader(b []byte) (joseHeader, error) {
	const prefix, suffix = `{"alg":"EdDSA","kid":"`, `","typ":"JWT"}`
	if len(b) > len(prefix)+len(suffix) && string(b[:len(prefix)]) == prefix && string(b[len(b)-len(suffix):]) == suffix {
		kid := b[len(prefix) : len(b)-len(suffix)]
		if plainKid(kid) {
			return joseHeader{Alg: EdDSA, Kid: string(kid), Typ: "JWT"}, nil
		}
	}
	var h joseHeader
	err := json.Unmarshal(b, &h)
	return h, err
}

// plainKid reports whether kid is made of base64url characters only, so
// that it reads the same as a JSON string and raw.
func plainKid(kid []byte) bool {
	for _, c := range kid {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodePart decodes src into the start of *out and moves *out past it.
func decodePart(out *[]byte, src []byte) ([]byte, error) {
	n, err := b64.Decode(*out, src)
	if err != nil {
		return nil, err
	}
	d := (*out)[:n]
	*out = (*out)[n:]
	return d, nil
}
