package servertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/wxauth/wxauth/api"
)

// Contract is api/openapi.yaml, loaded for checking answers against it.
type Contract struct {
	doc *openapi3.T
	// paths matches a request path to the document's path template the way
	// the server's mux does; its handlers are never called.
	paths *http.ServeMux
}

// loadContract reads the embedded document once per test binary.
var loadContract = sync.OnceValues(func() (*Contract, error) { return ParseContract(api.OpenAPI) })

// registerHTML lets the validator read the OP's HTML pages (docs/oidc.md)
// as strings; once, before any document is used.
var registerHTML = sync.OnceFunc(func() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) })

// ParseContract loads and checks an OpenAPI document.
func ParseContract(doc []byte) (*Contract, error) {
	registerHTML()
	l := openapi3.NewLoader()
	d, err := l.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	if err := d.Validate(l.Context); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	for _, name := range []string{"NotFound", "MethodNotAllowed"} {
		if d.Components == nil || d.Components.Responses[name] == nil {
			return nil, fmt.Errorf("openapi document: components.responses.%s is missing", name)
		}
	}
	c := &Contract{doc: d, paths: http.NewServeMux()}
	for tmpl := range d.Paths.Map() {
		pattern := tmpl
		if strings.HasSuffix(pattern, "/") {
			pattern += "{$}" // OpenAPI paths are exact
		}
		c.paths.Handle(pattern, http.NotFoundHandler())
	}
	return c, nil
}

// Answer is one response as the client saw it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Check holds ans, the answer to r, to the document: the operation's
// documented status, headers and body schema. A documented path asked
// with an undocumented method must answer 405 with Allow
// (components.responses.MethodNotAllowed), and an undocumented path 404
// (NotFound); any status an operation does not list is a mismatch.
func (c *Contract) Check(ctx context.Context, r *http.Request, ans Answer) error {
	_, tmpl := c.paths.Handler(r)
	var op *openapi3.Operation
	var item *openapi3.PathItem
	switch {
	case tmpl == "":
		op = c.only(http.StatusNotFound, "NotFound")
	default:
		item = c.doc.Paths.Value(strings.TrimSuffix(tmpl, "{$}"))
		if op = item.GetOperation(r.Method); op == nil {
			op = c.only(http.StatusMethodNotAllowed, "MethodNotAllowed")
		}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r,
			Route:   &routers.Route{Spec: c.doc, Path: tmpl, PathItem: item, Method: r.Method, Operation: op},
		},
		Status:  ans.Status,
		Header:  ans.Header,
		Body:    io.NopCloser(bytes.NewReader(ans.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(ctx, input)
}

// only is an operation whose single answer is the component response name.
func (c *Contract) only(status int, name string) *openapi3.Operation {
	return &openapi3.Operation{Responses: openapi3.NewResponses(
		openapi3.WithStatus(status, c.doc.Components.Responses[name]))}
}

// exempt reports whether r is outside the API's contract: the sandbox, the
// demo page and the metrics mounted beside it, and CORS preflights
// (answered 204 on any path before routing).
func exempt(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/sandbox/") || strings.HasPrefix(p, "/demo/") || p == "/metrics" && r.Method == http.MethodGet ||
		r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// checkContract wraps next so that every answer of the API is held to the
// document; a mismatch fails t with the operation, the status and the
// validator's message.
func checkContract(t testing.TB, c *Contract, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		ans := Answer{Status: rec.status, Header: w.Header().Clone(), Body: rec.body.Bytes()}
		if err := c.Check(context.WithoutCancel(r.Context()), r, ans); err != nil {
			t.Errorf("answer not in api/openapi.yaml: %s %s → %d: %v\nbody: %.300s", r.Method, r.URL.Path, ans.Status, err, ans.Body)
		}
	})
}

// recorder passes an answer through and keeps a copy of its status and
// body (the first maxRecorded bytes: a revocation stream never ends).
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

const maxRecorded = 4 << 20

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxRecorded - w.body.Len(); room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
}

// Flush and Unwrap keep streaming and http.ResponseController working.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
