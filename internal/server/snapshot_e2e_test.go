package server_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage"
)

// sandboxUser is a test user as the sandbox's control API answers it.
type sandboxUser struct {
	Name     string            `json:"name"`
	Nickname string            `json:"nickname"`
	UnionID  string            `json:"unionid"`
	OpenIDs  map[string]string `json:"openids"`
	Snapshot string            `json:"snapshot"`
}

// addSandboxUser creates a test user through the sandbox's control API
// (POST /sandbox/v1/users) with the given fields besides its name.
func addSandboxUser(t *testing.T, s *servertest.Server, fields map[string]string) sandboxUser {
	t.Helper()
	r := s.Do(t, "POST", "/sandbox/v1/users", fields, "")
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /sandbox/v1/users %v = %d %s", fields, r.Status, r.Body)
	}
	var u sandboxUser
	r.JSON(t, &u)
	return u
}

// wantNoUser fails unless wxauth has no user for the sandbox user u: none
// by its openid in app, none by its unionid.
func wantNoUser(t *testing.T, s *servertest.Server, app string, u sandboxUser) {
	t.Helper()
	if id, err := s.Inst.Users.Identity(t.Context(), s.AppID(t, app), u.OpenIDs[s.AppID(t, app)]); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Identity(%s's virtual openid) = %+v, %v; want ErrNotFound", u.Name, id, err)
	}
	if got, err := s.Inst.Users.UserByUnionID(t.Context(), u.UnionID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByUnionID(%s's virtual unionid) = %+v, %v; want ErrNotFound", u.Name, got, err)
	}
}

// Reference §5.1 (issue #11, point 4): every reported form of WeChat's
// snapshot-page user ends in 403 snapshot_user with no user made from the
// virtual ids: the flag with tokens (the doc's example), the flag with
// empty tokens, and no flag with /sns/userinfo answering 48001.
func TestOAuthSnapshotVariants(t *testing.T) {
	s := servertest.New(t)
	for _, variant := range []string{"flagged", "empty_tokens", "unflagged"} {
		t.Run(variant, func(t *testing.T) {
			u := addSandboxUser(t, s, map[string]string{"name": "snap-" + variant, "snapshot": variant})
			b := newBrowser(t, s, wechatUA)
			verifier, challenge := pkce("snapshot-" + variant + "-verifier-0123456789-0123456789")
			code, state := b.authorizeAs(u.Name, oauthParams(s, challenge))
			userinfo := s.Sandbox.Stats()["/sns/userinfo"]
			wantError(t, b.login(code, state, verifier), http.StatusForbidden, api.CodeSnapshotUser)
			wantNoUser(t, s, "oa", u)
			asked := s.Sandbox.Stats()["/sns/userinfo"] - userinfo
			if want := map[string]int{"flagged": 0, "empty_tokens": 0, "unflagged": 1}[variant]; asked != want {
				t.Errorf("/sns/userinfo asked %d times, want %d (the flag is read first)", asked, want)
			}
			// The login ended: the same code again is no way in.
			wantError(t, b.login(code, state, verifier), http.StatusBadRequest, api.CodeInvalidState)
		})
	}
}
