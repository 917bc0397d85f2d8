package prodtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/sandbox"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// wxauthBinary builds cmd/wxauth once per test run, through
// scripts/build.sh: the binary the Dockerfile ships is the one tested.
func wxauthBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wxauth-prodtest-*")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "wxauth")
		out, err := exec.Command("sh", "../../scripts/build.sh", binary, "prodtest").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("scripts/build.sh: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

func needEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is not set; skipping the production-mode test", name)
	}
	return v
}

// pgSchema makes a fresh PostgreSQL schema for one test and returns a URL
// whose connections use it.
func pgSchema(t *testing.T) string {
	t.Helper()
	base := needEnv(t, "WXAUTH_TEST_POSTGRES_URL")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "wxauth_prodtest_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// testApps are the dev apps with appids of this test's own: app access
// tokens are cached in Redis by appid, and the tests share one Redis.
func testApps() []config.App {
	var b [4]byte
	rand.Read(b[:])
	apps := config.DevApps()
	for i := range apps {
		apps[i].AppID = "wx" + hex.EncodeToString(b[:]) + apps[i].AppID[10:]
	}
	return apps
}

// browserDomains are the hosts registered for the browser apps: the H5
// pages' and the issuer's (the OpenID Provider's WeChat logins return to
// it).
var browserDomains = []string{"h5.prodtest.example", "auth.prodtest.example"}

// newSandbox runs the WeChat imitation with apps, behind gate.
func newSandbox(t *testing.T, apps []config.App, gate *gate) (*sandbox.Sandbox, string) {
	t.Helper()
	var sbApps []sandbox.App
	for _, a := range apps {
		sb := sandbox.App{Name: a.Name, Kind: a.Kind, AppID: a.AppID, Secret: a.Secret}
		if a.Kind == config.KindOfficialAccount || a.Kind == config.KindWebsite {
			sb.Domains = browserDomains // registered on WeChat, as in the configuration
		}
		sbApps = append(sbApps, sb)
	}
	sb, err := sandbox.New(sandbox.Config{Apps: sbApps})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gate.wrap(sb))
	t.Cleanup(hs.Close)
	return sb, hs.URL
}

// gate holds the sandbox's answers to a path while closed, so that a
// test has a request in flight for as long as it needs.
type gate struct {
	mu      sync.Mutex
	path    string
	open    chan struct{}
	arrived chan struct{}
}

// hold makes calls to path wait until release; arrived receives once per
// call held.
func (g *gate) hold(path string) (arrived <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.path, g.open, g.arrived = path, make(chan struct{}), make(chan struct{}, 16)
	open := g.open
	var once sync.Once
	return g.arrived, func() { once.Do(func() { close(open) }) }
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		held := g.path != "" && strings.HasSuffix(r.URL.Path, g.path)
		open, arrived := g.open, g.arrived
		g.mu.Unlock()
		if held {
			arrived <- struct{}{}
			<-open
		}
		h.ServeHTTP(w, r)
	})
}

// deployment is what several instances share.
type deployment struct {
	sb       *sandbox.Sandbox
	gate     *gate
	cfgPath  string
	env      []string
	mpAppID  string
	httpc    *http.Client
	settings map[string]string
}

// newDeployment writes a configuration for instances on databaseURL and
// redisURL; extra YAML lines are appended.
func newDeployment(t *testing.T, databaseURL, redisURL string, extra ...string) *deployment {
	t.Helper()
	apps := testApps()
	g := &gate{}
	sb, sbURL := newSandbox(t, apps, g)
	var y strings.Builder
	fmt.Fprintf(&y, "addr: 127.0.0.1:0\nmetrics_addr: 127.0.0.1:0\nissuer: https://auth.prodtest.example\n")
	fmt.Fprintf(&y, "database_url: %q\nredis_url: %q\n", databaseURL, redisURL)
	fmt.Fprintf(&y, "wechat: {api_base: %q, open_base: %q, timeout: 2s}\n", sbURL+"/sandbox/api", sbURL+"/sandbox/open")
	y.WriteString("apps:\n")
	for _, a := range apps {
		domains := "" // serve requires the registered domains of browser apps
		if a.Kind == config.KindOfficialAccount || a.Kind == config.KindWebsite {
			domains = ", domains: [" + strings.Join(browserDomains, ", ") + "]"
		}
		fmt.Fprintf(&y, "  - {name: %s, kind: %s, appid: %s%s}\n", a.Name, a.Kind, a.AppID, domains)
	}
	y.WriteString("rate_limits: {login_per_ip: \"off\", login_per_user: \"off\", refresh_per_ip: \"off\", refresh_per_session: \"off\"}\n")
	y.WriteString("service_keys: [{name: prodtest, scopes: [introspect, revocations, wechat_access_token]}]\n")
	for _, e := range extra {
		y.WriteString(e + "\n")
	}
	path := filepath.Join(t.TempDir(), "wxauth.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "WXAUTH_SECRET=prodtest-secret-0123456789abcdef0123", "WXAUTH_SERVICE_KEY_PRODTEST=prodtest-service-key-0123")
	for _, a := range apps {
		env = append(env, "WXAUTH_APP_"+strings.ToUpper(a.Name)+"_SECRET="+a.Secret)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &deployment{sb: sb, gate: g, cfgPath: path, env: env, mpAppID: apps[0].AppID, httpc: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// instance is one running `wxauth serve` process.
type instance struct {
	URL  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{} // closed and replaced at each write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

// waitFor returns once the text holds s, or fails t when ctx ends first.
func (l *lockedBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return
		}
		if l.written == nil {
			l.written = make(chan struct{})
		}
		ch := l.written
		l.mu.Unlock()
		select {
		case <-ch:
		case <-t.Context().Done():
			t.Fatalf("the log never said %q", s)
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs `wxauth serve --migrate` and waits until it listens; env
// adds variables (WXAUTH_ADDR=… for a fixed port).
func (d *deployment) start(t *testing.T, env ...string) *instance {
	t.Helper()
	cmd := exec.Command(wxauthBinary(t), "serve", "--migrate", "--config", d.cfgPath)
	cmd.Env = append(slices.Clone(d.env), env...)
	in := &instance{cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = in.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "wxauth serving on "); ok {
			in.URL = strings.Fields(rest)[0]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	go func() { in.done <- cmd.Wait() }()
	if in.URL == "" {
		<-in.done
		t.Fatalf("wxauth serve did not start:\n%s", in.logs)
	}
	t.Cleanup(func() { in.stop(t) })
	return in
}

// stop ends the process gracefully.
func (in *instance) stop(t *testing.T) {
	if in.cmd.ProcessState != nil {
		return
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(15 * time.Second):
		in.cmd.Process.Kill()
		<-in.done
		t.Errorf("wxauth serve did not stop on SIGTERM")
	}
	if t.Failed() {
		t.Logf("logs of %s:\n%s", in.URL, tail(in.logs.String(), 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type response struct {
	Status int
	Body   []byte
}

func (r response) errorCode() string {
	var e api.Error
	json.Unmarshal(r.Body, &e)
	return e.Code
}

// do sends one request; a transport failure is status 0.
func (d *deployment) do(ctx context.Context, method, url, body, bearer string) response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return response{}
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.httpc.Do(req)
	if err != nil {
		return response{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b}
}

// login logs a sandbox user in through instance in.
func (d *deployment) login(t *testing.T, in *instance, user string) api.TokenResponse {
	t.Helper()
	code, err := d.sb.IssueCode(d.mpAppID, user)
	if err != nil {
		t.Fatal(err)
	}
	r := d.do(t.Context(), "POST", in.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	if r.Status != 200 {
		t.Fatalf("login on %s = %d %s", in.URL, r.Status, r.Body)
	}
	var tr api.TokenResponse
	json.Unmarshal(r.Body, &tr)
	return tr
}

func (d *deployment) refresh(ctx context.Context, in *instance, rt string) (response, api.TokenResponse) {
	r := d.do(ctx, "POST", in.URL+"/v1/token/refresh", `{"refresh_token":"`+rt+`"}`, "")
	var tr api.TokenResponse
	if r.Status == 200 {
		json.Unmarshal(r.Body, &tr)
	}
	return r, tr
}

// freePort finds a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
