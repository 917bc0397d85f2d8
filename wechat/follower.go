package wechat

import (
	"context"
	"net/url"
	"time"
)

// endpointFollowerInfo is the Official Account's "get user basic
// information (UnionID mechanism)" (reference §5.3, §7).
const endpointFollowerInfo = "/cgi-bin/user/info"

// Follower is what an Official Account learns about one user from
// [Client.FollowerInfo]. Since 2021-12-27 WeChat answers no nickname,
// avatar, gender or region here.
type Follower struct {
	// Subscribed reports whether the user follows the account (subscribe
	// 1). When false, WeChat answers nothing else: no UnionID.
	Subscribed bool
	OpenID     string
	// UnionID is the user's id across the Open Platform account's apps
	// (reference §4); empty for a user who does not follow the account,
	// or an account not bound to an Open Platform account.
	UnionID string
	// SubscribedAt is when the user last followed; zero if they do not.
	SubscribedAt time.Time
	// Language is the user's language, e.g. "zh_CN".
	Language string
}

// FollowerInfo asks what the Official Account knows about the user openID
// (GET /cgi-bin/user/info with lang=zh_CN). accessToken is the account's
// app access token ([Client.Token], or through [TokenManager.Do]). It is
// how a snsapi_base login, which gets no unionid (reference §5.3), finds
// the unionid of a follower.
//
// An app token refused is [ErrTokenInvalid] (40001, 42001: refetch and
// retry once); an openid not of this account is [ErrInvalidOpenID]
// (40003); an account without the permission (48001, e.g. one not
// verified) is [ErrAPIUnauthorized]. Empty arguments are
// [ErrInvalidRequest] and no call is made; a success for another openid,
// or without one, is [ErrUnexpectedResponse].
func (c *Client) FollowerInfo(ctx context.Context, accessToken, openID string) (Follower, error) {
	if err := checkOAuthArgs("follower info", accessToken, openID); err != nil {
		return Follower{}, err
	}
	q := url.Values{
		"access_token": {accessToken},
		"openid":       {openID},
		"lang":         {"zh_CN"},
	}
	resp := followerResponse{want: openID}
	if err := c.getJSON(ctx, endpointFollowerInfo, q, &resp); err != nil {
		return Follower{}, err
	}
	f := Follower{Subscribed: resp.Subscribe == 1, OpenID: resp.OpenID, Language: resp.Language}
	if f.Subscribed {
		f.UnionID = resp.UnionID
		if resp.SubscribeTime > 0 {
			f.SubscribedAt = time.Unix(resp.SubscribeTime, 0).UTC()
		}
	}
	return f, nil
}

// followerResponse is the success answer of /cgi-bin/user/info.
type followerResponse struct {
	Subscribe     int    `json:"subscribe"`
	OpenID        string `json:"openid"`
	Language      string `json:"language"`
	SubscribeTime int64  `json:"subscribe_time"`
	UnionID       string `json:"unionid"`

	want string // the openid asked for
}

func (r *followerResponse) validate() error { return checkOpenID(r.OpenID, r.want) }
