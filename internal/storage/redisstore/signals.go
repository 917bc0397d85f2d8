package redisstore

import (
	"context"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Signals = (*Store)(nil)

// signalChannel carries every signal; the payload is the topic. One
// channel, not one per topic, so that an instance holds one subscription
// whatever the number of its waiters (on a Redis Cluster, PUBLISH reaches
// subscribers on every node).
func (s *Store) signalChannel() string { return s.prefix + "signals" }

// Signal implements [storage.Signals.Signal]: one PUBLISH.
func (s *Store) Signal(ctx context.Context, topic string) error {
	if err := s.client.Publish(ctx, s.signalChannel(), topic).Err(); err != nil {
		return wrap("signal", err)
	}
	return nil
}

// SubscribeSignals implements [storage.Signals.SubscribeSignals]. A broken
// connection ends the call with an ErrUnavailable error; the caller
// subscribes again (its waiters' safety reads cover the gap).
func (s *Store) SubscribeSignals(ctx context.Context, ready func(), fn func(string)) error {
	return s.follow(ctx, s.signalChannel(), "signal feed", ready, fn)
}

// follow subscribes to channel and hands each message's payload to fn
// until ctx ends or the connection breaks (an ErrUnavailable error named
// what). ready runs once the subscription is confirmed: from then on
// nothing published is missed.
func (s *Store) follow(ctx context.Context, channel, what string, ready func(), fn func(payload string)) error {
	sub := s.client.Subscribe(ctx, channel)
	defer sub.Close()
	// A read blocked in ReceiveMessage does not watch ctx: closing the
	// subscription is what ends it.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	if _, err := sub.Receive(ctx); err != nil {
		return wrap("subscribe to the "+what, err)
	}
	if ready != nil {
		ready()
	}
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrap(what, err)
		}
		fn(msg.Payload)
	}
}
