package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// endpoint is one route of the API, as listed by GET /v1/.
type endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// index is the body of GET /v1/: what this server answers, and where its
// contract is.
type index struct {
	Service   string     `json:"service"`
	OpenAPI   string     `json:"openapi"`
	Endpoints []endpoint `json:"endpoints"`
}

// routeTable remembers every registered "METHOD /path" pattern, so that the
// index lists exactly what the mux serves and a request with the wrong
// method learns which ones the path takes (RFC 9110 §15.5.6).
type routeTable struct {
	list []endpoint
	// paths matches a request's path the way the mux does, methods aside;
	// allow holds each path pattern's methods.
	paths *http.ServeMux
	allow map[string][]string
}

// register adds pattern ("METHOD /path") to the mux and the route table.
func (s *Server) register(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("server: route pattern without a method: " + pattern) // a programming error, caught by every test
	}
	s.mux.Handle(pattern, h)
	t := &s.routeTable
	if t.paths == nil {
		t.paths, t.allow = http.NewServeMux(), map[string][]string{}
	}
	if _, seen := t.allow[path]; !seen {
		t.paths.Handle(path, http.NotFoundHandler())
	}
	t.allow[path] = append(t.allow[path], method)
	if method == http.MethodGet {
		t.allow[path] = append(t.allow[path], http.MethodHead) // the mux serves HEAD with GET
	}
	t.list = append(t.list, endpoint{Method: method, Path: strings.TrimSuffix(path, "{$}")})
}

// fallback answers every request no route took: 405 with Allow when the
// path exists under other methods, else 404.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) error {
	if _, path := s.routeTable.paths.Handler(r); path != "" {
		allow := strings.Join(s.routeTable.allow[path], ", ")
		w.Header().Set("Allow", allow)
		return errMethodNotAllowed.Say("this method is not allowed on this endpoint; use " + allow)
	}
	return errNotFound("no such endpoint; GET /v1/ lists them")
}

// index is GET /v1/: the endpoints, and the link to the OpenAPI document.
func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, index{Service: "wxauth", OpenAPI: "/openapi.json", Endpoints: s.routeTable.list})
	return nil
}

// openAPI is GET /openapi.json: api/openapi.yaml, converted to JSON once
// by New.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(s.openAPIJSON)
	return err
}

// openAPIJSON converts the embedded YAML document to JSON.
func openAPIJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	return json.Marshal(v)
}

// jsonValue makes a decoded YAML value encodable as JSON: YAML mapping keys
// that are not strings (a status code written as 200) become strings.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
		return v, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			switch k.(type) {
			case string, int, int64, uint64, float64, bool:
			default:
				return nil, fmt.Errorf("mapping key %v of type %T", k, k)
			}
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = e
		}
		return out, nil
	case []any:
		for i, e := range v {
			e, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
		return slices.Clip(v), nil
	default:
		return v, nil
	}
}
