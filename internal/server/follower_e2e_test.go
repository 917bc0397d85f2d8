package server_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/sandbox"
)

// baseLogin logs the sandbox user in through the Official Account's H5
// page with snsapi_base (no unionid from WeChat) and returns the answer.
func baseLogin(t *testing.T, s *servertest.Server, user string) api.OAuthLoginResponse {
	t.Helper()
	b := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("base-" + user + "-verifier-0123456789-0123456789-0123")
	code, state := b.authorizeAs(user, oauthParams(s, challenge, "scope", "snsapi_base"))
	r := b.login(code, state, verifier)
	if r.Status != http.StatusOK {
		t.Fatalf("snsapi_base login as %s = %d %s", user, r.Status, r.Body)
	}
	var tr api.OAuthLoginResponse
	r.JSON(t, &tr)
	return tr
}

func setFollower(t *testing.T, s *servertest.Server, user string, subscribe bool) {
	t.Helper()
	r := s.Do(t, "POST", "/sandbox/v1/followers", map[string]any{"appid": s.AppID(t, "oa"), "user": user, "subscribe": subscribe}, "")
	if r.Status != http.StatusNoContent {
		t.Fatalf("POST /sandbox/v1/followers = %d %s", r.Status, r.Body)
	}
}

// Issue #11 point 8: one person, one user, also through snsapi_base. A
// mini program user who opens the H5 page (snsapi_base: no unionid) is
// the same user, linked by the follower's unionid from /cgi-bin/user/info.
// Someone who does not follow the Official Account gives WeChat nothing to
// link by: a second user, and users are never merged afterwards.
func TestOAuthBaseSameUser(t *testing.T) {
	s := servertest.New(t)
	lookups := func() int { return s.Sandbox.Stats()["/cgi-bin/user/info"] }

	mini := s.Login(t, "mp", "alice")
	h5 := baseLogin(t, s, "alice")
	if h5.User == nil || h5.User.ID != mini.User.ID || h5.IsNewUser {
		t.Fatalf("snsapi_base login = %+v, want alice's mini program user %s", h5.User, mini.User.ID)
	}
	ids := me(t, s, h5.AccessToken).Identities
	if len(ids) != 2 || ids[1].App != "oa" || ids[1].UnionID != ids[0].UnionID || ids[0].UnionID == "" {
		t.Errorf("identities = %+v, want mp and oa with one unionid", ids)
	}
	if n := lookups(); n != 1 {
		t.Errorf("/cgi-bin/user/info called %d times, want 1", n)
	}
	// A returning identity stored with its unionid needs no lookup.
	if again := baseLogin(t, s, "alice"); again.User.ID != mini.User.ID {
		t.Errorf("second snsapi_base login: user %s, want %s", again.User.ID, mini.User.ID)
	}
	if n := lookups(); n != 1 {
		t.Errorf("/cgi-bin/user/info called %d times after a returning login, want still 1", n)
	}

	// carol does not follow the Official Account: WeChat answers subscribe
	// 0 and no unionid, so her H5 identity is a user of its own.
	addSandboxUser(t, s, map[string]string{"name": "carol"})
	carolMini := s.Login(t, "mp", "carol")
	setFollower(t, s, "carol", false)
	carolH5 := baseLogin(t, s, "carol")
	if carolH5.User.ID == carolMini.User.ID || !carolH5.IsNewUser {
		t.Errorf("carol, not a follower: H5 user %s (new %v), mini program user %s; want a second user", carolH5.User.ID, carolH5.IsNewUser, carolMini.User.ID)
	}
	// She follows later: her H5 identity learns its unionid, but it stays
	// with the user it has; users are never merged.
	setFollower(t, s, "carol", true)
	later := baseLogin(t, s, "carol")
	if later.User.ID != carolH5.User.ID {
		t.Errorf("carol after following: user %s, want her H5 user %s still", later.User.ID, carolH5.User.ID)
	}
	// WeChat failing the lookup fails the login (a new code will do),
	// rather than make a second user for someone it could have named.
	dan := addSandboxUser(t, s, map[string]string{"name": "dan"})
	s.Login(t, "mp", "dan")
	// Twice: the look-up spends no code, so the client retries a -1 once.
	s.Sandbox.InjectFault(sandbox.Fault{Path: "/cgi-bin/user/info", Errcode: -1, Count: 2})
	b := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("dan-base-verifier-0123456789-0123456789-abcdef")
	code, state := b.authorizeAs("dan", oauthParams(s, challenge, "scope", "snsapi_base"))
	wantError(t, b.login(code, state, verifier), http.StatusBadGateway, api.CodeWeChatUnavailable)
	if id, err := s.Inst.Users.Identity(t.Context(), s.AppID(t, "oa"), dan.OpenIDs[s.AppID(t, "oa")]); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("dan's H5 identity after the failed lookup = %+v, %v; want ErrNotFound", id, err)
	}
	if again := baseLogin(t, s, "dan"); again.IsNewUser {
		t.Errorf("dan's next snsapi_base login made a new user")
	}

	// A snsapi_userinfo login brings its unionid: no lookup.
	before := lookups()
	b = newBrowser(t, s, wechatUA)
	verifier, challenge = pkce("bob-userinfo-verifier-0123456789-0123456789-abc")
	code, state = b.authorizeAs("bob", oauthParams(s, challenge))
	if r := b.login(code, state, verifier); r.Status != http.StatusOK {
		t.Fatalf("snsapi_userinfo login = %d %s", r.Status, r.Body)
	}
	if n := lookups() - before; n != 0 {
		t.Errorf("/cgi-bin/user/info called %d times for a snsapi_userinfo login, want 0", n)
	}
}
