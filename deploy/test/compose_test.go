package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFile loads docker-compose.yml as `docker compose` does
// (compose-go, the spec's reference loader) and checks what docs/deploy.md
// says of it: the services, the one-shot migration before serve, the
// health checks wxauth waits on, the ports on loopback, the secrets from
// the environment.
func TestComposeFile(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithWorkingDirectory("../.."), cli.WithEnv([]string{"WXAUTH_SECRET=from-the-environment-0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"migrate", "postgres", "redis", "sandbox", "wxauth"}; !slices.Equal(names, want) {
		t.Errorf("services = %v, want %v", names, want)
	}
	svc := func(name string) types.ServiceConfig { return p.Services[name] }

	w := svc("wxauth")
	if got := []string(w.Command); !slices.Equal(got, []string{"serve", "--config", "/etc/wxauth/wxauth.yaml"}) {
		t.Errorf("wxauth command = %v", got)
	}
	for dep, cond := range map[string]string{"migrate": types.ServiceConditionCompletedSuccessfully,
		"redis": types.ServiceConditionHealthy, "sandbox": types.ServiceConditionHealthy} {
		if got := w.DependsOn[dep].Condition; got != cond {
			t.Errorf("wxauth depends_on %s: condition %q, want %q", dep, got, cond)
		}
	}
	if got := svc("migrate").DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("migrate depends_on postgres: condition %q, want healthy", got)
	}
	if got := []string(svc("migrate").Command); len(got) == 0 || got[0] != "migrate" {
		t.Errorf("migrate command = %v, want wxauth migrate", got)
	}
	if got := []string(svc("sandbox").Command); len(got) == 0 || got[0] != "sandbox" {
		t.Errorf("sandbox command = %v, want wxauth sandbox", got)
	}
	for _, n := range []string{"wxauth", "sandbox", "postgres", "redis"} {
		if hc := svc(n).HealthCheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("%s has no healthcheck", n)
		}
	}
	if hc := w.HealthCheck; hc != nil && !slices.Contains(hc.Test, "healthcheck") {
		t.Errorf("wxauth healthcheck = %v, want the binary's own (no curl in the image)", hc.Test)
	}
	for _, n := range []string{"wxauth", "migrate", "sandbox"} {
		if s := svc(n); s.Build == nil || s.Image != "wxauth:local" {
			t.Errorf("%s: build %v, image %q; want the image built from the Dockerfile", n, s.Build, s.Image)
		}
	}
	ports := map[string]string{}
	for _, pc := range w.Ports {
		ports[pc.Published] = pc.HostIP
	}
	if ports["8080"] != "127.0.0.1" || ports["9464"] != "127.0.0.1" {
		t.Errorf("wxauth ports = %+v, want 8080 and 9464 published on 127.0.0.1 only", w.Ports)
	}

	env := func(k string) string {
		if v := w.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	if got := env("WXAUTH_SECRET"); got != "from-the-environment-0123456789abcdef" {
		t.Errorf("WXAUTH_SECRET = %q, want the caller's environment's", got)
	}
	for k, want := range map[string]string{
		"WXAUTH_DATABASE_URL":    "@postgres:5432/wxauth",
		"WXAUTH_REDIS_URL":       "redis://redis:6379/",
		"WXAUTH_WECHAT_API_BASE": "http://sandbox:9090/sandbox/api",
		"WXAUTH_APP_MP_SECRET":   "",
	} {
		if v := w.Environment[k]; v == nil || !strings.Contains(*v, want) {
			t.Errorf("wxauth environment %s = %v, want it to contain %q", k, v, want)
		}
	}
	if a, b := env("WXAUTH_APP_MP_SECRET"), svc("sandbox").Environment["WXAUTH_APP_MP_SECRET"]; b == nil || a != *b {
		t.Errorf("the app secret differs between wxauth and the sandbox standing in for WeChat")
	}
}
