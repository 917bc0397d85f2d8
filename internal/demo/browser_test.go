package demo_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/demo"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
)

// chromium is Debian's Chromium (apt-get install -y chromium). The browser
// tests skip without it, so that `go test ./...` needs only Go.
const chromium = "/usr/bin/chromium"

// stepTimeout bounds each group of browser steps; nothing sleeps, every
// wait is for a condition in the page.
const stepTimeout = 30 * time.Second

// wechatUA is the User-Agent of WeChat's built-in browser on Android.
const wechatUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x28003253) NetType/WIFI Language/zh_CN"

// desktopUA is a desktop Chromium's.
const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

// codeExchanges is the sandbox path that counts OAuth code exchanges.
const codeExchanges = "/sns/oauth2/access_token"

// newBrowser starts a headless Chromium with a fresh profile for one test
// and returns a context whose tab the test drives.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping the browser test: no Chromium at %s (Debian: apt-get install -y chromium)", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		// WeChat's built-in browser, where an Official Account's page opens
		// (the sandbox refuses it to others, as WeChat does); a test passes
		// chromedp.UserAgent to be another browser.
		chromedp.UserAgent(wechatUA),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), append(opts, extra...)...)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// do runs steps within stepTimeout, failing the test with what the page
// shows if one fails.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v\n%s", expr, err, pageState(ctx))
	}
	return v
}

// pageState describes the page for a failure message.
func pageState(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		error: document.getElementById('error')?.textContent,
		notice: document.getElementById('notice')?.textContent,
		body: document.body?.innerText.slice(0, 600),
	}, null, 1)`))
	if err != nil {
		return fmt.Sprintf("(page state unavailable: %v)", err)
	}
	return "page: " + s
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// textIs waits until element id shows exactly want.
func textIs(id, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`document.getElementById(%s)?.textContent.trim() === %s`, jsString(id), jsString(want)),
		chromedp.WithPollingTimeout(stepTimeout))
}

// until waits until the JavaScript condition cond holds in the page,
// checking it on every animation frame.
func until(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`new Promise(resolve => {
		const check = () => (`+cond+`) ? resolve() : requestAnimationFrame(check)
		check()
	})`, chromedp.EvalAwaitPromise)
}

// loginAs clicks the demo page's login button, then user's Allow button on
// the sandbox's Official Account consent page, which sends the browser back
// to the demo page.
func loginAs(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	loginOn(t, ctx, "/sandbox/open/connect/oauth2/authorize", user)
}

// loginOn is loginAs through the consent page at path.
func loginOn(t *testing.T, ctx context.Context, path, user string) {
	t.Helper()
	do(t, ctx, "open the consent page",
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("allow-"+user)),
	)
	if loc := eval[string](t, ctx, `location.pathname`); loc != path {
		t.Fatalf("after login the browser is on %s, want the sandbox consent page", loc)
	}
	do(t, ctx, "allow as "+user, chromedp.Click(chromedp.ID("allow-"+user)))
}

// back presses the browser's Back button and waits until the previous
// history entry is shown, loaded afresh or restored from the back/forward
// cache; it returns which. (chromedp.NavigateBack waits for a load event,
// which a cache restore never fires: it would hang here.)
func back(t *testing.T, ctx context.Context) page.NavigationType {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	h, err := chromedp.Run(c, chromedp.NavigationEntries())
	if err != nil {
		t.Fatal(err)
	}
	if h.CurrentIndex < 1 {
		t.Fatalf("no history entry to go back to: %+v", h)
	}
	prev := h.Entries[h.CurrentIndex-1].ID
	ev, err := chromedp.Run(c, chromedp.WaitEvent(page.FrameNavigated,
		func(e page.EventFrameNavigated) bool { return e.Frame.ParentID == "" },
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: prev})
			return err
		})))
	if err != nil {
		t.Fatalf("Back: %v\n%s", err, pageState(ctx))
	}
	return ev.Type
}

// checkCleanHistory fails if any history entry is a consent page or still
// carries a code or state: Back must never lead to a used code.
func checkCleanHistory(t *testing.T, ctx context.Context) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	h, err := chromedp.Run(c, chromedp.NavigationEntries())
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range h.Entries {
		u, err := url.Parse(e.URL)
		if err != nil {
			t.Fatalf("history entry %d: %v", i, err)
		}
		q := u.Query()
		if strings.HasPrefix(u.Path, "/sandbox/") || q.Has("code") || q.Has("state") {
			t.Errorf("history entry %d is %s; want no consent page and no code or state in history", i, e.URL)
		}
	}
}

// saveScreenshot writes a full-page PNG: under go test -artifacts in the
// test's artifact directory, else in the temporary directory, where it
// stays after the test for a look.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100)) // quality 100 is PNG, less is JPEG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.TempDir()
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = t.ArtifactDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestLoginAndBack: log in on the demo page through the consent page, land
// on return_to with no code in the URL, and press Back: still logged in,
// with no second code exchange and no consent page (docs/api.md
// "H5 and website login", docs/sandbox.md). Back runs twice: restoring the page from the
// back/forward cache, as phones do, and loading it afresh.
func TestLoginAndBack(t *testing.T) {
	t.Run("bfcache", func(t *testing.T) { loginAndBack(t, true) })
	t.Run("no bfcache", func(t *testing.T) { loginAndBack(t, false) })
}

func loginAndBack(t *testing.T, bfcache bool) {
	var ctx context.Context
	if bfcache {
		ctx = newBrowser(t)
	} else {
		ctx = newBrowser(t, chromedp.Flag("disable-features", "BackForwardCache"))
	}
	s := servertest.New(t)

	do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"))
	loginAs(t, ctx, "alice")
	do(t, ctx, "wait for the profile",
		chromedp.WaitVisible(chromedp.ID("profile-nickname")),
		textIs("profile-nickname", "Alice"),
		chromedp.WaitVisible(chromedp.CSS("#sessions tr.current")),
	)
	if got, want := eval[string](t, ctx, `location.href`), s.URL+"/demo/#profile"; got != want {
		t.Errorf("after login the page is %s, want return_to %s", got, want)
	}
	if n := s.Sandbox.Stats()[codeExchanges]; n != 1 {
		t.Errorf("code exchanges after login = %d, want 1", n)
	}
	if ids := eval[string](t, ctx, `document.getElementById('profile-identities').textContent`); !strings.Contains(ids, "oa: openid ") {
		t.Errorf("identities shown = %q, want the oa identity", ids)
	}
	checkCleanHistory(t, ctx)
	if bfcache {
		saveScreenshot(t, ctx, "wxauth-demo-screenshot.png")
	}

	if bfcache {
		if how := back(t, ctx); how != page.NavigationTypeBackForwardCacheRestore {
			t.Logf("Back loaded the page afresh (%s), not from the back/forward cache", how)
		}
		// chromedp's query and poll actions lose track of a page restored
		// from the cache; a plain evaluation does not.
		do(t, ctx, "after Back", until(`!document.getElementById('profile-view').hidden`))
	} else {
		do(t, ctx, "press Back", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("profile-nickname")))
	}
	if got := eval[string](t, ctx, `document.getElementById('profile-nickname').textContent`); got != "Alice" {
		t.Errorf("after Back the page shows %q, want Alice still logged in", got)
	}
	loc := eval[string](t, ctx, `location.href`)
	if u, _ := url.Parse(loc); u == nil || !strings.HasPrefix(loc, s.URL+"/demo/") || u.RawQuery != "" {
		t.Errorf("after Back the page is %s, want the demo page with no code or state", loc)
	}
	if eval[bool](t, ctx, `document.getElementById('allow-alice') !== null`) {
		t.Error("after Back the consent page shows again")
	}
	if n := s.Sandbox.Stats()[codeExchanges]; n != 1 {
		t.Errorf("code exchanges after Back = %d, want still 1 (Back must not repeat the login)", n)
	}

	do(t, ctx, "reload and log out",
		chromedp.Navigate(s.URL+"/demo/"),
		chromedp.WaitVisible(chromedp.ID("logout")),
		textIs("profile-nickname", "Alice"),
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login")),
	)
	if tok := eval[string](t, ctx, `localStorage.getItem('wxauth.access_token') ?? ''`); tok != "" {
		t.Errorf("after logout localStorage still holds an access token")
	}
}

// TestDesktop: outside WeChat the demo logs in through the website app's
// QR login (an Official Account's page opens only in WeChat); asked for the
// Official Account anyway, wxauth sends the browser to the website app too.
func TestDesktop(t *testing.T) {
	ctx := newBrowser(t, chromedp.UserAgent(desktopUA))
	s := servertest.New(t)

	do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"), chromedp.WaitVisible(chromedp.ID("login")))
	if app := eval[string](t, ctx, `document.getElementById('app').value`); app != "web" {
		t.Errorf("outside WeChat the demo picks app %q, want web", app)
	}
	loginOn(t, ctx, "/sandbox/open/connect/qrconnect", "alice")
	do(t, ctx, "wait for the profile", chromedp.WaitVisible(chromedp.ID("profile-nickname")), textIs("profile-nickname", "Alice"))
	if ids := eval[string](t, ctx, `document.getElementById('profile-identities').textContent`); !strings.Contains(ids, "web: openid ") {
		t.Errorf("identities shown = %q, want the web identity", ids)
	}
	do(t, ctx, "log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))

	// The Official Account chosen by hand: wxauth sends this browser to the
	// website app's QR login, never to a page WeChat would refuse it.
	eval[bool](t, ctx, `(() => { const a = document.getElementById('app'); a.value = 'oa'; a.dispatchEvent(new Event('change')); return true })()`)
	if scope := eval[string](t, ctx, `document.getElementById('scope').value`); scope != "snsapi_userinfo" {
		t.Errorf("with oa chosen the scope is %q", scope)
	}
	loginOn(t, ctx, "/sandbox/open/connect/qrconnect", "bob")
	do(t, ctx, "wait for the profile", chromedp.WaitVisible(chromedp.ID("profile-nickname")), textIs("profile-nickname", "Bob"))
	if n := s.Sandbox.Stats()["/connect/oauth2/authorize"]; n != 0 {
		t.Errorf("the Official Account's page was opened %d times by a desktop browser, want 0", n)
	}
}

// TestDesktopDenied: Deny on the website QR page keeps the user there, as
// WeChat does (reference §6: "若用户禁止授权，则不会发生重定向"): no
// return to the site, no code, no exchange; Back returns to the demo page,
// still logged out.
func TestDesktopDenied(t *testing.T) {
	ctx := newBrowser(t, chromedp.UserAgent(desktopUA))
	s := servertest.New(t)

	do(t, ctx, "deny on the QR page",
		chromedp.Navigate(s.URL+"/demo/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("deny")),
		chromedp.Click(chromedp.ID("deny")),
		until(`document.getElementById('status').textContent.includes('declined')`),
	)
	if loc := eval[string](t, ctx, `location.pathname`); loc != "/sandbox/open/connect/qrconnect" {
		t.Errorf("after Deny the browser is on %s, want still the QR page", loc)
	}
	if n := s.Sandbox.Stats()[codeExchanges]; n != 0 {
		t.Errorf("code exchanges after Deny = %d, want 0", n)
	}
	back(t, ctx)
	do(t, ctx, "after Back", until(`location.pathname === '/demo/' && !document.getElementById('login-view').hidden`))
}

// TestDenied: Deny on the Official Account page comes back with a state and
// no code (the sandbox's default, reference §5.2); the page says so and
// exchanges nothing.
func TestDenied(t *testing.T) {
	ctx := newBrowser(t)
	s := servertest.New(t)

	do(t, ctx, "deny",
		chromedp.Navigate(s.URL+"/demo/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("deny")),
		chromedp.Click(chromedp.ID("deny")),
		chromedp.WaitVisible(chromedp.ID("error")),
		chromedp.WaitVisible(chromedp.ID("login")),
	)
	if msg := eval[string](t, ctx, `document.getElementById('error').textContent`); !strings.Contains(msg, "declined") {
		t.Errorf("after Deny the page says %q, want that the authorization was declined", msg)
	}
	if got := eval[string](t, ctx, `location.search`); got != "" {
		t.Errorf("after Deny the URL keeps the query %q", got)
	}
	if n := s.Sandbox.Stats()[codeExchanges]; n != 0 {
		t.Errorf("code exchanges after Deny = %d, want 0", n)
	}
}

// TestBindPhone: under registration bind_phone a new WeChat user gets the
// bind page, proves a phone with the SMS code from the sandbox inbox, and
// is logged in with that phone (docs/api.md "Binding").
func TestBindPhone(t *testing.T) {
	ctx := newBrowser(t)
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Registration = config.RegistrationBindPhone
	}))
	carol, err := s.Sandbox.AddUser("carol")
	if err != nil {
		t.Fatal(err)
	}
	const phone = "+8613800138000"

	do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"))
	loginAs(t, ctx, "carol")
	do(t, ctx, "send the code",
		chromedp.WaitVisible(chromedp.ID("bind-phone")),
		chromedp.Clear(chromedp.ID("bind-phone")),
		chromedp.SendKeys(chromedp.ID("bind-phone"), phone),
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("notice")), // shown once /v1/sms/send answered 204
	)
	if loc := eval[string](t, ctx, `location.href`); strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		t.Errorf("the bind page's URL %s still carries the spent code", loc)
	}
	inbox := eval[string](t, ctx, `document.getElementById('sms-inbox').href`)
	if want := s.URL + "/sandbox/v1/sms?phone=" + url.QueryEscape(phone); inbox != want {
		t.Errorf("inbox link = %s, want %s", inbox, want)
	}
	msgs := s.Sandbox.SMS(phone)
	if len(msgs) != 1 {
		t.Fatalf("sandbox inbox for %s holds %d messages, want 1", phone, len(msgs))
	}
	do(t, ctx, "bind",
		chromedp.SendKeys(chromedp.ID("sms-code"), msgs[0].Code),
		chromedp.Click(chromedp.ID("bind")),
		chromedp.WaitVisible(chromedp.ID("profile-nickname")),
		textIs("profile-phone", phone),
		textIs("profile-nickname", carol.Nickname),
	)
	if got, want := eval[string](t, ctx, `location.href`), s.URL+"/demo/#profile"; got != want {
		t.Errorf("after binding the page is %s, want return_to %s", got, want)
	}
	checkCleanHistory(t, ctx)
}

// TestOtherOrigin: the demo page served by another origin (another site,
// even: localhost is not 127.0.0.1) logs in through CORS, with PKCE binding
// the state to the tab (a cookie could not: wxauth's cookies never reach a
// cross-site fetch).
func TestOtherOrigin(t *testing.T) {
	ctx := newBrowser(t)
	mux := http.NewServeMux()
	mux.Handle("/demo/", demo.Handler())
	other := httptest.NewServer(mux)
	t.Cleanup(other.Close)
	origin := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.CORSOrigins = append(c.CORSOrigins, origin)
		c.Redirects = append(c.Redirects, origin+"/demo/")
	}), servertest.DevOrigin(origin)) // a loopback port: the sandbox's dev allowance, as WeChat allows no port

	do(t, ctx, "open the demo page on the other origin", chromedp.Navigate(origin+"/demo/?api="+url.QueryEscape(s.URL)))
	if api := eval[string](t, ctx, `document.getElementById('api-base').textContent`); api != s.URL {
		t.Fatalf("the page talks to %q, want %s", api, s.URL)
	}
	loginAs(t, ctx, "bob")
	do(t, ctx, "wait for the profile",
		chromedp.WaitVisible(chromedp.ID("profile-nickname")),
		textIs("profile-nickname", "Bob"),
	)
	if got, want := eval[string](t, ctx, `location.href`), origin+"/demo/#profile"; got != want {
		t.Errorf("after login the page is %s, want %s", got, want)
	}
	if n := s.Sandbox.Stats()[codeExchanges]; n != 1 {
		t.Errorf("code exchanges = %d, want 1", n)
	}
	checkCleanHistory(t, ctx)
}

// TestRealNames (issue #11): the page shows WeChat nicknames as they are,
// Chinese, emoji and spacing kept (the text itself, not trimmed), and its
// initial is a whole first character, an emoji with its joiners included.
func TestRealNames(t *testing.T) {
	ctx := newBrowser(t)
	s := servertest.New(t)
	const family = "👨\u200d👩\u200d👧 一家\u3000人 "
	if _, err := s.Sandbox.AddUserWith("family", sandbox.UserOptions{Nickname: family}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ user, nickname, initial string }{
		{"xiaoming", "小明🐱", "小"},
		{"family", family, "👨\u200d👩\u200d👧"},
	} {
		do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"))
		if tt.user != "xiaoming" {
			do(t, ctx, "log out", chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")))
		}
		loginAs(t, ctx, tt.user)
		do(t, ctx, "wait for "+tt.user+"'s profile",
			chromedp.WaitVisible(chromedp.ID("profile-nickname")),
			until(`document.getElementById('profile-nickname').textContent === `+jsString(tt.nickname)),
		)
		if got := eval[string](t, ctx, `document.getElementById('profile-initial').textContent`); got != tt.initial {
			t.Errorf("%s: initial %q, want %q", tt.user, got, tt.initial)
		}
	}
}

// TestBurstAcrossExpiry: the page fires 20 concurrent auth.request('/v1/me')
// after the access token expired, and the SDK refreshes once for all of them
// (sdk/js/README.md auth.request). The server's clock is moved past the
// token's lifetime and the browser's is not, so the SDK still believes the
// token valid: all 20 meet 401 token_expired, wait for one refresh, and are
// replayed once each. Counted with the server's /metrics, not the page's.
func TestBurstAcrossExpiry(t *testing.T) {
	const accessTTL = 5 * time.Minute // the browser's own margin (min(60 s, TTL/10)) stays far off
	ctx := newBrowser(t)
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Tokens.AccessTTL = config.Duration(accessTTL)
	}))

	do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"))
	loginAs(t, ctx, "alice")
	do(t, ctx, "wait for the profile",
		chromedp.WaitVisible(chromedp.ID("profile-nickname")),
		textIs("profile-nickname", "Alice"),
		chromedp.WaitVisible(chromedp.CSS("#sessions tr.current")), // the profile's requests are done
		chromedp.WaitVisible(chromedp.ID("burst")),
	)
	oldAccess := eval[string](t, ctx, `localStorage.getItem('wxauth.access_token') ?? ''`)

	s.Clock.Advance(accessTTL + time.Minute)
	before := metrics(t, s)
	do(t, ctx, "send 20 requests at once",
		chromedp.Click(chromedp.ID("burst")),
		until(`document.getElementById('burst-result').dataset.result`),
	)
	d := delta(before, metrics(t, s))

	var got struct {
		Sent, OK, Refreshes int
		Errors              []string
	}
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `document.getElementById('burst-result').dataset.result`)), &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("page: %+v; server: %v", got, d)
	if got.Sent != 20 || got.OK != 20 || len(got.Errors) != 0 {
		t.Errorf("the page saw %d of %d requests succeed (errors %v), want 20 of 20", got.OK, got.Sent, got.Errors)
	}
	for _, c := range []struct {
		metric string
		want   float64
	}{
		{requests("GET /v1/me", 401), 20},            // every first try met the expired token
		{requests("POST /v1/token/refresh", 200), 1}, // one refresh for all of them
		{`wxauth_refreshes_total{outcome="ok"}`, 1},
		{requests("GET /v1/me", 200), 20}, // each replayed once, successfully
	} {
		if d[c.metric] != c.want {
			t.Errorf("%s went up by %v, want %v", c.metric, d[c.metric], c.want)
		}
	}
	var refreshCalls, refreshes, meCalls float64
	for k, v := range d {
		switch {
		case strings.HasPrefix(k, `wxauth_http_requests_total{route="POST /v1/token/refresh"`):
			refreshCalls += v
		case strings.HasPrefix(k, "wxauth_refreshes_total"):
			refreshes += v
		case strings.HasPrefix(k, `wxauth_http_requests_total{route="GET /v1/me"`):
			meCalls += v
		case strings.HasPrefix(k, "wxauth_http_requests_total"):
			t.Errorf("unexpected request during the burst: %s +%v", k, v)
		}
	}
	if refreshCalls != 1 || refreshes != 1 || meCalls != 40 {
		t.Errorf("during the burst: %v refresh calls, %v refreshes, %v GET /v1/me; want 1, 1 and 40 (20 tries, 20 replays)", refreshCalls, refreshes, meCalls)
	}
	if tok := eval[string](t, ctx, `localStorage.getItem('wxauth.access_token') ?? ''`); tok == "" || tok == oldAccess {
		t.Error("after the burst localStorage does not hold the refreshed access token")
	}
}

// requests names the request counter of one route and status in /metrics.
func requests(route string, status int) string {
	return fmt.Sprintf(`wxauth_http_requests_total{route=%q,status="%d"}`, route, status)
}

// metrics reads the server's wxauth_* counters from /metrics.
func metrics(t *testing.T, s *servertest.Server) map[string]float64 {
	t.Helper()
	resp, err := s.HTTP.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ') // label values hold spaces: "GET /v1/me"
		if i < 0 || !strings.HasPrefix(line, "wxauth_") || strings.Contains(line, "_seconds") {
			continue
		}
		name, value := line[:i], line[i+1:]
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m
}

// delta is what changed between two metrics snapshots, non-zero only.
func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if c := v - before[k]; c != 0 {
			d[k] = c
		}
	}
	return d
}
