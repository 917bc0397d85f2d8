package server

import (
	"net/http"

	"github.com/wxauth/wxauth/internal/oidc"
)

// oidcEndSession is GET and POST /oauth2/end_session (OpenID Connect
// RP-Initiated Logout 1.0). With a valid id_token_hint the sign-out
// happens at once; without one the person confirms on a page (a link
// from anywhere must not sign anyone out), whose form posts back here.
// It ends the browser session and every session it opened for clients,
// then goes to post_logout_redirect_uri when it is registered exactly
// for the hint's client (or client_id's), else shows a signed-out page.
func (s *Server) oidcEndSession(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	if err := s.cfg.Limits.Authorize(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := oauthForm(w, r)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The sign-out request is malformed.", "退出登录请求格式错误。")
			return nil
		}
		q = form
	}
	hintText, postLogout, state := q.Get("id_token_hint"), q.Get("post_logout_redirect_uri"), q.Get("state")
	var hint oidc.Hint
	if hintText != "" {
		var ok bool
		if hint, ok = p.ParseHint(hintText); !ok {
			s.errorPage(w, r, http.StatusBadRequest, "The sign-out request carries an ID token this service did not issue (id_token_hint).",
				"退出登录请求中的 ID 令牌（id_token_hint）无效。")
			return nil
		}
	}
	client := hint.Client
	if id := q.Get("client_id"); id != "" {
		c, ok := p.Clients().Client(id)
		if !ok || (client != nil && client != c) {
			s.errorPage(w, r, http.StatusBadRequest, "The sign-out request names an unknown application (client_id).", "退出登录请求中的应用（client_id）未知。")
			return nil
		}
		client = c
	}
	var to string
	if postLogout != "" {
		var ok bool
		if to, ok = p.PostLogoutRedirect(client, postLogout, state); !ok {
			s.errorPage(w, r, http.StatusBadRequest, "The application asked to return to an address it has not registered (post_logout_redirect_uri).",
				"应用请求返回的地址（post_logout_redirect_uri）未登记。")
			return nil
		}
	}
	t := pageTexts[chinese(r)]
	if hintText == "" && r.Method != http.MethodPost {
		fields := map[string]string{}
		for _, k := range []string{"post_logout_redirect_uri", "state", "client_id"} {
			if v := q.Get(k); v != "" {
				fields[k] = v
			}
		}
		s.writePage(w, r, http.StatusOK, page{T: t, Title: t.LogoutTitle, Lead: t.LogoutLead,
			Form: &form{Action: oidc.PathEndSession, Hidden: fields, ButtonID: "logout", Button: t.LogoutButton}})
		return nil
	}
	bs, ok, err := s.browserSession(r)
	if err != nil {
		return err
	}
	if ok {
		if err := p.EndSession(r.Context(), bs.SID); err != nil {
			return err
		}
	}
	if hint.BrowserSID != "" && hint.BrowserSID != bs.SID {
		if err := p.EndSession(r.Context(), hint.BrowserSID); err != nil {
			return err
		}
	}
	s.setOPCookie(w, opCookie, "", 0)
	if to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	s.writePage(w, r, http.StatusOK, page{T: t, Title: t.LoggedOutTitle, Lead: t.LoggedOutLead})
	return nil
}
