package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
)

// A known path asked with another method answers 405 with Allow and the
// contract's error body; unknown paths stay 404.
func TestMethodNotAllowed(t *testing.T) {
	s := servertest.New(t)
	tests := []struct {
		method, path, allow string
	}{
		{"GET", "/v1/miniprogram/login", "POST"},
		{"PUT", "/v1/token/refresh", "POST"},
		{"POST", "/v1/me", "GET, HEAD, DELETE"},
		{"OPTIONS", "/v1/me", "GET, HEAD, DELETE"}, // not a CORS preflight: no Origin
		{"POST", "/v1/sessions", "GET, HEAD"},
		{"GET", "/v1/sessions/abc", "DELETE"},
		{"DELETE", "/v1/wechat/access_token", "GET, HEAD, POST"},
		{"POST", "/v1/", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
		{"POST", "/.well-known/jwks.json", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := s.Do(t, tt.method, tt.path, nil, "")
			wantError(t, r, http.StatusMethodNotAllowed, api.CodeMethodNotAllowed)
			if got := r.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
	for _, p := range []string{"/v1/nope", "/v1/sessions/a/b", "/v2/", "/", "/openapi.yaml"} {
		t.Run("GET "+p, func(t *testing.T) {
			r := s.Do(t, "GET", p, nil, "")
			wantError(t, r, http.StatusNotFound, api.CodeNotFound)
			if a := r.Header.Get("Allow"); a != "" {
				t.Errorf("404 with Allow %q", a)
			}
		})
	}
	// HEAD goes where GET goes.
	if r := s.Do(t, "HEAD", "/v1/me", nil, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("HEAD /v1/me = %d, want 401", r.Status)
	}
}

// GET /v1/ lists exactly the operations of the OpenAPI document served at
// /openapi.json, and that document is api/openapi.yaml.
func TestIndexMatchesOpenAPI(t *testing.T) {
	s := servertest.New(t)
	r := s.Do(t, "GET", "/v1/", nil, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/ = %d %s", r.Status, r.Body)
	}
	var idx struct {
		OpenAPI   string `json:"openapi"`
		Endpoints []struct{ Method, Path string }
	}
	r.JSON(t, &idx)
	var served []string
	for _, e := range idx.Endpoints {
		served = append(served, e.Method+" "+e.Path)
	}

	r = s.Do(t, "GET", idx.OpenAPI, nil, "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d %s", idx.OpenAPI, r.Status, r.Header.Get("Content-Type"))
	}
	var doc map[string]any
	r.JSON(t, &doc)
	var fromYAML map[string]any
	if err := yaml.Unmarshal(api.OpenAPI, &fromYAML); err != nil {
		t.Fatal(err)
	}
	// Through JSON once more, so that both sides have JSON's types.
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatalf("api/openapi.yaml does not convert to JSON: %v", err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("/openapi.json differs from api/openapi.yaml (-yaml +served):\n%s", diff)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}

	var documented []string
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("GET /v1/ and /openapi.json disagree (-documented +served):\n%s", diff)
	}
}
