package server

import (
	"context"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
)

// appLogin is POST /v1/app/login (docs/api.md "Native app"): a SendAuth
// code from an iOS or Android app, answered as a mini program login is.
func (s *Server) appLogin(w http.ResponseWriter, r *http.Request) error {
	var req api.AppLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return errInvalidRequest(`"code" is required: the code from the WeChat SDK's SendAuth`)
	}
	return s.codeLogin(w, r, "mobile_app", req.App, func(ctx context.Context) (login.Result, error) {
		return s.cfg.Login.MobileApp(ctx, login.MobileAppRequest{App: req.App, Code: req.Code, Inviter: req.Inviter})
	})
}
