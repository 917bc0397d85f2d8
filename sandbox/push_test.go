package sandbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one push as a receiver saw it.
type received struct {
	query url.Values
	body  []byte
}

// receiver records pushes; block, if set, holds the first one until its
// request is cancelled (the sandbox gave up on it).
type receiver struct {
	mu    sync.Mutex
	got   []received
	block bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, received{r.URL.Query(), b})
	first := len(rc.got) == 1
	rc.mu.Unlock()
	if rc.block && first {
		<-r.Context().Done()
		return
	}
	io.WriteString(w, "success")
}

func (rc *receiver) pushes() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func newPushEnv(t *testing.T, rc *receiver, aesKey string, timeout time.Duration) (*env, string) {
	t.Helper()
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	e := newEnv(t, func(c *Config) { c.PushTimeout = timeout })
	if err := e.sb.SetPush(appOA.AppID, hs.URL+"/push", "pushtoken1", aesKey); err != nil {
		t.Fatal(err)
	}
	_, ticket, _ := e.qrCreate(t, e.appToken(t, appOA), `{"expire_seconds":300,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"s1"}}}`)
	return e, ticket
}

func TestScanPushesSubscribeThenScan(t *testing.T) {
	rc := &receiver{}
	e, ticket := newPushEnv(t, rc, "", 0)
	if err := e.sb.SetFollower(appOA.AppID, "alice", false); err != nil {
		t.Fatal(err)
	}
	res, err := e.sb.ScanQRCode(t.Context(), appOA.AppID, "alice", "s1")
	if err != nil || res != (PushResult{Event: "subscribe", Delivered: true, Attempts: 1, Status: 200}) {
		t.Fatalf("first scan = %+v, %v", res, err)
	}
	if !e.sb.followLocked(appOA.AppID, "alice").following {
		t.Fatal("alice does not follow after the subscribe")
	}
	res, err = e.sb.ScanQRCode(t.Context(), appOA.AppID, "alice", "s1")
	if err != nil || res.Event != "SCAN" {
		t.Fatalf("second scan = %+v, %v", res, err)
	}
	got := rc.pushes()
	if len(got) != 2 {
		t.Fatalf("%d pushes, want 2", len(got))
	}
	for i, want := range []struct{ event, key string }{{"subscribe", "qrscene_s1"}, {"SCAN", "s1"}} {
		q := got[i].query
		if sig := pushSign("pushtoken1", q.Get("timestamp"), q.Get("nonce")); q.Get("signature") != sig || q.Get("encrypt_type") != "" {
			t.Errorf("push %d: query %v", i, q)
		}
		var m struct {
			From, Event, EventKey, Ticket, MsgType string
			CreateTime                             int64
		}
		var x struct {
			FromUserName string `xml:"FromUserName"`
			Event        string `xml:"Event"`
			EventKey     string `xml:"EventKey"`
			Ticket       string `xml:"Ticket"`
			MsgType      string `xml:"MsgType"`
			CreateTime   int64  `xml:"CreateTime"`
		}
		if err := xml.Unmarshal(got[i].body, &x); err != nil {
			t.Fatal(err)
		}
		m.From, m.Event, m.EventKey, m.Ticket, m.MsgType, m.CreateTime = x.FromUserName, x.Event, x.EventKey, x.Ticket, x.MsgType, x.CreateTime
		if m.From != openID(appOA.AppID, "alice") || m.Event != want.event || m.EventKey != want.key || m.Ticket != ticket ||
			m.MsgType != "event" || m.CreateTime != e.clock.Now().Unix() || q.Get("openid") != m.From {
			t.Errorf("push %d = %+v (%s)", i, m, got[i].body)
		}
	}
}

func TestScanRefuses(t *testing.T) {
	rc := &receiver{}
	e, _ := newPushEnv(t, rc, "", 0)
	for _, tc := range []struct{ app, user, scene string }{
		{appOA.AppID, "alice", "never-made"},
		{appOA.AppID, "nobody", "s1"},
		{"wxunknown", "alice", "s1"},
	} {
		if _, err := e.sb.ScanQRCode(t.Context(), tc.app, tc.user, tc.scene); !errors.Is(err, ErrNotFound) {
			t.Errorf("Scan(%q, %q, %q) = %v, want ErrNotFound", tc.app, tc.user, tc.scene, err)
		}
	}
	e.clock.Advance(300 * time.Second)
	if _, err := e.sb.ScanQRCode(t.Context(), appOA.AppID, "alice", "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Scan of an expired code = %v, want ErrNotFound", err)
	}
	if len(rc.pushes()) != 0 {
		t.Fatal("a refused scan pushed")
	}
	if err := e.sb.SetPush(appA.AppID, "http://x/push", "tok", ""); err == nil {
		t.Error("push settings accepted for a mini program")
	}
	for _, bad := range [][3]string{{"ftp://x", "tok", ""}, {"http://x", "t", ""}, {"http://x", "to-ken", ""}, {"http://x", "", ""}, {"http://x", "tok", "short"}} {
		if err := e.sb.SetPush(appOA.AppID, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("SetPush(%q) accepted", bad)
		}
	}
}

// A receiver that does not answer in time gets the same push again, as
// from WeChat; the first answer ends it.
func TestPushRetriesWhenNoAnswer(t *testing.T) {
	rc := &receiver{block: true}
	e, _ := newPushEnv(t, rc, "", 50*time.Millisecond)
	res, err := e.sb.ScanQRCode(t.Context(), appOA.AppID, "bob", "s1")
	if err != nil || res != (PushResult{Event: "SCAN", Delivered: true, Attempts: 2, Status: 200}) {
		t.Fatalf("Scan = %+v, %v", res, err)
	}
	got := rc.pushes()
	if len(got) != 2 || string(got[0].body) != string(got[1].body) || got[0].query.Encode() != got[1].query.Encode() {
		t.Fatalf("the retry is not the same push: %d pushes", len(got))
	}
}

// A receiver that never answers gets four tries: the push and three more.
func TestPushGivesUpAfterThreeRetries(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server notice the
		// client hanging up.
		io.ReadAll(r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hs.Close)
	e := newEnv(t, func(c *Config) { c.PushTimeout = 20 * time.Millisecond })
	if err := e.sb.SetPush(appOA.AppID, hs.URL, "pushtoken1", ""); err != nil {
		t.Fatal(err)
	}
	res, err := e.sb.PushEvent(context.Background(), appOA.AppID, "alice", "CLICK", "menu1")
	if err != nil || res != (PushResult{Event: "CLICK", Attempts: 4}) {
		t.Fatalf("PushEvent = %+v, %v", res, err)
	}
}

// Safe mode: the body is an envelope whose Encrypt opens with the key to
// the event, and msg_signature covers it.
func TestPushSafeMode(t *testing.T) {
	const aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	rc := &receiver{}
	e, _ := newPushEnv(t, rc, aesKey, 0)
	if _, err := e.sb.ScanQRCode(t.Context(), appOA.AppID, "alice", "s1"); err != nil {
		t.Fatal(err)
	}
	got := rc.pushes()[0]
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(got.body, &env); err != nil || env.Encrypt == "" {
		t.Fatalf("envelope %s: %v", got.body, err)
	}
	q := got.query
	if q.Get("encrypt_type") != "aes" || q.Get("msg_signature") != pushSign("pushtoken1", q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
		t.Fatalf("safe-mode query %v", q)
	}
}

// The control API takes an Official Account's push settings and shows its
// push URL, never its token or EncodingAESKey; scan and event answer the
// push's result.
func TestControlPush(t *testing.T) {
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	e := newEnv(t, nil)
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	body := map[string]any{"name": "svc", "kind": "official_account", "appid": "wx00000000000000e1", "secret": "secret-e",
		"push_url": hs.URL, "push_token": "tok123abc", "push_aes_key": key}
	var created map[string]any
	if status := e.control(t, http.MethodPost, "/apps", body, &created); status != http.StatusCreated || created["push_url"] != hs.URL {
		t.Fatalf("POST /apps = %d %v", status, created)
	}
	var raw json.RawMessage
	e.control(t, http.MethodGet, "/apps", nil, &raw)
	if strings.Contains(string(raw), "tok123abc") || strings.Contains(string(raw), key) {
		t.Fatalf("GET /apps shows push secrets: %s", raw)
	}
	var res PushResult
	if status := e.control(t, http.MethodPost, "/officialaccount/event", map[string]any{"appid": "wx00000000000000e1", "user": "bob", "event": "CLICK", "event_key": "k"}, &res); status != 200 || !res.Delivered {
		t.Fatalf("POST /officialaccount/event = %d %+v", status, res)
	}
	var ce controlError
	if status := e.control(t, http.MethodPost, "/officialaccount/scan", map[string]any{"appid": "wx00000000000000e1", "user": "bob", "scene": "none"}, &ce); status != http.StatusNotFound {
		t.Fatalf("scan of no code = %d %+v, want 404", status, ce)
	}
	if status := e.control(t, http.MethodPost, "/officialaccount/push", map[string]any{"appid": "wx00000000000000e1", "url": hs.URL, "token": "x"}, &ce); status != http.StatusBadRequest {
		t.Fatalf("a 1-character token = %d, want 400", status)
	}
	if status := e.control(t, http.MethodPost, "/officialaccount/push", map[string]any{"appid": "wx00000000000000e1", "url": hs.URL, "token": "tok456"}, nil); status != http.StatusNoContent {
		t.Fatalf("set push = %d, want 204", status)
	}
}
