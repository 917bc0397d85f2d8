package sandbox

import (
	"fmt"
)

// IssueAppCode returns the code the WeChat SDK's SendAuth (scope
// snsapi_userinfo) hands user in the mobile app appID once they confirm
// the login in WeChat (reference §6.1): single use, valid for
// [AppCodeTTL], exchangeable only by appID at /sns/oauth2/access_token,
// where it answers unionid unless the app is Unbound. Unknown apps and
// users fail with [ErrNotFound]; an app of another kind is invalid.
func (s *Sandbox) IssueAppCode(appID, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	switch {
	case !ok:
		return "", fmt.Errorf("app %q: %w", appID, ErrNotFound)
	case app.Kind != KindMobileApp:
		return "", fmt.Errorf("app %q is a %s; SendAuth codes are for %s apps", appID, app.Kind, KindMobileApp)
	}
	if _, ok := s.users[user]; !ok {
		return "", fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	return s.issueOAuthCodeLocked(app, user, ScopeUserInfo)
}
