package server

import (
	"context"
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
	return s.codeLogin(w, r, "miniprogram", req.App, func(ctx context.Context) (login.Result, error) {
		return s.cfg.Login.MiniProgram(ctx, login.MiniProgramRequest{App: req.App, Code: req.Code, Inviter: req.Inviter})
	})
}

// codeLogin is what the logins a client posts a WeChat code to share (the
// mini program's, the native app's): the attempt charged to the client
// address before WeChat is asked, the metrics, and the answer — tokens, or
// a bind ticket under bind_phone.
func (s *Server) codeLogin(w http.ResponseWriter, r *http.Request, kind, app string, flow func(context.Context) (login.Result, error)) error {
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	res, err := flow(r.Context())
	if err != nil {
		// Label by configured app only: a client-chosen name would let
		// anyone grow the metric without bound.
		label := "unknown"
		if _, ok := s.cfg.Login.Apps().Named(app); ok {
			label = app
		}
		e, _ := translate(err)
		s.m.Logins.WithLabelValues(label, e.Code).Inc()
		return err
	}
	if res.BindTicket != "" {
		s.m.Logins.WithLabelValues(kind, "bind_required").Inc()
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
