package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/internal/tokenheader"
)

type claimsKey struct{}

// authed runs h only for requests with a valid access token whose session
// is live; h finds the claims with claimsFrom. The token is read where
// Config.TokenHeader says (internal/tokenheader): Authorization: Bearer,
// and the named header if one is configured.
func (s *Server) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := tokenheader.Read(r.Header, s.cfg.TokenHeader)
		switch {
		case errors.Is(err, tokenheader.ErrConflict):
			return errInvalidRequest("send the access token once: " + tokenheader.Describe(s.cfg.TokenHeader) +
				" or Authorization: Bearer <token>, the same token if both")
		case err != nil:
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
// scheme is case-insensitive): how service keys are always sent.
func bearerToken(r *http.Request) (string, bool) {
	t, err := tokenheader.Read(r.Header, "")
	return t, err == nil
}
