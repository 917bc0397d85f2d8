package server

import (
	"context"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

// AppTokens hands out the app access tokens wxauth manages;
// *wechat.TokenManager is one.
type AppTokens interface {
	Token(ctx context.Context, appID string) (wechat.AppToken, error)
	Invalidate(ctx context.Context, appID, token string) error
}

// appTokenResponse is the answer of /v1/wechat/access_token.
type appTokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// appToken is GET /v1/wechat/access_token?app=mp (docs/api.md "For
// other services"): the company's other services take the token from here
// instead of fetching their own, which would invalidate wxauth's.
func (s *Server) appToken(w http.ResponseWriter, r *http.Request) error {
	return s.answerAppToken(w, r, r.URL.Query().Get("app"), "")
}

// reportAppToken is POST /v1/wechat/access_token {"app", "invalid_token"}:
// a service reports a token WeChat refused (40001); wxauth drops it only if
// it is still the current one, then answers the current token.
func (s *Server) reportAppToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		App          string `json:"app"`
		InvalidToken string `json:"invalid_token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.InvalidToken == "" {
		return errInvalidRequest(`"invalid_token" is required: the token WeChat refused`)
	}
	return s.answerAppToken(w, r, req.App, req.InvalidToken)
}

func (s *Server) answerAppToken(w http.ResponseWriter, r *http.Request, app, invalid string) error {
	if app == "" {
		return errInvalidRequest(`"app" is required`)
	}
	a, ok := s.cfg.Login.Apps().Named(app)
	if !ok {
		return errUnknownApp
	}
	appID := a.AppID
	if invalid != "" {
		if err := s.cfg.AppTokens.Invalidate(r.Context(), appID, invalid); err != nil {
			return err
		}
	}
	tok, err := s.cfg.AppTokens.Token(r.Context(), appID)
	if err != nil {
		return err
	}
	s.m.AppTokenServed.WithLabelValues(app).Inc()
	writeJSON(w, http.StatusOK, appTokenResponse{AccessToken: tok.Token, ExpiresIn: int64(time.Until(tok.ExpiresAt) / time.Second)})
	return nil
}
