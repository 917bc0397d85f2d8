package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
)

// oneTimeKey is the key of a one-time item.
func (s *Store) oneTimeKey(key string) string { return s.prefix + "o:{" + key + "}" }

// PutOnce implements [storage.OneTime.PutOnce] with SET NX PX. A ttl under a
// millisecond counts as one.
func (s *Store) PutOnce(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: put %q: ttl %v is not positive", key, ttl)
	}
	ttl = max(ttl, time.Millisecond)
	ok, err := s.client.SetNX(ctx, s.oneTimeKey(key), value, ttl).Result()
	if err != nil {
		return wrap("put once", err)
	}
	if !ok {
		return fmt.Errorf("redisstore: one-time item %q exists: %w", key, storage.ErrConflict)
	}
	return nil
}

// Take implements [storage.OneTime.Take] with GETDEL (Redis 6.2 and later),
// atomic on the server.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.GetDel(ctx, s.oneTimeKey(key)).Bytes()
	return oneTimeResult(key, "take", v, err)
}

// Get implements [storage.OneTime.Get].
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.Get(ctx, s.oneTimeKey(key)).Bytes()
	return oneTimeResult(key, "get", v, err)
}

// swapScript is CompareAndSwap on one key: 0 absent, 1 another value, 2
// swapped.
var swapScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 2
`)

// CompareAndSwap implements [storage.OneTime.CompareAndSwap] with one
// script, atomic on the server (one key: fine on a cluster).
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, next []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: swap %q: ttl %v is not positive", key, ttl)
	}
	ttl = max(ttl, time.Millisecond)
	n, err := swapScript.Run(ctx, s.client, []string{s.oneTimeKey(key)}, old, next, ttl.Milliseconds()).Int()
	switch {
	case err != nil:
		return wrap("swap", err)
	case n == 0:
		return fmt.Errorf("redisstore: one-time item %q: %w", key, storage.ErrNotFound)
	case n == 1:
		return fmt.Errorf("redisstore: one-time item %q changed: %w", key, storage.ErrConflict)
	}
	return nil
}

func oneTimeResult(key, op string, v []byte, err error) ([]byte, error) {
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: one-time item %q: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	return v, nil
}

// Allow implements [storage.Limiter.Allow]: windows are aligned on the Unix
// epoch (window i covers [i·window, (i+1)·window)), and each has its own
// counter, whose name holds i, counted by one script (INCR, and PEXPIRE on
// the first hit). Only the window's index comes from now, so instances
// whose clocks differ a little agree on the counts.
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, fmt.Errorf("redisstore: allow %q: window %v is not positive", key, window)
	}
	c := s.counter(key, window, now)
	n, err := allowScript.Run(ctx, s.client, []string{c.key}, c.keep.Milliseconds()).Int64()
	if err != nil {
		return false, 0, wrap("allow", err)
	}
	if n <= int64(limit) {
		return true, 0, nil
	}
	return false, c.retry, nil
}

// counter is the Redis side of one fixed-window count.
type counter struct {
	key   string
	keep  time.Duration // how long the counter key lives: its window, plus a second
	retry time.Duration // when a refused caller may try again: the window's end, at least 1s
}

func (s *Store) counter(key string, window time.Duration, now time.Time) counter {
	idx, end := windowOf(now, window)
	return counter{
		key:   s.prefix + "l:{" + key + "}:" + window.String() + ":" + strconv.FormatInt(idx, 10),
		keep:  end.Sub(now) + time.Second,
		retry: max(end.Sub(now), time.Second),
	}
}

// windowOf returns the index of the epoch-aligned window of length w that
// holds t, and the window's end.
func windowOf(t time.Time, w time.Duration) (int64, time.Time) {
	ns := t.UnixNano()
	idx := ns / int64(w)
	if ns%int64(w) < 0 {
		idx--
	}
	return idx, time.Unix(0, (idx+1)*int64(w))
}
