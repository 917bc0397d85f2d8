// Package otlptest is a real OTLP/HTTP trace receiver for tests: an HTTP
// server that decodes the protobuf ExportTraceServiceRequest the exporter
// sends (gzip or not) and keeps its spans, so tests can check what wxauth
// would hand a collector.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a received span, flattened.
type Span struct {
	Name              string
	TraceID, SpanID   string
	ParentID          string
	Kind              tracepb.Span_SpanKind
	Attrs             map[string]string
	Resource          map[string]string
	StatusMessage     string
	EventTexts        []string // event names and attribute values
	InstrumentationOf string
}

// Receiver is a running OTLP/HTTP receiver.
type Receiver struct {
	// URL is the base to set as OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string
	// Discard, if set before spans arrive, drops them (benchmarks).
	Discard bool

	mu    sync.Mutex
	spans []Span
	posts int
}

// New starts a receiver that stops when the test ends.
func New(t testing.TB) *Receiver {
	r := &Receiver{}
	hs := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(hs.Close)
	r.URL = hs.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.Discard {
		return
	}
	for _, rs := range msg.ResourceSpans {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s := Span{Name: sp.Name, TraceID: hex.EncodeToString(sp.TraceId), SpanID: hex.EncodeToString(sp.SpanId),
					ParentID: hex.EncodeToString(sp.ParentSpanId), Kind: sp.Kind, Attrs: attrs(sp.Attributes),
					Resource: res, StatusMessage: sp.GetStatus().GetMessage(), InstrumentationOf: ss.GetScope().GetName()}
				for _, e := range sp.Events {
					s.EventTexts = append(s.EventTexts, e.Name)
					for _, v := range attrs(e.Attributes) {
						s.EventTexts = append(s.EventTexts, v)
					}
				}
				r.spans = append(r.spans, s)
			}
		}
	}
}

// Spans are the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Posts is how many export requests arrived.
func (r *Receiver) Posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = value(kv.Value)
	}
	return m
}

func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	default:
		return v.String()
	}
}

// Texts is every string of s a collector would store: name, attribute
// values, resource, status message, events.
func (s Span) Texts() []string {
	out := []string{s.Name, s.StatusMessage}
	for k, v := range s.Attrs {
		out = append(out, k+"="+v)
	}
	for k, v := range s.Resource {
		out = append(out, k+"="+v)
	}
	return append(out, s.EventTexts...)
}
