package wechat_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// closedURL is a loopback address where nothing listens: connecting is
// refused before any request is written.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// droppingURL is a server that reads each request and closes the
// connection without answering: the request was sent, no answer came.
func droppingURL(t *testing.T) (string, func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

type hostsEnv struct {
	sb    *sandbox.Sandbox
	url   string // the sandbox's API base
	c     *wechat.Client
	obs   *observer
	hosts []string
}

func newHostsEnv(t *testing.T, first string) *hostsEnv {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
		{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	t.Cleanup(hs.Close)
	e := &hostsEnv{sb: sb, url: hs.URL + sandbox.APIPrefix, obs: &observer{}}
	e.hosts = []string{e.url}
	if first != "" {
		e.hosts = []string{first, e.url}
	}
	e.c, err = wechat.New(wechat.Config{APIBases: e.hosts, Observe: e.obs.observe, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hostsEnv) hostsCalled() []string {
	var out []string
	for _, c := range e.obs.all() {
		out = append(out, c.Host)
	}
	return out
}

// TestFailoverBeforeSend: a host that cannot be reached (connection
// refused, or a name that does not resolve) is skipped for every call,
// code exchanges included: nothing was sent, no code spent.
func TestFailoverBeforeSend(t *testing.T) {
	for name, first := range map[string]string{
		"connection refused": closedURL(t),
		"DNS failure":        "http://api.wxauth-test.invalid",
	} {
		t.Run(name, func(t *testing.T) {
			e := newHostsEnv(t, first)
			code, _ := e.sb.IssueCode("wxmp", "alice")
			s, err := e.c.Code2Session(t.Context(), "wxmp", "mp-secret", code)
			if err != nil || s.OpenID == "" {
				t.Fatalf("Code2Session = %+v, %v, want success on the second host", s, err)
			}
			if got := e.hostsCalled(); len(got) != 2 || got[0] != first || got[1] != e.url {
				t.Errorf("hosts tried = %q, want %q then %q", got, first, e.url)
			}
			if _, err := e.c.Token(t.Context(), "wxmp", "mp-secret"); err != nil {
				t.Errorf("Token = %v, want success on the second host", err)
			}
		})
	}
}

// TestNoFailoverAfterSend: once a code exchange's request was written it
// never goes to another host (WeChat may have spent the code); a call
// that spends no code does.
func TestNoFailoverAfterSend(t *testing.T) {
	first, requests := droppingURL(t)
	e := newHostsEnv(t, first)
	ctx := t.Context()

	code, _ := e.sb.IssueCode("wxmp", "alice")
	if _, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", code); !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("Code2Session = %v, want ErrUnavailable from the first host", err)
	}
	oaCode, _ := e.sb.IssueOAuthCode("wxoa", "alice", sandbox.ScopeBase)
	if _, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", oaCode); !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("OAuthExchange = %v, want ErrUnavailable from the first host", err)
	}
	stats := e.sb.Stats()
	if stats["/sns/jscode2session"] != 0 || stats["/sns/oauth2/access_token"] != 0 {
		t.Errorf("the second host saw code exchanges: %v", stats)
	}
	if requests() == 0 {
		t.Fatal("the first host saw no request")
	}

	tok, err := e.c.Token(ctx, "wxmp", "mp-secret")
	if err != nil || tok.Token == "" {
		t.Fatalf("Token = %+v, %v, want success on the second host", tok, err)
	}
	if _, err := e.c.StableToken(ctx, "wxmp", "mp-secret", false); err != nil {
		t.Errorf("StableToken = %v, want success on the second host", err)
	}
	before := e.sb.Stats()["/cgi-bin/stable_token"]
	if _, err := e.c.StableToken(ctx, "wxmp", "mp-secret", true); !errors.Is(err, wechat.ErrUnavailable) {
		t.Errorf("StableToken(force_refresh) = %v, want ErrUnavailable: a forced refresh is not repeated", err)
	}
	if got := e.sb.Stats()["/cgi-bin/stable_token"]; got != before {
		t.Errorf("forced refresh reached the second host")
	}
}

// TestRetryOnBusy: -1 is retried once, after the backoff, for calls that
// spend no code; code exchanges answer it at once.
func TestRetryOnBusy(t *testing.T) {
	e := newHostsEnv(t, "")
	ctx := t.Context()
	busy := func(path string, n int) { e.sb.InjectFault(sandbox.Fault{Path: path, Errcode: -1, Count: n}) }
	calls := func(path string) int { return e.sb.Stats()[path] }

	busy("/cgi-bin/token", 1)
	if _, err := e.c.Token(ctx, "wxmp", "mp-secret"); err != nil || calls("/cgi-bin/token") != 2 {
		t.Errorf("Token after one -1 = %v with %d calls, want success with 2", err, calls("/cgi-bin/token"))
	}
	busy("/cgi-bin/token", 2)
	if _, err := e.c.Token(ctx, "wxmp", "mp-secret"); !errors.Is(err, wechat.ErrBusy) || calls("/cgi-bin/token") != 4 {
		t.Errorf("Token after two -1 = %v with %d calls, want ErrBusy with 4 (one retry)", err, calls("/cgi-bin/token"))
	}

	code, _ := e.sb.IssueCode("wxmp", "alice")
	busy("/sns/jscode2session", 1)
	if _, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", code); !errors.Is(err, wechat.ErrBusy) || calls("/sns/jscode2session") != 1 {
		t.Errorf("Code2Session after -1 = %v with %d calls, want ErrBusy with 1", err, calls("/sns/jscode2session"))
	}
	s, err := e.c.Code2Session(ctx, "wxmp", "mp-secret", code)
	if err != nil {
		t.Fatalf("Code2Session = %v", err)
	}

	tok, _ := e.c.Token(ctx, "wxmp", "mp-secret")
	phone, _ := e.sb.IssuePhoneCode("wxmp", "alice", "")
	busy("/wxa/business/getuserphonenumber", 1)
	if _, err := e.c.PhoneNumber(ctx, tok.Token, phone, ""); !errors.Is(err, wechat.ErrBusy) || calls("/wxa/business/getuserphonenumber") != 1 {
		t.Errorf("PhoneNumber after -1 = %v with %d calls, want ErrBusy with 1", err, calls("/wxa/business/getuserphonenumber"))
	}
	busy("/wxa/checksession", 1)
	if err := e.c.CheckSessionKey(ctx, tok.Token, s.OpenID, s.SessionKey); err != nil || calls("/wxa/checksession") != 2 {
		t.Errorf("CheckSessionKey after -1 = %v with %d calls, want success with 2", err, calls("/wxa/checksession"))
	}

	oaCode, _ := e.sb.IssueOAuthCode("wxoa", "alice", sandbox.ScopeUserInfo)
	busy("/sns/oauth2/access_token", 1)
	if _, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", oaCode); !errors.Is(err, wechat.ErrBusy) || calls("/sns/oauth2/access_token") != 1 {
		t.Errorf("OAuthExchange after -1 = %v with %d calls, want ErrBusy with 1", err, calls("/sns/oauth2/access_token"))
	}
	ot, err := e.c.OAuthExchange(ctx, "wxoa", "oa-secret", oaCode)
	if err != nil {
		t.Fatalf("OAuthExchange = %v", err)
	}
	busy("/sns/userinfo", 1)
	if _, err := e.c.OAuthUserInfo(ctx, ot.AccessToken, ot.OpenID); err != nil || calls("/sns/userinfo") != 2 {
		t.Errorf("OAuthUserInfo after -1 = %v with %d calls, want success with 2", err, calls("/sns/userinfo"))
	}
	busy("/sns/auth", 1)
	if err := e.c.OAuthCheck(ctx, ot.AccessToken, ot.OpenID); err != nil || calls("/sns/auth") != 2 {
		t.Errorf("OAuthCheck after -1 = %v with %d calls, want success with 2", err, calls("/sns/auth"))
	}
}

func TestRetryBackoff(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	const backoff = 80 * time.Millisecond
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix, RetryBackoff: backoff})
	if err != nil {
		t.Fatal(err)
	}
	sb.InjectFault(sandbox.Fault{Path: "/cgi-bin/token", Errcode: -1})
	start := time.Now()
	if _, err := c.Token(t.Context(), "wxmp", "mp-secret"); err != nil {
		t.Fatalf("Token = %v", err)
	}
	if elapsed := time.Since(start); elapsed < backoff {
		t.Errorf("retry after %v, want at least the backoff %v", elapsed, backoff)
	}
}

func TestAPIBasesConfig(t *testing.T) {
	for _, cfg := range []wechat.Config{
		{APIBase: "https://api.weixin.qq.com", APIBases: []string{"https://api2.weixin.qq.com"}},
		{APIBases: []string{"https://api.weixin.qq.com", "ftp://api2.weixin.qq.com"}},
		{RetryBackoff: -time.Second},
	} {
		if _, err := wechat.New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
	if _, err := wechat.New(wechat.Config{APIBases: []string{"https://api.weixin.qq.com/", "https://api2.weixin.qq.com"}}); err != nil {
		t.Errorf("New(two hosts) = %v", err)
	}
}
