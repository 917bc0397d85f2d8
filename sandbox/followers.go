package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Followers of Official Accounts (reference §5.3, §7: /cgi-bin/user/info).
// Every test user follows every Official Account from the start; a user
// can unfollow (and follow again) through [Sandbox.SetFollower] or POST
// /sandbox/v1/followers.

// follow is one user's follow state in one Official Account, when it is
// not the default (following since the sandbox started).
type follow struct {
	following bool
	since     time.Time // the last follow: subscribe_time
}

// SetFollower makes user follow (following true) or unfollow the Official
// Account appID, from now on. Unknown apps and users are [ErrNotFound];
// an app that is not an Official Account is invalid.
func (s *Sandbox) SetFollower(appID, user string, following bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok {
		return fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if app.Kind != KindOfficialAccount {
		return fmt.Errorf("app %q is a %s; only a %s has followers", appID, app.Kind, KindOfficialAccount)
	}
	if _, ok := s.users[user]; !ok {
		return fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	key := appUser{appID, user}
	f, ok := s.follows[key]
	if !ok {
		f = follow{following: true, since: s.started}
	}
	if following && !f.following {
		f.since = s.now()
	}
	f.following = following
	s.follows[key] = f
	return nil
}

// followLocked is user's follow state in appID. s.mu must be held.
func (s *Sandbox) followLocked(appID, user string) follow {
	if f, ok := s.follows[appUser{appID, user}]; ok {
		return f
	}
	return follow{following: true, since: s.started}
}

// followerAnswer is /cgi-bin/user/info's answer for a follower, in
// WeChat's field order. Since 2021-12-27 WeChat no longer answers the
// nickname, avatar, gender or region here.
type followerAnswer struct {
	Subscribe      int    `json:"subscribe"`
	OpenID         string `json:"openid"`
	Language       string `json:"language"`
	SubscribeTime  int64  `json:"subscribe_time"`
	UnionID        string `json:"unionid,omitempty"`
	Remark         string `json:"remark"`
	GroupID        int    `json:"groupid"`
	TagIDList      []int  `json:"tagid_list"`
	SubscribeScene string `json:"subscribe_scene"`
	QRScene        int    `json:"qr_scene"`
	QRSceneStr     string `json:"qr_scene_str"`
}

// notFollowerAnswer is its answer for someone who does not follow the
// account: "subscribe 0: nothing else can be fetched", no unionid.
type notFollowerAnswer struct {
	Subscribe int    `json:"subscribe"`
	OpenID    string `json:"openid"`
}

// userInfoFollower imitates GET /cgi-bin/user/info?access_token=APP_TOKEN
// &openid=OPENID&lang=zh_CN (WeChat's "get user basic information (UnionID
// mechanism)", reference §5.3, §7): the app access token (41001, 40001,
// 42001), the openid (41009 missing, from WeChat's global errcode list;
// 40003 if it is no user's in the token's app), the app (48001 unless an
// Official Account: only those have followers). A follower's answer
// carries subscribe 1, subscribe_time and, for an app bound to the Open
// Platform account, the unionid; anyone else's only subscribe 0 and the
// openid. lang changes nothing.
func (s *Sandbox) userInfoFollower(r *http.Request) any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, code := s.checkAppTokenLocked(q.Get("access_token"), s.now())
	if code != 0 {
		return code
	}
	openid := q.Get("openid")
	if openid == "" {
		return errcode(41009)
	}
	app := s.apps[tok.appID]
	if app == nil || app.Kind != KindOfficialAccount {
		return errcode(48001)
	}
	name, ok := s.userByOpenIDLocked(tok.appID, openid)
	if !ok {
		return errcode(40003)
	}
	f := s.followLocked(tok.appID, name)
	if !f.following {
		return notFollowerAnswer{OpenID: openid}
	}
	ans := followerAnswer{
		Subscribe:      1,
		OpenID:         openid,
		Language:       "zh_CN",
		SubscribeTime:  f.since.Unix(),
		TagIDList:      []int{},
		SubscribeScene: "ADD_SCENE_OTHERS",
	}
	if !app.Unbound {
		ans.UnionID = unionID(name)
	}
	return ans
}

// setFollower serves POST /sandbox/v1/followers {"appid", "user",
// "subscribe": true|false} (docs/sandbox.md): 204, and from now on the
// user follows, or does not follow, the Official Account.
func (s *Sandbox) setFollower(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appUserRequest
		Subscribe *bool `json:"subscribe"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	if req.Subscribe == nil {
		return errors.New("subscribe is missing (true to follow, false to unfollow)")
	}
	if err := s.SetFollower(req.AppID, req.User, *req.Subscribe); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
