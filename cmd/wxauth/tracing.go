package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/tracing"
)

// startTracing turns tracing on when the OTEL_* variables ask for it
// (docs/operations.md "Tracing"). The provider goes to the instrumented
// parts explicitly, never as OpenTelemetry's global (no package state).
// stop exports what is left; call it after the server has stopped.
func startTracing(ctx context.Context, env config.Env, log *slog.Logger) (t *tracing.Tracer, stop func(), err error) {
	t, err = tracing.Start(ctx, func(k string) string { return env[k] }, versionString())
	if err != nil || t == nil {
		return nil, func() {}, err
	}
	log.Info("tracing on: exporting spans with OTLP/HTTP")
	return t, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := t.Shutdown(sctx); err != nil {
			log.Warn("tracing: the last spans were not exported", "err", err)
		}
	}, nil
}
