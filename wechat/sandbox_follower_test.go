package wechat_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// FollowerInfo against the sandbox over real HTTP: a follower's unionid,
// none after unfollowing, none from an unbound account, and the errcode
// classes.
func TestFollowerInfoAgainstSandbox(t *testing.T) {
	clock := &settableClock{}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock.Set(start)
	sb, err := sandbox.New(sandbox.Config{Now: clock.Now, Apps: []sandbox.App{
		{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret"},
		{Name: "oa-unbound", Kind: sandbox.KindOfficialAccount, AppID: "wxoa2", Secret: "oa2-secret", Unbound: true},
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	users := map[string]sandbox.User{}
	for _, u := range sb.Users() {
		users[u.Name] = u
	}
	token := func(appID, secret string) string {
		tok, err := c.Token(ctx, appID, secret)
		if err != nil {
			t.Fatalf("Token(%s) = %v", appID, err)
		}
		return tok.Token
	}
	oa := token("wxoa", "oa-secret")

	f, err := c.FollowerInfo(ctx, oa, users["alice"].OpenIDs["wxoa"])
	want := wechat.Follower{Subscribed: true, OpenID: users["alice"].OpenIDs["wxoa"], UnionID: users["alice"].UnionID, SubscribedAt: start, Language: "zh_CN"}
	if err != nil || f != want {
		t.Errorf("FollowerInfo(alice) = %+v, %v; want %+v", f, err, want)
	}
	if err := sb.SetFollower("wxoa", "alice", false); err != nil {
		t.Fatal(err)
	}
	f, err = c.FollowerInfo(ctx, oa, users["alice"].OpenIDs["wxoa"])
	if want := (wechat.Follower{OpenID: users["alice"].OpenIDs["wxoa"]}); err != nil || f != want {
		t.Errorf("FollowerInfo(alice, unfollowed) = %+v, %v; want %+v", f, err, want)
	}
	f, err = c.FollowerInfo(ctx, token("wxoa2", "oa2-secret"), users["bob"].OpenIDs["wxoa2"])
	if err != nil || !f.Subscribed || f.UnionID != "" {
		t.Errorf("FollowerInfo(bob, unbound account) = %+v, %v; want a follower without unionid", f, err)
	}

	for _, tt := range []struct {
		name          string
		token, openID string
		want          error
	}{
		{"unknown token", "not-a-token", users["bob"].OpenIDs["wxoa"], wechat.ErrTokenInvalid},
		{"another app's openid", oa, users["bob"].OpenIDs["wxmp"], wechat.ErrInvalidOpenID},
		{"a mini program", token("wxmp", "mp-secret"), users["bob"].OpenIDs["wxmp"], wechat.ErrAPIUnauthorized},
		{"empty openid", oa, "", wechat.ErrInvalidRequest},
	} {
		if _, err := c.FollowerInfo(ctx, tt.token, tt.openID); !errors.Is(err, tt.want) {
			t.Errorf("%s: FollowerInfo = %v, want %v", tt.name, err, tt.want)
		}
	}
}
