package prodtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// event is one answer seen by the load during an outage test.
type event struct {
	at      time.Time
	status  int
	latency time.Duration
}

// load runs clients that each refresh their own session and call /v1/me
// with the new token, alternating between instances, until stop closes.
type load struct {
	mu     sync.Mutex
	events []event
	latest []string // each client's latest refresh token
}

func (l *load) record(e event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func runLoad(ctx context.Context, d *deployment, ins []*instance, tokens []string) (*load, func()) {
	l := &load{latest: append([]string(nil), tokens...)}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for c := range tokens {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				in := ins[(c+i)%len(ins)]
				t0 := time.Now()
				r, tr := d.refresh(ctx, in, l.latest[c])
				if ctx.Err() != nil {
					return
				}
				l.record(event{at: t0, status: r.Status, latency: time.Since(t0)})
				if r.Status != 200 {
					continue
				}
				l.mu.Lock()
				l.latest[c] = tr.RefreshToken
				l.mu.Unlock()
				t0 = time.Now()
				me := d.do(ctx, "GET", in.URL+"/v1/me", "", tr.AccessToken)
				if ctx.Err() != nil {
					return
				}
				l.record(event{at: t0, status: me.Status, latency: time.Since(t0)})
			}
		})
	}
	return l, func() { cancel(); wg.Wait() }
}

// check holds the load to the outage rules: a request that overlaps
// [from, to] may answer 200 or 503; every other request answers 200; never a
// 5xx other than 503, never a dropped connection.
func (l *load) check(t *testing.T, from, to time.Time) {
	t.Helper()
	var ok, unavailable, outside int
	var slowest503 time.Duration
	for _, e := range l.events {
		in := !e.at.Add(e.latency).Before(from) && !e.at.After(to)
		switch {
		case e.status == 200:
			ok++
		case e.status == 503 && in:
			unavailable++
			slowest503 = max(slowest503, e.latency)
		default:
			outside++
			if outside <= 5 {
				t.Errorf("answer %d at %v (outage window %v–%v)", e.status, e.at.Format("15:04:05.000"), from.Format("15:04:05.000"), to.Format("15:04:05.000"))
			}
		}
	}
	t.Logf("%d answers: %d ok, %d × 503 during the outage (slowest %v), %d wrong", len(l.events), ok, unavailable, slowest503.Round(time.Millisecond), outside)
	if unavailable == 0 {
		t.Error("no request saw the outage; the test proves nothing")
	}
	if slowest503 > 5*time.Second {
		t.Errorf("a 503 took %v; timeouts are not bounded", slowest503)
	}
}

// lost counts sessions whose latest refresh token no longer works.
func (l *load) lost(ctx context.Context, d *deployment, in *instance) (lost int, detail []string) {
	for c, rt := range l.latest {
		r, _ := d.refresh(ctx, in, rt)
		if r.Status != 200 {
			lost++
			detail = append(detail, fmt.Sprintf("client %d: %d %s", c, r.Status, r.Body))
		}
	}
	return lost, detail
}

// redisServer is a real Redis of the test's own, with AOF persistence, so
// it can be killed and restarted.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, port int, dir string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed; skipping the Redis restart test")
	}
	r := &redisServer{port: port, dir: dir}
	r.cmd = exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--daemonize", "no")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			fmt.Fprint(c, "PING\r\n")
			buf := make([]byte, 7)
			io.ReadFull(c, buf)
			c.Close()
			if string(buf) == "+PONG\r\n" {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond) // polling start-up, bounded by the deadline
	}
	t.Fatalf("redis-server on %d did not start", port)
	return nil
}

func (r *redisServer) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
}

// Redis dies (SIGKILL) and comes back under load: requests that need it
// answer 503 meanwhile, everything else answers as usual, service resumes by
// itself, and with persistence on no session is lost.
func TestRedisRestartUnderLoad(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	rs := startRedis(t, port, dir)
	t.Cleanup(func() { rs.kill() })
	d := newDeployment(t, pgSchema(t), fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	a, b := d.start(t), d.start(t)
	ctx := t.Context()
	var tokens []string
	for i := range 8 {
		tokens = append(tokens, d.login(t, a, []string{"alice", "bob"}[i%2]).RefreshToken)
	}
	l, stop := runLoad(ctx, d, []*instance{a, b}, tokens)
	time.Sleep(time.Second) // load before the outage
	from := time.Now()
	rs.kill()
	time.Sleep(500 * time.Millisecond)
	if r := d.do(ctx, "GET", a.URL+"/readyz", "", ""); r.Status != 503 || !strings.Contains(string(r.Body), "sessions") {
		t.Errorf("/readyz during the Redis outage = %d %s, want 503 naming sessions", r.Status, r.Body)
	}
	time.Sleep(time.Second)
	rs = startRedis(t, port, dir)
	to := time.Now().Add(time.Second) // reconnects settle
	time.Sleep(2 * time.Second)       // load after the outage
	stop()
	l.check(t, from, to)
	if n, detail := l.lost(ctx, d, b); n != 0 {
		t.Errorf("%d sessions lost across the Redis restart: %v", n, detail)
	}
	if r := d.do(ctx, "GET", b.URL+"/readyz", "", ""); r.Status != 200 {
		t.Errorf("/readyz after the outage = %d %s", r.Status, r.Body)
	}
}

// proxy forwards TCP to a target and can cut every connection, like a
// network partition between wxauth and its database.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{target: target, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), conns: map[net.Conn]bool{}}
	if err := p.restore(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) restore() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return nil
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// PostgreSQL becomes unreachable and comes back: what needs it answers 503
// quickly, what does not (refresh) keeps working, /readyz says which, and
// service resumes by itself.
func TestPostgresOutage(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	dbURL := pgSchema(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	d := newDeployment(t, u.String(), redisURL)
	a := d.start(t)
	ctx := t.Context()
	l := d.login(t, a, "alice")

	p.cut()
	code, _ := d.sb.IssueCode(d.mpAppID, "bob")
	t0 := time.Now()
	r := d.do(ctx, "POST", a.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	if r.Status != 503 || r.errorCode() != "unavailable" {
		t.Errorf("login during the outage = %d %s, want 503 unavailable", r.Status, r.Body)
	}
	t.Logf("login answered %d in %v during the outage", r.Status, time.Since(t0).Round(time.Millisecond))
	if r := d.do(ctx, "GET", a.URL+"/readyz", "", ""); r.Status != 503 || !strings.Contains(string(r.Body), "storage") {
		t.Errorf("/readyz = %d %s, want 503 naming storage", r.Status, r.Body)
	}
	if r := d.do(ctx, "GET", a.URL+"/v1/me", "", l.AccessToken); r.Status != 503 {
		t.Errorf("/v1/me (reads the user) = %d %s, want 503", r.Status, r.Body)
	}
	rr, tr := d.refresh(ctx, a, l.RefreshToken)
	if rr.Status != 200 {
		t.Errorf("refresh (needs only Redis) during the database outage = %d %s", rr.Status, rr.Body)
	}

	if err := p.restore(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := d.do(ctx, "GET", a.URL+"/v1/me", "", tr.AccessToken)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume within 15 s: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond) // polling recovery, bounded by the deadline
	}
	d.login(t, a, "bob")
}
