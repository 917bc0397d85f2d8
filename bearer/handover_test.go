package bearer

import (
	"testing"
	"time"
)

// reconnectEvent is how wxauth ends its streams when an instance stops
// cleanly (docs/api.md "GET /v1/revocations").
const reconnectEvent = "retry: 100\nevent: reconnect\ndata: {}\n\n"

// TestPushHandover: a stream ended by `event: reconnect` is reopened at
// once and the push stays live meanwhile, so a rolling restart of wxauth
// costs FailClosed services no 503; a revocation made during the handover
// arrives with the new stream's snapshot.
func TestPushHandover(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	v.sub.handoverMax = time.Hour // the next stream's answer decides, not the bound
	events := watchEvents(v)
	start(t, v)
	ctx := t.Context()
	now := f.clock.Now()
	good := k.token(claimsAt(f.URL, now, "s_good"))
	during := k.token(claimsAt(f.URL, now, "s_during"))

	arrived, release := f.gateStreams()
	f.send(reconnectEvent)
	<-arrived // the subscriber is reconnecting; the new stream is held
	if !v.Live() {
		t.Fatal("Live() = false during a handover, want true")
	}
	_, err := v.Verify(ctx, good)
	wantErr(t, "during the handover", err, nil)
	f.revoke("s_during")

	release()
	waitRevoked(t, v, events, "s_during")
	_, err = v.Verify(ctx, during)
	wantErr(t, "revoked during the handover, from the new snapshot", err, ErrSessionRevoked)
	if n := f.streamsOpened.Load(); n != 2 {
		t.Errorf("%d streams opened, want 2", n)
	}
	if v.sub.retry != 100*time.Millisecond {
		t.Errorf("retry = %v, want the stream's retry field, 100ms", v.sub.retry)
	}
}

// TestPushHandoverBounded: a handover that does not finish within its
// bound falls back like any lost push, and goes live again with the new
// stream.
func TestPushHandoverBounded(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	v.sub.handoverMax = time.Nanosecond
	start(t, v)
	good := k.token(claimsAt(f.URL, f.clock.Now(), "s_good"))

	arrived, release := f.gateStreams()
	f.send(reconnectEvent)
	<-arrived
	waitLive(t, v, false)
	_, err := v.Verify(t.Context(), good)
	wantErr(t, "handover past its bound", err, ErrUnavailable)
	release()
	waitLive(t, v, true)
	_, err = v.Verify(t.Context(), good)
	wantErr(t, "after the handover", err, nil)
}

// TestPushHandoverRefused: a handover whose reconnect is refused ends it
// at once: the push is not live while no stream is.
func TestPushHandoverRefused(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	v.sub.handoverMax = time.Hour
	start(t, v)
	f.mu.Lock()
	f.refuseStream = true
	f.mu.Unlock()
	f.send(reconnectEvent)
	waitLive(t, v, false)
	f.restore()
	waitLive(t, v, true)
}
