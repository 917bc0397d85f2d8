package login

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/redisstore"
	"github.com/wxauth/wxauth/internal/wakeup"
)

// The QR benchmarks (docs/benchmarks.md "QR login"): what a waiting
// browser costs and how fast a confirm reaches it while qrWaiters other
// browsers wait, on memstore and on Redis.

const qrWaiters = 1000

// qrBench is a service whose tickets live in store (memstore or Redis)
// and whose browsers wake through a hub on it.
func qrBench(b *testing.B, backend string) (*fixture, *wakeup.Hub, *redis.Client, string) {
	var (
		oneTime storage.OneTime
		rc      *redis.Client
		prefix  string
	)
	f := newFixture(b)
	switch backend {
	case "memstore":
		oneTime = f.store
	case "redis":
		url := os.Getenv("WXAUTH_TEST_REDIS_URL")
		if url == "" {
			b.Skip("WXAUTH_TEST_REDIS_URL is not set")
		}
		prefix = fmt.Sprintf("wxauthbench:%d:", time.Now().UnixNano())
		rs, err := redisstore.Open(context.Background(), redisstore.Config{URL: url, Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rs.Close() })
		oneTime = rs
		opt, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		rc = redis.NewClient(opt)
		b.Cleanup(func() { rc.Close() })
	}
	hub := wakeup.New(oneTime.(storage.Signals), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go hub.Run(ctx)
	<-hub.Ready()
	cfg := f.svc.cfg
	cfg.OneTime, cfg.Wake, cfg.QRAfter = oneTime, hub, nil
	svc, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	f.svc = svc
	return f, hub, rc, prefix
}

func benchTicket(b *testing.B, f *fixture) QRTicket {
	tk, err := f.svc.CreateQR(context.Background(), QRRequest{App: "mp", UserAgent: "Chrome/131 Windows", ClientIP: "203.0.113.7"})
	if err != nil {
		b.Fatal(err)
	}
	return tk
}

// startWaiters leaves n browsers waiting (long poll) on n fresh tickets
// until the benchmark ends.
func startWaiters(b *testing.B, f *fixture, hub *wakeup.Hub, n int) []QRTicket {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	tks := make([]QRTicket, n)
	for i := range tks {
		tks[i] = benchTicket(b, f)
		wg.Add(1)
		go func(tk QRTicket) {
			defer wg.Done()
			f.svc.FollowQR(ctx, tk.Ticket, tk.PollToken, QRWaiting, time.Hour)
		}(tks[i])
	}
	for _, tk := range tks {
		for hub.Waiting(tk.Ticket) == 0 {
			runtime.Gosched()
		}
	}
	return tks
}

// BenchmarkQRCreate is CreateQR alone: one PutOnce of the record.
func BenchmarkQRCreate(b *testing.B) {
	for _, backend := range []string{"memstore", "redis"} {
		b.Run(backend, func(b *testing.B) {
			f, _, _, _ := qrBench(b, backend)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchTicket(b, f)
				}
			})
		})
	}
}

// BenchmarkQRConfirm is, per op, a confirm of a scanned ticket: "alone"
// with no browser waiting on it (the baseline), "wake" with its browser
// waiting and op ending when that browser holds the tokens, while
// qrWaiters other browsers wait on tickets of their own. wake ÷ alone is
// what waking costs.
func BenchmarkQRConfirm(b *testing.B) {
	for _, backend := range []string{"memstore", "redis"} {
		for _, mode := range []string{"alone", "wake"} {
			b.Run(backend+"/"+mode, func(b *testing.B) {
				f, hub, _, _ := qrBench(b, backend)
				ctx := context.Background()
				res, err := f.svc.MiniProgram(ctx, MiniProgramRequest{App: "mp", Code: "c-alice"})
				if err != nil {
					b.Fatal(err)
				}
				alice := QRUser{UserID: res.User.ID, App: "mp"}
				startWaiters(b, f, hub, qrWaiters)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					tk := benchTicket(b, f)
					if _, err := f.svc.ScanQR(ctx, tk.Ticket, alice); err != nil {
						b.Fatal(err)
					}
					got := make(chan QRState, 1)
					if mode == "wake" {
						go func() {
							st, _ := f.svc.FollowQR(ctx, tk.Ticket, tk.PollToken, QRScanned, time.Hour)
							got <- st
						}()
						for hub.Waiting(tk.Ticket) == 0 {
							runtime.Gosched()
						}
					}
					b.StartTimer()
					if err := f.svc.ConfirmQR(ctx, tk.Ticket, alice); err != nil {
						b.Fatal(err)
					}
					if mode == "wake" {
						if st := <-got; st.Tokens == nil {
							b.Fatalf("woken with %+v", st)
						}
					}
				}
			})
		}
	}
}

// BenchmarkQRWaiterMemory reports what qrWaiters waiting browsers cost
// in process (heap per waiter: goroutine, hub entry, timers) and what a
// ticket record costs in Redis (MEMORY USAGE of its key).
func BenchmarkQRWaiterMemory(b *testing.B) {
	for _, backend := range []string{"memstore", "redis"} {
		b.Run(backend, func(b *testing.B) {
			f, hub, rc, prefix := qrBench(b, backend)
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				tks := startWaiters(b, f, hub, qrWaiters)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/qrWaiters, "heapB/waiter")
				if rc != nil {
					var sum int64
					for _, tk := range tks[:100] {
						n, err := rc.MemoryUsage(context.Background(), prefix+oneTimeKeyForBench(tk.Ticket)).Result()
						if err != nil {
							b.Fatal(err)
						}
						sum += n
					}
					b.ReportMetric(float64(sum)/100, "redisB/ticket")
				}
			}
		})
	}
}

// oneTimeKeyForBench is the Redis key of a ticket below the store's
// prefix (redisstore's one-time key layout, "o:{key}").
func oneTimeKeyForBench(ticket string) string { return "o:{" + qrKey(ticket) + "}" }
