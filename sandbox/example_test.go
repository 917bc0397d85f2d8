package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

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
	fmt.Println(sb.Stats())
	// Output:
	// 0 true true
	// 40163 false false
	// map[/sns/jscode2session:2]
}
