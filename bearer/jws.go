package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
)

// maxTokenLen bounds what is decoded at all; wxauth's tokens are ~450 bytes.
const maxTokenLen = 8 << 10

// b64 decodes JWS parts: base64url without padding (RFC 7515 §2), strict so
// that one token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// joseHeader is the part of the JOSE header the check reads (RFC 7515 §4.1).
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// tokenClaims are wxauth's claims plus nbf, which wxauth does not issue but
// honours if present.
type tokenClaims struct {
	api.Claims
	NotBefore int64 `json:"nbf"`
}

// verifySigned checks a compact JWS (RFC 7515 §7.1) that is not in the
// cache: header, key, signature, then the claims. The signature is checked
// before the claims are decoded, so that nobody can make us parse JSON
// wxauth did not sign.
func (v *Verifier) verifySigned(ctx context.Context, token string, now time.Time) (*api.Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxTokenLen)
	}
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
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
		return nil, fmt.Errorf("%w: header: %v", ErrInvalidToken, err)
	}
	hdr, err := parseHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalidToken, err)
	}
	if hdr.Crit != nil {
		// RFC 7515 §4.1.11: we understand no extension.
		return nil, fmt.Errorf("%w: crit header", ErrInvalidToken)
	}
	if hdr.Typ != "" && !strings.EqualFold(hdr.Typ, "JWT") {
		return nil, fmt.Errorf("%w: typ %q", ErrInvalidToken, hdr.Typ)
	}
	if hdr.Alg != algEdDSA && hdr.Alg != algES256 {
		return nil, fmt.Errorf("%w: alg %q", ErrInvalidToken, hdr.Alg)
	}
	key, err := v.keys.lookup(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	if key.alg != hdr.Alg {
		return nil, fmt.Errorf("%w: alg %q with a %s key", ErrInvalidToken, hdr.Alg, key.alg)
	}
	sig, err := decodePart(&sigBuf, s64)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrInvalidToken, err)
	}
	if !key.verify(signed, sig) {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}

	cb, err := decodePart(&parts, c64)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	tc, err := parseClaims(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	c := &tc.Claims
	switch {
	case c.Issuer != v.issuer:
		return nil, fmt.Errorf("%w: iss %q", ErrInvalidToken, c.Issuer)
	case c.Audience != v.audience:
		return nil, fmt.Errorf("%w: aud %q", ErrInvalidToken, c.Audience)
	case c.Subject == "" || c.SessionID == "":
		return nil, fmt.Errorf("%w: sub or sid missing", ErrInvalidToken)
	case c.Expiry == 0:
		return nil, fmt.Errorf("%w: exp missing", ErrInvalidToken)
	case tc.NotBefore != 0 && now.Before(time.Unix(tc.NotBefore, 0).Add(-v.leeway)):
		return nil, fmt.Errorf("%w: not valid before %d", ErrInvalidToken, tc.NotBefore)
	case c.IssuedAt != 0 && now.Add(v.leeway).Before(time.Unix(c.IssuedAt, 0)):
		return nil, fmt.Errorf("%w: issued in the future (iat %d)", ErrInvalidToken, c.IssuedAt)
	}
	if err := v.checkExpiry(c, now); err != nil {
		return nil, err
	}
	return c, nil
}

// parseHeader reads a JOSE header. wxauth's own, byte for byte
// {"alg":"EdDSA","kid":"<kid>","typ":"JWT"} with a base64url kid, is read
// without encoding/json; anything else goes through it.
func parseHeader(b []byte) (joseHeader, error) {
	const prefix, suffix = `{"alg":"EdDSA","kid":"`, `","typ":"JWT"}`
	if len(b) > len(prefix)+len(suffix) && string(b[:len(prefix)]) == prefix && string(b[len(b)-len(suffix):]) == suffix {
		kid := b[len(prefix) : len(b)-len(suffix)]
		if plainKid(kid) {
			return joseHeader{Alg: algEdDSA, Kid: string(kid), Typ: "JWT"}, nil
		}
	}
	var h joseHeader
	err := json.Unmarshal(b, &h)
	return h, err
}

// parseClaims reads the claims. wxauth's own encoding (token/access.go:
// this key order, no whitespace, printable ASCII strings without escapes,
// non-negative integer times) is read by a scanner that reads such a
// document exactly as encoding/json would; anything else, nbf included,
// goes through encoding/json.
func parseClaims(b []byte) (*tokenClaims, error) {
	if tc := scanClaims(b); tc != nil {
		return tc, nil
	}
	tc := new(tokenClaims)
	if err := json.Unmarshal(b, tc); err != nil {
		return nil, err
	}
	return tc, nil
}

func scanClaims(b []byte) *tokenClaims {
	// One string for all the values, which are substrings of it.
	sc := claimScanner{b: b}
	var iss, aud, sub, sid, jti, app [2]int
	tc := new(tokenClaims)
	c := &tc.Claims
	ok := sc.lit(`{"iss":`) && sc.str(&iss) &&
		sc.lit(`,"aud":`) && sc.str(&aud) &&
		sc.lit(`,"sub":`) && sc.str(&sub) &&
		sc.lit(`,"sid":`) && sc.str(&sid) &&
		sc.lit(`,"iat":`) && sc.num(&c.IssuedAt) &&
		sc.lit(`,"exp":`) && sc.num(&c.Expiry) &&
		sc.lit(`,"jti":`) && sc.str(&jti) &&
		sc.lit(`,"app":`) && sc.str(&app) &&
		sc.lit(`}`) && sc.i == len(b)
	if !ok {
		return nil
	}
	all := string(b)
	c.Issuer, c.Audience, c.Subject = all[iss[0]:iss[1]], all[aud[0]:aud[1]], all[sub[0]:sub[1]]
	c.SessionID, c.ID, c.App = all[sid[0]:sid[1]], all[jti[0]:jti[1]], all[app[0]:app[1]]
	return tc
}

type claimScanner struct {
	b []byte
	i int
}

func (s *claimScanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// str reads a JSON string of printable ASCII without quote or backslash,
// recording where its content starts and ends.
func (s *claimScanner) str(span *[2]int) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			*span = [2]int{start, j}
			s.i = j + 1
			return true
		case c < 0x20 || c > 0x7e || c == '\\':
			return false
		}
	}
	return false
}

// num reads a JSON integer in [0, 10^18): digits, no leading zero.
func (s *claimScanner) num(n *int64) bool {
	start, v := s.i, int64(0)
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 18 || digits > 1 && s.b[start] == '0' {
		return false
	}
	*n = v
	return true
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

// JWS algorithms a [Verifier] accepts (RFC 8037 §3.1, RFC 7518 §3.4).
const (
	algEdDSA = "EdDSA"
	algES256 = "ES256"
)

// publicKey is one verification key of the JWKS.
type publicKey struct {
	alg string
	ed  ed25519.PublicKey
	ec  *ecdsa.PublicKey
}

func (k *publicKey) verify(msg, sig []byte) bool {
	switch k.alg {
	case algEdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, msg, sig)
	case algES256:
		// RFC 7518 §3.4: R || S, 32 bytes each, not DER.
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256(msg)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k.ec, h[:], r, s)
	}
	return false
}
