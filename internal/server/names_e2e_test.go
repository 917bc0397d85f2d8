package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
	"github.com/wxauth/wxauth/sandbox"
)

// Issue #11, point 9: WeChat nicknames are Chinese, carry emoji and odd
// spacing. Each one, from the sandbox's /sns/userinfo through an H5
// snsapi_userinfo login, and from a mini program's encrypted user info,
// reaches the answers and GET /v1/me byte for byte (stored in SQLite here; the storage conformance suite holds every
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

		// The mini program way: the legacy encrypted user info, signed
		// over raw_data, which holds the nickname.
		l := s.Login(t, "mp", u.Name)
		enc, err := s.Sandbox.Encrypted(s.AppID(t, "mp"), u.Name, sandbox.EncryptedUserInfo)
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV, "raw_data": enc.RawData, "signature": enc.Signature}
		r = s.Do(t, "POST", "/v1/miniprogram/userinfo", body, l.AccessToken)
		var mu api.User
		r.JSON(t, &mu)
		if r.Status != http.StatusOK || mu.Nickname != u.Nickname {
			t.Errorf("mini program userinfo as %s = %d %s, want nickname %q", u.Name, r.Status, r.Body, u.Nickname)
		}
		if got := me(t, s, l.AccessToken).Nickname; got != u.Nickname {
			t.Errorf("GET /v1/me after mini program userinfo as %s: nickname %q, want %q", u.Name, got, u.Nickname)
		}
	}
}
