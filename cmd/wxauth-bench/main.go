// Command wxauth-bench measures wxauth over real HTTP on this machine: it
// starts a bare net/http handler (the baseline) and a whole wxauth (API and
// sandbox on one loopback port) on the embedded stores or on PostgreSQL +
// Redis, drives each with the same closed-loop clients, and prints
// requests/s, p50 and p99 for each scenario with its ratio to the baseline
// measured in the same run.
//
//	go run ./cmd/wxauth-bench                       # embedded (SQLite + in-process)
//	go run ./cmd/wxauth-bench -stores production \
//	    -postgres postgres://postgres@127.0.0.1:5432/test -redis redis://127.0.0.1:6379/14
//
// See docs/benchmarks.md for figures and the commands that produced them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/instance"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/sandbox"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wxauth-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	stores   string
	postgres string
	redis    string
	clients  int
	duration time.Duration
	only     string
	cpuprof  string
	memory   int
	limits   bool
	storm    bool
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wxauth-bench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.stores, "stores", "embedded", "embedded (SQLite + in-process sessions) or production (PostgreSQL + Redis)")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("WXAUTH_TEST_POSTGRES_URL"), "PostgreSQL URL for -stores production")
	fs.StringVar(&o.redis, "redis", os.Getenv("WXAUTH_TEST_REDIS_URL"), "Redis URL for -stores production")
	fs.IntVar(&o.clients, "clients", 64, "concurrent clients")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "time per scenario")
	fs.StringVar(&o.only, "only", "", "comma-separated scenarios to run (bare always runs)")
	fs.BoolVar(&o.storm, "storm", false, "instead of load: the refresh-storm correctness pass across two instances")
	fs.BoolVar(&o.limits, "rate-limits", false, "keep the default rate limits on (they are off by default: every client here shares one address)")
	fs.IntVar(&o.memory, "memory", 0, "instead of load: open this many sessions and report how much the process grew")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the scenarios (not the bare baseline) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer st.close()

	if o.memory > 0 {
		return measureMemory(ctx, st, o.memory, out)
	}
	if o.storm {
		if o.stores != "production" {
			return fmt.Errorf("-storm needs -stores production: two instances share sessions only through Redis")
		}
		for u := range users {
			if _, err := st.sb.AddUser(fmt.Sprintf("bench%04d", u)); err != nil {
				return err
			}
		}
		return st.storm(ctx, st.cfg, st.opt, 200, 8, 5, out)
	}
	fmt.Fprintf(out, "wxauth-bench: stores=%s clients=%d duration=%v GOMAXPROCS=%d\n\n", o.stores, o.clients, o.duration, st.procs)
	fmt.Fprintf(out, "%-12s %10s %9s %9s %8s %7s %6s\n", "scenario", "req/s", "p50", "p99", "vs bare", "errors", "cpu")
	var bare float64
	profiling := false
	for _, sc := range st.scenarios() {
		if o.only != "" && sc.name != "bare" && !slices.Contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		if sc.setup != nil {
			if err := sc.setup(ctx); err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
		}
		if o.cpuprof != "" && sc.name != "bare" && !profiling {
			f, err := os.Create(o.cpuprof)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
			profiling = true
		}
		b0, t0, _ := cpuTimes()
		r := drive(ctx, o.clients, o.duration, sc.newClient)
		b1, t1, ok := cpuTimes()
		cpu := "-"
		if ok && t1 > t0 {
			cpu = fmt.Sprintf("%.0f%%", 100*float64(b1-b0)/float64(t1-t0))
		}
		if sc.name == "bare" {
			bare = r.rate
		}
		fmt.Fprintf(out, "%-12s %10.0f %9s %9s %7.3fx %7d %6s\n", sc.name, r.rate, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.rate/bare, r.errors, cpu)
		if r.firstErr != nil {
			fmt.Fprintf(out, "    first error: %v\n", r.firstErr)
		}
	}
	return nil
}

// result is one scenario's figures.
type result struct {
	rate     float64
	p50, p99 time.Duration
	errors   int64
	firstErr error
}

// drive runs clients closed loops of the request that newClient makes for
// d, and measures them.
func drive(ctx context.Context, clients int, d time.Duration, newClient func(i int) func(context.Context) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		lat      []time.Duration
		errs     atomic.Int64
		firstErr atomic.Pointer[error]
	)
	start := time.Now()
	for i := range clients {
		do := newClient(i)
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				err := do(ctx)
				if ctx.Err() != nil {
					break // cut off by the end of the run, not a failure
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{rate: float64(len(lat)) / elapsed.Seconds(), errors: errs.Load()}
	if n := len(lat); n > 0 {
		r.p50, r.p99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	if e := firstErr.Load(); e != nil {
		r.firstErr = *e
	}
	return r
}

// stack is what a run measures.
type stack struct {
	procs   int
	bareURL string
	url     string
	sb      *sandbox.Sandbox
	appID   string
	http    *http.Client
	tokens  *token.Service
	closers []func()
	// bearerURL is the bare handler behind package bearer.
	bearerURL  string
	bearerStop func()
	// cfg and opt built the instance; the storm builds a second one alike.
	cfg *config.Config
	opt instance.Options
}

func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// start brings up the bare handler and wxauth with the chosen stores.
func start(ctx context.Context, o options) (*stack, error) {
	st := &stack{procs: runtimeProcs()}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.clients * 2
	tr.MaxIdleConns = o.clients * 4
	st.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}

	bare, stop, err := listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"u1","nickname":"Alice"}`)
	}))
	if err != nil {
		return nil, err
	}
	st.bareURL = bare
	st.closers = append(st.closers, stop)

	// wxauth needs its own origin before it is built: listen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	origin := "http://" + ln.Addr().String()
	dir, err := os.MkdirTemp("", "wxauth-bench-*")
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, func() { os.RemoveAll(dir) })

	cfg := config.Defaults()
	cfg.Secret = "wxauth-bench-secret-0123456789abcdef"
	cfg.ServiceKeys = []config.ServiceKey{{Name: "bench", Scopes: api.ServiceKeyScopes, Secret: serviceKey}}
	if o.limits {
		// Per-address limits would refuse one machine's load at once; keep
		// the per-user and per-session ones, which cost the same round trips.
		cfg.RateLimits.LoginPerIP, cfg.RateLimits.RefreshPerIP = "1000000/1s", "1000000/1s"
		cfg.RateLimits.RefreshPerSession = "1000000/1m"
		cfg.RateLimits.LoginPerUser = "1000000/1m"
	} else {
		cfg.RateLimits = config.RateLimits{LoginPerIP: "off", LoginPerUser: "off", RefreshPerIP: "off", RefreshPerSession: "off"}
	}
	switch o.stores {
	case "embedded":
	case "production":
		if o.postgres == "" || o.redis == "" {
			return nil, fmt.Errorf("-stores production needs -postgres and -redis (or WXAUTH_TEST_POSTGRES_URL and WXAUTH_TEST_REDIS_URL)")
		}
		cfg.DatabaseURL, cfg.RedisURL = o.postgres, o.redis
	default:
		return nil, fmt.Errorf("-stores %q: want embedded or production", o.stores)
	}
	cfg.FillDev(origin, dir)
	if err := cfg.Validate(true); err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{{Name: "mp", Kind: "miniprogram", AppID: cfg.Apps[0].AppID, Secret: cfg.Apps[0].Secret}}})
	if err != nil {
		return nil, err
	}
	st.sb, st.appID = sb, cfg.Apps[0].AppID
	opt := instance.Options{Mount: map[string]http.Handler{"/sandbox/": sb}, Logger: slog.New(slog.DiscardHandler), Migrate: true}
	if o.stores == "embedded" {
		opt.KeyFile = filepath.Join(dir, "signing-key.json")
	}
	st.cfg, st.opt = &cfg, opt
	inst, err := instance.New(ctx, &cfg, opt)
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, func() { inst.Close() })
	st.tokens = inst.Tokens
	srv := &http.Server{Handler: inst.Handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	st.closers = append(st.closers, func() { srv.Close() })
	st.url = origin
	return st, nil
}
