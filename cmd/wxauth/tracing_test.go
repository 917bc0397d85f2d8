package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/tracing/otlptest"
	"github.com/wxauth/wxauth/sandbox"
)

// credentialQuery is a query parameter that holds a credential or a code.
var credentialQuery = regexp.MustCompile(`[?&](js_code|code|secret|access_token|refresh_token|appid|state|grant_type)=`)

// checkLoginTrace finds the server span of the mini program login and the
// WeChat call below it, and holds that no span anywhere carries one of
// secrets, nor a query string.
func checkLoginTrace(t *testing.T, spans []otlptest.Span, secrets ...string) (login otlptest.Span) {
	t.Helper()
	byName := map[string][]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		for _, text := range s.Texts() {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(text, secret) {
					t.Errorf("span %q carries a secret (%.4s…) in %q", s.Name, secret, text)
				}
			}
			if q := credentialQuery.FindString(text); q != "" {
				t.Errorf("span %q carries a query %q in %q", s.Name, q, text)
			}
		}
		if s.Resource["service.name"] != "wxauth" || s.Resource["service.version"] == "" {
			t.Errorf("span %q resource = %v, want service.name wxauth and a service.version", s.Name, s.Resource)
		}
	}
	logins := byName["POST /v1/miniprogram/login"]
	if len(logins) != 1 {
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		t.Fatalf("server spans named POST /v1/miniprogram/login: %d, want 1; spans: %q", len(logins), names)
	}
	login = logins[0]
	if login.Kind != tracepb.Span_SPAN_KIND_SERVER || login.Attrs["http.route"] != "/v1/miniprogram/login" || login.Attrs["http.response.status_code"] != "200" {
		t.Errorf("login span = kind %v attrs %v, want a server span with http.route and status 200", login.Kind, login.Attrs)
	}
	calls := byName["WeChat GET /sns/jscode2session"]
	if len(calls) != 1 {
		t.Fatalf("WeChat GET /sns/jscode2session spans: %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Kind != tracepb.Span_SPAN_KIND_CLIENT || c.TraceID != login.TraceID || c.ParentID != login.SpanID {
		t.Errorf("jscode2session span: kind %v trace %s parent %s, want a client span child of the login span (trace %s, span %s)",
			c.Kind, c.TraceID, c.ParentID, login.TraceID, login.SpanID)
	}
	if u := c.Attrs["url.full"]; !strings.HasSuffix(u, "/sns/jscode2session?REDACTED") {
		t.Errorf("jscode2session url.full = %q, want its query redacted", u)
	}
	return login
}

// Under `wxauth dev` with OTEL_EXPORTER_OTLP_ENDPOINT, a mini program login
// reaches the collector as a server span named by its route with the
// WeChat call and the SQLite statements below it, and no secret, code or
// token in any span.
// Nothing is installed as OpenTelemetry's global.
func TestDevTracesALogin(t *testing.T) {
	recv := otlptest.New(t)
	origin, stop := startDev(t, filepath.Join(t.TempDir(), "data"), map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL})
	code := aliceCode(t, origin)
	tr := loginMP(t, origin, code)
	get(t, origin+"/v1/me", tr.AccessToken)
	// A client's traceparent is linked, never the parent: wxauth's span
	// starts a trace of its own.
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", origin+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	req.Header.Set("traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	const ticket = "qrt-not-a-real-ticket-0123456789"
	get(t, origin+"/v1/qrlogin/"+ticket+"?state=st-0123456789", "")
	stop() // exports what is batched
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Error("the global tracer provider is the SDK's: tracing must not install globals")
	}
	mp := config.DevApps()[0]
	spans := recv.Spans()
	login := checkLoginTrace(t, spans, code, mp.Secret, tr.AccessToken, tr.RefreshToken, ticket, "st-0123456789")
	if !slices.ContainsFunc(spans, func(s otlptest.Span) bool {
		return s.Name == "GET /v1/qrlogin/{ticket}" && s.Attrs["http.route"] == "/v1/qrlogin/{ticket}"
	}) {
		t.Error("no span named GET /v1/qrlogin/{ticket} with its http.route: a path with a ticket is named by its pattern")
	}
	for _, s := range spans {
		if s.TraceID == clientTrace {
			t.Errorf("span %q joined the client's trace %s (parent %q): a public endpoint links it instead", s.Name, clientTrace, s.ParentID)
		}
	}
	sqlite := 0
	for _, s := range spans {
		if s.TraceID == login.TraceID && s.Attrs["db.system.name"] == "sqlite" {
			sqlite++
			if s.ParentID == "" || s.Attrs["db.query.text"] == "" || !strings.HasPrefix(s.Name, "sqlite ") {
				t.Errorf("SQLite span %q: parent %q attrs %v, want a child span with the statement", s.Name, s.ParentID, s.Attrs)
			}
		}
	}
	if sqlite == 0 {
		t.Error("no SQLite span in the login's trace")
	}
}

// Without an endpoint, or with OTEL_SDK_DISABLED=true, nothing is exported
// and no provider is installed.
func TestTracingOff(t *testing.T) {
	for name, env := range map[string]func(url string) map[string]string{
		"unset": func(string) map[string]string { return map[string]string{"OTEL_SERVICE_NAME": "wxauth-off"} },
		"disabled": func(u string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": u, "OTEL_SDK_DISABLED": "true"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			recv := otlptest.New(t)
			origin, stop := startDev(t, filepath.Join(t.TempDir(), "data"), env(recv.URL))
			loginAlice(t, origin)
			stop()
			if n := recv.Posts(); n != 0 {
				t.Errorf("tracing off: %d exports reached the receiver, want 0", n)
			}
			if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
				t.Error("tracing off: the global tracer provider is the SDK's")
			}
		})
	}
}

// `wxauth serve` on PostgreSQL and Redis traces their queries and commands
// too, inside the login's trace, with statements but never arguments.
func TestServeTracesALoginOnPostgresAndRedis(t *testing.T) {
	redisURL := os.Getenv("WXAUTH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("WXAUTH_TEST_REDIS_URL is not set: skipping the PostgreSQL and Redis tracing test")
	}
	db := postgresSchema(t) // skips without WXAUTH_TEST_POSTGRES_URL
	const appID, secret = "wx1234567890abcdef", "mp-secret-0123456789abcdef"
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: appID, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	t.Cleanup(hs.Close)
	path := writeFile(t, "apps:\n  - {name: mp, kind: miniprogram, appid: "+appID+"}\nwechat: {api_base: \""+hs.URL+"/sandbox/api\", open_base: \""+hs.URL+"/sandbox/open\"}\n")
	env := serveEnv(db)
	env["WXAUTH_APP_MP_SECRET"] = secret
	env["WXAUTH_REDIS_URL"] = redisURL
	recv := otlptest.New(t)
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = recv.URL
	origin, _, stop := startServe(t, path, env, "--migrate")
	code, err := sb.IssueCode(appID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	status, b := post(t, origin+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	var tr api.TokenResponse
	if status != 200 || json.Unmarshal(b, &tr) != nil {
		t.Fatalf("login = %d %s", status, b)
	}
	status, b = post(t, origin+"/v1/token/refresh", `{"refresh_token":"`+tr.RefreshToken+`"}`, "")
	var tr2 api.TokenResponse
	if status != 200 || json.Unmarshal(b, &tr2) != nil {
		t.Fatalf("refresh = %d %s", status, b)
	}
	stop()
	spans := recv.Spans()
	login := checkLoginTrace(t, spans, code, secret, sb.SessionKey(appID, "alice"), tr.AccessToken, tr.RefreshToken, tr2.AccessToken, tr2.RefreshToken)
	var pg, redis int
	for _, s := range spans {
		if s.TraceID != login.TraceID {
			continue
		}
		switch {
		case s.Attrs["db.system.name"] == "postgresql":
			pg++
			if s.Attrs["db.query.text"] == "" || s.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("PostgreSQL span %q: attrs %v, want the statement", s.Name, s.Attrs)
			}
		case s.Attrs["db.system"] == "redis" || s.Attrs["db.system.name"] == "redis":
			redis++
			if _, ok := s.Attrs["db.statement"]; ok {
				t.Errorf("Redis span %q carries db.statement %q", s.Name, s.Attrs["db.statement"])
			}
		}
	}
	if pg == 0 || redis == 0 {
		t.Errorf("in the login's trace: %d PostgreSQL spans and %d Redis spans, want some of each", pg, redis)
	}
}

// A WeChat call that fails records its error on the span; neither the
// error nor the URL it was sent to (with the app secret and the code in
// its query) reaches the collector.
func TestServeTracesAFailedWeChatCallScrubbed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() // WeChat unreachable
	ln.Close()
	const secret, code = "mp-secret-0123456789abcdef", "the-code-0123456789"
	path := writeFile(t, "apps:\n  - {name: mp, kind: miniprogram, appid: wx1234567890abcdef}\nwechat: {api_base: \""+down+"\", timeout: 2s}\n")
	recv := otlptest.New(t)
	env := serveEnv("sqlite:" + filepath.Join(t.TempDir(), "db"))
	env["WXAUTH_APP_MP_SECRET"] = secret
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = recv.URL
	origin, _, stop := startServe(t, path, env, "--migrate")
	if status, b := post(t, origin+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, ""); status < 500 {
		t.Fatalf("login with WeChat down = %d %s, want a 5xx", status, b)
	}
	stop()
	var failed int
	for _, s := range recv.Spans() {
		for _, text := range s.Texts() {
			if strings.Contains(text, secret) || strings.Contains(text, code) || credentialQuery.MatchString(text) {
				t.Errorf("span %q carries a credential in %q", s.Name, text)
			}
		}
		if s.Name == "WeChat GET /sns/jscode2session" && s.StatusMessage != "" {
			failed++
			if !strings.HasSuffix(s.Attrs["url.full"], "/sns/jscode2session?REDACTED") || s.Attrs["error.type"] == "" {
				t.Errorf("failed call's attributes = %v, want error.type and url.full with its query redacted", s.Attrs)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no failed WeChat GET /sns/jscode2session span with a status message among %d spans", len(recv.Spans()))
	}
}
