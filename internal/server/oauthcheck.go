package server

import (
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
)

// oauthCheck is POST /v1/oauth/wechat/check (docs/api.md, docs/h5.md
// "Noticing an account switch"): the code and state of a silent
// snsapi_base round trip started with check=1, posted with the session it
// checks. The bearer is checked before the state is touched, so a
// refused token leaves the check for a retry after a refresh.
func (s *Server) oauthCheck(w http.ResponseWriter, r *http.Request) error {
	var req api.OAuthLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.State == "" || req.Code == "" {
		return errInvalidRequest(`"code" and "state" are required: post what WeChat returned`)
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	cookie := ""
	if c, err := r.Cookie(oauthCookie); err == nil {
		cookie = c.Value
	}
	res, err := s.cfg.Login.CheckAccount(r.Context(), login.CheckRequest{UserID: claimsFrom(r).Subject,
		OAuthLoginRequest: login.OAuthLoginRequest{Code: req.Code, State: req.State, CodeVerifier: req.CodeVerifier, Cookie: cookie}})
	if err != nil {
		return err
	}
	if cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: oauthCookie, Path: "/v1/oauth/wechat", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	}
	l := res.Login
	switch {
	case res.SameUser:
		writeJSON(w, http.StatusOK, api.AccountCheck{SameUser: true})
	case l.BindTicket != "":
		s.m.Logins.WithLabelValues("oauth", "bind_required").Inc()
		writeJSON(w, http.StatusOK, api.AccountSwitchBind{BindRequired: api.BindRequired{BindRequired: true, BindTicket: l.BindTicket, ReturnTo: l.ReturnTo}})
	default:
		s.m.Logins.WithLabelValues(l.Tokens.Session.App, loginResult(l.IsNew)).Inc()
		writeJSON(w, http.StatusOK, api.AccountSwitch{OAuthLoginResponse: api.OAuthLoginResponse{
			TokenResponse: l.Tokens.Response(userBrief(l.User), l.IsNew), ReturnTo: l.ReturnTo}})
	}
	return nil
}
