package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/token"
)

type claimsKey struct{}

// authed runs h only for requests with a valid bearer access token whose
// session is live; h finds the claims with claimsFrom.
func (s *Server) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := bearerToken(r)
		if !ok {
			return token.ErrInvalidToken
		}
		c, err := s.cfg.Tokens.Authenticate(r.Context(), tok)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	}
}

func claimsFrom(r *http.Request) api.Claims {
	c, _ := r.Context().Value(claimsKey{}).(api.Claims)
	return c
}

// bearerToken reads "Authorization: Bearer <token>" (RFC 6750 §2.1; the
// scheme is case-insensitive).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}
