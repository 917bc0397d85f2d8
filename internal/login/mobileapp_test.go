package login

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// A mobile app login keeps WeChat's user tokens, sealed to the identity,
// on the session it opens, and they work at WeChat; the identity carries
// the unionid and the user the profile. Against the sandbox over HTTP.
func TestMobileAppCredentials(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "app", Kind: sandbox.KindMobileApp, AppID: "wxapp", Secret: "s-app"},
		{Name: "web", Kind: sandbox.KindWebsite, AppID: "wxweb", Secret: "s-web"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	t.Cleanup(hs.Close)
	wc, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) {
		c.WeChat = wc
		c.Apps = []App{{Name: "app", Kind: KindMobileApp, AppID: "wxapp", Secret: "s-app"}, {Name: "web", Kind: KindWebsite, AppID: "wxweb", Secret: "s-web"}}
	})
	ctx := t.Context()
	code, err := sb.IssueAppCode("wxapp", "alice")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.MobileApp(ctx, MobileAppRequest{Code: code})
	if err != nil {
		t.Fatalf("MobileApp = %v", err)
	}
	if !res.IsNew || res.User.Nickname != "Alice" || res.User.AvatarURL == "" || res.App != "app" {
		t.Errorf("MobileApp = %+v, want a new user Alice through app", res)
	}
	ids, err := f.store.Identities(ctx, res.User.ID)
	if err != nil || len(ids) != 1 || ids[0].UnionID != sb.Users()[0].UnionID {
		t.Fatalf("Identities = %+v, %v; want alice's with her unionid", ids, err)
	}
	sess, err := f.store.Session(ctx, res.Tokens.Session.ID, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.cfg.Seal.Open(sess.SessionKey, OAuthContext("wxweb", ids[0].OpenID)); err == nil {
		t.Error("the session's credentials open for another app's identity")
	}
	plain, err := f.svc.cfg.Seal.Open(sess.SessionKey, OAuthContext("wxapp", ids[0].OpenID))
	if err != nil {
		t.Fatalf("opening the session's credentials = %v", err)
	}
	var creds oauthCredentials
	if err := json.Unmarshal(plain, &creds); err != nil || creds.AccessToken == "" || creds.RefreshToken == "" {
		t.Fatalf("credentials = %s, %v", plain, err)
	}
	if err := wc.OAuthCheck(ctx, creds.AccessToken, ids[0].OpenID); err != nil {
		t.Errorf("the kept access token at /sns/auth = %v", err)
	}
	if strings.Contains(string(sess.SessionKey), creds.AccessToken) {
		t.Error("the session holds the access token in clear")
	}

	for _, tt := range []struct {
		name string
		req  MobileAppRequest
		want error
	}{
		{"no code", MobileAppRequest{}, ErrInvalidRequest},
		{"long code", MobileAppRequest{Code: strings.Repeat("c", maxCodeLen+1)}, ErrInvalidRequest},
		{"website app", MobileAppRequest{App: "web", Code: "c"}, ErrUnknownApp},
		{"reused code", MobileAppRequest{Code: code}, wechat.ErrInvalidCode},
	} {
		if _, err := f.svc.MobileApp(ctx, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("MobileApp(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// An answer WeChat flags is_snapshotuser, or a profile WeChat refuses,
// makes no user: the ids are not trusted, and SignIn is never reached.
func TestMobileAppRefusedIdentity(t *testing.T) {
	apps := func(c *Config) { c.Apps = []App{{Name: "app", Kind: KindMobileApp, AppID: "wxapp", Secret: "s"}} }
	snap := newFixture(t, apps)
	snap.wc.snapshot = true
	if _, err := snap.svc.MobileApp(t.Context(), MobileAppRequest{Code: "c-virtual"}); !errors.Is(err, ErrSnapshotUser) {
		t.Errorf("MobileApp(snapshot-flagged answer) = %v, want ErrSnapshotUser", err)
	}
	refused := newFixture(t, apps)
	refused.wc.userInfoErr = wechat.ErrScopeUnauthorized
	if _, err := refused.svc.MobileApp(t.Context(), MobileAppRequest{Code: "c-o1"}); !errors.Is(err, wechat.ErrScopeUnauthorized) {
		t.Errorf("MobileApp(userinfo refused) = %v, want the refusal", err)
	}
	for name, f := range map[string]*fixture{"snapshot": snap, "refused": refused} {
		for _, openID := range []string{"virtual", "o1"} {
			if _, err := f.store.Identity(t.Context(), "wxapp", openID); err == nil {
				t.Errorf("%s: identity %s was stored", name, openID)
			}
		}
	}
}
