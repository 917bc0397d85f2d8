package sandbox

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/qrtest"
)

const wxaCodePath = "/wxa/getwxacodeunlimit"

// postWxaCode calls getwxacodeunlimit and returns the picture, or the
// errcode of a JSON answer.
func (e *env) postWxaCode(t *testing.T, tok, body string) ([]byte, int) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+APIPrefix+wxaCodePath+"?"+tokenQuery(tok).Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") == "image/png" {
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b, 0
	}
	return nil, readAnswer(t, resp).code()
}

// getUnlimitedQRCode: a real QR code carrying the scene; then the scan
// control gives the page and a working wx.login code.
func TestWxaCodeUnlimit(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Apps[1].Pages = []string{"pages/index/index", "pages/qr/login"}
	})
	tok := e.appToken(t, appA)
	png, code := e.postWxaCode(t, tok, `{"scene":"Ab9-x.y~z!#$&'()*+,/:;=?@_","page":"pages/qr/login","check_path":false,"width":280}`)
	if code != 0 {
		t.Fatalf("getwxacodeunlimit: errcode %d", code)
	}
	content := qrtest.Read(t, png)
	u, err := url.Parse(content)
	if err != nil || !strings.HasPrefix(content, wxaCodeContentPrefix) {
		t.Fatalf("QR code reads %q, want %s…", content, wxaCodeContentPrefix)
	}
	if q := u.Query(); q.Get("scene") != "Ab9-x.y~z!#$&'()*+,/:;=?@_" || q.Get("appid") != appA.AppID || q.Get("page") != "pages/qr/login" {
		t.Errorf("QR code carries %v", q)
	}
	page, wxcode, err := e.sb.ScanMiniProgramCode(appA.AppID, "alice", "Ab9-x.y~z!#$&'()*+,/:;=?@_")
	if err != nil || page != "pages/qr/login" || wxcode == "" {
		t.Fatalf("Scan = %q, %q, %v", page, wxcode, err)
	}
	if a := e.get(t, "/sns/jscode2session", url.Values{"appid": {appA.AppID}, "secret": {appA.Secret}, "js_code": {wxcode}, "grant_type": {"authorization_code"}}); a.code() != 0 || a.OpenID != openID(appA.AppID, "alice") {
		t.Errorf("the scan's code: jscode2session errcode %d, openid %q", a.code(), a.OpenID)
	}

	var scan struct{ Scene, Page, Code string }
	if st := e.control(t, "POST", "/miniprogram/scan", map[string]string{"appid": appA.AppID, "user": "bob", "scene": "Ab9-x.y~z!#$&'()*+,/:;=?@_"}, &scan); st != 200 || scan.Code == "" || scan.Page != "pages/qr/login" {
		t.Errorf("POST /miniprogram/scan = %d %+v", st, scan)
	}
	for name, body := range map[string]map[string]string{
		"never drawn":         {"appid": appA.AppID, "user": "bob", "scene": "nope"},
		"drawn for other app": {"appid": appB.AppID, "user": "bob", "scene": "Ab9-x.y~z!#$&'()*+,/:;=?@_"},
	} {
		if st := e.control(t, "POST", "/miniprogram/scan", body, nil); st != http.StatusNotFound {
			t.Errorf("scan %s = %d, want 404", name, st)
		}
	}

	tokB := e.appToken(t, appB)
	for _, tc := range []struct {
		name, tok, body string
		want            int
	}{
		{"no token", "", `{"scene":"a"}`, 41001},
		{"unknown token", "nope", `{"scene":"a"}`, 40001},
		{"official account", e.appToken(t, appOA), `{"scene":"a"}`, 48001},
		{"not JSON", tok, `scene=a`, 47001},
		{"no scene", tok, `{}`, 40169},
		{"scene too long", tok, `{"scene":"` + strings.Repeat("a", 33) + `"}`, 40169},
		{"scene with %", tok, `{"scene":"a%20b"}`, 40169},
		{"scene with Chinese", tok, `{"scene":"登录"}`, 40169},
		{"scene with a space", tok, `{"scene":"a b"}`, 40169},
		{"page with a slash", tok, `{"scene":"a","page":"/pages/index/index"}`, 41030},
		{"page with a query", tok, `{"scene":"a","page":"pages/index/index?x=1"}`, 41030},
		{"unpublished page", tokB, `{"scene":"a","page":"pages/other"}`, 41030},
		{"unpublished page, check_path true", tokB, `{"scene":"a","page":"pages/other","check_path":true}`, 41030},
		{"width too small", tok, `{"scene":"a","width":279}`, 40097},
		{"width too large", tok, `{"scene":"a","width":1281}`, 40097},
		{"env_version unknown", tok, `{"scene":"a","env_version":"beta"}`, 40097},
		{"32 characters", tok, `{"scene":"` + strings.Repeat("a", 32) + `"}`, 0},
		{"published page", tokB, `{"scene":"a","page":"pages/qr/login"}`, 0},
		{"unpublished page, check_path false", tokB, `{"scene":"a","page":"pages/other","check_path":false,"env_version":"develop"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := e.postWxaCode(t, tc.tok, tc.body); got != tc.want {
				t.Errorf("getwxacodeunlimit %s = errcode %d, want %d", tc.body, got, tc.want)
			}
		})
	}
	if _, got := e.postWxaCode(t, tok, `{"scene":"never"}`); got != 0 {
		t.Fatal(got)
	}
	e.clock.Advance(3 * time.Hour)
	if _, got := e.postWxaCode(t, tok, `{"scene":"a"}`); got != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", got)
	}
}
