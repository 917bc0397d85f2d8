package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
)

// TestQRPanels: a desktop browser 360 px wide, in Chinese and in English,
// shows the two QR logins of the demo page with live pictures (a mini
// program code and an Official Account's parametric QR code), screenshot
// and checked for cut-off controls. The test is the phone: for the mini
// program, the sandbox's scan control and the mini program's calls over
// HTTP (scan, then confirm); for the Official Account, the sandbox's scan,
// which pushes the follow to wxauth. Each panel follows its ticket to
// "logged in" and the profile, and both reach the same user (one unionid).
func TestQRPanels(t *testing.T) {
	for _, tt := range []struct {
		name, accept string
		zh           bool
	}{
		{"zh-CN", "zh-CN,zh;q=0.9", true},
		{"en-US", "en-US,en;q=0.9", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := os.Getenv("WXAUTH_SCREENSHOT_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			ctx := newBrowser(t)
			s := servertest.New(t)
			do(t, ctx, "a desktop browser, 360 px wide, open the demo page",
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: desktopUA, AcceptLanguage: tt.accept})
					return err
				}),
				chromedp.EmulateViewport(phoneWidth, 740),
				chromedp.Navigate(s.URL+"/demo/"),
				chromedp.WaitVisible(`#qr-mp .qr-start`),
				chromedp.Click(`#qr-mp .qr-start`),
				// The mini program code's picture pushes the panel below it
				// down when it arrives: a click aimed before that lands
				// elsewhere, so the second panel is clicked once the first
				// has settled.
				until(`document.getElementById('qr-mp').dataset.state === 'waiting' && document.querySelector('#qr-mp .qr-image').naturalWidth > 0`),
				chromedp.Click(`#qr-oa .qr-start`),
				until(`document.getElementById('qr-oa').dataset.state === 'waiting' && document.querySelector('#qr-oa .qr-image').naturalWidth > 0`),
			)
			shot(t, ctx, filepath.Join(dir, tt.name+"-demo-qr.png"))
			for _, p := range eval[[]string](t, ctx, layoutProblems) {
				t.Errorf("the QR panels at %d px: %s", phoneWidth, p)
			}
			for _, p := range eval[[]string](t, ctx, speaks(tt.zh, "#qr-mp .qr-title", "#qr-mp .qr-status", "#qr-oa .qr-title", "#qr-oa .qr-intro", "#qr-oa .qr-start")) {
				t.Errorf("the QR panels in %s: %s", tt.name, p)
			}
			if fits := eval[bool](t, ctx, `[...document.querySelectorAll('.qr-image')].every((i) => i.getBoundingClientRect().right <= 360)`); !fits {
				t.Error("a QR picture is wider than a 360 px screen")
			}
			mpTicket := eval[string](t, ctx, `document.getElementById('qr-mp').dataset.ticket`)
			oaTicket := eval[string](t, ctx, `document.getElementById('qr-oa').dataset.ticket`)

			// The mini program: opened by the code, logs in, scans, confirms.
			var scan struct{ Code string }
			r := s.Do(t, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(t, "mp"), "user": "alice", "scene": mpTicket}, "")
			if r.Status != 200 {
				t.Fatalf("scan the page's mini program code = %d %s", r.Status, r.Body)
			}
			r.JSON(t, &scan)
			r = s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: scan.Code}, "")
			var mp api.TokenResponse
			r.JSON(t, &mp)
			if r := s.Do(t, "POST", "/v1/qrlogin/"+mpTicket+"/scan", nil, mp.AccessToken); r.Status != 200 {
				t.Fatalf("scan = %d %s", r.Status, r.Body)
			}
			do(t, ctx, "the page sees the scan", until(`document.getElementById('qr-mp').dataset.state === 'scanned'`))
			if r := s.Do(t, "POST", "/v1/qrlogin/"+mpTicket+"/confirm", nil, mp.AccessToken); r.Status != 200 {
				t.Fatalf("confirm = %d %s", r.Status, r.Body)
			}
			do(t, ctx, "the mini program panel logs in",
				until(`document.getElementById('qr-mp').dataset.state === 'confirmed'`),
				chromedp.WaitVisible(chromedp.ID("profile-id")),
				// The same user as the phone's (a mini program login has no nickname).
				textIs("profile-id", mp.User.ID),
			)
			if hidden := eval[bool](t, ctx, `document.getElementById('qr-mp').hidden && document.getElementById('qr-oa').hidden`); !hidden {
				t.Error("a QR panel stays on the profile page")
			}

			// Log out; the Official Account panel: alice scans its code and
			// follows the account, WeChat pushes it, the page logs in.
			do(t, ctx, "log out, show the follow code again",
				chromedp.Click(chromedp.ID("logout")),
				chromedp.WaitVisible(`#qr-oa .qr-start`),
				chromedp.Click(`#qr-oa .qr-start`),
				until(`document.getElementById('qr-oa').dataset.state === 'waiting' && document.getElementById('qr-oa').dataset.ticket !== `+jsString(oaTicket)),
			)
			oaTicket = eval[string](t, ctx, `document.getElementById('qr-oa').dataset.ticket`)
			r = s.Do(t, "POST", "/sandbox/v1/officialaccount/scan", map[string]string{"appid": s.AppID(t, "oa"), "user": "alice", "scene": oaTicket}, "")
			if r.Status != 200 {
				t.Fatalf("scan the page's Official Account code = %d %s", r.Status, r.Body)
			}
			do(t, ctx, "the follow panel logs in, as the same person",
				until(`document.getElementById('qr-oa').dataset.state === 'confirmed'`),
				chromedp.WaitVisible(chromedp.ID("profile-id")),
				textIs("profile-id", mp.User.ID),
			)
			shot(t, ctx, filepath.Join(dir, tt.name+"-demo-qr-profile.png"))
		})
	}
}
