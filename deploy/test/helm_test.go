package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const chart = "../helm/wxauth"

// helm finds the helm binary: $WXAUTH_HELM, else where .ci/run caches
// it, else $PATH. Without one the test skips, saying how to get it.
func helm(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WXAUTH_HELM"); p != "" {
		return p
	}
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		p := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "wxauth-tools", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	t.Skip("no helm: set WXAUTH_HELM, or build it as .ci/run does: GOBIN=$(go env GOCACHE)/../wxauth-tools go install helm.sh/helm/v3/cmd/helm@v3.21.4")
	return ""
}

// manifests are one rendering of the chart, strictly decoded.
type manifests struct {
	deployment appsv1.Deployment
	service    corev1.Service
	configMap  corev1.ConfigMap
	pdb        *policyv1.PodDisruptionBudget
	job        *batchv1.Job
	monitor    *serviceMonitor
}

// serviceMonitor is the fields of the Prometheus Operator's ServiceMonitor
// the chart writes (its Go types would pull in the operator's module).
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// render lints the chart and renders it with values files, decoding each
// document into its Kubernetes type, unknown fields refused.
func render(t *testing.T, values ...string) manifests {
	t.Helper()
	h := helm(t)
	var args []string
	for _, v := range values {
		args = append(args, "-f", v)
	}
	if out, err := exec.Command(h, append([]string{"lint", "--strict", chart}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("helm lint %v: %v\n%s", values, err, out)
	}
	out, err := exec.Command(h, append([]string{"template", "rel", chart}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", values, err, out)
	}
	var m manifests
	kinds := map[string]int{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(out), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		kinds[head.Kind]++
		var into any
		switch head.Kind {
		case "Deployment":
			into = &m.deployment
		case "Service":
			into = &m.service
		case "ConfigMap":
			into = &m.configMap
		case "PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			into = m.pdb
		case "Job":
			m.job = &batchv1.Job{}
			into = m.job
		case "ServiceMonitor":
			m.monitor = &serviceMonitor{}
			into = m.monitor
		default:
			t.Fatalf("unexpected kind %q rendered", head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Errorf("%s does not match its Kubernetes schema: %v\n%s", head.Kind, err, doc)
		}
	}
	for _, k := range []string{"Deployment", "Service", "ConfigMap"} {
		if kinds[k] != 1 {
			t.Errorf("%d %s rendered, want 1", kinds[k], k)
		}
	}
	return m
}

func TestChartDefaults(t *testing.T) {
	m := render(t)
	checkChart(t, m)
	if m.monitor != nil {
		t.Error("a ServiceMonitor by default, want none (off unless asked)")
	}
	for _, p := range m.deployment.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == "metrics" {
			t.Error("a metrics port by default, want none")
		}
	}
}

func TestChartProduction(t *testing.T) {
	m := render(t, "../helm/production-values.yaml")
	checkChart(t, m)
	if m.monitor == nil {
		t.Fatal("no ServiceMonitor with metrics.serviceMonitor.enabled")
	}
	var servicePorts []string
	for _, p := range m.service.Spec.Ports {
		servicePorts = append(servicePorts, p.Name)
	}
	if len(m.monitor.Spec.Endpoints) != 1 || !slices.Contains(servicePorts, m.monitor.Spec.Endpoints[0].Port) {
		t.Errorf("the ServiceMonitor scrapes %+v, not a port of the Service %v", m.monitor.Spec.Endpoints, servicePorts)
	}
	if !labels.SelectorFromSet(m.monitor.Spec.Selector.MatchLabels).Matches(labels.Set(m.service.Labels)) {
		t.Errorf("the ServiceMonitor's selector %v misses the Service's labels %v", m.monitor.Spec.Selector.MatchLabels, m.service.Labels)
	}
	if got := *m.deployment.Spec.Replicas; got != 3 {
		t.Errorf("replicas = %d, want the values' 3", got)
	}
}

// checkChart holds the properties that matter in any rendering.
func checkChart(t *testing.T, m manifests) {
	t.Helper()
	pod := m.deployment.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v, want CPU requested and memory limited", c.Resources)
	}
	checkSecure(t, "wxauth", pod, c)

	// The selector is the Deployment's, the pods carry its labels, and
	// the Service and the PodDisruptionBudget pick those pods.
	podLabels := labels.Set(m.deployment.Spec.Template.Labels)
	for what, sel := range map[string]map[string]string{
		"Deployment selector": m.deployment.Spec.Selector.MatchLabels,
		"Service selector":    m.service.Spec.Selector,
	} {
		if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(podLabels) {
			t.Errorf("%s %v does not match the pods' labels %v", what, sel, podLabels)
		}
	}
	if m.pdb == nil {
		t.Error("no PodDisruptionBudget")
	} else if sel := m.pdb.Spec.Selector; sel == nil || !labels.SelectorFromSet(sel.MatchLabels).Matches(podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not match the pods' labels %v", sel, podLabels)
	}

	// wxauth stops by itself (shutdown_delay + shutdown_timeout) before
	// the kubelet's SIGKILL.
	var cfg struct {
		ShutdownDelay   string `json:"shutdown_delay"`
		ShutdownTimeout string `json:"shutdown_timeout"`
	}
	if err := yaml.Unmarshal([]byte(m.configMap.Data["wxauth.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	delay, err1 := time.ParseDuration(cfg.ShutdownDelay)
	timeout, err2 := time.ParseDuration(cfg.ShutdownTimeout)
	if err1 != nil || err2 != nil {
		t.Fatalf("shutdown_delay %q, shutdown_timeout %q: %v %v", cfg.ShutdownDelay, cfg.ShutdownTimeout, err1, err2)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= delay+timeout {
		t.Errorf("terminationGracePeriodSeconds %v, want more than shutdown_delay %v + shutdown_timeout %v", g, delay, timeout)
	}

	// Secrets only from Kubernetes Secrets.
	checkSecretEnv(t, "wxauth", c.Env)
	if m.job == nil {
		t.Fatal("no migration Job")
	}
	if hook := m.job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
		t.Errorf("the migration Job's helm.sh/hook = %q, want pre-install,pre-upgrade", hook)
	}
	jc := m.job.Spec.Template.Spec.Containers
	if len(jc) != 1 || len(jc[0].Args) == 0 || jc[0].Args[0] != "migrate" || jc[0].Image != c.Image {
		t.Errorf("the migration Job runs %+v, want `wxauth migrate` in the same image", jc)
	} else {
		checkSecretEnv(t, "migrate", jc[0].Env)
		checkSecure(t, "migrate", m.job.Spec.Template.Spec, jc[0])
	}

	checkRenderedConfig(t, m)
}

func checkSecure(t *testing.T, what string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: securityContext %+v, want non-root, read-only root, no privilege escalation", what, sc)
	}
	if ps := pod.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot", what, ps)
	}
}

func checkSecretEnv(t *testing.T, what string, env []corev1.EnvVar) {
	t.Helper()
	names := map[string]bool{}
	for _, e := range env {
		names[e.Name] = true
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" {
			t.Errorf("%s: env %s is not from a secretKeyRef: %+v", what, e.Name, e)
		}
	}
	for _, n := range []string{"WXAUTH_SECRET", "WXAUTH_DATABASE_URL", "WXAUTH_REDIS_URL"} {
		if !names[n] {
			t.Errorf("%s: no %s in the environment", what, n)
		}
	}
}

// checkRenderedConfig runs the wxauth.yaml of the ConfigMap through
// `wxauth serve --check-config` (the binary scripts/build.sh makes), with
// the Deployment's variables set.
func checkRenderedConfig(t *testing.T, m manifests) {
	t.Helper()
	bin := wxauthBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "wxauth.yaml")
	if err := os.WriteFile(path, []byte(m.configMap.Data["wxauth.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", path, "--check-config")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range m.deployment.Spec.Template.Spec.Containers[0].Env {
		v := "secret-value-0123456789abcdef0123456789"
		switch e.Name {
		case "WXAUTH_DATABASE_URL":
			v = "postgres://wxauth@db.invalid:5432/wxauth"
		case "WXAUTH_REDIS_URL":
			v = "redis://redis.invalid:6379/0"
		}
		cmd.Env = append(cmd.Env, e.Name+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("the chart's wxauth.yaml fails serve --check-config: %v\n%s\n%s", err, out.String(), m.configMap.Data["wxauth.yaml"])
	}
}

// wxauthBinary builds cmd/wxauth with scripts/build.sh, once per test.
func wxauthBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wxauth")
	if out, err := exec.Command("sh", "../../scripts/build.sh", bin, "chart-test").CombinedOutput(); err != nil {
		t.Fatalf("scripts/build.sh: %v\n%s", err, out)
	}
	return bin
}
