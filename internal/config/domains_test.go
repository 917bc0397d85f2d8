package config

import (
	"strings"
	"testing"
)

// apps[].domains is a YAML list (or a comma-separated string) of host
// names; anything else is named with its line.
func TestParseDomains(t *testing.T) {
	c := Defaults()
	err := c.Parse([]byte(`apps:
  - {name: oa, kind: official_account, appid: wx1, secret: s, domains: [h5.example.com, m.example.com]}
  - {name: web, kind: website, appid: wx2, secret: s, domains: "www.example.com, example.com"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apps[0].Domains; len(got) != 2 || got[0] != "h5.example.com" || got[1] != "m.example.com" {
		t.Errorf("oa domains = %q", got)
	}
	if got := c.Apps[1].Domains; len(got) != 2 || got[0] != "www.example.com" || got[1] != "example.com" {
		t.Errorf("web domains = %q", got)
	}

	c = Defaults()
	c.Secret = strings.Repeat("s", 32)
	c.DatabaseURL = "sqlite:x"
	c.Issuer = "https://auth.example.com"
	if err := c.Parse([]byte(`apps:
  - name: oa
    kind: official_account
    appid: wx1
    secret: s
    domains:
      - h5.example.com:8080
      - https://m.example.com
  - {name: mp, kind: miniprogram, appid: wx2, secret: s, domains: [a.example.com]}
`)); err != nil {
		t.Fatal(err)
	}
	msg := c.Validate(true).Error()
	for _, want := range []string{`apps[0].domains[0]: "h5.example.com:8080" is not a host name`, "(line 7)", `apps[0].domains[1]: "https://m.example.com"`, "(line 8)",
		"apps[1].domains: only official_account and website apps have domains (line 9)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Validate = %s\nwant %q", msg, want)
		}
	}
}

// Under serve every browser app needs its domains, and every redirect must
// be one WeChat returns to: the default port, a host registered for one of
// the browser apps. The problems name the app and the redirect.
func TestCheckWeChatDomains(t *testing.T) {
	apps := func(oa, web []string) []App {
		return []App{
			{Name: "mp", Kind: "miniprogram", AppID: "wx0", Secret: "s"},
			{Name: "oa", Kind: "official_account", AppID: "wx1", Secret: "s", Domains: oa},
			{Name: "web", Kind: "website", AppID: "wx2", Secret: "s", Domains: web},
		}
	}
	for _, tc := range []struct {
		name      string
		apps      []App
		redirects []string
		want      []string // in the error, in order; none: no error
	}{
		{"fine", apps([]string{"h5.example.com"}, []string{"www.example.com"}),
			[]string{"https://h5.example.com/", "https://www.example.com/login/", "http://h5.example.com:80/x", "https://www.example.com:443/"}, nil},
		{"mini programs only", []App{{Name: "mp", Kind: "miniprogram"}}, []string{"http://127.0.0.1:8080/"}, nil},
		{"no domains", apps(nil, []string{"www.example.com"}), []string{"https://www.example.com/"},
			[]string{`apps[1].domains: app "oa" (official_account) needs the domains`}},
		{"port", apps([]string{"h5.example.com"}, []string{"www.example.com"}), []string{"https://h5.example.com:8443/"},
			[]string{`redirects[0]: "https://h5.example.com:8443/": WeChat returns only to the default port`, "oa (domains: h5.example.com)"}},
		{"https on 80", apps([]string{"h5.example.com"}, nil), []string{"https://h5.example.com:80/"},
			[]string{"apps[2].domains", "redirects[0]", "port 80"}},
		{"host of no app", apps([]string{"h5.example.com"}, []string{"www.example.com"}), []string{"https://h5.example.com/", "https://example.com/", "https://m.h5.example.com/"},
			[]string{`redirects[1]: "https://example.com/": host example.com is a domain of none of the apps`, `redirects[2]: "https://m.h5.example.com/"`}},
		{"dev origin", apps([]string{"h5.example.com"}, []string{"www.example.com"}), []string{"http://127.0.0.1:8080/"},
			[]string{`redirects[0]: "http://127.0.0.1:8080/"`, "port 8080"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			c.Apps, c.Redirects = tc.apps, tc.redirects
			err := c.CheckWeChatDomains()
			if tc.want == nil {
				if err != nil {
					t.Errorf("CheckWeChatDomains = %v, want nil", err)
				}
				return
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			at := 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("CheckWeChatDomains = %q\nwant %q (after offset %d)", msg, w, at)
				}
				at += i
			}
		})
	}
}
