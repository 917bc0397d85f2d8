// Package wakeup wakes the requests of one instance that wait on a topic
// (a QR login's browser waiting on its ticket) when any instance signals
// it. The instance holds one subscription to storage.Signals, however many
// requests wait: a Hub fans each signal out to the local waiters of its
// topic. A signal is only a hint; waiters read the state themselves, and
// re-read it on a slow timer of their own, so a signal lost with a broken
// subscription only delays them.
package wakeup

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// Hub is one instance's subscription and its waiters by topic.
type Hub struct {
	sig   storage.Signals
	after func(time.Duration) <-chan time.Time
	log   *slog.Logger

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
	ready   chan struct{}
	once    sync.Once
}

// New makes a Hub on sig; Run makes it live. after times the pause before
// subscribing again after a broken subscription (nil: time.After); log nil
// discards.
func New(sig storage.Signals, after func(time.Duration) <-chan time.Time, log *slog.Logger) *Hub {
	if after == nil {
		after = time.After
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{sig: sig, after: after, log: log, waiters: map[string]map[chan struct{}]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the first subscription is established: from then on
// no signal sent is missed while it lasts.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run holds the subscription until ctx ends, subscribing again a second
// after it breaks.
func (h *Hub) Run(ctx context.Context) {
	for {
		err := h.sig.SubscribeSignals(ctx, func() { h.once.Do(func() { close(h.ready) }) }, h.deliver)
		if ctx.Err() != nil {
			return
		}
		h.log.WarnContext(ctx, "signal subscription broke; waiters fall back to their slow re-read until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-h.after(time.Second):
		}
	}
}

// deliver wakes the waiters of topic without blocking: each channel holds
// one pending wake.
func (h *Hub) deliver(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.waiters[topic] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Watch returns a channel that receives after topic is signalled, and the
// function that stops watching (call it when done).
func (h *Hub) Watch(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	set := h.waiters[topic]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		h.waiters[topic] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.waiters[topic], ch)
		if len(h.waiters[topic]) == 0 {
			delete(h.waiters, topic)
		}
	}
}

// Signal tells every instance's waiters of topic.
func (h *Hub) Signal(ctx context.Context, topic string) error { return h.sig.Signal(ctx, topic) }

// Waiting is how many channels watch topic on this instance.
func (h *Hub) Waiting(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiters[topic])
}
