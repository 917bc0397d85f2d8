package login

import (
	"context"
	"fmt"
)

// MobileAppRequest is a native app's login: the code the WeChat SDK's
// SendAuth handed the iOS or Android app (docs/app-login.md).
type MobileAppRequest struct {
	App     string // app key; empty when exactly one mobile app is configured
	Code    string // from SendAuth (scope snsapi_userinfo)
	Inviter string // optional user id of the inviting friend
}

// MobileApp exchanges a SendAuth code at /sns/oauth2/access_token with the
// mobile app's appid and secret (reference §6.1: the endpoints and fields of
// §5.3–§5.6), reads the profile that snsapi_userinfo grants (/sns/userinfo)
// and signs the user in. The exchange is never retried: a code works once.
//
// The WeChat user tokens are sealed onto the session as the browser logins
// keep theirs (oauthCredentials): the session holds what this login
// obtained, never the client.
func (s *Service) MobileApp(ctx context.Context, req MobileAppRequest) (Result, error) {
	app, err := s.apps.pick(req.App, KindMobileApp)
	if err != nil {
		return Result{}, err
	}
	switch {
	case req.Code == "":
		return Result{}, ErrInvalidRequest.Say(`"code" is required: the code from the WeChat SDK's SendAuth`)
	case len(req.Code) > maxCodeLen:
		return Result{}, ErrInvalidRequest.Say(`"code" is longer than any WeChat code`)
	}
	tok, err := s.cfg.WeChat.OAuthExchange(ctx, app.AppID, app.Secret, req.Code)
	if err != nil {
		return Result{}, fmt.Errorf("exchange code: %w", err)
	}
	if tok.Snapshot {
		// Snapshot pages belong to Official Accounts (reference §5.1); an
		// answer flagged so carries virtual ids all the same: never linked.
		return Result{}, ErrSnapshotUser.Say("WeChat marked this identity as virtual (is_snapshotuser); it cannot log in")
	}
	profile, tok, err := s.profile(ctx, app, tok)
	if err != nil {
		return Result{}, err
	}
	if tok.UnionID == "" {
		tok.UnionID = profile.UnionID
	}
	sealed, err := s.sealOAuth(app, tok)
	if err != nil {
		return Result{}, err
	}
	return s.SignIn(ctx, Identity{App: app, OpenID: tok.OpenID, UnionID: tok.UnionID, Nickname: profile.Nickname,
		AvatarURL: profile.HeadImgURL, Credentials: sealed}, Options{Inviter: req.Inviter})
}
