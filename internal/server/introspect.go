package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"

	"github.com/wxauth/wxauth/internal/token"
)

// ServiceKey is a key other services present as their bearer token,
// allowed only the endpoints of its scopes (api.ServiceKeyScopes).
type ServiceKey struct {
	// Name identifies the key in logs and in its stream cap; never secret.
	Name   string
	Secret string
	Scopes []string
}

// serviceKeys checks the bearer keys of other services in constant time:
// both sides are hashed first, so neither a key's content nor its length
// leaks through timing, and every key is compared whichever matches.
type serviceKeys []hashedServiceKey

type hashedServiceKey struct {
	hash   [32]byte
	name   string
	scopes []string
}

func newServiceKeys(keys []ServiceKey) serviceKeys {
	out := make(serviceKeys, len(keys))
	for i, k := range keys {
		out[i] = hashedServiceKey{hash: sha256.Sum256([]byte(k.Secret)), name: k.Name, scopes: k.Scopes}
	}
	return out
}

// find is the configured key whose secret is key.
func (ks serviceKeys) find(key string) (hashedServiceKey, bool) {
	h := sha256.Sum256([]byte(key))
	found := -1
	for i := range ks {
		if subtle.ConstantTimeCompare(h[:], ks[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 || key == "" {
		return hashedServiceKey{}, false
	}
	return ks[found], true
}

// serviceKeyNameKey carries the name of the service key a request came
// with, for the handlers that count per key.
type serviceKeyNameKey struct{}

// serviceOnly runs h only for callers presenting a configured service key
// whose scopes include scope: no key or an unknown one is 401
// invalid_token, a known key without the scope 403 insufficient_scope.
func (s *Server) serviceOnly(scope string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, _ := bearerToken(r)
		k, ok := s.serviceKeys.find(key)
		if !ok {
			return errServiceKey
		}
		if !slices.Contains(k.scopes, scope) {
			s.log.InfoContext(r.Context(), "service key used outside its scopes", "service_key", k.name, "scope", scope, "route", r.Pattern)
			return errInsufficientScope.Sayf("the service key %q does not have the scope %q", k.name, scope)
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), serviceKeyNameKey{}, k.name)))
	}
}

// introspectResponse is RFC 7662 §2.2's answer, with wxauth's claims.
type introspectResponse struct {
	Active bool   `json:"active"`
	Sub    string `json:"sub,omitempty"`
	SID    string `json:"sid,omitempty"`
	Exp    int64  `json:"exp,omitempty"`
	Iat    int64  `json:"iat,omitempty"`
	App    string `json:"app,omitempty"`
	Iss    string `json:"iss,omitempty"`
	Aud    string `json:"aud,omitempty"`
	Jti    string `json:"jti,omitempty"`
	// TokenType is "Bearer" for an active token (RFC 7662 §2.2).
	TokenType string `json:"token_type,omitempty"`
}

// introspect is POST /v1/introspect (RFC 7662; docs/api.md "Introspection"):
// form or JSON `token`. Expired, revoked, malformed and foreign
// tokens are all just {"active": false}; only a storage outage is an error,
// since "inactive" would then be a lie.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) error {
	tok, err := introspectToken(w, r)
	if err != nil {
		return err
	}
	c, err := s.cfg.Tokens.Authenticate(r.Context(), tok)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, introspectResponse{Active: true, Sub: c.Subject, SID: c.SessionID, Exp: c.Expiry,
			Iat: c.IssuedAt, App: c.App, Iss: c.Issuer, Aud: c.Audience, Jti: c.ID, TokenType: "Bearer"})
	case errors.Is(err, token.ErrInvalidToken), errors.Is(err, token.ErrTokenExpired), errors.Is(err, token.ErrSessionRevoked):
		writeJSON(w, http.StatusOK, introspectResponse{Active: false})
	default:
		return err // storage unreachable: 503, not a false "inactive"
	}
	return nil
}

// introspectRequest is the body of POST /v1/introspect (RFC 7662 §2.1),
// as a form or as JSON.
type introspectRequest struct {
	Token string `json:"token"`
	// TokenTypeHint is accepted and ignored: wxauth introspects only its
	// access tokens, and RFC 7662 §2.1 lets a server ignore the hint.
	TokenTypeHint string `json:"token_type_hint"`
}

// introspectToken reads the request the way every other endpoint does
// (decode: 64 KiB cap, 413 above it, invalid_request for a malformed body),
// and also as application/x-www-form-urlencoded, the form RFC 7662 §2.1
// names, with its parameters each given at most once (RFC 6749 §3.1).
// Both styles then pass the same checks.
func introspectToken(w http.ResponseWriter, r *http.Request) (string, error) {
	var req introspectRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := decodeForm(w, r, map[string]*string{"token": &req.Token, "token_type_hint": &req.TokenTypeHint}); err != nil {
			return "", err
		}
	} else if err := decode(w, r, &req); err != nil {
		return "", err
	}
	if req.Token == "" {
		return "", errInvalidRequest(`"token" is required`)
	}
	return req.Token, nil
}

// decodeForm reads a form body into fields, with decode's limits: 413
// above 64 KiB, invalid_request when malformed or when a parameter comes
// twice. Other parameters are ignored, as unknown JSON fields are.
func decodeForm(w http.ResponseWriter, r *http.Request, fields map[string]*string) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errTooLarge
	case err != nil:
		return errInvalidRequest("the body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return errInvalidRequest("the form body is malformed")
	}
	for name, dst := range fields {
		switch v := form[name]; len(v) {
		case 0:
		case 1:
			*dst = v[0]
		default:
			return errInvalidRequest(fmt.Sprintf("%q is given more than once", name))
		}
	}
	return nil
}
