package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat"
)

// followerUnionID finds the unionid an Official Account login came without
// (a snsapi_base grant carries none, reference §5.3), so that the person
// who already has a user through another app (a mini program) stays one
// user: WeChat answers it for followers of the account at
// /cgi-bin/user/info, with the app access token.
//
// It answers "" when WeChat gives nothing to link by: the user does not
// follow the account, the account is not bound to an Open Platform
// account, or it may not use the API (48001, e.g. not verified; logged
// as a warning). The identity then stands alone, and a person new to
// wxauth becomes a new user (docs/h5.md). An identity already stored with
// a unionid needs no call. Any other failure fails the login, rather than
// make a second user for someone WeChat could have named.
func (s *Service) followerUnionID(ctx context.Context, app App, openID string) (string, error) {
	id, err := s.cfg.Users.Identity(ctx, app.AppID, openID)
	switch {
	case err == nil && id.UnionID != "":
		return id.UnionID, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return "", fmt.Errorf("look up identity: %w", err)
	}
	var f wechat.Follower
	err = s.cfg.AppTokens.Do(ctx, app.AppID, func(token string) error {
		var err error
		f, err = s.cfg.WeChat.FollowerInfo(ctx, token, openID)
		return err
	})
	switch {
	case errors.Is(err, wechat.ErrAPIUnauthorized):
		s.cfg.Logger.WarnContext(ctx, "WeChat refuses this official account the follower API (48001): its snsapi_base logins cannot be linked by unionid",
			"app", app.Name, "err", err)
		return "", nil
	case err != nil:
		return "", fmt.Errorf("follower info: %w", err)
	}
	return f.UnionID, nil
}
