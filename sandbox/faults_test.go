package sandbox

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const loginPath = "/sns/jscode2session"

func TestFaults(t *testing.T) {
	// want describes one call's outcome: an HTTP status other than 200, or
	// a WeChat errcode (0 = success).
	type want struct{ status, errcode int }
	tests := []struct {
		name   string
		faults []Fault
		calls  []want // consecutive exchanges, each with a fresh code
	}{
		{"errcode -1 once", []Fault{{Path: loginPath, Errcode: -1, Count: 1}},
			[]want{{200, -1}, {200, 0}}},
		{"count 0 means 1", []Fault{{Path: loginPath, Errcode: 45011}},
			[]want{{200, 45011}, {200, 0}}},
		{"count 3", []Fault{{Path: loginPath, Errcode: 40226, Count: 3}},
			[]want{{200, 40226}, {200, 40226}, {200, 40226}, {200, 0}}},
		{"http status", []Fault{{Path: loginPath, Status: 503, Count: 2}},
			[]want{{503, 0}, {503, 0}, {200, 0}}},
		{"status wins over errcode", []Fault{{Path: loginPath, Status: 502, Errcode: -1}},
			[]want{{502, 0}, {200, 0}}},
		{"queued in order", []Fault{{Path: loginPath, Errcode: -1}, {Path: loginPath, Status: 500}, {Path: loginPath, Errcode: 45009}},
			[]want{{200, -1}, {500, 0}, {200, 45009}, {200, 0}}},
		{"unknown errcode", []Fault{{Path: loginPath, Errcode: 12345}},
			[]want{{200, 12345}, {200, 0}}},
		{"other path", []Fault{{Path: "/cgi-bin/token", Errcode: -1}},
			[]want{{200, 0}}},
		{"path without slash", []Fault{{Path: "sns/jscode2session", Errcode: -1}},
			[]want{{200, -1}, {200, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			for _, f := range tt.faults {
				e.sb.InjectFault(f)
			}
			for i, w := range tt.calls {
				code := e.code(t, appA, "alice")
				a := e.get(t, loginPath, loginQuery(appA, code))
				if a.status != w.status {
					t.Fatalf("call %d: status %d, want %d", i+1, a.status, w.status)
				}
				if w.status != http.StatusOK {
					if a.contentType == "" {
						t.Errorf("call %d: no Content-Type on the %d answer", i+1, a.status)
					}
				} else if w.errcode != 0 {
					checkWeChatError(t, a, w.errcode)
				} else if a.code() != 0 || a.OpenID == "" {
					t.Fatalf("call %d: errcode %d, want success", i+1, a.code())
				}
			}
		})
	}
}

func TestFaultDelay(t *testing.T) {
	e := newEnv(t, nil)
	const delay = 150 * time.Millisecond

	// A delay with an errcode answers the errcode after the delay.
	e.sb.InjectFault(Fault{Path: loginPath, Errcode: -1, DelayMS: int(delay / time.Millisecond)})
	start := time.Now()
	a := e.login(t, appA, "alice")
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("delayed call answered after %v, want at least %v", elapsed, delay)
	}
	checkWeChatError(t, a, -1)

	// A delay alone delays, then behaves normally.
	e.sb.InjectFault(Fault{Path: loginPath, DelayMS: int(delay / time.Millisecond)})
	start = time.Now()
	a = e.login(t, appA, "alice")
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("delayed call answered after %v, want at least %v", elapsed, delay)
	}
	if a.code() != 0 || a.OpenID == "" {
		t.Errorf("delay-only fault: errcode %d, want success", a.code())
	}
}

func TestFaultDelayHonoursContext(t *testing.T) {
	e := newEnv(t, nil)
	e.sb.InjectFault(Fault{Path: loginPath, DelayMS: int(time.Hour / time.Millisecond)})
	code := e.code(t, appA, "alice")

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+APIPrefix+loginPath+"?"+loginQuery(appA, code).Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("delayed call = %v, want the caller's deadline", err)
	}

	// The handler gave up with the caller: the server shuts down at once
	// instead of waiting out the hour.
	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server still busy with the abandoned delayed call")
	}

	// The abandoned call did not consume the code.
	e.srv = httptest.NewServer(e.sb)
	defer e.srv.Close()
	if a := e.get(t, loginPath, loginQuery(appA, code)); a.code() != 0 {
		t.Errorf("code after the abandoned call: errcode %d, want success", a.code())
	}
}

func TestFaultKeepsCode(t *testing.T) {
	for _, f := range []Fault{
		{Path: loginPath, Errcode: -1},
		{Path: loginPath, Status: http.StatusBadGateway},
	} {
		e := newEnv(t, nil)
		e.sb.InjectFault(f)
		q := loginQuery(appA, e.code(t, appA, "alice"))
		if a := e.get(t, loginPath, q); a.status == http.StatusOK && a.code() == 0 {
			t.Fatalf("fault %+v: call succeeded, want it faulted", f)
		}
		if a := e.get(t, loginPath, q); a.code() != 0 || a.OpenID == "" {
			t.Errorf("fault %+v: the same code then gave errcode %d, want success", f, a.code())
		}
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t, nil)
	want := map[string]int{
		"/cgi-bin/token":                   0,
		"/cgi-bin/user/info":               0,
		"/cgi-bin/qrcode/create":           0,
		"/cgi-bin/showqrcode":              0,
		"/cgi-bin/stable_token":            0,
		loginPath:                          0,
		"/wxa/checksession":                0,
		"/wxa/resetusersessionkey":         0,
		"/wxa/business/getuserphonenumber": 0,
		wxaCodePath:                        0,
		"/sns/oauth2/access_token":         0,
		"/sns/oauth2/refresh_token":        0,
		"/sns/userinfo":                    0,
		"/sns/auth":                        0,
		"/connect/oauth2/authorize":        0,
		"/connect/qrconnect":               0,
	}
	if diff := cmp.Diff(want, e.sb.Stats()); diff != "" {
		t.Errorf("Stats() at start (-want +got):\n%s", diff)
	}
	e.login(t, appA, "alice")                             // success
	e.get(t, loginPath, loginQuery(appA, "nope"))         // 40029
	e.get(t, loginPath, nil)                              // 41002
	e.sb.InjectFault(Fault{Path: loginPath, Status: 500}) // faulted
	e.get(t, loginPath, loginQuery(appA, "nope"))         //
	e.control(t, http.MethodGet, "/stats", nil, nil)      // control calls do not count
	e.control(t, http.MethodGet, "/apps", nil, nil)       //
	tok := e.appToken(t, appA)                            // success
	e.post(t, "/cgi-bin/stable_token", nil, `{}`)         // 41002
	e.post(t, "/cgi-bin/stable_token", nil, `x`)          // 47001
	e.get(t, "/wxa/checksession", nil)                    // 41001
	e.get(t, "/wxa/resetusersessionkey", nil)             // 41001
	e.post(t, phonePath, tokenQuery(tok), `{"code":"x"}`) // 40029
	e.get(t, "/sns/oauth2/access_token", nil)             // 41002
	e.get(t, "/sns/oauth2/refresh_token", nil)            // 41002
	e.get(t, "/sns/userinfo", nil)                        // 41001
	e.get(t, "/sns/userinfo", nil)                        // 41001
	e.get(t, "/sns/auth", nil)                            // 41001
	e.page(t, qrconnectPath, "")                          // error page
	e.postWxaCode(t, tok, `{}`)                           // 40169
	want[wxaCodePath] = 1
	want[loginPath] = 4
	want["/sns/oauth2/access_token"] = 1
	want["/sns/oauth2/refresh_token"] = 1
	want["/sns/userinfo"] = 2
	want["/sns/auth"] = 1
	want["/connect/qrconnect"] = 1
	want["/cgi-bin/token"] = 1
	want["/cgi-bin/stable_token"] = 2
	want["/wxa/checksession"] = 1
	want["/wxa/resetusersessionkey"] = 1
	want[phonePath] = 1
	if diff := cmp.Diff(want, e.sb.Stats()); diff != "" {
		t.Errorf("Stats() (-want +got):\n%s", diff)
	}

	var got struct {
		Calls map[string]int `json:"calls"`
	}
	if status := e.control(t, http.MethodGet, "/stats", nil, &got); status != http.StatusOK {
		t.Fatalf("GET /stats: status %d", status)
	}
	if diff := cmp.Diff(want, got.Calls); diff != "" {
		t.Errorf("GET /stats calls (-want +got):\n%s", diff)
	}
}

// TestControlFaultBody replays answers seen in the wild through the control
// API (docs/sandbox.md): the body comes back byte for byte, with the
// content type asked for, and the code is not spent.
func TestControlFaultBody(t *testing.T) {
	tests := []struct {
		name     string
		fault    any
		status   int
		wantBody string
		wantCT   string
	}{
		{"empty text/html", map[string]any{"path": loginPath, "body": "", "content_type": "text/html; charset=gbk"},
			200, "", "text/html; charset=gbk"},
		{"proxy page", map[string]any{"path": loginPath, "body": "<html>captive portal</html>", "content_type": "text/html"},
			200, "<html>captive portal</html>", "text/html"},
		{"object as-is", `{"path":"/sns/jscode2session","body":{"errcode":99999,"errmsg":"new thing","x":[1, 2]}}`,
			200, `{"errcode":99999,"errmsg":"new thing","x":[1, 2]}`, "text/plain"},
		{"body with status", map[string]any{"path": loginPath, "status": 502, "body": "bad gateway", "content_type": "text/html"},
			502, "bad gateway", "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if status := e.control(t, http.MethodPost, "/faults", tt.fault, nil); status != http.StatusNoContent {
				t.Fatalf("POST /faults %v: status %d, want 204", tt.fault, status)
			}
			q := loginQuery(appA, e.code(t, appA, "alice"))
			resp, err := http.Get(e.srv.URL + APIPrefix + loginPath + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(body) != tt.wantBody || resp.Header.Get("Content-Type") != tt.wantCT {
				t.Errorf("faulted call = %d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body,
					tt.status, tt.wantCT, tt.wantBody)
			}
			if a := e.get(t, loginPath, q); a.code() != 0 || a.OpenID == "" {
				t.Errorf("the same code after the replay: errcode %d, want success", a.code())
			}
		})
	}
}

func TestControlFaultBodyRejected(t *testing.T) {
	e := newEnv(t, nil)
	for _, f := range []map[string]any{
		{"path": loginPath, "body": "{}", "errcode": -1},
		{"path": loginPath, "content_type": "text/html"},
	} {
		if status := e.control(t, http.MethodPost, "/faults", f, nil); status != http.StatusBadRequest {
			t.Errorf("POST /faults %v: status %d, want 400", f, status)
		}
	}
	if status := e.control(t, http.MethodPost, "/faults", `{"path":"/sns/jscode2session","body":{"errcode":}`, nil); status != http.StatusBadRequest {
		t.Errorf("POST /faults with a malformed body: status %d, want 400", status)
	}
	if a := e.login(t, appA, "alice"); a.code() != 0 {
		t.Errorf("login after rejected faults: errcode %d, want success", a.code())
	}
}
