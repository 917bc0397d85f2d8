package server_test

import (
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

const (
	adminKey = "admin-key-0123456789abcdef"
	otherKey = "introspect-key-0123456789ab"
)

func newAdminServer(t *testing.T) *servertest.Server {
	return servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{
			{Name: "ops", Scopes: []string{api.ScopeAdmin}, Secret: adminKey},
			{Name: "gateway", Scopes: []string{api.ScopeIntrospect}, Secret: otherKey},
		}
	}))
}

// Every admin endpoint refuses a key without the admin scope (403) and an
// unknown key (401), and answers 404 for an unknown user or session.
func TestAdminAccess(t *testing.T) {
	s := newAdminServer(t)
	calls := []struct{ method, path, body string }{
		{"POST", "/v1/admin/users/search", `{"id":"nobody"}`},
		{"GET", "/v1/admin/users/nobody", ""},
		{"POST", "/v1/admin/users/nobody/revoke", ""},
		{"DELETE", "/v1/admin/sessions/nosession", ""},
		{"POST", "/v1/admin/users/nobody/merge", `{"from":"nobody2"}`},
		{"POST", "/v1/admin/users/nobody/disable", ""},
		{"POST", "/v1/admin/users/nobody/enable", ""},
		{"DELETE", "/v1/admin/users/nobody", ""},
	}
	for _, c := range calls {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			wantError(t, s.Do(t, c.method, c.path, c.body, otherKey), 403, api.CodeInsufficientScope)
			wantError(t, s.Do(t, c.method, c.path, c.body, "unknown-key-0123456789"), 401, api.CodeInvalidToken)
			if c.path == "/v1/admin/users/search" {
				var out api.AdminUserList
				r := s.Do(t, c.method, c.path, c.body, adminKey)
				r.JSON(t, &out)
				if r.Status != 200 || len(out.Users) != 0 {
					t.Fatalf("search for an unknown id = %d %s, want 200 and no users", r.Status, r.Body)
				}
				return
			}
			wantError(t, s.Do(t, c.method, c.path, c.body, adminKey), 404, api.CodeNotFound)
		})
	}
}

// A search names exactly one key.
func TestAdminSearchBadInput(t *testing.T) {
	s := newAdminServer(t)
	for _, body := range []string{`{}`, `{"id":"a","unionid":"b"}`, `{"id":7}`, `not json`,
		`{"app":"mp"}`, `{"id":"a","app":"mp"}`, `{"app":"mp","openid":"o","unionid":"u"}`, `{"phone":"+8613800000000","id":"a"}`} {
		wantError(t, s.Do(t, "POST", "/v1/admin/users/search", body, adminKey), 400, api.CodeInvalidRequest)
	}
	wantError(t, s.Do(t, "POST", "/v1/admin/users/search", `{"app":"nope","openid":"o"}`, adminKey), 400, api.CodeUnknownApp)
}

// An admin finds a user by id, unionid and openid, sees its identities and live
// sessions, ends one session and then all: each ends at once (the access
// token is refused, the refresh token too).
func TestAdminShowAndRevoke(t *testing.T) {
	s := newAdminServer(t)
	a := s.Login(t, "mp", "alice")
	b := s.Login(t, "mp", "alice")
	c := s.Login(t, "mp", "alice")
	uid := a.User.ID

	var acct api.AdminAccount
	r := s.Do(t, "GET", "/v1/admin/users/"+uid, nil, adminKey)
	if r.Status != 200 {
		t.Fatalf("GET /v1/admin/users/{id} = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &acct)
	if acct.User.ID != uid || len(acct.Identities) != 1 || acct.Identities[0].App != "mp" || len(acct.Sessions) != 3 {
		t.Fatalf("account = %+v, want alice with one mp identity and 3 sessions", acct)
	}
	union := acct.Identities[0].UnionID
	if union == "" {
		t.Fatal("alice's mp identity has no unionid; the sandbox's mp app should be bound")
	}
	for _, q := range []api.AdminSearchRequest{{ID: uid}, {UnionID: union}, {App: "mp", OpenID: acct.Identities[0].OpenID}} {
		var out api.AdminUserList
		r := s.Do(t, "POST", "/v1/admin/users/search", q, adminKey)
		r.JSON(t, &out)
		if r.Status != 200 || len(out.Users) != 1 || out.Users[0].ID != uid {
			t.Fatalf("search %+v = %d %s, want alice", q, r.Status, r.Body)
		}
	}

	var none api.AdminUserList
	if r := s.Do(t, "POST", "/v1/admin/users/search", api.AdminSearchRequest{App: "oa", OpenID: acct.Identities[0].OpenID}, adminKey); r.Status != 200 {
		t.Fatalf("search by the openid in another app = %d %s", r.Status, r.Body)
	} else if r.JSON(t, &none); len(none.Users) != 0 {
		t.Errorf("search by the mp openid in app oa = %+v, want none", none.Users)
	}

	// One session.
	if r := s.Do(t, "DELETE", "/v1/admin/sessions/"+a.SessionID, nil, adminKey); r.Status != 204 {
		t.Fatalf("DELETE /v1/admin/sessions/{id} = %d %s, want 204", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, s.Do(t, "POST", "/v1/token/refresh", api.RefreshRequest{RefreshToken: a.RefreshToken}, ""), 401, api.CodeInvalidGrant)
	if r := s.Do(t, "GET", "/v1/me", nil, b.AccessToken); r.Status != 200 {
		t.Fatalf("another session after revoking one: GET /v1/me = %d %s, want 200", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "DELETE", "/v1/admin/sessions/"+a.SessionID, nil, adminKey), 404, api.CodeNotFound)

	// All of them.
	var rev api.AdminRevoked
	r = s.Do(t, "POST", "/v1/admin/users/"+uid+"/revoke", nil, adminKey)
	r.JSON(t, &rev)
	if r.Status != 200 || rev.Revoked != 2 {
		t.Fatalf("POST /v1/admin/users/{id}/revoke = %d %s, want 200 and 2", r.Status, r.Body)
	}
	for _, l := range []api.TokenResponse{b, c} {
		wantError(t, s.Do(t, "GET", "/v1/me", nil, l.AccessToken), 401, api.CodeSessionRevoked)
	}
	r = s.Do(t, "GET", "/v1/admin/users/"+uid, nil, adminKey)
	r.JSON(t, &acct)
	if len(acct.Sessions) != 0 {
		t.Errorf("sessions after revoking all = %d, want 0", len(acct.Sessions))
	}
}

// Merging: the absorbed user's identities move, its sessions end at once,
// it is gone, and a later login by its identity lands on the merged user.
func TestAdminMerge(t *testing.T) {
	s := newAdminServer(t)
	a := s.Login(t, "mp", "alice")
	b := s.Login(t, "mp", "bob")
	into, from := a.User.ID, b.User.ID
	if into == from {
		t.Fatal("alice and bob are one user before the merge")
	}
	wantError(t, s.Do(t, "POST", "/v1/admin/users/"+into+"/merge", `{"from":"`+into+`"}`, adminKey), 400, api.CodeInvalidRequest)
	wantError(t, s.Do(t, "POST", "/v1/admin/users/"+into+"/merge", `{}`, adminKey), 400, api.CodeInvalidRequest)
	wantError(t, s.Do(t, "POST", "/v1/admin/users/"+into+"/merge", `{"from":"nobody"}`, adminKey), 404, api.CodeNotFound)

	var m api.AdminMerged
	r := s.Do(t, "POST", "/v1/admin/users/"+into+"/merge", api.AdminMergeRequest{From: from}, adminKey)
	if r.Status != 200 {
		t.Fatalf("merge = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &m)
	if m.User.ID != into || m.Revoked != 1 {
		t.Errorf("merge = %+v, want user %s and 1 session ended", m, into)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, b.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, s.Do(t, "POST", "/v1/token/refresh", api.RefreshRequest{RefreshToken: b.RefreshToken}, ""), 401, api.CodeInvalidGrant)
	if r := s.Do(t, "GET", "/v1/me", nil, a.AccessToken); r.Status != 200 {
		t.Errorf("the merged user's own session = %d %s, want 200", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/admin/users/"+from, nil, adminKey), 404, api.CodeNotFound)
	var acct api.AdminAccount
	s.Do(t, "GET", "/v1/admin/users/"+into, nil, adminKey).JSON(t, &acct)
	if len(acct.Identities) != 2 {
		t.Errorf("identities after the merge = %+v, want alice's and bob's", acct.Identities)
	}
	if again := s.Login(t, "mp", "bob"); again.User.ID != into || again.IsNewUser {
		t.Errorf("bob's next login = user %s (new %v), want %s", again.User.ID, again.IsNewUser, into)
	}
	wantError(t, s.Do(t, "POST", "/v1/admin/users/"+into+"/merge", api.AdminMergeRequest{From: from}, adminKey), 404, api.CodeNotFound)
}

// Disable ends the sessions at once and refuses logins until enable;
// delete erases the user, and the next login makes a new one.
func TestAdminDisableEnableDelete(t *testing.T) {
	s := newAdminServer(t)
	a := s.Login(t, "mp", "alice")
	uid := a.User.ID
	if r := s.Do(t, "POST", "/v1/admin/users/"+uid+"/disable", nil, adminKey); r.Status != 204 {
		t.Fatalf("disable = %d %s", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "alice")}, "")
	wantError(t, r, 403, api.CodeUserDisabled)
	var acct api.AdminAccount
	s.Do(t, "GET", "/v1/admin/users/"+uid, nil, adminKey).JSON(t, &acct)
	if !acct.User.Disabled {
		t.Error("the account does not show disabled")
	}
	if r := s.Do(t, "POST", "/v1/admin/users/"+uid+"/enable", nil, adminKey); r.Status != 204 {
		t.Fatalf("enable = %d %s", r.Status, r.Body)
	}
	b := s.Login(t, "mp", "alice")
	if b.User.ID != uid {
		t.Fatalf("login after enable = user %s, want %s", b.User.ID, uid)
	}
	if r := s.Do(t, "DELETE", "/v1/admin/users/"+uid, nil, adminKey); r.Status != 204 {
		t.Fatalf("delete = %d %s", r.Status, r.Body)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, b.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, s.Do(t, "GET", "/v1/admin/users/"+uid, nil, adminKey), 404, api.CodeNotFound)
	if c := s.Login(t, "mp", "alice"); c.User.ID == uid || !c.IsNewUser {
		t.Errorf("login after delete = user %s (new %v), want a new user", c.User.ID, c.IsNewUser)
	}
}
