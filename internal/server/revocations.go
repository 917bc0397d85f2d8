package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/api"
)

// revocations is GET /v1/revocations (service key): the revocation push as
// Server-Sent Events (see api.Revocation). Resource servers keep the set in
// memory and refuse a revoked session's tokens without asking wxauth on
// every request.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Revocations == nil {
		return errNotFound("the revocation push is not configured")
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("revocations: streaming unsupported")
	}
	if !s.cfg.Revocations.Live() {
		return errFeedNotLive
	}
	snapshot, events, cancel := s.cfg.Revocations.Subscribe()
	defer cancel()
	// The stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(ev api.Revocation) error {
		b, _ := json.Marshal(ev)
		_, err := fmt.Fprintf(w, "event: revoked\ndata: %s\n\n", b)
		return err
	}
	for _, ev := range snapshot {
		if send(ev) != nil {
			return nil
		}
	}
	fmt.Fprint(w, "event: ready\ndata: {}\n\n")
	flusher.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case ev, open := <-events:
			if !open {
				return nil // fell behind: the client reconnects for a fresh snapshot
			}
			if send(ev) != nil {
				return nil
			}
			flusher.Flush()
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			flusher.Flush()
		}
	}
}
