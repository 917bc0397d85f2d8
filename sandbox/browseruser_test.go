package sandbox

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// phone is a browser with a cookie jar, as WeChat's in-app browser on one
// phone: it keeps the sandbox's current-user cookie between requests.
type phone struct {
	t *testing.T
	e *env
	c *http.Client
}

func newPhone(t *testing.T, e *env) *phone {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &phone{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (p *phone) do(method, pathQuery string) page {
	p.t.Helper()
	req, err := http.NewRequestWithContext(p.t.Context(), method, p.e.srv.URL+pathQuery, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("User-Agent", wechatUA)
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(raw)}
}

// The browser's current user gets snsapi_base at once, as the phone's
// WeChat account does; snsapi_userinfo still asks; without a current user
// every page asks; switching users switches the answer.
func TestBrowserUser(t *testing.T) {
	e := newOAuthEnv(t)
	p := newPhone(t, e)
	base := OpenPrefix + pathAuthorize + "?" + authorizeQuery(appOA, "https://app.example/cb", ScopeBase, "s1")
	userinfo := OpenPrefix + pathAuthorize + "?" + authorizeQuery(appOA, "https://app.example/cb", ScopeUserInfo, "s2")

	if r := p.do("GET", base); r.status != http.StatusOK || !strings.Contains(r.body, `id="allow-alice"`) {
		t.Fatalf("snsapi_base without a current user = %d, want the consent page", r.status)
	}
	if r := p.do("GET", ControlPrefix+"/browser/user?name=bob"); r.status != http.StatusOK || !strings.Contains(r.body, `data-user="bob"`) {
		t.Fatalf("set the current user to bob = %d %s", r.status, r.body)
	}
	r := p.do("GET", base)
	if r.status != http.StatusFound {
		t.Fatalf("snsapi_base as bob's browser = %d, want 302 at once", r.status)
	}
	back, _ := url.Parse(r.location)
	if got, want := e.codeOpenID(t, back.Query().Get("code")), openIDOf(e, "bob"); got != want {
		t.Errorf("the silent code is for openid %s, want bob's %s", got, want)
	}
	if r := p.do("GET", userinfo); r.status != http.StatusOK || !strings.Contains(r.body, `id="allow-bob"`) {
		t.Errorf("snsapi_userinfo as bob's browser = %d, want the consent page", r.status)
	}

	if r := p.do("POST", ControlPrefix+"/browser/user?name=alice"); r.status != http.StatusOK || !strings.Contains(r.body, `"name":"alice"`) {
		t.Fatalf("POST current user alice = %d %s", r.status, r.body)
	}
	r = p.do("GET", base)
	back, _ = url.Parse(r.location)
	if got, want := e.codeOpenID(t, back.Query().Get("code")), openIDOf(e, "alice"); got != want {
		t.Errorf("after the switch the silent code is for %s, want alice's %s", got, want)
	}

	if r := p.do("GET", ControlPrefix+"/browser/user?name=nobody"); r.status != http.StatusNotFound {
		t.Errorf("an unknown user = %d, want 404", r.status)
	}
	if r := p.do("GET", ControlPrefix+"/browser/user?name="); r.status != http.StatusOK || !strings.Contains(r.body, `data-user=""`) {
		t.Errorf("forget the user = %d %s", r.status, r.body)
	}
	if r := p.do("GET", base); r.status != http.StatusOK {
		t.Errorf("snsapi_base after forgetting = %d, want the consent page again", r.status)
	}
	if r := p.do("POST", ControlPrefix+"/browser/user"); r.status != http.StatusBadRequest {
		t.Errorf("POST without name = %d, want 400", r.status)
	}
}

// codeOpenID exchanges an Official Account code and answers its openid.
func (e *env) codeOpenID(t *testing.T, code string) string {
	t.Helper()
	a := e.get(t, oauthPath, oauthQuery(appOA, code))
	if a.code() != 0 {
		t.Fatalf("exchange: errcode %d %q", a.code(), a.Errmsg)
	}
	return a.OpenID
}

func openIDOf(e *env, name string) string {
	for _, u := range e.sb.Users() {
		if u.Name == name {
			return u.OpenIDs[appOA.AppID]
		}
	}
	return ""
}
