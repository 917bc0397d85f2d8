package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wxauth/wxauth/internal/storage"
)

// Reasons a [Writer] drops events, the reason label of
// wxauth_audit_dropped_total.
const (
	DropQueueFull   = "queue_full"   // Record found the queue full
	DropWriteFailed = "write_failed" // the store refused a batch Retries+1 times
	DropClosed      = "closed"       // recorded after Close, or still queued when Close's context ended
)

// Config configures [New]. Zero fields take the defaults named.
type Config struct {
	// Log stores the events; required.
	Log storage.AuditLog
	// QueueSize bounds the events waiting to be written; beyond it Record
	// drops. Zero: 10000. They are what a crash loses.
	QueueSize int
	// BatchSize is the most events written in one transaction; a full
	// batch is written at once. Zero: 128.
	BatchSize int
	// Interval is the longest an event waits in the queue for its batch to
	// fill before it is written anyway. Zero: 200 ms.
	Interval time.Duration
	// Retries is how often a failed batch is tried again, RetryWait apart
	// (doubling), before it is dropped. Zero: 3 and 500 ms; a negative
	// Retries: none.
	Retries   int
	RetryWait time.Duration
	// WriteTimeout bounds one write. Zero: 5 s.
	WriteTimeout time.Duration
	// Retention is how long events are kept: a purge deletes older ones
	// at start and every PurgeEvery (zero: an hour). Zero Retention keeps
	// them forever.
	Retention  time.Duration
	PurgeEvery time.Duration
	// Now stamps events recorded without At; nil: time.Now.
	Now func() time.Time
	// Recorded is told of each event recorded (wxauth_audit_events_total),
	// Dropped of events lost and why (wxauth_audit_dropped_total). Nil:
	// nobody.
	Recorded func(Type)
	Dropped  func(reason string, n int)
	Logger   *slog.Logger
}

// Writer is the [Recorder] that stores events: Record queues (never
// waits), one goroutine writes the queue to the store in batches, and
// Close writes what is left. Events still queued when the process dies
// without Close are lost: at most QueueSize, in practice the last
// Interval's.
type Writer struct {
	cfg   Config
	queue chan Event
	flush chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	// abandon ends the writer without writing the queue (tests: a crash).
	abandon chan struct{}
	// mu orders Record against Close: after Close, Record drops.
	mu     sync.RWMutex
	closed bool
	// closeCtx is Close's context; the writer reads it once stop is closed.
	closeCtx context.Context
}

var _ Recorder = (*Writer)(nil)

// New starts a Writer (its writer goroutine and, with a Retention, its
// purge). Close it.
func New(cfg Config) (*Writer, error) {
	if cfg.Log == nil {
		return nil, errors.New("audit: Config.Log is required")
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("audit: Config.Retention %v is negative", cfg.Retention)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 128
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 3
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 500 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.PurgeEvery <= 0 {
		cfg.PurgeEvery = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Recorded == nil {
		cfg.Recorded = func(Type) {}
	}
	if cfg.Dropped == nil {
		cfg.Dropped = func(string, int) {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		cfg:     cfg,
		queue:   make(chan Event, cfg.QueueSize),
		flush:   make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		abandon: make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Record implements [Recorder]: it queues e, stamped with Now if it has
// no time, or drops it when the queue is full. It never waits for the
// store.
func (w *Writer) Record(e Event) {
	if e.At.IsZero() {
		e.At = w.cfg.Now()
	}
	e.At = e.At.UTC()
	w.cfg.Recorded(e.Type)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.cfg.Dropped(DropClosed, 1)
		return
	}
	select {
	case w.queue <- e:
	default:
		w.cfg.Dropped(DropQueueFull, 1)
	}
}

// Flush writes every event recorded before it, and returns when they are
// stored (or dropped after their retries), or when ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flush <- ack:
	case <-w.done:
		return errors.New("audit: writer closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops recording, writes what is queued and waits for it, at most
// until ctx ends: what is still queued then is dropped and counted.
// Graceful shutdown calls it after the last request.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.closeCtx = ctx
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return ctx.Err()
}

func (w *Writer) run() {
	defer close(w.done)
	pctx, cancelPurge := context.WithCancel(context.Background())
	purged := make(chan struct{})
	go func() { defer close(purged); w.purgeLoop(pctx) }()
	defer func() { cancelPurge(); <-purged }()

	batch := make([]storage.AuditEvent, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	ctx := context.Background()
	write := func() {
		if len(batch) > 0 {
			w.write(ctx, batch)
			batch = batch[:0]
		}
		timer.Stop()
	}
	// take moves queued events into batches, writing each full one, until
	// the queue is empty.
	take := func() {
		for {
			select {
			case e := <-w.queue:
				if batch = append(batch, stored(e)); len(batch) == w.cfg.BatchSize {
					write()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case e := <-w.queue:
			if len(batch) == 0 {
				timer.Reset(w.cfg.Interval)
			}
			if batch = append(batch, stored(e)); len(batch) == w.cfg.BatchSize {
				write()
			}
		case <-timer.C:
			write()
		case ack := <-w.flush:
			take()
			write()
			close(ack)
		case <-w.abandon:
			return
		case <-w.stop:
			// Record adds nothing now (closed): write what is left, giving
			// up when Close's context ends.
			ctx = w.closeCtx
			take()
			write()
			return
		}
	}
}

// write stores batch, trying again Retries times; it drops the batch
// (counted) when all fail or ctx ends.
func (w *Writer) write(ctx context.Context, batch []storage.AuditEvent) {
	wait := w.cfg.RetryWait
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		err := w.cfg.Log.AppendAudit(wctx, batch)
		cancel()
		if err == nil {
			return
		}
		if attempt == w.cfg.Retries || ctx.Err() != nil {
			reason := DropWriteFailed
			if ctx.Err() != nil {
				reason = DropClosed
			}
			w.cfg.Dropped(reason, len(batch))
			w.cfg.Logger.Error("audit: events lost: the store refused them", "events", len(batch), "attempts", attempt+1, "err", err)
			return
		}
		w.cfg.Logger.Warn("audit: writing events failed; trying again", "events", len(batch), "err", err, "retry_in", wait.String())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait *= 2
	}
}

// purgeLoop deletes the events older than Retention now and every
// PurgeEvery until ctx ends. Two instances purging at once delete each
// row once (storage.AuditLog.PurgeAudit).
func (w *Writer) purgeLoop(ctx context.Context) {
	if w.cfg.Retention == 0 {
		return
	}
	t := time.NewTicker(w.cfg.PurgeEvery)
	defer t.Stop()
	for {
		w.purge(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (w *Writer) purge(ctx context.Context) {
	n, err := w.cfg.Log.PurgeAudit(ctx, w.cfg.Now().Add(-w.cfg.Retention))
	switch {
	case err != nil && ctx.Err() == nil:
		w.cfg.Logger.Warn("audit: purging old events failed; trying again later", "err", err, "purge_every", w.cfg.PurgeEvery.String())
	case n > 0:
		w.cfg.Logger.Info("audit: old events purged", "events", n, "retention", w.cfg.Retention.String())
	}
}

// maxDetail bounds Detail: free text, not a dump.
const maxDetail = 500

func stored(e Event) storage.AuditEvent {
	d := e.Detail
	if len(d) > maxDetail {
		n := maxDetail
		for n > 0 && !utf8.RuneStart(d[n]) {
			n--
		}
		d = d[:n]
	}
	return storage.AuditEvent{Type: string(e.Type), At: e.At, UserID: e.UserID, OtherUserID: e.OtherUserID,
		SessionID: e.SessionID, App: e.App, Actor: e.Actor, IP: e.IP, Detail: d}
}
