package login

import (
	"context"
	"fmt"
)

// MiniProgramRequest is a mini program login.
type MiniProgramRequest struct {
	App     string // app key; empty when exactly one mini program is configured
	Code    string // from wx.login
	Inviter string // optional user id of the inviting friend
}

// maxCodeLen bounds a wx.login code: WeChat's are 32 characters.
const maxCodeLen = 256

// MiniProgram exchanges a wx.login code (jscode2session, never retried: a
// code works once) and signs the user in; the session keeps the
// session_key, sealed (docs/sessions.md "Where the session_key goes").
func (s *Service) MiniProgram(ctx context.Context, req MiniProgramRequest) (Result, error) {
	app, err := s.apps.pick(req.App, KindMiniProgram)
	if err != nil {
		return Result{}, err
	}
	switch {
	case req.Code == "":
		return Result{}, ErrInvalidRequest.Say(`"code" is required: the code from wx.login()`)
	case len(req.Code) > maxCodeLen:
		return Result{}, ErrInvalidRequest.Say(`"code" is longer than any wx.login code`)
	}
	ws, err := s.cfg.WeChat.Code2Session(ctx, app.AppID, app.Secret, req.Code)
	if err != nil {
		return Result{}, fmt.Errorf("exchange code: %w", err)
	}
	sealed, err := s.cfg.Seal.Seal([]byte(ws.SessionKey), SessionKeyContext(app.AppID, ws.OpenID))
	if err != nil {
		return Result{}, fmt.Errorf("seal session_key: %w", err)
	}
	return s.SignIn(ctx, Identity{App: app, OpenID: ws.OpenID, UnionID: ws.UnionID, Credentials: sealed},
		Options{Inviter: req.Inviter})
}

// SessionKeyContext binds a sealed session_key to the identity it was
// issued to, so that it opens only for that identity.
func SessionKeyContext(appID, openID string) string { return "session_key|" + appID + "|" + openID }
