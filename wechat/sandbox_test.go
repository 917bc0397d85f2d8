package wechat_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// The client and the sandbox were each written from WeChat's reference, not
// from each other; here they check each other over real HTTP.
func TestAgainstSandbox(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
		{Name: "mp2", Kind: sandbox.KindMiniProgram, AppID: "wxmp2", Secret: "mp2-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	code, _ := sb.IssueCode("wxmp", "alice")
	s, err := c.Code2Session(ctx, "wxmp", "mp-secret", code)
	if err != nil {
		t.Fatalf("Code2Session = %v", err)
	}
	if s.SessionKey != sb.SessionKey("wxmp", "alice") || s.OpenID == "" || s.UnionID == "" {
		t.Errorf("Code2Session = %#v", s)
	}
	other, _ := sb.IssueCode("wxmp2", "alice")
	fresh := func() string { c, _ := sb.IssueCode("wxmp", "bob"); return c }
	for _, tc := range []struct {
		name, appID, secret, code string
		want                      error
		errcode                   int
	}{
		{"reused code", "wxmp", "mp-secret", code, wechat.ErrInvalidCode, 40163},
		{"unknown code", "wxmp", "mp-secret", "0712cDoV0cfty22AeloV0daMoV02cDog", wechat.ErrInvalidCode, 40029},
		{"another app's code", "wxmp", "mp-secret", other, wechat.ErrInvalidCode, 40029},
		{"wrong secret", "wxmp", "nope", fresh(), wechat.ErrBadCredential, 40125},
		{"unknown appid", "wxnope", "mp-secret", fresh(), wechat.ErrBadCredential, 40013},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Code2Session(ctx, tc.appID, tc.secret, tc.code)
			var ae *wechat.APIError
			if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Code != tc.errcode {
				t.Errorf("Code2Session = %v, want %v with errcode %d", err, tc.want, tc.errcode)
			}
		})
	}
	sb.InjectFault(sandbox.Fault{Path: "/sns/jscode2session", Errcode: -1})
	if _, err := c.Code2Session(ctx, "wxmp", "mp-secret", fresh()); !errors.Is(err, wechat.ErrBusy) || !wechat.Temporary(err) {
		t.Errorf("Code2Session under fault -1 = %v, want ErrBusy", err)
	}
	sb.InjectFault(sandbox.Fault{Path: "/sns/jscode2session", Status: 502})
	if _, err := c.Code2Session(ctx, "wxmp", "mp-secret", fresh()); !errors.Is(err, wechat.ErrUnavailable) {
		t.Errorf("Code2Session under HTTP 502 = %v, want ErrUnavailable", err)
	}
}
