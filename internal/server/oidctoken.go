package server

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/wxauth/wxauth/internal/oidc"
)

// The OP's back channel: the token, userinfo and revocation endpoints
// (RFC 6749 §3.2, OIDC Core §5.3, RFC 7009) and the discovery document.
// Their errors are OAuth's ({"error", "error_description"}), written here;
// anything else (limits, storage) is the contract's (writeError).

// oidcDiscovery is GET /.well-known/openid-configuration.
func (s *Server) oidcDiscovery(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.OIDC == nil {
		return errOIDCOff
	}
	writeJSON(w, http.StatusOK, s.cfg.OIDC.Discovery())
	return nil
}

// writeOAuthError answers an OAuth error: 401 with a Basic challenge for
// invalid_client (RFC 6749 §5.2), 401 with a Bearer challenge for
// invalid_token (RFC 6750 §3), 400 otherwise.
func writeOAuthError(w http.ResponseWriter, e *oidc.Error) {
	status := http.StatusBadRequest
	switch e.Code {
	case oidc.CodeInvalidClient:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="wxauth", charset="UTF-8"`)
	case oidc.CodeInvalidToken:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.Code, e.Description})
}

// oauthAnswer writes err as OAuth's error if it is one, and returns the
// rest for writeError.
func oauthAnswer(w http.ResponseWriter, err error) error {
	var oe *oidc.Error
	if errors.As(err, &oe) {
		writeOAuthError(w, oe)
		return nil
	}
	return err
}

// oauthForm reads an application/x-www-form-urlencoded body (RFC 6749
// §3.2), at most 64 KiB; a parameter given twice is invalid_request.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "send the parameters as application/x-www-form-urlencoded"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge
		}
		return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "the body is not a valid form"}
	}
	for name, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: name + " is given more than once"}
		}
	}
	return r.PostForm, nil
}

// oauthClient authenticates the client (RFC 6749 §2.3.1): HTTP Basic
// (client_secret_basic, form-encoded id and secret), or client_id and
// client_secret in the body (client_secret_post), or client_id alone for
// a public client; never two methods at once.
func (s *Server) oauthClient(r *http.Request, form url.Values) (*oidc.Client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "use one client authentication method"}
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || (form.Has("client_id") && form.Get("client_id") != id) {
			return nil, &oidc.Error{Code: oidc.CodeInvalidClient, Description: "client authentication failed"}
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, &oidc.Error{Code: oidc.CodeInvalidClient, Description: "client authentication is required"}
	}
	return s.cfg.OIDC.Authenticate(id, secret)
}

// oidcToken is POST /oauth2/token.
func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	form, err := oauthForm(w, r)
	if err != nil {
		return oauthAnswer(w, err)
	}
	ip := clientIP(r, s.cfg.TrustedProxyHeader)
	grant := form.Get("grant_type")
	if grant != "refresh_token" {
		if err := s.cfg.Limits.LoginAttempt(r.Context(), ip); err != nil {
			return err
		}
	}
	c, err := s.oauthClient(r, form)
	if err != nil {
		// A refresh is charged its limits only when it rotates: a failed
		// client authentication counts as a login attempt instead, so
		// secrets cannot be guessed unmetered.
		if grant == "refresh_token" {
			if lerr := s.cfg.Limits.LoginAttempt(r.Context(), ip); lerr != nil {
				return lerr
			}
		}
		return oauthAnswer(w, err)
	}
	var res oidc.TokenResponse
	switch grant {
	case "authorization_code":
		res, err = p.Exchange(r.Context(), c, oidc.ExchangeRequest{Code: form.Get("code"), RedirectURI: form.Get("redirect_uri"),
			CodeVerifier: form.Get("code_verifier")})
	case "refresh_token":
		rt := form.Get("refresh_token")
		if rt == "" {
			return oauthAnswer(w, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "refresh_token is required"})
		}
		sid, _ := s.cfg.Tokens.RefreshSessionID(rt)
		res, err = p.Refresh(r.Context(), c, oidc.RefreshRequest{RefreshToken: rt, Quotas: s.cfg.Limits.Refresh(ip, sid)})
	case "":
		err = &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "grant_type is required"}
	default:
		err = &oidc.Error{Code: oidc.CodeUnsupportedGrantType, Description: "grant_type is authorization_code or refresh_token"}
	}
	if err != nil {
		return oauthAnswer(w, err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// oidcUserInfo is GET and POST /oauth2/userinfo: the bearer token in the
// Authorization header (RFC 6750 §2.1) or, by POST, as access_token in a
// form body (§2.2); never both.
func (s *Server) oidcUserInfo(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded" {
		form, err := oauthForm(w, r)
		if err != nil {
			return oauthAnswer(w, err)
		}
		if form.Has("access_token") {
			if ok {
				return oauthAnswer(w, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "send the access token one way, not two"})
			}
			tok, ok = form.Get("access_token"), true
		}
	}
	if !ok || tok == "" {
		return oauthAnswer(w, oidc.ErrUserInfoToken)
	}
	info, err := p.UserInfo(r.Context(), tok)
	if err != nil {
		return oauthAnswer(w, err)
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// clientToken reads what revocation and introspection share: a form with
// `token` from an authenticated client, within the per-address limit.
// done means the request is answered (err is what the handler returns).
func (s *Server) clientToken(w http.ResponseWriter, r *http.Request) (p *oidc.Provider, c *oidc.Client, tok string, done bool, err error) {
	if p = s.cfg.OIDC; p == nil {
		return nil, nil, "", true, errOIDCOff
	}
	form, err := oauthForm(w, r)
	if err != nil {
		return nil, nil, "", true, oauthAnswer(w, err)
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return nil, nil, "", true, err
	}
	if c, err = s.oauthClient(r, form); err != nil {
		return nil, nil, "", true, oauthAnswer(w, err)
	}
	if tok = form.Get("token"); tok == "" {
		return nil, nil, "", true, oauthAnswer(w, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "token is required"})
	}
	return p, c, tok, false, nil
}

// oidcRevoke is POST /oauth2/revoke (RFC 7009): 200 whether or not the
// token was known.
func (s *Server) oidcRevoke(w http.ResponseWriter, r *http.Request) error {
	p, c, tok, done, err := s.clientToken(w, r)
	if done {
		return err
	}
	if err := p.Revoke(r.Context(), c, tok); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// oidcIntrospect is POST /oauth2/introspect (RFC 7662) for clients: a
// client authenticated as at the token endpoint learns whether one of its
// own tokens is live. Other services keep POST /v1/introspect with a
// service key.
func (s *Server) oidcIntrospect(w http.ResponseWriter, r *http.Request) error {
	p, c, tok, done, err := s.clientToken(w, r)
	if done {
		return err
	}
	res, err := p.Introspect(r.Context(), c, tok)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
