package bearer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxauth/wxauth/api"
)

// Timing of the revocation subscriber.
const (
	// streamIdle is how long the stream may stay silent before it is
	// presumed dead and reopened: wxauth sends a ping every 15 s, so this
	// is three missed pings. A half-open TCP connection is found this way.
	streamIdle = 45 * time.Second
	// reconnectMin and reconnectMax bound the backoff between attempts;
	// each wait is jittered to half to whole of the current step.
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 30 * time.Second
	// maxEventLine bounds one line of the stream.
	maxEventLine = 16 << 10
	// pruneEvery is how often the revoked set drops expired sids.
	pruneEvery = time.Minute
	// handoverMax is how long the push stays live after wxauth ended the
	// stream with `event: reconnect` (an instance stopping cleanly) while
	// the subscriber reconnects, through the load balancer, to another
	// one. A revocation made meanwhile arrives with the new snapshot, so
	// it is at most this late: the push's 1 s target (docs/resource-servers.md).
	handoverMax = time.Second
	// retryMax caps the wait an SSE retry field may ask for.
	retryMax = 5 * time.Second
)

// errHandover ends a stream wxauth closed with `event: reconnect`.
var errHandover = errors.New("wxauth is stopping this instance's streams: reconnect")

// revokedSet is the sids revoked and still able to have live access
// tokens, each until its "until" plus the leeway (a token within the leeway
// after exp is still accepted, so its sid must still be refused).
type revokedSet struct {
	grace     time.Duration
	mu        sync.RWMutex
	sids      map[string]int64 // sid → until, Unix seconds
	lastPrune time.Time
}

func newRevokedSet(grace time.Duration) *revokedSet {
	return &revokedSet{grace: grace, sids: make(map[string]int64)}
}

func (s *revokedSet) has(sid string) bool {
	s.mu.RLock()
	_, ok := s.sids[sid]
	s.mu.RUnlock()
	return ok
}

func (s *revokedSet) add(r api.Revocation, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.sids[r.SID]; !ok || r.Until > cur {
		s.sids[r.SID] = r.Until
	}
	if now.Sub(s.lastPrune) >= pruneEvery {
		s.lastPrune = now
		for sid, until := range s.sids {
			if now.After(time.Unix(until, 0).Add(s.grace)) {
				delete(s.sids, sid)
			}
		}
	}
}

func (s *revokedSet) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sids)
}

// liveness is a boolean whose changes can be waited for.
type liveness struct {
	fast    atomic.Bool
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each change
}

func (l *liveness) get() bool { return l.fast.Load() }

func (l *liveness) set(live bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fast.Load() == live {
		return
	}
	l.fast.Store(live)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// wait returns when the value is want, or with ctx's error.
func (l *liveness) wait(ctx context.Context, want bool) error {
	for {
		l.mu.Lock()
		if l.fast.Load() == want {
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// subscriber reads the revocation push (GET /v1/revocations, see
// [api.Revocation]) into a revokedSet, reconnecting whenever it drops. It
// is live from `event: ready` (the snapshot is complete) until the stream
// ends; while not live the Verifier applies its fallback.
type subscriber struct {
	url, key string
	httpc    *http.Client
	set      *revokedSet
	now      func() time.Time
	log      *slog.Logger
	live     liveness

	idle        time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
	handoverMax time.Duration
	// retry is the stream's last SSE retry field: the wait before
	// reconnecting after a handover.
	retry time.Duration
	// epoch counts the changes of liveness decided by run and dispatch, so
	// that a handover's timer does not undo a newer stream's ready.
	epochMu    sync.Mutex
	epoch      int64
	afterEvent func(event string) // test hook, called after each event is applied
	connects   atomic.Int64       // attempts, for tests

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func newSubscriber(url, key string, c *http.Client, set *revokedSet, now func() time.Time, log *slog.Logger) *subscriber {
	return &subscriber{
		url: url, key: key, httpc: c, set: set, now: now, log: log,
		idle: streamIdle, backoffMin: reconnectMin, backoffMax: reconnectMax, handoverMax: handoverMax,
		done: make(chan struct{}),
	}
}

// start runs the subscriber unless it runs already or was closed. It is
// cheap to call on every request.
func (s *subscriber) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx)
}

func (s *subscriber) close() {
	s.mu.Lock()
	started := s.started
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	if started {
		<-s.done
	}
}

func (s *subscriber) run(ctx context.Context) {
	defer close(s.done)
	backoff := s.backoffMin
	failures := 0
	for {
		wasLive, err := s.connect(ctx)
		handover := wasLive && errors.Is(err, errHandover)
		if handover {
			s.holdLive(s.handoverMax)
		} else {
			s.setLive(false)
		}
		if ctx.Err() != nil {
			return
		}
		if handover {
			// A clean stop of that instance: no backoff, and nothing an
			// operator must act on.
			s.log.InfoContext(ctx, "bearer: wxauth instance stopping; reconnecting the revocation push", "url", s.url)
			select {
			case <-time.After(s.retry):
			case <-ctx.Done():
				return
			}
			backoff, failures = s.backoffMin, 0
			continue
		}
		if wasLive {
			s.log.WarnContext(ctx, "bearer: revocation push lost; reconnecting", "err", err, "url", s.url)
			backoff, failures = s.backoffMin, 0
		} else {
			failures++
			level := slog.LevelWarn
			if failures > 1 && failures%10 != 0 {
				level = slog.LevelDebug // one line per ten failures, not a flood
			}
			s.log.Log(ctx, level, "bearer: revocation push unreachable", "err", err, "url", s.url, "attempt", failures)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		if !wasLive {
			backoff = min(backoff*2, s.backoffMax)
		}
	}
}

// connect opens the stream and reads it until it ends. wasLive says
// whether it got as far as `event: ready`.
func (s *subscriber) connect(ctx context.Context) (wasLive bool, err error) {
	s.connects.Add(1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errSilent := fmt.Errorf("stream silent for %s", s.idle)
	watchdog := time.AfterFunc(s.idle, func() { cancel(errSilent) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := s.httpc.Do(req)
	if err != nil {
		return false, causeOf(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			s.log.ErrorContext(ctx, "bearer: wxauth refused the service key for the revocation push", "url", s.url)
		case http.StatusForbidden:
			s.log.ErrorContext(ctx, "bearer: the service key lacks the revocations scope (wxauth's service_keys)", "url", s.url)
		}
		return false, fmt.Errorf("GET %s: status %d", s.url, resp.StatusCode)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "text/event-stream" {
		return false, fmt.Errorf("GET %s: content type %q, want text/event-stream", s.url, ct)
	}

	// Server-Sent Events (WHATWG HTML §9.2.6), the subset wxauth sends:
	// `event:` and `data:` fields, `:` comments, a blank line ends an event.
	r := bufio.NewReaderSize(resp.Body, maxEventLine)
	var (
		event string
		data  []byte
	)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return wasLive, fmt.Errorf("event line longer than %d bytes", maxEventLine)
			}
			return wasLive, causeOf(ctx, err)
		}
		watchdog.Reset(s.idle)
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if event == "reconnect" {
				return wasLive, errHandover
			}
			if s.dispatch(ctx, event, data) {
				wasLive = true
			}
			event, data = "", data[:0]
			continue
		}
		if line[0] == ':' {
			continue // a ping
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			event = string(value)
		case "retry": // WHATWG HTML §9.2.6: milliseconds, digits only
			if ms, err := strconv.ParseUint(string(value), 10, 32); err == nil {
				s.retry = min(time.Duration(ms)*time.Millisecond, retryMax)
			}
		case "data":
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, value...)
		}
	}
}

// dispatch applies one event; it reports whether the push became live.
func (s *subscriber) dispatch(ctx context.Context, event string, data []byte) (ready bool) {
	switch event {
	case "revoked":
		var r api.Revocation
		if err := json.Unmarshal(data, &r); err != nil || r.SID == "" {
			s.log.WarnContext(ctx, "bearer: malformed revocation event", "err", err)
			break
		}
		s.set.add(r, s.now())
	case "ready":
		ready = true
		if !s.live.get() {
			s.log.InfoContext(ctx, "bearer: revocation push live", "url", s.url, "revoked_sids", s.set.len())
		}
		s.setLive(true)
	}
	if s.afterEvent != nil && event != "" {
		s.afterEvent(event)
	}
	return ready
}

// setLive sets the liveness and cancels a pending handover.
func (s *subscriber) setLive(live bool) {
	s.epochMu.Lock()
	defer s.epochMu.Unlock()
	s.epoch++
	s.live.set(live)
}

// holdLive keeps the push live for at most d while the stream reconnects
// after a handover: the next stream's ready or failure decides sooner.
func (s *subscriber) holdLive(d time.Duration) {
	s.epochMu.Lock()
	s.epoch++
	e := s.epoch
	s.epochMu.Unlock()
	time.AfterFunc(d, func() {
		s.epochMu.Lock()
		defer s.epochMu.Unlock()
		if s.epoch == e {
			s.live.set(false)
		}
	})
}

// causeOf prefers the reason ctx was cancelled (the watchdog) to the read
// error it caused.
func causeOf(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}
