package push_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
	"github.com/wxauth/wxauth/wechat/push"
)

// The sandbox's pushes, written from WeChat's description and not from
// this package, verify and decrypt here: plaintext and safe mode, a
// subscribe by QR code then a SCAN.
func TestSandboxPushes(t *testing.T) {
	for _, aesKey := range []string{"", sampleAESKey} {
		var mu sync.Mutex
		var got []push.Message
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			body, _ := io.ReadAll(r.Body)
			if !push.Verify(q.Get("signature"), "pushtoken1", q.Get("timestamp"), q.Get("nonce")) {
				t.Errorf("signature does not verify")
			}
			if q.Get("encrypt_type") == "aes" {
				env, err := push.ParseEnvelope(body)
				if err != nil || !push.Verify(q.Get("msg_signature"), "pushtoken1", q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
					t.Errorf("envelope %v or msg_signature does not verify", err)
				}
				c, _ := push.NewCipher(aesKey, "wxoa")
				if body, err = c.Decrypt(env.Encrypt); err != nil {
					t.Errorf("Decrypt = %v", err)
				}
			} else if aesKey != "" {
				t.Errorf("plaintext push to a safe-mode account")
			}
			m, err := push.ParseMessage(body)
			if err != nil {
				t.Errorf("ParseMessage = %v", err)
			}
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
			io.WriteString(w, "success")
		}))
		sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret",
			PushURL: recv.URL, PushToken: "pushtoken1", PushAESKey: aesKey}}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(sb)
		c, _ := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix})
		tok, err := c.Token(t.Context(), "wxoa", "oa-secret")
		if err != nil {
			t.Fatal(err)
		}
		qr, err := c.CreateQRCode(t.Context(), tok.Token, wechat.QRCodeRequest{SceneStr: "scene7", ExpireSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.SetFollower("wxoa", "alice", false); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if res, err := sb.ScanQRCode(t.Context(), "wxoa", "alice", "scene7"); err != nil || !res.Delivered {
				t.Fatalf("Scan = %+v, %v", res, err)
			}
		}
		hs.Close()
		recv.Close()
		if len(got) != 2 {
			t.Fatalf("%d pushes", len(got))
		}
		for i, event := range []string{push.EventSubscribe, push.EventScan} {
			scene, ok := got[i].Scene()
			if got[i].Event != event || !ok || scene != "scene7" || got[i].Ticket != qr.Ticket || got[i].FromUserName == "" || got[i].ToUserName == "" {
				t.Errorf("aes %q push %d = %+v, scene %q", aesKey, i, got[i], scene)
			}
		}
	}
}
