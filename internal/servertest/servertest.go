// Package servertest runs the whole wxauth stack in process for end-to-end
// tests: the WeChat sandbox and the API on one real HTTP server (loopback),
// SQLite in a temporary folder, the in-process session store, and a settable
// clock shared by wxauth and the sandbox. It is built through package
// instance, exactly as `wxauth dev` builds it.
//
// In tests (not benchmarks) every answer of the API is held to the OpenAPI
// document api/openapi.yaml: an undocumented status, a missing header or a
// body off its schema fails the test that started the stack. The sandbox's
// /sandbox/ paths and the demo's /demo/ are not part of that document.
package servertest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/demo"
	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/instance"
	"github.com/wxauth/wxauth/internal/server"
	"github.com/wxauth/wxauth/internal/tracing"
	"github.com/wxauth/wxauth/sandbox"
)

// Start is the time the clock starts at.
var Start = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// Server is a running stack.
type Server struct {
	URL     string
	Config  config.Config
	Sandbox *sandbox.Sandbox
	Inst    *instance.Instance
	Clock   *fakeclock.Clock
	// Logs holds every log line the stack wrote (JSON, one per line; text
	// with TextLogs).
	Logs *SyncBuffer
	// HTTP is a client for the server.
	HTTP *http.Client
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Option changes how a stack is built.
type Option func(*options)

type options struct {
	edits      []func(*config.Config)
	unbound    map[string]bool
	secrets    map[string]string
	ips        map[string][]string
	quiet      bool
	textLogs   bool
	sessionKey sandbox.SessionKeyPolicy
	// devOrigins are more origins the sandbox's apps may return to.
	devOrigins []string
	// Follow-to-login pushes (PushHook and its kin).
	followScan     server.FollowScanHook
	pushTimeout    time.Duration
	pushPlaintext  map[string]bool
	sandboxPushKey map[string]string
	tracing        *tracing.Tracer
}

// Tracing traces the stack with t (instance.Options.Tracing).
func Tracing(t *tracing.Tracer) Option { return func(o *options) { o.tracing = t } }

// PushHook receives the follow-to-login scans WeChat (the sandbox) pushes
// to the stack (server.Config.OnFollowScan).
func PushHook(h server.FollowScanHook) Option { return func(o *options) { o.followScan = h } }

// SandboxPushTimeout is how long the sandbox waits for the stack to
// answer a push before it pushes again (WeChat: 5 s).
func SandboxPushTimeout(d time.Duration) Option { return func(o *options) { o.pushTimeout = d } }

// PushPlaintext configures app name without an EncodingAESKey, in wxauth
// and in the sandbox: its pushes are plaintext.
func PushPlaintext(name string) Option { return func(o *options) { o.pushPlaintext[name] = true } }

// SandboxPushAESKey gives app name an EncodingAESKey in the sandbox only,
// as when the operator chose safe mode on WeChat but configured no key.
func SandboxPushAESKey(name, key string) Option {
	return func(o *options) { o.sandboxPushKey[name] = key }
}

// Quiet keeps only warnings and errors in Logs, for benchmarks.
func Quiet() Option { return func(o *options) { o.quiet = true } }

// TextLogs writes Logs in slog's text format instead of JSON, as `wxauth`
// does with log_format text.
func TextLogs() Option { return func(o *options) { o.textLogs = true } }

// SandboxSecret gives app name another secret in the sandbox than in
// wxauth's configuration, as when an operator pastes a wrong one.
func SandboxSecret(name, secret string) Option {
	return func(o *options) { o.secrets[name] = secret }
}

// SandboxSessionKey sets when the sandbox replaces a user's session_key
// (sandbox.Config.SessionKey); without it, as WeChat does at its
// strictest: on every code issued, and after 72 hours unused.
func SandboxSessionKey(p sandbox.SessionKeyPolicy) Option {
	return func(o *options) { o.sessionKey = p }
}

// DevOrigin lets the sandbox's apps return to origin, port included, as
// they return to the server's own (sandbox.Config.DevOrigins): for pages
// served by another test server.
func DevOrigin(origin string) Option {
	return func(o *options) { o.devOrigins = append(o.devOrigins, origin) }
}

// Configure edits the configuration before the stack is built.
func Configure(edit func(*config.Config)) Option {
	return func(o *options) { o.edits = append(o.edits, edit) }
}

// IPWhitelist gives app name an API IP whitelist in the sandbox (the
// stack calls it from 127.0.0.1), as set in WeChat's console.
func IPWhitelist(name string, list ...string) Option {
	return func(o *options) { o.ips[name] = list }
}

// Unbound makes the sandbox treat app name as not bound to the Open
// Platform account: its logins carry no unionid.
func Unbound(name string) Option {
	return func(o *options) { o.unbound[name] = true }
}

// New starts a stack with the dev apps plus options, and stops it when the
// test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*h.Load()).ServeHTTP(w, r)
	})
	if _, bench := t.(*testing.B); !bench {
		// Benchmarks measure the server, not the validator.
		c, err := loadContract()
		if err != nil {
			t.Fatal(err)
		}
		handler = checkContract(t, c, handler)
	}
	hs := httptest.NewServer(handler)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	tr := hs.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	s := &Server{URL: hs.URL, Clock: fakeclock.New(Start), Logs: &SyncBuffer{}, HTTP: &http.Client{Transport: tr}}
	cfg := config.Defaults()
	cfg.Addr = strings.TrimPrefix(hs.URL, "http://")
	cfg.Secret = "test-secret-0123456789abcdef0123456789"
	cfg.LogLevel = "debug"
	o := options{unbound: map[string]bool{}, secrets: map[string]string{}, ips: map[string][]string{},
		pushPlaintext: map[string]bool{}, sandboxPushKey: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	for _, e := range o.edits {
		e(&cfg)
	}
	cfg.FillDev(hs.URL, dir)
	for i := range cfg.Apps {
		if o.pushPlaintext[cfg.Apps[i].Name] {
			cfg.Apps[i].PushAESKey = ""
		}
	}
	// Validated as `wxauth dev` is (the stack is one, sandbox and all), with
	// the secret set above.
	if err := cfg.Validate(false); err != nil {
		t.Fatal(err)
	}
	s.Config = cfg
	level := slog.LevelDebug
	if o.quiet {
		level = slog.LevelWarn
	}
	var lh slog.Handler = slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: level})
	if o.textLogs {
		lh = slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(lh)
	apps := make([]sandbox.App, len(cfg.Apps))
	for i, a := range cfg.Apps {
		apps[i] = sandbox.App{Name: a.Name, Kind: a.Kind, AppID: a.AppID, Secret: a.Secret, Unbound: o.unbound[a.Name],
			IPWhitelist: o.ips[a.Name], Domains: a.Domains}
		if secret, ok := o.secrets[a.Name]; ok {
			apps[i].Secret = secret
		}
		// WeChat pushes to this stack, as the operator configured it.
		if a.PushToken != "" {
			apps[i].PushURL, apps[i].PushToken, apps[i].PushAESKey = hs.URL+"/v1/wechat/push/"+a.Name, a.PushToken, a.PushAESKey
			if key, ok := o.sandboxPushKey[a.Name]; ok {
				apps[i].PushAESKey = key
			}
		}
	}
	// The pages on this server's origin (a loopback port WeChat would
	// refuse) are the sandbox's dev allowance, as in `wxauth dev`; other
	// origins only through DevOrigin.
	sb, err := sandbox.New(sandbox.Config{Apps: apps, SessionKey: o.sessionKey, DevOrigins: append([]string{hs.URL}, o.devOrigins...),
		Now: s.Clock.Now, Logger: log, PushTimeout: o.pushTimeout})
	if err != nil {
		t.Fatal(err)
	}
	s.Sandbox = sb
	inst, err := instance.New(t.Context(), &cfg, instance.Options{
		KeyFile:      filepath.Join(dir, "signing-key.json"),
		Migrate:      true,
		Mount:        map[string]http.Handler{"/sandbox/": sb, "/demo/": demo.Handler()},
		MetricsOnAPI: true, // as in `wxauth dev`
		DeliverSMS:   sb.DeliverSMS,
		OnFollowScan: o.followScan,
		Tracing:      o.tracing,
		Logger:       log,
		Now:          s.Clock.Now,
		After:        s.Clock.After,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	s.Inst = inst
	h.Store(&inst.Handler)
	return s
}

// AppID is the appid of the configured app named name.
func (s *Server) AppID(t testing.TB, name string) string {
	t.Helper()
	a, ok := s.Config.App(name)
	if !ok {
		t.Fatalf("no app %q", name)
	}
	return a.AppID
}

// Code is what wx.login() would give user in app.
func (s *Server) Code(t testing.TB, app, user string) string {
	t.Helper()
	code, err := s.Sandbox.IssueCode(s.AppID(t, app), user)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Response is an HTTP answer, body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
}

// Error decodes a contract error body.
func (r Response) Error(t testing.TB) api.Error {
	t.Helper()
	var e api.Error
	r.JSON(t, &e)
	return e
}

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// a value (sent as JSON). bearer, if not empty, goes in Authorization.
func (s *Server) Do(t testing.TB, method, path string, body any, bearer string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Login logs user in through the mini program app and returns the token
// response, failing the test on any error.
func (s *Server) Login(t testing.TB, app, user string) api.TokenResponse {
	t.Helper()
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: app, Code: s.Code(t, app, user)}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("login %s as %s = %d %s", app, user, r.Status, r.Body)
	}
	var tr api.TokenResponse
	r.JSON(t, &tr)
	return tr
}
