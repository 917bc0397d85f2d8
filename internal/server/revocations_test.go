package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/revocation"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

// A subscriber that never reads is dropped once a write has waited
// StreamWriteTimeout, and both the per-key count and the hub's
// subscriptions return to zero: a stuck reader cannot pin the stream's
// goroutine and buffers.
func TestRevocationStreamDropsStuckReader(t *testing.T) {
	const key, timeout = "stuck-key-0123456789", 300 * time.Millisecond
	store := memstore.New()
	hub := revocation.New(store, nil, nil)
	go hub.Run(t.Context())
	// About 8 MB of snapshot: more than the socket buffers on both sides
	// hold, so the server's writes block while the client does not read.
	sidPad := strings.Repeat("x", 8<<10)
	until := time.Now().Add(time.Hour)
	for i := range 1000 {
		if err := store.PublishRevoked(t.Context(), storage.RevokedSession{SID: fmt.Sprintf("%d-%s", i, sidPad), Until: until}); err != nil {
			t.Fatal(err)
		}
	}
	for !hub.Live() {
		time.Sleep(time.Millisecond)
	}
	s := &Server{cfg: Config{Revocations: hub, StreamWriteTimeout: timeout}, log: slog.New(slog.DiscardHandler),
		serviceKeys: newServiceKeys([]ServiceKey{{Name: "stuck", Secret: key, Scopes: []string{api.ScopeRevocations}}}),
		streams:     map[string]int{}}
	h := s.serviceOnly(api.ScopeRevocations, s.revocations)
	returned := make(chan time.Time, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		returned <- time.Now()
	}))
	defer hs.Close()

	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /v1/revocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", key)
	// … and never read.
	select {
	case <-returned:
	case <-time.After(timeout + 10*time.Second):
		t.Fatalf("the stream to a reader that never reads was not dropped (write timeout %v)", timeout)
	}
	if n := s.openStreams(); n != 0 {
		t.Errorf("open streams after the drop = %d, want 0", n)
	}
	if n := hub.Subscribers(); n != 0 {
		t.Errorf("hub subscribers after the drop = %d, want 0", n)
	}
}
