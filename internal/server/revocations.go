package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/storage"
)

// maxStreamsPerKey caps the revocation streams one service key may hold
// open on one instance: a resource server needs one per process, a few
// during a rolling restart; a leaking or hostile client gets 429 instead
// of pinning the instance's memory (docs/api.md "Revocation push").
const maxStreamsPerKey = 8

// streamRetryAfter is the Retry-After of a stream refused by the cap.
const streamRetryAfter = 5 * time.Second

// streamRetry is the SSE retry field of the event that ends a stream
// when the instance stops: reconnect soon, to another instance (the load
// balancer has taken this one out; docs/api.md "GET /v1/revocations").
const streamRetry = 100 * time.Millisecond

// openStream counts a stream of the service key name, or refuses it at
// the cap; done uncounts it.
func (s *Server) openStream(name string) (done func(), err error) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[name] >= maxStreamsPerKey {
		return nil, errTooManyStreams.Sayf("the service key %q has %d revocation streams open on this instance, the most allowed; close one", name, maxStreamsPerKey).
			Because(&storage.LimitError{Key: "revocation_streams:" + name, RetryAfter: streamRetryAfter})
	}
	s.streams[name]++
	return func() {
		s.streamsMu.Lock()
		defer s.streamsMu.Unlock()
		if s.streams[name]--; s.streams[name] == 0 {
			delete(s.streams, name)
		}
	}, nil
}

// openStreams is the number of revocation streams open on this instance.
func (s *Server) openStreams() int {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	n := 0
	for _, c := range s.streams {
		n += c
	}
	return n
}

// revocations is GET /v1/revocations (service key): the revocation push as
// Server-Sent Events (see api.Revocation). Resource servers keep the set in
// memory and refuse a revoked session's tokens without asking wxauth on
// every request. Each write must finish within StreamWriteTimeout, so a
// subscriber that stops reading is dropped rather than holding its
// goroutine and buffers.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Revocations == nil {
		return errNotFound("the revocation push is not configured")
	}
	_, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("revocations: streaming unsupported")
	}
	if !s.cfg.Revocations.Live() {
		return errFeedNotLive
	}
	name, _ := r.Context().Value(serviceKeyNameKey{}).(string)
	done, err := s.openStream(name)
	if err != nil {
		return err
	}
	defer done()
	snapshot, events, cancel := s.cfg.Revocations.Subscribe()
	defer cancel()
	// The stream outlives the server's write timeout; each write has its
	// own deadline instead.
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(s.cfg.StreamWriteTimeout)) }
	deadline()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(ev api.Revocation) error {
		deadline()
		b, _ := json.Marshal(ev)
		_, err := fmt.Fprintf(w, "event: revoked\ndata: %s\n\n", b)
		return err
	}
	for _, ev := range snapshot {
		if send(ev) != nil {
			return nil
		}
	}
	deadline()
	fmt.Fprint(w, "event: ready\ndata: {}\n\n")
	if rc.Flush() != nil {
		return nil
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.endStream:
			deadline()
			fmt.Fprintf(w, "retry: %d\nevent: reconnect\ndata: {}\n\n", streamRetry.Milliseconds())
			rc.Flush()
			return nil
		case ev, open := <-events:
			if !open {
				return nil // fell behind: the client reconnects for a fresh snapshot
			}
			if send(ev) != nil || rc.Flush() != nil {
				return nil
			}
		case <-ping.C:
			deadline()
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
	}
}
