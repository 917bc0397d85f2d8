// Package revocation keeps, in each instance, the set of revoked sessions
// that other services must refuse, fed by the shared store's revocation
// feed (storage.Revocations: Redis pub/sub across instances), and fans each
// new one out to the resource servers subscribed to GET /v1/revocations.
//
// A subscriber connecting to any instance first gets every revocation
// still in force (the store keeps a record, so a freshly started instance
// knows the past too), then each new one as it happens.
package revocation

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/storage"
)

// Hub is one instance's view of the revocations and its subscribers.
type Hub struct {
	feed storage.Revocations
	now  func() time.Time
	log  *slog.Logger

	mu   sync.Mutex
	set  map[string]time.Time
	subs map[chan api.Revocation]struct{}
	live bool
}

// New makes a Hub on feed; Run makes it live.
func New(feed storage.Revocations, now func() time.Time, log *slog.Logger) *Hub {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{feed: feed, now: now, log: log, set: map[string]time.Time{},
		subs: map[chan api.Revocation]struct{}{}}
}

// Run follows the feed until ctx ends: subscribe, then load the record (so
// nothing falls between the two), then apply each event; on a broken feed,
// back off and start over.
func (h *Hub) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.feed.SubscribeRevoked(ctx, func() {
			recent, err := h.feed.RecentRevocations(ctx, h.now())
			if err != nil {
				h.log.WarnContext(ctx, "revocations: record not loaded", "err", err)
			}
			for _, r := range recent {
				h.add(r)
			}
			h.mu.Lock()
			h.live = true
			h.mu.Unlock()
			backoff = 100 * time.Millisecond
		}, h.add)
		h.mu.Lock()
		h.live = false
		h.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		h.log.WarnContext(ctx, "revocations: feed lost; resubscribing", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Live reports whether the feed is followed now.
func (h *Hub) Live() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}

func (h *Hub) add(r storage.RevokedSession) {
	now := h.now()
	if !r.Until.After(now) {
		return
	}
	ev := api.Revocation{SID: r.SID, Until: r.Until.Unix()}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sid, until := range h.set {
		if !until.After(now) {
			delete(h.set, sid)
		}
	}
	if prev, ok := h.set[r.SID]; ok && !r.Until.After(prev) {
		return
	}
	h.set[r.SID] = r.Until
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			// Too slow to keep up: drop it; it reconnects and gets the
			// snapshot again.
			close(ch)
			delete(h.subs, ch)
		}
	}
}

// Subscribe returns the revocations in force now and a channel of the new
// ones; the channel is closed if the subscriber falls behind. cancel ends
// the subscription.
func (h *Hub) Subscribe() (snapshot []api.Revocation, ch <-chan api.Revocation, cancel func()) {
	c := make(chan api.Revocation, 256)
	h.mu.Lock()
	now := h.now()
	for sid, until := range h.set {
		if until.After(now) {
			snapshot = append(snapshot, api.Revocation{SID: sid, Until: until.Unix()})
		}
	}
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	return snapshot, c, func() {
		h.mu.Lock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
		h.mu.Unlock()
	}
}

// Subscribers is the number of subscriptions open now.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
