package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// phoneWidth is the narrowest common phone viewport, in CSS pixels.
const phoneWidth = 360

// layoutProblems lists, in the page, what a 360-pixel phone would show
// cut off: a page wider than the viewport, a visible control whose box
// leaves it, a button or label whose text does not fit its box.
const layoutProblems = `(() => {
	const vw = 360, out = []
	const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + el.textContent.trim().slice(0, 30) + '"'
	const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden' }
	const sw = document.scrollingElement.scrollWidth
	if (sw > vw) out.push('the page is ' + sw + ' px wide')
	for (const el of document.querySelectorAll('button, input, select, textarea, a')) {
		if (!shown(el)) continue
		const r = el.getBoundingClientRect()
		if (r.left < 0 || r.right > vw + 0.5) out.push(name(el) + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' px')
	}
	for (const el of document.querySelectorAll('button, label')) {
		if (shown(el) && el.scrollWidth > el.clientWidth + 1) out.push(name(el) + ' text overflows: ' + el.scrollWidth + ' > ' + el.clientWidth)
	}
	return out
})()`

// i18nProblems lists, on the demo page, keys missing from one of i18n.js's
// tables and data-i18n names no table has.
const i18nProblems = `import('./i18n.js').then(({ messages }) => {
	const out = []
	const en = Object.keys(messages.en), zh = Object.keys(messages.zh)
	for (const k of en) if (!(k in messages.zh)) out.push('zh lacks ' + k)
	for (const k of zh) if (!(k in messages.en)) out.push('en lacks ' + k)
	for (const el of document.querySelectorAll('[data-i18n]')) if (!(el.dataset.i18n in messages.en)) out.push('no words for data-i18n=' + el.dataset.i18n)
	return out
})`

// speaks lists the elements (CSS selectors) whose text is not in the
// page's language: Han characters for Chinese, none for English.
func speaks(zh bool, selectors ...string) string {
	return `(() => {
		const zh = ` + map[bool]string{true: "true", false: "false"}[zh] + `, out = []
		for (const sel of ` + jsString(strings.Join(selectors, "|")) + `.split('|')) {
			const el = document.querySelector(sel)
			if (!el) { out.push(sel + ' is missing'); continue }
			const text = el.textContent.trim()
			if (/\p{Script=Han}/u.test(text) !== zh) out.push(sel + ' says ' + JSON.stringify(text))
		}
		return out
	})()`
}

// TestPhoneLayout: the demo page (login, profile, bind) and the sandbox's
// consent and error pages at 360 px wide, in Chinese and in English as the
// browser asks (Accept-Language and navigator.language, through DevTools'
// override; WeChat's User-Agent names the language too). Each page is
// screenshot into $WXAUTH_SCREENSHOT_DIR (else a temporary directory) and
// checked: nothing cut off (layoutProblems), the main words in the page's
// language, both word tables complete.
func TestPhoneLayout(t *testing.T) {
	for _, tt := range []struct {
		name, accept, uaLang string
		zh                   bool
	}{
		{"zh-CN", "zh-CN,zh;q=0.9", "zh_CN", true},
		{"en-US", "en-US,en;q=0.9", "en", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := os.Getenv("WXAUTH_SCREENSHOT_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			ctx := newBrowser(t)
			ua := strings.Replace(wechatUA, "Language/zh_CN", "Language/"+tt.uaLang, 1)
			do(t, ctx, "emulate a 360-pixel phone",
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: tt.accept})
					return err
				}),
				chromedp.EmulateViewport(phoneWidth, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait))
			check := func(what, file string, words ...string) {
				t.Helper()
				shot(t, ctx, filepath.Join(dir, tt.name+"-"+file))
				for _, p := range eval[[]string](t, ctx, layoutProblems) {
					t.Errorf("%s at %d px: %s", what, phoneWidth, p)
				}
				for _, p := range eval[[]string](t, ctx, speaks(tt.zh, words...)) {
					t.Errorf("%s in %s: %s", what, tt.name, p)
				}
			}

			s := servertest.New(t)
			do(t, ctx, "open the demo page", chromedp.Navigate(s.URL+"/demo/"), chromedp.WaitVisible(chromedp.ID("login")))
			if want := map[bool]string{true: "zh-CN", false: "en"}[tt.zh]; eval[string](t, ctx, `document.documentElement.lang`) != want {
				t.Errorf("the demo page's lang = %q, want %s", eval[string](t, ctx, `document.documentElement.lang`), want)
			}
			for _, p := range evalPromise[[]string](t, ctx, i18nProblems) {
				t.Errorf("i18n.js: %s", p)
			}
			check("the demo's login view", "demo-login.png", "#login", "#login-view h2", "label[for=app]", "header h1")

			do(t, ctx, "open the consent page", chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("allow-alice")))
			check("the consent page", "consent.png", "#deny", "#allow-alice", "#lead", ".tag")

			do(t, ctx, "allow as alice", chromedp.Click(chromedp.ID("allow-alice")), chromedp.WaitVisible(chromedp.ID("profile-view")), textIs("profile-nickname", "Alice"))
			check("the demo's profile", "demo-profile.png", "#logout", "#burst", "dt", "#sessions th")

			do(t, ctx, "open a wrong authorization link", chromedp.Navigate(s.URL+"/sandbox/open/connect/oauth2/authorize?appid=wx0000000000000000&redirect_uri=x"), chromedp.WaitVisible(chromedp.ID("error")))
			check("the sandbox's error page", "error.png", "#error", ".tag", ".meta")

			b := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
			do(t, ctx, "open the demo page of a bind_phone server", chromedp.Navigate(b.URL+"/demo/"))
			loginAs(t, ctx, "alice")
			do(t, ctx, "the bind page", chromedp.WaitVisible(chromedp.ID("bind-view")))
			check("the demo's bind page", "demo-bind.png", "#send-code", "#bind", "#bind-view h2", "label[for=bind-phone]")
			t.Logf("screenshots in %s", dir)
		})
	}
}

// shot writes a full-page PNG of the tab to path.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// evalPromise evaluates a JavaScript expression whose value is a promise
// and answers what it resolves to.
func evalPromise[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v\n%s", expr, err, pageState(ctx))
	}
	return v
}
