package wakeup_test

import (
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/wakeup"
)

// Many waiters on one topic share the hub's one subscription; a signal
// wakes all of them and none of another topic's.
func TestHubFansOut(t *testing.T) {
	h := wakeup.New(memstore.New(), nil, nil)
	go h.Run(t.Context())
	<-h.Ready()
	const n = 200
	chans := make([]<-chan struct{}, n)
	for i := range n {
		ch, stop := h.Watch("ticket-a")
		defer stop()
		chans[i] = ch
	}
	other, stopOther := h.Watch("ticket-b")
	defer stopOther()
	if got := h.Waiting("ticket-a"); got != n {
		t.Fatalf("Waiting = %d, want %d", got, n)
	}
	// Signalled from many goroutines at once: every waiter wakes, none
	// blocks the deliverer.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); h.Signal(t.Context(), "ticket-a") }()
	}
	wg.Wait()
	for i, ch := range chans {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter %d not woken", i)
		}
	}
	select {
	case <-other:
		t.Error("a waiter of another topic woke")
	default:
	}
}

func TestWatchStops(t *testing.T) {
	h := wakeup.New(memstore.New(), nil, nil)
	_, stop := h.Watch("x")
	stop()
	if got := h.Waiting("x"); got != 0 {
		t.Errorf("Waiting after stop = %d, want 0", got)
	}
}
