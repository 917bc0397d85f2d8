package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/qrtest"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat/push"
)

// scanCall is one call of the follow-scan hook.
type scanCall struct{ app, openID, scene string }

// scanHook records the hook's calls; block, if not nil, holds the first
// call until it is closed.
type scanHook struct {
	mu    sync.Mutex
	calls []scanCall
	block chan struct{}
}

func (h *scanHook) hook(ctx context.Context, app login.App, openID, scene string) error {
	h.mu.Lock()
	h.calls = append(h.calls, scanCall{app.Name, openID, scene})
	first := len(h.calls) == 1
	h.mu.Unlock()
	if first && h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
		}
	}
	return nil
}

func (h *scanHook) got() []scanCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]scanCall(nil), h.calls...)
}

// oaApp is the configured Official Account "oa".
func oaApp(t *testing.T, s *servertest.Server) login.App {
	t.Helper()
	app, ok := s.Inst.Login.Apps().Named("oa")
	if !ok {
		t.Fatal("no app oa")
	}
	return app
}

// openIDOf is user's openid in the app named app.
func openIDOf(t *testing.T, s *servertest.Server, app, user string) string {
	t.Helper()
	for _, u := range s.Sandbox.Users() {
		if u.Name == user {
			return u.OpenIDs[s.AppID(t, app)]
		}
	}
	t.Fatalf("no user %s", user)
	return ""
}

// followQR makes the QR code of scene as the QR-ticket machinery will, and
// returns what the picture carries.
func followQR(t *testing.T, s *servertest.Server, scene string) string {
	t.Helper()
	img, ct, err := s.Inst.Login.FollowQRImage(t.Context(), oaApp(t, s), scene, 2*time.Minute)
	if err != nil {
		t.Fatalf("FollowQRImage = %v", err)
	}
	if ct != "image/png" {
		t.Fatalf("content type %q", ct)
	}
	return qrtest.Read(t, img)
}

// scan plays user scanning the code of scene with the sandbox's control API.
func scan(t *testing.T, s *servertest.Server, user, scene string) (int, sandbox.PushResult) {
	t.Helper()
	r := s.Do(t, "POST", "/sandbox/v1/officialaccount/scan", map[string]any{"appid": s.AppID(t, "oa"), "user": user, "scene": scene}, "")
	var res sandbox.PushResult
	if r.Status == http.StatusOK {
		r.JSON(t, &res)
	}
	return r.Status, res
}

// capturedPush is a push as it left the sandbox.
type capturedPush struct {
	query url.Values
	body  []byte
}

// capturePushes puts a recording relay between the sandbox and the
// stack's push URL for oa.
func capturePushes(t *testing.T, s *servertest.Server) func() []capturedPush {
	t.Helper()
	var mu sync.Mutex
	var got []capturedPush
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, capturedPush{r.URL.Query(), body})
		mu.Unlock()
		status, answer := postPush(t, s, "oa", r.URL.RawQuery, body)
		w.WriteHeader(status)
		w.Write(answer)
	}))
	t.Cleanup(relay.Close)
	app := oaApp(t, s)
	if err := s.Sandbox.SetPush(app.AppID, relay.URL, app.PushToken, app.PushAESKey); err != nil {
		t.Fatal(err)
	}
	return func() []capturedPush {
		mu.Lock()
		defer mu.Unlock()
		return append([]capturedPush(nil), got...)
	}
}

// postPush posts a push to the stack as WeChat does.
func postPush(t *testing.T, s *servertest.Server, app, rawQuery string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), "POST", s.URL+"/v1/wechat/push/"+app+"?"+rawQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Errorf("POST push: %v", err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestPushURLCheck(t *testing.T) {
	s := servertest.New(t)
	tok := oaApp(t, s).PushToken
	ts := strconv.FormatInt(s.Clock.Now().Unix(), 10)
	check := func(app, sig, ts, echostr string) servertest.Response {
		q := url.Values{"signature": {sig}, "timestamp": {ts}, "nonce": {"12345"}, "echostr": {echostr}}
		return s.Do(t, "GET", "/v1/wechat/push/"+app+"?"+q.Encode(), nil, "")
	}
	r := check("oa", push.Sign(tok, ts, "12345"), ts, "echo<script>1")
	if r.Status != http.StatusOK || string(r.Body) != "echo<script>1" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("good check = %d %q %v", r.Status, r.Body, r.Header)
	}
	old := strconv.FormatInt(s.Clock.Now().Add(-6*time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name, app, sig, ts string
		status             int
		code               string
	}{
		{"bad signature", "oa", push.Sign("othertoken", ts, "12345"), ts, 403, "invalid_signature"},
		{"no signature", "oa", "", ts, 403, "invalid_signature"},
		{"old timestamp", "oa", push.Sign(tok, old, "12345"), old, 403, "invalid_signature"},
		{"timestamp not a number", "oa", push.Sign(tok, "soon", "12345"), "soon", 403, "invalid_signature"},
		{"unknown app", "nope", push.Sign(tok, ts, "12345"), ts, 404, "unknown_app"},
		{"mini program", "mp", push.Sign(tok, ts, "12345"), ts, 404, "unknown_app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := check(tc.app, tc.sig, tc.ts, "ECHO-ME")
			if r.Status != tc.status || r.Error(t).Code != tc.code || bytes.Contains(r.Body, []byte("ECHO-ME")) {
				t.Fatalf("= %d %s, want %d %s and no echo", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
}

// A user who does not follow scans: subscribe, the hook once; then, a
// follower now, scans again: SCAN, the hook again. Safe mode, as `wxauth
// dev` configures it.
func TestFollowScanSubscribeThenScan(t *testing.T) {
	h := &scanHook{}
	s := servertest.New(t, servertest.PushHook(h.hook))
	setFollower(t, s, "alice", false)
	if got := followQR(t, s, "Ticket1abc"); !strings.HasPrefix(got, "http://weixin.qq.com/q/") {
		t.Fatalf("the QR code carries %q", got)
	}
	status, res := scan(t, s, "alice", "Ticket1abc")
	if status != 200 || res != (sandbox.PushResult{Event: "subscribe", Delivered: true, Attempts: 1, Status: 200}) {
		t.Fatalf("first scan = %d %+v", status, res)
	}
	want := scanCall{"oa", openIDOf(t, s, "oa", "alice"), "Ticket1abc"}
	if got := h.got(); len(got) != 1 || got[0] != want {
		t.Fatalf("hook calls = %+v, want [%+v]", got, want)
	}
	s.Clock.Advance(time.Second)
	if status, res = scan(t, s, "alice", "Ticket1abc"); status != 200 || res.Event != "SCAN" || !res.Delivered {
		t.Fatalf("second scan = %d %+v", status, res)
	}
	if got := h.got(); len(got) != 2 || got[1] != want {
		t.Fatalf("hook calls = %+v, want twice %+v", got, want)
	}
	// A scene with no live code is refused by the sandbox; nothing is pushed.
	if status, _ := scan(t, s, "alice", "NoSuchCode"); status != http.StatusNotFound {
		t.Fatalf("scan of an unknown scene = %d, want 404", status)
	}
	if n := len(h.got()); n != 2 {
		t.Fatalf("hook called %d times", n)
	}
	// Secrets stay out of the logs.
	logs := s.Logs.String()
	for _, secret := range []string{oaApp(t, s).PushToken, oaApp(t, s).PushAESKey, "Ticket1abc"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// The same push posted again (a replay, or WeChat's retry), even by many
// at once, reaches the hook once; a tampered one is refused.
func TestFollowScanReplayAndTamper(t *testing.T) {
	for _, mode := range []string{"safe", "plaintext"} {
		t.Run(mode, func(t *testing.T) {
			h := &scanHook{}
			opts := []servertest.Option{servertest.PushHook(h.hook)}
			if mode == "plaintext" {
				opts = append(opts, servertest.PushPlaintext("oa"))
			}
			s := servertest.New(t, opts...)
			pushes := capturePushes(t, s)
			followQR(t, s, "Replay1")
			if status, res := scan(t, s, "bob", "Replay1"); status != 200 || !res.Delivered || res.Event != "SCAN" {
				t.Fatalf("scan = %d %+v", status, res)
			}
			p := pushes()[0]
			if got := p.query.Get("encrypt_type"); (mode == "safe") != (got == "aes") {
				t.Fatalf("encrypt_type %q in %s mode", got, mode)
			}
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if status, body := postPush(t, s, "oa", p.query.Encode(), p.body); status != 200 || string(body) != "success" {
						t.Errorf("replay = %d %q, want 200 success", status, body)
					}
				}()
			}
			wg.Wait()
			if n := len(h.got()); n != 1 {
				t.Fatalf("hook called %d times, want 1", n)
			}
			// A forged signature, or another body under the captured one.
			forged := url.Values{}
			for k, v := range p.query {
				forged[k] = v
			}
			sigName := map[string]string{"safe": "msg_signature", "plaintext": "signature"}[mode]
			forged.Set(sigName, push.Sign("guess", "1", "2"))
			forged.Set("nonce", "999")
			other := bytes.Replace(p.body, []byte("SCAN"), []byte("subscribe"), 1)
			if mode == "safe" {
				other = bytes.Replace(p.body, []byte("<Encrypt><![CDATA["), []byte("<Encrypt><![CDATA[AAAA"), 1)
			}
			for name, q := range map[string]url.Values{"forged signature": forged, "captured signature, another body": p.query} {
				body := p.body
				if name != "forged signature" {
					body = other
				}
				status, ans := postPush(t, s, "oa", q.Encode(), body)
				if mode == "plaintext" && name != "forged signature" {
					// The signature was spent by the first push: success, nothing done.
					if status != 200 {
						t.Errorf("%s = %d %s", name, status, ans)
					}
					continue
				}
				if status != http.StatusForbidden || !bytes.Contains(ans, []byte("invalid_signature")) {
					t.Errorf("%s = %d %s, want 403 invalid_signature", name, status, ans)
				}
			}
			if n := len(h.got()); n != 1 {
				t.Fatalf("hook called %d times after tampering, want 1", n)
			}
		})
	}
}

// The operator chose safe mode on WeChat but gave wxauth no EncodingAESKey:
// every push is refused, and the sandbox reports so.
func TestPushSafeModeWithoutKey(t *testing.T) {
	h := &scanHook{}
	s := servertest.New(t, servertest.PushHook(h.hook), servertest.PushPlaintext("oa"),
		servertest.SandboxPushAESKey("oa", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"))
	followQR(t, s, "SafeNoKey")
	status, res := scan(t, s, "alice", "SafeNoKey")
	if status != 200 || res.Delivered || res.Status != http.StatusBadRequest || res.Attempts != 1 {
		t.Fatalf("scan = %d %+v, want the push refused with 400", status, res)
	}
	if n := len(h.got()); n != 0 {
		t.Fatalf("hook called %d times", n)
	}
}

func TestPushUnknownApp(t *testing.T) {
	s := servertest.New(t)
	for _, app := range []string{"nope", "web", "mp"} {
		status, body := postPush(t, s, app, "signature=x&timestamp=1&nonce=2", []byte("<xml/>"))
		if status != http.StatusNotFound || !bytes.Contains(body, []byte("unknown_app")) {
			t.Errorf("push to %s = %d %s, want 404 unknown_app", app, status, body)
		}
	}
	r := s.Do(t, "POST", "/v1/wechat/push/oa?signature=x&timestamp=1&nonce=2", strings.Repeat("x", 65<<10), "")
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized push = %d", r.Status)
	}
}

// WeChat pushes again when the answer takes longer than its wait; the
// retry is answered at once and the scan handled once.
func TestFollowScanSlowReceiver(t *testing.T) {
	h := &scanHook{block: make(chan struct{})}
	defer close(h.block)
	s := servertest.New(t, servertest.PushHook(h.hook), servertest.SandboxPushTimeout(500*time.Millisecond))
	followQR(t, s, "Slow1")
	status, res := scan(t, s, "alice", "Slow1")
	if status != 200 || !res.Delivered || res.Attempts < 2 || res.Event != "SCAN" {
		t.Fatalf("scan = %d %+v, want delivered on a retry", status, res)
	}
	if n := len(h.got()); n != 1 {
		t.Fatalf("hook called %d times, want 1", n)
	}
}

// Other events are answered success and do nothing.
func TestPushOtherEvents(t *testing.T) {
	h := &scanHook{}
	s := servertest.New(t, servertest.PushHook(h.hook))
	for _, ev := range [][2]string{{"CLICK", "menu1"}, {"unsubscribe", ""}, {"subscribe", ""}, {"VIEW", "https://example.com/"}} {
		r := s.Do(t, "POST", "/sandbox/v1/officialaccount/event", map[string]any{"appid": s.AppID(t, "oa"), "user": "bob", "event": ev[0], "event_key": ev[1]}, "")
		var res sandbox.PushResult
		r.JSON(t, &res)
		if r.Status != 200 || !res.Delivered {
			t.Errorf("event %s = %d %s", ev[0], r.Status, r.Body)
		}
		s.Clock.Advance(time.Second)
	}
	if n := len(h.got()); n != 0 {
		t.Fatalf("hook called %d times", n)
	}
}

// FollowerIdentity names the scanner with the unionid for an account bound
// to the Open Platform, none for one that is not.
func TestFollowerIdentity(t *testing.T) {
	s := servertest.New(t)
	id, err := s.Inst.Login.FollowerIdentity(t.Context(), oaApp(t, s), openIDOf(t, s, "oa", "alice"))
	var alice sandbox.User
	for _, u := range s.Sandbox.Users() {
		if u.Name == "alice" {
			alice = u
		}
	}
	if err != nil || id.UnionID != alice.UnionID || id.UnionID == "" || id.OpenID != alice.OpenIDs[s.AppID(t, "oa")] || id.App.Name != "oa" {
		t.Fatalf("FollowerIdentity = %+v, %v; want unionid %s", id, err, alice.UnionID)
	}
	u := servertest.New(t, servertest.Unbound("oa"))
	id, err = u.Inst.Login.FollowerIdentity(t.Context(), oaApp(t, u), openIDOf(t, u, "oa", "alice"))
	if err != nil || id.UnionID != "" {
		t.Fatalf("unbound FollowerIdentity = %+v, %v; want no unionid", id, err)
	}
	mp, _ := s.Inst.Login.Apps().Named("mp")
	if _, err := s.Inst.Login.FollowerIdentity(t.Context(), mp, "o1"); err == nil {
		t.Fatal("FollowerIdentity for a mini program succeeded")
	}
	if _, _, err := s.Inst.Login.FollowQRImage(t.Context(), mp, "x", time.Minute); err == nil {
		t.Fatal("FollowQRImage for a mini program succeeded")
	}
	if _, _, err := s.Inst.Login.FollowQRImage(t.Context(), oaApp(t, s), strings.Repeat("x", 65), time.Minute); err == nil {
		t.Fatal("FollowQRImage with a 65-character scene succeeded")
	}
	if st := s.Sandbox.Stats(); st["/cgi-bin/qrcode/create"] != 0 || st["/cgi-bin/showqrcode"] != 0 {
		t.Fatalf("refused arguments reached WeChat: %v", st)
	}
}

// Pushes are limited per app and sending address, before any work; a name
// that is no push app is refused without a counter.
func TestPushRateLimited(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.RateLimits.PushPerIP = "2/1m" }))
	for i := range 3 {
		status, body := postPush(t, s, "oa", "signature=x&timestamp=1&nonce=2", []byte("<xml/>"))
		want := http.StatusForbidden
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("push %d = %d %s, want %d", i, status, body, want)
		}
	}
	for range 3 {
		if status, _ := postPush(t, s, "nope", "", nil); status != http.StatusNotFound {
			t.Fatalf("push to an unknown app = %d, want 404", status)
		}
	}
}
