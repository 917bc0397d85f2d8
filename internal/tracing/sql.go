package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// SQL is the statement hook of the SQL store (sqlstore.Config.Trace): a
// client span per statement named "postgresql SELECT", "sqlite INSERT"…,
// with the statement's text (its values are placeholders) but never its
// arguments, nor the error's text (a constraint error may quote a value).
// Nil when off.
func (t *Tracer) SQL() func(ctx context.Context, system, query string) (context.Context, func(error)) {
	if t == nil {
		return nil
	}
	tr := t.tp.Tracer("github.com/wxauth/wxauth/internal/storage/sqlstore")
	return func(ctx context.Context, system, query string) (context.Context, func(error)) {
		op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
		op = strings.ToUpper(op)
		ctx, span := tr.Start(ctx, system+" "+op,
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				attribute.String("db.system.name", system),
				attribute.String("db.operation.name", op),
				attribute.String("db.query.text", query),
			))
		return ctx, func(err error) {
			if err != nil {
				span.SetStatus(codes.Error, "statement failed")
			}
			span.End()
		}
	}
}
