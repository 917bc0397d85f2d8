package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/wechatstatus"
	"github.com/wxauth/wxauth/sandbox"
)

type readyAnswer struct {
	Status string                 `json:"status"`
	WeChat []wechatstatus.Problem `json:"wechat"`
}

func ready(t *testing.T, s *servertest.Server) readyAnswer {
	t.Helper()
	r := s.Do(t, "GET", "/readyz", nil, "")
	var a readyAnswer
	r.JSON(t, &a)
	if r.Status != http.StatusOK || a.Status != "ok" {
		t.Fatalf("GET /readyz = %d %s", r.Status, r.Body)
	}
	return a
}

// logLine finds the first JSON log line with msg whose text holds all of
// want.
func logLine(s *servertest.Server, msg string, want ...string) bool {
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		var l struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != msg || l.Level != "ERROR" {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestEgressIPNotWhitelisted: the sandbox's Mini Program has an IP
// whitelist without this server's address. The login fails with a clean
// contract error carrying 40164; the log says, at Error, which app and
// what to add; /readyz reports it until WeChat accepts the app again.
func TestEgressIPNotWhitelisted(t *testing.T) {
	s := servertest.New(t, servertest.IPWhitelist("mp", "203.0.113.7"))
	if got := ready(t, s); len(got.WeChat) != 0 {
		t.Fatalf("readyz before any call lists %+v", got.WeChat)
	}
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "alice")}, "")
	e := wantError(t, r, http.StatusBadGateway, api.CodeWeChatUnavailable)
	if e.WeChatErrcode == nil || *e.WeChatErrcode != 40164 || strings.Contains(e.Description, "new code") {
		t.Errorf("login error = %+v, want wechat_errcode 40164 and no advice to retry", e)
	}
	if !logLine(s, "request failed", `"action":"add this server's egress IP 127.0.0.1 to the API IP whitelist`) {
		t.Errorf("no Error request log naming the address to whitelist:\n%s", s.Logs.String())
	}
	if !logLine(s, "wechat refuses the app: an operator must act", `"app":"mp"`, `"egress_ip":"127.0.0.1"`) {
		t.Errorf("no Error log naming the app:\n%s", s.Logs.String())
	}
	got := ready(t, s).WeChat
	if len(got) != 1 || got[0].App != "mp" || got[0].Errcode != 40164 || got[0].EgressIP != "127.0.0.1" ||
		got[0].Endpoint != "/sns/jscode2session" || !strings.Contains(got[0].Action, "whitelist") {
		t.Fatalf("readyz wechat = %+v, want mp refused 40164 from 127.0.0.1", got)
	}

	// The operator whitelists the address: the next login works and
	// /readyz forgets the refusal.
	if err := s.Sandbox.SetIPWhitelist(s.AppID(t, "mp"), []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	s.Login(t, "mp", "alice")
	if got := ready(t, s).WeChat; len(got) != 0 {
		t.Errorf("readyz after a success lists %+v", got)
	}
}

// TestIPConfirmationFamily: the Official Account IP-confirmation errcodes
// replayed on the OAuth code exchange are configuration errors with the
// admin's step named.
func TestIPConfirmationFamily(t *testing.T) {
	for code, want := range map[int]string{
		89503: "have them confirm it",
		89506: "blocked for 24 hours",
		50007: "frozen",
	} {
		s := servertest.New(t)
		s.Sandbox.InjectFault(sandbox.Fault{Path: "/sns/oauth2/access_token", Errcode: code})
		b := newBrowser(t, s, wechatUA)
		verifier, challenge := pkce("v-0123456789012345678901234567890123456789012")
		c, state := b.authorizeAs("alice", oauthParams(s, challenge))
		r := b.login(c, state, verifier)
		e := wantError(t, r, http.StatusBadGateway, api.CodeWeChatUnavailable)
		if e.WeChatErrcode == nil || *e.WeChatErrcode != code {
			t.Errorf("errcode %d: login error = %+v", code, e)
		}
		if !logLine(s, "request failed", want) {
			t.Errorf("errcode %d: no Error log saying %q:\n%s", code, want, s.Logs.String())
		}
		if got := ready(t, s).WeChat; len(got) != 1 || got[0].App != "oa" || got[0].Errcode != code {
			t.Errorf("errcode %d: readyz wechat = %+v", code, got)
		}
	}
}

// TestNotWeChatAnswer: a 200 with an empty text/html body on the code
// exchange (a wrong api_base, a proxy's page) is a configuration error:
// the client is not told to retry with a new code, the log names
// wechat.api_base, /readyz reports it.
func TestNotWeChatAnswer(t *testing.T) {
	s := servertest.New(t)
	s.Sandbox.InjectFault(sandbox.Fault{Path: "/sns/jscode2session", Body: []byte(`""`), ContentType: "text/html; charset=gbk"})
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "alice")}, "")
	e := wantError(t, r, http.StatusBadGateway, api.CodeWeChatUnavailable)
	if e.WeChatErrcode != nil || strings.Contains(e.Description, "new code") {
		t.Errorf("login error = %+v, want no errcode and no advice to retry with a new code", e)
	}
	if !logLine(s, "request failed", "check wechat.api_base") {
		t.Errorf("no Error log naming wechat.api_base:\n%s", s.Logs.String())
	}
	if got := ready(t, s).WeChat; len(got) != 1 || got[0].App != "mp" || got[0].Errcode != 0 || !strings.Contains(got[0].Action, "wechat.api_base") {
		t.Errorf("readyz wechat = %+v", got)
	}
}
