package server

import (
	"errors"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

var errReauthenticationRequired = clienterr.New(api.CodeReauthenticationRequired,
	"deleting the account needs a recent login; log in again and retry with the new session")

// deleteMe is DELETE /v1/me (docs/api.md "Deleting the account"): only
// from a session whose login is recent (Config.DeleteRecentLogin), so a
// stolen long-lived refresh token cannot erase an account.
func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	sess, err := s.cfg.Sessions.Session(r.Context(), c.SessionID, s.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return token.ErrSessionRevoked
	}
	if err != nil {
		return err
	}
	if s.cfg.Now().Sub(sess.CreatedAt) >= s.cfg.DeleteRecentLogin {
		return errReauthenticationRequired
	}
	err = s.cfg.Account.Delete(r.Context(), c.Subject, account.ActorUser)
	if errors.Is(err, storage.ErrNotFound) {
		return token.ErrSessionRevoked // deleted already
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// exportMe is GET /v1/me/export (docs/api.md "Data export").
func (s *Server) exportMe(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	out, err := s.cfg.Account.Export(r.Context(), c.Subject, account.ActorUser)
	if errors.Is(err, storage.ErrNotFound) {
		return token.ErrSessionRevoked
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
