package login

import (
	"errors"
	"testing"
)

// An Official Account's page opens only inside WeChat (reference §5.1):
// from another browser the one website app stands in, else
// ErrWeChatClientRequired.
func TestBrowserApp(t *testing.T) {
	const desktop = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"
	oa := App{Name: "oa", Kind: KindOfficialAccount, AppID: "wxoa"}
	oa2 := App{Name: "oa2", Kind: KindOfficialAccount, AppID: "wxoa2"}
	web := App{Name: "web", Kind: KindWebsite, AppID: "wxweb"}
	web2 := App{Name: "web2", Kind: KindWebsite, AppID: "wxweb2"}
	for _, tc := range []struct {
		name    string
		apps    []App
		app, ua string
		want    string
		wantErr error
	}{
		{"oa in WeChat", []App{oa, web}, "oa", wechatUA, "oa", nil},
		{"oa on a desktop: the website app", []App{oa, web}, "oa", desktop, "web", nil},
		{"oa with no User-Agent: the website app", []App{oa, web}, "oa", "", "web", nil},
		{"oa on a desktop, no website app", []App{oa}, "oa", desktop, "", ErrWeChatClientRequired},
		{"oa on a desktop, two website apps", []App{oa, web, web2}, "oa", desktop, "", ErrWeChatClientRequired},
		{"web on a desktop", []App{oa, web}, "web", desktop, "web", nil},
		{"web in WeChat", []App{oa, web}, "web", wechatUA, "web", nil},
		{"no app in WeChat", []App{oa, web}, "", wechatUA, "oa", nil},
		{"no app on a desktop", []App{oa, web}, "", desktop, "web", nil},
		{"no app in WeChat, two accounts", []App{oa, oa2, web}, "", wechatUA, "", ErrUnknownApp},
		{"unknown app", []App{oa, web}, "nope", desktop, "", ErrUnknownApp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps, err := NewApps(tc.apps)
			if err != nil {
				t.Fatal(err)
			}
			s := &Service{apps: apps}
			got, err := s.browserApp(tc.app, tc.ua)
			if got.Name != tc.want || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("browserApp(%q, %q) = %q, %v; want %q, %v", tc.app, tc.ua, got.Name, err, tc.want, tc.wantErr)
			}
		})
	}
}

// WeChat returns the browser only to the app's registered domains, exactly
// (reference §5.1, §6); an app without domains is not checked here.
func TestOnDomain(t *testing.T) {
	oa := App{Name: "oa", Kind: KindOfficialAccount, Domains: []string{"h5.example.com"}}
	for _, tc := range []struct {
		app  App
		uri  string
		want bool
	}{
		{oa, "https://h5.example.com/login/", true},
		{oa, "https://H5.Example.com/login/", true},
		{oa, "https://h5.example.com:8443/login/", true}, // ports: the start-up check's and the sandbox's
		{oa, "https://m.h5.example.com/", false},
		{oa, "https://example.com/", false},
		{oa, "https://h5.example.com.evil.test/", false},
		{App{Name: "web", Kind: KindWebsite}, "https://anything.example/", true},
	} {
		if got := onDomain(tc.app, tc.uri); got != tc.want {
			t.Errorf("onDomain(%v, %q) = %v, want %v", tc.app.Domains, tc.uri, got, tc.want)
		}
	}
}
