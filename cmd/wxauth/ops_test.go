package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// `wxauth healthcheck` answers 0 for a 200 and 1 (errUnhealthy) for
// anything else, a refused connection included: a container's
// HEALTHCHECK in an image without curl.
func TestHealthcheck(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer hs.Close()
	for _, tc := range []struct {
		url  string
		want error
	}{
		{hs.URL + "/healthz", nil},
		{hs.URL + "/readyz", errUnhealthy},
		{"http://127.0.0.1:1/healthz", errUnhealthy},
	} {
		var out, errOut strings.Builder
		err := run(t.Context(), []string{"healthcheck", "--url", tc.url}, &out, &errOut, nil)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("healthcheck --url %s = %v, want %v (stderr %q)", tc.url, err, tc.want, errOut.String())
		}
	}
}

// checkConfig runs `wxauth serve --config F --check-config` on text, with
// the secrets its apps and service keys need in the environment plus env.
func checkConfig(t *testing.T, text string, env map[string]string) error {
	t.Helper()
	var names struct {
		Apps        []struct{ Name string } `yaml:"apps"`
		ServiceKeys []struct{ Name string } `yaml:"service_keys"`
	}
	if err := yaml.Unmarshal([]byte(text), &names); err != nil {
		t.Fatalf("%v in:\n%s", err, text)
	}
	full := map[string]string{"WXAUTH_SECRET": "docs-secret-0123456789abcdef0123456789"}
	for _, a := range names.Apps {
		full["WXAUTH_APP_"+strings.ToUpper(a.Name)+"_SECRET"] = "app-secret-0123456789"
	}
	for _, k := range names.ServiceKeys {
		full["WXAUTH_SERVICE_KEY_"+strings.ToUpper(k.Name)] = "service-key-0123456789"
	}
	for k, v := range env {
		full[k] = v
	}
	path := filepath.Join(t.TempDir(), "wxauth.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"serve", "--config", path, "--check-config"}, &out, &errOut, full)
	if err == nil && !strings.Contains(out.String(), "configuration OK") {
		t.Errorf("--check-config said %q, want configuration OK", out.String())
	}
	return err
}

// --check-config refuses what serve refuses, opening nothing (the
// database below does not exist).
func TestCheckConfig(t *testing.T) {
	good := "addr: 0.0.0.0:8080\nissuer: https://auth.example.com\ndatabase_url: postgres://wxauth@db.invalid:5432/wxauth\n" +
		"redis_url: redis://redis.invalid:6379/0\napps:\n  - {name: mp, kind: miniprogram, appid: wx1234567890abcdef}\n"
	if err := checkConfig(t, good, nil); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
	if err := checkConfig(t, good+"shutdown_timeout: banana\n", nil); err == nil || !strings.Contains(err.Error(), "shutdown_timeout") {
		t.Errorf("a bad shutdown_timeout: %v, want a problem naming it", err)
	}
	if err := checkConfig(t, good, map[string]string{"WXAUTH_SECRET": "short"}); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("a short secret: %v, want a problem naming it", err)
	}
}

var yamlBlock = regexp.MustCompile("(?ms)^ *```yaml\n(.*?)^ *```")

// Every YAML sample of docs/deploy.md is a configuration serve accepts: the
// full ones as they are, the fragments (no apps:) added to the first.
func TestDeployDocSamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	var full string
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 2 {
		t.Fatalf("%d yaml blocks in docs/deploy.md, want the configuration and the SMS samples", len(blocks))
	}
	sms := map[string]string{ // every provider's credentials: each sample uses its own
		"WXAUTH_SMS_SECRET_ID": "AKIDexample", "WXAUTH_SMS_SECRET_KEY": "example-secret-key",
		"WXAUTH_SMS_ACCESS_KEY_ID": "LTAIexample", "WXAUTH_SMS_ACCESS_KEY_SECRET": "example-secret",
		"WXAUTH_SMS_WEBHOOK_SECRET": strings.Repeat("s", 32),
	}
	for i, b := range blocks {
		text := b[1]
		if !strings.Contains(text, "\napps:") && !strings.HasPrefix(text, "apps:") {
			if full == "" {
				t.Fatalf("sample %d is a fragment before any full configuration", i)
			}
			text = full + text
		} else if full == "" {
			full = text
		}
		if err := checkConfig(t, text, sms); err != nil {
			t.Errorf("docs/deploy.md yaml sample %d: %v\n%s", i, err, text)
		}
	}
}

// The configuration docker-compose.yml mounts passes with the environment
// the compose file gives the wxauth service.
func TestComposeSampleConfig(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	svc, ok := compose.Services["wxauth"]
	if !ok {
		t.Fatal("docker-compose.yml has no wxauth service")
	}
	env := map[string]string{}
	for k, v := range svc.Environment {
		if strings.HasPrefix(k, "WXAUTH_") {
			env[k] = os.Expand(v, composeDefault)
		}
	}
	text, err := os.ReadFile("../../deploy/compose/wxauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	path := filepath.Join(t.TempDir(), "wxauth.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"serve", "--config", path, "--check-config"}, &out, &errOut, env); err != nil {
		t.Errorf("deploy/compose/wxauth.yaml with the compose environment: %v", err)
	}
}

// composeDefault expands ${NAME:-default} as Compose does with NAME unset.
func composeDefault(s string) string {
	if _, def, ok := strings.Cut(s, ":-"); ok {
		return def
	}
	return ""
}
