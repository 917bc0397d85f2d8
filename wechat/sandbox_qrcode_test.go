package wechat_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/qrtest"
	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// CreateQRCode and ShowQRCode against the sandbox over real HTTP: the
// picture is a QR code that reads back to the code's url; an expired
// ticket is WeChat's 404; a mini program may not mint codes (48001).
func TestQRCodeAgainstSandbox(t *testing.T) {
	clock := &settableClock{}
	clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Config{Now: clock.Now, Apps: []sandbox.App{
		{Name: "oa", Kind: sandbox.KindOfficialAccount, AppID: "wxoa", Secret: "oa-secret"},
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix, MPBase: hs.URL + sandbox.MPPrefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(t.Context(), "wxoa", "oa-secret")
	if err != nil {
		t.Fatal(err)
	}
	qr, err := c.CreateQRCode(t.Context(), tok.Token, wechat.QRCodeRequest{SceneStr: "Scene42", ExpireSeconds: 120})
	if err != nil || qr.ExpireSeconds != 120 {
		t.Fatalf("CreateQRCode = %+v, %v", qr, err)
	}
	img, err := c.ShowQRCode(t.Context(), qr.Ticket)
	if err != nil {
		t.Fatalf("ShowQRCode = %v", err)
	}
	if got := qrtest.Read(t, img); got != qr.URL {
		t.Fatalf("the picture reads %q, want %q", got, qr.URL)
	}
	clock.Set(clock.Now().Add(121 * time.Second))
	var he *wechat.HTTPError
	if _, err := c.ShowQRCode(t.Context(), qr.Ticket); !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("expired ticket = %v, want HTTP 404", err)
	}
	mp, _ := c.Token(t.Context(), "wxmp", "mp-secret")
	if _, err := c.CreateQRCode(t.Context(), mp.Token, wechat.QRCodeRequest{SceneStr: "a", ExpireSeconds: 60}); !errors.Is(err, wechat.ErrAPIUnauthorized) {
		t.Fatalf("mini program CreateQRCode = %v, want ErrAPIUnauthorized", err)
	}
}
