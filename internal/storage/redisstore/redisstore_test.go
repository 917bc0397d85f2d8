package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
	"github.com/wxauth/wxauth/wechat"
)

// The conformance suites run on one node and on a cluster, each when its
// variable names a Redis to use (for example redis://127.0.0.1:6379/15 and
// redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003, as
// .ci/redis-cluster.sh prints). Every subtest gets its own key prefix and
// deletes its keys afterwards.
var backends = []struct{ name, env string }{
	{"Node", "WXAUTH_TEST_REDIS_URL"},
	{"Cluster", "WXAUTH_TEST_REDIS_CLUSTER_URL"},
}

func TestSessions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunSessions(t, func(t *testing.T) storage.Sessions { return openTest(t, url) })
		})
	}
}

func TestOneTime(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunOneTime(t, func(t *testing.T) storage.OneTime { return openTest(t, url) })
		})
	}
}

func TestLimiter(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter { return openTest(t, url) })
		})
	}
}

func TestTokenCache(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunTokenCache(t, func(t *testing.T) wechat.TokenCache { return openTest(t, url) })
		})
	}
}

func TestRevocations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunRevocations(t, func(t *testing.T) storage.Revocations { return openTest(t, url) })
		})
	}
}

func TestSignals(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := testURL(t, b.env)
			storagetest.RunSignals(t, func(t *testing.T) (storage.Signals, storage.Signals) {
				a := openTest(t, url)
				b, err := Open(t.Context(), Config{URL: url, Prefix: a.prefix})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return a, b
			})
		})
	}
}

func testURL(t testing.TB, env string) string {
	t.Helper()
	url := os.Getenv(env)
	if url == "" {
		t.Skipf("%s is not set", env)
	}
	return url
}

var prefixSeq atomic.Int64

// openTest opens a store on url under a key prefix of its own, and on
// cleanup checks that every key it left has an expiry, then deletes them.
func openTest(t testing.TB, url string) *Store {
	t.Helper()
	prefix := fmt.Sprintf("wxauthtest:%d-%d-%d:", os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
	s, err := Open(t.Context(), Config{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", url, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		err := forEachNode(ctx, s.client, func(ctx context.Context, c *redis.Client) error {
			keys, err := scanKeys(ctx, c, prefix+"*")
			if err != nil {
				return err
			}
			for _, k := range keys {
				if ttl := c.PTTL(ctx, k).Val(); ttl == -1 {
					t.Errorf("key %q has no expiry; every key must end by itself", k)
				}
				// One by one: on a cluster the keys are in different slots.
				if err := c.Del(ctx, k).Err(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Errorf("deleting the test keys: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

// forEachNode runs fn on every master of a cluster, or on the one node.
func forEachNode(ctx context.Context, c redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("unexpected client %T", c)
}

func scanKeys(ctx context.Context, c *redis.Client, pattern string) ([]string, error) {
	var keys []string
	it := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	return keys, it.Err()
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url      string
		kind     string // single, cluster, failover
		addrs    []string
		db       int
		user, pw string
		master   string
		tls      bool
		poolSize int
	}{
		{url: "redis://127.0.0.1:6379/15", kind: "single", addrs: []string{"127.0.0.1:6379"}, db: 15},
		{url: "redis://localhost", kind: "single", addrs: []string{"localhost:6379"}},
		{url: "rediss://app:s3cret@redis.example.com:6380/2?pool_size=7", kind: "single", addrs: []string{"redis.example.com:6380"}, db: 2, user: "app", pw: "s3cret", tls: true, poolSize: 7},
		{url: "redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", kind: "cluster", addrs: []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}},
		{url: "rediss+cluster://:pw@h1:7001,h2:7002/?pool_size=5", kind: "cluster", addrs: []string{"h1:7001", "h2:7002"}, pw: "pw", tls: true, poolSize: 5},
		{url: "redis+cluster://h1:7001", kind: "cluster", addrs: []string{"h1:7001"}},
		{url: "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster/3?password=nodepw", kind: "failover", addrs: []string{"s1:26379", "s2:26379", "s3:26379"}, master: "mymaster", db: 3, pw: "nodepw"},
		{url: "redis+sentinel://sentinel:spw@s1:26379/mymaster", kind: "failover", addrs: []string{"s1:26379"}, master: "mymaster"},
	}
	for _, tt := range tests {
		c, err := parseURL(tt.url)
		if err != nil {
			t.Errorf("parseURL(%q) = %v, want nil", tt.url, err)
			continue
		}
		var kind, user, pw, master string
		var addrs []string
		var db, poolSize int
		var tls bool
		switch {
		case c.single != nil:
			kind, addrs, db, user, pw, tls, poolSize = "single", []string{c.single.Addr}, c.single.DB, c.single.Username, c.single.Password, c.single.TLSConfig != nil, c.single.PoolSize
		case c.cluster != nil:
			kind, addrs, user, pw, tls, poolSize = "cluster", c.cluster.Addrs, c.cluster.Username, c.cluster.Password, c.cluster.TLSConfig != nil, c.cluster.PoolSize
		case c.failover != nil:
			kind, addrs, db, user, pw, master, tls = "failover", c.failover.SentinelAddrs, c.failover.DB, c.failover.Username, c.failover.Password, c.failover.MasterName, c.failover.TLSConfig != nil
		}
		got := fmt.Sprint(kind, addrs, db, user, pw, master, tls, poolSize)
		want := fmt.Sprint(tt.kind, tt.addrs, tt.db, tt.user, tt.pw, tt.master, tt.tls, tt.poolSize)
		if got != want {
			t.Errorf("parseURL(%q) = %s, want %s", tt.url, got, want)
		}
	}

	for _, bad := range []string{
		"", "127.0.0.1:6379", "http://h:1", "redis+ring://h:1", "redis+cluster://h1:1,,h2:2",
		"redis+cluster://h1:1,h2:2/3", "redis+sentinel://s1:26379", "redis://h:1/x",
	} {
		if _, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%q) = nil, want an error", bad)
		}
	}
}

func TestOpenBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: ""},
		{URL: "redis://127.0.0.1:6379", Prefix: "{app}:"},
	} {
		if s, err := Open(t.Context(), cfg); err == nil {
			s.Close()
			t.Errorf("Open(%+v) = nil, want an error", cfg)
		}
	}
}

// TestOpenUnavailable: a Redis that refuses connections, and one that
// accepts them and never answers, both give ErrUnavailable within the
// configured timeouts.
func TestOpenUnavailable(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // read nothing, answer nothing
		}
	}()

	for _, url := range []string{
		"redis://" + refusedAddr,
		"redis://" + silent.Addr().String(),
		"redis+cluster://" + refusedAddr + "," + silent.Addr().String(),
	} {
		began := time.Now()
		s, err := Open(t.Context(), Config{URL: url, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, DialTimeout: 200 * time.Millisecond, PoolTimeout: 200 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Open(%q) = %v, want ErrUnavailable", url, err)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("Open(%q) took %v, want well under 3s", url, d)
		}
	}
}

// TestIndex checks the user index beyond what the interface shows: entries
// go with their sessions, however they end.
func TestIndex(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openTest(t, testURL(t, b.env))
			ctx := t.Context()
			now := time.Now().UTC()
			for i := range 4 {
				sess := storage.Session{
					ID: fmt.Sprintf("s%d", i), UserID: "u1", App: "mp", CreatedAt: now, LastUsedAt: now,
					ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(2 * time.Hour),
				}
				sess.Hash[0] = byte(i)
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatalf("CreateSession(s%d) = %v", i, err)
				}
			}
			wantIndex := func(want int64) {
				t.Helper()
				if n := s.client.HLen(ctx, s.userKey("u1")).Val(); n != want {
					t.Errorf("index of u1 has %d entries, want %d", n, want)
				}
			}
			wantIndex(4)
			// A taken id leaves no entry in another user's index, and keeps
			// its own user's (a create sent again after a lost reply).
			for _, user := range []string{"u2", "u1"} {
				dup := storage.Session{ID: "s3", UserID: user, ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(2 * time.Hour)}
				if err := s.CreateSession(ctx, dup); !errors.Is(err, storage.ErrConflict) {
					t.Fatalf("CreateSession(s3 again, %s) = %v, want ErrConflict", user, err)
				}
			}
			if n := s.client.HLen(ctx, s.userKey("u2")).Val(); n != 0 {
				t.Errorf("index of u2 has %d entries after a refused create, want 0", n)
			}
			wantIndex(4)
			// The index outlives the sessions' absolute expiry, not just their idle one.
			if ttl := s.client.PTTL(ctx, s.userKey("u1")).Val(); ttl < 2*time.Hour-time.Minute || ttl > 2*time.Hour+time.Second {
				t.Errorf("index TTL = %v, want about 2h", ttl)
			}
			if err := s.RevokeSession(ctx, "s0"); err != nil {
				t.Fatal(err)
			}
			wantIndex(3)
			// Reuse deletes the session and its entry.
			req := storage.RotateRequest{SessionID: "s1", Gen: 0, Now: now, Grace: time.Second, IdleTTL: time.Hour}
			req.Hash[0] = 1
			if _, out, err := s.Rotate(ctx, req); err != nil || out != storage.Rotated {
				t.Fatalf("Rotate(s1) = %v, %v", out, err)
			}
			req.Now = now.Add(time.Minute)
			if _, out, err := s.Rotate(ctx, req); err != nil || out != storage.Reused {
				t.Fatalf("Rotate(s1) again = %v, %v", out, err)
			}
			wantIndex(2)
			// A session that vanished behind the store's back (expiry) is pruned on listing.
			s.client.Del(ctx, s.sessionKey("s2"))
			if list, err := s.UserSessions(ctx, "u1", now); err != nil || len(list) != 1 {
				t.Fatalf("UserSessions(u1) = %d, %v; want 1", len(list), err)
			}
			wantIndex(1)
			if n, err := s.RevokeUserSessions(ctx, "u1"); err != nil || n != 1 {
				t.Fatalf("RevokeUserSessions(u1) = %d, %v; want 1", n, err)
			}
			if n := s.client.Exists(ctx, s.userKey("u1")).Val(); n != 0 {
				t.Errorf("index of u1 still exists after revoking everything")
			}
		})
	}
}

// TestScriptFlushed: scripts missing from the server's cache (a restart, a
// failover, SCRIPT FLUSH) are sent again, on the single and the pipelined
// paths.
func TestScriptFlushed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openTest(t, testURL(t, b.env))
			ctx := t.Context()
			now := time.Now().UTC()
			for i := range 3 {
				sess := storage.Session{ID: fmt.Sprintf("s%d", i), UserID: "u1", ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			if err := forEachNode(ctx, s.client, func(ctx context.Context, c *redis.Client) error {
				return c.ScriptFlush(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
			// CreateSession sends both of its scripts again.
			if err := s.CreateSession(ctx, storage.Session{ID: "s3", UserID: "u1", ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatalf("CreateSession(s3) after SCRIPT FLUSH = %v, want nil", err)
			}
			if n := s.client.HLen(ctx, s.userKey("u1")).Val(); n != 4 {
				t.Errorf("index of u1 has %d entries, want 4", n)
			}
			// Only the index script missing.
			if err := forEachNode(ctx, s.client, func(ctx context.Context, c *redis.Client) error {
				if err := c.ScriptFlush(ctx).Err(); err != nil {
					return err
				}
				return createScript.Load(ctx, c).Err()
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateSession(ctx, storage.Session{ID: "s4", UserID: "u1", ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatalf("CreateSession(s4) after SCRIPT FLUSH = %v, want nil", err)
			}
			if err := forEachNode(ctx, s.client, func(ctx context.Context, c *redis.Client) error {
				return c.ScriptFlush(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.RevokeUserSessions(ctx, "u1"); err != nil || n != 5 {
				t.Errorf("RevokeUserSessions(u1) after SCRIPT FLUSH = %d, %v; want 5, nil", n, err)
			}
		})
	}
}

// TestUnavailableAfterOpen: when Redis goes away under an open store, every
// kind of call fails fast with ErrUnavailable.
func TestUnavailableAfterOpen(t *testing.T) {
	opts, err := redis.ParseURL(testURL(t, "WXAUTH_TEST_REDIS_URL"))
	if err != nil || opts.TLSConfig != nil || opts.Password != "" {
		t.Skipf("needs a plain redis://host:port URL in WXAUTH_TEST_REDIS_URL (err %v)", err)
	}
	target := opts.Addr
	// A proxy in front of the node, to pull the plug on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go io.Copy(up, c)
			go io.Copy(c, up)
		}
	}()
	// Not openTest: nothing gets written, and there is no Redis left to clean.
	s, err := Open(t.Context(), Config{URL: "redis://" + ln.Addr().String(), Prefix: "wxauthtest:gone:"})
	if err != nil {
		t.Fatalf("Open() through the proxy = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping() through the proxy = %v, want nil", err)
	}
	ln.Close()
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()

	calls := map[string]func() error{
		"Session": func() error { _, err := s.Session(ctx, "s1", time.Now()); return err },
		"Rotate": func() error {
			_, _, err := s.Rotate(ctx, storage.RotateRequest{SessionID: "s1", Now: time.Now()})
			return err
		},
		"CreateSession": func() error {
			return s.CreateSession(ctx, storage.Session{ID: "s1", ExpiresAt: time.Now().Add(time.Hour), MaxExpiresAt: time.Now().Add(time.Hour)})
		},
		"RevokeUserSessions": func() error { _, err := s.RevokeUserSessions(ctx, "u1"); return err },
		"Take":               func() error { _, err := s.Take(ctx, "k"); return err },
		"Allow": func() error {
			_, _, err := s.Allow(ctx, "k", 1, time.Minute, time.Now())
			return err
		},
	}
	for name, call := range calls {
		began := time.Now()
		if err := call(); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s() with Redis gone = %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("%s() with Redis gone took %v, want well under 3s", name, d)
		}
	}
}
