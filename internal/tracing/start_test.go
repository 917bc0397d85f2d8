package tracing

import (
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		on      bool
		errWant string
	}{
		{"unset", map[string]string{"OTEL_SERVICE_NAME": "x"}, false, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, ""},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example/v1/traces"}, true, ""},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, ""},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false, ""},
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, false, "want an http:// or https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Start(t.Context(), func(k string) string { return tc.env[k] }, "v1.2.3")
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("Start = %v, want an error containing %q", err, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tr != nil) != tc.on {
				t.Fatalf("Start: on = %v, want %v", tr != nil, tc.on)
			}
			if err := tr.Shutdown(t.Context()); err != nil {
				t.Errorf("Shutdown = %v", err)
			}
		})
	}
}

// Off, the wrappers hand back what they are given.
func TestNilTracerWrapsNothing(t *testing.T) {
	var tr *Tracer
	if tr.Handler(nil) != nil || tr.Transport(nil) != nil || tr.SQL() != nil || tr.Redis() != nil || tr.Provider() != nil {
		t.Error("a nil Tracer wrapped something")
	}
}
