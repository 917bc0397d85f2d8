package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/wxauth/wxauth/internal/token"
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
