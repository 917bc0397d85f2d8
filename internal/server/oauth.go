package server

import (
	"net/http"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
)

// oauthCookie binds a state to the browser when the page sent no
// code_challenge (same-site pages only).
const oauthCookie = "wxauth_oauth"

// authorize is GET /v1/oauth/wechat/authorize (docs/api.md "H5 and
// website login"): a state kept server-side, then 302 to WeChat.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if m := q.Get("code_challenge_method"); m != "" && m != "S256" {
		return errInvalidRequest(`code_challenge_method must be S256`)
	}
	if err := s.cfg.Limits.Authorize(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	check := q.Get("check")
	if check != "" && check != "1" {
		return errInvalidRequest(`check is 1 (an account check) or absent`)
	}
	res, err := s.cfg.Login.Authorize(r.Context(), login.AuthorizeRequest{
		App: q.Get("app"), UserAgent: r.UserAgent(), RedirectURI: q.Get("redirect_uri"), ReturnTo: q.Get("return_to"),
		Scope: q.Get("scope"), Inviter: q.Get("inviter"), CodeChallenge: q.Get("code_challenge"), Check: check == "1",
	})
	if err != nil {
		return err
	}
	if res.Cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: res.Cookie, Path: "/v1/oauth/wechat",
			MaxAge: int((10 * time.Minute).Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	}
	w.Header().Set("Cache-Control", "no-store")
	// The app the login is for: the website app's QR login when an
	// Official Account was asked from a browser other than WeChat's.
	w.Header().Set("WXAuth-App", res.App)
	http.Redirect(w, r, res.URL, http.StatusFound)
	return nil
}

// oauthLogin is POST /v1/oauth/wechat/login: the code and state WeChat
// returned to the page.
func (s *Server) oauthLogin(w http.ResponseWriter, r *http.Request) error {
	var req api.OAuthLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.State == "" {
		return errInvalidRequest(`"state" is required: post the code and state WeChat returned`)
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	cookie := ""
	if c, err := r.Cookie(oauthCookie); err == nil {
		cookie = c.Value
	}
	res, err := s.cfg.Login.OAuthLogin(r.Context(), login.OAuthLoginRequest{Code: req.Code, State: req.State, CodeVerifier: req.CodeVerifier, Cookie: cookie})
	if err != nil {
		e, _ := translate(err)
		s.m.Logins.WithLabelValues("oauth", e.Code).Inc()
		return err
	}
	if cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: oauthCookie, Path: "/v1/oauth/wechat", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	}
	if res.BindTicket != "" {
		s.m.Logins.WithLabelValues("oauth", "bind_required").Inc()
		writeJSON(w, http.StatusOK, api.BindRequired{BindRequired: true, BindTicket: res.BindTicket, ReturnTo: res.ReturnTo})
		return nil
	}
	s.m.Logins.WithLabelValues(res.Tokens.Session.App, loginResult(res.IsNew)).Inc()
	writeJSON(w, http.StatusOK, api.OAuthLoginResponse{TokenResponse: res.Tokens.Response(userBrief(res.User), res.IsNew), ReturnTo: res.ReturnTo})
	return nil
}
