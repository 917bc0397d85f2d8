package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/wechat"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "s3cr3t0123456789abcdef0123456789"
	testCode   = "0712cDoV0cfty22AeloV0daMoV02cDog"
	testKey    = "tiihtNczf5v6AKRyjwEUhQ=="
	testOpenID = "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
)

// sentinels are every error class of the package, checked in each case.
var sentinels = []error{
	wechat.ErrInvalidRequest,
	wechat.ErrInvalidCode,
	wechat.ErrMissingCode,
	wechat.ErrCodeBlocked,
	wechat.ErrBusy,
	wechat.ErrRateLimited,
	wechat.ErrBadCredential,
	wechat.ErrTokenInvalid,
	wechat.ErrUnavailable,
	wechat.ErrUnexpectedResponse,
	wechat.ErrSessionKeyStale,
	wechat.ErrOAuthTokenInvalid,
	wechat.ErrRefreshTokenInvalid,
	wechat.ErrScopeUnauthorized,
	wechat.ErrInvalidOpenID,
	wechat.ErrConfiguration,
	wechat.ErrIPNotAllowed,
	wechat.ErrAccountRestricted,
	wechat.ErrAPIUnauthorized,
	wechat.ErrRetiredHost,
	wechat.ErrNotWeChat,
}

// observer records the calls reported to Config.Observe.
type observer struct {
	mu    sync.Mutex
	calls []wechat.Call
}

func (o *observer) observe(c wechat.Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
}

func (o *observer) all() []wechat.Call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]wechat.Call(nil), o.calls...)
}

// fakeWeChat serves h under /sandbox/api, counting requests, and returns a
// client for it. cfg may set Timeout and HTTPClient.
func fakeWeChat(t *testing.T, cfg wechat.Config, h http.HandlerFunc) (*wechat.Client, *observer, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	obs := &observer{}
	cfg.APIBase = srv.URL + "/sandbox/api/"
	cfg.Observe = obs.observe
	c, err := wechat.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, obs, &n
}

// answer writes WeChat's answer: status, Content-Type and body.
func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// matches lists the sentinels err matches.
func matches(err error) []error {
	var got []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			got = append(got, s)
		}
	}
	return got
}

func errNames(errs []error) []string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

func errcodeBody(code int) string {
	return fmt.Sprintf(`{"errcode":%d,"errmsg":"some error rid: 6437cc6f-48613c7c-0bdbbd0d"}`, code)
}

func TestCode2Session(t *testing.T) {
	const text, js = "text/plain", "application/json"
	success := wechat.Session{OpenID: testOpenID, SessionKey: testKey}
	withUnion := wechat.Session{OpenID: testOpenID, UnionID: "oUnion0123456789", SessionKey: testKey}
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        wechat.Session
		wantErrs    []error // exactly the sentinels the error must match
		wantErrcode int     // as seen by Observe
		wantAPICode int     // errcode of the *APIError, 0 for none
		wantHTTP    int     // status of the *HTTPError, 0 for none
	}{
		{name: "success with errcode 0 json", status: 200, contentType: js,
			body: `{"openid":"` + testOpenID + `","session_key":"` + testKey + `","errcode":0,"errmsg":"ok"}`, want: success},
		{name: "success without errcode text/plain", status: 200, contentType: text,
			body: `{"session_key":"` + testKey + `","openid":"` + testOpenID + `"}`, want: success},
		{name: "success with unionid and unknown fields", status: 200, contentType: text,
			body: `{"openid":"` + testOpenID + `","session_key":"` + testKey + `","unionid":"oUnion0123456789","expires_in":7200,"new":{"x":[1]}}`, want: withUnion},
		{name: "success without content type", status: 200,
			body: `{"openid":"` + testOpenID + `","session_key":"` + testKey + `"}`, want: success},

		{name: "-1 busy", status: 200, contentType: text, body: errcodeBody(-1),
			wantErrs: []error{wechat.ErrBusy, wechat.ErrUnavailable}, wantErrcode: -1, wantAPICode: -1},
		{name: "40029 invalid code", status: 200, contentType: text, body: errcodeBody(40029),
			wantErrs: []error{wechat.ErrInvalidCode}, wantErrcode: 40029, wantAPICode: 40029},
		{name: "40163 code been used", status: 200, contentType: js, body: errcodeBody(40163),
			wantErrs: []error{wechat.ErrInvalidCode}, wantErrcode: 40163, wantAPICode: 40163},
		{name: "42003 code expired", status: 200, contentType: text, body: errcodeBody(42003),
			wantErrs: []error{wechat.ErrInvalidCode}, wantErrcode: 42003, wantAPICode: 42003},
		{name: "41008 missing code", status: 200, contentType: text, body: errcodeBody(41008),
			wantErrs: []error{wechat.ErrInvalidRequest, wechat.ErrMissingCode}, wantErrcode: 41008, wantAPICode: 41008},
		{name: "40226 code blocked", status: 200, contentType: text, body: errcodeBody(40226),
			wantErrs: []error{wechat.ErrCodeBlocked}, wantErrcode: 40226, wantAPICode: 40226},
		{name: "45009 daily quota", status: 200, contentType: text, body: errcodeBody(45009),
			wantErrs: []error{wechat.ErrRateLimited}, wantErrcode: 45009, wantAPICode: 45009},
		{name: "45011 minute quota", status: 200, contentType: text, body: errcodeBody(45011),
			wantErrs: []error{wechat.ErrRateLimited}, wantErrcode: 45011, wantAPICode: 45011},
		{name: "40001 token invalid", status: 200, contentType: text, body: errcodeBody(40001),
			wantErrs: []error{wechat.ErrTokenInvalid}, wantErrcode: 40001, wantAPICode: 40001},
		{name: "42001 token expired", status: 200, contentType: text, body: errcodeBody(42001),
			wantErrs: []error{wechat.ErrTokenInvalid}, wantErrcode: 42001, wantAPICode: 42001},
		{name: "48001 unclassified", status: 200, contentType: text, body: errcodeBody(48001),
			wantErrcode: 48001, wantAPICode: 48001},

		{name: "HTTP 500 with success body", status: 500, contentType: js,
			body:     `{"openid":"` + testOpenID + `","session_key":"` + testKey + `"}`,
			wantErrs: []error{wechat.ErrUnavailable}, wantHTTP: 500},
		{name: "HTTP 502 with errcode body", status: 502, contentType: text, body: errcodeBody(40029),
			wantErrs: []error{wechat.ErrUnavailable}, wantHTTP: 502},
		{name: "HTTP 404 html", status: 404, contentType: "text/html", body: "<html>not found</html>",
			wantErrs: []error{wechat.ErrUnavailable}, wantHTTP: 404},
		// A credential call answered 200 with no JSON: not WeChat's
		// answer but a wrong api_base or a proxy (reference §1).
		{name: "body not JSON", status: 200, contentType: "text/html", body: "<html>gateway error</html>",
			wantErrs: []error{wechat.ErrConfiguration, wechat.ErrNotWeChat}},
		{name: "empty body", status: 200, contentType: text, body: "",
			wantErrs: []error{wechat.ErrConfiguration, wechat.ErrNotWeChat}},
		{name: "JSON array", status: 200, contentType: js, body: "[]",
			wantErrs: []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{name: "errcode of wrong type", status: 200, contentType: js, body: `{"errcode":"40029"}`,
			wantErrs: []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{name: "success without openid", status: 200, contentType: text, body: `{"session_key":"` + testKey + `"}`,
			wantErrs: []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{name: "success without session_key", status: 200, contentType: text, body: `{"openid":"` + testOpenID + `","errcode":0}`,
			wantErrs: []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{name: "body over 1 MiB", status: 200, contentType: js,
			body:     `{"openid":"` + testOpenID + `","session_key":"` + testKey + `","pad":"` + strings.Repeat("x", 1<<20) + `"}`,
			wantErrs: []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, obs, n := fakeWeChat(t, wechat.Config{}, answer(tt.status, tt.contentType, tt.body))
			got, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Code2Session session mismatch (-want +got):\n%s", diff)
			}
			if tt.wantErrs == nil && tt.wantAPICode == 0 && err != nil {
				t.Fatalf("Code2Session = %v, want success", err)
			}
			if tt.wantErrs != nil || tt.wantAPICode != 0 {
				if err == nil {
					t.Fatalf("Code2Session = nil error, want %v", errNames(tt.wantErrs))
				}
			}
			if diff := cmp.Diff(errNames(tt.wantErrs), errNames(matches(err))); diff != "" {
				t.Errorf("Code2Session error %q matches wrong sentinels (-want +got):\n%s", err, diff)
			}
			var apiErr *wechat.APIError
			if gotAPI := errors.As(err, &apiErr); gotAPI != (tt.wantAPICode != 0) {
				t.Errorf("errors.As(%v, *APIError) = %v, want %v", err, gotAPI, tt.wantAPICode != 0)
			} else if gotAPI {
				want := &wechat.APIError{Endpoint: "/sns/jscode2session", Code: tt.wantAPICode, Msg: "some error rid: 6437cc6f-48613c7c-0bdbbd0d"}
				if diff := cmp.Diff(want, apiErr); diff != "" {
					t.Errorf("APIError mismatch (-want +got):\n%s", diff)
				}
			}
			var httpErr *wechat.HTTPError
			if gotHTTP := errors.As(err, &httpErr); gotHTTP != (tt.wantHTTP != 0) {
				t.Errorf("errors.As(%v, *HTTPError) = %v, want %v", err, gotHTTP, tt.wantHTTP != 0)
			} else if gotHTTP && (httpErr.Status != tt.wantHTTP || httpErr.Endpoint != "/sns/jscode2session") {
				t.Errorf("HTTPError = %+v, want status %d on /sns/jscode2session", httpErr, tt.wantHTTP)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("requests made = %d, want exactly 1 (code exchanges are never retried)", got)
			}
			calls := obs.all()
			if len(calls) != 1 {
				t.Fatalf("Observe called %d times, want 1", len(calls))
			}
			if calls[0].Endpoint != "/sns/jscode2session" || calls[0].AppID != testAppID || calls[0].Errcode != tt.wantErrcode || calls[0].Err != err {
				t.Errorf("Observe saw %+v, want endpoint /sns/jscode2session, errcode %d, err %v", calls[0], tt.wantErrcode, err)
			}
			if calls[0].Duration <= 0 {
				t.Errorf("Observe saw duration %v, want > 0", calls[0].Duration)
			}
		})
	}
}

// TestCode2SessionBadCredential checks every configuration errcode of
// reference §1.1.
func TestCode2SessionBadCredential(t *testing.T) {
	for _, code := range []int{40002, 40013, 40125, 40243, 41002, 41004} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", errcodeBody(code)))
			_, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode)
			if diff := cmp.Diff(errNames([]error{wechat.ErrBadCredential, wechat.ErrConfiguration}), errNames(matches(err))); diff != "" {
				t.Errorf("Code2Session = %v, sentinels (-want +got):\n%s", err, diff)
			}
			if wechat.Temporary(err) {
				t.Errorf("Temporary(%v) = true, want false", err)
			}
		})
	}
}

func TestCode2SessionRequest(t *testing.T) {
	var got *http.Request
	c, _, _ := fakeWeChat(t, wechat.Config{}, func(w http.ResponseWriter, r *http.Request) {
		got = r
		fmt.Fprint(w, `{"openid":"`+testOpenID+`","session_key":"`+testKey+`"}`)
	})
	if _, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode); err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/sandbox/api/sns/jscode2session" {
		t.Errorf("request = %s %s, want GET /sandbox/api/sns/jscode2session", got.Method, got.URL.Path)
	}
	want := url.Values{
		"appid":      {testAppID},
		"secret":     {testSecret},
		"js_code":    {testCode},
		"grant_type": {"authorization_code"},
	}
	if diff := cmp.Diff(want, got.URL.Query()); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestCode2SessionEmptyArguments(t *testing.T) {
	tests := []struct{ name, appID, secret, code string }{
		{"no app ID", "", testSecret, testCode},
		{"no secret", testAppID, "", testCode},
		{"no code", testAppID, testSecret, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, obs, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
			_, err := c.Code2Session(t.Context(), tt.appID, tt.secret, tt.code)
			if !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("Code2Session(%q, %q, %q) = %v, want ErrInvalidRequest", tt.appID, tt.secret, tt.code, err)
			}
			if n.Load() != 0 || len(obs.all()) != 0 {
				t.Errorf("requests = %d, observed = %d, want none", n.Load(), len(obs.all()))
			}
		})
	}
}

// blockUntilGone imitates a WeChat that never answers: it holds the request
// until the client goes away. arrived, if not nil, is closed on arrival.
func blockUntilGone(arrived chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			close(arrived)
		}
		<-r.Context().Done()
	}
}

func TestCode2SessionTimeout(t *testing.T) {
	c, obs, n := fakeWeChat(t, wechat.Config{Timeout: 50 * time.Millisecond}, blockUntilGone(nil))
	_, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode)
	if !errors.Is(err, wechat.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Code2Session = %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
	if !wechat.Temporary(err) {
		t.Errorf("Temporary(%v) = false, want true", err)
	}
	if n.Load() != 1 {
		t.Errorf("requests made = %d, want 1", n.Load())
	}
	if calls := obs.all(); len(calls) != 1 || calls[0].Err != err || calls[0].Errcode != 0 {
		t.Errorf("Observe saw %+v, want one call with the error and errcode 0", calls)
	}
}

func TestCode2SessionCancel(t *testing.T) {
	arrived := make(chan struct{})
	c, _, _ := fakeWeChat(t, wechat.Config{}, blockUntilGone(arrived))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.Code2Session(ctx, testAppID, testSecret, testCode)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, wechat.ErrUnavailable) {
		t.Errorf("Code2Session = %v, want context.Canceled and ErrUnavailable", err)
	}
}

func TestCode2SessionNeverRetried(t *testing.T) {
	tests := []struct {
		name string
		cfg  wechat.Config
		h    http.HandlerFunc
	}{
		{"busy", wechat.Config{}, answer(200, "text/plain", errcodeBody(-1))},
		{"HTTP 503", wechat.Config{}, answer(503, "", "")},
		{"rate limited", wechat.Config{}, answer(200, "text/plain", errcodeBody(45011))},
		{"timeout", wechat.Config{Timeout: 20 * time.Millisecond}, blockUntilGone(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, n := fakeWeChat(t, tt.cfg, tt.h)
			_, err := c.Code2Session(t.Context(), testAppID, testSecret, testCode)
			if !wechat.Temporary(err) {
				t.Errorf("Temporary(%v) = false, want true", err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("requests made = %d, want exactly 1", got)
			}
		})
	}
}

// TestErrorsHoldNoSecret checks that neither the secret nor the code reach
// an error's text or Observe, whatever failed. The URL of every request
// holds both.
func TestErrorsHoldNoSecret(t *testing.T) {
	// A secret and a code that need escaping in a URL, to catch the
	// escaped form as well.
	const secret, code = "s3cr3t/with+special&chars=0123456789", "code 0712cDoV0cfty22AeloV0daMoV02cDog"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name string
		base string // APIBase if set, else a live fake
		cfg  wechat.Config
		h    http.HandlerFunc
		want error
	}{
		{name: "server closed", base: closed.URL, want: wechat.ErrUnavailable},
		{name: "timeout", cfg: wechat.Config{Timeout: 20 * time.Millisecond}, h: blockUntilGone(nil), want: context.DeadlineExceeded},
		{name: "HTTP 500", h: answer(500, "", "oops"), want: wechat.ErrUnavailable},
		{name: "not JSON", h: answer(200, "", "<html>"), want: wechat.ErrNotWeChat},
		{name: "errmsg echoes request", h: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"errcode":40029,"errmsg":"invalid code %s %s %s"}`, r.URL.RawQuery, secret, code)
		}, want: wechat.ErrInvalidCode},
		{name: "connection dropped", h: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, want: wechat.ErrUnavailable},
		{name: "redirect to the request URL", h: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}, want: wechat.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &observer{}
			cfg := tt.cfg
			cfg.Observe = obs.observe
			var c *wechat.Client
			if tt.base != "" {
				cfg.APIBase = tt.base
				var err error
				if c, err = wechat.New(cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
			} else {
				srv := httptest.NewServer(tt.h)
				t.Cleanup(srv.Close)
				cfg.APIBase = srv.URL
				var err error
				if c, err = wechat.New(cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
			}
			_, err := c.Code2Session(t.Context(), testAppID, secret, code)
			if !errors.Is(err, tt.want) {
				t.Errorf("Code2Session = %v, want %v", err, tt.want)
			}
			calls := obs.all()
			if len(calls) != 1 || calls[0].Err == nil {
				t.Fatalf("Observe saw %+v, want one failed call", calls)
			}
			var urlErr *url.Error
			if errors.As(err, &urlErr) {
				t.Errorf("errors.As(%v, *url.Error) = true, want the URL unreachable", err)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), calls[0].Err.Error()} {
				for _, s := range []string{secret, code, url.QueryEscape(secret), url.QueryEscape(code)} {
					if strings.Contains(text, s) {
						t.Errorf("error text %q contains %q", text, s)
					}
				}
				// Only WeChat's own errmsg may quote the query; our
				// errors never hold the URL.
				if _, isAPI := errors.AsType[*wechat.APIError](err); !isAPI && strings.Contains(text, "appid=") {
					t.Errorf("error text %q holds the request URL", text)
				}
			}
			if !strings.Contains(err.Error(), "/sns/jscode2session") {
				t.Errorf("error %q does not name the endpoint", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		cfg       wechat.Config
		wantField string // in the error; empty for success
	}{
		{name: "zero", cfg: wechat.Config{}},
		{name: "sandbox", cfg: wechat.Config{APIBase: "http://127.0.0.1:8080/sandbox/api", OpenBase: "http://127.0.0.1:8080/sandbox/open"}},
		{name: "relative API base", cfg: wechat.Config{APIBase: "/sandbox/api"}, wantField: "APIBase"},
		{name: "ftp API base", cfg: wechat.Config{APIBase: "ftp://example.com"}, wantField: "APIBase"},
		{name: "unparseable API base", cfg: wechat.Config{APIBase: "http://[::1"}, wantField: "APIBase"},
		{name: "API base with query", cfg: wechat.Config{APIBase: "https://example.com/?a=b"}, wantField: "APIBase"},
		{name: "API base without host", cfg: wechat.Config{APIBase: "https:///path"}, wantField: "APIBase"},
		{name: "API base with user", cfg: wechat.Config{APIBase: "https://u:p@example.com"}, wantField: "APIBase"},
		{name: "bad open base", cfg: wechat.Config{OpenBase: "open.weixin.qq.com"}, wantField: "OpenBase"},
		{name: "negative timeout", cfg: wechat.Config{Timeout: -time.Second}, wantField: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wechat.New(tt.cfg)
			if tt.wantField == "" {
				if err != nil || c == nil {
					t.Errorf("New(%+v) = %v, %v, want a client", tt.cfg, c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.wantField)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	tests := []struct {
		err  *wechat.APIError
		want []error
	}{
		{&wechat.APIError{Endpoint: "/wxa/checksession", Code: 40001}, []error{wechat.ErrTokenInvalid}},
		{&wechat.APIError{Endpoint: "/wxa/checksession", Code: 42001}, []error{wechat.ErrTokenInvalid}},
		// On the endpoints that mint app tokens 40001 means a wrong
		// AppSecret (reference §1.1, §2.1).
		{&wechat.APIError{Endpoint: "/cgi-bin/token", Code: 40001}, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{&wechat.APIError{Endpoint: "/cgi-bin/stable_token", Code: 40001}, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{&wechat.APIError{Endpoint: "/cgi-bin/token", Code: 45009}, []error{wechat.ErrRateLimited}},
		{&wechat.APIError{Endpoint: "/wxa/checksession", Code: 87009}, []error{wechat.ErrSessionKeyStale}},
		{&wechat.APIError{Endpoint: "/sns/jscode2session", Code: -1}, []error{wechat.ErrBusy, wechat.ErrUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(tt.err))); diff != "" {
				t.Errorf("%v matches (-want +got):\n%s", tt.err, diff)
			}
			wrapped := fmt.Errorf("login: %w", tt.err)
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(wrapped))); diff != "" {
				t.Errorf("wrapped %v matches (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestTemporary(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("other"), false},
		{&wechat.APIError{Code: -1}, true},
		{&wechat.APIError{Code: 45011}, true},
		{&wechat.APIError{Code: 45009}, true},
		{&wechat.APIError{Code: 40029}, false},
		{&wechat.APIError{Code: 40125}, false},
		{&wechat.APIError{Code: 40226}, false},
		{&wechat.HTTPError{Status: 502}, true},
		{fmt.Errorf("exchange code: %w", &wechat.HTTPError{Status: 500}), true},
	}
	for _, tt := range tests {
		if got := wechat.Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
