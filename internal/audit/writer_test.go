package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// openLog is a real audit log: SQLite in memory.
func openLog(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: "sqlite::memory:", Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// watchedLog tells of each batch appended, and can be made to fail or
// wait (the dex way: embed the interface, override one method).
type watchedLog struct {
	storage.AuditLog
	appended chan int      // each successful batch's size, if not nil
	fail     atomic.Int32  // how many appends fail next (-1: all)
	block    chan struct{} // if not nil, appends wait for it to close
	entered  chan struct{} // if not nil, told when an append starts
	purged   chan time.Time
}

func (l *watchedLog) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if l.entered != nil {
		l.entered <- struct{}{}
	}
	if l.block != nil {
		<-l.block
	}
	if n := l.fail.Load(); n != 0 {
		if n > 0 {
			l.fail.Add(-1)
		}
		return fmt.Errorf("append: %w", storage.ErrUnavailable)
	}
	if err := l.AuditLog.AppendAudit(ctx, events); err != nil {
		return err
	}
	if l.appended != nil {
		l.appended <- len(events)
	}
	return nil
}

func (l *watchedLog) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	n, err := l.AuditLog.PurgeAudit(ctx, before)
	if l.purged != nil {
		l.purged <- before
	}
	return n, err
}

// drops counts dropped events by reason.
type drops struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *drops) add(reason string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[reason] += n
}

func (d *drops) get(reason string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[reason]
}

func newWriter(t *testing.T, cfg audit.Config) *audit.Writer {
	t.Helper()
	w, err := audit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	return w
}

func event(i int) audit.Event {
	return audit.Event{Type: audit.Login, At: t0.Add(time.Duration(i) * time.Second), UserID: fmt.Sprintf("u%d", i), Detail: fmt.Sprintf("e%d", i)}
}

// stored lists the details of the stored events, oldest first.
func stored(t *testing.T, l storage.AuditLog) []string {
	t.Helper()
	events, err := l.AuditEvents(t.Context(), storage.AuditQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e.Detail
	}
	return out
}

func details(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("e%d", i))
	}
	return out
}

func equal(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestCloseWritesAll: Close writes every queued event, whole batches and
// the part batch that waits for its interval.
func TestCloseWritesAll(t *testing.T) {
	l := openLog(t)
	w := newWriter(t, audit.Config{Log: l, BatchSize: 100, Interval: time.Hour})
	for i := range 250 {
		w.Record(event(i))
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if got := stored(t, l); !equal(got, details(0, 250)) {
		t.Errorf("stored after Close = %d events %v…, want e0…e249 in order", len(got), got[:min(len(got), 3)])
	}
	// Recorded after Close: dropped, counted, not written.
	var d drops
	w2 := newWriter(t, audit.Config{Log: l, Dropped: d.add})
	w2.Close(t.Context())
	w2.Record(event(999))
	if got := d.get(audit.DropClosed); got != 1 {
		t.Errorf("dropped(closed) after Record on a closed writer = %d, want 1", got)
	}
}

// TestCrashLosesQueued: a process that dies without Close loses exactly
// the events still queued (the part batch), and keeps every batch written.
func TestCrashLosesQueued(t *testing.T) {
	l := &watchedLog{AuditLog: openLog(t), appended: make(chan int, 10)}
	w, err := audit.New(audit.Config{Log: l, BatchSize: 3, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		w.Record(event(i))
	}
	// Two full batches are written at once; e6 and e7 wait for the hour.
	for range 2 {
		if n := <-l.appended; n != 3 {
			t.Fatalf("batch of %d, want 3", n)
		}
	}
	w.Crash()
	if got := stored(t, l); !equal(got, details(0, 6)) {
		t.Errorf("stored after a crash = %v, want %v (e6, e7 lost)", got, details(0, 6))
	}
}

// TestIntervalWrites: a part batch is written once Interval has passed,
// without Close or Flush.
func TestIntervalWrites(t *testing.T) {
	l := &watchedLog{AuditLog: openLog(t), appended: make(chan int, 10)}
	w := newWriter(t, audit.Config{Log: l, BatchSize: 100, Interval: 10 * time.Millisecond})
	w.Record(event(0))
	w.Record(event(1))
	if n := <-l.appended; n != 2 {
		t.Errorf("batch of %d after the interval, want 2", n)
	}
}

// TestQueueFullDrops: with the store stuck, Record never waits: beyond
// QueueSize events are dropped and counted, and the rest is written once
// the store answers.
func TestQueueFullDrops(t *testing.T) {
	l := &watchedLog{AuditLog: openLog(t), block: make(chan struct{}), entered: make(chan struct{}, 10)}
	var d drops
	w := newWriter(t, audit.Config{Log: l, QueueSize: 2, BatchSize: 1, Dropped: d.add})
	w.Record(event(0))
	<-l.entered // the writer holds e0, stuck in the store
	for i := 1; i < 6; i++ {
		w.Record(event(i)) // e1, e2 queued; e3…e5 dropped
	}
	if got := d.get(audit.DropQueueFull); got != 3 {
		t.Errorf("dropped(queue_full) = %d, want 3", got)
	}
	close(l.block)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, l); !equal(got, details(0, 3)) {
		t.Errorf("stored = %v, want %v", got, details(0, 3))
	}
}

// TestWriteRetries: a batch that fails is tried again; one that fails
// every time is dropped and counted, and the writer goes on.
func TestWriteRetries(t *testing.T) {
	l := &watchedLog{AuditLog: openLog(t)}
	var d drops
	w := newWriter(t, audit.Config{Log: l, BatchSize: 10, Retries: 2, RetryWait: time.Millisecond, Dropped: d.add})
	l.fail.Store(2) // two failures, the third try succeeds
	w.Record(event(0))
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.fail.Store(3) // three failures: dropped
	w.Record(event(1))
	w.Record(event(2))
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.Record(event(3))
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, l); !equal(got, []string{"e0", "e3"}) {
		t.Errorf("stored = %v, want [e0 e3]", got)
	}
	if got := d.get(audit.DropWriteFailed); got != 2 {
		t.Errorf("dropped(write_failed) = %d, want 2", got)
	}
}

// TestCloseDeadline: Close gives up when its context ends; what it could
// not write is counted.
func TestCloseDeadline(t *testing.T) {
	l := &watchedLog{AuditLog: openLog(t)}
	l.fail.Store(-1)
	var d drops
	w, err := audit.New(audit.Config{Log: l, Retries: 1000, RetryWait: time.Millisecond, Dropped: d.add})
	if err != nil {
		t.Fatal(err)
	}
	w.Record(event(0))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close(a store that always fails) = %v, want DeadlineExceeded", err)
	}
	if got := d.get(audit.DropClosed); got != 1 {
		t.Errorf("dropped(closed) = %d, want 1", got)
	}
}

// TestConcurrentRecord: many goroutines record while the writer writes;
// each event is stored once or counted as dropped.
func TestConcurrentRecord(t *testing.T) {
	l := openLog(t)
	var (
		d        drops
		recorded atomic.Int64
	)
	w := newWriter(t, audit.Config{Log: l, QueueSize: 500, BatchSize: 50, Interval: time.Millisecond, Dropped: d.add,
		Recorded: func(audit.Type) { recorded.Add(1) }})
	const goroutines, each = 20, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.Record(event(g*each + i))
			}
		})
	}
	wg.Wait()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := stored(t, l)
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e] {
			t.Errorf("%s stored twice", e)
		}
		seen[e] = true
	}
	if n := len(got) + d.get(audit.DropQueueFull); n != goroutines*each {
		t.Errorf("stored %d + dropped %d = %d, want %d", len(got), d.get(audit.DropQueueFull), n, goroutines*each)
	}
	if recorded.Load() != goroutines*each {
		t.Errorf("Recorded told of %d events, want %d", recorded.Load(), goroutines*each)
	}
}

// TestPurge: with a Retention, events older than it are deleted at start
// (and every PurgeEvery); without, nothing is.
func TestPurge(t *testing.T) {
	now := t0.Add(48 * time.Hour)
	base := openLog(t)
	old, recent := event(0), event(1)
	old.At, recent.At = now.Add(-25*time.Hour), now.Add(-23*time.Hour)
	w := newWriter(t, audit.Config{Log: base})
	w.Record(old)
	w.Record(recent)
	w.Close(t.Context())

	l := &watchedLog{AuditLog: base, purged: make(chan time.Time, 1)}
	w = newWriter(t, audit.Config{Log: l, Retention: 24 * time.Hour, Now: func() time.Time { return now }})
	if before := <-l.purged; !before.Equal(now.Add(-24 * time.Hour)) {
		t.Errorf("PurgeAudit(before %v), want %v", before, now.Add(-24*time.Hour))
	}
	w.Close(t.Context())
	if got := stored(t, l); !equal(got, []string{"e1"}) {
		t.Errorf("stored after the purge = %v, want [e1]", got)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := audit.New(audit.Config{}); err == nil {
		t.Error("New(no Log) = nil error, want one")
	}
	if _, err := audit.New(audit.Config{Log: openLog(t), Retention: -time.Hour}); err == nil {
		t.Error("New(negative Retention) = nil error, want one")
	}
}

// TestDetailBounded: a long Detail is cut, on a character boundary.
func TestDetailBounded(t *testing.T) {
	l := openLog(t)
	w := newWriter(t, audit.Config{Log: l})
	e := event(0)
	e.Detail = "a" + strings.Repeat("微", 400)
	w.Record(e)
	w.Close(t.Context())
	got := stored(t, l)
	if len(got) != 1 || len(got[0]) > 500 || len(got[0]) < 497 || got[0][len(got[0])-3:] != "微" {
		t.Errorf("stored Detail of %d bytes, want ≤ 500 ending in a whole character", len(got[0]))
	}
}

// nopLog is a store that keeps nothing and answers at once.
type nopLog struct{ storage.AuditLog }

func (nopLog) AppendAudit(context.Context, []storage.AuditEvent) error { return nil }
