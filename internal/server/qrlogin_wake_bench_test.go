package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// The QR login benchmarks with the browsers on real HTTP (docs/benchmarks.md
// "QR login"): httpQRWaiters browsers hold long polls or event streams open
// on loopback, from a second process (the test binary started again as
// TestQRWaitingBrowsers), so that this process's heap is the server's.

const httpQRWaiters = 1000

// qrBackends are the stacks the benchmarks run on: in-process stores, and
// Redis (sessions, tickets, signals) when WXAUTH_TEST_REDIS_URL is set.
var qrBackends = []string{"memstore", "redis"}

// qrBenchServer is a stack on backend with every limit a benchmark's one
// address and few users would hit turned off.
func qrBenchServer(b *testing.B, backend string) *servertest.Server {
	opts := []servertest.Option{servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		r := &c.RateLimits
		r.LoginPerIP, r.LoginPerUser, r.AuthorizePerIP, r.QRLoginPerIP = "off", "off", "off", "off"
	})}
	redisURL := os.Getenv("WXAUTH_TEST_REDIS_URL")
	if backend == "redis" {
		if redisURL == "" {
			b.Skip("WXAUTH_TEST_REDIS_URL is not set: no Redis variant")
		}
		opts = append(opts, servertest.Configure(func(c *config.Config) { c.RedisURL = redisURL }))
	}
	s := servertest.New(b, opts...)
	if backend == "redis" {
		// Redis keeps keys on its own clock (TestQRLoginAcrossInstances).
		s.Clock.Advance(time.Since(servertest.Start))
	}
	return s
}

// benchQRCreate is a browser asking for a ticket.
func benchQRCreate(b *testing.B, s *servertest.Server) qrTicket {
	r := s.Do(b, "POST", "/v1/qrlogin", map[string]string{"app": "mp"}, "")
	if r.Status != 200 {
		b.Fatalf("POST /v1/qrlogin = %d %s", r.Status, r.Body)
	}
	var tk qrTicket
	r.JSON(b, &tk)
	return tk
}

// benchScanned is phone() then the scan, for a benchmark: the mini program
// of user opens the ticket's code, logs in and scans; it returns the
// session's access token.
func benchScanned(b *testing.B, s *servertest.Server, user string, tk qrTicket) string {
	if _, err := s.Sandbox.AddUser(user); err != nil {
		b.Fatal(err)
	}
	if r := s.Do(b, "GET", tk.ImageURL, nil, ""); r.Status != 200 {
		b.Fatalf("image = %d %s", r.Status, r.Body)
	}
	r := s.Do(b, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(b, "mp"), "user": user, "scene": tk.Ticket}, "")
	if r.Status != 200 {
		b.Fatalf("sandbox scan = %d %s", r.Status, r.Body)
	}
	var scan struct{ Code string }
	r.JSON(b, &scan)
	r = s.Do(b, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: scan.Code}, "")
	if r.Status != 200 {
		b.Fatalf("mini program login = %d %s", r.Status, r.Body)
	}
	var tr api.TokenResponse
	r.JSON(b, &tr)
	if r := s.Do(b, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, tr.AccessToken); r.Status != 200 {
		b.Fatalf("scan = %d %s", r.Status, r.Body)
	}
	return tr.AccessToken
}

// waitWatched returns once every ticket has a browser waiting on it in
// s's wake hub.
func waitWatched(b *testing.B, s *servertest.Server, tks []qrTicket) {
	waitFor(b, tks, func(ticket string) bool { return s.Inst.Wake.Waiting(ticket) > 0 })
}

// waitFor returns once waiting holds for every ticket.
func waitFor(b *testing.B, tks []qrTicket, waiting func(ticket string) bool) {
	deadline := time.Now().Add(60 * time.Second)
	for _, tk := range tks {
		for !waiting(tk.Ticket) {
			if time.Now().After(deadline) {
				b.Fatalf("ticket %s has no waiting browser after 60 s", tk.Ticket)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// holdBrowsers starts the browser process: one connection per ticket,
// each a long poll (?after=waiting) or an event stream, held until the
// benchmark ends. It returns once all of them wait in the server.
func holdBrowsers(b *testing.B, s *servertest.Server, tks []qrTicket, mode string) {
	startBrowsers(b, s.URL, tks, mode)
	waitWatched(b, s, tks)
	if mode == "sse" {
		// A stream's first read watches for an instant too; look again
		// once all are past it.
		time.Sleep(100 * time.Millisecond)
		waitWatched(b, s, tks)
	}
}

// startBrowsers starts the browser process against the server at base.
func startBrowsers(b *testing.B, base string, tks []qrTicket, mode string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestQRWaitingBrowsers$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WXAUTH_QR_BROWSERS="+base, "WXAUTH_QR_BROWSERS_MODE="+mode)
	var out servertest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("browser process: %v\n%s", err, out.String())
		}
	})
	w := bufio.NewWriter(in)
	for _, tk := range tks {
		fmt.Fprintf(w, "%s %s\n", tk.Ticket, tk.PollToken)
	}
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// TestQRWaitingBrowsers is no test: it is the browser process of
// holdBrowsers, skipped unless WXAUTH_QR_BROWSERS names the server. It
// reads "ticket poll_token" lines up to an empty one, follows each ticket
// on a connection of its own, and holds them until its stdin closes.
func TestQRWaitingBrowsers(t *testing.T) {
	base := os.Getenv("WXAUTH_QR_BROWSERS")
	if base == "" {
		t.Skip("the browser process of the QR login benchmarks")
	}
	sse := os.Getenv("WXAUTH_QR_BROWSERS_MODE") == "sse"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 4*httpQRWaiters, 4*httpQRWaiters
	c := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() != "" {
		ticket, poll, _ := strings.Cut(in.Text(), " ")
		url := base + "/v1/qrlogin/" + ticket + "?after=waiting"
		if sse {
			url = base + "/v1/qrlogin/" + ticket
		}
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+poll)
		if sse {
			req.Header.Set("Accept", "text/event-stream")
		}
		go func() {
			resp, err := c.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
		}()
	}
	io.Copy(io.Discard, os.Stdin)
}

// createTickets creates n tickets, as n browsers would.
func createTickets(b *testing.B, s *servertest.Server, n int) []qrTicket {
	tks := make([]qrTicket, n)
	for i := range tks {
		tks[i] = benchQRCreate(b, s)
	}
	return tks
}

// browserResult is when a browser got its answer, or why it did not.
type browserResult struct {
	at  time.Time
	err error
}

// benchLongPoll is the ticket's browser in a long poll ?after=scanned; the
// channel gets the moment its answer carried the tokens.
func benchLongPoll(b *testing.B, s *servertest.Server, tk qrTicket) <-chan browserResult {
	done := make(chan browserResult, 1)
	req, _ := http.NewRequest("GET", s.URL+"/v1/qrlogin/"+tk.Ticket+"?after=scanned", nil)
	req.Header.Set("Authorization", "Bearer "+tk.PollToken)
	go func() {
		resp, err := s.HTTP.Do(req)
		if err != nil {
			done <- browserResult{err: err}
			return
		}
		defer resp.Body.Close()
		var st qrStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		at := time.Now()
		if err == nil && (resp.StatusCode != 200 || st.Status != "confirmed" || st.Login == nil) {
			err = fmt.Errorf("long poll = %d %+v", resp.StatusCode, st)
		}
		done <- browserResult{at, err}
	}()
	waitWatched(b, s, []qrTicket{tk})
	return done
}

// benchStream is the ticket's browser on an event stream, past its first
// event (scanned); the channel gets the moment the confirmed event with
// the tokens arrived.
func benchStream(b *testing.B, s *servertest.Server, tk qrTicket) <-chan browserResult {
	req, _ := http.NewRequest("GET", s.URL+"/v1/qrlogin/"+tk.Ticket, nil)
	req.Header.Set("Authorization", "Bearer "+tk.PollToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b.Fatalf("event stream = %d", resp.StatusCode)
	}
	rd := bufio.NewReader(resp.Body)
	event := func() (string, qrStatus, error) {
		var name string
		var st qrStatus
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return "", st, err
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &st); err != nil {
					return "", st, err
				}
			case line == "" && name != "":
				return name, st, nil
			}
		}
	}
	if name, _, err := event(); err != nil || name != "scanned" {
		b.Fatalf("first event %q, %v; want scanned", name, err)
	}
	waitWatched(b, s, []qrTicket{tk})
	done := make(chan browserResult, 1)
	go func() {
		defer resp.Body.Close()
		name, st, err := event()
		at := time.Now()
		if err == nil && (name != "confirmed" || st.Login == nil) {
			err = fmt.Errorf("event %q %+v, want confirmed with tokens", name, st)
		}
		done <- browserResult{at, err}
	}()
	return done
}

// reportLatency adds the median and 99th percentile of ds to the result.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// BenchmarkHTTPQRWake is, per op, one request at a time while
// httpQRWaiters browsers wait on tickets of their own (long polls, another
// process) for the whole run. "bare": a POST to a bare net/http handler
// from the same client (the baseline of one round trip). "create":
// POST /v1/qrlogin. The others are POST /v1/qrlogin/{ticket}/confirm of a
// scanned ticket: "confirm-alone" with no browser on the ticket, op is the
// confirm's round trip (the baseline); "longpoll" and "sse" with the
// ticket's browser waiting over HTTP (?after=scanned, or its event stream
// past "scanned"), op ending when its answer carries the tokens. Ticket,
// mini program login and scan are outside the timer. p50-ns and p99-ns
// are of the time from the confirm sent to the browser holding the tokens
// (to the answer, for bare, create and confirm-alone).
func BenchmarkHTTPQRWake(b *testing.B) {
	for _, backend := range qrBackends {
		b.Run(backend, func(b *testing.B) {
			s := qrBenchServer(b, backend)
			holdBrowsers(b, s, createTickets(b, s, httpQRWaiters), "longpoll")
			bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"status":"confirmed"}`)
			}))
			b.Cleanup(bare.Close)
			ops := 0
			for _, mode := range []string{"bare", "create", "confirm-alone", "longpoll", "sse"} {
				b.Run(mode, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						if mode == "bare" || mode == "create" {
							start := time.Now()
							if mode == "bare" {
								resp, err := s.HTTP.Post(bare.URL+"/v1/qrlogin/x/confirm", "application/json", nil)
								drain(b, resp, err, 200)
							} else {
								resp, err := s.HTTP.Post(s.URL+"/v1/qrlogin", "application/json", strings.NewReader(`{"app":"mp"}`))
								drain(b, resp, err, 200)
							}
							lat = append(lat, time.Since(start))
							continue
						}
						b.StopTimer()
						tk := benchQRCreate(b, s)
						// The sandbox lets a user log in 100 times a
						// minute; 50 ops per user stay under it.
						mp := benchScanned(b, s, fmt.Sprintf("qr%d", ops/50), tk)
						ops++
						var done <-chan browserResult
						switch mode {
						case "longpoll":
							done = benchLongPoll(b, s, tk)
						case "sse":
							done = benchStream(b, s, tk)
						}
						req, _ := http.NewRequest("POST", s.URL+"/v1/qrlogin/"+tk.Ticket+"/confirm", nil)
						req.Header.Set("Authorization", "Bearer "+mp)
						b.StartTimer()
						start := time.Now()
						resp, err := s.HTTP.Do(req)
						drain(b, resp, err, 200)
						end := time.Now()
						if done != nil {
							r := <-done
							if r.err != nil {
								b.Fatal(r.err)
							}
							end = r.at
						}
						lat = append(lat, end.Sub(start))
					}
					b.StopTimer()
					reportLatency(b, lat)
				})
			}
		})
	}
}

// inUse is the process's heap and stacks in use after a collection.
func inUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// BenchmarkHTTPQRWaiterMemory reports, on the server side only (the
// browsers are another process), what httpQRWaiters tickets cost in this
// process once created (B/ticket: the record in memstore, next to
// nothing on Redis) and then once a browser waits on each over HTTP
// (B/waiter: connection, request, handler goroutine and stack, hub
// entry, timers), as HeapInuse+StackInuse after GC; and on Redis, a
// ticket record's MEMORY USAGE (redisB/ticket, mean of 100).
func BenchmarkHTTPQRWaiterMemory(b *testing.B) {
	// The baseline: as many requests held open by a bare net/http handler
	// that only waits for its client to go.
	b.Run("bare", func(b *testing.B) {
		var held atomic.Int64
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			held.Add(1)
			<-r.Context().Done()
		}))
		b.Cleanup(hs.Close) // after the browsers go (cleanups run last first)
		tks := make([]qrTicket, httpQRWaiters)
		for i := range tks {
			tks[i] = qrTicket{Ticket: fmt.Sprintf("t%d", i), PollToken: "p"}
		}
		m1 := inUse()
		startBrowsers(b, hs.URL, tks, "longpoll")
		waitFor(b, tks, func(string) bool { return held.Load() == httpQRWaiters })
		m2 := inUse()
		b.ReportMetric(float64(m2-m1)/httpQRWaiters, "B/waiter")
	})
	for _, backend := range qrBackends {
		for _, mode := range []string{"longpoll", "sse"} {
			b.Run(backend+"/"+mode, func(b *testing.B) {
				s := qrBenchServer(b, backend)
				benchQRCreate(b, s) // warm up the paths taken once
				// One measure whatever b.N (run with -benchtime 1x).
				m0 := inUse()
				tks := createTickets(b, s, httpQRWaiters)
				m1 := inUse()
				holdBrowsers(b, s, tks, mode)
				m2 := inUse()
				b.ReportMetric(float64(m1-m0)/httpQRWaiters, "B/ticket")
				b.ReportMetric(float64(m2-m1)/httpQRWaiters, "B/waiter")
				if backend == "redis" {
					b.ReportMetric(redisTicketBytes(b, tks[:100]), "redisB/ticket")
				}
			})
		}
	}
}

// redisTicketBytes is the mean MEMORY USAGE of the tickets' records
// (redisstore's one-time key "wxauth:o:{qr:t:<ticket>}").
func redisTicketBytes(b *testing.B, tks []qrTicket) float64 {
	opt, err := redis.ParseURL(os.Getenv("WXAUTH_TEST_REDIS_URL"))
	if err != nil {
		b.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	var sum int64
	for _, tk := range tks {
		n, err := rc.MemoryUsage(context.Background(), "wxauth:o:{qr:t:"+tk.Ticket+"}").Result()
		if err != nil {
			b.Fatal(err)
		}
		sum += n
	}
	return float64(sum) / float64(len(tks))
}
