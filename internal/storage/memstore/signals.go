package memstore

import (
	"context"
	"sync"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Signals = (*Store)(nil)

// signals is the in-process signal fan-out: one callback per subscriber.
type signals struct {
	mu   sync.Mutex
	subs map[int]func(string)
	next int
}

// Signal implements [storage.Signals.Signal].
func (s *Store) Signal(ctx context.Context, topic string) error {
	sg := &s.signals
	sg.mu.Lock()
	subs := make([]func(string), 0, len(sg.subs))
	for _, fn := range sg.subs {
		subs = append(subs, fn)
	}
	sg.mu.Unlock()
	for _, fn := range subs {
		fn(topic)
	}
	return nil
}

// SubscribeSignals implements [storage.Signals.SubscribeSignals].
func (s *Store) SubscribeSignals(ctx context.Context, ready func(), fn func(string)) error {
	sg := &s.signals
	sg.mu.Lock()
	if sg.subs == nil {
		sg.subs = map[int]func(string){}
	}
	id := sg.next
	sg.next++
	sg.subs[id] = fn
	sg.mu.Unlock()
	defer func() {
		sg.mu.Lock()
		delete(sg.subs, id)
		sg.mu.Unlock()
	}()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	return ctx.Err()
}
