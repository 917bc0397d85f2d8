package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/requestid"
)

// maxBody caps request bodies (docs/api.md "Conventions": over 64 KiB answers 413).
const maxBody = 64 << 10

// handlerFunc is a handler that returns its error; wrap turns the error into
// the contract's JSON in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// statusWriter remembers the status for metrics and the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing for the revocation stream).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends buffered data now.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds request id, panic recovery, error rendering, metrics and the
// access log to h.
func (s *Server) wrap(route string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestid.Valid(id) {
			id = requestid.New()
		}
		ctx := requestid.With(r.Context(), id)
		if s.audit != audit.Discard {
			ctx = audit.WithIP(ctx, clientAddr(r, s.cfg.TrustedProxyHeader))
		}
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		func() {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					s.log.ErrorContext(ctx, "panic in handler", "route", route, "panic", fmt.Sprint(p))
					if sw.status == 0 {
						s.writeError(sw, r, errors.New("panic"))
					}
				}
			}()
			if err := h(sw, r); err != nil {
				s.writeError(sw, r, err)
			}
		}()
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
		d := time.Since(start)
		s.m.Requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.m.RequestDuration.WithLabelValues(route).Observe(d.Seconds())
		s.log.DebugContext(ctx, "request", "method", r.Method, "route", route, "status", sw.status, "duration", d)
	})
}

// writeJSON answers v with status. API answers are never cached: they carry
// tokens or per-user data (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"could not encode the answer"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads the JSON body into v (docs/api.md "Conventions"): unknown fields are
// ignored; malformed JSON, wrong types and trailing data are invalid_request;
// a body over 64 KiB is 413. An empty body decodes as {}.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooBig):
		return errTooLarge
	case errors.As(err, &typeErr):
		return errInvalidRequest(fmt.Sprintf("field %q must be a %s", typeErr.Field, jsonType(typeErr.Type.Kind().String())))
	default:
		return errInvalidRequest("the body is not valid JSON")
	}
}

// decodeJSON is decode for a request that only a page of our own may
// send: the body must be declared application/json (docs/api.md
// "Binding"), which a plain HTML form on another site cannot send without a
// CORS preflight; anything else answers 415.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errUnsupportedMediaType
	}
	return decode(w, r, v)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	default:
		return "number"
	}
}
