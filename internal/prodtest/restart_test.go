package prodtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
)

// rrClient is a client of several instances that picks one per request
// (round robin) and retries on another only when a connection is refused:
// what a load balancer that retries connect failures gives its clients.
// HTTP errors are never retried. Each request has a connection of its own,
// as a client behind a load balancer has.
type rrClient struct {
	urls  []string
	httpc *http.Client
	next  atomic.Uint64

	refused, reset atomic.Int64 // retries: nobody listening; queued, never accepted
}

func newRRClient(urls ...string) *rrClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &rrClient{urls: urls, httpc: &http.Client{Transport: tr, Timeout: time.Minute}} // a guard against a hang, not a measure
}

// do sends one request and says which instance answered it.
func (c *rrClient) do(ctx context.Context, method, path, body string) (response, int, error) {
	for range 1000 {
		i := int(c.next.Add(1) % uint64(len(c.urls)))
		req, err := http.NewRequestWithContext(ctx, method, c.urls[i]+path, strings.NewReader(body))
		if err != nil {
			return response{}, i, err
		}
		resp, err := c.httpc.Do(req)
		switch {
		case err == nil:
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return response{Status: resp.StatusCode, Body: b}, i, err
		case errors.Is(err, syscall.ECONNREFUSED):
			// Nobody listens: the instance is between its exit and its
			// restart.
			c.refused.Add(1)
		case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
			// A connection the kernel had queued but wxauth never
			// accepted, reset (data sent) or closed (none yet) when its
			// listener closed: the request never reached wxauth, which
			// otherwise closes a connection without an answer only when
			// cutting off at shutdown_timeout (the test checks it never
			// does). With shutdown_delay behind a load balancer no
			// connection arrives then (docs/deploy.md).
			c.reset.Add(1)
		default:
			return response{}, i, err
		}
	}
	return response{}, 0, errors.New("every instance refused 1000 connections")
}

// progress counts the answers of each instance; tests wait on it.
type progress struct {
	mu      sync.Mutex
	served  []int
	changed chan struct{}
}

func (p *progress) add(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.served[i]++
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// waitMore returns once instance i (any, if i < 0) has answered n more
// requests than when it was called.
func (p *progress) waitMore(t *testing.T, i, n int) {
	t.Helper()
	count := func() int {
		if i >= 0 {
			return p.served[i]
		}
		s := 0
		for _, v := range p.served {
			s += v
		}
		return s
	}
	p.mu.Lock()
	want := count() + n
	for count() < want {
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-t.Context().Done():
			t.Fatalf("instance %d never answered %d more requests", i, n)
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
}

// TestRollingRestartUnderLoad: two instances restarted one after the
// other, twice each (SIGTERM, exit 0, start again on the same port),
// while clients log in and refresh without pause. No request fails, and
// every session opened before or during the restarts still refreshes.
func TestRollingRestartUnderLoad(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	addrs := []string{fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	insts := []*instance{d.start(t, "WXAUTH_ADDR="+addrs[0]), d.start(t, "WXAUTH_ADDR="+addrs[1])}
	c := newRRClient(insts[0].URL, insts[1].URL)
	prog := &progress{served: make([]int, 2)}

	type session struct{ sid, rt string }
	var (
		mu       sync.Mutex
		sessions []*session
		failures []string
	)
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, a...))
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 {
		user := fmt.Sprintf("restart%d", w)
		if _, err := d.sb.AddUser(user); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				code, err := d.sb.IssueCode(d.mpAppID, user)
				if err != nil {
					fail("issue code: %v", err)
					return
				}
				r, i, err := c.do(ctx, "POST", "/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`)
				if ctx.Err() != nil {
					return
				}
				if err != nil || r.Status != 200 {
					fail("login: %d %s %v", r.Status, r.Body, err)
					continue
				}
				prog.add(i)
				var tr api.TokenResponse
				json.Unmarshal(r.Body, &tr)
				s := &session{sid: tr.SessionID, rt: tr.RefreshToken}
				mu.Lock()
				sessions = append(sessions, s)
				mu.Unlock()
				for range 5 {
					r, i, err := c.do(ctx, "POST", "/v1/token/refresh", `{"refresh_token":"`+s.rt+`"}`)
					if ctx.Err() != nil {
						return
					}
					if err != nil || r.Status != 200 {
						fail("refresh of %s: %d %s %v", s.sid, r.Status, r.Body, err)
						break
					}
					prog.add(i)
					json.Unmarshal(r.Body, &tr)
					mu.Lock()
					s.rt = tr.RefreshToken
					mu.Unlock()
				}
			}
		})
	}

	restarts := 0
	for range 2 {
		for i := range insts {
			prog.waitMore(t, -1, 20) // load is flowing
			insts[i].cmd.Process.Signal(syscall.SIGTERM)
			if err := <-insts[i].done; err != nil {
				t.Fatalf("instance %d exited with %v after SIGTERM, want 0:\n%s", i, err, tail(insts[i].logs.String(), 20))
			}
			if logs := insts[i].logs.String(); strings.Contains(logs, "shutdown_timeout reached") || !strings.Contains(logs, `"msg":"stopped"`) {
				t.Fatalf("instance %d did not stop cleanly:\n%s", i, tail(logs, 20))
			}
			insts[i] = d.start(t, "WXAUTH_ADDR="+addrs[i])
			restarts++
			prog.waitMore(t, i, 20) // the new process serves
		}
	}
	stop()
	wg.Wait()

	if len(failures) > 0 {
		t.Errorf("%d requests failed during %d restarts, want 0; first: %s", len(failures), restarts, strings.Join(failures[:min(5, len(failures))], "; "))
	}
	lost := 0
	for _, s := range sessions {
		r, _, err := c.do(t.Context(), "POST", "/v1/token/refresh", `{"refresh_token":"`+s.rt+`"}`)
		if err != nil || r.Status != 200 {
			lost++
			if lost <= 3 {
				t.Errorf("session %s after the restarts: refresh = %d %s %v", s.sid, r.Status, r.Body, err)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d sessions lost, want 0", lost, len(sessions))
	}
	prog.mu.Lock()
	t.Logf("%d restarts; %d sessions; answers per instance %v; retried connections: %d refused, %d closed before accept",
		restarts, len(sessions), prog.served, c.refused.Load(), c.reset.Load())
	prog.mu.Unlock()
}

// TestStopFinishesRequestInFlight: on SIGTERM the revocation stream ends
// at once with its retry hint and reconnect event, a login in flight
// still answers 200, and the process exits 0.
func TestStopFinishesRequestInFlight(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	in := d.start(t)
	stream := openStream(t, d, in)

	arrived, release := d.gate.hold("/sns/jscode2session")
	t.Cleanup(release)
	result := make(chan response, 1)
	code, err := d.sb.IssueCode(d.mpAppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		result <- d.do(context.Background(), "POST", in.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	}()
	<-arrived // the login waits on WeChat
	in.cmd.Process.Signal(syscall.SIGTERM)

	rest, _ := io.ReadAll(stream) // ends while the login is still held
	if !strings.Contains(string(rest), "retry: 100\nevent: reconnect\ndata: {}\n\n") {
		t.Errorf("the stream ended with %q, want a retry field and a reconnect event", rest)
	}
	release()
	if r := <-result; r.Status != 200 {
		t.Errorf("the login in flight at SIGTERM = %d %s, want 200", r.Status, r.Body)
	}
	if err := <-in.done; err != nil {
		t.Errorf("exit after SIGTERM = %v, want 0:\n%s", err, tail(in.logs.String(), 20))
	}
}

// TestStopTimeoutCutsOffStuckRequests: a request stuck past
// shutdown_timeout and a stream subscriber that never reads do not keep
// the process: it cuts them off, says so, and exits 0.
func TestStopTimeoutCutsOffStuckRequests(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL, "shutdown_timeout: 1s")
	in := d.start(t, "WXAUTH_WECHAT_TIMEOUT=9s")
	openStream(t, d, in) // … and never read again

	arrived, release := d.gate.hold("/sns/jscode2session")
	t.Cleanup(release) // only after the process is gone
	result := make(chan response, 1)
	code, err := d.sb.IssueCode(d.mpAppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		result <- d.do(context.Background(), "POST", in.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	}()
	<-arrived
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-in.done; err != nil {
		t.Errorf("exit after SIGTERM = %v, want 0:\n%s", err, tail(in.logs.String(), 20))
	}
	if !strings.Contains(in.logs.String(), "shutdown_timeout reached") {
		t.Errorf("the log does not say the stuck request was cut off:\n%s", tail(in.logs.String(), 20))
	}
	if r := <-result; r.Status != 0 {
		t.Errorf("the stuck login = %d %s, want its connection closed", r.Status, r.Body)
	}
}

// TestStopDelayDrains: with shutdown_delay, SIGTERM first makes /readyz
// answer 503 while everything else keeps serving; a second signal ends
// the delay, and the process exits 0.
func TestStopDelayDrains(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL, "shutdown_delay: 1h")
	in := d.start(t)
	ctx := t.Context()
	if r := d.do(ctx, "GET", in.URL+"/readyz", "", ""); r.Status != 200 {
		t.Fatalf("GET /readyz = %d %s", r.Status, r.Body)
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	in.logs.waitFor(t, "draining")
	if r := d.do(ctx, "GET", in.URL+"/readyz", "", ""); r.Status != 503 || r.errorCode() != api.CodeUnavailable {
		t.Errorf("GET /readyz while draining = %d %s, want 503 unavailable", r.Status, r.Body)
	}
	if r := d.do(ctx, "GET", in.URL+"/healthz", "", ""); r.Status != 200 {
		t.Errorf("GET /healthz while draining = %d, want 200", r.Status)
	}
	l := d.login(t, in, "bob")
	if r, _ := d.refresh(ctx, in, l.RefreshToken); r.Status != 200 {
		t.Errorf("refresh while draining = %d %s, want 200", r.Status, r.Body)
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-in.done; err != nil {
		t.Errorf("exit after the second signal = %v, want 0:\n%s", err, tail(in.logs.String(), 20))
	}
}

// openStream opens the revocation stream of instance in and reads it up to
// `event: ready`; the caller reads the rest, or not.
func openStream(t *testing.T, d *deployment, in *instance) io.Reader {
	t.Helper()
	var resp *http.Response
	for resp == nil { // 503 until the instance's feed is live
		req, err := http.NewRequestWithContext(t.Context(), "GET", in.URL+"/v1/revocations", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer prodtest-service-key-0123")
		r, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		switch r.StatusCode {
		case 200:
			resp = r
		case 503:
			r.Body.Close()
		default:
			t.Fatalf("GET /v1/revocations = %d", r.StatusCode)
		}
	}
	t.Cleanup(func() { resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before ready: %v", err)
		}
		if line == "event: ready\n" {
			return r
		}
	}
}
