package server_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// A stopping instance first answers /readyz 503 while it keeps serving
// (Drain), then ends its revocation streams with a retry hint and a
// reconnect event (EndStreams), streams opened later included.
func TestDrainAndEndStreams(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Quiet(), servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
	}))
	if r := s.Do(t, "GET", "/readyz", nil, ""); r.Status != 200 {
		t.Fatalf("GET /readyz before the stop = %d, want 200", r.Status)
	}
	open := func() *bufio.Reader {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v1/revocations", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			t.Fatalf("GET /v1/revocations = %d", resp.StatusCode)
		}
		r := bufio.NewReader(resp.Body)
		readUntil(t, r, "event: ready")
		return r
	}
	before := open()

	s.Inst.API.Drain()
	r := s.Do(t, "GET", "/readyz", nil, "")
	if r.Status != 503 || r.Error(t).Code != api.CodeUnavailable || !strings.Contains(r.Error(t).Description, "shutting down") {
		t.Errorf("GET /readyz while draining = %d %s, want 503 unavailable, shutting down", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/healthz", nil, ""); r.Status != 200 {
		t.Errorf("GET /healthz while draining = %d, want 200", r.Status)
	}
	l := s.Login(t, "mp", "alice") // still serving
	if r := s.Do(t, "GET", "/v1/me", nil, l.AccessToken); r.Status != 200 {
		t.Errorf("GET /v1/me while draining = %d, want 200", r.Status)
	}

	s.Inst.API.EndStreams()
	for _, st := range []*bufio.Reader{before, open()} {
		rest := readUntil(t, st, "")
		if !strings.Contains(rest, "retry: 100\nevent: reconnect\ndata: {}\n\n") {
			t.Errorf("the stream ended with %q, want a retry field and a reconnect event", rest)
		}
	}
}

// readUntil reads r until a line equal to want, or to the end when want
// is empty, and returns what it read.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if want != "" && strings.TrimSuffix(line, "\n") == want {
			return b.String()
		}
		if err != nil {
			if want != "" {
				t.Fatalf("stream ended before %q: %v; read %q", want, err, b.String())
			}
			return b.String()
		}
	}
}
