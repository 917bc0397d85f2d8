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
	res, err := f.svc.Authorize(t.Context(), AuthorizeRequest{App: "oa", Scope: scope, RedirectURI: "https://app.example.com/cb",
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
