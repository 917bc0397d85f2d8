package wechat_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/wechat"
)

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ShowQRCode against fakes of mp.weixin.qq.com: a picture, WeChat's 404
// for a bad ticket, a JSON errcode, and answers that are not pictures.
func TestShowQRCode(t *testing.T) {
	pic := jpegBytes(t)
	const ticket = "gQ+/a=="
	for _, tc := range []struct {
		name    string
		status  int
		body    []byte
		want    error
		wantPic bool
	}{
		{"picture", 200, pic, nil, true},
		{"bad ticket", 404, nil, wechat.ErrUnavailable, false},
		{"errcode", 200, []byte(`{"errcode":40001,"errmsg":"invalid credential"}`), wechat.ErrTokenInvalid, false},
		{"json without errcode", 200, []byte(`{"ok":true}`), wechat.ErrUnexpectedResponse, false},
		{"html", 200, []byte("<html>hello</html>"), wechat.ErrUnexpectedResponse, false},
		{"too large", 200, append(bytes.Clone(pic), make([]byte, 1<<20)...), wechat.ErrUnexpectedResponse, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotTicket string
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/cgi-bin/showqrcode" {
					t.Errorf("path %s", r.URL.Path)
				}
				gotTicket = r.URL.Query().Get("ticket")
				w.WriteHeader(tc.status)
				w.Write(tc.body)
			}))
			defer hs.Close()
			c, err := wechat.New(wechat.Config{MPBase: hs.URL})
			if err != nil {
				t.Fatal(err)
			}
			img, err := c.ShowQRCode(t.Context(), ticket)
			if gotTicket != ticket {
				t.Errorf("ticket arrived as %q, want %q (URL-encoded on the way)", gotTicket, ticket)
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) || img != nil {
					t.Fatalf("ShowQRCode = %d bytes, %v; want %v", len(img), err, tc.want)
				}
				if strings.Contains(err.Error(), ticket) {
					t.Errorf("error %q quotes the ticket", err)
				}
				return
			}
			if err != nil || !bytes.Equal(img, pic) {
				t.Fatalf("ShowQRCode = %d bytes, %v", len(img), err)
			}
		})
	}
	c, _ := wechat.New(wechat.Config{})
	if _, err := c.ShowQRCode(t.Context(), ""); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Fatalf("empty ticket = %v", err)
	}
}

// CreateQRCode sends WeChat's body and refuses bad arguments before any call.
func TestCreateQRCode(t *testing.T) {
	var body string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		if r.URL.Query().Get("access_token") != "TOKEN" || r.Method != http.MethodPost {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		io.WriteString(w, `{"ticket":"gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==","expire_seconds":60,"url":"http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI"}`)
	}))
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	qr, err := c.CreateQRCode(t.Context(), "TOKEN", wechat.QRCodeRequest{SceneStr: "abc", ExpireSeconds: 60})
	if err != nil || qr.ExpireSeconds != 60 || qr.URL != "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI" || !strings.HasPrefix(qr.Ticket, "gQH47") {
		t.Fatalf("CreateQRCode = %+v, %v", qr, err)
	}
	if want := `{"action_info":{"scene":{"scene_str":"abc"}},"action_name":"QR_STR_SCENE","expire_seconds":60}`; body != want {
		t.Errorf("body %s, want %s", body, want)
	}
	for _, req := range []wechat.QRCodeRequest{{SceneStr: "", ExpireSeconds: 60}, {SceneStr: strings.Repeat("a", 65), ExpireSeconds: 60},
		{SceneStr: "a", ExpireSeconds: 0}, {SceneStr: "a", ExpireSeconds: wechat.MaxQRCodeExpire + 1}} {
		if _, err := c.CreateQRCode(t.Context(), "TOKEN", req); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("CreateQRCode(%+v) = %v, want ErrInvalidRequest", req, err)
		}
	}
	if _, err := c.CreateQRCode(t.Context(), "", wechat.QRCodeRequest{SceneStr: "a", ExpireSeconds: 1}); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("empty token = %v", err)
	}
}
