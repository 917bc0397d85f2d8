package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

// benchClients is how many logins run at once, as many HTTP clients would.
const benchClients = 64

// benchUsers is how many returning users the benchmark cycles through.
const benchUsers = 2000

// BenchmarkLinkIdentityReturning measures the login of a returning mini
// program user (a known openid and unionid: a read, no write) with
// benchClients concurrent callers: logins/s and the latency percentiles.
//
//	WXAUTH_TEST_POSTGRES_URL='postgres://…' go test -run xxx -bench LinkIdentity -benchmem ./storage/sqlstore
func BenchmarkLinkIdentityReturning(b *testing.B) {
	for _, bk := range []struct {
		name string
		url  func() string
	}{
		{"SQLite", func() string { return "sqlite:" + filepath.Join(b.TempDir(), "wxauth.db") }},
		{"Postgres", func() string { return freshSchema(b, skipWithoutPostgres(b)) }},
	} {
		var s *sqlstore.Store // set up once for every b.N of the sub-benchmark
		b.Run(bk.name, func(sb *testing.B) {
			if bk.name == "Postgres" {
				skipWithoutPostgres(sb)
			}
			if s == nil {
				s = setUpReturning(b, bk.url())
			}
			benchReturning(sb, s)
		})
	}
}

// setUpReturning opens url and links benchUsers users; cleanups go to the
// parent benchmark.
func setUpReturning(b *testing.B, url string) *sqlstore.Store {
	s, err := sqlstore.Open(b.Context(), sqlstore.Config{URL: url, Migrate: true})
	if err != nil {
		b.Fatalf("Open() = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	now := time.Now()
	for i := range benchUsers {
		if _, err := s.LinkIdentity(b.Context(), returningReq(i, now)); err != nil {
			b.Fatalf("LinkIdentity(#%d) = %v", i, err)
		}
	}
	return s
}

func returningReq(i int, now time.Time) storage.LinkRequest {
	return storage.LinkRequest{
		Identity: storage.Identity{
			AppID: "mp", OpenID: fmt.Sprintf("openid-%06d", i), UnionID: fmt.Sprintf("unionid-%06d", i),
		},
		NewUser: storage.User{ID: fmt.Sprintf("user-%06d", i)},
		Now:     now,
	}
}

func benchReturning(b *testing.B, s *sqlstore.Store) {
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var (
		next int64
		mu   sync.Mutex
		lat  []time.Duration
	)
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(atomic.AddInt64(&next, 1)) % benchUsers
			begin := time.Now()
			res, err := s.LinkIdentity(ctx, returningReq(i, begin))
			mine = append(mine, time.Since(begin))
			if err != nil || res.Created {
				b.Errorf("LinkIdentity(returning #%d) = created %v, %v; want a known user", i, res.Created, err)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
