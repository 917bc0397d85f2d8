package tracing

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// pgxTracer makes a client span per PostgreSQL query: the SQL text (its
// values are placeholders), never the arguments.
type pgxTracer struct{ tr trace.Tracer }

type pgxSpanKey struct{}

func (p *pgxTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op, _, _ := strings.Cut(strings.TrimSpace(data.SQL), " ")
	ctx, span := p.tr.Start(ctx, "postgresql "+strings.ToUpper(op),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.operation.name", strings.ToUpper(op)),
			attribute.String("db.query.text", data.SQL),
		))
	return context.WithValue(ctx, pgxSpanKey{}, span)
}

func (p *pgxTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span, ok := ctx.Value(pgxSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if data.Err != nil {
		span.SetStatus(codes.Error, "query failed")
	}
	span.End()
}
