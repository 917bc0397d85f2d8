package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Limiter = (*Store)(nil)

// windowCounters holds a Store's rate-limit counters under their own lock.
// Its zero value is empty and ready. A counter is dead once its window has
// ended by the latest now a hit carried; dead counters are swept after as
// many hits as there are counters (at least minSweepEvery).
type windowCounters struct {
	mu             sync.Mutex
	counts         map[counterKey]*counter
	latest         int64 // Unix ns
	hitsSinceSweep int
}

// counterKey names one window of one key: windows of different lengths
// count apart.
type counterKey struct {
	key    string
	window time.Duration
	index  int64
}

type counter struct {
	n   int
	end int64 // Unix ns at which the window ends
}

// Allow implements [storage.Limiter.Allow]. Windows are aligned on the Unix
// epoch: window i covers [i·window, (i+1)·window).
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, fmt.Errorf("memstore: allow %q: window %v is not positive", key, window)
	}
	ns := now.UnixNano()
	idx := ns / int64(window)
	if ns%int64(window) < 0 {
		idx--
	}
	end := (idx + 1) * int64(window)

	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[counterKey]*counter)
	}
	k := counterKey{key, window, idx}
	cnt, ok := c.counts[k]
	if !ok {
		cnt = &counter{end: end}
		c.counts[k] = cnt
	}
	cnt.n++
	n := cnt.n

	c.latest = max(c.latest, ns)
	c.hitsSinceSweep++
	if c.hitsSinceSweep >= max(minSweepEvery, len(c.counts)) {
		c.hitsSinceSweep = 0
		for k, v := range c.counts {
			if v.end <= c.latest {
				delete(c.counts, k)
			}
		}
	}

	if n <= limit {
		return true, 0, nil
	}
	return false, max(time.Duration(end-ns), time.Second), nil
}
