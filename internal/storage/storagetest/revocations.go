package storagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// RunRevocations holds a storage.Revocations to its interface: what is
// published reaches a subscriber and is listed while in force.
func RunRevocations(t *testing.T, newStore func(t *testing.T) storage.Revocations) {
	t.Run("PublishSubscribe", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		got := make(chan storage.RevokedSession, 4)
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.SubscribeRevoked(ctx, func() { close(ready) }, func(r storage.RevokedSession) { got <- r })
		}()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("SubscribeRevoked ended before ready: %v", err)
		}
		until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		if err := s.PublishRevoked(t.Context(), storage.RevokedSession{SID: "s1", Until: until}); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r.SID != "s1" || !r.Until.Equal(until) {
				t.Errorf("received %+v, want s1 until %v", r, until)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a published revocation did not reach the subscriber within 5 s")
		}
		cancel()
		<-done
	})
	t.Run("Recent", func(t *testing.T) {
		s := newStore(t)
		now := time.Now()
		for sid, d := range map[string]time.Duration{"live": time.Hour, "soon": time.Minute, "gone": -time.Minute} {
			if err := s.PublishRevoked(t.Context(), storage.RevokedSession{SID: sid, Until: now.Add(d)}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.RecentRevocations(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range list {
			seen[r.SID] = true
		}
		if !seen["live"] || !seen["soon"] || seen["gone"] || len(list) != 2 {
			t.Errorf("RecentRevocations = %+v, want live and soon", list)
		}
		if list, _ := s.RecentRevocations(t.Context(), now.Add(2*time.Minute)); len(list) != 1 || list[0].SID != "live" {
			t.Errorf("RecentRevocations later = %+v, want only live", list)
		}
	})
	t.Run("ManySubscribers", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const n = 5
		var wg, readyWG sync.WaitGroup
		counts := make([]chan string, n)
		readyWG.Add(n)
		for i := range n {
			counts[i] = make(chan string, 1)
			wg.Go(func() {
				_ = s.SubscribeRevoked(ctx, readyWG.Done, func(r storage.RevokedSession) {
					select {
					case counts[i] <- r.SID:
					default:
					}
				})
			})
		}
		readyWG.Wait()
		if err := s.PublishRevoked(t.Context(), storage.RevokedSession{SID: "s2", Until: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			select {
			case sid := <-counts[i]:
				if sid != "s2" {
					t.Errorf("subscriber %d got %q", i, sid)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("subscriber %d got nothing", i)
			}
		}
		cancel()
		wg.Wait()
	})
}
