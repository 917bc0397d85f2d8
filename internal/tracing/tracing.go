package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracer is tracing turned on: the provider and the propagator the
// wrappers use. A nil *Tracer is tracing off; its methods are no-ops.
type Tracer struct {
	tp   *sdktrace.TracerProvider
	prop propagation.TextMapPropagator
}

// Enabled reports whether getenv names an OTLP traces endpoint and does not
// disable the SDK (OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none).
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// Start returns nil when tracing is off (see [Enabled]); otherwise a
// Tracer exporting to the endpoint getenv names, as the OpenTelemetry
// specification reads the variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// used as is, OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces appended. Other
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression,
// certificates) are read by the exporter from the process environment.
// service.name is OTEL_SERVICE_NAME or "wxauth"; service.version is
// version.
func Start(ctx context.Context, getenv func(string) string, version string) (*Tracer, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = strings.TrimSuffix(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint %q: want an http:// or https:// URL", endpoint)
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "wxauth"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.version", version))
	return New(exp, res), nil
}

// New is a Tracer batching to exp: [Start] with the exporter of one's
// choice (the benchmarks').
func New(exp sdktrace.SpanExporter, res *resource.Resource) *Tracer {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(scrubbing{exp}),
		sdktrace.WithResource(res),
	)
	return &Tracer{tp: tp, prop: propagation.TraceContext{}}
}

// Provider is the tracer provider; nil when off.
func (t *Tracer) Provider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// Propagator is the W3C trace-context propagator; nil when off.
func (t *Tracer) Propagator() propagation.TextMapPropagator {
	if t == nil {
		return nil
	}
	return t.prop
}

// Shutdown exports the spans still batched and stops the exporter; on a
// nil Tracer it does nothing. Call it once the server has stopped.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Handler wraps the server's handler: one server span per request, named
// by the route pattern that served it ("POST /v1/miniprogram/login"),
// never by the raw path, which may hold a ticket or an id.
func (t *Tracer) Handler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Pattern != "" { // set by the mux on this request
			_, route, _ := strings.Cut(r.Pattern, " ")
			if route == "" {
				route = r.Pattern
			}
			trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("http.route", route))
		}
	})
	// wxauth's endpoints face the public (mini programs, browsers): an
	// incoming traceparent is linked, not taken as the parent, so that a
	// client can neither join our spans to its trace nor choose which
	// requests are sampled.
	return otelhttp.NewHandler(routed, "wxauth",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithMeterProvider(noMeter),
		otelhttp.WithSpanNameFormatter(routeName))
}

// routeName is the pattern that matched (set once the mux has routed; the
// handler renames the span then), or the method alone before.
func routeName(_ string, r *http.Request) string {
	if r.Pattern == "" {
		return r.Method
	}
	if _, route, ok := strings.Cut(r.Pattern, " "); ok {
		return r.Method + " " + route
	}
	return r.Method + " " + r.Pattern
}

// Transport wraps the transport of the client to WeChat: one client span
// per call, named "WeChat GET /sns/jscode2session" (the path names the API;
// its query, which holds the credentials, is scrubbed from the span).
// rt nil means http.DefaultTransport.
func (t *Tracer) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	// No propagator: WeChat is a third party, our trace ids stay ours.
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithMeterProvider(noMeter),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "WeChat " + r.Method + " " + wechatPath(r.URL.Path)
		}))
}

// wechatPath is p from WeChat's API prefix on, so that a call through a
// base URL with a path of its own (the sandbox's /sandbox/api) is named
// as the same call to api.weixin.qq.com.
func wechatPath(p string) string {
	for _, prefix := range []string{"/sns/", "/cgi-bin/", "/wxa/", "/connect/"} {
		if i := strings.Index(p, prefix); i >= 0 {
			return p[i:]
		}
	}
	return p
}

// Redis instruments a go-redis client with spans that carry the command
// name but never its arguments, nor the caller's file and line
// (redisstore.Config.Instrument); nil when off.
func (t *Tracer) Redis() func(redis.UniversalClient) error {
	if t == nil {
		return nil
	}
	return func(c redis.UniversalClient) error {
		err := redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(t.tp), redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
		if err != nil {
			return errors.Join(errors.New("tracing: instrument redis"), err)
		}
		return nil
	}
}

// noMeter keeps otelhttp from recording metrics: wxauth's metrics are
// Prometheus' (internal/metrics).
var noMeter = metricnoop.NewMeterProvider()
