package wechatstatus

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

func TestRecorder(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var logs bytes.Buffer
	r := New(map[string]string{"wxa": "shop"}, func() time.Time { return now },
		slog.New(slog.NewTextHandler(&logs, nil)))
	refused := &wechat.APIError{Endpoint: "/cgi-bin/stable_token", Code: 40164,
		Msg: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 1"}

	r.Observe(wechat.Call{Endpoint: "/cgi-bin/stable_token", Errcode: 40164, Err: refused}) // no app: ignored
	r.Observe(wechat.Call{Endpoint: "/sns/jscode2session", AppID: "wxa", Errcode: 40029,
		Err: &wechat.APIError{Endpoint: "/sns/jscode2session", Code: 40029}}) // the user's: ignored
	r.Observe(wechat.Call{Endpoint: "/sns/jscode2session", AppID: "wxa", Err: errors.Join(wechat.ErrUnavailable)})
	if got := r.Problems(); len(got) != 0 {
		t.Fatalf("Problems() = %+v after no operator error, want none", got)
	}

	r.Observe(wechat.Call{Endpoint: "/cgi-bin/stable_token", AppID: "wxa", Errcode: 40164, Err: refused})
	now = now.Add(time.Minute)
	r.Observe(wechat.Call{Endpoint: "/cgi-bin/stable_token", AppID: "wxa", Errcode: 40164, Err: refused})
	got := r.Problems()
	if len(got) != 1 {
		t.Fatalf("Problems() = %+v, want one", got)
	}
	p := got[0]
	if p.App != "shop" || p.AppID != "wxa" || p.Errcode != 40164 || p.EgressIP != "203.0.113.7" ||
		!strings.Contains(p.Action, "203.0.113.7") || !p.Since.Equal(now.Add(-time.Minute)) || !p.Last.Equal(now) {
		t.Errorf("Problem = %+v", p)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d Error lines for one problem seen twice, want 1:\n%s", n, logs.String())
	}

	r.Observe(wechat.Call{Endpoint: "/sns/jscode2session", AppID: "wxa"})
	if got := r.Problems(); len(got) != 0 {
		t.Errorf("Problems() = %+v after a success, want none", got)
	}
	if !strings.Contains(logs.String(), "wechat accepts the app again") {
		t.Errorf("no log line for the recovery:\n%s", logs.String())
	}
}
