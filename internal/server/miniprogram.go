package server

import (
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/storage"
)

// miniprogramLogin is POST /v1/miniprogram/login (docs/api.md "Mini program").
func (s *Server) miniprogramLogin(w http.ResponseWriter, r *http.Request) error {
	var req api.MiniprogramLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return errInvalidRequest(`"code" is required: the code from wx.login()`)
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	res, err := s.cfg.Login.MiniProgram(r.Context(), login.MiniProgramRequest{App: req.App, Code: req.Code, Inviter: req.Inviter})
	if err != nil {
		// Label by configured app only: a client-chosen name would let
		// anyone grow the metric without bound.
		app := "unknown"
		if _, ok := s.cfg.Login.Apps().Named(req.App); ok {
			app = req.App
		}
		e, _ := translate(err)
		s.m.Logins.WithLabelValues(app, e.Code).Inc()
		return err
	}
	if res.BindTicket != "" {
		s.m.Logins.WithLabelValues("miniprogram", "bind_required").Inc()
		writeJSON(w, http.StatusOK, api.BindRequired{BindRequired: true, BindTicket: res.BindTicket})
		return nil
	}
	s.m.Logins.WithLabelValues(res.Tokens.Session.App, loginResult(res.IsNew)).Inc()
	writeJSON(w, http.StatusOK, res.Tokens.Response(userBrief(res.User), res.IsNew))
	return nil
}

func loginResult(isNew bool) string {
	if isNew {
		return "new_user"
	}
	return "returning_user"
}

func userBrief(u storage.User) *api.User {
	return &api.User{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, PhoneBound: u.Phone != ""}
}
