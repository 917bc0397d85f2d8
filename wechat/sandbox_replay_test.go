package wechat_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// replayEnv is a sandbox on loopback with one app of each kind the client
// exchanges codes for, and a client pointed at it.
type replayEnv struct {
	sb  *sandbox.Sandbox
	url string
	c   *wechat.Client
}

func newReplayEnv(t *testing.T, apps ...sandbox.App) *replayEnv {
	t.Helper()
	if apps == nil {
		apps = []sandbox.App{
			{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
			{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret"},
		}
	}
	sb, err := sandbox.New(sandbox.Config{Apps: apps})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	t.Cleanup(hs.Close)
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix})
	if err != nil {
		t.Fatal(err)
	}
	return &replayEnv{sb: sb, url: hs.URL, c: c}
}

// replay queues an answer through the control API, as a test in another
// language would (docs/sandbox.md, POST /sandbox/v1/faults).
func (e *replayEnv) replay(t *testing.T, fault string) {
	t.Helper()
	if !json.Valid([]byte(fault)) {
		t.Fatalf("fault %s is not JSON", fault)
	}
	resp, err := http.Post(e.url+sandbox.ControlPrefix+"/faults", "application/json", bytes.NewReader([]byte(fault)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /sandbox/v1/faults %s: status %d, want 204", fault, resp.StatusCode)
	}
}

// TestReplayedAnswers plays answers seen from WeChat (or from what stood
// in its place) through the sandbox and checks how the client classes
// them.
func TestReplayedAnswers(t *testing.T) {
	e := newReplayEnv(t)
	ctx := t.Context()
	mpCode := func() string { c, _ := e.sb.IssueCode("wxmp", "alice"); return c }

	t.Run("empty text/html body", func(t *testing.T) {
		// Reference §1 "Malformed answers": Eric-Guo/wechat#184.
		e.replay(t, `{"path":"/sns/jscode2session","body":"","content_type":"text/html; charset=gbk"}`)
		_, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", mpCode())
		if !errors.Is(err, wechat.ErrNotWeChat) || !errors.Is(err, wechat.ErrConfiguration) || wechat.Temporary(err) {
			t.Errorf("Code2Session = %v, want ErrNotWeChat, not Temporary", err)
		}
	})
	t.Run("unknown errcode", func(t *testing.T) {
		e.replay(t, `{"path":"/sns/jscode2session","body":{"errcode":99871,"errmsg":"something new rid: 1-2-3"}}`)
		_, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", mpCode())
		var ae *wechat.APIError
		if !errors.As(err, &ae) || ae.Code != 99871 || errors.Is(err, wechat.ErrUnavailable) || errors.Is(err, wechat.ErrInvalidCode) {
			t.Errorf("Code2Session = %v, want an APIError 99871 of no class", err)
		}
	})
	t.Run("snapshot answer with empty tokens", func(t *testing.T) {
		e.replay(t, `{"path":"/sns/oauth2/access_token","body":{"access_token":"","expires_in":7200,"refresh_token":"","openid":"o6_bmasdasdsad6_2sgVt7hMZOPfL","scope":"snsapi_base","is_snapshotuser":1}}`)
		tok, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", "0616Ixkl2RkoMb4kUnol2lL9tc26Ixkp")
		// The flag is read before anything else: a snapshot user, not a
		// malformed success (wxauth answers 403 snapshot_user).
		if err != nil || !tok.Snapshot {
			t.Errorf("OAuthExchange = %+v, %v; want a snapshot token and no error", tok, err)
		}
	})
	t.Run("success replayed as-is", func(t *testing.T) {
		e.replay(t, `{"path":"/sns/jscode2session","body":{"openid":"oReplayed","session_key":"tiihtNczf5v6AKRyjwEUhQ==","errcode":0,"errmsg":"ok"}}`)
		s, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", "not-even-a-code")
		if err != nil || s.OpenID != "oReplayed" {
			t.Errorf("Code2Session = %+v, %v, want the replayed openid", s, err)
		}
	})
}

// TestNotWeChatReplayed: an empty or non-JSON 200 replayed on each
// credential call is a configuration error naming wechat.api_base.
func TestNotWeChatReplayed(t *testing.T) {
	e := newReplayEnv(t)
	ctx := t.Context()
	for _, tc := range []struct {
		path string
		call func() error
	}{
		{"/cgi-bin/token", func() error { _, err := e.c.Token(ctx, "wxmp", "mp-secret"); return err }},
		{"/cgi-bin/stable_token", func() error { _, err := e.c.StableToken(ctx, "wxmp", "mp-secret", false); return err }},
		{"/sns/jscode2session", func() error {
			code, _ := e.sb.IssueCode("wxmp", "alice")
			_, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", code)
			return err
		}},
		{"/sns/oauth2/access_token", func() error {
			code, _ := e.sb.IssueOAuthCode("wxoa", "alice", sandbox.ScopeBase)
			_, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", code)
			return err
		}},
	} {
		for _, body := range []string{`""`, `"<html><title>Portal</title></html>"`} {
			t.Run(tc.path+"/"+body, func(t *testing.T) {
				e.replay(t, `{"path":"`+tc.path+`","body":`+body+`,"content_type":"text/html; charset=gbk"}`)
				err := tc.call()
				if !errors.Is(err, wechat.ErrNotWeChat) || wechat.Temporary(err) {
					t.Errorf("call = %v, want ErrNotWeChat, not Temporary", err)
				}
				if err := tc.call(); err != nil {
					t.Errorf("call after the replay = %v, want success", err)
				}
			})
		}
	}
}

// TestIPWhitelistAgainstSandbox: the sandbox refuses a caller outside the
// app's whitelist with 40164 as WeChat does, and the client classes it
// and finds the address WeChat saw.
func TestIPWhitelistAgainstSandbox(t *testing.T) {
	elsewhere := []string{"203.0.113.7"}
	e := newReplayEnv(t,
		sandbox.App{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret", IPWhitelist: elsewhere},
		sandbox.App{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret", IPWhitelist: elsewhere},
		sandbox.App{Name: "open", Kind: sandbox.KindMiniProgram, AppID: "wxopen", Secret: "open-secret", IPWhitelist: []string{"127.0.0.0/8", "::1"}},
	)
	ctx := t.Context()
	check := func(t *testing.T, what string, err error) {
		t.Helper()
		var ae *wechat.APIError
		if !errors.Is(err, wechat.ErrIPNotAllowed) || !errors.As(err, &ae) || ae.Code != 40164 {
			t.Fatalf("%s = %v, want ErrIPNotAllowed (40164)", what, err)
		}
		if got := wechat.EgressIP(err); got != "127.0.0.1" {
			t.Errorf("EgressIP(%v) = %q, want 127.0.0.1", err, got)
		}
		if !strings.Contains(wechat.OperatorAction(err), "127.0.0.1") {
			t.Errorf("OperatorAction(%v) = %q, want the address named", err, wechat.OperatorAction(err))
		}
	}
	_, err := e.c.Token(ctx, "wxmp", "mp-secret")
	check(t, "Token(mp)", err)
	_, err = e.c.StableToken(ctx, "wxoa", "oa-secret", false)
	check(t, "StableToken(oa)", err)
	code, _ := e.sb.IssueCode("wxmp", "alice")
	_, err = e.c.Code2Session(ctx, "wxmp", "mp-secret", code)
	check(t, "Code2Session(mp)", err)
	oaCode, _ := e.sb.IssueOAuthCode("wxoa", "alice", sandbox.ScopeBase)
	_, err = e.c.OAuthExchange(ctx, "wxoa", "oa-secret", oaCode)
	check(t, "OAuthExchange(oa)", err)

	if _, err := e.c.Token(ctx, "wxopen", "open-secret"); err != nil {
		t.Errorf("Token from a listed address = %v, want success", err)
	}
}
