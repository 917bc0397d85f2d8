package login

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat/push"
)

const testPushKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// pushApps are testApps with oa taking plaintext pushes and oa2 safe mode.
func pushApps() []App {
	apps := append([]App(nil), testApps...)
	apps[1].PushToken = "oatoken"
	return append(apps, App{Name: "oa2", Kind: KindOfficialAccount, AppID: "wxoa2", Secret: "s", PushToken: "oa2token", PushAESKey: testPushKey})
}

const scanXML = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[scene9]]></EventKey></xml>`

func plainPush(ts time.Time, nonce string) PushQuery {
	t := strconv.FormatInt(ts.Unix(), 10)
	return PushQuery{Signature: push.Sign("oatoken", t, nonce), Timestamp: t, Nonce: nonce}
}

func statusOf(err error) int {
	var ce *clienterr.Error
	if errors.As(err, &ce) {
		return ce.HTTPStatus()
	}
	return 0
}

// The timestamp window is ±5 minutes, inclusive, on the service's clock.
func TestReceivePushTimestampWindow(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Apps = pushApps() })
	body := []byte(replaceTime(scanXML, t0))
	for i, d := range []time.Duration{-PushClockSkew, PushClockSkew, 0} {
		scan, err := f.svc.ReceivePush(t.Context(), "oa", plainPush(t0.Add(d), "n"+strconv.Itoa(i)), []byte(replaceTime(scanXML, t0.Add(time.Duration(i)*time.Second))))
		if err != nil || scan == nil || scan.Scene != "scene9" || scan.OpenID != "oUser1" {
			t.Fatalf("timestamp %v from now: %+v, %v", d, scan, err)
		}
	}
	for _, d := range []time.Duration{-PushClockSkew - time.Second, PushClockSkew + time.Second} {
		if _, err := f.svc.ReceivePush(t.Context(), "oa", plainPush(t0.Add(d), "x"), body); !errors.Is(err, ErrPushTimestamp) || statusOf(err) != http.StatusForbidden {
			t.Fatalf("timestamp %v from now = %v, want 403 ErrPushTimestamp", d, err)
		}
	}
}

// A store that cannot mark the push handled fails the push (WeChat will
// push again) rather than run the hook unguarded.
func TestReceivePushStoreDown(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Apps = pushApps() })
	f.svc.cfg.OneTime = failingOneTime{OneTime: f.store, op: "put"}
	scan, err := f.svc.ReceivePush(t.Context(), "oa", plainPush(t0, "n"), []byte(replaceTime(scanXML, t0)))
	if !errors.Is(err, storage.ErrUnavailable) || scan != nil {
		t.Fatalf("ReceivePush with the store down = %+v, %v", scan, err)
	}
}

// Modes: a safe-mode app refuses plaintext; a plaintext app refuses safe
// mode; an unknown encrypt_type is refused; a push for another appid does
// not decrypt.
func TestReceivePushModes(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Apps = pushApps() })
	ctx := t.Context()
	body := []byte(replaceTime(scanXML, t0))
	q := plainPush(t0, "n1")
	q.Signature = push.Sign("oa2token", q.Timestamp, q.Nonce)
	if _, err := f.svc.ReceivePush(ctx, "oa2", q, body); !errors.Is(err, ErrPushMode) {
		t.Errorf("plaintext to a safe-mode app = %v", err)
	}
	c, _ := push.NewCipher(testPushKey, "wxoa2")
	enc, _ := c.Encrypt(body, nil)
	env := []byte("<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	safe := PushQuery{Timestamp: q.Timestamp, Nonce: "n2", EncryptType: "aes", MsgSignature: push.Sign("oa2token", q.Timestamp, "n2", enc)}
	if scan, err := f.svc.ReceivePush(ctx, "oa2", safe, env); err != nil || scan == nil || scan.App.Name != "oa2" {
		t.Fatalf("safe mode = %+v, %v", scan, err)
	}
	if _, err := f.svc.ReceivePush(ctx, "oa", safe, env); !errors.Is(err, ErrPushMode) {
		t.Errorf("safe mode to a plaintext app = %v", err)
	}
	other, _ := push.NewCipher(testPushKey, "wxsomeoneelse")
	enc2, _ := other.Encrypt(body, nil)
	env2 := []byte("<xml><Encrypt>" + enc2 + "</Encrypt></xml>")
	safe2 := PushQuery{Timestamp: q.Timestamp, Nonce: "n3", EncryptType: "aes", MsgSignature: push.Sign("oa2token", q.Timestamp, "n3", enc2)}
	if _, err := f.svc.ReceivePush(ctx, "oa2", safe2, env2); !errors.Is(err, ErrPushDecrypt) {
		t.Errorf("another appid's payload = %v", err)
	}
	weird := plainPush(t0, "n4")
	weird.EncryptType = "des"
	if _, err := f.svc.ReceivePush(ctx, "oa", weird, body); statusOf(err) != http.StatusBadRequest {
		t.Errorf("encrypt_type des = %v", err)
	}
	if _, err := f.svc.ReceivePush(ctx, "oa", plainPush(t0, "n5"), []byte("not xml")); !errors.Is(err, ErrPushMalformed) {
		t.Errorf("not XML = %v", err)
	}
	for _, name := range []string{"mp", "web", "nope"} {
		if _, err := f.svc.ReceivePush(ctx, name, plainPush(t0, "n6"), body); !errors.Is(err, ErrPushUnknownApp) || statusOf(err) != 404 {
			t.Errorf("push to %s = %v", name, err)
		}
	}
}

func replaceTime(format string, ts time.Time) string {
	return fmt.Sprintf(format, ts.Unix())
}
