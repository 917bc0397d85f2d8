// Package tracing turns on OpenTelemetry traces when the operator asks for
// them with the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable: an SDK tracer provider that
// batches spans to an OTLP/HTTP collector, and the wrappers that make the
// spans (HTTP server, HTTP client to WeChat, SQL statements on PostgreSQL and
// SQLite, Redis through go-redis).
//
// Off, [Start] returns a nil *[Tracer] whose wrappers hand back what they
// were given: nothing is wrapped, so tracing costs nothing at all. The
// stores and the wechat package never import this package: cmd/wxauth and
// package instance pass them its hooks (docs/operations.md "Tracing").
//
// Spans never carry a secret: every span is scrubbed on its way to the
// exporter (url.query, url.path, http.target dropped; query strings cut from
// url.full, status messages and event attributes), since WeChat's URLs carry
// appid+secret, js_code, code and access_token in the query.
package tracing
