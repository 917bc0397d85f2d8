package storage

import "context"

// Signals wakes waiters on every instance: a QR login's browser may wait
// on one instance while the phone confirms on another. A signal carries
// only a topic (a ticket), never data: the waiter reads the state itself,
// so a lost signal only delays it until its next safety read. Redis
// pub/sub in production, an in-process fan-out in memstore.
type Signals interface {
	// Signal tells every subscriber, on every instance, that topic
	// changed.
	Signal(ctx context.Context, topic string) error
	// SubscribeSignals calls fn for every signal sent from the moment the
	// subscription is established (ready is called then) until ctx ends
	// or the subscription breaks; it returns the reason. One subscription
	// per instance serves all its waiters: fn must not block.
	SubscribeSignals(ctx context.Context, ready func(), fn func(topic string)) error
}
