package demo_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/internal/servertest"
)

// authorizePage is the sandbox path that counts visits of WeChat's
// Official Account authorize page: one per round trip.
const authorizePage = "/connect/oauth2/authorize"

// TestAccountSwitch (docs/h5.md "Noticing an account switch"): alice is
// logged in on the demo page (checkAccount every 1h, via ?check_every=);
// the sandbox's current WeChat user of this browser becomes bob, as when
// the phone's account changes. A reload within the hour makes no round
// trip and still shows alice. Past the hour (the SDK's remembered check
// time is moved back: the browser's clock cannot be), a reload runs the
// silent snsapi_base round trip: the page ends alice's session and shows
// bob logged in, with no history entry holding a code.
func TestAccountSwitch(t *testing.T) {
	ctx := newBrowser(t)
	s := servertest.New(t)

	// Bob has used the page before, so that he has a nickname to show.
	do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/?check_every=1h"))
	loginAs(t, ctx, "bob")
	do(t, ctx, "bob's profile, log out", chromedp.WaitVisible(chromedp.ID("profile-view")), textIs("profile-nickname", "Bob"), chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
	loginAs(t, ctx, "alice")
	do(t, ctx, "alice's profile", chromedp.WaitVisible(chromedp.ID("profile-nickname")), textIs("profile-nickname", "Alice"))
	aliceToken := eval[string](t, ctx, `localStorage.getItem('wxauth.access_token')`)

	// The phone's WeChat account becomes bob's: set in another tab of the
	// same browser (the sandbox's cookie is the browser's).
	other, cancel := chromedp.NewContext(ctx)
	defer cancel()
	do(t, other, "switch the sandbox's WeChat user to bob",
		chromedp.Navigate(s.URL+"/sandbox/v1/browser/user?name=bob"),
		until(`document.getElementById('current')?.dataset.user === 'bob'`))

	visits := s.Sandbox.Stats()[authorizePage]
	do(t, ctx, "reload within the hour",
		chromedp.Navigate(s.URL+"/demo/"),
		chromedp.WaitVisible(chromedp.ID("profile-view")),
		textIs("profile-nickname", "Alice"))
	if n := s.Sandbox.Stats()[authorizePage]; n != visits {
		t.Errorf("a reload within every visited WeChat's authorize page %d times, want none", n-visits)
	}

	eval[bool](t, ctx, `(localStorage.setItem('wxauth.account_checked_at', String(Date.now() - 2 * 3600 * 1000)), true)`)
	do(t, ctx, "reload past the hour",
		chromedp.Navigate(s.URL+"/demo/"),
		until(`location.pathname === '/demo/' && !location.search && !document.getElementById('profile-view').hidden && document.getElementById('profile-nickname').textContent === 'Bob'`))
	if n := s.Sandbox.Stats()[authorizePage]; n != visits+1 {
		t.Errorf("the check visited WeChat's authorize page %d times, want 1 (silently, as bob)", n-visits)
	}
	if notice := eval[string](t, ctx, `document.getElementById('notice').hidden ? '' : document.getElementById('notice').textContent`); notice == "" {
		t.Error("the page does not say the WeChat account changed")
	}
	if r := s.Do(t, "GET", "/v1/me", nil, aliceToken); r.Status != http.StatusUnauthorized {
		t.Errorf("alice's old token after the switch = %d, want 401: her session must end", r.Status)
	}
	checkCleanHistory(t, ctx)

	// Just checked: the next reload makes no round trip.
	do(t, ctx, "reload again", chromedp.Navigate(s.URL+"/demo/"), chromedp.WaitVisible(chromedp.ID("profile-view")), textIs("profile-nickname", "Bob"))
	if n := s.Sandbox.Stats()[authorizePage]; n != visits+1 {
		t.Errorf("a reload right after the check visited the authorize page again (%d)", n-visits)
	}
}
