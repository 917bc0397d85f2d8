package tracing

import (
	"context"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// scrubbing is an exporter that scrubs every span before exp sees it.
// Scrubbing at the one exit covers what each instrumentation records on
// its own, including the URL an error message quotes (a failed WeChat call's
// `Get "https://…?appid=…&secret=…"`).
type scrubbing struct{ exp sdktrace.SpanExporter }

func (s scrubbing) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, sp := range spans {
		out[i] = scrubbed{ReadOnlySpan: sp}
	}
	return s.exp.ExportSpans(ctx, out)
}

func (s scrubbing) Shutdown(ctx context.Context) error { return s.exp.Shutdown(ctx) }

// scrubbed is a span whose attributes, events and status message are
// scrubbed as they are read.
type scrubbed struct{ sdktrace.ReadOnlySpan }

func (s scrubbed) Attributes() []attribute.KeyValue { return scrubAttrs(s.ReadOnlySpan.Attributes()) }

func (s scrubbed) Events() []sdktrace.Event {
	ev := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(ev))
	for i, e := range ev {
		e.Name = scrubText(e.Name)
		e.Attributes = scrubAttrs(e.Attributes)
		out[i] = e
	}
	return out
}

func (s scrubbed) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = scrubText(st.Description)
	return st
}

// dropped are the attributes that hold a raw path or query: the path of a
// request may hold a QR login ticket or a session id (http.route names the
// route instead), the query a code or a credential.
var dropped = map[attribute.Key]bool{
	"url.path": true, "url.query": true, "http.target": true, "http.url": true,
	"db.statement": true, // redisotel's, with arguments; off by option, dropped in case
}

func scrubAttrs(in []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, kv := range in {
		if dropped[kv.Key] {
			continue
		}
		if kv.Value.Type() == attribute.STRING {
			kv.Value = attribute.StringValue(scrubText(kv.Value.AsString()))
		}
		out = append(out, kv)
	}
	return out
}

// query is a URL's query string, up to the end of the word.
var query = regexp.MustCompile(`\?[^\s"'<>]*`)

// scrubText cuts every query string out of s (url.full, an error message
// quoting a URL).
func scrubText(s string) string {
	if !strings.Contains(s, "?") {
		return s
	}
	return query.ReplaceAllString(s, "?REDACTED")
}
