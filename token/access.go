package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/signer"
)

// signAccess encodes c, with the token id jti (c.ID is not read), as a
// compact JWS signed with key, whose encoded header is given. The header and the
// claims are written straight into one buffer (no reflection, one pass),
// since every login and refresh pays for this; tests hold it and the
// verifier below to an independent JOSE library (go-jose).
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

// Keys is where verification finds public keys by kid and signing finds the
// current key; *signer.Set is one.
type Keys interface {
	Current() *signer.Key
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// verifier checks access tokens: the compact JWS that signAccess writes
// (RFC 7515 §7.1), with alg EdDSA (RFC 8037) and a kid of the key set, then
// iss, aud and exp. It is written out rather than delegated to a JWT library
// because every authenticated request pays for it: the work around the
// signature is a few allocations (a library's generic path costs a header
// map and reflection, about 15% on top of the signature). The tests hold it
// to go-jose, a fuzz target and a table of forgeries.
type verifier struct {
	keys     func() Keys
	issuer   string
	audience string
	now      func() time.Time
}

func newVerifier(keys func() Keys, issuer, audience string, now func() time.Time) *verifier {
	return &verifier{keys: keys, issuer: issuer, audience: audience, now: now}
}

// joseHeader is the part of the JOSE header wxauth reads; crit, if present,
// names extensions this verifier does not understand, so it refuses.
type joseHeader struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

var (
	errMalformed    = errors.New("malformed compact JWS")
	errAlg          = errors.New("alg is not EdDSA")
	errUnknownKid   = errors.New("unknown kid")
	errSignature    = errors.New("signature does not verify")
	errClaims       = errors.New("wrong issuer or audience, or sub or sid missing")
	errNotYetIssued = errors.New("issued in the future")
)

// verify parses tok and checks its signature, issuer, audience and expiry.
func (v *verifier) verify(tok string) (api.Claims, error) {
	h, rest, ok1 := strings.Cut(tok, ".")
	p, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(tok) > 8192 || strings.IndexByte(sig, '.') >= 0 {
		return api.Claims{}, errors.Join(ErrInvalidToken, errMalformed)
	}
	enc := strictB64
	hb, err := enc.DecodeString(h)
	if err != nil {
		return api.Claims{}, errors.Join(ErrInvalidToken, errMalformed)
	}
	var hdr joseHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return api.Claims{}, errors.Join(ErrInvalidToken, errMalformed)
	}
	if hdr.Alg != signer.Alg || len(hdr.Crit) > 0 {
		return api.Claims{}, errors.Join(ErrInvalidToken, errAlg)
	}
	pub, ok := v.keys().PublicKey(hdr.Kid)
	if !ok {
		return api.Claims{}, errors.Join(ErrInvalidToken, errUnknownKid)
	}
	var sigb [ed25519.SignatureSize]byte
	if enc.DecodedLen(len(sig)) != len(sigb) {
		return api.Claims{}, errors.Join(ErrInvalidToken, errSignature)
	}
	if n, err := enc.Decode(sigb[:], []byte(sig)); err != nil || n != len(sigb) {
		return api.Claims{}, errors.Join(ErrInvalidToken, errSignature)
	}
	if !ed25519.Verify(pub, []byte(tok[:len(h)+1+len(p)]), sigb[:]) {
		return api.Claims{}, errors.Join(ErrInvalidToken, errSignature)
	}
	pb, err := enc.DecodeString(p)
	if err != nil {
		return api.Claims{}, errors.Join(ErrInvalidToken, errMalformed)
	}
	var c api.Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return api.Claims{}, errors.Join(ErrInvalidToken, errMalformed)
	}
	if c.Issuer != v.issuer || c.Audience != v.audience || c.Subject == "" || c.SessionID == "" || c.Expiry == 0 {
		return api.Claims{}, errors.Join(ErrInvalidToken, errClaims)
	}
	now := v.now()
	if !now.Before(time.Unix(c.Expiry, 0)) {
		return api.Claims{}, ErrTokenExpired
	}
	if c.IssuedAt > now.Add(5*time.Minute).Unix() { // a clock far ahead minted it
		return api.Claims{}, errors.Join(ErrInvalidToken, errNotYetIssued)
	}
	return c, nil
}
