package login_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/signer"
	"github.com/wxauth/wxauth/storage/memstore"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// Each mini program login keeps the session_key WeChat gave it, sealed, on
// the session it opens; the identity is left as it was.
func TestMiniProgramSessionKey(t *testing.T) {
	const appID = "wx00000000000000a1"
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: appID, Secret: "mp-secret"},
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
	key, err := signer.Generate(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signer.NewSet(key)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New()
	clock := fakeclock.New(t0)
	tokens, err := token.New(token.Config{
		Issuer: "https://auth.example.com", Keys: keys, Sessions: store,
		Secret: []byte("0123456789abcdef0123456789abcdef"), Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New([]byte("another secret of at least 32 bytes"), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := login.New(login.Config{
		Apps:   []login.App{{Name: "mp", Kind: login.KindMiniProgram, AppID: appID, Secret: "mp-secret"}},
		WeChat: wc, Users: store, Tokens: tokens, Seal: box, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := t.Context()
	var sessionKeys []string
	for i := range 2 {
		code, err := sb.IssueCode(appID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.MiniProgram(ctx, login.MiniProgramRequest{App: "mp", Code: code})
		if err != nil {
			t.Fatalf("MiniProgram(login #%d) = %v", i, err)
		}
		if res.IsNew != (i == 0) {
			t.Errorf("MiniProgram(login #%d).IsNew = %v, want %v", i, res.IsNew, i == 0)
		}
		ids, err := store.Identities(ctx, res.User.ID)
		if err != nil || len(ids) != 1 {
			t.Fatalf("Identities(%s) = %v, %v; want one", res.User.ID, ids, err)
		}
		if !ids[0].UpdatedAt.Equal(t0) {
			t.Errorf("identity UpdatedAt after login #%d = %v, want %v (unchanged)", i, ids[0].UpdatedAt, t0)
		}
		sess, err := store.Session(ctx, res.Tokens.Session.ID, clock.Now())
		if err != nil {
			t.Fatalf("Session(login #%d) = %v", i, err)
		}
		got, err := box.Open(sess.SessionKey, login.SessionKeyContext(appID, ids[0].OpenID))
		if err != nil {
			t.Fatalf("opening the session's SessionKey (login #%d) = %v", i, err)
		}
		if want := sb.SessionKey(appID, "alice"); string(got) != want {
			t.Errorf("session key of login #%d = %q, want WeChat's %q", i, got, want)
		}
		sessionKeys = append(sessionKeys, string(got))
		clock.Advance(time.Hour)
	}
	if sessionKeys[0] == sessionKeys[1] {
		t.Errorf("both logins' sessions hold the session key %q, want each its own (the sandbox rotates it)", sessionKeys[0])
	}
}
