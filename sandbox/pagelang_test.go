package sandbox

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Accept-Language decides by q-value; WeChat's "Language/zh_CN" speaks when
// the header names neither language.
func TestPageLang(t *testing.T) {
	for _, tt := range []struct{ accept, ua, want string }{
		{"", "", langEN},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", langZH},
		{"zh-TW", "", langZH},
		{"zh", "", langZH},
		{"en-US,en;q=0.9,zh-CN;q=0.8", "", langEN},
		{"en;q=0.5,zh;q=0.8", "", langZH},
		{"fr-FR,zh-CN;q=0.7,en;q=0.5", "", langZH},
		{"fr-FR", "", langEN},
		{"de", wechatUA, langZH},
		{"", wechatUA, langZH},
		{"en", wechatUA, langEN},
		{"not a;;header", "", langEN},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tt.accept)
		r.Header.Set("User-Agent", tt.ua)
		if got := pageLang(r); got != tt.want {
			t.Errorf("pageLang(Accept-Language %q, UA %q) = %s, want %s", tt.accept, tt.ua, got, tt.want)
		}
	}
}

// Every page word exists in both languages.
func TestPageMessagesComplete(t *testing.T) {
	for key := range pageMessages[langEN] {
		if pageMessages[langZH][key] == "" {
			t.Errorf("pageMessages[zh] lacks %q", key)
		}
	}
	for key := range pageMessages[langZH] {
		if pageMessages[langEN][key] == "" {
			t.Errorf("pageMessages[en] lacks %q", key)
		}
	}
	for code := range pageErrmsgs {
		if pageErrmsgsZH[code] == "" {
			t.Errorf("pageErrmsgsZH lacks %d", code)
		}
	}
}

var hanPattern = regexp.MustCompile(`\p{Han}`)

// A browser asking for Chinese reads the consent and error pages in
// Chinese, with lang="zh-CN".
func TestPagesInChinese(t *testing.T) {
	e := newOAuthEnv(t)
	get := func(query string) page {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+OpenPrefix+pathAuthorize+"?"+query, nil)
		req.Header.Set("User-Agent", wechatUA)
		req.Header.Set("Accept-Language", "zh-CN,zh;q=0.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return page{status: resp.StatusCode, body: b.String()}
	}
	p := get(authorizeQuery(appOA, "https://app.example/cb", ScopeUserInfo, "s1"))
	for _, want := range []string{`<html lang="zh-CN">`, ">以 Alice 的身份允许</button>", ">拒绝</button>", pageMessages[langZH]["lead_userinfo"]} {
		if !strings.Contains(p.body, want) {
			t.Errorf("Chinese consent page lacks %q", want)
		}
	}
	p = get(authorizeQuery(appOA, "https://elsewhere.example/cb", ScopeUserInfo, "s1"))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, pageErrmsgsZH[10003]) || !strings.Contains(p.body, pageMessages[langZH]["error_meta"]) {
		t.Errorf("Chinese error page = %d, lacks its Chinese words:\n%s", p.status, p.body)
	}
	if !hanPattern.MatchString(p.body) {
		t.Errorf("no Chinese on the Chinese error page")
	}
}
