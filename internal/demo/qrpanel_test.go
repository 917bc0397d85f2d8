package demo_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
)

// TestQRPanel: on a 360 px wide desktop browser the demo page shows a mini
// program code; the test is the phone (the sandbox's scan control, then
// the mini program's calls over HTTP) and the page follows the ticket to
// "logged in" and the profile.
func TestQRPanel(t *testing.T) {
	ctx := newBrowser(t, chromedp.UserAgent(desktopUA))
	s := servertest.New(t)
	do(t, ctx, "open the demo page on a narrow screen",
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(s.URL+"/demo/"),
		chromedp.WaitVisible(`#qr-mp .qr-start`),
		chromedp.Click(`#qr-mp .qr-start`),
		until(`document.getElementById('qr-mp').dataset.state === 'waiting'`),
		until(`document.querySelector('#qr-mp .qr-image').naturalWidth > 0`),
	)
	if fits := eval[bool](t, ctx, `document.documentElement.scrollWidth <= 360 &&
		document.querySelector('#qr-mp .qr-image').getBoundingClientRect().right <= 360`); !fits {
		t.Error("the QR panel is wider than a 360 px screen")
	}
	ticket := eval[string](t, ctx, `document.getElementById('qr-mp').dataset.ticket`)

	var scan struct{ Code string }
	r := s.Do(t, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(t, "mp"), "user": "alice", "scene": ticket}, "")
	if r.Status != 200 {
		t.Fatalf("scan the page's code = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &scan)
	r = s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: scan.Code}, "")
	var mp api.TokenResponse
	r.JSON(t, &mp)
	if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/scan", nil, mp.AccessToken); r.Status != 200 {
		t.Fatalf("scan = %d %s", r.Status, r.Body)
	}
	do(t, ctx, "the page sees the scan", until(`document.getElementById('qr-mp').dataset.state === 'scanned'`))
	if r := s.Do(t, "POST", "/v1/qrlogin/"+ticket+"/confirm", nil, mp.AccessToken); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	do(t, ctx, "the page logs in",
		until(`document.getElementById('qr-mp').dataset.state === 'confirmed'`),
		chromedp.WaitVisible(chromedp.ID("profile-id")),
		// The same user as the phone's (a mini program login has no nickname).
		textIs("profile-id", mp.User.ID),
	)
	if hidden := eval[bool](t, ctx, `document.getElementById('qr-mp').hidden`); !hidden {
		t.Error("the QR panel stays on the profile page")
	}
}
