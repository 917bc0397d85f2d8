package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/jwt"
)

// verifySigned checks a compact JWS that is not in the cache with the one
// check wxauth itself runs (internal/jwt): header (alg EdDSA or ES256
// matching the key, a kid, typ JWT if any, no crit), the signature against
// the JWKS, then iss, aud, sub, sid, exp, and nbf/iat within the leeway.
func (v *Verifier) verifySigned(ctx context.Context, token string, now time.Time) (*api.Claims, error) {
	check := jwt.Verifier{Issuer: v.issuer, Audience: v.audience, Leeway: v.leeway}
	c, err := check.Verify(token, now, func(kid string) (jwt.Key, error) {
		k, err := v.keys.lookup(ctx, kid)
		if err != nil {
			return jwt.Key{}, err
		}
		return k.jwtKey(), nil
	})
	if err != nil {
		return nil, checkError(err)
	}
	return &c.Claims, nil
}

// checkError is a refusal of package jwt as this package's error; the key
// look-up's errors (unknown kid, JWKS unavailable) are already ours.
func checkError(err error) error {
	var je *jwt.Error
	if !errors.As(err, &je) {
		return err
	}
	if errors.Is(je, jwt.ErrExpired) {
		return fmt.Errorf("%w: %s", ErrTokenExpired, je.Reason)
	}
	return fmt.Errorf("%w: %s", ErrInvalidToken, je.Reason)
}

// JWS algorithms a [Verifier] accepts (RFC 8037 §3.1, RFC 7518 §3.4).
const (
	algEdDSA = jwt.EdDSA
	algES256 = jwt.ES256
)

// publicKey is one verification key of the JWKS.
type publicKey struct {
	alg string
	ed  ed25519.PublicKey
	ec  *ecdsa.PublicKey
}

func (k *publicKey) jwtKey() jwt.Key {
	if k.alg == algES256 {
		return jwt.ES256Key(k.ec)
	}
	return jwt.EdDSAKey(k.ed)
}
