package wechat_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// pngHead is a PNG signature: what WeChat's picture answers start with.
var pngHead = []byte("\x89PNG\r\n\x1a\n")

func TestWxaCodeUnlimitAnswers(t *testing.T) {
	big := append(append([]byte{}, pngHead...), bytes.Repeat([]byte{0}, 3<<20)...)
	for _, tc := range []struct {
		name        string
		contentType string
		body        []byte
		want        error // nil: the body is the picture
		errcode     int
	}{
		{"picture", "image/jpeg", append(append([]byte{}, pngHead...), 1, 2, 3), nil, 0},
		{"picture without a content type", "", append(append([]byte{}, pngHead...), 4), nil, 0},
		{"error as application/json", "application/json; charset=UTF-8", []byte(`{"errcode":41030,"errmsg":"invalid page rid: x"}`), wechat.ErrConfiguration, 41030},
		// The Content-Type lies: the body says it is JSON.
		{"error labelled as a picture", "image/jpeg", []byte(`{"errcode":40001,"errmsg":"invalid credential"}`), wechat.ErrTokenInvalid, 40001},
		{"error as text/plain", "text/plain", []byte(` {"errcode":40169,"errmsg":"invalid length for scene"}`), wechat.ErrInvalidRequest, 40169},
		{"rate limited", "application/json", []byte(`{"errcode":45009,"errmsg":"reach max api daily quota limit"}`), wechat.ErrRateLimited, 45009},
		{"JSON success without a picture", "application/json", []byte(`{"errcode":0,"errmsg":"ok"}`), wechat.ErrUnexpectedResponse, 0},
		{"empty", "image/jpeg", nil, wechat.ErrUnexpectedResponse, 0},
		{"too large", "image/jpeg", big, wechat.ErrUnexpectedResponse, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/wxa/getwxacodeunlimit" || r.URL.Query().Get("access_token") != "tok" {
					t.Errorf("request %s %s", r.Method, r.URL)
				}
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					t.Errorf("body: %v", err)
				}
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				} else {
					w.Header()["Content-Type"] = nil
				}
				w.Write(tc.body)
			}))
			defer srv.Close()
			c, err := wechat.New(wechat.Config{APIBase: srv.URL, RetryBackoff: 1})
			if err != nil {
				t.Fatal(err)
			}
			no := false
			pic, err := c.WxaCodeUnlimit(t.Context(), "tok", wechat.WxaCodeRequest{Scene: "abc", Page: "pages/qr/index", CheckPath: &no, Width: 280})
			if tc.want == nil {
				if err != nil || !bytes.Equal(pic, tc.body) {
					t.Fatalf("WxaCodeUnlimit = %d bytes, %v; want the %d bytes answered", len(pic), err, len(tc.body))
				}
			} else {
				var ae *wechat.APIError
				if !errors.Is(err, tc.want) || (tc.errcode != 0 && (!errors.As(err, &ae) || ae.Code != tc.errcode)) {
					t.Fatalf("WxaCodeUnlimit = %v, want %v (errcode %d)", err, tc.want, tc.errcode)
				}
				if pic != nil {
					t.Errorf("a picture came with the error")
				}
				if strings.Contains(err.Error(), "tok") {
					t.Errorf("the access token shows in %q", err)
				}
			}
			if got["scene"] != "abc" || got["page"] != "pages/qr/index" || got["check_path"] != false || got["width"] != 280.0 {
				t.Errorf("body sent = %v", got)
			}
		})
	}
}

func TestWxaCodeUnlimitRefusesEmpty(t *testing.T) {
	c, err := wechat.New(wechat.Config{APIBase: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tok, scene string }{{"", "abc"}, {"tok", ""}} {
		if _, err := c.WxaCodeUnlimit(t.Context(), tc.tok, wechat.WxaCodeRequest{Scene: tc.scene}); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("WxaCodeUnlimit(%q, %q) = %v, want ErrInvalidRequest", tc.tok, tc.scene, err)
		}
	}
}

// Against the sandbox: a picture for a good request, WeChat's errcodes
// classified for bad ones, and a refused token read as ErrTokenInvalid.
func TestWxaCodeUnlimitAgainstSandbox(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret", Pages: []string{"pages/qr/index"}},
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
	tok, err := c.Token(t.Context(), "wxmp", "mp-secret")
	if err != nil {
		t.Fatal(err)
	}
	pic, err := c.WxaCodeUnlimit(t.Context(), tok.Token, wechat.WxaCodeRequest{Scene: "abc123", Page: "pages/qr/index"})
	if err != nil || !bytes.HasPrefix(pic, pngHead) {
		t.Fatalf("WxaCodeUnlimit = %d bytes, %v; want a PNG", len(pic), err)
	}
	if _, _, err := sb.ScanMiniProgramCode("wxmp", "alice", "abc123"); err != nil {
		t.Errorf("the sandbox cannot scan the code it drew: %v", err)
	}
	for _, tc := range []struct {
		name string
		tok  string
		req  wechat.WxaCodeRequest
		want error
	}{
		{"scene refused", tok.Token, wechat.WxaCodeRequest{Scene: "a b"}, wechat.ErrInvalidRequest},
		{"page not published", tok.Token, wechat.WxaCodeRequest{Scene: "a", Page: "pages/nope"}, wechat.ErrConfiguration},
		{"token refused", "not-a-token", wechat.WxaCodeRequest{Scene: "a"}, wechat.ErrTokenInvalid},
	} {
		if _, err := c.WxaCodeUnlimit(t.Context(), tc.tok, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: WxaCodeUnlimit = %v, want %v", tc.name, err, tc.want)
		}
	}
}
