package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/qrtest"
)

// qrCreate calls POST /cgi-bin/qrcode/create with body.
func (e *env) qrCreate(t *testing.T, tok, body string) (answer, string, string) {
	t.Helper()
	a := e.post(t, pathQRCodeCreate, tokenQuery(tok), body)
	var ticket, qrURL string
	json.Unmarshal(a.fields["ticket"], &ticket)
	json.Unmarshal(a.fields["url"], &qrURL)
	return a, ticket, qrURL
}

// showQR fetches the picture of ticket.
func (e *env) showQR(t *testing.T, ticket string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + MPPrefix + pathShowQRCode + "?ticket=" + url.QueryEscape(ticket))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestQRCodeCreateAndShow(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appOA)
	a, ticket, qrURL := e.qrCreate(t, tok, `{"expire_seconds":120,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"abcDEF123"}}}`)
	if a.code() != 0 || !strings.HasPrefix(ticket, "gQ+/+/") || !strings.HasPrefix(qrURL, "http://weixin.qq.com/q/02") || string(a.fields["expire_seconds"]) != "120" {
		t.Fatalf("qrcode/create = %s", a.fields)
	}
	status, ct, png := e.showQR(t, ticket)
	if status != http.StatusOK || ct != "image/png" {
		t.Fatalf("showqrcode = %d %s", status, ct)
	}
	if got := qrtest.Read(t, png); got != qrURL {
		t.Fatalf("the QR code reads %q, want the url %q", got, qrURL)
	}
	// The ticket sent without URL encoding ("+" read as a space) is not it.
	resp, err := http.Get(e.srv.URL + MPPrefix + pathShowQRCode + "?ticket=" + ticket)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unencoded ticket = %d, want 404", resp.StatusCode)
	}
	if s, _, body := e.showQR(t, "gQnope"); s != http.StatusNotFound || len(body) != 0 {
		t.Fatalf("unknown ticket = %d %q, want 404 and no body", s, body)
	}
	e.clock.Advance(120 * time.Second)
	if s, _, _ := e.showQR(t, ticket); s != http.StatusNotFound {
		t.Fatalf("expired ticket = %d, want 404", s)
	}

	// Without expire_seconds a temporary code lives 60 s.
	a, ticket, _ = e.qrCreate(t, tok, `{"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":7}}}`)
	if a.code() != 0 || string(a.fields["expire_seconds"]) != "60" {
		t.Fatalf("default expiry: %s", a.fields)
	}
	e.clock.Advance(59 * time.Second)
	if s, _, _ := e.showQR(t, ticket); s != http.StatusOK {
		t.Fatalf("at 59 s = %d", s)
	}
	// A permanent code has no expire_seconds.
	a, _, _ = e.qrCreate(t, tok, `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"forever"}}}`)
	if _, ok := a.fields["expire_seconds"]; a.code() != 0 || ok {
		t.Fatalf("permanent code: %s", a.fields)
	}
}

func TestQRCodeCreateRefuses(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appOA)
	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		name, tok, body string
		want            int
	}{
		{"no token", "", `{"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a"}}}`, 41001},
		{"bad token", "nope", `{"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a"}}}`, 40001},
		{"mini program", e.appToken(t, appA), `{"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a"}}}`, 48001},
		{"not JSON", tok, `{`, 47001},
		{"no action", tok, `{"action_info":{"scene":{"scene_str":"a"}}}`, 40052},
		{"bad action", tok, `{"action_name":"QR_FOREVER","action_info":{"scene":{"scene_str":"a"}}}`, 40052},
		{"empty scene_str", tok, `{"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":""}}}`, 40053},
		{"scene_str of 65", tok, fmt.Sprintf(`{"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":%q}}}`, long), 40053},
		{"scene_id 0", tok, `{"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":0}}}`, 40053},
		{"limit scene over 100000", tok, `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":100001}}}`, 40053},
		{"expiry over 30 days", tok, `{"expire_seconds":2592001,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a"}}}`, 40097},
		{"expiry 0", tok, `{"expire_seconds":0,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a"}}}`, 40097},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a, _, _ := e.qrCreate(t, tc.tok, tc.body); a.code() != tc.want {
				t.Fatalf("errcode %d, want %d (%s)", a.code(), tc.want, a.Errmsg)
			}
		})
	}
	if a, _, _ := e.qrCreate(t, tok, fmt.Sprintf(`{"expire_seconds":2592000,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":%q}}}`, long[:64])); a.code() != 0 {
		t.Fatalf("the maxima refused: %d", a.code())
	}
}
