package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/wxauth/wxauth/sandbox"
)

// A Mini Program login against the sandbox: the test plays wx.login() with
// IssueCode, then calls jscode2session as a backend would.
func Example() {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "shop", Kind: sandbox.KindMiniProgram, AppID: "wx00000000000000a1", Secret: "s3cret"},
	}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()

	code, err := sb.IssueCode("wx00000000000000a1", "alice")
	if err != nil {
		panic(err)
	}
	q := url.Values{"appid": {"wx00000000000000a1"}, "secret": {"s3cret"}, "js_code": {code}, "grant_type": {"authorization_code"}}
	for range 2 {
		resp, err := http.Get(srv.URL + "/sandbox/api/sns/jscode2session?" + q.Encode())
		if err != nil {
			panic(err)
		}
		var ans struct {
			Errcode    int    `json:"errcode"`
			OpenID     string `json:"openid"`
			SessionKey string `json:"session_key"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		fmt.Println(ans.Errcode, ans.OpenID == sb.Users()[0].OpenIDs["wx00000000000000a1"], ans.SessionKey == sb.SessionKey("wx00000000000000a1", "alice"))
	}
	fmt.Println(sb.Stats()["/sns/jscode2session"])
	// Output:
	// 0 true true
	// 40163 false false
	// 2
}

// The phone-number flow of a Mini Program: the backend fetches a stable app
// access token, then exchanges the code the getPhoneNumber button gave.
func ExampleSandbox_IssuePhoneCode() {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "shop", Kind: sandbox.KindMiniProgram, AppID: "wx00000000000000a1", Secret: "s3cret"},
	}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/sandbox/api/cgi-bin/stable_token", "application/json",
		strings.NewReader(`{"grant_type":"client_credential","appid":"wx00000000000000a1","secret":"s3cret"}`))
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	code, err := sb.IssuePhoneCode("wx00000000000000a1", "alice", "")
	if err != nil {
		panic(err)
	}
	for range 2 {
		resp, err := http.Post(srv.URL+"/sandbox/api/wxa/business/getuserphonenumber?access_token="+url.QueryEscape(tok.AccessToken),
			"application/json", strings.NewReader(`{"code":"`+code+`"}`))
		if err != nil {
			panic(err)
		}
		var ans struct {
			Errcode   int `json:"errcode"`
			PhoneInfo struct {
				PurePhoneNumber string `json:"purePhoneNumber"`
				CountryCode     string `json:"countryCode"`
			} `json:"phone_info"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		fmt.Printf("%d %q %q\n", ans.Errcode, ans.PhoneInfo.CountryCode, ans.PhoneInfo.PurePhoneNumber)
	}
	fmt.Println(tok.ExpiresIn)
	// Output:
	// 0 "86" "13800000001"
	// 40029 "" ""
	// 7200
}

// Official Account web OAuth against the sandbox: a script, naming itself
// WeChat's built-in browser, approves the authorize link as alice with sandbox_user, follows the 302 back to the
// app's redirect_uri, and the backend exchanges the code.
func ExampleSandbox_IssueOAuthCode() {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		// app.example is its web authorization domain, as registered on WeChat.
		{Name: "news", Kind: sandbox.KindOfficialAccount, AppID: "wx00000000000000d4", Secret: "s3cret", Domains: []string{"app.example"}},
	}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()

	link := srv.URL + "/sandbox/open/connect/oauth2/authorize?appid=wx00000000000000d4" +
		"&redirect_uri=" + url.QueryEscape("https://app.example/cb") +
		"&response_type=code&scope=snsapi_userinfo&state=abc123&sandbox_user=alice#wechat_redirect"
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	// The page opens only in WeChat's built-in browser.
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI")
	resp, err := noFollow.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println(resp.StatusCode, back.Host+back.Path, back.Query().Get("state"))

	// IssueOAuthCode mints the same kind of code without the page.
	for _, code := range []string{back.Query().Get("code"), must(sb.IssueOAuthCode("wx00000000000000d4", "snapshot", "snsapi_userinfo"))} {
		q := url.Values{"appid": {"wx00000000000000d4"}, "secret": {"s3cret"}, "code": {code}, "grant_type": {"authorization_code"}}
		resp, err := http.Get(srv.URL + "/sandbox/api/sns/oauth2/access_token?" + q.Encode())
		if err != nil {
			panic(err)
		}
		var ans struct {
			ExpiresIn      int    `json:"expires_in"`
			Scope          string `json:"scope"`
			UnionID        string `json:"unionid"`
			IsSnapshotUser int    `json:"is_snapshotuser"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		fmt.Println(ans.ExpiresIn, ans.Scope, ans.UnionID != "", ans.IsSnapshotUser)
	}
	// Output:
	// 302 app.example/cb abc123
	// 7200 snsapi_userinfo true 0
	// 7200 snsapi_userinfo true 1
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// When WeChat replaces a session_key: on each wx.login code by default,
// not more than once per MinRotation for an app that sets it.
func ExampleSessionKeyPolicy() {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "strict", Kind: sandbox.KindMiniProgram, AppID: "wx00000000000000a1", Secret: "s3cret"},
		{Name: "lenient", Kind: sandbox.KindMiniProgram, AppID: "wx00000000000000b2", Secret: "s3cret",
			SessionKey: &sandbox.SessionKeyPolicy{MinRotation: 10 * time.Minute}},
	}})
	if err != nil {
		panic(err)
	}
	for _, appID := range []string{"wx00000000000000a1", "wx00000000000000b2"} {
		sb.IssueCode(appID, "alice") // logged in
		before := sb.SessionKey(appID, "alice")
		sb.IssueCode(appID, "alice") // wx.login again, the code never exchanged
		fmt.Println(sb.SessionKey(appID, "alice") != before)
	}
	// Output:
	// true
	// false
}
