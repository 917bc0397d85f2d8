package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
)

// Issue #11, point 9: WeChat nicknames are Chinese, carry emoji and odd
// spacing. Each one, from the sandbox's /sns/userinfo through an H5
// snsapi_userinfo login, reaches the login answer and GET /v1/me byte for
// byte (stored in SQLite here; the storage conformance suite holds every
// backend to the same list).
func TestRealNames(t *testing.T) {
	s := servertest.New(t)
	users := []sandboxUser{{Name: "xiaoming", Nickname: "小明🐱"}} // built in
	for i, nick := range storagetest.WeChatNicknames {
		u := addSandboxUser(t, s, map[string]string{"name": fmt.Sprintf("name%d", i), "nickname": nick})
		if u.Nickname != nick {
			t.Fatalf("the sandbox made %q of nickname %q", u.Nickname, nick)
		}
		users = append(users, u)
	}
	for _, u := range users {
		b := newBrowser(t, s, wechatUA)
		verifier, challenge := pkce("names-" + u.Name + "-verifier-0123456789-0123456789-abc")
		code, state := b.authorizeAs(u.Name, oauthParams(s, challenge))
		r := b.login(code, state, verifier)
		if r.Status != http.StatusOK {
			t.Fatalf("login as %s = %d %s", u.Name, r.Status, r.Body)
		}
		var tr api.OAuthLoginResponse
		r.JSON(t, &tr)
		if tr.User == nil || tr.User.Nickname != u.Nickname {
			t.Errorf("login as %s: user %+v, want nickname %q", u.Name, tr.User, u.Nickname)
		}
		if got := me(t, s, tr.AccessToken).Nickname; got != u.Nickname {
			t.Errorf("GET /v1/me as %s: nickname %q, want %q", u.Name, got, u.Nickname)
		}
	}
}
