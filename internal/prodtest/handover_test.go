package prodtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxauth/wxauth/bearer"
)

// lb is a TCP load balancer: each new connection goes to the next backend
// that accepts it, a refused connect moving on to the next, as a cloud
// load balancer with connect retries does.
type lb struct {
	addr     string
	backends []string
	next     atomic.Uint64
}

func newLB(t *testing.T, backends ...string) *lb {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &lb{addr: ln.Addr().String(), backends: backends}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { l.serve(c) })
		}
	})
	return l
}

func (l *lb) serve(c net.Conn) {
	defer c.Close()
	var b net.Conn
	for range 2 * len(l.backends) {
		var err error
		if b, err = net.Dial("tcp", l.backends[l.next.Add(1)%uint64(len(l.backends))]); err == nil {
			break
		}
	}
	if b == nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// TestBearerFollowsRollingRestart: a resource server's bearer.Verifier
// subscribed through a load balancer keeps receiving revocations while
// both instances are restarted in turn: each stopping instance ends its
// stream with the reconnect event, and the Verifier reconnects to the
// other.
func TestBearerFollowsRollingRestart(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	addrs := []string{fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	insts := []*instance{d.start(t, "WXAUTH_ADDR="+addrs[0]), d.start(t, "WXAUTH_ADDR="+addrs[1])}
	front := "http://" + newLB(t, addrs...).addr
	ctx := t.Context()
	v, err := bearer.New(bearer.Config{
		Issuer:         "https://auth.prodtest.example",
		JWKSURL:        front + "/.well-known/jwks.json",
		RevocationsURL: front + "/v1/revocations",
		ServiceKey:     "prodtest-service-key-0123",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Start(ctx); err != nil {
		t.Fatalf("bearer Start: %v", err)
	}
	unavailable := 0
	for round := range 2 {
		for i := range insts {
			insts[i].cmd.Process.Signal(syscall.SIGTERM)
			if err := <-insts[i].done; err != nil {
				t.Fatalf("instance %d exited with %v, want 0", i, err)
			}
			insts[i] = d.start(t, "WXAUTH_ADDR="+addrs[i])

			// A logout now reaches the Verifier through whichever
			// instance holds its stream.
			l := d.login(t, insts[1-i], "alice")
			switch _, err := v.Verify(ctx, l.AccessToken); {
			case errors.Is(err, bearer.ErrUnavailable):
				unavailable++ // the push not live: a handover past its bound
			case err != nil:
				t.Fatalf("round %d, instance %d: a fresh token: %v", round, i, err)
			}
			if r := d.do(ctx, "POST", insts[1-i].URL+"/v1/logout", "{}", l.AccessToken); r.Status != 204 {
				t.Fatalf("logout = %d %s", r.Status, r.Body)
			}
			waitRefused(t, v, l.AccessToken)
		}
	}
	if !v.Live() {
		t.Error("the revocation push is not live after the restarts")
	}
	t.Logf("4 restarts; a fresh token found the push down %d times of 4", unavailable)
}

// waitRefused waits until v refuses token as revoked: the push has
// brought the logout.
func waitRefused(t *testing.T, v *bearer.Verifier, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard, not a measure
	defer cancel()
	for {
		_, err := v.Verify(ctx, token)
		if errors.Is(err, bearer.ErrSessionRevoked) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the Verifier never refused the logged-out token (last: %v)", err)
		case <-time.After(time.Millisecond): // pacing the poll of the push
		}
	}
}
