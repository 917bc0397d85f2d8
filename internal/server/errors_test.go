package server

import (
	"fmt"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/wechat"
)

// Every errcode WeChat can answer becomes a contract error, never a 500.
func TestWeChatErrcodesNever500(t *testing.T) {
	for _, code := range []int{-1, 40001, 40003, 40013, 40029, 40030, 40125, 40163, 40226, 41008, 42001, 42002,
		45009, 45011, 47001, 48001, 87009, 99999, 40164, 61004, 89501, 89503, 89506, 89507, 48004, 48017, 50004, 50007, 61024} {
		for _, endpoint := range []string{"/sns/jscode2session", "/sns/userinfo", "/sns/oauth2/access_token",
			"/sns/oauth2/refresh_token", "/wxa/business/getuserphonenumber", "/cgi-bin/stable_token"} {
			err := fmt.Errorf("wrapped: %w", &wechat.APIError{Endpoint: endpoint, Code: code, Msg: "x"})
			e, _ := translate(err)
			if e.Status >= 500 && e.Code != api.CodeWeChatUnavailable {
				t.Errorf("errcode %d on %s → %d %s", code, endpoint, e.Status, e.Code)
			}
			if e.WeChatErrcode == nil || *e.WeChatErrcode != code {
				t.Errorf("errcode %d on %s: wechat_errcode = %v", code, endpoint, e.WeChatErrcode)
			}
		}
	}
}
