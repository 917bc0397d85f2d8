package login

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat"
)

// authorizeScope starts an Official Account login for scope, bound by
// PKCE, and returns the state and the verifier.
func (f *fixture) authorizeScope(t *testing.T, scope string) (state, verifier string) {
	t.Helper()
	verifier = randomAlnum(43)
	res, err := f.svc.Authorize(t.Context(), AuthorizeRequest{App: "oa", UserAgent: wechatUA, Scope: scope, RedirectURI: "https://app.example.com/cb",
		CodeChallenge: hashString(verifier)})
	if err != nil {
		t.Fatalf("Authorize = %v", err)
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state"), verifier
}

// Reference §5.1: a snapshot-page user is refused with snapshot_user and
// no user is made, whether WeChat flags the answer (tokens empty or not)
// or leaves the flag out and /sns/userinfo answers 48001.
func TestOAuthSnapshotUser(t *testing.T) {
	scope48001 := fmt.Errorf("user info: %w", &wechat.APIError{Endpoint: "/sns/userinfo", Code: 48001})
	tests := []struct {
		name string
		edit func(*fakeWeChat)
	}{
		{"flagged", func(w *fakeWeChat) { w.snapshot = true }},
		{"unflagged, userinfo 48001", func(w *fakeWeChat) { w.userInfoErr = scope48001 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(f.wc)
			state, verifier := f.authorizeScope(t, "snsapi_userinfo")
			_, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-virtual", State: state, CodeVerifier: verifier})
			if !errors.Is(err, ErrSnapshotUser) {
				t.Fatalf("OAuthLogin = %v, want ErrSnapshotUser", err)
			}
			if _, err := f.store.Identity(t.Context(), "wxoa", "virtual"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Identity(virtual) = %v, want ErrNotFound: no user for a virtual identity", err)
			}
		})
	}
}

// Issue #11 point 8: an Official Account login without unionid (snsapi_base)
// asks WeChat for the follower's unionid and links by it; where WeChat has
// none to give, the identity stands alone; where it failed, the login does.
func TestOAuthBaseFollowerLinking(t *testing.T) {
	unavailable := fmt.Errorf("follower: %w", wechat.ErrUnavailable)
	unauthorized := &wechat.APIError{Endpoint: "/cgi-bin/user/info", Code: 48001}
	tests := []struct {
		name     string
		follower *wechat.Follower
		err      error
		wantSame bool
		wantErr  error
	}{
		{"follower", &wechat.Follower{Subscribed: true, OpenID: "alice-oa", UnionID: "union-alice"}, nil, true, nil},
		{"not a follower", nil, nil, false, nil},
		{"follower of an unbound account", &wechat.Follower{Subscribed: true, OpenID: "alice-oa"}, nil, false, nil},
		{"48001: the account may not ask", nil, unauthorized, false, nil},
		{"WeChat unavailable", nil, unavailable, false, wechat.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			mini, err := f.store.LinkIdentity(t.Context(), storage.LinkRequest{
				Identity: storage.Identity{AppID: "wxmp", OpenID: "alice-mp", UnionID: "union-alice"},
				NewUser:  storage.User{ID: "u-alice"}, Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if tt.follower != nil {
				f.wc.followers = map[string]wechat.Follower{"alice-oa": *tt.follower}
			}
			f.wc.followerErr = tt.err
			state, verifier := f.authorizeScope(t, "snsapi_base")
			res, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice-oa", State: state, CodeVerifier: verifier})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("OAuthLogin = %v, want %v", err, tt.wantErr)
				}
				if _, err := f.store.Identity(t.Context(), "wxoa", "alice-oa"); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Identity after a failed lookup = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("OAuthLogin = %v", err)
			}
			if same := res.User.ID == mini.User.ID; same != tt.wantSame || res.IsNew == tt.wantSame {
				t.Errorf("user %s (new %v), mini program user %s; want the same: %v", res.User.ID, res.IsNew, mini.User.ID, tt.wantSame)
			}
			if n := f.wc.followerCalls.Load(); n != 1 {
				t.Errorf("FollowerInfo calls = %d, want 1", n)
			}
		})
	}
}

// A returning identity stored with its unionid needs no follower lookup;
// a snsapi_userinfo login with a unionid needs none either.
func TestOAuthFollowerLookupSkipped(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store.LinkIdentity(t.Context(), storage.LinkRequest{
		Identity: storage.Identity{AppID: "wxoa", OpenID: "bob-oa", UnionID: "union-bob"},
		NewUser:  storage.User{ID: "u-bob"}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	state, verifier := f.authorizeScope(t, "snsapi_base")
	res, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-bob-oa", State: state, CodeVerifier: verifier})
	if err != nil || res.User.ID != "u-bob" {
		t.Fatalf("OAuthLogin = %+v, %v; want u-bob", res.User, err)
	}
	if n := f.wc.followerCalls.Load(); n != 0 {
		t.Errorf("FollowerInfo calls = %d for a known identity with a unionid, want 0", n)
	}
}
