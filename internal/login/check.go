package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxauth/wxauth/internal/storage"
)

// An account check (docs/h5.md "Noticing an account switch") asks whether
// the WeChat account in the phone still belongs to the user of a session
// the page kept: the phone may have changed accounts since. The page runs
// a silent snsapi_base round trip whose state record is marked Check
// (Authorize with Check), and posts what came back to CheckAccount with
// its session. The record takes the usual steps, bound to the browser the
// same way, but it ends at once: a check answers once. A check only looks
// while the identity is the session's user; another person is logged in
// through SignIn, as a login of the same code would.

// CheckRequest is a check's result posted by the page.
type CheckRequest struct {
	OAuthLoginRequest
	// UserID is the user of the session that posts it.
	UserID string
}

// CheckResult answers a check.
type CheckResult struct {
	// SameUser: the WeChat identity belongs to UserID; nothing else
	// happened.
	SameUser bool
	// Login, when not SameUser, is the new person's login: tokens, or a
	// bind ticket under bind_phone.
	Login Result
}

// CheckAccount takes the record of a check started by this browser and
// tells whether WeChat's identity still belongs to req.UserID.
func (s *Service) CheckAccount(ctx context.Context, req CheckRequest) (CheckResult, error) {
	if req.UserID == "" {
		return CheckResult{}, errors.New("check account: no user")
	}
	res, err := s.takeFlow(ctx, req.OAuthLoginRequest, req.UserID)
	if err != nil {
		return CheckResult{}, err
	}
	if res.sameUser {
		return CheckResult{SameUser: true}, nil
	}
	return CheckResult{Login: res}, nil
}

// checkable says whether app and scope can run a check: only an Official
// Account's snsapi_base is silent on WeChat (reference §5.1), and only
// inside WeChat (browserApp has swapped in the website app otherwise).
func checkable(app App, scope string) error {
	if app.Kind != KindOfficialAccount {
		return ErrWeChatClientRequired.Say("an account check is an Official Account's silent snsapi_base round trip: it runs only inside WeChat")
	}
	if scope != "" && scope != "snsapi_base" {
		return ErrInvalidRequest.Say("an account check's scope is snsapi_base, the one WeChat grants without asking")
	}
	return nil
}

// check identifies the code's person and compares it with userID: the
// same user answers sameUser and stores nothing; anyone else signs in.
func (s *Service) check(ctx context.Context, f flow, code, userID string) (Result, error) {
	id, err := s.identify(ctx, f, code)
	if err != nil {
		return Result{}, err
	}
	owner, err := s.owner(ctx, id.stored())
	if err != nil {
		return Result{}, err
	}
	if owner == userID {
		s.cfg.Logger.InfoContext(ctx, "account check: same user", "app", f.App, "user_id", userID)
		return Result{sameUser: true, App: f.App, ReturnTo: f.ReturnTo}, nil
	}
	s.cfg.Logger.InfoContext(ctx, "account check: another person in WeChat", "app", f.App, "user_id", userID)
	return s.SignIn(ctx, id, Options{ReturnTo: f.ReturnTo, Flow: "account_check"})
}

// owner is the id of the user an identity belongs to: by its openid, or
// by its unionid through another app; "" when nobody's.
func (s *Service) owner(ctx context.Context, id storage.Identity) (string, error) {
	got, err := s.cfg.Users.Identity(ctx, id.AppID, id.OpenID)
	switch {
	case err == nil:
		return got.UserID, nil
	case !errors.Is(err, storage.ErrNotFound):
		return "", fmt.Errorf("look up identity: %w", err)
	case id.UnionID == "":
		return "", nil
	}
	u, err := s.cfg.Users.UserByUnionID(ctx, id.UnionID)
	switch {
	case err == nil:
		return u.ID, nil
	case errors.Is(err, storage.ErrNotFound):
		return "", nil
	}
	return "", fmt.Errorf("look up unionid: %w", err)
}
