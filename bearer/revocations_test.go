package bearer

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
)

// watchEvents reports each event the subscriber applies. Call it before the
// subscriber starts.
func watchEvents(v *Verifier) <-chan string {
	ch := make(chan string, 4096)
	v.sub.afterEvent = func(e string) {
		select {
		case ch <- e:
		default:
		}
	}
	return ch
}

func waitEvent(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-ch:
			if e == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q event", want)
		}
	}
}

// waitRevoked waits until the subscriber has applied sid's revocation.
func waitRevoked(t *testing.T, v *Verifier, ch <-chan string, sid string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !v.revoked.has(sid) {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%s never revoked", sid)
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("%s: Verify = %v, want %v", what, err, want)
	}
}

// TestRevocations: the snapshot on connect covers earlier revocations; a
// published sid is refused at once, even for a token already in the cache.
func TestRevocations(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	f.revoke("s_before")
	v := newVerifier(t, f.config(true))
	events := watchEvents(v)
	start(t, v)
	if !v.Live() {
		t.Fatal("not live after Start")
	}
	ctx := t.Context()
	now := f.clock.Now()
	before := k.token(claimsAt(f.URL, now, "s_before"))
	live := k.token(claimsAt(f.URL, now, "s_live"))
	other := k.token(claimsAt(f.URL, now, "s_other"))

	_, err := v.Verify(ctx, before)
	wantErr(t, "sid in the snapshot", err, ErrSessionRevoked)
	for range 2 {
		_, err = v.Verify(ctx, live)
		wantErr(t, "live sid", err, nil)
	}
	f.revoke("s_live")
	waitRevoked(t, v, events, "s_live")
	_, err = v.Verify(ctx, live)
	wantErr(t, "published sid, cached token", err, ErrSessionRevoked)
	_, err = v.Verify(ctx, other)
	wantErr(t, "another sid", err, nil)
	if n := f.introspections.Load(); n != 0 {
		t.Errorf("%d introspections while live, want 0", n)
	}
}

// TestRevocationPropagation measures publish → refusal: wxauth writes the
// event, and a Verify that follows refuses the token. Figures in t.Log (go
// test -v -run Propagation); BenchmarkRevocationPropagation has the same.
func TestRevocationPropagation(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	start(t, v)
	const n = 100
	delays := make([]time.Duration, n)
	for i := range delays {
		sid := "s_" + string(rune('a'+i%26)) + time.Duration(i).String()
		tok := k.token(claimsAt(f.URL, f.clock.Now(), sid))
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		delays[i] = propagation(t, f, v, sid, tok)
	}
	slices.Sort(delays)
	t.Logf("revocation propagation over %d publications (loopback): min %v, p50 %v, p99 %v, max %v",
		n, delays[0], delays[n/2], delays[n*99/100], delays[n-1])
	if delays[n-1] > time.Second {
		t.Errorf("slowest propagation %v, want within 1 s", delays[n-1])
	}
}

// propagation publishes sid's revocation and spins on Verify until tok is
// refused.
func propagation(t testing.TB, f *fakeWXAuth, v *Verifier, sid, tok string) time.Duration {
	begin := time.Now()
	f.revoke(sid)
	for {
		_, err := v.Verify(context.Background(), tok)
		if errors.Is(err, ErrSessionRevoked) {
			return time.Since(begin)
		}
		if err != nil {
			t.Fatalf("Verify = %v", err)
		}
		if time.Since(begin) > 5*time.Second {
			t.Fatalf("%s not refused after 5 s", sid)
		}
		runtime.Gosched()
	}
}

// TestPushCutFailClosed: while the push is down every token is refused
// with ErrUnavailable, except known revoked ones; a reconnect's snapshot
// brings in what was revoked meanwhile.
func TestPushCutFailClosed(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	events := watchEvents(v)
	start(t, v)
	ctx := t.Context()
	now := f.clock.Now()
	good := k.token(claimsAt(f.URL, now, "s_good"))
	gone := k.token(claimsAt(f.URL, now, "s_gone"))
	during := k.token(claimsAt(f.URL, now, "s_during"))
	for _, tok := range []string{good, gone, during} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	f.revoke("s_gone")
	waitRevoked(t, v, events, "s_gone")

	f.cut(true)
	waitLive(t, v, false)
	_, err := v.Verify(ctx, good)
	wantErr(t, "push down", err, ErrUnavailable)
	_, err = v.Verify(ctx, gone)
	wantErr(t, "push down, known revoked", err, ErrSessionRevoked)
	f.revoke("s_during") // no stream open: only the next snapshot has it

	f.restore()
	waitLive(t, v, true)
	_, err = v.Verify(ctx, good)
	wantErr(t, "push back", err, nil)
	_, err = v.Verify(ctx, during)
	wantErr(t, "revoked while down, from the new snapshot", err, ErrSessionRevoked)
	if n := f.streamsOpened.Load(); n < 2 {
		t.Errorf("%d streams opened, want a reconnect", n)
	}
	if n := f.introspections.Load(); n != 0 {
		t.Errorf("%d introspections with FailClosed, want 0", n)
	}
}

// TestPushCutIntrospect: while the push is down each request asks
// wxauth's introspection; when that fails too, ErrUnavailable.
func TestPushCutIntrospect(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	cfg := f.config(true)
	cfg.OnLostRevocations = Introspect
	v := newVerifier(t, cfg)
	start(t, v)
	ctx := t.Context()
	now := f.clock.Now()
	good := k.token(claimsAt(f.URL, now, "s_good"))
	during := k.token(claimsAt(f.URL, now, "s_during"))
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}

	f.cut(true)
	waitLive(t, v, false)
	for i := 1; i <= 2; i++ {
		_, err := v.Verify(ctx, good)
		wantErr(t, "push down, introspected", err, nil)
		if n := f.introspections.Load(); n != int64(i) {
			t.Errorf("%d introspections after %d requests, want one per request", n, i)
		}
	}
	f.revoke("s_during")
	_, err := v.Verify(ctx, during)
	wantErr(t, "revoked while down, introspection says inactive", err, ErrSessionRevoked)
	f.setIntrospectionFails(true)
	_, err = v.Verify(ctx, good)
	wantErr(t, "push and introspection down", err, ErrUnavailable)
	f.setIntrospectionFails(false)

	f.restore()
	waitLive(t, v, true)
	asked := f.introspections.Load()
	_, err = v.Verify(ctx, good)
	wantErr(t, "push back", err, nil)
	_, err = v.Verify(ctx, during)
	wantErr(t, "push back, from the snapshot", err, ErrSessionRevoked)
	if n := f.introspections.Load(); n != asked {
		t.Errorf("%d introspections after the push came back, want none", n-asked)
	}
}

// TestPushSilent: a stream that stops sending anything (not even pings) is
// presumed dead and reopened.
func TestPushSilent(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	v.sub.idle = 50 * time.Millisecond
	start(t, v)
	waitLive(t, v, false)
	waitLive(t, v, true)
	if n := f.streamsOpened.Load(); n < 2 {
		t.Errorf("%d streams opened, want the silent one replaced", n)
	}
}

// TestPushPingsAndJunk: comments, unknown events, multi-line and malformed
// data, CRLF line ends: nothing breaks the stream.
func TestPushPingsAndJunk(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	events := watchEvents(v)
	start(t, v)
	f.send(": ping\n\n")
	f.send("event: revoked\ndata: not json\n\n")
	f.send("event: something-new\ndata: {}\n\n")
	f.send("data: a message without a type\n\n")
	f.send("event: revoked\r\ndata: {\"sid\":\"s_crlf\",\r\ndata: \"until\":4102444800}\r\n\r\n")
	f.send("event:revoked\ndata:{\"sid\":\"s_nospace\",\"until\":4102444800}\n\n")
	waitEvent(t, events, "revoked") // the junk one
	waitEvent(t, events, "something-new")
	waitEvent(t, events, "revoked")
	waitEvent(t, events, "revoked")
	for _, sid := range []string{"s_crlf", "s_nospace"} {
		_, err := v.Verify(t.Context(), k.token(claimsAt(f.URL, f.clock.Now(), sid)))
		wantErr(t, sid, err, ErrSessionRevoked)
	}
	if !v.Live() || f.streamsOpened.Load() != 1 {
		t.Errorf("live=%v, %d streams: the junk broke the stream", v.Live(), f.streamsOpened.Load())
	}
}

// TestPushBadServiceKey: a refused key never goes live; FailClosed holds.
func TestPushBadServiceKey(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	cfg := f.config(true)
	cfg.ServiceKey = "wrong"
	v := newVerifier(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := v.Start(ctx); err == nil {
		t.Fatal("Start with a refused service key = nil")
	}
	_, err := v.Verify(t.Context(), k.token(claimsAt(f.URL, f.clock.Now(), "s_1")))
	wantErr(t, "never live", err, ErrUnavailable)
	if v.sub.connects.Load() < 2 {
		t.Errorf("%d attempts, want retries", v.sub.connects.Load())
	}
}

// TestLazyStart: without Start, the first Verify starts the subscriber
// (and is refused, FailClosed, since nothing is known yet).
func TestLazyStart(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	tok := k.token(claimsAt(f.URL, f.clock.Now(), "s_1"))
	_, err := v.Verify(t.Context(), tok)
	wantErr(t, "first request", err, ErrUnavailable)
	waitLive(t, v, true)
	_, err = v.Verify(t.Context(), tok)
	wantErr(t, "once live", err, nil)
	v.Close()
	v.Close()
	if v.Live() {
		t.Error("live after Close")
	}
}

func TestRevokedSetPrune(t *testing.T) {
	s := newRevokedSet(30 * time.Second)
	s.add(api.Revocation{SID: "a", Until: t0.Add(time.Hour).Unix()}, t0)
	s.add(api.Revocation{SID: "b", Until: t0.Add(2 * time.Minute).Unix()}, t0.Add(30*time.Second))
	s.add(api.Revocation{SID: "a", Until: t0.Add(time.Minute).Unix()}, t0.Add(40*time.Second)) // never shortened
	s.add(api.Revocation{SID: "c", Until: t0.Add(time.Hour).Unix()}, t0.Add(2*time.Minute+20*time.Second))
	if !s.has("b") {
		t.Error("b pruned within the leeway after its until")
	}
	s.add(api.Revocation{SID: "d", Until: t0.Add(time.Hour).Unix()}, t0.Add(3*time.Minute+30*time.Second))
	if s.has("b") || !s.has("a") || s.len() != 3 {
		t.Errorf("after prune: b=%v a=%v len=%d, want b gone, a, c, d kept", s.has("b"), s.has("a"), s.len())
	}
}
