package wechat_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// Reference §3.9 against the sandbox over HTTP: a code issued (never
// exchanged) retires the key Code2Session gave, a later exchange answers
// the current key, and a key unused for its TTL fails CheckSessionKey.
func TestSessionKeyLifetimeAgainstSandbox(t *testing.T) {
	clock := &settableClock{}
	clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Config{Now: clock.Now, SessionKey: sandbox.SessionKeyPolicy{TTL: time.Hour}, Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := wechat.NewTokenManager(wechat.TokenManagerConfig{
		Client:  c,
		Cache:   wechat.NewMemoryTokenCache(),
		Secrets: func(appID string) (string, bool) { return "mp-secret", appID == "wxmp" },
		Now:     clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exchange := func(code string) wechat.Session {
		t.Helper()
		s, err := c.Code2Session(ctx, "wxmp", "mp-secret", code)
		if err != nil {
			t.Fatalf("Code2Session = %v", err)
		}
		return s
	}
	check := func(openID, key string) error {
		return tm.Do(ctx, "wxmp", func(token string) error { return c.CheckSessionKey(ctx, token, openID, key) })
	}
	issue := func() string {
		t.Helper()
		code, err := sb.IssueCode("wxmp", "alice")
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	first := exchange(issue())
	if err := check(first.OpenID, first.SessionKey); err != nil {
		t.Fatalf("CheckSessionKey(fresh key) = %v, want nil", err)
	}
	later := issue() // wx.login again; the code waits
	if err := check(first.OpenID, first.SessionKey); !errors.Is(err, wechat.ErrSessionKeyStale) {
		t.Errorf("CheckSessionKey after another code was issued = %v, want ErrSessionKeyStale", err)
	}
	second := exchange(later)
	if second.SessionKey == first.SessionKey {
		t.Errorf("the later code answered the retired key")
	}
	if err := check(second.OpenID, second.SessionKey); err != nil {
		t.Errorf("CheckSessionKey(the later code's key) = %v, want nil", err)
	}
	clock.Advance(time.Hour)
	if err := check(second.OpenID, second.SessionKey); !errors.Is(err, wechat.ErrSessionKeyStale) {
		t.Errorf("CheckSessionKey an hour unused (TTL 1h) = %v, want ErrSessionKeyStale", err)
	}
}
