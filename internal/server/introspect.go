package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/wxauth/wxauth/token"
)

// serviceKeys checks the bearer keys of other services in constant time:
// both sides are hashed first, so neither a key's content nor its length
// leaks through timing.
type serviceKeys [][32]byte

func newServiceKeys(keys []string) serviceKeys {
	out := make(serviceKeys, len(keys))
	for i, k := range keys {
		out[i] = sha256.Sum256([]byte(k))
	}
	return out
}

func (ks serviceKeys) valid(key string) bool {
	h := sha256.Sum256([]byte(key))
	ok := 0
	for i := range ks {
		ok |= subtle.ConstantTimeCompare(h[:], ks[i][:])
	}
	return ok == 1 && key != ""
}

// serviceOnly runs h only for callers presenting a configured service key
// as their bearer token.
func (s *Server) serviceOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, _ := bearerToken(r)
		if !s.serviceKeys.valid(key) {
			return errServiceKey
		}
		return h(w, r)
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

// introspect is POST /v1/introspect (RFC 7662; spec/api.md §4 "For other
// services"): form or JSON `token`. Expired, revoked, malformed and foreign
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

// introspectToken reads `token` from a form (RFC 7662 §2.1) or JSON body.
func introspectToken(w http.ResponseWriter, r *http.Request) (string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", errTooLarge
			}
			return "", errInvalidRequest("the form body is malformed")
		}
		tok := strings.TrimSpace(r.PostForm.Get("token"))
		if tok == "" {
			return "", errInvalidRequest(`"token" is required`)
		}
		return tok, nil
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return "", err
	}
	if req.Token == "" {
		return "", errInvalidRequest(`"token" is required`)
	}
	return req.Token, nil
}
