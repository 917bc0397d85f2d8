package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopping is how serveHTTP stops once its context ends (docs/deploy.md
// "Restarts and shutdown"): drain, wait Delay, close the listener, wait up
// to Timeout for requests in flight, cut off the rest.
type stopping struct {
	// Delay keeps serving after Drain, so the load balancer sees /readyz
	// fail and stops sending before the listener closes (refused
	// connections). Zero: close at once. A second SIGTERM or SIGINT ends
	// it early.
	Delay time.Duration
	// Timeout bounds the wait for requests in flight once the listener
	// is closed; zero means 10 s.
	Timeout time.Duration
	// Drain, if not nil, is called as soon as the context ends
	// (/readyz answers 503).
	Drain func()
	// OnShutdown, if not nil, is called when the listener closes: long
	// requests (the revocation streams) end themselves then.
	OnShutdown func()
}

// serveHTTP serves until ctx ends, then stops as st says. A stop that
// reaches its timeout is still a clean exit: the process did what it was
// told within the time it was given, and says what it cut off.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, st stopping) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if st.OnShutdown != nil {
		srv.RegisterOnShutdown(st.OnShutdown)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if st.Drain != nil {
		st.Drain()
	}
	if st.Delay > 0 {
		waitDelay(st.Delay, log)
	}
	if st.Timeout <= 0 {
		st.Timeout = 10 * time.Second
	}
	log.Info("shutting down: no new connections; waiting for requests in flight", "shutdown_timeout", st.Timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), st.Timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown_timeout reached: cutting off the requests still in flight", "shutdown_timeout", st.Timeout.String())
		err = srv.Close()
	}
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// waitDelay waits d, or until a second SIGTERM or SIGINT: an operator at
// a terminal need not wait for the load balancer that is not there.
func waitDelay(d time.Duration, log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	log.Info("draining: /readyz answers 503; the listener closes after shutdown_delay (a second signal closes it now)", "shutdown_delay", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sig:
	}
}
