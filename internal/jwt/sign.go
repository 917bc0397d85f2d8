package jwt

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/wxauth/wxauth/api"
)

// EdDSAHeader is the base64url JOSE header of a token signed with the
// Ed25519 key kid: {"alg":"EdDSA","kid":"<kid>","typ":"JWT"}. Callers keep
// it per key: it is the same for every token.
func EdDSAHeader(kid string) []byte {
	h := append([]byte(`{"alg":"EdDSA","kid":`), appendJSONString(nil, kid)...)
	h = append(h, `,"typ":"JWT"}`...)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(h)))
	base64.RawURLEncoding.Encode(out, h)
	return out
}

// SignEdDSA encodes c, with the token id jti (c.ID is not read), as a
// compact JWS signed with priv, whose encoded header ([EdDSAHeader]) is
// given. The claims are written straight into one buffer, in the order
// the verifier's scanner reads (no reflection, one pass), since every
// login and refresh pays for this; tests hold it to go-jose.
func SignEdDSA(priv ed25519.PrivateKey, header []byte, c *api.Claims, jti *[16]byte) string {
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
	sig := ed25519.Sign(priv, out[:signed])
	out[signed] = '.'
	enc.Encode(out[signed+1:], sig)
	return string(out)
}

// appendJSONString appends s as a JSON string (RFC 8259 §7); invalid UTF-8
// becomes U+FFFD, as encoding/json writes it.
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
