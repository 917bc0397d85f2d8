package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/oidc"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

// refresh is POST /v1/token/refresh (docs/api.md "Sessions").
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var req api.RefreshRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return errInvalidRequest(`"refresh_token" is required`)
	}
	// The limits are charged with the rotation itself: one round trip to
	// the session store per refresh.
	sid, _ := s.cfg.Tokens.RefreshSessionID(req.RefreshToken)
	quotas := s.cfg.Limits.Refresh(clientIP(r, s.cfg.TrustedProxyHeader), sid)
	p, err := s.cfg.Tokens.Refresh(r.Context(), req.RefreshToken, quotas...)
	switch {
	case err == nil && strings.HasPrefix(p.Session.App, oidc.AppPrefix):
		// An OpenID Connect session refreshes at /oauth2/token, where its
		// client authenticates (RFC 6749 §6); here it would skip that, so
		// its presentation is treated as a theft and ends the session.
		s.m.Refreshes.WithLabelValues("invalid_grant").Inc()
		if rerr := s.cfg.Tokens.Revoke(r.Context(), p.Session.ID); rerr != nil {
			return rerr
		}
		return token.ErrInvalidGrant
	case err == nil:
		if uerr := s.userMayRefresh(r, p.Session); uerr != nil {
			s.m.Refreshes.WithLabelValues("invalid_grant").Inc()
			return uerr
		}
		s.m.Refreshes.WithLabelValues("ok").Inc()
	case errors.Is(err, token.ErrReused):
		s.m.Refreshes.WithLabelValues("reused").Inc()
		s.m.ReuseDetected.Inc()
		return err
	case errors.Is(err, token.ErrInvalidGrant):
		s.m.Refreshes.WithLabelValues("invalid_grant").Inc()
		return err
	case errors.Is(err, storage.ErrLimited):
		s.m.Refreshes.WithLabelValues("rate_limited").Inc()
		return err
	default:
		s.m.Refreshes.WithLabelValues("error").Inc()
		return err
	}
	writeJSON(w, http.StatusOK, p.Response(nil, false))
	return nil
}

// logout is POST /v1/logout: this session, or with {"all": true} every
// session of the user. Both take effect at once.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var req api.LogoutRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := claimsFrom(r)
	if req.All {
		if _, err := s.cfg.Tokens.RevokeUser(r.Context(), c.Subject); err != nil {
			return err
		}
	} else if err := s.cfg.Tokens.Revoke(r.Context(), c.SessionID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me is GET /v1/me.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	u, err := s.cfg.Users.User(r.Context(), c.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		return token.ErrSessionRevoked // the user is gone; its sessions are over
	}
	if err != nil {
		return err
	}
	ids, err := s.cfg.Users.Identities(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := api.Me{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, Phone: u.Phone,
		Identities: make([]api.Identity, 0, len(ids)), CreatedAt: u.CreatedAt}
	for _, id := range ids {
		name := id.AppID // an app no longer configured
		if a, ok := s.cfg.Login.Apps().ByAppID(id.AppID); ok {
			name = a.Name
		}
		out.Identities = append(out.Identities, api.Identity{App: name, OpenID: id.OpenID, UnionID: id.UnionID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listSessions is GET /v1/sessions: the caller's live sessions.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	list, err := s.cfg.Sessions.UserSessions(r.Context(), c.Subject, s.cfg.Now())
	if err != nil {
		return err
	}
	out := api.SessionList{Sessions: make([]api.Session, 0, len(list))}
	for _, ss := range list {
		out.Sessions = append(out.Sessions, api.Session{ID: ss.ID, App: ss.App, CreatedAt: ss.CreatedAt,
			LastUsedAt: ss.LastUsedAt, Current: ss.ID == c.SessionID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteSession is DELETE /v1/sessions/{id}: 204 for one of the caller's
// own sessions; 404 for any other id, so that nobody learns which ids exist.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	id := r.PathValue("id")
	ss, err := s.cfg.Sessions.Session(r.Context(), id, s.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && ss.UserID != c.Subject) {
		return errNotFound("no such session")
	}
	if err != nil {
		return err
	}
	if err := s.cfg.Tokens.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userMayRefresh ends a session whose user is gone (a login that raced the
// account's deletion) or disabled (one that raced the disabling): the
// refresh answers invalid_grant or user_disabled and the session is revoked.
func (s *Server) userMayRefresh(r *http.Request, sess storage.Session) error {
	u, err := s.cfg.Users.User(r.Context(), sess.UserID)
	var refuse error
	switch {
	case errors.Is(err, storage.ErrNotFound):
		refuse = token.ErrInvalidGrant
	case err != nil:
		return err
	case u.Disabled:
		refuse = login.ErrUserDisabled
	default:
		return nil
	}
	if rerr := s.cfg.Tokens.Revoke(r.Context(), sess.ID); rerr != nil {
		return rerr
	}
	return refuse
}
