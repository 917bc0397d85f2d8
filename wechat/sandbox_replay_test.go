package wechat_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
		if !errors.Is(err, wechat.ErrUnexpectedResponse) {
			t.Errorf("Code2Session = %v, want ErrUnexpectedResponse", err)
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
		_, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", "0616Ixkl2RkoMb4kUnol2lL9tc26Ixkp")
		if !errors.Is(err, wechat.ErrUnexpectedResponse) {
			t.Errorf("OAuthExchange = %v, want ErrUnexpectedResponse (a success without access_token)", err)
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
