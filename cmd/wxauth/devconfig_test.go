package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
)

// `wxauth dev --config FILE` registers what only a file can say, here an
// OIDC client whose secret comes from the environment, and fills in the
// rest as without a file: the issuer is the listening origin, the apps are
// the dev apps. test/oidc-node starts dev this way.
func TestDevConfigFile(t *testing.T) {
	file := writeFile(t, "oidc:\n  clients:\n    - client_id: rp\n      redirect_uris: [http://127.0.0.1:1/cb]\n")
	origin, stop := startDev(t, t.TempDir(), map[string]string{"WXAUTH_OIDC_CLIENT_RP_SECRET": "rp-secret-0123456789abcdef"}, "--config", file)
	defer stop()

	status, b := get(t, origin+"/.well-known/openid-configuration", "")
	var disc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(b, &disc); status != http.StatusOK || err != nil {
		t.Fatalf("discovery = %d %s (%v)", status, b, err)
	}
	if disc.Issuer != origin || disc.TokenEndpoint != origin+"/oauth2/token" {
		t.Errorf("discovery issuer %q, token endpoint %q; want the origin %s", disc.Issuer, disc.TokenEndpoint, origin)
	}
	// The client is known with its secret: a wrong one is invalid_client,
	// the right one gets as far as the (bogus) code.
	for secret, want := range map[string]string{"wrong-secret-0123456789": "invalid_client", "rp-secret-0123456789abcdef": "invalid_grant"} {
		req, _ := http.NewRequest("POST", origin+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {"http://127.0.0.1:1/cb"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rp", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error string }
		if json.Unmarshal(body, &e); e.Error != want {
			t.Errorf("token with secret %.5s… = %d %s, want %s", secret, resp.StatusCode, body, want)
		}
	}
}

// A file's problems stop dev as they stop serve, naming the key.
func TestDevConfigFileProblem(t *testing.T) {
	file := writeFile(t, "oidc:\n  clients:\n    - client_id: rp\n      redirect_uri: [http://127.0.0.1:1/cb]\n")
	err := run(t.Context(), []string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config", file}, io.Discard, io.Discard, config.Env{})
	if err == nil || !strings.Contains(err.Error(), "redirect_uri") {
		t.Fatalf("dev with a misspelt key = %v, want a problem naming it", err)
	}
}
