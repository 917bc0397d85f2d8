package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/redact"
	"github.com/wxauth/wxauth/internal/requestid"
)

// newLogger is the process's structured logger, with the request id of
// each request: text for a human when log_format is auto and w is a
// terminal (`wxauth dev` in a shell), JSON otherwise (a log collector's
// format). It also becomes slog's default, which routes the standard log
// package's lines — and go-redis's, through redisLogger — to it too, so
// every line of the process has one shape. (pgx and goose write nothing of
// their own here: no tracer is configured, and migrations are logged by
// sqlstore.) No line shows the password of a connection string: every
// attribute and message goes through redact.URLs.
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level(), ReplaceAttr: redactAttr}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" || (cfg.LogFormat == "auto" && isTerminal(w)) {
		h = slog.NewTextHandler(w, opts)
	}
	log := slog.New(requestid.Handler{Handler: h})
	slog.SetDefault(log)
	redisLoggerOnce.Do(func() { redis.SetLogger(redisLogger{}) })
	return log
}

// redactAttr hides connection-string passwords in a's value: a string (the
// message too), an error or a fmt.Stringer, which it leaves as they are
// unless there is something to hide.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	var text string
	switch a.Value.Kind() {
	case slog.KindString:
		text = a.Value.String()
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			text = v.Error()
		case fmt.Stringer:
			text = v.String()
		default:
			return a
		}
	default:
		return a
	}
	if r := redact.URLs(text); r != text {
		a.Value = slog.StringValue(r)
	}
	return a
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

var redisLoggerOnce sync.Once

// redisLogger hands go-redis's own messages (reconnects, cluster state) to
// slog's default logger, as warnings: go-redis logs only what went wrong.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
