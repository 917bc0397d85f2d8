package wechat_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/wechat"
)

func TestSessionRedacted(t *testing.T) {
	s := wechat.Session{OpenID: testOpenID, UnionID: "oUnion0123456789", SessionKey: testKey}
	type wrapper struct {
		Name    string
		Session wechat.Session
		Ptr     *wechat.Session
	}
	w := wrapper{Name: "x", Session: s, Ptr: &s}

	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs = append(outputs,
			fmt.Sprintf(format, s),
			fmt.Sprintf(format, &s),
			fmt.Sprintf(format, w),
			fmt.Sprintf(format, []wechat.Session{s}),
		)
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("login", "session", s)
		l.Info("login", "session", &s)
		l.Info("login", slog.Any("session", s), slog.Group("g", "session", s))
	}
	outputs = append(outputs, buf.String())

	for _, out := range outputs {
		for _, leak := range []string{testKey, strings.TrimRight(testKey, "=")} {
			if strings.Contains(out, leak) {
				t.Errorf("output %q contains the session_key", out)
			}
		}
	}
	if !strings.Contains(buf.String(), testOpenID) || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("slog output %q lacks the openid or the redaction marker", buf.String())
	}
	if got, want := fmt.Sprintf("%#v", s), `wechat.Session{OpenID:"`+testOpenID+`", UnionID:"oUnion0123456789", SessionKey:"[redacted]"}`; got != want {
		t.Errorf("Sprintf(%%#v) = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(wechat.Session{OpenID: "o1"}), "{OpenID:o1 UnionID: SessionKey:}"; got != want {
		t.Errorf("Sprint(session without key) = %s, want %s", got, want)
	}
}
