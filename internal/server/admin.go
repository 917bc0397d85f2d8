package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/admin"
)

// The admin API (docs/api.md "Admin"): service keys with the admin scope
// act on accounts through internal/admin, which audits each action with
// the key's name as the actor.

// adminActor names the service key a request came with, for the audit.
func adminActor(r *http.Request) string {
	name, _ := r.Context().Value(serviceKeyNameKey{}).(string)
	return "service_key:" + name
}

// adminErr turns internal/admin's sentinels into the contract's answers.
func adminErr(err error, what string) error {
	switch {
	case errors.Is(err, admin.ErrNotFound):
		return errNotFound("no such " + what)
	case errors.Is(err, admin.ErrInvalidQuery):
		return errInvalidRequest(`give exactly one of "id", "unionid", "openid" (with or without "app"), "phone"`)
	case errors.Is(err, admin.ErrSameUser):
		return errInvalidRequest("a user cannot be merged into itself")
	}
	return err
}

// adminSearch is POST /v1/admin/users/search.
func (s *Server) adminSearch(w http.ResponseWriter, r *http.Request) error {
	var req api.AdminSearchRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	q := admin.Query{ID: req.ID, UnionID: req.UnionID, OpenID: req.OpenID, Phone: req.Phone}
	if req.App != "" {
		a, ok := s.cfg.Login.Apps().Named(req.App)
		if !ok {
			return errUnknownApp
		}
		q.AppID = a.AppID
	}
	users, err := s.admin.Find(r.Context(), adminActor(r), q)
	if err != nil {
		return adminErr(err, "user")
	}
	out := api.AdminUserList{Users: make([]api.AdminUser, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, account.APIUser(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminShow is GET /v1/admin/users/{id}.
func (s *Server) adminShow(w http.ResponseWriter, r *http.Request) error {
	a, err := s.admin.Show(r.Context(), adminActor(r), r.PathValue("id"))
	if err != nil {
		return adminErr(err, "user")
	}
	writeJSON(w, http.StatusOK, a.API(s.appName))
	return nil
}

// appName is the configured name of an appid, or "".
func (s *Server) appName(appID string) string {
	if a, ok := s.cfg.Login.Apps().ByAppID(appID); ok {
		return a.Name
	}
	return ""
}

// adminRevokeUser is POST /v1/admin/users/{id}/revoke: every session ends
// at once.
func (s *Server) adminRevokeUser(w http.ResponseWriter, r *http.Request) error {
	n, err := s.admin.RevokeUser(r.Context(), adminActor(r), r.PathValue("id"))
	if err != nil {
		return adminErr(err, "user")
	}
	writeJSON(w, http.StatusOK, api.AdminRevoked{Revoked: n})
	return nil
}

// adminRevokeSession is DELETE /v1/admin/sessions/{id}: 204, or 404 for a
// session that is not live.
func (s *Server) adminRevokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin.RevokeSession(r.Context(), adminActor(r), r.PathValue("id")); err != nil {
		return adminErr(err, "session")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminMerge is POST /v1/admin/users/{id}/merge {"from"}: from is absorbed
// into {id}.
func (s *Server) adminMerge(w http.ResponseWriter, r *http.Request) error {
	var req api.AdminMergeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.From == "" {
		return errInvalidRequest(`"from" is required`)
	}
	u, n, err := s.admin.Merge(r.Context(), adminActor(r), r.PathValue("id"), req.From)
	if err != nil {
		return adminErr(err, "user")
	}
	writeJSON(w, http.StatusOK, api.AdminMerged{User: account.APIUser(u), Revoked: n})
	return nil
}

// adminAccountAction is an action on a whole account answered 204:
// POST /v1/admin/users/{id}/disable and /enable, DELETE /v1/admin/users/{id}.
func (s *Server) adminAccountAction(act func(ctx context.Context, actor, userID string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := act(r.Context(), adminActor(r), r.PathValue("id")); err != nil {
			return adminErr(err, "user")
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
