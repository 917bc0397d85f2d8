package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/signer"
)

// signAccess encodes c, with the token id jti (c.ID is not read), as a
// compact JWS signed with key, whose encoded header is given. The header and the
// claims are written straight into one buffer (no reflection, one pass),
// since every login and refresh pays for this; verification goes through
// golang-jwt, and tests hold both ends to independent JOSE libraries.
func signAccess(key *signer.Key, header []byte, c *api.Claims, jti *[16]byte) string {
	var claims [512]byte
	p := claims[:0]
	p = append(p, `{"iss":`...)
	p = appendJSONString(p, c.Issuer)
	p = append(p, `,"aud":`...)
	p = appendJSONString(p, c.Audience)
	p = append(p, `,"sub":`...)
	p = appendJSONString(p, c.Subject)
	p = append(p, `,"sid":`...)
	p = appendJSONString(p, c.SessionID)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, c.IssuedAt, 10)
	p = append(p, `,"exp":`...)
	p = strconv.AppendInt(p, c.Expiry, 10)
	p = append(p, `,"jti":"`...)
	p = base64.RawURLEncoding.AppendEncode(p, jti[:])
	p = append(p, '"')
	p = append(p, `,"app":`...)
	p = appendJSONString(p, c.App)
	p = append(p, '}')

	enc := base64.RawURLEncoding
	hlen, clen := len(header), enc.EncodedLen(len(p))
	out := make([]byte, hlen+1+clen+1+enc.EncodedLen(ed25519.SignatureSize))
	copy(out, header)
	out[hlen] = '.'
	enc.Encode(out[hlen+1:], p)
	signed := hlen + 1 + clen
	sig := ed25519.Sign(key.Private, out[:signed])
	out[signed] = '.'
	enc.Encode(out[signed+1:], sig)
	return string(out)
}

// encodedHeader is the base64url JOSE header for key.
func encodedHeader(key *signer.Key) []byte {
	h := `{"alg":"EdDSA","kid":` + strconv.Quote(key.ID) + `,"typ":"JWT"}`
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(h)))
	base64.RawURLEncoding.Encode(out, []byte(h))
	return out
}

// appendJSONString appends s as a JSON string (RFC 8259 §7).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// jwtClaims lets golang-jwt validate api.Claims.
type jwtClaims struct{ api.Claims }

func (c *jwtClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	if c.Expiry == 0 {
		return nil, nil
	}
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c *jwtClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c *jwtClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c *jwtClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *jwtClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *jwtClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// Keys is where verification finds public keys by kid and signing finds the
// current key; *signer.Set is one.
type Keys interface {
	Current() *signer.Key
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// verifier checks access tokens' signatures and registered claims.
type verifier struct {
	keys   func() Keys
	parser *jwt.Parser
}

func newVerifier(keys func() Keys, issuer, audience string, now func() time.Time) *verifier {
	return &verifier{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{signer.Alg}),
			jwt.WithStrictDecoding(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(now),
		),
	}
}

func (v *verifier) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	pub, ok := v.keys().PublicKey(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return pub, nil
}

// verify parses tok and checks its signature, issuer, audience and expiry.
func (v *verifier) verify(tok string) (api.Claims, error) {
	var c jwtClaims
	_, err := v.parser.ParseWithClaims(tok, &c, v.keyFunc)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return api.Claims{}, ErrTokenExpired
	default:
		return api.Claims{}, errors.Join(ErrInvalidToken, err)
	}
	if c.Subject == "" || c.SessionID == "" {
		return api.Claims{}, errors.Join(ErrInvalidToken, errors.New("missing sub or sid"))
	}
	return c.Claims, nil
}
