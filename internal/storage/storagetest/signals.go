package storagetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// RunSignals holds a storage.Signals to its interface: a signal reaches
// every subscriber, including one on another store handle sharing the
// backend (another instance), and a subscription ends with its context.
// newPair returns two handles on one backend, as two instances hold.
func RunSignals(t *testing.T, newPair func(t *testing.T) (storage.Signals, storage.Signals)) {
	t.Run("EverySubscriber", func(t *testing.T) {
		pub, other := newPair(t)
		subs := []storage.Signals{pub, other}
		topic := "t-" + time.Now().Format("150405.000000000")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type got struct {
			i     int
			topic string
		}
		ch := make(chan got, 16)
		var wg sync.WaitGroup
		for i, s := range subs {
			ready := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.SubscribeSignals(ctx, func() { close(ready) }, func(tp string) { ch <- got{i, tp} })
			}()
			select {
			case <-ready:
			case <-time.After(5 * time.Second):
				t.Fatalf("subscriber %d not ready within 5 s", i)
			}
		}
		if err := pub.Signal(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		var seen []int
		for len(seen) < len(subs) {
			select {
			case g := <-ch:
				if g.topic == topic && !slices.Contains(seen, g.i) {
					seen = append(seen, g.i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("signal reached subscribers %v of %d within 5 s", seen, len(subs))
			}
		}
		cancel()
		wg.Wait() // every SubscribeSignals returned once ctx ended
	})
}
