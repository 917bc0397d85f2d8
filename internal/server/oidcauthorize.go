package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/oidc"
	"github.com/wxauth/wxauth/internal/storage"
)

// The OP's browser side (docs/oidc.md): /oauth2/authorize checks the
// request and either answers a code at once (single sign-on) or keeps the
// request and sends the person through a WeChat login, whose code comes
// back to /oauth2/callback and is finished server-side.

// Cookies of the OP, all path /oauth2/, HttpOnly, SameSite=Lax, Secure on
// an https issuer.
const (
	// opCookie carries the sealed browser session (oidc.BrowserSession).
	opCookie = "wxauth_op"
	// opFlowCookie binds a WeChat login to this browser: the login
	// flow's cookie and the kept request's id.
	opFlowCookie = "wxauth_op_flow"
	opPath       = "/oauth2/"
)

func (s *Server) setOPCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	secs := int(maxAge / time.Second)
	if value == "" {
		secs = -1
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: opPath, MaxAge: secs, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
}

// errOIDCOff: no client is configured.
var errOIDCOff = errNotFound("OpenID Connect is not configured on this server (oidc.clients)")

// oidcAuthorize is GET /oauth2/authorize (OIDC Core §3.1.2).
func (s *Server) oidcAuthorize(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	if err := s.cfg.Limits.Authorize(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	req, c, err := p.ParseAuthorize(r.URL.Query())
	var pe *oidc.PageError
	var oe *oidc.Error
	switch {
	case errors.As(err, &pe):
		s.errorPage(w, r, http.StatusBadRequest, pe.English, pe.Chinese)
		return nil
	case errors.As(err, &oe):
		http.Redirect(w, r, p.ErrorRedirect(req, oe), http.StatusFound)
		return nil
	case err != nil:
		return err
	}
	bs, ok, err := s.browserSession(r)
	if err != nil {
		return err
	}
	if !p.NeedsLogin(req, bs, ok) {
		to, err := p.IssueCode(r.Context(), req, bs)
		if err != nil {
			return err
		}
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	if req.Prompt == "none" {
		http.Redirect(w, r, p.ErrorRedirect(req, &oidc.Error{Code: oidc.CodeLoginRequired, Description: "the person is not signed in here (prompt=none)"}), http.StatusFound)
		return nil
	}
	id, err := p.SavePending(r.Context(), req)
	if err != nil {
		return err
	}
	if strings.Contains(r.UserAgent(), "MicroMessenger") {
		return s.startWeChat(w, r, id, c)
	}
	return s.signInPage(w, r, id, c, "", "")
}

// mobile reports whether a User-Agent is a phone's or tablet's browser,
// where the QR login cannot be scanned.
func mobile(ua string) bool {
	for _, m := range []string{"Mobile", "Android", "iPhone", "iPad", "HarmonyOS"} {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}

// loginApp is the app of kind the client's sign-in offers: the first of
// its login list, or, with no list, the one app of that kind.
func (s *Server) loginApp(c *oidc.Client, kind login.Kind) string {
	apps := s.cfg.Login.Apps()
	if len(c.Login) == 0 {
		if found := apps.OfKind(kind); len(found) == 1 {
			return found[0].Name
		}
		return ""
	}
	for _, name := range c.Login {
		if a, ok := apps.Named(name); ok && a.Kind == kind {
			return a.Name
		}
	}
	return ""
}

// browserSession reads the OP cookie: ok false when there is none or its
// session has ended.
func (s *Server) browserSession(r *http.Request) (oidc.BrowserSession, bool, error) {
	ck, err := r.Cookie(opCookie)
	if err != nil {
		return oidc.BrowserSession{}, false, nil
	}
	return s.cfg.OIDC.OpenBrowser(r.Context(), ck.Value)
}

// oidcWeChat is GET /oauth2/wechat: the sign-in page's button, which
// starts the WeChat login of a kept request.
func (s *Server) oidcWeChat(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	if err := s.cfg.Limits.Authorize(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	id := r.URL.Query().Get("request")
	_, c, err := p.Pending(r.Context(), id, false)
	var pe *oidc.PageError
	if errors.As(err, &pe) {
		s.errorPage(w, r, http.StatusBadRequest, pe.English, pe.Chinese)
		return nil
	} else if err != nil {
		return err
	}
	return s.startWeChat(w, r, id, c)
}

// startWeChat sends the browser to WeChat for kept request id: the
// client's Official Account inside WeChat, its website app's QR login
// elsewhere; WeChat comes back to /oauth2/callback.
func (s *Server) startWeChat(w http.ResponseWriter, r *http.Request, id string, c *oidc.Client) error {
	kind := login.KindWebsite
	if strings.Contains(r.UserAgent(), "MicroMessenger") {
		kind = login.KindOfficialAccount
	}
	app := s.loginApp(c, kind)
	if app == "" && kind == login.KindOfficialAccount {
		app = s.loginApp(c, login.KindWebsite)
	}
	if app == "" {
		t := pageTexts[chinese(r)]
		s.writePage(w, r, http.StatusOK, page{T: t, Title: t.ErrorTitle, Lead: t.OpenInWeChat})
		return nil
	}
	scope := ""
	if a, _ := s.cfg.Login.Apps().Named(app); a.Kind == login.KindOfficialAccount {
		scope = "snsapi_userinfo" // the name and picture the profile scope gives
	}
	res, err := s.cfg.Login.Authorize(r.Context(), login.AuthorizeRequest{App: app, UserAgent: r.UserAgent(),
		RedirectURI: s.cfg.OIDC.Issuer() + oidc.PathCallback, Scope: scope})
	if err != nil {
		return s.loginFailedPage(w, r, err)
	}
	s.setOPCookie(w, opFlowCookie, res.Cookie+"."+id, 10*time.Minute)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, res.URL, http.StatusFound)
	return nil
}

// oidcCallback is GET /oauth2/callback: WeChat's redirect after the
// login. The login finishes here, server-side (login.Service.OAuthLogin),
// the browser session starts, and the kept request gets its code.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	q := r.URL.Query()
	ck, err := r.Cookie(opFlowCookie)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, oidc.ErrNoPending.English, oidc.ErrNoPending.Chinese)
		return nil
	}
	flowCookie, id, _ := strings.Cut(ck.Value, ".")
	s.setOPCookie(w, opFlowCookie, "", 0)
	res, err := s.cfg.Login.OAuthLogin(r.Context(), login.OAuthLoginRequest{Code: q.Get("code"), State: q.Get("state"), Cookie: flowCookie})
	if errors.Is(err, login.ErrDenied) {
		req, _, perr := p.Pending(r.Context(), id, true)
		if perr != nil {
			return s.pendingFailed(w, r, perr)
		}
		http.Redirect(w, r, p.ErrorRedirect(req, &oidc.Error{Code: oidc.CodeAccessDenied, Description: "the person declined the WeChat login"}), http.StatusFound)
		return nil
	}
	if err != nil {
		e, _ := translate(err)
		s.m.Logins.WithLabelValues("oidc", e.Code).Inc()
		return s.loginFailedPage(w, r, err)
	}
	if res.BindTicket != "" {
		s.m.Logins.WithLabelValues("oidc", "bind_required").Inc()
		return s.startBind(w, r, res.BindTicket, id)
	}
	s.m.Logins.WithLabelValues(res.Tokens.Session.App, loginResult(res.IsNew)).Inc()
	return s.finishSignIn(w, r, res, id)
}

// finishSignIn starts the browser session of a finished WeChat login and
// answers kept request id with a code.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, res login.Result, id string) error {
	p := s.cfg.OIDC
	bs, life := p.NewBrowser(res.Tokens.Session.ID, res.User.ID, res.Tokens.Session.ExpiresAt)
	// A login that replaces this browser's session (prompt=login, max_age)
	// keeps the old one reachable by a sign-out.
	if prev, ok, err := s.browserSession(r); err != nil {
		return err
	} else if ok {
		if err := p.Adopt(r.Context(), prev, bs, res.Tokens.Session.MaxExpiresAt); err != nil {
			return err
		}
	}
	value, err := p.SealBrowser(bs)
	if err != nil {
		return err
	}
	s.setOPCookie(w, opCookie, value, life)
	req, _, err := p.Pending(r.Context(), id, true)
	if err != nil {
		return s.pendingFailed(w, r, err)
	}
	to, err := p.IssueCode(r.Context(), req, bs)
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

func (s *Server) pendingFailed(w http.ResponseWriter, r *http.Request, err error) error {
	var pe *oidc.PageError
	if errors.As(err, &pe) {
		s.errorPage(w, r, http.StatusBadRequest, pe.English, pe.Chinese)
		return nil
	}
	return err
}

// loginFailedPage shows why a WeChat login failed: the sentence made for
// clients where the failure started, never internal text.
func (s *Server) loginFailedPage(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, storage.ErrLimited) {
		return err // 429 with Retry-After, as everywhere
	}
	var ce *clienterr.Error
	if !errors.As(err, &ce) {
		e, level := translate(err)
		if e.Status >= 500 {
			s.log.Log(r.Context(), level, "OIDC sign-in failed", "err", err, "error", e.Code)
		}
		s.errorPage(w, r, e.Status, e.Description, "微信登录失败："+e.Description)
		return nil
	}
	body := ce.Body()
	s.errorPage(w, r, body.Status, body.Description, "微信登录失败："+body.Description)
	return nil
}
