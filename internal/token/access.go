package token

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/jwt"
	"github.com/wxauth/wxauth/internal/signer"
)

// signAccess encodes c, with the token id jti (c.ID is not read), as a
// compact JWS signed with key, whose encoded header ([jwt.EdDSAHeader]) is
// given.
func signAccess(key *signer.Key, header []byte, c *api.Claims, jti *[16]byte) string {
	return jwt.SignEdDSA(key.Private, header, c, jti)
}

// encodedHeader is the base64url JOSE header for key.
func encodedHeader(key *signer.Key) []byte { return jwt.EdDSAHeader(key.ID) }

// Keys is where verification finds public keys by kid and signing finds the
// current key; *signer.Set is one.
type Keys interface {
	Current() *signer.Key
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// verifier checks access tokens with the one check that package bearer
// also runs ([jwt.Verifier]: header, EdDSA signature by a key of the set,
// iss, aud, sub, sid, exp, and nbf/iat under [jwt.DefaultLeeway]).
type verifier struct {
	keys  func() Keys
	check jwt.Verifier
	now   func() time.Time
}

func newVerifier(keys func() Keys, issuer, audience string, now func() time.Time) *verifier {
	return &verifier{
		keys:  keys,
		check: jwt.Verifier{Issuer: issuer, Audience: audience, Leeway: jwt.DefaultLeeway},
		now:   now,
	}
}

var errUnknownKid = &jwt.Error{Err: jwt.ErrInvalid, Reason: "unknown kid"}

// verify parses tok and checks it: [ErrTokenExpired] past exp,
// [ErrInvalidToken] for anything else.
func (v *verifier) verify(tok string) (api.Claims, error) {
	keys := v.keys()
	c, err := v.check.Verify(tok, v.now(), func(kid string) (jwt.Key, error) {
		pub, ok := keys.PublicKey(kid)
		if !ok {
			return jwt.Key{}, errUnknownKid
		}
		return jwt.EdDSAKey(pub), nil
	})
	if err != nil {
		return api.Claims{}, tokenError(err)
	}
	return c.Claims, nil
}

// tokenError is a refusal of package jwt as this package's error.
func tokenError(err error) error {
	sentinel := ErrInvalidToken
	if errors.Is(err, jwt.ErrExpired) {
		sentinel = ErrTokenExpired
	}
	var je *jwt.Error
	if errors.As(err, &je) {
		return fmt.Errorf("%w: %s", sentinel, je.Reason)
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
