package login

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// Each mini program login keeps the session_key WeChat gave it, sealed, on
// the session it opens; the identity is left as it was. Against the
// sandbox over HTTP.
func TestMiniProgramSessionKey(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "s-mp"},
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
	f := newFixture(t, func(c *Config) { c.WeChat = wc })
	ctx := t.Context()
	var sessionKeys []string
	for i := range 2 {
		code, err := sb.IssueCode("wxmp", "alice")
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.MiniProgram(ctx, MiniProgramRequest{Code: code})
		if err != nil {
			t.Fatalf("MiniProgram(login #%d) = %v", i, err)
		}
		if res.IsNew != (i == 0) {
			t.Errorf("MiniProgram(login #%d).IsNew = %v, want %v", i, res.IsNew, i == 0)
		}
		ids, err := f.store.Identities(ctx, res.User.ID)
		if err != nil || len(ids) != 1 {
			t.Fatalf("Identities(%s) = %v, %v; want one", res.User.ID, ids, err)
		}
		if !ids[0].UpdatedAt.Equal(t0) {
			t.Errorf("identity UpdatedAt after login #%d = %v, want %v (unchanged)", i, ids[0].UpdatedAt, t0)
		}
		sess, err := f.store.Session(ctx, res.Tokens.Session.ID, f.clock.Now())
		if err != nil {
			t.Fatalf("Session(login #%d) = %v", i, err)
		}
		got, err := f.svc.cfg.Seal.Open(sess.SessionKey, SessionKeyContext("wxmp", ids[0].OpenID))
		if err != nil {
			t.Fatalf("opening the session's SessionKey (login #%d) = %v", i, err)
		}
		if want := sb.SessionKey("wxmp", "alice"); string(got) != want {
			t.Errorf("session key of login #%d = %q, want WeChat's %q", i, got, want)
		}
		sessionKeys = append(sessionKeys, string(got))
		f.clock.Advance(time.Hour)
	}
	if sessionKeys[0] == sessionKeys[1] {
		t.Errorf("both logins' sessions hold the session key %q, want each its own (the sandbox rotates it)", sessionKeys[0])
	}
	for _, code := range []string{"", string(make([]byte, maxCodeLen+1))} {
		if _, err := f.svc.MiniProgram(ctx, MiniProgramRequest{Code: code}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("MiniProgram(code of %d bytes) = %v, want ErrInvalidRequest", len(code), err)
		}
	}
}
