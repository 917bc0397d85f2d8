package servertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func mustContract(t *testing.T) *Contract {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The checker accepts the answers the document describes and refuses the
// rest; each refusal names what is wrong.
func TestContractCheck(t *testing.T) {
	c := mustContract(t)
	jsonCT := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	const tokens = `{"access_token":"a","token_type":"Bearer","expires_in":7200,"refresh_token":"r","refresh_expires_in":604800,"session_id":"s","is_new_user":false}`
	tests := []struct {
		name, method, path string
		ans                Answer
		wantErr            string // "" accepts
	}{
		{"refresh ok", "POST", "/v1/token/refresh", Answer{200, jsonCT, []byte(tokens)}, ""},
		{"refresh missing field", "POST", "/v1/token/refresh",
			Answer{200, jsonCT, []byte(`{"access_token":"a","token_type":"Bearer"}`)}, "expires_in"},
		{"refresh wrong token_type", "POST", "/v1/token/refresh",
			Answer{200, jsonCT, []byte(strings.Replace(tokens, `"Bearer"`, `"MAC"`, 1))}, "token_type"},
		{"undocumented status", "POST", "/v1/token/refresh",
			Answer{418, jsonCT, []byte(`{"error":"invalid_request","error_description":"x"}`)}, "status is not supported"},
		{"401 with its header", "GET", "/v1/me", Answer{401,
			with(jsonCT, "WWW-Authenticate", `Bearer error="invalid_token", error_description="x"`),
			[]byte(`{"error":"token_expired","error_description":"x"}`)}, ""},
		{"401 without WWW-Authenticate", "GET", "/v1/me",
			Answer{401, jsonCT, []byte(`{"error":"token_expired","error_description":"x"}`)}, "WWW-Authenticate"},
		{"401 with a 400 code", "GET", "/v1/me", Answer{401,
			with(jsonCT, "WWW-Authenticate", `Bearer error="invalid_token", error_description="x"`),
			[]byte(`{"error":"invalid_state","error_description":"x"}`)}, "error"},
		{"unknown error code", "POST", "/v1/bind",
			Answer{400, jsonCT, []byte(`{"error":"oops","error_description":"x"}`)}, "error"},
		{"error without description", "POST", "/v1/bind",
			Answer{400, jsonCT, []byte(`{"error":"invalid_request"}`)}, "error_description"},
		{"wrong content type", "GET", "/v1/me",
			Answer{200, http.Header{"Content-Type": {"text/html"}}, []byte(`<p>`)}, "text/html"},
		{"path parameter", "DELETE", "/v1/sessions/abc",
			Answer{404, jsonCT, []byte(`{"error":"not_found","error_description":"x"}`)}, ""},
		{"405 with Allow", "GET", "/v1/token/refresh", Answer{405, with(jsonCT, "Allow", "POST"),
			[]byte(`{"error":"method_not_allowed","error_description":"x"}`)}, ""},
		{"405 without Allow", "GET", "/v1/token/refresh",
			Answer{405, jsonCT, []byte(`{"error":"method_not_allowed","error_description":"x"}`)}, "Allow"},
		{"wrong method answered 404", "PUT", "/v1/sessions/abc",
			Answer{404, jsonCT, []byte(`{"error":"not_found","error_description":"x"}`)}, "status is not supported"},
		{"unknown path 404", "GET", "/v2/nothing",
			Answer{404, jsonCT, []byte(`{"error":"not_found","error_description":"x"}`)}, ""},
		{"unknown path 200", "GET", "/v2/nothing", Answer{200, jsonCT, []byte(`{}`)}, "status is not supported"},
		{"index", "GET", "/v1/", Answer{200, jsonCT,
			[]byte(`{"service":"wxauth","openapi":"/openapi.json","endpoints":[{"method":"GET","path":"/v1/me"}]}`)}, ""},
		{"no-store 429 without Retry-After", "POST", "/v1/sms/send",
			Answer{429, jsonCT, []byte(`{"error":"rate_limited","error_description":"x"}`)}, "Retry-After"},
		{"204", "POST", "/v1/logout", Answer{204, http.Header{}, nil}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			err := c.Check(context.Background(), r, tt.ans)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check(%s %s, %d) = %v, want nil", tt.method, tt.path, tt.ans.Status, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Check(%s %s, %d) = nil, want an error about %q", tt.method, tt.path, tt.ans.Status, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Check(%s %s, %d) = %v, want it to mention %q", tt.method, tt.path, tt.ans.Status, err, tt.wantErr)
			}
		})
	}
}

// errorsTB records Errorf calls instead of failing.
type errorsTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (e *errorsTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// The hook fails the test for an answer off the document, names the
// operation and status, and leaves the sandbox and the demo alone.
func TestCheckContractHook(t *testing.T) {
	c := mustContract(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte(`{"status":"ok"}`))
		case "/readyz":
			w.Write([]byte(`{"status":"fine"}`))
		default: // /sandbox/…, /demo/…: not the API's contract
			w.WriteHeader(http.StatusTeapot)
		}
	})
	rec := &errorsTB{TB: t}
	hs := httptest.NewServer(checkContract(rec, c, api))
	defer hs.Close()
	for _, p := range []string{"/healthz", "/readyz", "/sandbox/v1/apps", "/demo/"} {
		resp, err := hs.Client().Get(hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "GET /readyz → 200") || !strings.Contains(rec.errs[0], "status") {
		t.Errorf("hook reported %q, want one error for GET /readyz → 200 naming the field", rec.errs)
	}
}
